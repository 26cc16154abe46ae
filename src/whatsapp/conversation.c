/* conversation.c - the booking dialog. See conversation.h.
 *
 * Safety rules kept here:
 *   - a hold is only created from a summary the guest has seen (the Reservar button of that summary, or
 *     "sí"/"reservar" right after it); "reservo la 2" picks from the list the guest was shown;
 *   - availability and prices are read fresh from the booking core for every answer, and the core decides
 *     the hold (the database refuses a double booking whatever the dialog thinks);
 *   - reservations are only ever looked up among those whose guest_phone is the sender's wa_id: a code of
 *     someone else reads exactly like a code that does not exist;
 *   - replies are built from replies.h only.
 * The dialog state (session.h) is a cache: losing it costs the guest a question, never a wrong booking. */
#include "conversation.h"

#include "booking/service.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "graph.h"
#include "nlu.h"
#include "replies.h"
#include "session.h"
#include "store/booking_store.h"
#include "store/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPLY_TEXT_MAX 4000
#define ALT_SEARCH_DAYS 14
#define STATUS_LINES_MAX 5
#define OWN_LIST_MAX 50
#define FALLBACK_NAME "Huésped de WhatsApp"

static struct metric *m_intents, *m_suppressed;

void wa_conversation_init(void)
{
    static const char *intent[] = {"intent", NULL};
    static const char *reason[] = {"reason", NULL};
    if (m_intents)
        return;
    m_intents = metrics_counter("whatsapp_intents_total", "Guest messages by understood intent.", intent);
    m_suppressed = metrics_counter("whatsapp_replies_suppressed_total",
                                   "Inbound messages left unanswered on purpose, by reason.", reason);
}

enum reply_kind { REPLY_NONE, REPLY_TEXT, REPLY_LIST, REPLY_BUTTONS };

struct reply {
    enum reply_kind kind;
    struct buf text;
    int nrows;
    struct {
        char id[48];
        char title[ACC_NAME_MAX + 1];
        char desc[WA_FMT_MAX + 32];
    } rows[WA_LIST_ROWS_MAX];
    int nbuttons;
    struct {
        char id[48];
        char title[32];
    } buttons[WA_BUTTONS_MAX];
};

struct ctx {
    struct app *app;
    const struct wa_message *m;
    struct wa_session s;
    struct date today;
    long long now;
    struct reply r;
    const char *silent; /* why no reply */
};

/* ------------------------------------------------------------------------------------------ reply */

static void say(struct ctx *c, const char *text)
{
    c->r.kind = REPLY_TEXT;
    buf_reset(&c->r.text);
    buf_puts(&c->r.text, text);
}

static void start_text(struct ctx *c)
{
    c->r.kind = REPLY_TEXT;
    buf_reset(&c->r.text);
    c->r.nrows = c->r.nbuttons = 0;
}

static void add_button(struct ctx *c, const char *id, const char *title)
{
    if (c->r.nbuttons >= WA_BUTTONS_MAX)
        return;
    c->r.kind = REPLY_BUTTONS;
    snprintf(c->r.buttons[c->r.nbuttons].id, sizeof c->r.buttons[0].id, "%s", id);
    snprintf(c->r.buttons[c->r.nbuttons].title, sizeof c->r.buttons[0].title, "%s", title);
    c->r.nbuttons++;
}

static void add_row(struct ctx *c, const char *id, const char *title, const char *desc)
{
    if (c->r.nrows >= WA_LIST_ROWS_MAX)
        return;
    c->r.kind = REPLY_LIST;
    snprintf(c->r.rows[c->r.nrows].id, sizeof c->r.rows[0].id, "%s", id);
    snprintf(c->r.rows[c->r.nrows].title, sizeof c->r.rows[0].title, "%s", title);
    snprintf(c->r.rows[c->r.nrows].desc, sizeof c->r.rows[0].desc, "%s", desc ? desc : "");
    c->r.nrows++;
}

static void count_intent(enum nlu_intent i)
{
    const char *labels[] = {nlu_intent_name(i)};
    metrics_inc(m_intents, labels, 1);
}

/* --------------------------------------------------------------------------------------- session */

static int session_dates(const struct wa_session *s, struct date *in, struct date *out)
{
    return dates_parse(s->check_in, in) == 0 && dates_parse(s->check_out, out) == 0;
}

