/* session.c - dialog state and reply limits, in Redis or in process. See session.h.
 *
 * Invariants: a stored state is at most WA_SESSION_JSON_MAX bytes and is validated field by field when
 * read back (a state written by an older binary, or garbage, reads as a fresh session); the in-process
 * tables never grow. */
#include "session.h"

#include "core/log.h"
#include "domain/dates.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct local_entry {
    char phone[GUEST_PHONE_MAX + 1];
    long long expires; /* unix seconds; 0 = free */
    char json[WA_SESSION_JSON_MAX];
};

struct local_count {
    char phone[GUEST_PHONE_MAX + 1];
    long long window;
    int count;
};

#define LOCAL_COUNTS 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct local_entry *sessions; /* WA_LOCAL_SESSIONS, allocated by wa_session_init */
static struct local_count counts[LOCAL_COUNTS];

void wa_session_init(void)
{
    pthread_mutex_lock(&lock);
    if (!sessions) {
        sessions = calloc(WA_LOCAL_SESSIONS, sizeof *sessions);
        if (!sessions)
            abort();
    }
    pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------------------------------------- json */

static int valid_date_text(const char *s)
{
    struct date d;
    return s && (*s == '\0' || dates_parse(s, &d) == 0);
}

int wa_session_to_json(const struct wa_session *s, char *out, size_t outlen)
{
    json_t *offers = json_array();
    for (int i = 0; i < s->noffers && i < WA_MAX_OFFERS; i++)
        json_array_append_new(offers, json_pack("[I, I]", (json_int_t)s->offers[i].accommodation_id,
                                                (json_int_t)s->offers[i].total_cents));
    json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:o, s:I, s:s, s:s, s:s}", "in", s->check_in, "out",
                          s->check_out, "guests", s->guests, "nights", s->nights, "step", (int)s->step,
                          "offers", offers, "chosen", (json_int_t)s->chosen, "cancel", s->cancel_code,
                          "alt_in", s->alt_in, "alt_out", s->alt_out);
    if (!j)
        return -1;
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return -1;
    size_t n = strlen(text);
    int rc = -1;
    if (n < outlen) {
        memcpy(out, text, n + 1);
        rc = 0;
    }
    free(text);
    return rc;
}

static void copy_field(json_t *j, const char *key, char *dst, size_t dstlen)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (v && strlen(v) < dstlen)
        memcpy(dst, v, strlen(v) + 1);
}

int wa_session_from_json(const char *text, struct wa_session *s)
{
    memset(s, 0, sizeof *s);
    if (!text || strlen(text) >= WA_SESSION_JSON_MAX)
        return -1;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    struct wa_session t;
    memset(&t, 0, sizeof t);
    copy_field(j, "in", t.check_in, sizeof t.check_in);
    copy_field(j, "out", t.check_out, sizeof t.check_out);
    copy_field(j, "cancel", t.cancel_code, sizeof t.cancel_code);
    copy_field(j, "alt_in", t.alt_in, sizeof t.alt_in);
    copy_field(j, "alt_out", t.alt_out, sizeof t.alt_out);
    t.guests = (int)json_integer_value(json_object_get(j, "guests"));
    t.nights = (int)json_integer_value(json_object_get(j, "nights"));
    long long step = json_integer_value(json_object_get(j, "step"));
    t.chosen = json_integer_value(json_object_get(j, "chosen"));
    json_t *offers = json_object_get(j, "offers");
    int ok = valid_date_text(t.check_in) && valid_date_text(t.check_out) && valid_date_text(t.alt_in) &&
             valid_date_text(t.alt_out) && t.guests >= 0 && t.guests <= 1000 && t.nights >= 0 &&
             t.nights <= 366 && step >= WA_STEP_NONE && step <= WA_STEP_PICK_CANCEL && t.chosen >= 0 &&
             json_is_array(offers) && json_array_size(offers) <= WA_MAX_OFFERS;
    for (size_t i = 0; ok && i < json_array_size(offers); i++) {
        json_t *o = json_array_get(offers, i);
        ok = json_is_array(o) && json_array_size(o) == 2 && json_is_integer(json_array_get(o, 0)) &&
             json_is_integer(json_array_get(o, 1));
        if (ok) {
            t.offers[i].accommodation_id = json_integer_value(json_array_get(o, 0));
            t.offers[i].total_cents = json_integer_value(json_array_get(o, 1));
            t.noffers = (int)i + 1;
        }
    }
    json_decref(j);
    if (!ok)
        return -1;
    t.step = (enum wa_step)step;
    *s = t;
    return 0;
}

/* --------------------------------------------------------------------------------------- storage */

static void redis_key(char *out, size_t outlen, const char *prefix, const char *phone)
{
    snprintf(out, outlen, "%s%s", prefix, phone);
}

