/* mempolicy.c: the NUMA memory policies of each thread (captured by the
 * thread) and of each region (mbind). */
#ifndef CKPT_MEMPOLICY_H
#define CKPT_MEMPOLICY_H
struct capture;
struct ckpt_thread;
void capture_thread_mempolicy(struct ckpt_thread *t);
int capture_region_mempolicies(struct capture *c);
#endif
