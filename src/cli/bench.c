/* bench.c - `cabanas bench`: latency percentiles, error rates and SLO verdicts of a running server.
 *
 * Endpoints run one after another; the requests of one endpoint are spread over `concurrency` worker
 * threads, each with its own libcurl handle that lives for the whole run, so connections are reused
 * (keep-alive) across requests and endpoints. Workers take request indexes from one atomic counter and
 * write only their own slots of the outcome arrays; the statistics are computed after the join, on one
 * thread. Percentiles are exact (every sample kept, sorted), nearest-rank: the p-th percentile of n
 * sorted samples is the one at 1-based rank ceil(p/100 * n). Latencies come from requests that got an
 * HTTP response; a transport failure (connect, timeout, reset) has no latency and counts as an error,
 * as does a status >= 500. 4xx are counted apart and are not errors.
 *
 * Exit codes: 0 every SLO holds, 1 an SLO fails (or a runtime failure such as an unwritable report),
 * 2 usage error. */
#include "cli.h"
#include "httpclient.h"

#include "core/version.h"
#include "domain/dates.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_ENDPOINTS 32
#define BENCH_MAX_CONCURRENCY 1000
#define BENCH_MAX_REQUESTS 1000000
#define BENCH_PATH_MAX 1024

struct bench_opts {
    char base_url[HTTPCLIENT_URL_MAX];
    int concurrency;
    long requests;
    long timeout_s;
    const char *endpoints[BENCH_MAX_ENDPOINTS];
    int nendpoints;
    int json;
    const char *report;
    const char *environment;
    double slo_p95_ms;
    double slo_error_rate;
};

/* Latency statistics over the samples that have one. */
struct bench_latency {
    long n;
    double min, p50, p95, p99, max;
};

struct bench_result {
    char path[BENCH_PATH_MAX];
    char url[HTTPCLIENT_URL_MAX + BENCH_PATH_MAX];
    long requests, errors, n4xx, transport_errors, n429;
    double error_rate, wall_s, rps;
    struct bench_latency lat;
    int p95_ok, errors_ok;
};

/* One endpoint's work, shared by its workers. */
struct bench_job {
    const char *url;
    long total;
    atomic_long next;
    double *latency_ms; /* [total] */
    long *status;       /* [total]; 0 = transport failure */
};

