/* json.h - the one JSON shape of runs, jobs and schedule entries, written
 * by the CLI's --json outputs and by the API under /api/v1/ alike
 * (docs/api.md, "One shape for the CLI and the API").
 *
 * Instants: a field NAME holds ISO 8601 text and NAME_ts the same instant
 * as seconds since the epoch; both are null when the instant is absent.
 * What happened (a run's start and end, a request) is shown in UTC with
 * microseconds kept as the fraction of NAME_ts; what a schedule will do
 * (next fires) is shown in the entry's zone with its offset and NAME_ts
 * is whole seconds. Durations are seconds (numbers with fractions).
 *
 * Every builder returns a new reference, or NULL when out of memory
 * (nothing else can fail). Inputs are only read. */
#ifndef CW_REPORT_JSON_H
#define CW_REPORT_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/civil.h"
#include "base/strv.h"
#include "config/config.h"
#include "store/run.h"
#include "store/store.h"
#include "timespec/timespec.h"
#include "tz/tz.h"

/* Sets name (UTC ISO 8601) and name_ts (seconds, microseconds as the
 * fraction) of the instant us (µs since the epoch); null when us <= 0. */
void cw_json_set_instant(json_t *o, const char *name, int64_t us);
/* Sets name (ISO 8601 with tz's offset, UTC when tz is NULL) and name_ts
 * (whole seconds) of the fire t; null when t <= 0. */
void cw_json_set_fire(json_t *o, const char *name, cw_time t, const cw_tz *tz);
/* A fire as ISO 8601 text in tz (UTC when NULL), null when t <= 0. */
json_t *cw_json_fire(cw_time t, const cw_tz *tz);
/* A string, or null for NULL. */
json_t *cw_json_str(const char *s);
/* An array of the strings of sv. */
json_t *cw_json_strv(const cw_strv *sv);

/* Seconds a run took: ended - started, or now - started while active; 0
 * for runs that did not start (skipped, missed). */
double cw_json_run_duration(const cw_run *r, int64_t now_us);
/* Progress as a percentage 0..100, or -1 when unknown. */
double cw_json_run_percent(const cw_run *r);

/* Every field of a run; `duration` of an active run runs up to now_us. */
json_t *cw_json_run(const cw_run *r, int64_t now_us);

/* A schedule entry as the fronts know it. */
typedef struct cw_json_entry {
        const char *source;    /* "config" or "ui" */
        const char *when;      /* the time spec text */
        const cw_timespec *ts; /* that spec parsed, for its canonical text */
        const char *spec;      /* the canonical job spec it fires */
        const cw_tz *tz;       /* the zone it is evaluated in */
        int line;              /* config line, 0 for none */
        int64_t entry_id;      /* UI entry id, 0 for none */
        bool reboot;           /* @reboot */
        bool fixed_time;       /* cw_timespec_is_fixed_time */
        bool at_startup;       /* fires next when the scheduler starts */
        cw_time next;          /* 0: none known */
        const cw_time *fires;  /* next fires; NULL: the field is left out */
        size_t n_fires;
} cw_json_entry;

json_t *cw_json_entry_new(const cw_json_entry *e);

/* What every job object says (a listing); entries are added by the
 * caller into the "schedules" array. */
typedef struct cw_json_job {
        const cw_job *job;
        bool enabled;               /* effective: the config's and the store's flag */
        bool enabled_config;        /* the config's (a UI job: its entry's) */
        int64_t entry_id;           /* a job made from a UI command entry: its id, else 0 */
        const char *runnable_error; /* why such a job does not run now, NULL when it does */
        cw_time next;               /* earliest next fire, 0: none known */
        const cw_tz *next_tz;       /* the zone of that fire's entry (NULL: the job's) */
        bool next_at_startup;       /* the next fire comes when the scheduler starts */
} cw_json_job;

json_t *cw_json_job_new(const cw_json_job *j);
/* A job's ionice as the config writes it ("idle", "best-effort:3"),
 * into buf; NULL when the job has none. */
const char *cw_json_ionice_text(const cw_job *job, char *buf, size_t size);
/* Adds the job's settings (one job in full: `info`, GET /jobs/NAME). */
void cw_json_job_settings(json_t *o, const cw_job *job, bool ui);

/* A row of the notification outbox (`notifications --json`, GET
 * /api/v1/notifications). endpoint is what may be shown of its target
 * (cw_notify_shown_target): the target itself, which may hold a token,
 * is never written. */
json_t *cw_json_notice(const cw_notice *n, const char *endpoint);

#endif
