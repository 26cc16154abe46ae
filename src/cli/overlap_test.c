/* overlap_test.c - `cabanas overlap-test`: N identical holds released at the same instant; exactly one
 * may win.
 *
 * It mutates the target (it creates a reservation), so it refuses to run without RUN_MUTATING=1. The
 * stay defaults to the first active accommodation and the first free range of max(2, min_nights) nights
 * from today (UTC) + 14, found through the public availability route. Each of the N threads owns one
 * libcurl handle: it opens its connection first (GET /api/v1/healthz), prepares the same
 * POST /api/v1/reservations, waits on one pthread barrier and performs the request as soon as the
 * barrier opens, so the requests race inside the server rather than in TCP handshakes. With several
 * --base-url values the attempts go round-robin over them (to race several instances). Every hold it
 * created is cancelled afterwards unless --keep.
 *
 * Exit codes: 0 exactly one 201 and every other attempt 409 (and the cleanup worked), 1 otherwise,
 * 2 usage error, 3 RUN_MUTATING not set. */
#include "cli.h"
#include "httpclient.h"

#include "core/config.h"
#include "domain/dates.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OVERLAP_MAX_URLS 16
#define OVERLAP_MIN_CONCURRENCY 2
#define OVERLAP_MAX_CONCURRENCY 200
#define OVERLAP_SEARCH_DAYS 60
#define OVERLAP_CODE_MAX 64

struct overlap_opts {
    char urls[OVERLAP_MAX_URLS][HTTPCLIENT_URL_MAX];
    int nurls;
    long accommodation_id;                                        /* 0: the first active one */
    char check_in[DATES_FORMAT_LEN], check_out[DATES_FORMAT_LEN]; /* "": search a free range */
    int concurrency;
    int keep;
    const char *guest_name, *guest_phone;
    long timeout_s;
};

/* One attempt: its thread writes it before the join, the main thread reads it after. */
struct attempt {
    int index; /* 0-based */
    const char *base_url;
    char url[HTTPCLIENT_URL_MAX + 32];
    const char *body;
    pthread_barrier_t *barrier;
    struct httpclient client;
    int rc; /* httpclient_perform's */
    char code[OVERLAP_CODE_MAX];
    int cancelled;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: RUN_MUTATING=1 cabanas overlap-test --base-url URL [options]\n"
            "\n"
            "Sends N identical POST /api/v1/reservations at the same instant (a pthread barrier releases\n"
            "them; each connection is opened beforehand). The server must accept exactly one (201) and\n"
            "refuse the others (409). Creates a hold on the target, so RUN_MUTATING=1 is required.\n"
            "\n"
            "  --base-url URL          the server root (a trailing /api/v1 is fine); repeatable, up to %d:\n"
            "                          attempts go round-robin over the URLs (race several instances)\n"
            "  --accommodation-id ID   default: the first item of GET /api/v1/accommodations\n"
            "  --check-in YYYY-MM-DD   default: the first free range from today (UTC) + 14, moving one day\n"
            "  --check-out YYYY-MM-DD    at a time (up to %d tries), of max(2, min_nights) nights\n"
            "                          (--check-in alone: check-out = check-in + that many nights)\n"
            "  --concurrency N         simultaneous attempts, %d..%d (2)\n"
            "  --keep                  do not cancel the hold(s) created\n"
            "  --guest-name NAME       (Overlap Test)\n"
            "  --guest-phone DIGITS    (5491100000000)\n"
            "  --timeout SECONDS       per request, 1..600 (10)\n"
            "\n"
            "Prints one line per attempt, in order, then one JSON summary line:\n"
            "  {\"base_url\",\"base_urls\",\"accommodation_id\",\"check_in\",\"check_out\",\"concurrency\",\n"
            "   \"successes\",\"conflicts\",\"other\",\"statuses\",\"codes\",\"cancelled\",\"verdict\"}\n"
            "Exit: 0 exactly one 201 and all others 409 (and every hold cancelled unless --keep),\n"
            "1 otherwise, 2 usage error, 3 RUN_MUTATING is not 1/true/yes.\n",
            OVERLAP_MAX_URLS, OVERLAP_SEARCH_DAYS, OVERLAP_MIN_CONCURRENCY, OVERLAP_MAX_CONCURRENCY);
}