struct bench_worker {
    struct bench_job *job;
    struct httpclient *client;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: cabanas bench --base-url URL [options]\n"
        "\n"
        "Measures a running server: each endpoint gets --requests GET requests spread over --concurrency\n"
        "threads (one kept-alive connection each); endpoints run one after another.\n"
        "\n"
        "  --base-url URL        the server root, e.g. http://127.0.0.1:8080 (a trailing /api/v1 is fine)\n"
        "  --concurrency N       worker threads, 1..%d (10)\n"
        "  --requests N          requests per endpoint, 1..%d (100)\n"
        "  --timeout SECONDS     per request, connect included, 1..600 (10)\n"
        "  --endpoint PATH       repeatable, up to %d; a PATH not starting with / is relative to /api/v1\n"
        "                        (default: /api/v1/healthz, /api/v1/readyz, /api/v1/accommodations,\n"
        "                        /api/v1/availability?check_in=<today+14>&check_out=<today+16>&guests=2,\n"
        "                        /metrics; today is the UTC date)\n"
        "  --json                print the results as one JSON object instead of the table\n"
        "  --report FILE.md      also write a Markdown runtime report\n"
        "  --environment NAME    shown in the output and the report (staging)\n"
        "  --slo-p95-ms MS       an endpoint passes when its p95 is below MS (3000)\n"
        "  --slo-error-rate R    ... and its error rate is below R, 0 < R <= 1 (0.01)\n"
        "\n"
        "Errors: transport failures and status >= 500; 4xx are counted apart and are not errors.\n"
        "Percentiles are exact, nearest-rank over every request that got an HTTP response: sort the n\n"
        "latencies ascending; the p-th percentile is the one at index ceil(p/100*n)-1 (0-based).\n"
        "Exit: 0 every SLO holds, 1 an SLO fails, 2 usage error.\n",
        BENCH_MAX_CONCURRENCY, BENCH_MAX_REQUESTS, BENCH_MAX_ENDPOINTS);
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0, or EXIT_USAGE after printing why (and the usage) on stderr; 1 in *help for --help. */
static int parse_args(int argc, char **argv, struct bench_opts *o, int *help)
{
    static const char *const with_value[] = {
        "--base-url", "--concurrency", "--requests",   "--timeout",        "--endpoint",
        "--report",   "--environment", "--slo-p95-ms", "--slo-error-rate", NULL};
    const char *base = NULL;
    memset(o, 0, sizeof *o);
    o->concurrency = 10;
    o->requests = 100;
    o->timeout_s = 10;
    o->environment = "staging";
    o->slo_p95_ms = 3000;
    o->slo_error_rate = 0.01;
    *help = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name = NULL, *v = NULL;
        long l;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (cli_match_opt(argc, argv, &i, with_value, "bench", &name, &v) < 0)
            goto bad;
        if (strcmp(name, "--base-url") == 0) {
            base = v;
        } else if (strcmp(name, "--concurrency") == 0) {
            if (cli_parse_long(v, 1, BENCH_MAX_CONCURRENCY, &l) < 0)
                goto bad_value;
            o->concurrency = (int)l;
        } else if (strcmp(name, "--requests") == 0) {
            if (cli_parse_long(v, 1, BENCH_MAX_REQUESTS, &o->requests) < 0)
                goto bad_value;
        } else if (strcmp(name, "--timeout") == 0) {
            if (cli_parse_long(v, 1, 600, &o->timeout_s) < 0)
                goto bad_value;
        } else if (strcmp(name, "--endpoint") == 0) {
            if (o->nendpoints >= BENCH_MAX_ENDPOINTS) {
                fprintf(stderr, "cabanas bench: at most %d --endpoint options\n", BENCH_MAX_ENDPOINTS);
                goto bad;
            }
            if (!*v || strlen(v) >= BENCH_PATH_MAX - 8 || strpbrk(v, " \t\r\n"))
                goto bad_value;
            o->endpoints[o->nendpoints++] = v;
        } else if (strcmp(name, "--report") == 0) {
            if (!*v)
                goto bad_value;
            o->report = v;
        } else if (strcmp(name, "--environment") == 0) {
            if (!*v || strlen(v) > 64)
                goto bad_value;
            o->environment = v;
        } else if (strcmp(name, "--slo-p95-ms") == 0) {
            if (parse_double(v, 0.001, 3600e3, &o->slo_p95_ms) < 0)
                goto bad_value;
        } else if (parse_double(v, 1e-9, 1, &o->slo_error_rate) < 0) { /* --slo-error-rate */
            goto bad_value;
        }
        continue;
    bad_value:
        fprintf(stderr, "cabanas bench: %s: invalid value '%s'\n", name, v);
        goto bad;
    }
    if (!base) {
        fprintf(stderr, "cabanas bench: --base-url is required\n");
        goto bad;
    }
    if (httpclient_base_url(base, o->base_url, sizeof o->base_url) < 0) {
        fprintf(stderr, "cabanas bench: --base-url '%s': expected http://host[:port] or https://...\n", base);
        goto bad;
    }
    return 0;
bad:
    fputc('\n', stderr);
    usage(stderr);
    return EXIT_USAGE;
}

