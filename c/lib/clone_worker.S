/*
 * long clone_worker(void *stack_top, int32_t *tid_word, void (*fn)(void *), void *arg)
 *
 * A helper thread for the image writer (compressed_stream.c): a raw
 * clone(2) with the flags of a thread, never pthread_create (we may be in a
 * signal handler, or in the background writer, which has no libc state of
 * its own to speak of). It runs fn(arg) on stack_top and exits the thread;
 * the kernel writes its tid to *tid_word at the start and clears it, with a
 * futex wake, when it is gone: the caller waits on that word before the
 * stack (scratch) goes. The fs base is the caller's: the compressor reads
 * its stack canary there and nothing else. Returns the tid or -errno.
 */
	.text
	.globl clone_worker
	.hidden clone_worker
	.type clone_worker, @function
clone_worker:
	and $-16, %rdi
	sub $16, %rdi
	mov %rdx, 0(%rdi)       /* fn and arg wait on the child's stack */
	mov %rcx, 8(%rdi)
	mov %rsi, %rdx          /* parent_tid */
	mov %rsi, %r10          /* child_tid */
	mov %rdi, %rsi          /* stack */
	/* CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|PARENT_SETTID|CHILD_CLEARTID */
	mov $0x350f00, %edi
	xor %r8d, %r8d
	mov $56, %eax           /* __NR_clone */
	syscall
	test %rax, %rax
	jz 1f
	ret
1:	xor %ebp, %ebp          /* the child: no frame above this one */
	pop %rax
	pop %rdi
	call *%rax
	xor %edi, %edi
	mov $60, %eax           /* __NR_exit: this thread only */
	syscall
	hlt
	.size clone_worker, .-clone_worker
	.section .note.GNU-stack,"",@progbits