static void forget_offers(struct wa_session *s)
{
    s->noffers = 0;
    s->chosen = 0;
    s->alt_in[0] = s->alt_out[0] = '\0';
}

static void forget_stay(struct wa_session *s)
{
    s->check_in[0] = s->check_out[0] = '\0';
    s->nights = 0;
    forget_offers(s);
}

/* ---------------------------------------------------------------------------------------- search */

struct found {
    long long id;
    char name[ACC_NAME_MAX + 1];
    int64_t total, deposit;
    int deposit_percent;
};

struct search_result {
    int n;
    struct found f[WA_MAX_OFFERS];
    int max_capacity; /* the largest group any active accommodation takes */
    int max_nights;   /* the longest stay any takes */
};

/* Free accommodations that take `guests` for [in, out), cheapest first (at most WA_MAX_OFFERS). */
static int search(struct ctx *c, struct date in, struct date out, int guests, struct search_result *res)
{
    struct accommodation *list = NULL;
    int n = 0;
    memset(res, 0, sizeof *res);
    int rc = store_accommodation_list(c->app->db, 0, &list, &n);
    if (rc != DB_OK)
        return rc;
    struct pricing_quote *q = malloc(sizeof *q);
    if (!q)
        abort();
    char cin[DATES_FORMAT_LEN], cout[DATES_FORMAT_LEN];
    dates_format(in, cin);
    dates_format(out, cout);
    for (int i = 0; i < n && rc == DB_OK; i++) {
        const struct accommodation *a = &list[i];
        if (a->capacity > res->max_capacity)
            res->max_capacity = a->capacity;
        if (a->max_nights > res->max_nights)
            res->max_nights = a->max_nights;
        struct booking_error err;
        if (booking_check_stay(c->app->cfg, a, in, out, guests, q, &err) < 0)
            continue;
        int taken = 0;
        rc = store_nights_taken(c->app->db, a->id, cin, cout, c->now, &taken);
        if (rc != DB_OK || taken)
            continue;
        struct found f = {a->id, "", q->total_cents, q->deposit_cents, q->deposit_percent};
        snprintf(f.name, sizeof f.name, "%s", a->name);
        /* insertion into the cheapest-first list, keeping the first WA_MAX_OFFERS */
        int pos = res->n;
        while (pos > 0 && res->f[pos - 1].total > f.total)
            pos--;
        if (pos >= WA_MAX_OFFERS)
            continue;
        int last = res->n < WA_MAX_OFFERS ? res->n : WA_MAX_OFFERS - 1;
        memmove(&res->f[pos + 1], &res->f[pos], (size_t)(last - pos) * sizeof res->f[0]);
        res->f[pos] = f;
        if (res->n < WA_MAX_OFFERS)
            res->n++;
    }
    free(q);
    free(list);
    return rc;
}

static void show_summary(struct ctx *c, const struct found *f, struct date in, struct date out)
{
    start_text(c);
    wa_txt_summary(&c->r.text, f->name, in, out, c->s.guests, f->total, f->deposit, f->deposit_percent,
                   c->today.y);
    char id[48];
    snprintf(id, sizeof id, "reserve:%lld", f->id);
    add_button(c, id, "Reservar");
    add_button(c, "change_dates", "Cambiar fechas");
    c->s.step = WA_STEP_SUMMARY;
    c->s.chosen = f->id;
    c->s.noffers = 1;
    c->s.offers[0].accommodation_id = f->id;
    c->s.offers[0].total_cents = f->total;
}

/* The nearest stay of the same length with room: one day later, one day earlier, two days later... */
static int find_alternative(struct ctx *c, struct date in, long nights, struct date *alt_in,
                            struct date *alt_out)
{
    for (int d = 1; d <= ALT_SEARCH_DAYS; d++) {
        for (int sign = 1; sign >= -1; sign -= 2) {
            struct date ci = dates_add_days(in, sign * d);
            if (dates_diff_days(c->today, ci) < 0)
                continue;
            struct date co = dates_add_days(ci, nights);
            if (dates_diff_days(c->today, co) > c->app->cfg->booking_horizon_days)
                continue;
            struct search_result res;
            if (search(c, ci, co, c->s.guests, &res) != DB_OK)
                return 0;
            if (res.n > 0) {
                *alt_in = ci;
                *alt_out = co;
                return 1;
            }
        }
    }
    return 0;
}