/* "/x" stays "/x" (so /api/v1/... and /metrics are taken as given); "x" becomes "/api/v1/x". */
static void resolve_path(const char *p, char *out, size_t outlen)
{
    if (p[0] == '/')
        snprintf(out, outlen, "%s", p);
    else
        snprintf(out, outlen, "/api/v1/%s", p);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the sample at 1-based rank ceil(p/100 * n) of `sorted` (n >= 1, p in 1..100). Integer
 * arithmetic, so p95 of 20 samples is rank 19 exactly, not 19.000000001 -> 20. */
static double percentile_nearest_rank(const double *sorted, long n, int p)
{
    long rank = ((long)p * n + 99) / 100;
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

/* Sorts `samples` in place and fills `out`. n may be 0 (then every value is 0). */
static void latency_compute(double *samples, long n, struct bench_latency *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    if (n <= 0)
        return;
    qsort(samples, (size_t)n, sizeof *samples, cmp_double);
    out->min = samples[0];
    out->max = samples[n - 1];
    out->p50 = percentile_nearest_rank(samples, n, 50);
    out->p95 = percentile_nearest_rank(samples, n, 95);
    out->p99 = percentile_nearest_rank(samples, n, 99);
}

/* Counts one request of `r` by its status (0 = transport failure). Returns 1 when its latency is a
 * sample (an HTTP response arrived, whatever the status), else 0. */
static int count_outcome(struct bench_result *r, long status)
{
    if (status <= 0) {
        r->transport_errors++;
        r->errors++;
        return 0;
    }
    if (status >= 500)
        r->errors++;
    else if (status >= 400)
        r->n4xx++;
    if (status == 429)
        r->n429++;
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
    struct bench_worker *w = arg;
    struct bench_job *job = w->job;
    if (httpclient_prepare(w->client, "GET", job->url, NULL) != HTTPCLIENT_OK) {
        /* cannot happen with a GET on a valid handle; count this worker's share as transport errors */
        for (long i; (i = atomic_fetch_add(&job->next, 1)) < job->total;)
            job->status[i] = 0;
        return NULL;
    }
    for (long i; (i = atomic_fetch_add(&job->next, 1)) < job->total;) {
        int rc = httpclient_perform(w->client);
        job->status[i] = rc == HTTPCLIENT_OK ? w->client->status : 0;
        job->latency_ms[i] = w->client->elapsed_ms;
    }
    return NULL;
}

/* Runs one endpoint. Returns 0, or -1 when threads or memory could not be had (message printed). */
static int run_endpoint(const struct bench_opts *o, struct httpclient *clients, struct bench_result *r)
{
    int rc = -1;
    long n = o->requests;
    int nthreads = o->concurrency < n ? o->concurrency : (int)n;
    struct bench_job job;
    memset(&job, 0, sizeof job);
    job.url = r->url;
    job.total = n;
    atomic_init(&job.next, 0);
    job.latency_ms = calloc((size_t)n, sizeof *job.latency_ms);
    job.status = calloc((size_t)n, sizeof *job.status);
    pthread_t *threads = calloc((size_t)nthreads, sizeof *threads);
    struct bench_worker *workers = calloc((size_t)nthreads, sizeof *workers);
    double *samples = calloc((size_t)n, sizeof *samples);
    if (!job.latency_ms || !job.status || !threads || !workers || !samples)
        abort();

    int started = 0;
    double t0 = now_s();
    for (; started < nthreads; started++) {
        workers[started].job = &job;
        workers[started].client = &clients[started];
        int e = pthread_create(&threads[started], NULL, worker_main, &workers[started]);
        if (e) {
            fprintf(stderr, "cabanas bench: cannot start a worker thread: %s\n", strerror(e));
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    r->wall_s = now_s() - t0;
    if (started < nthreads)
        goto out;

    long ns = 0;
    r->requests = n;
    for (long i = 0; i < n; i++)
        if (count_outcome(r, job.status[i]))
            samples[ns++] = job.latency_ms[i];
    latency_compute(samples, ns, &r->lat);
    r->error_rate = (double)r->errors / (double)n;
    r->rps = r->wall_s > 0 ? (double)n / r->wall_s : 0;
    r->p95_ok = r->lat.n > 0 && r->lat.p95 < o->slo_p95_ms;
    r->errors_ok = r->error_rate < o->slo_error_rate;
    rc = 0;
out:
    free(job.latency_ms);
    free(job.status);
    free(threads);
    free(workers);
    free(samples);
    return rc;
}

static void utc_now_text(char *out, size_t outlen)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, outlen, "unknown");
}

static json_t *json_ms(const struct bench_result *r, double v)
{
    return r->lat.n > 0 ? json_real(round(v * 1000.0) / 1000.0) : json_null();
}

static json_t *results_json(const struct bench_opts *o, const struct bench_result *res, int n, int pass,
                            const char *date)
{
    json_t *eps = json_array();
    for (int i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        json_t *e = json_object();
        json_object_set_new(e, "path", json_string(r->path));
        json_object_set_new(e, "url", json_string(r->url));
        json_object_set_new(e, "requests", json_integer(r->requests));
        json_object_set_new(e, "errors", json_integer(r->errors));
        json_object_set_new(e, "transport_errors", json_integer(r->transport_errors));
        json_object_set_new(e, "4xx", json_integer(r->n4xx));
        json_object_set_new(e, "429", json_integer(r->n429));
        json_object_set_new(e, "error_rate", json_real(r->error_rate));
        json_object_set_new(e, "latency_samples", json_integer(r->lat.n));
        json_object_set_new(e, "min_ms", json_ms(r, r->lat.min));
        json_object_set_new(e, "p50_ms", json_ms(r, r->lat.p50));
        json_object_set_new(e, "p95_ms", json_ms(r, r->lat.p95));
        json_object_set_new(e, "p99_ms", json_ms(r, r->lat.p99));
        json_object_set_new(e, "max_ms", json_ms(r, r->lat.max));
        json_object_set_new(e, "wall_s", json_real(round(r->wall_s * 1e6) / 1e6));
        json_object_set_new(e, "rps", json_real(round(r->rps * 10.0) / 10.0));
        json_object_set_new(e, "slo",
                            json_pack("{s:b, s:b, s:b}", "p95", r->p95_ok, "error_rate", r->errors_ok, "pass",
                                      r->p95_ok && r->errors_ok));
        json_array_append_new(eps, e);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:I, s:I, s:f, s:f}, s:s, s:o, s:b}", "date", date,
                     "base_url", o->base_url, "environment", o->environment, "version", CABANAS_VERSION,
                     "settings", "concurrency", o->concurrency, "requests", (json_int_t)o->requests,
                     "timeout_s", (json_int_t)o->timeout_s, "slo_p95_ms", o->slo_p95_ms, "slo_error_rate",
                     o->slo_error_rate, "percentiles", "nearest-rank", "endpoints", eps, "slo_pass", pass);
}

