/* ical_sync.c - fetch, parse, apply one feed. See ical_sync.h. */
#include "ical_sync.h"

#include "booking/lock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "net/http_client.h"

#include <libical/ical.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct metric *m_last_success, *m_events, *m_sync, *m_conflicts, *m_quarantined;

void ical_sync_init(struct app *app)
{
    static const char *feed[] = {"feed", NULL};
    static const char *result[] = {"result", NULL};
    static const char *results[] = {"ok", "not_modified", "failed"};
    (void)app;
    if (m_sync)
        return;
    icalerror_set_errors_are_fatal(0); /* a malformed feed is an error value, never an abort */
    m_last_success = metrics_gauge("ical_feed_last_success_timestamp_seconds",
                                   "Unix time of the calendar feed's last successful sync (a feed that never "
                                   "synced: when it was added).",
                                   feed);
    m_events = metrics_gauge("ical_feed_events",
                             "Events stored from the calendar feed at its last good sync.", feed);
    m_sync = metrics_counter("ical_sync_total", "Calendar feed syncs, by result (ok, not_modified, failed).",
                             result);
    for (size_t i = 0; i < sizeof results / sizeof *results; i++) {
        const char *v[] = {results[i]};
        metrics_inc(m_sync, v, 0); /* every result is exported from the start, as 0 */
    }
    m_conflicts = metrics_counter("ical_conflicts_total",
                                  "Imported events found overlapping one of our holds or bookings (double "
                                  "bookings across channels).",
                                  NULL);
    m_quarantined = metrics_counter("ical_events_quarantined_total",
                                    "Feed events set aside as invalid during syncs.", NULL);
}

void ical_sync_refresh_gauges(struct app *app)
{
    struct ical_feed_info *list = NULL;
    int n = 0;
    if (store_ical_feed_list(app->db, 0, &list, &n) != DB_OK) {
        free(list);
        return; /* keep the last values; the database outage is reported elsewhere */
    }
    char(*ids)[24] = calloc(n ? (size_t)n : 1, sizeof *ids);
    const char **labels = calloc(n ? (size_t)n : 1, sizeof *labels);
    double *success = calloc(n ? (size_t)n : 1, sizeof *success);
    double *events = calloc(n ? (size_t)n : 1, sizeof *events);
    if (!ids || !labels || !success || !events)
        abort();
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "%lld", list[i].id);
        labels[i] = ids[i];
        success[i] = (double)(list[i].last_success_at ? list[i].last_success_at : list[i].created_at);
        events[i] = list[i].event_count;
    }
    metrics_replace(m_last_success, n, labels, success);
    metrics_replace(m_events, n, labels, events);
    free(ids);
    free(labels);
    free(success);
    free(events);
    free(list);
}

