/* service.c - booking operations shared by every channel. See service.h.
 *
 * Creating a hold: validate, price, a cheap read-only overlap check (turns most losers away without
 * touching the write path), the per-accommodation lock, then one transaction that expires stale holds on
 * those nights, inserts the hold and claims the nights. The database decides the race. */
#include "service.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "lock.h"
#include "payments/mercadopago.h"
#include "notify/worker.h"
#include "store/booking_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct metric *m_created, *m_conflicts, *m_confirmed, *m_cancelled, *m_expired, *m_active,
    *m_lock_wait;

void booking_init(void)
{
    static const char *channel[] = {"channel", NULL};
    static const char *reason[] = {"reason", NULL};
    static const char *source[] = {"source", NULL};
    static const double buckets[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5};
    if (m_created)
        return;
    m_created = metrics_counter("reservations_created_total", "Holds created, by channel.", channel);
    m_conflicts = metrics_counter("reservations_conflicts_total",
                                  "Hold or block requests refused because the nights were taken.", reason);
    m_confirmed =
        metrics_counter("reservations_confirmed_total", "Holds confirmed as bookings, by source.", source);
    m_cancelled = metrics_counter("reservations_cancelled_total", "Holds and bookings cancelled.", NULL);
    m_expired = metrics_counter("holds_expired_total", "Holds that expired unpaid.", NULL);
    m_active = metrics_gauge("holds_active", "Holds not yet expired (refreshed by the sweeper).", NULL);
    m_lock_wait =
        metrics_histogram("booking_lock_wait_seconds", "Time waiting for the per-accommodation lock.", NULL,
                          buckets, (int)(sizeof buckets / sizeof *buckets));
}

static int fail(struct booking_error *err, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct booking_error *err, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    return -1;
}

void booking_error_from_db(int rc, struct booking_error *err)
{
    if (rc == DB_UNAVAILABLE || rc == DB_TIMEOUT || rc == DB_BUSY)
        fail(err, 503, "database_unavailable", "The database is not answering; try again shortly");
    else
        fail(err, 500, "internal_error", "Unexpected storage error (%s)", db_strerror(rc));
}

int booking_check_dates(const struct config *cfg, const char *check_in, const char *check_out,
                        struct date *in, struct date *out, struct booking_error *err)
{
    struct date today;
    if (!check_in || dates_parse(check_in, in) < 0)
        return fail(err, 422, "invalid_date", "check_in must be a real date as YYYY-MM-DD");
    if (!check_out || dates_parse(check_out, out) < 0)
        return fail(err, 422, "invalid_date", "check_out must be a real date as YYYY-MM-DD");
    if (dates_diff_days(*in, *out) <= 0)
        return fail(err, 422, "invalid_dates", "check_out must be after check_in");
    if (dates_today(&today) < 0)
        return fail(err, 500, "internal_error", "Cannot read the clock");
    if (dates_diff_days(today, *in) < 0)
        return fail(err, 422, "check_in_in_past", "check_in is before today (%s time)",
                    cfg->property_timezone);
    if (dates_diff_days(today, *out) > cfg->booking_horizon_days)
        return fail(err, 422, "too_far_ahead", "Bookings are taken up to %d days ahead",
                    cfg->booking_horizon_days);
    return 0;
}

int booking_check_stay(const struct config *cfg, const struct accommodation *acc, struct date in,
                       struct date out, int guests, struct pricing_quote *quote, struct booking_error *err)
{
    long nights = dates_diff_days(in, out);
    if (nights < acc->min_nights)
        return fail(err, 422, "min_stay", "This accommodation needs at least %d night(s)", acc->min_nights);
    if (nights > acc->max_nights)
        return fail(err, 422, "max_stay", "This accommodation takes at most %d night(s)", acc->max_nights);
    if (guests < 1 || guests > acc->capacity)
        return fail(err, 422, "capacity_exceeded", "guests must be from 1 to %d", acc->capacity);
    if (quote) {
        struct pricing_rules rules = {acc->base_cents, acc->weekend_multiplier_bp, acc->weekend_mask,
                                      cfg->deposit_percent};
        if (pricing_quote(&rules, in, out, quote) < 0)
            return fail(err, 422, "invalid_dates", "This stay cannot be priced");
    }
    return 0;
}

