/* smtp.h - email over SMTP with libcurl: building an RFC 5322 message and sending it.
 *
 * `smtp://host[:port]` upgrades with STARTTLS when the server offers it (CURLUSESSL_TRY);
 * `smtps://host[:port]` is TLS from the first byte. AUTH (PLAIN, LOGIN, ...) when a username is set.
 *
 * Header injection is impossible by construction: addresses are checked against a strict grammar (no
 * spaces, quotes, angle brackets, commas or control characters), a subject or display name with any
 * control character (CR and LF included) is refused, and non-ASCII header text is RFC 2047-encoded. The
 * body is quoted-printable, with CRLF line ends, at most 76 characters a line, and a line-leading '.'
 * escaped, so no body can end the DATA phase early. Thread-safe (one curl handle per call). */
#ifndef CABANAS_SMTP_H
#define CABANAS_SMTP_H

#include "core/buf.h"

#include <stddef.h>

#define SMTP_OK 0
#define SMTP_TEMPORARY (-1) /* try again later: no connection, timeout, a 4xx answer, aborted */
#define SMTP_PERMANENT (-2) /* the server refused this message for good (5xx) */
#define SMTP_INVALID (-3)   /* the message cannot be built: bad address, control characters, too long */

#define SMTP_ADDRESS_MAX 254
#define SMTP_MESSAGE_ID_MAX 128
#define SMTP_MESSAGE_MAX (256 * 1024)

struct smtp_settings {
    const char *url;                 /* smtp://host:587 or smtps://host:465 */
    const char *username, *password; /* "" or NULL: no AUTH */
    long timeout_ms;                 /* the whole transaction */
};

struct smtp_message {
    const char *from;    /* "addr@example.com" or "Display Name <addr@example.com>" (SMTP_FROM) */
    const char *to;      /* one bare address */
    const char *subject; /* UTF-8, no control characters */
    const char *body;    /* UTF-8 text; LF or CRLF line ends */
};

/* 1 when `addr` is a plain address we will put in a header and an SMTP command: local@domain, the local
 * part dot-atoms of RFC 5322 atext (at most 64), the domain dot-separated labels of letters, digits and
 * inner hyphens with at least one dot, at most SMTP_ADDRESS_MAX in all. Pure. */
int smtp_address_valid(const char *addr);

/* Splits "Name <addr>" or "addr" into the display name ("" when none) and the address. 0, or -1 when the
 * address is not valid, the name has control characters or is not UTF-8, or a part does not fit. Pure. */
int smtp_mailbox_parse(const char *mailbox, char *name, size_t namelen, char *addr, size_t addrlen);

/* The value of a header holding `text`: as is when printable ASCII of at most 60 characters without
 * "=?", otherwise RFC 2047 "=?UTF-8?B?...?=" words of at most 60 characters, split between UTF-8
 * characters and folded with CRLF SP. Appended to out. 0, or SMTP_INVALID when `text` has control
 * characters or is not valid UTF-8. Pure. */
int smtp_header_text(const char *text, struct buf *out);

/* Appends `text` quoted-printable encoded (RFC 2045 6.7) with CRLF line ends. 0 or BUF_TOO_BIG. Pure. */
int smtp_qp_encode(const char *text, struct buf *out);

/* A new Message-ID "<unix.random-hex@domain-of-from>" (16 random hex digits from the CSPRNG). */
void smtp_message_id_new(const char *from_addr, long long now, char *out, size_t outlen);

/* The whole message (headers, blank line, body) for `m`, dated `now` (UTC), with `message_id`. 0, or
 * SMTP_INVALID with a reason in err. Pure. */
int smtp_build_message(const struct smtp_message *m, long long now, const char *message_id, struct buf *out,
                       char *err, size_t errlen);

/* Builds and sends `m`. On SMTP_OK, message_id holds the Message-ID sent (the provider id). Otherwise err
 * says why (the server's reply code when there was one). `abort_flag` (may be NULL) is polled during the
 * transfer: when it reads non-zero the call gives up with SMTP_TEMPORARY. */
int smtp_send(const struct smtp_settings *s, const struct smtp_message *m, const int *abort_flag,
              char *message_id, size_t idlen, char *err, size_t errlen);

#endif
