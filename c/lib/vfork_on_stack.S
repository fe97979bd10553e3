/*
 * long vfork_on_stack(void *stack_top, void (*fn)(void *), void *arg)
 *
 * clone(CLONE_VM | CLONE_VFORK, exit signal 0): a child that shares our
 * memory, so making it copies no page table and its exit tears nothing
 * down, while we sleep until it exits. It runs fn(arg) on its own stack
 * (shared memory: it must not touch ours) and exits 0 if fn returns.
 * Returns the child's pid, or -errno. Syscall registers: rax number,
 * rdi rsi rdx r10 r8 arguments; rcx and r11 are clobbered.
 *
 * long clone_vm_on_stack(void *stack_top, void (*fn)(void *), void *arg)
 *
 * The same child without CLONE_VFORK: we run on at once, side by side
 * with it (exit_detached.c).
 */
	.text
	.globl clone_vm_on_stack
	.hidden clone_vm_on_stack
	.type clone_vm_on_stack, @function
clone_vm_on_stack:
	mov $0x100, %ecx        /* CLONE_VM */
	jmp 2f
	.size clone_vm_on_stack, .-clone_vm_on_stack

	.globl vfork_on_stack
	.hidden vfork_on_stack
	.type vfork_on_stack, @function
vfork_on_stack:
	mov $0x4100, %ecx       /* CLONE_VM | CLONE_VFORK */
2:	and $-16, %rdi
	sub $16, %rdi
	mov %rsi, 0(%rdi)       /* fn and arg wait on the child's stack */
	mov %rdx, 8(%rdi)
	mov %rdi, %rsi          /* clone(flags, stack, parent_tid, child_tid, tls) */
	mov %ecx, %edi          /* the flags, before syscall clobbers rcx */
	xor %edx, %edx
	xor %r10d, %r10d
	xor %r8d, %r8d
	mov $56, %eax           /* __NR_clone */
	syscall
	test %rax, %rax
	jz 1f
	ret
1:	xor %ebp, %ebp          /* the child: no frame above this one */
	pop %rax
	pop %rdi
	call *%rax              /* 16-aligned before the call, as the ABI wants */
	xor %edi, %edi
	mov $60, %eax           /* __NR_exit */
	syscall
	hlt
	.size vfork_on_stack, .-vfork_on_stack
	.section .note.GNU-stack,"",@progbits
