/* mempolicy.c: a thread's NUMA memory policy, captured by the thread;
 * a region with its own (mbind) refuses the checkpoint. */
#ifndef CKPT_MEMPOLICY_H
#define CKPT_MEMPOLICY_H
struct capture;
struct ckpt_thread;
void capture_thread_mempolicy(struct ckpt_thread *t);
int refuse_region_mempolicies(struct capture *c);
#endif