/* Returns 0, or EXIT_USAGE after printing why (and the usage) on stderr; 1 in *help for --help. */
static int parse_args(int argc, char **argv, struct overlap_opts *o, int *help)
{
    static const char *const with_value[] = {"--base-url",    "--accommodation-id", "--check-in",
                                             "--check-out",   "--concurrency",      "--guest-name",
                                             "--guest-phone", "--timeout",          NULL};
    memset(o, 0, sizeof *o);
    o->concurrency = 2;
    o->guest_name = "Overlap Test";
    o->guest_phone = "5491100000000";
    o->timeout_s = 10;
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name = NULL, *v = NULL;
        long l;
        struct date d;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            return 0;
        }
        if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
            continue;
        }
        if (cli_match_opt(argc, argv, &i, with_value, "overlap-test", &name, &v) < 0)
            goto bad;
        if (strcmp(name, "--base-url") == 0) {
            if (o->nurls >= OVERLAP_MAX_URLS) {
                fprintf(stderr, "cabanas overlap-test: at most %d --base-url options\n", OVERLAP_MAX_URLS);
                goto bad;
            }
            if (httpclient_base_url(v, o->urls[o->nurls], sizeof o->urls[0]) < 0)
                goto bad_value;
            o->nurls++;
        } else if (strcmp(name, "--accommodation-id") == 0) {
            if (cli_parse_long(v, 1, 1L << 53, &o->accommodation_id) < 0)
                goto bad_value;
        } else if (strcmp(name, "--check-in") == 0 || strcmp(name, "--check-out") == 0) {
            if (dates_parse(v, &d) < 0)
                goto bad_value;
            dates_format(d, strcmp(name, "--check-in") == 0 ? o->check_in : o->check_out);
        } else if (strcmp(name, "--concurrency") == 0) {
            if (cli_parse_long(v, OVERLAP_MIN_CONCURRENCY, OVERLAP_MAX_CONCURRENCY, &l) < 0)
                goto bad_value;
            o->concurrency = (int)l;
        } else if (strcmp(name, "--guest-name") == 0) {
            if (!*v || strlen(v) > 200)
                goto bad_value;
            o->guest_name = v;
        } else if (strcmp(name, "--guest-phone") == 0) {
            if (!*v || strlen(v) > 32)
                goto bad_value;
            o->guest_phone = v;
        } else if (cli_parse_long(v, 1, 600, &o->timeout_s) < 0) { /* --timeout */
            goto bad_value;
        }
        continue;
    bad_value:
        fprintf(stderr, "cabanas overlap-test: %s: invalid value '%s'\n", name, v);
        goto bad;
    }
    if (o->nurls == 0) {
        fprintf(stderr, "cabanas overlap-test: --base-url is required\n");
        goto bad;
    }
    if (o->check_out[0] && !o->check_in[0]) {
        fprintf(stderr, "cabanas overlap-test: --check-out needs --check-in\n");
        goto bad;
    }
    if (o->check_out[0] && strcmp(o->check_out, o->check_in) <= 0) {
        fprintf(stderr, "cabanas overlap-test: --check-out must be after --check-in\n");
        goto bad;
    }
    return 0;
bad:
    fputc('\n', stderr);
    usage(stderr);
    return EXIT_USAGE;
}

/* GET url; the parsed JSON body (caller frees) when the status is 200, else NULL with a message. */
static json_t *get_json(struct httpclient *c, const char *url)
{
    if (httpclient_request(c, "GET", url, NULL) != HTTPCLIENT_OK) {
        fprintf(stderr, "cabanas overlap-test: GET %s: %s\n", url, c->error);
        return NULL;
    }
    if (c->status != 200) {
        fprintf(stderr, "cabanas overlap-test: GET %s: %ld %s: %.300s\n", url, c->status,
                httpclient_reason(c->status), c->body ? c->body : "");
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(c->body ? c->body : "", c->body_len, 0, &jerr);
    if (!j)
        fprintf(stderr, "cabanas overlap-test: GET %s: the body is not JSON (%s)\n", url, jerr.text);
    return j;
}

static long json_int_field(json_t *obj, const char *key, long def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long)json_integer_value(v) : def;
}

