/* model.h - the read side of the admin UI and the JSON API: what the
 * pages and /api/v1/ show, built once from the request's config and store
 * so both fronts show the same facts (docs/api.md).
 *
 * Every builder takes the config and store of the request (req->cfg,
 * req->store) and `now` (req->now_us), and fills a caller-provided struct
 * that the matching *_release() frees (accepting a zeroed or released
 * struct). Pointers into the config (cw_job, its strings, zone names) are
 * borrowed: they live as long as the request's config reference. Strings
 * and runs read from the store are owned by the model. On failure a
 * builder returns a negative errno, leaves *ret zeroed, and fills err when
 * it is the caller's input that is wrong (-EINVAL, -ENOENT).
 *
 * Cost. The jobs overview is built for 10 000 jobs and 1 000 000 runs in a
 * few milliseconds: a job's last run comes from the store's per-job
 * aggregate (one lookup per job shown, see cw_store_jobs_last), running runs
 * from the partial index of active runs, job flags from one query, and next
 * fires are computed only for the jobs on the requested page. Counting the
 * failing jobs of other pages reads every job's last run in one query
 * (~15 ms for 10 000 jobs); a page holding every job needs nothing more. Nothing here
 * reads a run's output except cw_model_run_get(with_output = true). */
#ifndef CW_HTTP_MODEL_H
#define CW_HTTP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "config/config.h"
#include "store/store.h"

/* Next fires shown per schedule entry on a job's page. */
#define CW_MODEL_NEXT_FIRES 10
/* Recent runs kept in a job's detail (the duration chart). */
#define CW_MODEL_RECENT_RUNS 50
/* Runs listing: default and largest page. */
#define CW_MODEL_RUNS_DEFAULT 50
#define CW_MODEL_RUNS_MAX 500

/* Where a schedule entry comes from. */
typedef enum cw_model_source {
        CW_MODEL_SOURCE_CONFIG, /* a `schedule =` key or a [schedule] `run =` line */
        CW_MODEL_SOURCE_UI,     /* a UI-created entry (store, docs/api.md) */
} cw_model_source;

/* "config", "ui": the one string table. */
const char *cw_model_source_to_string(cw_model_source s);

/* One schedule entry of a job. */
typedef struct cw_model_entry {
        cw_model_source source;
        const char *when;      /* the time spec text (normalised), borrowed */
        const cw_timespec *ts; /* that spec, borrowed like when */
        const char *spec;      /* canonical job spec it fires, borrowed */
        const char *zone;      /* zone name the entry is evaluated in, borrowed */
        const cw_tz *tz;       /* that zone (to show fires in local time), borrowed */
        int line;              /* config line (CONFIG), 0 for UI entries */
        int64_t ui_id;         /* the UI entry's id (UI), 0 for config entries */
        bool reboot;           /* @reboot: fires once at daemon start, no instants */
        bool fixed_time;       /* cw_timespec_is_fixed_time (DST handling, docs/timespec.md) */
        cw_time next;          /* first fire after now; 0 when none (reboot, never) */
        /* Only filled by cw_model_job_get: the next CW_MODEL_NEXT_FIRES
         * fires (n_next of them; fewer when the spec ends). */
        cw_time next_fires[CW_MODEL_NEXT_FIRES];
        size_t n_next;
} cw_model_entry;

/* A job as the jobs page and GET /api/v1/jobs show it: a configured job,
 * or a job created in the admin UI from a free command entry ("ui-ID",
 * catalog/catalog.h), listed after the configured ones. */
typedef struct cw_model_job {
        const cw_job *job; /* borrowed from the config, or from the model (UI jobs) */
        /* A job created in the UI: the id of the entry that made it, else 0. */
        int64_t ui_entry;
        /* A UI job that does not run now: why (allow_ui_commands is off, the
         * config has a job of that name), borrowed from the model; else NULL. */
        const char *ui_why_not;
        /* Effective flag: the config's `enabled` and the store's flag set by
         * `disable`/`enable`/the UI (absent: enabled). */
        bool enabled;
        bool enabled_config; /* the config's `enabled =` (UI jobs: the entry's flag) */
        cw_model_entry *entries;
        size_t n_entries;
        cw_time next; /* earliest next over entries, 0 when none */
        /* The newest run that reached a final status (succeeded ... missed);
         * id 0 when the job never ran. Owned. */
        cw_run last;
        /* The newest active run (queued or running) with its progress; id 0
         * when none. n_running counts all active runs of the job. Owned. */
        cw_run running;
        size_t n_running;
} cw_model_job;

