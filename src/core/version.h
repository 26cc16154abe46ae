/* version.h - build identity, injected by the Makefile (-DCABANAS_VERSION, -DCABANAS_COMMIT). */
#ifndef CABANAS_VERSION_H
#define CABANAS_VERSION_H

#ifndef CABANAS_VERSION
#define CABANAS_VERSION "0.0.0-dev"
#endif
#ifndef CABANAS_COMMIT
#define CABANAS_COMMIT "unknown"
#endif

#endif