static void failed(struct ical_sync_result *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void failed(struct ical_sync_result *out, const char *code, const char *fmt, ...)
{
    char detail[ICAL_ERROR_MAX - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(out->result, sizeof out->result, "failed");
    snprintf(out->error, sizeof out->error, "%.30s: %s", code, detail);
}

/* Downloads and parses; on success *parsed is the feed (NULL for 304 Not Modified). */
static void fetch_and_parse(struct app *app, const struct ical_feed_info *f, struct ical_feed **parsed,
                            struct http_client_response *resp, struct ical_sync_result *out)
{
    char inm[300], ims[160];
    const char *headers[4];
    int h = 0;
    headers[h++] = "Accept: text/calendar, text/plain;q=0.5, */*;q=0.1";
    if (f->etag[0]) {
        snprintf(inm, sizeof inm, "If-None-Match: %s", f->etag);
        headers[h++] = inm;
    }
    if (f->last_modified[0]) {
        snprintf(ims, sizeof ims, "If-Modified-Since: %s", f->last_modified);
        headers[h++] = ims;
    }
    headers[h] = NULL;
    struct http_client_request req = {0};
    req.url = f->url;
    req.headers = headers;
    req.timeout_ms = (long)app->cfg->ical_fetch_timeout_s * 1000;
    req.max_body = ICAL_FETCH_MAX_BYTES;
    req.max_redirects = ICAL_FETCH_MAX_REDIRECTS;
    int rc = http_client_fetch(&req, resp);
    out->http_status = resp->status;
    *parsed = NULL;
    if (rc != HTTP_CLIENT_OK) {
        failed(out, "fetch", "%s (%s)", http_client_strerror(rc), resp->error);
        return;
    }
    if (resp->status == 304 && (f->etag[0] || f->last_modified[0]))
        return;
    if (resp->status < 200 || resp->status > 299) {
        failed(out, "http_status", "the server answered %ld", resp->status);
        return;
    }
    struct date today;
    if (dates_today(&today) < 0) {
        failed(out, "clock", "cannot read today's date");
        return;
    }
    struct ical_parse_options opt = {app->cfg->property_timezone, today, app->cfg->booking_horizon_days, 0,
                                     0};
    char err[160];
    rc = ical_feed_parse(resp->body ? resp->body : "", resp->body_len, &opt, parsed, err, sizeof err);
    if (rc != ICAL_OK)
        failed(out, ical_parse_strerror(rc), "%s", err);
}

int ical_sync_feed(struct app *app, long long accommodation_id, long long feed_id, int force,
                   long long next_attempt_at, const char *actor, struct ical_sync_result *out)
{
    memset(out, 0, sizeof *out);
    struct ical_feed_info *f = malloc(sizeof *f);
    if (!f)
        abort();
    int rc = store_ical_feed_get(app->db, accommodation_id, feed_id, f);
    if (rc != DB_OK) {
        free(f);
        return rc;
    }
    long long started = (long long)time(NULL);
    struct http_client_response resp;
    struct ical_feed *parsed = NULL;
    fetch_and_parse(app, f, &parsed, &resp, out);
    if (!out->result[0]) {
        struct date today;
        char today_s[DATES_FORMAT_LEN] = "1970-01-01";
        if (dates_today(&today) == 0)
            dates_format(today, today_s);
        struct ical_apply in = {0};
        in.feed_id = feed_id;
        in.parsed = parsed;
        in.today = today_s;
        in.now = (long long)time(NULL);
        in.force = force;
        in.set_validators = parsed != NULL;
        in.etag = resp.etag[0] ? resp.etag : NULL;
        in.last_modified = resp.last_modified[0] ? resp.last_modified : NULL;
        in.next_attempt_at = next_attempt_at;
        in.actor = actor;
        if (parsed) {
            out->parsed_events = parsed->nevents;
            out->cancelled = parsed->cancelled;
            out->quarantined = parsed->nquarantine;
            for (int i = 0; i < parsed->nquarantine && i < ICAL_QUARANTINE_SHOWN; i++)
                out->quarantine[i] = parsed->quarantine[i];
        }
        struct booking_lock lock;
        double waited = 0;
        booking_lock_acquire(app->redis, f->accommodation_id, &lock, &waited);
        rc = store_ical_apply(app->db, &in, &out->apply);
        booking_lock_release(app->redis, &lock);
        if (rc == STORE_ICAL_LOST_EVENTS)
            failed(out, "lost_events",
                   "%d of %d future events remain; the previous blocks are kept (sync with force to accept)",
                   out->apply.new_future, out->apply.old_future);
        else if (rc == STORE_NOT_FOUND)
            failed(out, "not_found", "the feed was deleted during the sync");
        else if (rc != DB_OK)
            failed(out, "database", "%s", db_strerror(rc));
        else
            snprintf(out->result, sizeof out->result, "%s", parsed ? "ok" : "not_modified");
    }
    const char *labels[] = {out->result};
    metrics_inc(m_sync, labels, 1);
    if (strcmp(out->result, "failed") == 0) {
        int mrc =
            store_ical_feed_mark_failed(app->db, feed_id, started, out->error, app->cfg->job_ical_interval_s);
        log_warn("ical: feed %lld (%s) of accommodation %lld failed, blocks kept: %s%s", feed_id, f->name,
                 f->accommodation_id, out->error, mrc == DB_OK ? "" : " (status not saved)");
    } else {
        if (out->quarantined)
            metrics_inc(m_quarantined, NULL, out->quarantined);
        if (out->apply.new_conflicts)
            metrics_inc(m_conflicts, NULL, out->apply.new_conflicts);
        for (int i = 0; i < out->apply.new_conflicts && i < ICAL_NEW_CONFLICTS_MAX; i++) {
            const struct ical_new_conflict *c = &out->apply.new_list[i];
            log_warn("ical: double booking: feed %lld (%s) event %s blocks %s..%s, which reservation %s (%s, "
                     "%s..%s) holds; the owner is notified",
                     feed_id, f->name, c->uid, c->start, c->end, c->code, c->status, c->check_in,
                     c->check_out);
        }
        log_info(
            "ical: feed %lld (%s) synced: %s, %d event(s) stored, %d removed, %d placed, %d quarantined, "
            "%d open conflict(s)",
            feed_id, f->name, out->result, out->apply.events, out->apply.removed, out->apply.placed,
            out->quarantined, out->apply.conflicts);
    }
    ical_feed_free(parsed);
    http_client_response_free(&resp);
    free(f);
    ical_sync_refresh_gauges(app);
    return 0;
}
