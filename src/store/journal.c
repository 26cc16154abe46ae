/* journal.c - audit rows and outbox messages written inside the caller's transaction. See journal.h. */
#include "journal.h"

#include "domain/pricing.h"
#include "store_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int audit_record(struct db_conn *c, long long now, const char *actor, const char *action, const char *entity,
                 const char *entity_id, const char *before, const char *after)
{
    static const char *sql = "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) "
                             "VALUES (CAST($1 AS bigint), $2, $3, $4, $5, $6, $7)";
    char at[24];
    const char *p[] = {store_ll_param(now, at), actor, action, entity, entity_id, before, after};
    return db_defer(c, sql, 7, p);
}

static journal_channel_check channel_check; /* set once at start-up, before any request */
static __thread int pending_queued;         /* pending messages this thread queued since the last take */

int journal_take_pending(void)
{
    int n = pending_queued;
    pending_queued = 0;
    return n;
}

void journal_set_channel_check(journal_channel_check fn)
{
    channel_check = fn;
}

int outbox_enqueue(struct db_conn *c, long long now, const struct outbox_message *m)
{
    static const char *sql =
        "INSERT INTO outbox (channel, template, recipient, reservation_code, payload, dedupe_key, status, "
        "attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, "
        "CAST($7 AS bigint), CAST($8 AS bigint), CAST($8 AS bigint)) ON CONFLICT (dedupe_key) DO NOTHING";
    char due[24], at[24], why[OUTBOX_SKIP_REASON_MAX] = "";
    const char *recipient = m->recipient ? m->recipient : "";
    /* A message no channel of this process can deliver is not written: the check has counted it as
     * skipped. Writing it cost a hold about a seventh of its throughput (docs/benchmarks.md). */
    if (channel_check && !channel_check(m->channel, m->template_name, recipient, why, sizeof why))
        return DB_OK;
    const char *p[] = {m->channel,
                       m->template_name,
                       recipient,
                       m->reservation_code,
                       m->payload ? m->payload : "{}",
                       m->dedupe_key,
                       store_ll_param(m->not_before > now ? m->not_before : now, due),
                       store_ll_param(now, at)};
    int rc = db_defer(c, sql, 8, p);
    if (rc == DB_OK)
        pending_queued++;
    return rc;
}

int journal_plan(const char *event, const struct reservation *r, const char *actor,
                 struct journal_recipient out[JOURNAL_MAX_RECIPIENTS])
{
    int guest = 0, owner = 0;
    if (strcmp(event, "hold_created") == 0 || strcmp(event, "hold_expired") == 0) {
        guest = 1;
    } else if (strcmp(event, "booking_confirmed") == 0 || strcmp(event, "booking_cancelled") == 0) {
        guest = owner = 1;
    } else if (strcmp(event, "payment_needs_refund") == 0 || strcmp(event, "payment_refunded") == 0) {
        owner = 1;
    }
    int n = 0;
    if (guest && r->guest_email[0])
        out[n++] = (struct journal_recipient){"email", r->guest_email};
    /* what the guest just did on WhatsApp the bot answers there itself, and a hold made on WhatsApp is
     * answered there with its code and link; every other change reaches the guest on WhatsApp too */
    int answered_by_bot = (actor && strcmp(actor, "bot:whatsapp") == 0) ||
                          (strcmp(event, "hold_created") == 0 && strcmp(r->channel, "whatsapp") == 0);
    if (guest && r->guest_phone[0] && !answered_by_bot)
        out[n++] = (struct journal_recipient){"whatsapp", r->guest_phone};
    if (owner)
        out[n++] = (struct journal_recipient){"email", "owner"};
    return n;
}

