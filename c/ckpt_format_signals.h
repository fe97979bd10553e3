/*
 * ckpt image format, POSIX timers and pending signals: part of
 * c/ckpt_format.h (which includes it; include that, never this). Same
 * rules: src/image/format.ts mirrors every struct field by field, and a
 * change bumps CKPT_VERSION there.
 */
#ifndef CKPT_FORMAT_SIGNALS_H
#define CKPT_FORMAT_SIGNALS_H

#include <stdint.h>

/* A POSIX timer (timer_create), created again by the stub with the same id
 * (PR_TIMER_CREATE_RESTORE_IDS) and armed with the time that was left. */
struct ckpt_timer {
	int32_t id;                  /* the kernel's timer id: the program holds it */
	int32_t clock;               /* clockid; CPU clocks in their pid/tid-0 form */
	uint32_t notify;             /* sigev_notify: SIGEV_SIGNAL, _NONE, _THREAD, or
				      * SIGEV_SIGNAL | SIGEV_THREAD_ID */
	uint32_t signo;
	uint64_t value;              /* sigev_value */
	int32_t target_tid;          /* SIGEV_THREAD_ID: the thread's tid at checkpoint */
	uint32_t target_thread;      /* and its index in the thread table */
	int64_t interval_sec, interval_nsec;
	int64_t remaining_sec, remaining_nsec; /* both 0: disarmed */
	int32_t overrun;             /* timer_getoverrun at checkpoint (`ckpt info` only) */
	uint32_t clock_thread;       /* a thread's CPU clock: that thread's index */
};

/* A signal pending at checkpoint (sent, not yet delivered: blocked), queued
 * again by the stub with the same siginfo before any thread of the program
 * runs. Per signal number, records keep the kernel's queue order. */
#define CKPT_SIGNAL_PROCESS 0xffffffffu /* `thread` of a process-wide signal */
struct ckpt_signal {
	uint32_t signo;
	uint32_t thread;             /* index in the thread table, or CKPT_SIGNAL_PROCESS */
	int32_t tid;                 /* that thread's tid at checkpoint; 0 process-wide */
	uint32_t pad;
	uint8_t info[128];           /* the siginfo_t as dequeued (si_code, pid, uid, value...) */
};

#endif
