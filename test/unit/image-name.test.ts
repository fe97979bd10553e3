import { expect, test } from "bun:test";
import { imageName, imagePath } from "../../src/protocol/image-name.ts";

test("image path: option, then $CKPT_IMAGE, then myckpt.dat; always absolute", () => {
	expect(imagePath("x.dat", { CKPT_IMAGE: "/e.dat" }, "/w")).toBe("/w/x.dat");
	expect(imagePath(undefined, { CKPT_IMAGE: "e.dat" }, "/w")).toBe("/w/e.dat");
	expect(imagePath(undefined, { CKPT_IMAGE: "" }, "/w")).toBe("/w/myckpt.dat");
	expect(imagePath(undefined, {}, "/w/sub")).toBe("/w/sub/myckpt.dat");
	expect(imagePath("/abs.dat", {}, "/w")).toBe("/abs.dat");
});

test("image name for info: the same rule, left as typed", () => {
	expect(imageName(undefined, { CKPT_IMAGE: "e.dat" })).toBe("e.dat");
	expect(imageName(undefined, { CKPT_IMAGE: "" })).toBe("myckpt.dat");
	expect(imageName("../x.dat", { CKPT_IMAGE: "e.dat" })).toBe("../x.dat");
});