static void count_conflict(const char *reason)
{
    const char *labels[] = {reason};
    metrics_inc(m_conflicts, labels, 1);
}

int booking_hold_prepare(const struct config *cfg, const struct hold_input *in, struct hold_prep *p,
                         struct booking_error *err)
{
    const char *channel = in->channel ? in->channel : "web";
    const char *email = in->guest_email && *in->guest_email ? in->guest_email : NULL;
    memset(p, 0, sizeof *p);
    if (booking_check_dates(cfg, in->check_in, in->check_out, &p->in, &p->out, err) < 0)
        return -1;
    if (!booking_text_valid(in->guest_name, GUEST_NAME_MAX))
        return fail(err, 422, "invalid_field", "guest_name: 1 to %d characters of text", GUEST_NAME_MAX);
    if (booking_normalize_phone(in->guest_phone, p->phone) < 0)
        return fail(err, 422, "invalid_field", "guest_phone: %d to %d digits", GUEST_PHONE_MIN,
                    GUEST_PHONE_MAX);
    if (email && !booking_email_valid(email))
        return fail(err, 422, "invalid_field", "guest_email: not a valid address");
    if (!booking_channel_valid(channel))
        return fail(err, 422, "invalid_field", "channel: unknown channel");
    p->accommodation_id = in->accommodation_id;
    p->guests = in->guests;
    dates_format(p->in, p->cin);
    dates_format(p->out, p->cout);
    p->guest_name = str_dup_or_null(in->guest_name);
    p->guest_email = str_dup_or_null(email);
    p->channel = str_dup_or_null(channel);
    p->actor = str_dup_or_null(in->actor);
    p->now = (long long)time(NULL);
    return 0;
}

void booking_hold_prep_cleanup(struct hold_prep *p)
{
    free(p->guest_name);
    free(p->guest_email);
    free(p->channel);
    free(p->actor);
    p->guest_name = p->guest_email = p->channel = p->actor = NULL;
}

/* one round trip: the accommodation and the read-only overlap pre-check */
void booking_hold_precheck(struct app *app, const struct hold_prep *p, struct hold_precheck *pc)
{
    pc->taken = pc->stale = 0;
    pc->rc = store_accommodation_availability(app->db, p->accommodation_id, p->cin, p->cout, p->now, &pc->acc,
                                              &pc->taken, &pc->stale);
}

int booking_create_hold(struct app *app, const struct hold_input *in, struct reservation *out,
                        struct booking_error *err)
{
    struct hold_prep p;
    if (booking_hold_prepare(app->cfg, in, &p, err) < 0) {
        booking_hold_prep_cleanup(&p);
        return -1;
    }
    /* the pre-check's accommodation is ~14 KB and the quote ~12 KB: fine on a worker thread's stack */
    struct hold_precheck pc;
    booking_hold_precheck(app, &p, &pc);
    int rc = booking_hold_finish(app, &p, &pc, out, err);
    booking_hold_prep_cleanup(&p);
    return rc;
}

int booking_hold_plan(struct app *app, const struct hold_prep *p, const struct hold_precheck *pc,
                      struct hold_request *h, struct booking_error *err)
{
    const struct config *cfg = app->cfg;
    const struct accommodation *acc = &pc->acc;
    if (pc->rc == STORE_NOT_FOUND || (pc->rc == DB_OK && !acc->active))
        return fail(err, 404, "accommodation_not_found", "No active accommodation with id %lld",
                    p->accommodation_id);
    if (pc->rc != DB_OK) {
        booking_error_from_db(pc->rc, err);
        return -1;
    }
    struct pricing_quote quote;
    if (booking_check_stay(cfg, acc, p->in, p->out, p->guests, &quote, err) < 0)
        return -1;
    if (pc->taken) {
        count_conflict("precheck");
        return fail(err, 409, "date_overlap", "Those nights are no longer available");
    }
    memset(h, 0, sizeof *h);
    h->accommodation_id = acc->id;
    memcpy(h->check_in, p->cin, sizeof h->check_in);
    memcpy(h->check_out, p->cout, sizeof h->check_out);
    h->guests = p->guests;
    h->guest_name = p->guest_name;
    h->guest_phone = p->phone;
    h->guest_email = p->guest_email;
    h->channel = p->channel;
    h->nights = quote.nights;
    h->total_cents = quote.total_cents;
    h->deposit_cents = quote.deposit_cents;
    h->deposit_percent = quote.deposit_percent;
    h->currency = acc->currency;
    h->expires_at = p->now + config_hold_seconds(cfg);
    h->actor = p->actor;
    /* Only stale holds can be in the way of a free pre-check: a claim made after it is not stale yet. */
    h->expire_stale = pc->stale;
    return 0;
}