static void search_and_offer(struct ctx *c, struct date in, struct date out)
{
    struct search_result res;
    forget_offers(&c->s);
    if (search(c, in, out, c->s.guests, &res) != DB_OK) {
        say(c, WA_TXT_TRY_LATER);
        return;
    }
    long nights = dates_diff_days(in, out);
    if (res.n == 0) {
        start_text(c);
        if (c->s.guests > res.max_capacity) {
            wa_txt_too_many(&c->r.text, c->s.guests, res.max_capacity);
            c->s.step = WA_STEP_GUESTS;
            c->s.guests = 0;
            return;
        }
        if (nights > res.max_nights) {
            say(c, WA_TXT_TOO_LONG);
            forget_stay(&c->s);
            c->s.step = WA_STEP_DATES;
            return;
        }
        struct date ai, ao;
        if (find_alternative(c, in, nights, &ai, &ao)) {
            wa_txt_no_room(&c->r.text, in, out, c->s.guests, &ai, &ao, c->today.y);
            dates_format(ai, c->s.alt_in);
            dates_format(ao, c->s.alt_out);
            add_button(c, "alt", "Ver esas fechas");
            add_button(c, "change_dates", "Cambiar fechas");
            c->s.step = WA_STEP_ALT;
        } else {
            wa_txt_no_room(&c->r.text, in, out, c->s.guests, NULL, NULL, c->today.y);
            c->s.step = WA_STEP_DATES;
        }
        return;
    }
    if (res.n == 1) {
        show_summary(c, &res.f[0], in, out);
        return;
    }
    start_text(c);
    wa_txt_options_head(&c->r.text, in, out, c->s.guests, c->today.y);
    for (int i = 0; i < res.n; i++) {
        char id[48], desc[WA_FMT_MAX + 32], money[WA_FMT_MAX];
        wa_txt_option_line(&c->r.text, i + 1, res.f[i].name, res.f[i].total);
        snprintf(id, sizeof id, "acc:%lld", res.f[i].id);
        wa_fmt_money(res.f[i].total, money);
        snprintf(desc, sizeof desc, "%s en total", money);
        add_row(c, id, res.f[i].name, desc);
        c->s.offers[i].accommodation_id = res.f[i].id;
        c->s.offers[i].total_cents = res.f[i].total;
    }
    c->s.noffers = res.n;
    wa_txt_options_tail(&c->r.text);
    c->s.step = WA_STEP_OPTIONS;
}

/* Asks for the first missing piece, or searches when dates and guests are known. */
static void ask_or_search(struct ctx *c)
{
    struct date in, out;
    int have_in = dates_parse(c->s.check_in, &in) == 0, have_out = dates_parse(c->s.check_out, &out) == 0;
    if (!have_in) {
        c->s.step = WA_STEP_DATES;
        say(c, c->s.guests ? WA_TXT_ASK_DATES : WA_TXT_ASK_DATES_AND_GUESTS);
        return;
    }
    if (!have_out) {
        c->s.step = WA_STEP_CHECKOUT;
        say(c, WA_TXT_ASK_CHECKOUT);
        return;
    }
    if (!c->s.guests) {
        c->s.step = WA_STEP_GUESTS;
        say(c, WA_TXT_ASK_GUESTS);
        return;
    }
    struct booking_error err;
    if (booking_check_dates(c->app->cfg, c->s.check_in, c->s.check_out, &in, &out, &err) < 0) {
        if (strcmp(err.code, "check_in_in_past") == 0) {
            say(c, WA_TXT_PAST_DATE);
        } else if (strcmp(err.code, "too_far_ahead") == 0) {
            start_text(c);
            wa_txt_too_far(&c->r.text, c->app->cfg->booking_horizon_days);
        } else if (strcmp(err.code, "invalid_dates") == 0 || strcmp(err.code, "invalid_date") == 0) {
            say(c, WA_TXT_INVALID_DATE);
        } else {
            say(c, WA_TXT_TRY_LATER);
        }
        forget_stay(&c->s);
        c->s.step = WA_STEP_DATES;
        return;
    }
    search_and_offer(c, in, out);
}

