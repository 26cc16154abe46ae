/* log.c - JSON lines on stderr. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;

void log_set_level(enum log_level level)
{
    min_level = level;
}

void log_timestamp(char *buf, size_t buflen)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

size_t log_json_escape(char *buf, size_t buflen, const char *s)
{
    size_t n = 0;
    if (buflen == 0)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        const char *rep = NULL;
        size_t rl;
        switch (c) {
        case '"':
            rep = "\\\"";
            break;
        case '\\':
            rep = "\\\\";
            break;
        case '\n':
            rep = "\\n";
            break;
        case '\r':
            rep = "\\r";
            break;
        case '\t':
            rep = "\\t";
            break;
        default:
            if (c < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                rep = tmp;
            }
        }
        if (rep) {
            rl = strlen(rep);
            if (n + rl >= buflen)
                break;
            memcpy(buf + n, rep, rl);
            n += rl;
        } else {
            if (n + 1 >= buflen)
                break;
            buf[n++] = (char)c;
        }
    }
    buf[n] = '\0';
    return n;
}

static void emit(const char *line, size_t len)
{
    /* One write per line; a short write to a pipe this small does not happen in practice. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char msg[2048], esc[4096], ts[32], line[4600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_json_escape(esc, sizeof esc, msg);
    log_timestamp(ts, sizeof ts);
    int n = snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}\n", ts,
                     config_log_level_name(level), esc);
    if (n > 0)
        emit(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void log_request(const char *request_id, const char *method, const char *route, int status,
                 double duration_ms, size_t bytes)
{
    if (LOG_INFO < min_level)
        return;
    char ts[32], rid[160], m[64], r[512], line[1024];
    log_timestamp(ts, sizeof ts);
    log_json_escape(rid, sizeof rid, request_id ? request_id : "");
    log_json_escape(m, sizeof m, method ? method : "");
    log_json_escape(r, sizeof r, route ? route : "");
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"%s\","
                     "\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"duration_ms\":%.3f,\"bytes\":%zu}\n",
                     ts, rid, m, r, status, duration_ms, bytes);
    if (n > 0)
        emit(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
