/*
 * void unmap_and_exit(void *addr, uint64_t len, int32_t *released, int code)
 *
 * The last instructions of a writer that shares the program's memory
 * (shared_writer.c): it unmaps the scratch mapping its stack is in, so
 * from there on only registers are used. munmap, then *released = 1 (in
 * libckpt's data, which stays mapped), then exit_group(code). Syscall
 * registers: rax number, rdi rsi rdx arguments; rcx and r11 are clobbered,
 * rdx and r8 are kept.
 */
	.text
	.globl unmap_and_exit
	.hidden unmap_and_exit
	.type unmap_and_exit, @function
unmap_and_exit:
	mov %ecx, %r8d          /* the exit code, before syscall clobbers rcx */
	mov $11, %eax           /* __NR_munmap(addr, len) */
	syscall
	movl $1, (%rdx)         /* released: the program need not unmap it */
	mov %r8d, %edi
	mov $231, %eax          /* __NR_exit_group */
	syscall
	hlt
	.size unmap_and_exit, .-unmap_and_exit
	.section .note.GNU-stack,"",@progbits