/* The accommodation `id` for the session's stay, priced fresh; a summary, or why not. */
static void choose(struct ctx *c, long long id)
{
    struct date in, out;
    if (!session_dates(&c->s, &in, &out) || !c->s.guests) {
        say(c, WA_TXT_NOTHING_TO_BOOK);
        return;
    }
    struct search_result res;
    if (search(c, in, out, c->s.guests, &res) != DB_OK) {
        say(c, WA_TXT_TRY_LATER);
        return;
    }
    for (int i = 0; i < res.n; i++)
        if (res.f[i].id == id) {
            show_summary(c, &res.f[i], in, out);
            return;
        }
    /* taken meanwhile, or not one we offered: show what there is now */
    say(c, WA_TXT_TAKEN);
    forget_offers(&c->s);
    c->s.step = WA_STEP_DATES;
}

static void book(struct ctx *c, long long id)
{
    struct date in, out;
    if (!session_dates(&c->s, &in, &out) || !c->s.guests || id <= 0) {
        say(c, WA_TXT_NOTHING_TO_BOOK);
        return;
    }
    const char *name = c->m->contact_name;
    if (!booking_text_valid(name, GUEST_NAME_MAX))
        name = FALLBACK_NAME;
    struct hold_input h = {.accommodation_id = id,
                           .check_in = c->s.check_in,
                           .check_out = c->s.check_out,
                           .guests = c->s.guests,
                           .guest_name = name,
                           .guest_phone = c->m->phone,
                           .guest_email = NULL,
                           .channel = "whatsapp",
                           .actor = "bot:whatsapp"};
    struct reservation r;
    struct booking_error err;
    if (booking_create_hold(c->app, &h, &r, &err) == 0) {
        start_text(c);
        wa_txt_hold(&c->r.text, &r, c->today.y);
        log_info("whatsapp: hold %s created from the dialog", r.code);
        memset(&c->s, 0, sizeof c->s); /* a second Reservar finds nothing to book */
        return;
    }
    if (err.status == 409) {
        say(c, WA_TXT_TAKEN);
        forget_stay(&c->s);
        c->s.step = WA_STEP_DATES;
    } else if (err.status == 422 || err.status == 404) {
        struct accommodation acc;
        start_text(c);
        wa_txt_cannot_book(&c->r.text, err.code,
                           store_accommodation_get(c->app->db, id, &acc) == DB_OK ? acc.name
                                                                                  : "Ese alojamiento");
        forget_offers(&c->s);
    } else {
        say(c, WA_TXT_TRY_LATER);
    }
}

/* ---------------------------------------------------------------------------- own reservations */

/* The sender's reservations with check-out today or later; `active_only` keeps holds and bookings.
 * *out malloc()ed (free() it). Only rows whose guest_phone is exactly the sender's. */
static int own_reservations(struct ctx *c, int active_only, struct reservation **out, int *n)
{
    char from[DATES_FORMAT_LEN];
    dates_format(c->today, from);
    struct reservation_filter f = {.status = "",
                                   .accommodation_id = 0,
                                   .from = from,
                                   .to = "",
                                   .q = c->m->phone,
                                   .limit = OWN_LIST_MAX,
                                   .offset = 0,
                                   .now = c->now};
    struct reservation *items = NULL;
    int total = 0, k = 0;
    *out = NULL;
    *n = 0;
    int rc = store_reservation_list(c->app->db, &f, &items, n, &total);
    if (rc != DB_OK)
        return rc;
    for (int i = 0; i < *n; i++) {
        const char *st = booking_effective_status(&items[i], c->now);
        if (strcmp(items[i].guest_phone, c->m->phone) != 0)
            continue; /* the search matches substrings; only the exact phone is the sender's */
        if (active_only && !booking_status_active(st))
            continue;
        items[k++] = items[i];
    }
    *n = k;
    *out = items;
    return DB_OK;
}

static void ask_cancel_confirmation(struct ctx *c, const struct reservation *r)
{
    start_text(c);
    wa_txt_cancel_confirm(&c->r.text, r, c->today.y);
    add_button(c, "cancel_yes", "Sí, cancelar");
    add_button(c, "cancel_no", "No, mantenerla");
    c->s.step = WA_STEP_CANCEL;
    snprintf(c->s.cancel_code, sizeof c->s.cancel_code, "%s", r->code);
}