void booking_lock_waited(double seconds)
{
    metrics_observe(m_lock_wait, NULL, seconds);
}

int booking_hold_written(struct app *app, const struct hold_prep *p, const struct hold_precheck *pc, int rc,
                         int expired, struct reservation *out, struct booking_error *err)
{
    const struct accommodation *acc = &pc->acc;
    if (rc == DB_OK || expired)
        notify_after_change(); /* the change's messages are committed: deliver them now */
    if (expired) {
        metrics_inc(m_expired, NULL, expired);
        log_info("expired %d stale hold(s) on accommodation %lld while creating a hold", expired, acc->id);
    }
    if (rc == DB_CONFLICT) {
        count_conflict("date_overlap");
        return fail(err, 409, "date_overlap", "Those nights are no longer available");
    }
    if (rc != DB_OK) {
        booking_error_from_db(rc, err);
        return -1;
    }
    snprintf(out->accommodation_name, sizeof out->accommodation_name, "%s", acc->name);
    mp_preference_after_hold(app, out); /* the deposit's link; never fails the hold */
    const char *labels[] = {p->channel};
    metrics_inc(m_created, labels, 1);
    log_info("reservation %s: created pre_reserved (accommodation %lld, %s..%s, channel %s, expires in %d s)",
             out->code, acc->id, out->check_in, out->check_out, p->channel, config_hold_seconds(app->cfg));
    return 0;
}

int booking_hold_finish(struct app *app, const struct hold_prep *p, const struct hold_precheck *pc,
                        struct reservation *out, struct booking_error *err)
{
    struct hold_request h;
    if (booking_hold_plan(app, p, pc, &h, err) < 0)
        return -1;
    struct booking_lock lock;
    double waited = 0;
    booking_lock_acquire(app->redis, h.accommodation_id, &lock, &waited);
    booking_lock_waited(waited);
    int expired = 0;
    int rc = store_hold_create(app->db, &h, p->now, out, &expired);
    booking_lock_release(app->redis, &lock);
    return booking_hold_written(app, p, pc, rc, expired, out, err);
}

static int not_found_or_state(int rc, const char *code, const char *action, struct booking_error *err)
{
    if (rc == STORE_NOT_FOUND)
        return fail(err, 404, "reservation_not_found", "No reservation with code %s", code);
    if (rc == STORE_INVALID_STATE)
        return fail(err, 409, "invalid_state", "This reservation cannot be %s in its current state", action);
    booking_error_from_db(rc, err);
    return -1;
}

int booking_cancel(struct app *app, const char *code, const char *reason, const char *actor,
                   struct reservation *out, struct booking_error *err)
{
    if (reason && strlen(reason) > REASON_MAX)
        return fail(err, 422, "invalid_field", "reason: at most %d characters", REASON_MAX);
    if (reason && *reason && !booking_text_valid(reason, REASON_MAX))
        return fail(err, 422, "invalid_field", "reason: must be text");
    long long now = (long long)time(NULL);
    int rc = store_reservation_cancel(app->db, code, reason && *reason ? reason : NULL, now, actor, out);
    if (rc != DB_OK)
        return not_found_or_state(rc, code, "cancelled", err);
    notify_after_change();
    metrics_inc(m_cancelled, NULL, 1);
    log_info("reservation %s: cancelled", out->code);
    return 0;
}

