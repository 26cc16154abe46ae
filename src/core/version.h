/* version.h - build identity, injected by the Makefile (-DCABANAS_VERSION, build/gen/commit.h). */
#ifndef CABANAS_VERSION_H
#define CABANAS_VERSION_H

#ifndef CABANAS_VERSION
#define CABANAS_VERSION "0.0.0-dev"
#endif
#if defined(__has_include)
#if __has_include("commit.h")
#include "commit.h" /* build/gen/commit.h, written by the Makefile */
#endif
#endif
#ifndef CABANAS_COMMIT
#define CABANAS_COMMIT "unknown"
#endif

#endif