static void fmt_ms(const struct bench_result *r, double v, char *out, size_t outlen)
{
    if (r->lat.n > 0)
        snprintf(out, outlen, "%.2f", v);
    else
        snprintf(out, outlen, "-");
}

static void print_table(FILE *out, const struct bench_opts *o, const struct bench_result *res, int n,
                        int pass)
{
    fprintf(out, "cabanas bench: %s (%s), concurrency %d, %ld requests per endpoint, timeout %ld s\n\n",
            o->base_url, o->environment, o->concurrency, o->requests, o->timeout_s);
    fprintf(out, "%8s %7s %6s %8s %9s %9s %9s %9s %9s %9s  %-4s  %s\n", "requests", "errors", "4xx", "err%",
            "min ms", "p50 ms", "p95 ms", "p99 ms", "max ms", "req/s", "SLO", "endpoint");
    for (int i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        char mn[32], p50[32], p95[32], p99[32], mx[32];
        fmt_ms(r, r->lat.min, mn, sizeof mn);
        fmt_ms(r, r->lat.p50, p50, sizeof p50);
        fmt_ms(r, r->lat.p95, p95, sizeof p95);
        fmt_ms(r, r->lat.p99, p99, sizeof p99);
        fmt_ms(r, r->lat.max, mx, sizeof mx);
        fprintf(out, "%8ld %7ld %6ld %7.2f%% %9s %9s %9s %9s %9s %9.1f  %-4s  %s\n", r->requests, r->errors,
                r->n4xx, r->error_rate * 100.0, mn, p50, p95, p99, mx, r->rps,
                r->p95_ok && r->errors_ok ? "ok" : "FAIL", r->path);
    }
    fprintf(out, "\nSLO: p95 < %g ms and error rate < %g%% on every endpoint: %s\n", o->slo_p95_ms,
            o->slo_error_rate * 100.0, pass ? "PASS" : "FAIL");
    fprintf(out,
            "Percentiles: exact, nearest-rank over the requests that got an HTTP response. Errors: transport "
            "failures and status >= 500.\n");
}

