/* buf.h - a growable byte buffer that refuses to grow past a limit set by its creator (curl's dynbuf).
 *
 * The data is always NUL-terminated (the terminator is not counted in len). _init/_cleanup: the caller
 * owns the struct; the buffer owns `data`. Not thread-safe. */
#ifndef CABANAS_BUF_H
#define CABANAS_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len */
};

#define BUF_TOO_BIG (-2)

void buf_init(struct buf *b, size_t max);
void buf_cleanup(struct buf *b);
void buf_reset(struct buf *b);
/* 0, or BUF_TOO_BIG when len would pass max (the buffer is left unchanged). Aborts on OOM. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands `data` to the caller (free() it) and resets the buffer. Never NULL. */
char *buf_steal(struct buf *b, size_t *len);

/* strdup() that aborts on OOM; NULL for NULL. */
char *str_dup_or_null(const char *s);

#endif