static void cancel_start(struct ctx *c, const char *code)
{
    struct reservation *own = NULL;
    int n = 0;
    if (own_reservations(c, 1, &own, &n) != DB_OK) {
        say(c, WA_TXT_TRY_LATER);
        return;
    }
    if (code && *code) {
        int i = 0;
        while (i < n && strcmp(own[i].code, code) != 0)
            i++;
        if (i < n)
            ask_cancel_confirmation(c, &own[i]);
        else
            say(c, WA_TXT_CODE_NOT_FOUND); /* someone else's code reads like a wrong one */
    } else if (n == 0) {
        say(c, WA_TXT_NO_BOOKINGS);
    } else if (n == 1) {
        ask_cancel_confirmation(c, &own[0]);
    } else {
        say(c, WA_TXT_PICK_CANCEL);
        for (int i = 0; i < n && i < WA_LIST_ROWS_MAX; i++) {
            char id[48], day[WA_FMT_MAX], desc[ACC_NAME_MAX + WA_FMT_MAX + 8];
            struct date in;
            dates_parse(own[i].check_in, &in);
            wa_fmt_day(in, c->today.y, day);
            snprintf(id, sizeof id, "cancel:%s", own[i].code);
            snprintf(desc, sizeof desc, "%s, %s", own[i].accommodation_name, day);
            add_row(c, id, own[i].code, desc);
        }
        c->s.step = WA_STEP_PICK_CANCEL;
    }
    free(own);
}

static void cancel_confirmed(struct ctx *c)
{
    char code[RES_CODE_LEN + 1];
    snprintf(code, sizeof code, "%s", c->s.cancel_code);
    c->s.cancel_code[0] = '\0';
    c->s.step = WA_STEP_NONE;
    if (!code[0]) {
        say(c, WA_TXT_NOT_UNDERSTOOD);
        return;
    }
    struct reservation r;
    int rc = store_reservation_get(c->app->db, code, &r);
    if (rc == DB_OK && (strcmp(r.guest_phone, c->m->phone) != 0 ||
                        !booking_status_active(booking_effective_status(&r, c->now))))
        rc = STORE_NOT_FOUND;
    if (rc == STORE_NOT_FOUND) {
        say(c, WA_TXT_CODE_NOT_FOUND);
        return;
    }
    if (rc != DB_OK) {
        say(c, WA_TXT_TRY_LATER);
        return;
    }
    struct booking_error err;
    if (booking_cancel(c->app, code, "Cancelada por el huésped por WhatsApp", "bot:whatsapp", &r, &err) < 0) {
        say(c, err.status >= 500 ? WA_TXT_TRY_LATER : WA_TXT_CANCEL_FAILED);
        return;
    }
    start_text(c);
    wa_txt_cancelled(&c->r.text, &r);
}

static void show_status(struct ctx *c, const char *code)
{
    struct reservation *own = NULL;
    int n = 0;
    if (own_reservations(c, 0, &own, &n) != DB_OK) {
        say(c, WA_TXT_TRY_LATER);
        return;
    }
    start_text(c);
    int shown = 0;
    for (int i = 0; i < n && shown < STATUS_LINES_MAX; i++) {
        if (code && *code && strcmp(own[i].code, code) != 0)
            continue;
        if (!shown)
            buf_puts(&c->r.text, code && *code ? "Tu reserva:" : "Tus reservas:");
        wa_txt_status_line(&c->r.text, &own[i], c->now, c->today.y);
        shown++;
    }
    free(own);
    if (!shown)
        say(c, code && *code ? WA_TXT_CODE_NOT_FOUND : WA_TXT_NO_BOOKINGS);
}

/* ----------------------------------------------------------------------------------------- dialog */

