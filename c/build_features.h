/*
 * What this build linked in. scripts/c-sources.ts passes -DCKPT_HAVE_LZ4
 * where liblz4-dev is installed; without it images are never compressed
 * (the launcher refuses --compress) and the stub refuses compressed ones.
 */
#ifndef CKPT_BUILD_FEATURES_H
#define CKPT_BUILD_FEATURES_H

#ifdef CKPT_HAVE_LZ4
#define CKPT_BUILT_WITH_LZ4 1
#else
#define CKPT_BUILT_WITH_LZ4 0
#endif

#endif
