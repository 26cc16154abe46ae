/* whatsapp_store.c - SQL for whatsapp_messages and whatsapp_conversations. See whatsapp_store.h.
 *
 * Every statement is the same on both engines: INSERT ... ON CONFLICT DO NOTHING RETURNING tells in one
 * round trip whether a wamid is new or an inbound message already has its reply; the claim is an UPDATE
 * guarded by the status it expects, so two workers (two instances) never take the same message. */
#include "whatsapp_store.h"

#include "booking_store.h"
#include "store_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wa_store_inbound_insert(struct db *db, const struct wa_message *m, const char *status, long long now,
                            int *inserted)
{
    static const char *sql =
        "INSERT INTO whatsapp_messages (wamid, direction, phone, contact_name, msg_type, body, reply_id, "
        "status, "
        "wa_timestamp, created_at, updated_at) VALUES ($1, 'in', $2, $3, $4, $5, $6, $7, CAST($8 AS bigint), "
        "CAST($9 AS bigint), CAST($9 AS bigint)) ON CONFLICT DO NOTHING RETURNING id";
    char ts[24], at[24];
    const char *p[] = {m->wamid,
                       m->phone,
                       m->contact_name,
                       m->type,
                       m->body,
                       m->reply_id,
                       status,
                       store_ll_param(m->wa_timestamp, ts),
                       store_ll_param(now, at)};
    struct db_result *r = NULL;
    *inserted = 0;
    int rc = db_exec_once(db, sql, 9, p, &r);
    if (rc == DB_OK)
        *inserted = db_result_rows(r) > 0;
    db_result_free(r);
    return rc;
}

#define MSG_COLUMNS                                                                                          \
    "id, wamid, phone, contact_name, msg_type, body, reply_id, status, wa_timestamp, created_at"

static void read_message(const struct db_result *r, int row, struct wa_message *m)
{
    memset(m, 0, sizeof *m);
    m->id = store_col_ll(r, row, 0);
    store_col_str(r, row, 1, m->wamid, sizeof m->wamid);
    store_col_str(r, row, 2, m->phone, sizeof m->phone);
    store_col_str(r, row, 3, m->contact_name, sizeof m->contact_name);
    store_col_str(r, row, 4, m->type, sizeof m->type);
    store_col_str(r, row, 5, m->body, sizeof m->body);
    store_col_str(r, row, 6, m->reply_id, sizeof m->reply_id);
    store_col_str(r, row, 7, m->status, sizeof m->status);
    m->wa_timestamp = store_col_ll(r, row, 8);
    m->created_at = store_col_ll(r, row, 9);
}