/* What a message adds to the session; 1 when something changed. */
static int merge(struct ctx *c, const struct nlu_result *r)
{
    struct wa_session *s = &c->s;
    struct date in;
    int changed = 0, have_in = dates_parse(s->check_in, &in) == 0;
    /* "el 15" after "¿hasta qué día?" is the check-out */
    if (s->step == WA_STEP_CHECKOUT && have_in && r->has_check_in && !r->has_check_out &&
        dates_diff_days(in, r->check_in) > 0 && !r->nights) {
        dates_format(r->check_in, s->check_out);
        changed = 1;
    } else if (r->has_check_in) {
        dates_format(r->check_in, s->check_in);
        if (r->has_check_out)
            dates_format(r->check_out, s->check_out);
        else if (s->nights)
            dates_format(dates_add_days(r->check_in, s->nights), s->check_out);
        else
            s->check_out[0] = '\0';
        s->nights = 0;
        changed = 1;
    } else if (r->has_check_out) {
        if (have_in && dates_diff_days(in, r->check_out) > 0) {
            dates_format(r->check_out, s->check_out);
            changed = 1;
        }
    } else if (r->nights) {
        if (have_in)
            dates_format(dates_add_days(in, r->nights), s->check_out);
        else
            s->nights = r->nights;
        changed = 1;
    }
    if (r->guests) {
        s->guests = r->guests;
        changed = 1;
    } else if (r->number && s->step == WA_STEP_GUESTS && r->number <= NLU_MAX_GUESTS) {
        s->guests = r->number;
        changed = 1;
    } else if (r->number && s->step == WA_STEP_CHECKOUT && have_in && r->number <= 60) {
        dates_format(dates_add_days(in, r->number), s->check_out);
        changed = 1;
    }
    if (changed)
        forget_offers(s);
    return changed;
}

static void change_dates(struct ctx *c)
{
    forget_stay(&c->s);
    c->s.step = WA_STEP_DATES;
    say(c, c->s.guests ? WA_TXT_ASK_DATES : WA_TXT_ASK_DATES_AND_GUESTS);
}

static void accept_alternative(struct ctx *c)
{
    struct date a, b;
    if (dates_parse(c->s.alt_in, &a) < 0 || dates_parse(c->s.alt_out, &b) < 0) {
        ask_or_search(c);
        return;
    }
    memcpy(c->s.check_in, c->s.alt_in, sizeof c->s.check_in);
    memcpy(c->s.check_out, c->s.alt_out, sizeof c->s.check_out);
    ask_or_search(c);
}

static long long offer_at(const struct wa_session *s, int option)
{
    return option >= 1 && option <= s->noffers ? s->offers[option - 1].accommodation_id : 0;
}

static void on_text(struct ctx *c, const char *text)
{
    struct nlu_result r;
    nlu_parse(text, strlen(text), c->today, &r);
    count_intent(r.intent);
    switch (r.intent) {
    case NLU_HUMAN:
        if (wa_conversation_handoff(c->app, c->m->phone, c->m->contact_name, c->now) == DB_OK) {
            say(c, WA_TXT_HANDOFF);
            memset(&c->s, 0, sizeof c->s);
        } else {
            say(c, WA_TXT_TRY_LATER);
        }
        return;
    case NLU_CANCEL:
        cancel_start(c, r.code);
        return;
    case NLU_STATUS:
        show_status(c, r.code);
        return;
    case NLU_HELP:
        say(c, WA_TXT_HELP);
        return;
    case NLU_THANKS:
        say(c, WA_TXT_THANKS);
        return;
    case NLU_GREET:
        say(c, WA_TXT_WELCOME);
        return;
    case NLU_CHANGE_DATES:
        change_dates(c);
        return;
    case NLU_DENY:
        if (c->s.step == WA_STEP_CANCEL) {
            c->s.cancel_code[0] = '\0';
            c->s.step = WA_STEP_NONE;
            say(c, WA_TXT_CANCEL_KEPT);
        } else {
            say(c, WA_TXT_DENY);
        }
        return;
    case NLU_CHOOSE:
        if (merge(c, &r)) {
            ask_or_search(c);
            return;
        }
        if (offer_at(&c->s, r.option))
            choose(c, offer_at(&c->s, r.option));
        else
            say(c, c->s.noffers ? WA_TXT_NO_OPTION : WA_TXT_NOTHING_TO_BOOK);
        return;
    case NLU_BOOK:
        if (c->s.step == WA_STEP_CANCEL) {
            cancel_confirmed(c);
        } else if (c->s.step == WA_STEP_ALT) {
            accept_alternative(c);
        } else if (r.option && offer_at(&c->s, r.option) && c->s.step == WA_STEP_OPTIONS) {
            book(c, offer_at(&c->s, r.option));
        } else if (c->s.step == WA_STEP_SUMMARY && c->s.chosen) {
            book(c, c->s.chosen);
        } else if (c->s.step == WA_STEP_OPTIONS) {
            say(c, WA_TXT_NO_OPTION);
        } else {
            ask_or_search(c);
        }
        return;
    case NLU_AVAILABILITY:
    case NLU_UNKNOWN:
    default:
        break;
    }
    if (r.invalid_date) {
        say(c, WA_TXT_INVALID_DATE);
        return;
    }
    if (merge(c, &r) || r.intent == NLU_AVAILABILITY) {
        ask_or_search(c);
        return;
    }
    if (r.number && c->s.step == WA_STEP_OPTIONS && offer_at(&c->s, r.number)) {
        choose(c, offer_at(&c->s, r.number));
        return;
    }
    say(c, WA_TXT_NOT_UNDERSTOOD);
}

