/*
 * libckpt's state that outlives one call, in a file of its own: nearly
 * every other file reads it, so wherever else it lived, that file and its
 * readers would call into each other. What each holds is said where it is
 * declared (ckpt_lib.h).
 */
#include "ckpt_lib.h"

struct ckpt_config ckpt_config __attribute__((visibility("hidden")));
struct thread_sync ckpt_sync __attribute__((visibility("hidden")));
struct ckpt_restart_info ckpt_restart_info __attribute__((visibility("hidden")));
