/* replies.h - every text the assistant sends, in Argentine Spanish: fixed templates whose only slots
 * are values the server owns (dates, prices, accommodation names, the guest's own reservation codes,
 * times). Nothing a guest wrote is ever copied into a reply, and a reply only ever carries the data of
 * the reservation(s) of the phone it goes to. Formatting is Argentine: "$ 198.000,50", "lunes 12/01".
 * Pure (apart from wa_fmt_time, which reads the process's time zone, PROPERTY_TIMEZONE) and thread-safe. */
#ifndef CABANAS_WA_REPLIES_H
#define CABANAS_WA_REPLIES_H

#include "core/buf.h"
#include "domain/booking.h"
#include "domain/dates.h"

#include <stdint.h>

#define WA_FMT_MAX 48

/* "$ 198.000" (no centavos when they are 0), "$ 1.234,50". */
void wa_fmt_money(int64_t cents, char out[WA_FMT_MAX]);
/* "lunes 12/01", or "lunes 12/01/2028" when the year is not `this_year`. */
void wa_fmt_day(struct date d, int this_year, char out[WA_FMT_MAX]);
/* A unix time in the property's zone: "14:35 del 12/01". */
void wa_fmt_time(long long t, char out[WA_FMT_MAX]);
/* The status of a reservation in words: "confirmada", "pendiente de pago", "vencida", "cancelada". */
const char *wa_fmt_status(const char *effective_status);

/* Fixed texts. */
extern const char WA_TXT_WELCOME[], WA_TXT_HELP[], WA_TXT_MEDIA[], WA_TXT_THANKS[], WA_TXT_HANDOFF[],
    WA_TXT_NOT_UNDERSTOOD[], WA_TXT_ASK_DATES[], WA_TXT_ASK_DATES_AND_GUESTS[], WA_TXT_ASK_CHECKOUT[],
    WA_TXT_ASK_GUESTS[], WA_TXT_INVALID_DATE[], WA_TXT_PAST_DATE[], WA_TXT_TOO_LONG[], WA_TXT_NO_BOOKINGS[],
    WA_TXT_CODE_NOT_FOUND[], WA_TXT_CANCEL_KEPT[], WA_TXT_CANCEL_FAILED[], WA_TXT_TRY_LATER[], WA_TXT_TAKEN[],
    WA_TXT_NO_OPTION[], WA_TXT_NOTHING_TO_BOOK[], WA_TXT_DENY[], WA_TXT_PICK_CANCEL[];

/* The stay in one line: "Entrada: lunes 12/01 · Salida: jueves 15/01 (3 noches), 4 personas". */
void wa_txt_stay(struct buf *b, struct date in, struct date out, int guests, int this_year);

/* "Bookings are taken up to N days ahead." */
void wa_txt_too_far(struct buf *b, int horizon_days);
/* Nobody fits: the largest group any accommodation takes. */
void wa_txt_too_many(struct buf *b, int guests, int max_capacity);
/* No room for those dates; `alt` (may be NULL) are the nearest other dates with room. */
void wa_txt_no_room(struct buf *b, struct date in, struct date out, int guests, const struct date *alt_in,
                    const struct date *alt_out, int this_year);

/* The options: stay line, then "1. Name: $ total" per option, then how to choose. */
void wa_txt_options_head(struct buf *b, struct date in, struct date out, int guests, int this_year);
void wa_txt_option_line(struct buf *b, int n, const char *name, int64_t total_cents);
void wa_txt_options_tail(struct buf *b);

/* The summary before Reservar. */
void wa_txt_summary(struct buf *b, const char *name, struct date in, struct date out, int guests,
                    int64_t total_cents, int64_t deposit_cents, int deposit_percent, int this_year);

/* The hold: code, total, deposit, expiry (local time) and the payment link, or that it follows. */
void wa_txt_hold(struct buf *b, const struct reservation *r, int this_year);

/* "Can't book: minimum N nights" and friends, from a booking error code. */
void wa_txt_cannot_book(struct buf *b, const char *code, const char *name);

/* Confirm a cancellation of the guest's own reservation. */
void wa_txt_cancel_confirm(struct buf *b, const struct reservation *r, int this_year);
void wa_txt_cancelled(struct buf *b, const struct reservation *r);

/* The guest's own reservations (at most 5 shown). */
void wa_txt_status_line(struct buf *b, const struct reservation *r, long long now, int this_year);

/* Notifications of outbox events (payment confirmed, hold expired, booking cancelled, hold created). 0, or
 * -1 for an event without a WhatsApp text. */
int wa_txt_event(struct buf *b, const char *event, const struct reservation *r, int this_year);

#endif
