/* Keeps known values in xmm0-15 and r12-r15 while sleeping in raw syscalls,
 * printing a dot per sleep, and checks them afterwards: a checkpoint taken
 * during the loop must bring back every register of the interrupted code. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct state {
	uint8_t in[16][16], out[16][16];
	uint64_t gp[4], gpo[4];
	struct { long sec, nsec; } ts;
};

int main(void)
{
	static struct state st = {.gp = {0x1111222233334444, 0x5555666677778888, 0x9999aaaabbbbcccc, 0xddddeeeeffff0000},
				  .ts = {0, 150000000}};
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 16; b++)
			st.in[r][b] = (uint8_t)(r * 16 + b + 1);
	/* Offsets: in 0, out 256, gp 512, gpo 544, ts 576. */
	__asm__ volatile(
		"movdqu 0(%[s]), %%xmm0\n movdqu 16(%[s]), %%xmm1\n movdqu 32(%[s]), %%xmm2\n"
		"movdqu 48(%[s]), %%xmm3\n movdqu 64(%[s]), %%xmm4\n movdqu 80(%[s]), %%xmm5\n"
		"movdqu 96(%[s]), %%xmm6\n movdqu 112(%[s]), %%xmm7\n movdqu 128(%[s]), %%xmm8\n"
		"movdqu 144(%[s]), %%xmm9\n movdqu 160(%[s]), %%xmm10\n movdqu 176(%[s]), %%xmm11\n"
		"movdqu 192(%[s]), %%xmm12\n movdqu 208(%[s]), %%xmm13\n movdqu 224(%[s]), %%xmm14\n"
		"movdqu 240(%[s]), %%xmm15\n"
		"mov 512(%[s]), %%r12\n mov 520(%[s]), %%r13\n mov 528(%[s]), %%r14\n mov 536(%[s]), %%r15\n"
		"mov $12, %%rbx\n"
		"1:\n"
		"mov $35, %%eax\n lea 576(%[s]), %%rdi\n xor %%esi, %%esi\n syscall\n" /* nanosleep */
		"mov $1, %%eax\n mov $1, %%edi\n lea 2f(%%rip), %%rsi\n mov $1, %%edx\n syscall\n" /* write "." */
		"dec %%rbx\n jnz 1b\n"
		"movdqu %%xmm0, 256(%[s])\n movdqu %%xmm1, 272(%[s])\n movdqu %%xmm2, 288(%[s])\n"
		"movdqu %%xmm3, 304(%[s])\n movdqu %%xmm4, 320(%[s])\n movdqu %%xmm5, 336(%[s])\n"
		"movdqu %%xmm6, 352(%[s])\n movdqu %%xmm7, 368(%[s])\n movdqu %%xmm8, 384(%[s])\n"
		"movdqu %%xmm9, 400(%[s])\n movdqu %%xmm10, 416(%[s])\n movdqu %%xmm11, 432(%[s])\n"
		"movdqu %%xmm12, 448(%[s])\n movdqu %%xmm13, 464(%[s])\n movdqu %%xmm14, 480(%[s])\n"
		"movdqu %%xmm15, 496(%[s])\n"
		"mov %%r12, 544(%[s])\n mov %%r13, 552(%[s])\n mov %%r14, 560(%[s])\n mov %%r15, 568(%[s])\n"
		"jmp 3f\n"
		"2: .ascii \".\"\n"
		"3:\n"
		:
		: [s] "r"(&st)
		: "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r11", "r12", "r13", "r14", "r15", "memory",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
		  "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	_Static_assert(__builtin_offsetof(struct state, ts) == 576, "asm offsets");
	int ok = !memcmp(st.in, st.out, sizeof st.in) && !memcmp(st.gp, st.gpo, sizeof st.gp);
	printf("\nregisters %s\n", ok ? "intact" : "CORRUPTED");
	return ok ? 0 : 1;
}
