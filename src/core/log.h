/* log.h - structured JSON log lines on stderr, one line per event.
 *
 * Thread-safe: each line is formatted into a local buffer and written with a single write(2), so lines
 * from different threads never interleave. Secrets must never be passed in. */
#ifndef CABANAS_LOG_H
#define CABANAS_LOG_H

#include "config.h"

void log_set_level(enum log_level level);

/* {"ts":…,"level":…,"msg":<formatted message>} */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

/* The access log line: {"ts","level","msg":"request","request_id","method","route","status",
 * "duration_ms","bytes"}. `route` is the route template, never the raw path. */
void log_request(const char *request_id, const char *method, const char *route, int status,
                 double duration_ms, size_t bytes);

/* Writes `s` JSON-escaped (without quotes) into buf; returns the length written (truncated to fit). */
size_t log_json_escape(char *buf, size_t buflen, const char *s);

/* Formats the current UTC time as 2026-12-01T20:05:22.123Z. */
void log_timestamp(char *buf, size_t buflen);

#endif
