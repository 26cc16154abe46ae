/* metrics.c - the Prometheus registry. See metrics.h for the invariants. */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FAMILIES 96
#define MAX_BUCKETS 16
#define LABEL_VALUE_MAX 96

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM, M_GAUGE_FN };

struct series {
    char values[METRICS_MAX_LABELS][LABEL_VALUE_MAX];
    double value;                       /* counter/gauge; histogram: sum */
    unsigned long count;                /* histogram */
    unsigned long buckets[MAX_BUCKETS]; /* histogram, non-cumulative */
};

struct metric {
    char name[96];
    char help[256];
    enum mtype type;
    int nlabels;
    char label_names[METRICS_MAX_LABELS][32];
    double bounds[MAX_BUCKETS];
    int nbounds;
    double (*fn)(void);
    pthread_mutex_t lock;
    int nseries;
    struct series *series; /* METRICS_MAX_SERIES + 1 (the overflow series) */
};

static struct metric *families[MAX_FAMILIES];
static int nfamilies;

static struct metric *family_new(const char *name, const char *help, enum mtype type,
                                 const char *const *label_names)
{
    if (nfamilies >= MAX_FAMILIES)
        abort();
    struct metric *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->help, sizeof m->help, "%s", help);
    m->type = type;
    for (int i = 0; label_names && label_names[i] && i < METRICS_MAX_LABELS; i++) {
        snprintf(m->label_names[i], sizeof m->label_names[i], "%s", label_names[i]);
        m->nlabels++;
    }
    pthread_mutex_init(&m->lock, NULL);
    if (type != M_GAUGE_FN) {
        m->series = calloc(METRICS_MAX_SERIES + 1, sizeof *m->series);
        if (!m->series)
            abort();
        if (m->nlabels == 0)
            m->nseries = 1; /* the single unlabelled series always exists, so it renders as 0 */
    }
    families[nfamilies++] = m;
    return m;
}

struct metric *metrics_counter(const char *name, const char *help, const char *const *label_names)
{
    return family_new(name, help, M_COUNTER, label_names);
}

struct metric *metrics_gauge(const char *name, const char *help, const char *const *label_names)
{
    return family_new(name, help, M_GAUGE, label_names);
}

struct metric *metrics_histogram(const char *name, const char *help, const char *const *label_names,
                                 const double *buckets, int nbuckets)
{
    struct metric *m = family_new(name, help, M_HISTOGRAM, label_names);
    if (nbuckets > MAX_BUCKETS)
        nbuckets = MAX_BUCKETS;
    memcpy(m->bounds, buckets, (size_t)nbuckets * sizeof *buckets);
    m->nbounds = nbuckets;
    return m;
}

void metrics_gauge_fn(const char *name, const char *help, double (*fn)(void))
{
    struct metric *m = family_new(name, help, M_GAUGE_FN, NULL);
    m->fn = fn;
}

/* Called with m->lock held. */
static struct series *find_series(struct metric *m, const char *const *values)
{
    if (m->nlabels == 0)
        return &m->series[0];
    for (int i = 0; i < m->nseries; i++) {
        int same = 1;
        for (int l = 0; l < m->nlabels && same; l++)
            same = strncmp(m->series[i].values[l], values[l] ? values[l] : "", LABEL_VALUE_MAX - 1) == 0;
        if (same)
            return &m->series[i];
    }
    struct series *s;
    if (m->nseries < METRICS_MAX_SERIES) {
        s = &m->series[m->nseries++];
        for (int l = 0; l < m->nlabels; l++)
            snprintf(s->values[l], LABEL_VALUE_MAX, "%s", values[l] ? values[l] : "");
    } else {
        s = &m->series[METRICS_MAX_SERIES];
        for (int l = 0; l < m->nlabels; l++)
            snprintf(s->values[l], LABEL_VALUE_MAX, "%s", "other");
    }
    return s;
}

void metrics_inc(struct metric *m, const char *const *values, double by)
{
    pthread_mutex_lock(&m->lock);
    find_series(m, values)->value += by;
    pthread_mutex_unlock(&m->lock);
}

void metrics_set(struct metric *m, const char *const *values, double v)
{
    pthread_mutex_lock(&m->lock);
    find_series(m, values)->value = v;
    pthread_mutex_unlock(&m->lock);
}

