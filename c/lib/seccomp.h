/* seccomp.c: the filters this process runs under (-1: unreadable), and
 * those it may have without their being the program's own: noted at
 * launch, or set (after a restart); more refuse a checkpoint. */
#ifndef CKPT_SECCOMP_H
#define CKPT_SECCOMP_H
struct capture;
int seccomp_level(void);
void seccomp_note_launch(void);
void seccomp_note_base(int base);
int refuse_own_seccomp(struct capture *c);
#endif