int booking_confirm(struct app *app, const char *code, int64_t paid_cents, const char *note,
                    const char *source, const char *actor, struct reservation *out, struct booking_error *err)
{
    long long now = (long long)time(NULL);
    int expired = 0;
    int rc = store_reservation_confirm(app->db, code, paid_cents, note, now, actor, out, &expired);
    if (rc == DB_OK || expired)
        notify_after_change();
    if (expired)
        metrics_inc(m_expired, NULL, expired);
    if (rc == DB_CONFLICT) {
        count_conflict("confirm_after_expiry");
        return fail(err, 409, "date_overlap", "The hold expired and its nights were taken meanwhile");
    }
    if (rc != DB_OK)
        return not_found_or_state(rc, code, "confirmed", err);
    const char *labels[] = {source};
    metrics_inc(m_confirmed, labels, 1);
    log_info("reservation %s: confirmed (source %s)", out->code, source);
    return 0;
}

int booking_create_block(struct app *app, struct block *b, const char *actor, struct booking_error *err)
{
    struct date din, dout;
    if (booking_check_dates(app->cfg, b->start, b->end, &din, &dout, err) < 0)
        return -1;
    if (b->reason[0] && !booking_text_valid(b->reason, REASON_MAX))
        return fail(err, 422, "invalid_field", "reason: must be text");
    dates_format(din, b->start);
    dates_format(dout, b->end);
    struct accommodation acc;
    int rc = store_accommodation_get(app->db, b->accommodation_id, &acc);
    if (rc == STORE_NOT_FOUND)
        return fail(err, 404, "accommodation_not_found", "No accommodation with id %lld",
                    b->accommodation_id);
    if (rc != DB_OK) {
        booking_error_from_db(rc, err);
        return -1;
    }
    struct booking_lock lock;
    double waited = 0;
    int expired = 0;
    booking_lock_acquire(app->redis, acc.id, &lock, &waited);
    metrics_observe(m_lock_wait, NULL, waited);
    rc = store_block_create(app->db, b, (long long)time(NULL), actor, &expired);
    booking_lock_release(app->redis, &lock);
    if (expired) {
        metrics_inc(m_expired, NULL, expired);
        notify_after_change();
    }
    if (rc == DB_CONFLICT) {
        count_conflict("block");
        return fail(err, 409, "date_overlap", "Some of those nights are held, booked or blocked");
    }
    if (rc != DB_OK) {
        booking_error_from_db(rc, err);
        return -1;
    }
    log_info("block %lld on accommodation %lld (%s..%s) created by %s", b->id, b->accommodation_id, b->start,
             b->end, b->created_by);
    return 0;
}

int booking_delete_block(struct app *app, long long accommodation_id, long long block_id, const char *actor,
                         struct booking_error *err)
{
    int rc = store_block_delete(app->db, accommodation_id, block_id, (long long)time(NULL), actor);
    if (rc == STORE_NOT_FOUND)
        return fail(err, 404, "block_not_found", "No block %lld on accommodation %lld", block_id,
                    accommodation_id);
    if (rc != DB_OK) {
        booking_error_from_db(rc, err);
        return -1;
    }
    log_info("block %lld on accommodation %lld deleted by %s", block_id, accommodation_id, actor);
    return 0;
}

int booking_expire_due(struct app *app, int *expired)
{
    long long now = (long long)time(NULL);
    int rc = store_holds_expire(app->db, now, expired);
    if (rc == DB_OK && *expired) {
        notify_after_change();
        metrics_inc(m_expired, NULL, *expired);
        log_info("sweeper: %d hold(s) expired", *expired);
    }
    int active = 0;
    if (store_holds_active_count(app->db, now, &active) == DB_OK)
        metrics_set(m_active, NULL, active);
    return rc;
}

const char *booking_effective_status(const struct reservation *r, long long now)
{
    if (strcmp(r->status, "pre_reserved") == 0 && r->expires_at && r->expires_at <= now)
        return "expired";
    return r->status;
}