/* A path inside a Markdown table cell: '|' and '`' would end the cell or the code span. */
static void md_path(FILE *f, const char *p)
{
    fputc('`', f);
    for (; *p; p++) {
        if (*p == '|')
            fputs("%7C", f);
        else if (*p == '`')
            fputs("%60", f);
        else
            fputc(*p, f);
    }
    fputc('`', f);
}

static void md_ms(FILE *f, const struct bench_result *r, double v)
{
    if (r->lat.n > 0)
        fprintf(f, " %.2f |", v);
    else
        fprintf(f, " - |");
}

static int write_report(const struct bench_opts *o, const struct bench_result *res, int n, int pass,
                        const char *date)
{
    FILE *f = fopen(o->report, "w");
    if (!f) {
        fprintf(stderr, "cabanas bench: cannot write %s: %s\n", o->report, strerror(errno));
        return -1;
    }
    fprintf(f, "# Informe de rendimiento: cabanas (%s)\n\n", o->environment);
    fprintf(f, "- **Fecha:** %s\n", date);
    fprintf(f, "- **URL base:** %s\n", o->base_url);
    fprintf(f, "- **Entorno:** %s\n", o->environment);
    fprintf(f, "- **Cliente:** `cabanas bench` %s\n", CABANAS_VERSION);
    fprintf(f,
            "- **Parámetros:** concurrencia %d, %ld solicitudes por endpoint, timeout %ld s por solicitud; "
            "los endpoints se miden uno tras otro\n",
            o->concurrency, o->requests, o->timeout_s);
    fprintf(f, "- **SLO por endpoint:** p95 < %g ms y tasa de error < %g %%\n\n", o->slo_p95_ms,
            o->slo_error_rate * 100.0);

    fprintf(f, "## Resultados\n\n");
    fprintf(f, "| Endpoint | Solicitudes | Errores | 4xx | Tasa de error | min (ms) | p50 (ms) | p95 (ms) | "
               "p99 (ms) | max (ms) | req/s |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        fputs("| ", f);
        md_path(f, r->path);
        fprintf(f, " | %ld | %ld | %ld | %.2f %% |", r->requests, r->errors, r->n4xx, r->error_rate * 100.0);
        md_ms(f, r, r->lat.min);
        md_ms(f, r, r->lat.p50);
        md_ms(f, r, r->lat.p95);
        md_ms(f, r, r->lat.p99);
        md_ms(f, r, r->lat.max);
        fprintf(f, " %.1f |\n", r->rps);
    }
    fprintf(f,
            "\nLatencias en milisegundos, medidas en el cliente (la solicitud completa). Percentiles exactos "
            "sobre todas las solicitudes que recibieron una respuesta HTTP, método *nearest-rank*: se "
            "ordenan las n latencias de menor a mayor y el percentil p es la de posición ⌈p/100 × n⌉ "
            "(contando desde 1). Errores: fallas de transporte (conexión, timeout) y respuestas con "
            "status >= 500; las 4xx se cuentan aparte y no son errores. req/s: solicitudes / tiempo total "
            "del endpoint.\n\n");

    fprintf(f, "## Veredicto SLO\n\n");
    for (int i = 0; i < n; i++) {
        const struct bench_result *r = &res[i];
        fprintf(f, "- %s ", r->p95_ok && r->errors_ok ? "✅" : "❌");
        md_path(f, r->path);
        if (r->lat.n > 0)
            fprintf(f, ": p95 %.2f ms %s %g ms", r->lat.p95, r->p95_ok ? "<" : ">=", o->slo_p95_ms);
        else
            fprintf(f, ": p95 sin datos (ninguna respuesta HTTP)");
        fprintf(f, ", tasa de error %.2f %% %s %g %%\n", r->error_rate * 100.0,
                r->errors_ok ? "<" : ">=", o->slo_error_rate * 100.0);
    }
    fprintf(f, "\n**Global: %s**\n\n",
            pass ? "✅ se cumplen todos los SLO" : "❌ al menos un SLO no se cumple");
    long n429 = 0;
    for (int i = 0; i < n; i++)
        n429 += res[i].n429;
    if (n429)
        fprintf(f,
                "> %ld respuestas 429 (rate limiting): cuentan como 4xx, no como errores, pero sus latencias "
                "no miden el endpoint.\n\n",
                n429);
    fprintf(f, "## Notas\n\n");
    fprintf(
        f,
        "- _(operador: contexto de la corrida, p. ej. región y tamaño de las máquinas, versión desplegada, "
        "cambios recientes, anomalías observadas)_\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "cabanas bench: cannot write %s: %s\n", o->report, strerror(errno));
        return -1;
    }
    return 0;
}

