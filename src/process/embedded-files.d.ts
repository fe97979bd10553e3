// `import x from "<file>" with { type: "file" }` yields the file's path
// (a /$bunfs/... path inside the compiled executable).
declare module "*.so" {
	const path: string;
	export default path;
}
declare module "*/ckpt-restore" {
	const path: string;
	export default path;
}
