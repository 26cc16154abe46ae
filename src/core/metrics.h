/* metrics.h - a small Prometheus registry: counters, gauges and histograms with labels.
 *
 * Families are created before threads start (process singletons); updates are thread-safe (one mutex
 * per family, held for a lookup and an add). Each family holds at most METRICS_MAX_SERIES label sets;
 * past that, updates go to a single overflow series whose labels all read "other", so a hostile client
 * cannot grow memory through label values. Label values must be bounded (route templates, status codes). */
#ifndef CABANAS_METRICS_H
#define CABANAS_METRICS_H

#include "buf.h"

#define METRICS_MAX_LABELS 4
#define METRICS_MAX_SERIES 256

struct metric;

/* label_names: NULL-terminated, at most METRICS_MAX_LABELS. */
struct metric *metrics_counter(const char *name, const char *help, const char *const *label_names);
struct metric *metrics_gauge(const char *name, const char *help, const char *const *label_names);
/* buckets: increasing upper bounds in seconds, `nbuckets` of them (+Inf is implicit). */
struct metric *metrics_histogram(const char *name, const char *help, const char *const *label_names,
                                 const double *buckets, int nbuckets);
/* A gauge with no labels whose value is read from fn() at render time. */
void metrics_gauge_fn(const char *name, const char *help, double (*fn)(void));

/* values: one per label name (or NULL when the family has none). */
void metrics_inc(struct metric *m, const char *const *values, double by);
void metrics_set(struct metric *m, const char *const *values, double v);
void metrics_observe(struct metric *m, const char *const *values, double v);

/* Replaces every series of a labelled gauge at once with `n` series: the label values of series i are
 * values[i * nlabels .. i * nlabels + nlabels - 1], its value v[i]. Series not named disappear (a deleted
 * calendar feed stops being reported). At most METRICS_MAX_SERIES are kept. */
void metrics_replace(struct metric *m, int n, const char *const *values, const double *v);

/* Appends the Prometheus text exposition format 0.0.4 of every family to `out`. */
void metrics_render(struct buf *out);

/* Frees every family (for clean exits under LeakSanitizer). */
void metrics_shutdown(void);

#endif