typedef struct cw_model_jobs_opts {
        const char *name_contains; /* case-insensitive substring of the name; NULL: all */
        size_t offset;             /* first job of the page (config order) */
        size_t limit;              /* jobs on the page; 0: all */
} cw_model_jobs_opts;

typedef struct cw_model_jobs {
        cw_model_job *jobs; /* the page, in config order */
        size_t n;
        size_t total; /* jobs matching name_contains, all pages */
        bool scheduler_enabled;
        size_t n_running; /* active runs of all jobs */
        /* Jobs matching name_contains, on every page, whose last run is
         * failing (cw_model_status_failing). */
        size_t n_failing;
        struct cw_model_owned *owned; /* private: what entries borrow from */
} cw_model_jobs;

/* The jobs overview: every configured job matching o (NULL: all), then
 * every job created in the UI, with entries (config and UI), next fire,
 * flags, last and running run. */
int cw_model_jobs_get(const cw_config *cfg, cw_store *s, int64_t now_us,
                      const cw_model_jobs_opts *o, cw_model_jobs *ret, cw_error *err);
void cw_model_jobs_release(cw_model_jobs *m);

/* A job's page. */
typedef struct cw_model_job_detail {
        cw_model_job j; /* entries carry their next CW_MODEL_NEXT_FIRES fires */
        /* Recent runs, newest first (at most CW_MODEL_RECENT_RUNS): history
         * with durations. Owned. */
        cw_run *recent;
        size_t n_recent;
        /* Dependencies both ways (docs/scheduling.md, Dependencies): jobs this one runs after (its
         * `after`), and jobs that run after this one. Borrowed. */
        const cw_job **after;
        size_t n_after;
        const cw_job **before;
        size_t n_before;
        /* Statistics over the recent runs that ran (not skipped/missed):
         * p50 and p95 duration in seconds (-1 when none) and failure rate
         * (0..1, -1 when none). */
        double p50, p95, failure_rate;
        /* Lifetime counts by status from the store's aggregates (survive
         * pruning). */
        uint64_t counts[CW_RUN_STATUS_MAX];
        int64_t last_success_us;      /* 0: never */
        struct cw_model_owned *owned; /* private */
} cw_model_job_detail;

/* One job by name (configured, or created in the UI); -ENOENT (err: "no
 * job named 'X'") when there is none.
 * Lock, concurrency, timeout, retries, args and options are in j.job. */
int cw_model_job_get(const cw_config *cfg, cw_store *s, int64_t now_us, const char *name,
                     cw_model_job_detail *ret, cw_error *err);
void cw_model_job_detail_release(cw_model_job_detail *d);

/* The runs listing, newest first. Parsing helpers below turn query
 * strings into this filter with precise errors. */
typedef struct cw_model_runs_filter {
        const char *job;   /* NULL: any */
        int status;        /* a cw_run_status, -1: any */
        bool active;       /* only queued and running */
        int64_t before_id; /* only ids < before_id; 0: newest */
        size_t limit;      /* 0: CW_MODEL_RUNS_DEFAULT; capped at CW_MODEL_RUNS_MAX */
} cw_model_runs_filter;
/* clang-format off */
#define CW_MODEL_RUNS_FILTER_INIT {.status = -1}
/* clang-format on */

typedef struct cw_model_runs {
        cw_run *runs; /* owned */
        size_t n;
        /* The before_id for the next (older) page, 0 when this is the last. */
        int64_t next_before;
} cw_model_runs;

int cw_model_runs_list(const cw_config *cfg, cw_store *s, const cw_model_runs_filter *f,
                       cw_model_runs *ret, cw_error *err);