static long long id_after(const char *id, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(id, prefix, n) != 0 || !id[n])
        return 0;
    char *end;
    long long v = strtoll(id + n, &end, 10);
    return *end == '\0' && v > 0 ? v : 0;
}

static void on_interactive(struct ctx *c)
{
    const char *id = c->m->reply_id;
    long long v;
    if ((v = id_after(id, "acc:")) > 0) {
        count_intent(NLU_CHOOSE);
        choose(c, v);
    } else if ((v = id_after(id, "reserve:")) > 0) {
        count_intent(NLU_BOOK);
        /* only the accommodation of the summary just shown; anything else gets its summary first */
        if (c->s.step == WA_STEP_SUMMARY && c->s.chosen == v)
            book(c, v);
        else
            choose(c, v);
    } else if (strcmp(id, "change_dates") == 0) {
        count_intent(NLU_CHANGE_DATES);
        change_dates(c);
    } else if (strcmp(id, "alt") == 0) {
        count_intent(NLU_BOOK);
        accept_alternative(c);
    } else if (strcmp(id, "cancel_yes") == 0) {
        count_intent(NLU_CANCEL);
        if (c->s.step == WA_STEP_CANCEL)
            cancel_confirmed(c);
        else
            say(c, WA_TXT_NOT_UNDERSTOOD);
    } else if (strcmp(id, "cancel_no") == 0) {
        count_intent(NLU_DENY);
        c->s.cancel_code[0] = '\0';
        c->s.step = WA_STEP_NONE;
        say(c, WA_TXT_CANCEL_KEPT);
    } else if (strncmp(id, "cancel:", 7) == 0 && strlen(id + 7) == RES_CODE_LEN) {
        count_intent(NLU_CANCEL);
        cancel_start(c, id + 7);
    } else {
        on_text(c, c->m->body); /* an id we did not make: read its title as text */
    }
}

/* Reactions and system notices: nothing to say, and they do not count against the reply limit. */
static int no_answer_needed(const char *type)
{
    return strcmp(type, "reaction") == 0 || strcmp(type, "system") == 0 || strcmp(type, "ephemeral") == 0;
}

static void decide(struct ctx *c)
{
    const char *type = c->m->type;
    if (strcmp(type, "text") == 0 || strcmp(type, "button") == 0) {
        on_text(c, c->m->body);
    } else if (strcmp(type, "interactive") == 0) {
        on_interactive(c);
    } else {
        say(c, WA_TXT_MEDIA); /* audio, image, sticker, location, document, and types we do not know */
    }
}

static json_t *payload_of(const struct ctx *c)
{
    const char *text = c->r.text.data ? c->r.text.data : "";
    const char *to = c->m->phone;
    if (c->r.kind == REPLY_LIST) {
        struct wa_row rows[WA_LIST_ROWS_MAX];
        for (int i = 0; i < c->r.nrows; i++)
            rows[i] = (struct wa_row){c->r.rows[i].id, c->r.rows[i].title, c->r.rows[i].desc};
        return wa_msg_list(to, text, "Ver opciones", rows, c->r.nrows);
    }
    if (c->r.kind == REPLY_BUTTONS) {
        struct wa_button b[WA_BUTTONS_MAX];
        for (int i = 0; i < c->r.nbuttons; i++)
            b[i] = (struct wa_button){c->r.buttons[i].id, c->r.buttons[i].title};
        return wa_msg_buttons(to, text, b, c->r.nbuttons);
    }
    return wa_msg_text(to, text);
}

static void suppressed(const char *reason)
{
    const char *labels[] = {reason};
    metrics_inc(m_suppressed, labels, 1);
}