int wa_store_inbound_claim(struct db *db, long long now, long long stale_before, struct wa_message *out,
                           int *found)
{
    static const char *expire =
        "UPDATE whatsapp_messages SET status = 'expired', updated_at = CAST($1 AS bigint) "
        "WHERE direction = 'in' AND status = 'received' AND created_at < CAST($2 AS bigint)";
    static const char *claim =
        "UPDATE whatsapp_messages SET status = 'processing', updated_at = CAST($1 AS bigint) "
        "WHERE id = (SELECT id FROM whatsapp_messages WHERE direction = 'in' AND status = 'received' "
        "ORDER BY id LIMIT 1) AND status = 'received' RETURNING " MSG_COLUMNS;
    char at[24], stale[24];
    const char *p[] = {store_ll_param(now, at), store_ll_param(stale_before, stale)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *found = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, expire, 2, p, NULL);
    /* a concurrent claimer may win the row between the SELECT and the UPDATE: then look again */
    for (int attempt = 0; rc == DB_OK && attempt < 5; attempt++) {
        rc = db_exec(c, claim, 1, p, &r);
        if (rc == DB_OK && db_result_rows(r) > 0) {
            read_message(r, 0, out);
            *found = 1;
            break;
        }
        int any = 0;
        if (rc == DB_OK) {
            static const char *pending =
                "SELECT count(*) FROM whatsapp_messages WHERE direction = 'in' AND status = 'received'";
            struct db_result *cnt = NULL;
            rc = db_exec(c, pending, 0, NULL, &cnt);
            any = rc == DB_OK && store_col_ll(cnt, 0, 0) > 0;
            db_result_free(cnt);
        }
        db_result_free(r);
        r = NULL;
        if (!any)
            break;
    }
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int wa_store_inbound_finish(struct db *db, long long id, const char *status, const char *error, long long now)
{
    static const char *sql =
        "UPDATE whatsapp_messages SET status = $2, error = $3, updated_at = CAST($4 AS bigint) "
        "WHERE id = CAST($1 AS bigint)";
    char ids[24], at[24];
    const char *p[] = {store_ll_param(id, ids), status, error, store_ll_param(now, at)};
    return db_exec_once(db, sql, 4, p, NULL);
}

int wa_store_outbound_begin(struct db *db, const char *phone, const char *type, const char *body,
                            long long in_reply_to, long long now, long long *id, int *claimed)
{
    static const char *sql =
        "INSERT INTO whatsapp_messages (direction, phone, msg_type, body, status, in_reply_to, created_at, "
        "updated_at) VALUES ('out', $1, $2, $3, 'sending', CAST($4 AS bigint), CAST($5 AS bigint), "
        "CAST($5 AS bigint)) ON CONFLICT DO NOTHING RETURNING id";
    char reply[24], at[24];
    const char *p[] = {phone, type, body, in_reply_to > 0 ? store_ll_param(in_reply_to, reply) : NULL,
                       store_ll_param(now, at)};
    struct db_result *r = NULL;
    *claimed = 0;
    *id = 0;
    int rc = db_exec_once(db, sql, 5, p, &r);
    if (rc == DB_OK && db_result_rows(r) > 0) {
        *claimed = 1;
        *id = store_col_ll(r, 0, 0);
    }
    db_result_free(r);
    return rc;
}

int wa_store_outbound_finish(struct db *db, long long id, const char *wamid, const char *status,
                             const char *error, long long now)
{
    static const char *sql = "UPDATE whatsapp_messages SET wamid = $2, status = $3, error = $4, "
                             "updated_at = CAST($5 AS bigint) WHERE id = CAST($1 AS bigint)";
    char ids[24], at[24];
    const char *p[] = {store_ll_param(id, ids), wamid && *wamid ? wamid : NULL, status, error,
                       store_ll_param(now, at)};
    return db_exec_once(db, sql, 5, p, NULL);
}

/* A status only replaces an earlier one: accepted (by the API) < sent < delivered < read; failed wins. */
#define STATUS_RANK(x)                                                                                       \
    "(CASE " x " WHEN 'failed' THEN 9 WHEN 'read' THEN 4 WHEN 'delivered' THEN 3 WHEN 'sent' THEN 2 "        \
    "WHEN 'accepted' THEN 1 ELSE 0 END)"

int wa_store_status_update(struct db *db, const char *wamid, const char *status, long long at,
                           const char *error, long long now, int *matched)
{
    static const char *sql = "UPDATE whatsapp_messages SET status = $2, status_at = CAST($3 AS bigint), "
                             "error = COALESCE($4, error), updated_at = CAST($5 AS bigint) "
                             "WHERE wamid = $1 AND direction = 'out' AND " STATUS_RANK(
                                 "$2") " > " STATUS_RANK("status") " RETURNING id";
    static const char *exists =
        "SELECT count(*) FROM whatsapp_messages WHERE wamid = $1 AND direction = 'out'";
    char ats[24], nows[24];
    const char *p[] = {wamid, status, store_ll_param(at, ats), error, store_ll_param(now, nows)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *matched = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, sql, 5, p, &r);
    if (rc == DB_OK && db_result_rows(r) > 0) {
        *matched = 1;
    } else if (rc == DB_OK) {
        /* an older status arriving late: the message is ours, its status stays */
        db_result_free(r);
        r = NULL;
        rc = db_exec(c, exists, 1, p, &r);
        *matched = rc == DB_OK && store_col_ll(r, 0, 0) > 0;
    }
    db_result_free(r);
    db_release(db, c);
    return rc;
}

int wa_store_count(struct db *db, const char *direction, const char *status, long long *count)
{
    static const char *sql = "SELECT count(*) FROM whatsapp_messages WHERE direction = $1 AND status = $2";
    const char *p[] = {direction, status};
    struct db_result *r = NULL;
    *count = 0;
    int rc = db_exec_once(db, sql, 2, p, &r);
    if (rc == DB_OK)
        *count = store_col_ll(r, 0, 0);
    db_result_free(r);
    return rc;
}

/* ---------------------------------------------------------------------------------- conversations */

int wa_store_conversation_inbound(struct db *db, const char *phone, const char *name, long long now)
{
    static const char *sql =
        "INSERT INTO whatsapp_conversations (phone, contact_name, last_inbound_at, messages_in, created_at, "
        "updated_at) VALUES ($1, $2, CAST($3 AS bigint), 1, CAST($3 AS bigint), CAST($3 AS bigint)) "
        "ON CONFLICT (phone) DO UPDATE SET contact_name = CASE WHEN excluded.contact_name <> '' THEN "
        "excluded.contact_name ELSE whatsapp_conversations.contact_name END, "
        "last_inbound_at = excluded.last_inbound_at, messages_in = whatsapp_conversations.messages_in + 1, "
        "updated_at = excluded.updated_at";
    char at[24];
    const char *p[] = {phone, name ? name : "", store_ll_param(now, at)};
    return db_exec_once(db, sql, 3, p, NULL);
}

int wa_store_conversation_outbound(struct db *db, const char *phone, long long now)
{
    static const char *sql =
        "INSERT INTO whatsapp_conversations (phone, last_outbound_at, created_at, updated_at) "
        "VALUES ($1, CAST($2 AS bigint), CAST($2 AS bigint), CAST($2 AS bigint)) "
        "ON CONFLICT (phone) DO UPDATE SET last_outbound_at = excluded.last_outbound_at, "
        "updated_at = excluded.updated_at";
    char at[24];
    const char *p[] = {phone, store_ll_param(now, at)};
    return db_exec_once(db, sql, 2, p, NULL);
}

#define CONV_COLUMNS                                                                                         \
    "phone, contact_name, last_inbound_at, last_outbound_at, handoff_until, messages_in, created_at, "       \
    "updated_at"

static void read_conversation(const struct db_result *r, int row, void *out)
{
    struct wa_conversation *c = out;
    memset(c, 0, sizeof *c);
    store_col_str(r, row, 0, c->phone, sizeof c->phone);
    store_col_str(r, row, 1, c->contact_name, sizeof c->contact_name);
    c->last_inbound_at = store_col_ll(r, row, 2);
    c->last_outbound_at = store_col_ll(r, row, 3);
    c->handoff_until = store_col_ll(r, row, 4);
    c->messages_in = store_col_ll(r, row, 5);
    c->created_at = store_col_ll(r, row, 6);
    c->updated_at = store_col_ll(r, row, 7);
}

int wa_store_conversation_get(struct db *db, const char *phone, struct wa_conversation *out)
{
    static const char *sql = "SELECT " CONV_COLUMNS " FROM whatsapp_conversations WHERE phone = $1";
    const char *p[] = {phone};
    struct db_result *r = NULL;
    int rc = db_exec_once(db, sql, 1, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == DB_OK)
        read_conversation(r, 0, out);
    db_result_free(r);
    return rc;
}

int wa_store_conversation_handoff_on(struct db_conn *c, const char *phone, long long until, long long now)
{
    static const char *sql = "UPDATE whatsapp_conversations SET handoff_until = CAST($2 AS bigint), "
                             "updated_at = CAST($3 AS bigint) WHERE phone = $1 RETURNING phone";
    char u[24], at[24];
    const char *p[] = {phone, until > 0 ? store_ll_param(until, u) : NULL, store_ll_param(now, at)};
    struct db_result *r = NULL;
    int rc = db_exec(c, sql, 3, p, &r);
    if (rc == DB_OK && db_result_rows(r) == 0)
        rc = STORE_NOT_FOUND;
    db_result_free(r);
    return rc;
}

int wa_store_conversation_list(struct db *db, int limit, int offset, struct wa_conversation **items, int *n,
                               int *total)
{
    static const char *sql =
        "SELECT " CONV_COLUMNS " FROM whatsapp_conversations "
        "ORDER BY updated_at DESC, phone LIMIT CAST($1 AS integer) OFFSET CAST($2 AS integer)";
    static const char *count = "SELECT count(*) FROM whatsapp_conversations";
    char lim[24], off[24];
    const char *p[] = {store_ll_param(limit, lim), store_ll_param(offset, off)};
    struct db_conn *c = NULL;
    struct db_result *r = NULL;
    *items = NULL;
    *n = *total = 0;
    int rc = db_acquire(db, &c);
    if (rc != DB_OK)
        return rc;
    rc = db_exec(c, sql, 2, p, &r);
    if (rc == DB_OK)
        *items = store_rows_read(r, sizeof **items, read_conversation, n);
    db_result_free(r);
    r = NULL;
    if (rc == DB_OK)
        rc = db_exec(c, count, 0, NULL, &r);
    if (rc == DB_OK)
        *total = (int)store_col_ll(r, 0, 0);
    db_result_free(r);
    db_release(db, c);
    if (rc != DB_OK) {
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return rc;
}
