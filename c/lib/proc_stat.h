/* proc_stat.c: what /proc/PID/stat and /proc/PID/task/TID/stat say. */
#ifndef CKPT_PROC_STAT_H
#define CKPT_PROC_STAT_H

#include <stdint.h>

struct capture;

/* Field n (1-based, n >= 3) of a /proc/PID/stat text, as a
 * number (0 if absent), and its state letter (field 3; '?' if absent). */
uint64_t stat_field(const char *text, long len, int n);
char stat_state(const char *text, long len);
/* A state letter of a task that has ended: a zombie (Z) or dead (X). */
int state_ended(char state);
/* Whether thread `tid` of the task directory `task_dir` ("/proc/self/task",
 * "/proc/PID/task") has ended or is gone; read into c->text. */
int task_ended(struct capture *c, const char *task_dir, int tid);
/* /proc/PID/stat read into a caller's buffer, field n of it (0 if unreadable), and
 * whether `pid` is an ancestor of this process (PPid walked up). */
long read_proc_stat(int pid, char *text, long size);
uint64_t proc_stat_field(int pid, int n);
int is_ancestor(int pid);

#endif