const char *wa_conversation_handle(struct app *app, const struct wa_message *m, char *why, size_t whylen)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.app = app;
    c.m = m;
    c.now = (long long)time(NULL);
    why[0] = '\0';
    if (dates_today(&c.today) < 0) {
        snprintf(why, whylen, "clock");
        return WA_IN_FAILED;
    }
    if (no_answer_needed(m->type)) {
        suppressed("no_answer_needed");
        snprintf(why, whylen, "no_answer_needed");
        return WA_IN_SILENT;
    }
    struct wa_conversation conv;
    if (wa_store_conversation_get(app->db, m->phone, &conv) == DB_OK && conv.handoff_until > c.now) {
        suppressed("handoff");
        snprintf(why, whylen, "handoff");
        return WA_IN_SILENT;
    }
    if (!wa_session_reply_allowed(app, m->phone)) {
        suppressed("rate_limited");
        log_warn("whatsapp: reply limit reached for a phone (%d per minute); message left unanswered",
                 app->cfg->wa_replies_per_minute);
        snprintf(why, whylen, "rate_limited");
        return WA_IN_SILENT;
    }
    buf_init(&c.r.text, REPLY_TEXT_MAX);
    wa_session_load(app, m->phone, &c.s);
    decide(&c);
    if (c.r.kind == REPLY_NONE) {
        buf_cleanup(&c.r.text);
        suppressed(c.silent ? c.silent : "no_answer_needed");
        snprintf(why, whylen, "%s", c.silent ? c.silent : "no_answer_needed");
        return WA_IN_SILENT;
    }
    wa_session_save(app, m->phone, &c.s);
    json_t *payload = payload_of(&c);
    char wamid[WA_WAMID_MAX + 1];
    struct wa_send_error err;
    int rc = payload ? wa_send(app, payload, c.r.text.data, m->id, wamid, &err) : WA_ERR_INVALID;
    json_decref(payload);
    buf_cleanup(&c.r.text);
    if (rc == WA_OK || rc == WA_ERR_ALREADY_REPLIED)
        return WA_IN_ANSWERED;
    snprintf(why, whylen, "%s", payload ? err.reason : "invalid");
    return WA_IN_FAILED;
}

/* -------------------------------------------------------------------------------------- handoff */

int wa_conversation_handoff(struct app *app, const char *phone, const char *name, long long now)
{
    long long until = now + (long long)app->cfg->wa_handoff_hours * 3600;
    struct db_conn *c = NULL;
    int rc = db_acquire(app->db, &c);
    if (rc != DB_OK)
        return rc;
    json_t *payload =
        json_pack("{s:s, s:s, s:I}", "phone", phone, "name", name ? name : "", "until", (json_int_t)until);
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(payload);
    char key[64];
    snprintf(key, sizeof key, "whatsapp_handoff:%s:%lld", phone, now);
    struct outbox_message msg = {.channel = "email",
                                 .template_name = "handoff",
                                 .recipient = "owner",
                                 .reservation_code = NULL,
                                 .payload = text,
                                 .dedupe_key = key,
                                 .not_before = 0};
    rc = text ? db_begin(c) : DB_ERR;
    if (rc == DB_OK)
        rc = wa_store_conversation_handoff_on(c, phone, until, now);
    if (rc == DB_OK)
        rc = outbox_enqueue(c, now, &msg);
    if (rc == DB_OK)
        rc = audit_record(c, now, "bot:whatsapp", "conversation.handoff", "conversation", phone, NULL, text);
    if (rc == DB_OK)
        rc = db_commit(c);
    else if (text)
        db_rollback(c);
    db_release(app->db, c);
    free(text);
    if (rc == DB_OK) {
        wa_session_clear(app, phone);
        log_info("whatsapp: conversation handed over to a person for %d h; owner notified",
                 app->cfg->wa_handoff_hours);
    } else {
        log_warn("whatsapp: handoff failed (%s)", db_strerror(rc));
    }
    return rc;
}

int wa_conversation_resume(struct app *app, const char *phone, const char *actor)
{
    long long now = (long long)time(NULL);
    struct db_conn *c = NULL;
    int rc = db_acquire(app->db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_begin(c);
    if (rc == DB_OK)
        rc = wa_store_conversation_handoff_on(c, phone, 0, now);
    if (rc == DB_OK)
        rc = audit_record(c, now, actor, "conversation.resumed", "conversation", phone, NULL, NULL);
    if (rc == DB_OK)
        rc = db_commit(c);
    else
        db_rollback(c);
    db_release(app->db, c);
    if (rc == DB_OK)
        wa_session_clear(app, phone);
    return rc;
}
