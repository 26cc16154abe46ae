/* worker.c - the outbox delivery job. See worker.h.
 *
 * One message per claim: each is leased for SMTP_TIMEOUT_SECONDS + 60 s, longer than one delivery can
 * take, so a live instance never loses a lease to another; a crashed instance's messages are taken over
 * once their lease ends (at-least-once delivery in that case only). A run handles at most RUN_MAX
 * messages, then wakes itself, so the gauges stay fresh and a stop request is seen. */
#include "worker.h"

#include "channels.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/metrics.h"
#include "jobs/periodic.h"
#include "smtp.h"
#include "store/journal.h"
#include "store/outbox_store.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUN_MAX 50
#define DEFER_SECONDS 2
#define LEASE_MARGIN_SECONDS 60

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static struct periodic *job;   /* guarded by job_lock */
static int stopping;           /* atomic */
static struct metric *m_total; /* notifications_total{channel,template,result} */
static struct metric *m_pending, *m_dead;

void notify_init(void)
{
    static const char *labels[] = {"channel", "template", "result", NULL};
    m_total = metrics_counter("notifications_total", "Outbox delivery outcomes: sent, retry, dead, skipped.",
                              labels);
    m_pending =
        metrics_gauge("outbox_pending", "Outbox messages waiting for delivery (pending or sending).", NULL);
    m_dead = metrics_gauge("outbox_dead",
                           "Outbox messages that gave up (dead): see GET /api/v1/admin/outbox.", NULL);
}

const int *notify_worker_abort_flag(void)
{
    return &stopping;
}

static void count(const char *channel, const char *template_name, const char *result)
{
    const char *values[] = {channel, template_name, result};
    metrics_inc(m_total, values, 1);
}

static void refresh_gauges(struct app *app)
{
    int pending = 0, dead = 0;
    if (outbox_counts(app->db, &pending, &dead) == DB_OK) {
        metrics_set(m_pending, NULL, pending);
        metrics_set(m_dead, NULL, dead);
    }
}

static void recorded(int rc, const struct outbox_row *row)
{
    if (rc == STORE_INVALID_STATE)
        log_warn("outbox %lld: its lease ran out and another instance took it over; outcome not recorded",
                 row->id);
    else if (rc != DB_OK)
        log_warn("outbox %lld: cannot record the outcome (%s); it is retried when its lease ends", row->id,
                 db_strerror(rc));
}

static void deliver_one(struct app *app, const struct outbox_row *row)
{
    const struct config *cfg = app->cfg;
    const struct outbox_channel *ch = outbox_channel_find(row->channel);
    char provider_id[OUTBOX_PROVIDER_ID_MAX + 1] = "", err[OUTBOX_ERROR_MAX + 1] = "";
    int rc;
    if (!ch) {
        snprintf(err, sizeof err, "unknown channel '%s'", row->channel);
        rc = OUTBOX_FAILED;
    } else if (!ch->enabled(cfg)) {
        snprintf(err, sizeof err, "%s not configured", ch->name);
        rc = OUTBOX_SKIP;
    } else {
        rc = ch->deliver(app, row, provider_id, sizeof provider_id, err, sizeof err);
    }
    if (!err[0] && rc != OUTBOX_SENT)
        snprintf(err, sizeof err, "failed without a reason");
    const char *channel = ch ? ch->name : "other";
    const char *code = row->reservation_code[0] ? row->reservation_code : "-";
    long long now = (long long)time(NULL);
    const char *result = NULL;
    int src;
    switch (rc) {
    case OUTBOX_SENT:
        src = outbox_mark_sent(app->db, row, now, provider_id);
        result = "sent";
        log_info("outbox %lld: %s %s (%s) sent, attempt %d", row->id, channel, row->template_name, code,
                 row->attempts);
        break;
    case OUTBOX_RETRY:
        if (row->attempts >= cfg->outbox_max_attempts) {
            char last[OUTBOX_ERROR_MAX + 64]; /* cut to OUTBOX_ERROR_MAX when stored */
            snprintf(last, sizeof last, "gave up after %d attempts: %s", row->attempts, err);
            src = outbox_mark_dead(app->db, row, now, last);
            result = "dead";
            log_error("outbox %lld: %s %s (%s) is dead after %d attempts: %s", row->id, channel,
                      row->template_name, code, row->attempts, err);
        } else {
            uint32_t rnd;
            ids_random_bytes(&rnd, sizeof rnd);
            int delay = outbox_backoff_seconds(row->attempts, cfg->outbox_max_backoff_s, rnd);
            src = outbox_mark_retry(app->db, row, now, now + delay, err);
            result = "retry";
            log_warn("outbox %lld: %s %s (%s) attempt %d failed, retrying in %d s: %s", row->id, channel,
                     row->template_name, code, row->attempts, delay, err);
        }
        break;
    case OUTBOX_SKIP:
        src = outbox_mark_skipped(app->db, row, now, err);
        result = "skipped";
        log_info("outbox %lld: %s %s (%s) skipped: %s", row->id, channel, row->template_name, code, err);
        break;
    case OUTBOX_DEFER:
        src = outbox_mark_deferred(app->db, row, now, now + DEFER_SECONDS, err);
        log_debug("outbox %lld: %s %s (%s) deferred: %s", row->id, channel, row->template_name, code, err);
        break;
    default: /* OUTBOX_FAILED and anything a channel should not return */
        src = outbox_mark_dead(app->db, row, now, err);
        result = "dead";
        log_error("outbox %lld: %s %s (%s) failed permanently: %s", row->id, channel, row->template_name,
                  code, err);
        break;
    }
    recorded(src, row);
    if (result && src == DB_OK)
        count(channel, row->template_name, result);
}