void metrics_observe(struct metric *m, const char *const *values, double v)
{
    pthread_mutex_lock(&m->lock);
    struct series *s = find_series(m, values);
    s->value += v;
    s->count++;
    int b = 0;
    while (b < m->nbounds && v > m->bounds[b])
        b++;
    if (b < m->nbounds)
        s->buckets[b]++;
    pthread_mutex_unlock(&m->lock);
}

void metrics_replace(struct metric *m, int n, const char *const *values, const double *v)
{
    if (m->nlabels == 0 || m->type == M_GAUGE_FN)
        return;
    pthread_mutex_lock(&m->lock);
    memset(m->series, 0, (METRICS_MAX_SERIES + 1) * sizeof *m->series);
    m->nseries = 0;
    for (int i = 0; i < n && i < METRICS_MAX_SERIES; i++) {
        struct series *s = &m->series[m->nseries++];
        for (int l = 0; l < m->nlabels; l++) {
            const char *x = values[i * m->nlabels + l];
            snprintf(s->values[l], LABEL_VALUE_MAX, "%s", x ? x : "");
        }
        s->value = v[i];
    }
    pthread_mutex_unlock(&m->lock);
}

static void put_escaped(struct buf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_puts(out, "\\\\");
        else if (*s == '"')
            buf_puts(out, "\\\"");
        else if (*s == '\n')
            buf_puts(out, "\\n");
        else
            buf_append(out, s, 1);
    }
}

/* {a="x",b="y"[,le="…"]} or nothing */
static void put_labels(struct buf *out, const struct metric *m, const struct series *s, const char *le)
{
    if (m->nlabels == 0 && !le)
        return;
    buf_puts(out, "{");
    for (int l = 0; l < m->nlabels; l++) {
        buf_printf(out, "%s%s=\"", l ? "," : "", m->label_names[l]);
        put_escaped(out, s->values[l]);
        buf_puts(out, "\"");
    }
    if (le)
        buf_printf(out, "%sle=\"%s\"", m->nlabels ? "," : "", le);
    buf_puts(out, "}");
}

static void put_value(struct buf *out, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        buf_printf(out, " %.0f\n", v);
    else
        buf_printf(out, " %.9g\n", v);
}

void metrics_render(struct buf *out)
{
    static const char *type_names[] = {"counter", "gauge", "histogram", "gauge"};
    for (int f = 0; f < nfamilies; f++) {
        struct metric *m = families[f];
        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, type_names[m->type]);
        if (m->type == M_GAUGE_FN) {
            buf_puts(out, m->name);
            put_value(out, m->fn());
            continue;
        }
        pthread_mutex_lock(&m->lock);
        int n = m->nseries;
        int overflow = m->series[METRICS_MAX_SERIES].count || m->series[METRICS_MAX_SERIES].value != 0;
        for (int i = 0; i < n + (overflow ? 1 : 0); i++) {
            const struct series *s = i < n ? &m->series[i] : &m->series[METRICS_MAX_SERIES];
            if (m->type != M_HISTOGRAM) {
                buf_puts(out, m->name);
                put_labels(out, m, s, NULL);
                put_value(out, s->value);
                continue;
            }
            unsigned long cum = 0;
            char le[32];
            for (int b = 0; b < m->nbounds; b++) {
                cum += s->buckets[b];
                snprintf(le, sizeof le, "%g", m->bounds[b]);
                buf_printf(out, "%s_bucket", m->name);
                put_labels(out, m, s, le);
                buf_printf(out, " %lu\n", cum);
            }
            buf_printf(out, "%s_bucket", m->name);
            put_labels(out, m, s, "+Inf");
            buf_printf(out, " %lu\n", s->count);
            buf_printf(out, "%s_sum", m->name);
            put_labels(out, m, s, NULL);
            put_value(out, s->value);
            buf_printf(out, "%s_count", m->name);
            put_labels(out, m, s, NULL);
            buf_printf(out, " %lu\n", s->count);
        }
        pthread_mutex_unlock(&m->lock);
    }
}

void metrics_shutdown(void)
{
    for (int f = 0; f < nfamilies; f++) {
        pthread_mutex_destroy(&families[f]->lock);
        free(families[f]->series);
        free(families[f]);
        families[f] = NULL;
    }
    nfamilies = 0;
}