/* Fills accommodation_id, check_in and check_out where the options left them open. Returns 0 or -1
 * (message printed). */
static int resolve_stay(struct overlap_opts *o, struct httpclient *c)
{
    char url[HTTPCLIENT_URL_MAX + 256];
    json_t *acc = NULL, *list = NULL;
    int rc = -1;
    if (o->accommodation_id == 0) {
        snprintf(url, sizeof url, "%s/api/v1/accommodations", o->urls[0]);
        list = get_json(c, url);
        if (!list)
            goto out;
        json_t *first = json_array_get(json_object_get(list, "items"), 0);
        long id = json_int_field(first, "id", 0);
        if (id <= 0) {
            fprintf(stderr, "cabanas overlap-test: %s lists no active accommodation (run `cabanas seed`?)\n",
                    o->urls[0]);
            goto out;
        }
        o->accommodation_id = id;
        acc = json_incref(first);
    } else {
        snprintf(url, sizeof url, "%s/api/v1/accommodations/%ld", o->urls[0], o->accommodation_id);
        acc = get_json(c, url);
        if (!acc)
            goto out;
    }
    long min_nights = json_int_field(acc, "min_nights", 1);
    long max_nights = json_int_field(acc, "max_nights", 0);
    long nights = min_nights > 2 ? min_nights : 2;
    if (max_nights > 0 && nights > max_nights)
        nights = max_nights;

    struct date din;
    if (o->check_in[0]) {
        if (!o->check_out[0] && dates_parse(o->check_in, &din) == 0)
            dates_format(dates_add_days(din, nights), o->check_out);
        rc = 0;
        goto out;
    }
    din = dates_add_days(dates_from_days((long)(time(NULL) / 86400)), 14);
    for (int k = 0; k < OVERLAP_SEARCH_DAYS; k++, din = dates_add_days(din, 1)) {
        char ci[DATES_FORMAT_LEN], co[DATES_FORMAT_LEN];
        dates_format(din, ci);
        dates_format(dates_add_days(din, nights), co);
        snprintf(url, sizeof url,
                 "%s/api/v1/accommodations/%ld/availability?check_in=%s&check_out=%s&guests=1", o->urls[0],
                 o->accommodation_id, ci, co);
        json_t *av = get_json(c, url);
        if (!av)
            goto out;
        int free_range = json_is_true(json_object_get(av, "available"));
        json_decref(av);
        if (free_range) {
            memcpy(o->check_in, ci, sizeof ci);
            memcpy(o->check_out, co, sizeof co);
            rc = 0;
            goto out;
        }
    }
    fprintf(stderr,
            "cabanas overlap-test: no free range of %ld nights for accommodation %ld in %d days from %s\n",
            nights, o->accommodation_id, OVERLAP_SEARCH_DAYS, o->urls[0]);
out:
    json_decref(acc);
    json_decref(list);
    return rc;
}

static void *attempt_main(void *arg)
{
    struct attempt *a = arg;
    char warm[HTTPCLIENT_URL_MAX + 32];
    /* open the connection now, so the barrier releases requests, not TCP handshakes; a failure here
     * shows again (and is reported) on the real request */
    snprintf(warm, sizeof warm, "%s/api/v1/healthz", a->base_url);
    httpclient_request(&a->client, "GET", warm, NULL);
    int prepared = httpclient_prepare(&a->client, "POST", a->url, a->body);
    pthread_barrier_wait(a->barrier);
    if (prepared != HTTPCLIENT_OK) {
        snprintf(a->client.error, sizeof a->client.error, "cannot prepare the request");
        a->client.status = 0;
        a->rc = HTTPCLIENT_ERR_SETUP;
        return NULL;
    }
    a->rc = httpclient_perform(&a->client);
    return NULL;
}