char *journal_reservation_json(const struct reservation *r)
{
    json_t *o = json_pack(
        "{s:s, s:I, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:s}", "code", r->code,
        "accommodation_id", (json_int_t)r->accommodation_id, "check_in", r->check_in, "check_out",
        r->check_out, "guests", r->guests, "guest_name", r->guest_name, "channel", r->channel, "status",
        r->status, "payment_status", r->payment_status, "cancel_reason", r->cancel_reason, "nights",
        r->nights, "total_cents", (json_int_t)r->total_cents, "deposit_cents", (json_int_t)r->deposit_cents,
        "paid_cents", (json_int_t)r->paid_cents, "currency", r->currency);
    if (!o)
        return NULL;
    json_object_set_new(o, "expires_at", json_integer(r->expires_at));
    if (r->confirmed_at)
        json_object_set_new(o, "confirmed_at", json_integer(r->confirmed_at));
    if (r->cancelled_at)
        json_object_set_new(o, "cancelled_at", json_integer(r->cancelled_at));
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

int journal_reservation(struct db_conn *c, long long now, const char *actor, const char *event,
                        const char *before_status, const char *before_payment,
                        const struct reservation *after)
{
    char action[64], before[128];
    snprintf(action, sizeof action, "reservation.%s", event);
    if (before_status)
        snprintf(before, sizeof before, "{\"payment_status\":\"%s\",\"status\":\"%s\"}",
                 before_payment ? before_payment : "", before_status);
    char *after_json = journal_reservation_json(after);
    if (!after_json)
        return DB_ERR;
    int rc = audit_record(c, now, actor, action, "reservation", after->code, before_status ? before : NULL,
                          after_json);
    free(after_json);
    struct journal_recipient to[JOURNAL_MAX_RECIPIENTS];
    int n = rc == DB_OK ? journal_plan(event, after, actor, to) : 0;
    for (int i = 0; i < n && rc == DB_OK; i++) {
        char key[128 + GUEST_EMAIL_MAX];
        snprintf(key, sizeof key, "%s:%s:%s:%s", event, after->code, to[i].channel, to[i].recipient);
        struct outbox_message m = {.channel = to[i].channel,
                                   .template_name = event,
                                   .recipient = to[i].recipient,
                                   .reservation_code = after->code,
                                   .dedupe_key = key};
        rc = outbox_enqueue(c, now, &m);
    }
    return rc;
}

/* Stored JSON text (validated on the way in) back to JSON; `fallback` when it does not parse. */
static json_t *stored_json(const char *text, json_t *fallback)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        return fallback;
    json_decref(fallback);
    return j;
}

static char *dump_sorted(json_t *o)
{
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

char *journal_accommodation_json(const struct accommodation *a)
{
    char nights[PRICING_WEEKEND_NIGHTS_LEN];
    pricing_format_weekend_nights(a->weekend_mask, nights, sizeof nights);
    json_t *o = json_pack("{s:I, s:s, s:s, s:i, s:I, s:i, s:s, s:i, s:i, s:s, s:s, s:s, s:b}", "id",
                          (json_int_t)a->id, "name", a->name, "type", a->type, "capacity", a->capacity,
                          "base_price_cents", (json_int_t)a->base_cents, "weekend_multiplier_bp",
                          a->weekend_multiplier_bp, "weekend_nights", nights, "min_nights", a->min_nights,
                          "max_nights", a->max_nights, "currency", a->currency, "description", a->description,
                          "location", a->location, "active", a->active);
    if (!o)
        return NULL;
    json_object_set_new(o, "amenities", stored_json(a->amenities, json_array()));
    json_object_set_new(o, "photos", stored_json(a->photos, json_array()));
    json_object_set_new(o, "policies", stored_json(a->policies, json_object()));
    return dump_sorted(o);
}

char *journal_block_json(const struct block *b)
{
    return dump_sorted(json_pack("{s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)b->id,
                                 "accommodation_id", (json_int_t)b->accommodation_id, "start", b->start,
                                 "end", b->end, "reason", b->reason, "source", b->source, "created_by",
                                 b->created_by));
}

/* One audit row for an entity whose before/after are given as already serialized JSON (or NULL). */
static int journal_entity(struct db_conn *c, long long now, const char *actor, const char *action,
                          const char *entity, long long id, char *before, char *after, int want_before,
                          int want_after)
{
    char idbuf[24];
    int rc = DB_ERR;
    if ((!want_before || before) && (!want_after || after))
        rc = audit_record(c, now, actor, action, entity, store_ll_param(id, idbuf), before, after);
    free(before);
    free(after);
    return rc;
}

int journal_accommodation(struct db_conn *c, long long now, const char *actor, const char *action,
                          const struct accommodation *before, const struct accommodation *after)
{
    const struct accommodation *which = after ? after : before;
    if (!which)
        return DB_ERR;
    return journal_entity(c, now, actor, action, "accommodation", which->id,
                          before ? journal_accommodation_json(before) : NULL,
                          after ? journal_accommodation_json(after) : NULL, before != NULL, after != NULL);
}

int journal_block(struct db_conn *c, long long now, const char *actor, const char *action,
                  const struct block *before, const struct block *after)
{
    const struct block *which = after ? after : before;
    if (!which)
        return DB_ERR;
    return journal_entity(c, now, actor, action, "block", which->id,
                          before ? journal_block_json(before) : NULL,
                          after ? journal_block_json(after) : NULL, before != NULL, after != NULL);
}
