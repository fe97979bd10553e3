/* The stub's entry. Freestanding: there is no crt0. */
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

	.section .note.GNU-stack,"",@progbits