int cli_bench(int argc, char **argv)
{
    static struct bench_opts o; /* ~2 KB of URL: static, like seed's accommodation */
    int help = 0;
    int rc = parse_args(argc, argv, &o, &help);
    if (rc)
        return rc;
    if (help) {
        usage(stdout);
        return 0;
    }

    /* the default availability window: today (UTC) + 14 .. + 16 */
    char avail[160];
    char d1[DATES_FORMAT_LEN], d2[DATES_FORMAT_LEN];
    struct date today = dates_from_days((long)(time(NULL) / 86400));
    dates_format(dates_add_days(today, 14), d1);
    dates_format(dates_add_days(today, 16), d2);
    snprintf(avail, sizeof avail, "/api/v1/availability?check_in=%s&check_out=%s&guests=2", d1, d2);
    if (o.nendpoints == 0) {
        o.endpoints[o.nendpoints++] = "/api/v1/healthz";
        o.endpoints[o.nendpoints++] = "/api/v1/readyz";
        o.endpoints[o.nendpoints++] = "/api/v1/accommodations";
        o.endpoints[o.nendpoints++] = avail;
        o.endpoints[o.nendpoints++] = "/metrics";
    }

    int exit_code = 1, nclients = 0, pass = 1;
    long n429 = 0;
    char date[64];
    struct bench_result *res = calloc((size_t)o.nendpoints, sizeof *res);
    struct httpclient *clients = calloc((size_t)o.concurrency, sizeof *clients);
    if (!res || !clients)
        abort();
    if (httpclient_global_init() < 0) {
        fprintf(stderr, "cabanas bench: libcurl initialization failed\n");
        free(res);
        free(clients);
        return 1;
    }
    for (; nclients < o.concurrency; nclients++)
        if (httpclient_init(&clients[nclients], o.timeout_s, 0) != HTTPCLIENT_OK) {
            fprintf(stderr, "cabanas bench: cannot set up a libcurl handle\n");
            nclients++; /* cleanup is safe on a half-set-up struct */
            goto out;
        }

    utc_now_text(date, sizeof date);
    for (int i = 0; i < o.nendpoints; i++) {
        struct bench_result *r = &res[i];
        resolve_path(o.endpoints[i], r->path, sizeof r->path);
        snprintf(r->url, sizeof r->url, "%s%s", o.base_url, r->path);
        if (run_endpoint(&o, clients, r) < 0)
            goto out;
    }
    for (int i = 0; i < o.nendpoints; i++) {
        pass = pass && res[i].p95_ok && res[i].errors_ok;
        n429 += res[i].n429;
    }

    if (o.json) {
        json_t *j = results_json(&o, res, o.nendpoints, pass, date);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12)) : NULL;
        if (!text)
            abort();
        printf("%s\n", text);
        free(text);
        json_decref(j);
    } else {
        print_table(stdout, &o, res, o.nendpoints, pass);
    }
    if (n429)
        fprintf(stderr,
                "cabanas bench: %ld responses were 429 (rate limited): counted as 4xx, not errors; raise "
                "RATE_LIMIT_REQUESTS on the target or lower --requests for meaningful latencies\n",
                n429);
    if (o.report && write_report(&o, res, o.nendpoints, pass, date) < 0)
        goto out;
    exit_code = pass ? 0 : 1;
out:
    for (int i = 0; i < nclients; i++)
        httpclient_cleanup(&clients[i]);
    free(clients);
    free(res);
    httpclient_global_cleanup();
    return exit_code;
}