static int local_get(const char *phone, long long now, char *out, size_t outlen)
{
    int found = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; sessions && i < WA_LOCAL_SESSIONS; i++) {
        struct local_entry *e = &sessions[i];
        if (e->expires > now && strcmp(e->phone, phone) == 0) {
            snprintf(out, outlen, "%s", e->json);
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return found;
}

static void local_put(const char *phone, long long expires, const char *json)
{
    pthread_mutex_lock(&lock);
    struct local_entry *slot = NULL;
    long long now = (long long)time(NULL);
    for (int i = 0; sessions && i < WA_LOCAL_SESSIONS; i++) {
        struct local_entry *e = &sessions[i];
        if (strcmp(e->phone, phone) == 0) {
            slot = e;
            break;
        }
        if (!slot || (slot->expires > now && e->expires < slot->expires))
            slot = e; /* a free or expired entry, else the one closest to expiry */
    }
    if (slot) {
        snprintf(slot->phone, sizeof slot->phone, "%s", phone);
        slot->expires = json ? expires : 0;
        snprintf(slot->json, sizeof slot->json, "%s", json ? json : "");
    }
    pthread_mutex_unlock(&lock);
}

void wa_session_load(struct app *app, const char *phone, struct wa_session *s)
{
    char text[WA_SESSION_JSON_MAX];
    int found = 0;
    memset(s, 0, sizeof *s);
    if (app->redis) {
        char key[64];
        redis_key(key, sizeof key, "wa:s:", phone);
        const char *argv[] = {"GET", key};
        redisReply *r = redis_command_argv(app->redis, 2, argv, NULL);
        if (r && r->type == REDIS_REPLY_STRING && r->len < sizeof text) {
            memcpy(text, r->str, r->len);
            text[r->len] = '\0';
            found = 1;
        } else if (r && r->type == REDIS_REPLY_NIL) {
            freeReplyObject(r);
            return;
        }
        if (r)
            freeReplyObject(r);
    }
    if (!found)
        found = local_get(phone, (long long)time(NULL), text, sizeof text);
    if (found && wa_session_from_json(text, s) < 0) {
        log_warn("whatsapp: unreadable session state for a phone; starting over");
        memset(s, 0, sizeof *s);
    }
}

void wa_session_save(struct app *app, const char *phone, const struct wa_session *s)
{
    char text[WA_SESSION_JSON_MAX];
    if (wa_session_to_json(s, text, sizeof text) < 0)
        return;
    long long ttl = (long long)app->cfg->wa_session_minutes * 60;
    if (app->redis) {
        char key[64], ttl_s[24];
        redis_key(key, sizeof key, "wa:s:", phone);
        snprintf(ttl_s, sizeof ttl_s, "%lld", ttl);
        const char *argv[] = {"SET", key, text, "EX", ttl_s};
        redisReply *r = redis_command_argv(app->redis, 5, argv, NULL);
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r)
            freeReplyObject(r);
        if (ok) {
            local_put(phone, 0, NULL); /* a stale local copy must not win after a Redis outage */
            return;
        }
    }
    local_put(phone, (long long)time(NULL) + ttl, text);
}

void wa_session_clear(struct app *app, const char *phone)
{
    if (app->redis) {
        char key[64];
        redis_key(key, sizeof key, "wa:s:", phone);
        const char *argv[] = {"DEL", key};
        redisReply *r = redis_command_argv(app->redis, 2, argv, NULL);
        if (r)
            freeReplyObject(r);
    }
    local_put(phone, 0, NULL);
}

/* ------------------------------------------------------------------------------------- rate limit */

static int local_count_hit(const char *phone, long long window)
{
    unsigned h = 5381;
    for (const char *p = phone; *p; p++)
        h = h * 33 + (unsigned char)*p;
    int n;
    pthread_mutex_lock(&lock);
    struct local_count *c = &counts[h % LOCAL_COUNTS];
    /* one slot per hash: a collision shares a budget, which only ever makes the limit stricter */
    if (c->window != window || strcmp(c->phone, phone) != 0) {
        if (c->window == window) {
            n = ++c->count; /* collision inside the window: share */
            pthread_mutex_unlock(&lock);
            return n;
        }
        snprintf(c->phone, sizeof c->phone, "%s", phone);
        c->window = window;
        c->count = 0;
    }
    n = ++c->count;
    pthread_mutex_unlock(&lock);
    return n;
}

int wa_session_reply_allowed(struct app *app, const char *phone)
{
    long long now = (long long)time(NULL);
    long long window = now - now % 60;
    long long count = -1;
    if (app->redis) {
        static const char script[] = "local n = redis.call('INCR', KEYS[1]) "
                                     "if n == 1 then redis.call('EXPIRE', KEYS[1], 61) end return n";
        char key[64];
        snprintf(key, sizeof key, "wa:rl:%lld:%s", window, phone);
        const char *argv[] = {"EVAL", script, "1", key};
        redisReply *r = redis_command_argv(app->redis, 4, argv, NULL);
        if (r && r->type == REDIS_REPLY_INTEGER)
            count = r->integer;
        if (r)
            freeReplyObject(r);
    }
    if (count < 0)
        count = local_count_hit(phone, window);
    return count <= app->cfg->wa_replies_per_minute;
}
