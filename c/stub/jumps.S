/* The stub's ways onto another stack: its own in the arena, a new thread's,
 * and the restored program's resume point. */
	.text

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
 * long clone_thread(unsigned long flags, uint64_t stack_top, void *ptid,
 *                   void *ctid, uint64_t tls, void (*fn)(void *), void *arg)
 *
 * The raw clone(2) for a new thread: fn and arg ride on the child's stack,
 * since the child starts with nothing but that stack and its registers.
 * The kernel's argument order is flags, stack, parent_tid, child_tid, tls.
 */
	.globl clone_thread
	.hidden clone_thread
	.type clone_thread, @function
clone_thread:
	mov 8(%rsp), %rax       /* arg, the 7th argument */
	sub $16, %rsi
	mov %r9, 0(%rsi)
	mov %rax, 8(%rsi)
	mov %rcx, %r10
	mov $56, %eax           /* __NR_clone */
	syscall
	test %rax, %rax
	jnz 1f
	xor %ebp, %ebp          /* the child, on its own stack */
	pop %rax
	pop %rdi
	call *%rax
	hlt
1:	ret
	.size clone_thread, .-clone_thread

/*
 * long clone3_thread(struct clone3_args *args, size_t size)
 *
 * clone3 for a thread (it can set the tid): the caller put fn and arg at
 * the top of the child's stack, args->stack + args->stack_size.
 */
	.globl clone3_thread
	.hidden clone3_thread
	.type clone3_thread, @function
clone3_thread:
	mov $435, %eax          /* __NR_clone3 */
	syscall
	test %rax, %rax
	jnz 1f
	xor %ebp, %ebp          /* the child, on its own stack */
	pop %rax
	pop %rdi
	call *%rax
	hlt
1:	ret
	.size clone3_thread, .-clone3_thread

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
