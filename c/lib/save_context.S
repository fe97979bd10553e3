/*
 * int ckpt_save_context(struct ckpt_resume_ctx *ctx)
 *
 * Like setjmp: records what the SysV ABI says a caller may rely on across a
 * call (rbx, rbp, r12-r15, the stack pointer, the return address, MXCSR and
 * the x87 control word) and returns 0. The restore stub later loads these
 * and "returns" 1 from here, in the restored process. Offsets follow struct
 * ckpt_resume_ctx in ckpt_format.h.
 */
	.text
	.globl ckpt_save_context
	.hidden ckpt_save_context
	.type ckpt_save_context, @function
ckpt_save_context:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax       /* the stack pointer after our return */
	mov %rax, 48(%rdi)
	mov (%rsp), %rax        /* our return address */
	mov %rax, 56(%rdi)
	stmxcsr 64(%rdi)
	fnstcw 68(%rdi)
	xor %eax, %eax
	ret
	.size ckpt_save_context, .-ckpt_save_context
	.section .note.GNU-stack,"",@progbits
