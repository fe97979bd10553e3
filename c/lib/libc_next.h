/* The libc's own definition of a function libckpt wraps, found behind
 * libckpt with dlsym(RTLD_NEXT): `real_<name>`, declared by REAL_POINTER
 * and set by RESOLVE in its file's resolve function, which the constructor
 * calls (init.c). dlsym is not async-signal-safe, and many wrapped calls
 * are (pause, sigsuspend, ppoll, poll, nanosleep, _Fork...): a program may
 * make its first such call in a signal handler. A call made before the
 * constructor has run (from another library's constructor) looks it up
 * then. REAL(name) gives the wrapper `real`, NULL where this libc has no
 * such function. */
#ifndef CKPT_LIBC_NEXT_H
#define CKPT_LIBC_NEXT_H
#include <dlfcn.h>

#define REAL_POINTER(name) static __typeof__(name) *real_##name;
#define RESOLVE(name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);
#define REAL(name) \
	__typeof__(name) *real = real_##name ? real_##name : (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

#endif