void cw_model_runs_release(cw_model_runs *m);

/* Parse query values of the runs listing into f. Each returns 0 or
 * -EINVAL with err naming the parameter and the value ("status: unknown
 * status 'x' (expected one of queued, running, ...)"). NULL or "" leaves
 * the field as it was. */
int cw_model_parse_status(const char *value, cw_model_runs_filter *f, cw_error *err);
int cw_model_parse_before(const char *value, cw_model_runs_filter *f, cw_error *err);
int cw_model_parse_limit(const char *value, cw_model_runs_filter *f, cw_error *err);
/* A run id from a path segment: 1..INT64_MAX in decimal; -EINVAL otherwise. */
int cw_model_parse_id(const char *value, int64_t *ret, cw_error *err);

/* One run. -ENOENT (err: "no run N") when there is none. */
typedef struct cw_model_run {
        cw_run run; /* owned */
        const cw_job *
                job; /* borrowed; NULL when the job is no longer configured (or its UI entry is gone) */
        bool alive;   /* active runs: its worker is still there (cw_control_is_alive) */
        void *output; /* with_output: the captured output (binary), else NULL */
        size_t output_len;
        struct cw_ui_job *ui_job; /* private: what job points into for a UI job */
} cw_model_run;

int cw_model_run_get(const cw_config *cfg, cw_store *s, int64_t id, bool with_output,
                     cw_model_run *ret, cw_error *err);
void cw_model_run_release(cw_model_run *m);

/* The scheduler: on/off, last pass, pending requests (oldest first, at
 * most CW_MODEL_REQUESTS_MAX). */
#define CW_MODEL_REQUESTS_MAX 500
typedef struct cw_model_scheduler {
        bool enabled;
        cw_time last_pass;   /* 0: never */
        cw_request *pending; /* owned */
        size_t n_pending;
        size_t n_running; /* active runs */
        const char *node; /* borrowed */
} cw_model_scheduler;

int cw_model_scheduler_get(const cw_config *cfg, cw_store *s, cw_model_scheduler *ret,
                           cw_error *err);
void cw_model_scheduler_release(cw_model_scheduler *m);

/* UI-created entries, with whether each still validates against the
 * current config (a job may have been removed or its params changed). */
typedef struct cw_model_ui_entry {
        cw_ui_entry e; /* owned */
        /* The job it fires: the spec's job, or for a command the job created
         * for it ("ui-ID"). */
        char job[CW_JOBSPEC_NAME_MAX + 1];
        bool valid;
        char *error;      /* why not valid (owned), NULL when valid */
        const char *zone; /* borrowed; NULL when not valid */
        const cw_tz *tz;  /* that zone, borrowed; NULL when not valid */
        cw_time next;     /* next fire after now, 0 when none or invalid */
} cw_model_ui_entry;

typedef struct cw_model_ui_entries {
        cw_model_ui_entry *entries; /* by id */
        size_t n;
        bool allow_commands; /* [admin] allow_ui_commands */
} cw_model_ui_entries;

int cw_model_ui_entries_list(const cw_config *cfg, cw_store *s, int64_t now_us,
                             cw_model_ui_entries *ret, cw_error *err);
void cw_model_ui_entries_release(cw_model_ui_entries *m);
/* One entry; -ENOENT (err: "no entry N") when there is none. */
int cw_model_ui_entry_get(const cw_config *cfg, cw_store *s, int64_t now_us, int64_t id,
                          cw_model_ui_entry *ret, cw_error *err);
void cw_model_ui_entry_release(cw_model_ui_entry *m);

/* A last run that makes its job count as failing: failed, timed_out or
 * lost. Not killed (an operator stopped it), skipped or missed. */
bool cw_model_status_failing(cw_run_status s);

/* Seconds a run took: ended - started, or now - started while active; 0
 * for runs that did not start (skipped, missed). The same as the
 * `duration` of the JSON shape (cw_json_run_duration). */
double cw_model_run_duration(const cw_run *r, int64_t now_us);
/* Progress as a percentage 0..100, or -1 when unknown. */
double cw_model_run_percent(const cw_run *r);

#endif
