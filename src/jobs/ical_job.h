/* ical_job.h - the calendar import job: every JOB_ICAL_INTERVAL_SECONDS it syncs the feeds that are due.
 *
 * One instance at a time: on PostgreSQL a run first takes a session advisory lock (pg_try_advisory_lock)
 * and an instance that does not get it skips the run. A successful sync makes its feed due again 9/10 of an
 * interval after the run started, so with several instances each feed is still fetched about once per
 * interval; a failed one backs off (1, 2, 4, 8, then 12 intervals). Every instance refreshes the per-feed
 * gauges from the database on every run, so /metrics agrees everywhere. */
#ifndef CABANAS_ICAL_JOB_H
#define CABANAS_ICAL_JOB_H

#include "jobs/periodic.h"

/* Starts the job's thread (its first run is immediate). NULL on thread creation failure. */
struct periodic *ical_job_start(struct app *app);
/* Stops and frees it (NULL is a no-op). */
void ical_job_stop(struct periodic *p);

#endif
