/* clock.h - the monotonic clock in seconds, for timeouts and waits (never for timestamps). */
#ifndef CABANAS_CLOCK_H
#define CABANAS_CLOCK_H

/* CLOCK_MONOTONIC as seconds. Thread-safe. */
double clock_mono_s(void);

#endif