static void run(struct app *app, void *arg)
{
    (void)arg;
    int handled = 0;
    long long lease = app->cfg->smtp_timeout_s + LEASE_MARGIN_SECONDS;
    while (handled < RUN_MAX && !__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
        long long now = (long long)time(NULL);
        struct outbox_row *rows = NULL;
        int n = 0;
        int rc = outbox_claim(app->db, now, now + lease, 1, &rows, &n);
        if (rc != DB_OK) {
            log_warn("outbox: cannot claim messages (%s); retrying next run", db_strerror(rc));
            free(rows);
            break;
        }
        for (int i = 0; i < n; i++)
            deliver_one(app, &rows[i]);
        free(rows);
        if (n == 0)
            break;
        handled += n;
    }
    refresh_gauges(app);
    if (handled >= RUN_MAX)
        notify_worker_wake();
}

static const struct config *plan_cfg; /* set before serving, read-only afterwards */

/* journal_channel_check: the checks deliver_one() and the email channel would make, minus the network */
static int channel_ready(const char *channel, const char *template_name, const char *recipient, char *why,
                         size_t whylen)
{
    const struct outbox_channel *ch = outbox_channel_find(channel);
    if (!ch)
        return 1; /* unknown: the worker reports it (dead) */
    if (!ch->enabled(plan_cfg))
        snprintf(why, whylen, "%s not configured", ch->name);
    else if (strcmp(ch->name, "email") == 0 && strcmp(recipient, "owner") == 0 && !plan_cfg->owner_email[0])
        snprintf(why, whylen, "OWNER_EMAIL not configured");
    else
        return 1;
    /* counted when planned: a change rolled back after planning (a lost race for the nights) counts too */
    count(ch->name, template_name, "skipped");
    return 0;
}

void notify_plan_for(const struct config *cfg)
{
    plan_cfg = cfg;
    journal_set_channel_check(channel_ready);
}

int notify_check_config(const struct config *cfg)
{
    if (cfg->smtp_url[0]) {
        char name[256], addr[SMTP_ADDRESS_MAX + 1];
        if (smtp_mailbox_parse(cfg->smtp_from, name, sizeof name, addr, sizeof addr) < 0) {
            log_error(
                "SMTP_FROM is not a valid sender (expected addr@example.com or \"Name <addr@example.com>\")");
            return -1;
        }
        if (cfg->owner_email[0] && !smtp_address_valid(cfg->owner_email)) {
            log_error("OWNER_EMAIL is not a valid address");
            return -1;
        }
        log_info("email: enabled (SMTP %s, from %s)",
                 strncmp(cfg->smtp_url, "smtps://", 8) == 0 ? "over TLS" : "with STARTTLS when offered",
                 addr);
        if (!cfg->owner_email[0])
            log_warn("OWNER_EMAIL is not set: messages for the owner are skipped");
    } else {
        log_info("email: disabled (SMTP_URL not set); email messages are marked skipped");
    }
    return 0;
}

int notify_worker_start(struct app *app)
{
    const struct config *cfg = app->cfg;
    __atomic_store_n(&stopping, 0, __ATOMIC_RELAXED);
    struct periodic *p = periodic_start("outbox", cfg->job_outbox_interval_s, run, app, NULL);
    if (!p)
        return -1;
    pthread_mutex_lock(&job_lock);
    job = p;
    pthread_mutex_unlock(&job_lock);
    return 0;
}

void notify_worker_wake(void)
{
    pthread_mutex_lock(&job_lock);
    periodic_wake(job);
    pthread_mutex_unlock(&job_lock);
}

void notify_after_change(void)
{
    if (journal_take_pending())
        notify_worker_wake();
}

void notify_worker_stop(void)
{
    __atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&job_lock);
    struct periodic *p = job;
    job = NULL;
    pthread_mutex_unlock(&job_lock);
    periodic_stop(p);
}