static void code_from_body(struct attempt *a)
{
    json_t *j = a->client.body ? json_loadb(a->client.body, a->client.body_len, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));
    if (code && strlen(code) < sizeof a->code &&
        strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == strlen(code))
        snprintf(a->code, sizeof a->code, "%s", code);
    json_decref(j);
}

/* POST /api/v1/reservations/{code}/cancel on the instance that created it. Returns 0 or -1. */
static int cancel_hold(struct attempt *a)
{
    char url[HTTPCLIENT_URL_MAX + 128];
    snprintf(url, sizeof url, "%s/api/v1/reservations/%s/cancel", a->base_url, a->code);
    int rc = httpclient_request(&a->client, "POST", url, "{\"reason\":\"overlap-test cleanup\"}");
    if (rc == HTTPCLIENT_OK && a->client.status == 200)
        return 0;
    if (rc == HTTPCLIENT_OK)
        fprintf(stderr, "cabanas overlap-test: cancelling %s: %ld %s: %.300s\n", a->code, a->client.status,
                httpclient_reason(a->client.status), a->client.body ? a->client.body : "");
    else
        fprintf(stderr, "cabanas overlap-test: cancelling %s: %s\n", a->code, a->client.error);
    return -1;
}

int cli_overlap_test(int argc, char **argv)
{
    static struct overlap_opts o; /* 32 KB of URLs: not on the stack */
    int help = 0;
    int rc = parse_args(argc, argv, &o, &help);
    if (rc)
        return rc;
    if (help) {
        usage(stdout);
        return 0;
    }
    if (!config_env_flag("RUN_MUTATING")) {
        fprintf(stderr,
                "cabanas overlap-test: refusing to run: it creates a reservation (a hold) on the target "
                "server.\nSet RUN_MUTATING=1 to confirm that the target may be written to.\n");
        return 3;
    }

    int exit_code = 1, n = o.concurrency, ninit = 0, started = 0, barrier_ready = 0;
    int successes = 0, conflicts = 0, other = 0, cleanup_failed = 0;
    struct attempt *att = calloc((size_t)n, sizeof *att);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    char *body = NULL;
    json_t *summary = NULL;
    pthread_barrier_t barrier;
    struct httpclient control;
    memset(&control, 0, sizeof control);
    if (!att || !threads)
        abort();
    if (httpclient_global_init() < 0) {
        fprintf(stderr, "cabanas overlap-test: libcurl initialization failed\n");
        goto out;
    }
    if (httpclient_init(&control, o.timeout_s, 1) != HTTPCLIENT_OK) {
        fprintf(stderr, "cabanas overlap-test: cannot set up a libcurl handle\n");
        goto out;
    }
    if (resolve_stay(&o, &control) < 0)
        goto out;

    json_t *req =
        json_pack("{s:I, s:s, s:s, s:i, s:s, s:s, s:s}", "accommodation_id", (json_int_t)o.accommodation_id,
                  "check_in", o.check_in, "check_out", o.check_out, "guests", 1, "guest_name", o.guest_name,
                  "guest_phone", o.guest_phone, "channel", "api");
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        fprintf(stderr, "cabanas overlap-test: --guest-name/--guest-phone must be UTF-8\n");
        goto out;
    }
    fprintf(stderr, "cabanas overlap-test: %d attempts at accommodation %ld, %s..%s, over %d instance(s)\n",
            n, o.accommodation_id, o.check_in, o.check_out, o.nurls);

    for (; ninit < n; ninit++) {
        struct attempt *a = &att[ninit];
        a->index = ninit;
        a->base_url = o.urls[ninit % o.nurls];
        snprintf(a->url, sizeof a->url, "%s/api/v1/reservations", a->base_url);
        a->body = body;
        a->barrier = &barrier;
        if (httpclient_init(&a->client, o.timeout_s, 1) != HTTPCLIENT_OK) {
            fprintf(stderr, "cabanas overlap-test: cannot set up a libcurl handle\n");
            ninit++;
            goto out;
        }
    }
    if (pthread_barrier_init(&barrier, NULL, (unsigned)n) != 0) {
        fprintf(stderr, "cabanas overlap-test: cannot create the barrier\n");
        goto out;
    }
    barrier_ready = 1;
    for (; started < n; started++) {
        int e = pthread_create(&threads[started], NULL, attempt_main, &att[started]);
        if (e) {
            /* The threads already started wait on the barrier, which can no longer open: no request has
             * been sent. Exit at once; the process takes them down. */
            fprintf(stderr, "cabanas overlap-test: cannot start thread %d of %d: %s (nothing was sent)\n",
                    started + 1, n, strerror(e));
            fflush(NULL);
            exit(1);
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);

    json_t *statuses = json_array(), *codes = json_array(), *cancelled = json_array();
    for (int i = 0; i < n; i++) {
        struct attempt *a = &att[i];
        long st = a->rc == HTTPCLIENT_OK ? a->client.status : 0;
        json_array_append_new(statuses, json_integer(st));
        if (st == 201) {
            successes++;
            code_from_body(a);
            if (a->code[0])
                json_array_append_new(codes, json_string(a->code));
            printf("Attempt %d: 201 Created (success)\n", i + 1);
        } else if (st == 409) {
            conflicts++;
            printf("Attempt %d: 409 Conflict (overlap detected)\n", i + 1);
        } else if (st == 0) {
            other++;
            printf("Attempt %d: transport error: %s (unexpected)\n", i + 1, a->client.error);
        } else {
            other++;
            const char *reason = httpclient_reason(st);
            printf("Attempt %d: %ld %s (unexpected)\n", i + 1, st, *reason ? reason : "Unknown");
        }
    }
    for (int i = 0; i < n; i++) {
        struct attempt *a = &att[i];
        if (a->rc == HTTPCLIENT_OK && a->client.status == 201 && !a->code[0]) {
            fprintf(stderr, "cabanas overlap-test: attempt %d got 201 without a reservation code\n", i + 1);
            cleanup_failed = !o.keep;
        }
        if (o.keep || !a->code[0])
            continue;
        if (cancel_hold(a) == 0) {
            a->cancelled = 1;
            json_array_append_new(cancelled, json_string(a->code));
        } else {
            cleanup_failed = 1;
        }
    }
    int pass = successes == 1 && conflicts == n - 1;
    json_t *urls = json_array();
    for (int i = 0; i < o.nurls; i++)
        json_array_append_new(urls, json_string(o.urls[i]));
    summary = json_pack("{s:s, s:o, s:I, s:s, s:s, s:i, s:i, s:i, s:i, s:o, s:o, s:o, s:b, s:s}", "base_url",
                        o.urls[0], "base_urls", urls, "accommodation_id", (json_int_t)o.accommodation_id,
                        "check_in", o.check_in, "check_out", o.check_out, "concurrency", n, "successes",
                        successes, "conflicts", conflicts, "other", other, "statuses", statuses, "codes",
                        codes, "cancelled", cancelled, "kept", o.keep, "verdict", pass ? "pass" : "fail");
    char *text = summary ? json_dumps(summary, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (!text)
        abort();
    printf("%s\n", text);
    free(text);
    if (!pass)
        fprintf(stderr,
                "cabanas overlap-test: FAIL: expected exactly 1 success and %d conflicts, got %d "
                "success(es), %d conflict(s), %d other\n",
                n - 1, successes, conflicts, other);
    if (cleanup_failed)
        fprintf(stderr, "cabanas overlap-test: some holds were not cancelled; they expire on their own "
                        "(HOLD_MINUTES) or can be cancelled by code\n");
    exit_code = pass && !cleanup_failed ? 0 : 1;
out:
    fflush(stdout);
    json_decref(summary);
    if (barrier_ready)
        pthread_barrier_destroy(&barrier);
    for (int i = 0; i < ninit; i++)
        httpclient_cleanup(&att[i].client);
    httpclient_cleanup(&control);
    free(body);
    free(att);
    free(threads);
    httpclient_global_cleanup();
    return exit_code;
}
