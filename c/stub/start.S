/* The stub's entry and its two jumps. Freestanding: there is no crt0. */
	.text
	.globl _start
	.type _start, @function
_start:
	xor %ebp, %ebp
	mov %rsp, %rdi          /* argc, argv, envp, auxv as the kernel laid them */
	and $-16, %rsp
	call stub_main
	hlt
	.size _start, .-_start

/* void switch_stack_and_call(void (*fn)(void), uint64_t stack_top) */
	.globl switch_stack_and_call
	.hidden switch_stack_and_call
	.type switch_stack_and_call, @function
switch_stack_and_call:
	mov %rsi, %rsp
	xor %ebp, %ebp
	call *%rdi
	hlt
	.size switch_stack_and_call, .-switch_stack_and_call

/*
 * void jump_to_resume_point(const struct ckpt_resume_ctx *ctx)
 *
 * The other half of ckpt_save_context (c/lib/save_context.S): load the
 * callee-saved registers, MXCSR and x87 control word recorded in the
 * handler, then "return" 1 from ckpt_save_context on the restored stack.
 */
	.globl jump_to_resume_point
	.hidden jump_to_resume_point
	.type jump_to_resume_point, @function
jump_to_resume_point:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	ldmxcsr 64(%rdi)
	fldcw 68(%rdi)
	mov 48(%rdi), %rsp
	mov $1, %eax
	jmp *56(%rdi)
	.size jump_to_resume_point, .-jump_to_resume_point
	.section .note.GNU-stack,"",@progbits
