/* run.h - one execution of a job spec (docs/running.md), as stored and
 * shown. The enums here are stored, printed and sent as JSON: each has one
 * string table (docs/hacking.md, Conventions), used by the store, the CLI and the API alike. */
#ifndef CW_STORE_RUN_H
#define CW_STORE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/civil.h"

typedef enum cw_run_status {
        CW_RUN_QUEUED,
        CW_RUN_RUNNING,
        CW_RUN_SUCCEEDED,
        CW_RUN_FAILED,
        CW_RUN_TIMED_OUT,
        CW_RUN_KILLED,
        CW_RUN_LOST,
        CW_RUN_SKIPPED,
        CW_RUN_MISSED,
        CW_RUN_STATUS_MAX,
} cw_run_status;

typedef enum cw_trigger {
        CW_TRIGGER_SCHEDULE,
        CW_TRIGGER_MANUAL,
        CW_TRIGGER_REQUEST,
        CW_TRIGGER_RETRY,
        CW_TRIGGER_DEPENDENCY,
        CW_TRIGGER_RESUME,
        CW_TRIGGER_MAX,
} cw_trigger;

/* Whether a killed run is waiting for `resume` (docs/running.md, suspend, resume, clean). */
typedef enum cw_resume_state {
        CW_RESUME_NONE,    /* not resumable */
        CW_RESUME_PENDING, /* killed, job has can_resume: `resume` restarts it */
        CW_RESUME_DONE,    /* restarted by `resume` */
        CW_RESUME_CLEANED, /* forgotten by `clean` */
        CW_RESUME_MAX,
} cw_resume_state;

const char *cw_run_status_to_string(cw_run_status s);
/* Returns 0 and sets *ret, or -EINVAL for an unknown name. */
int cw_run_status_from_string(const char *name, cw_run_status *ret);
/* True for statuses a run never leaves (all but QUEUED and RUNNING). */
bool cw_run_status_is_final(cw_run_status s);
/* A final status that means the run went wrong by itself: failed,
 * timed_out, lost (not killed, an operator's decision, nor skipped or
 * missed, where the job did not run). The store's failing-jobs query
 * lists the same statuses. */
bool cw_run_status_is_failure(cw_run_status s);
const char *cw_trigger_to_string(cw_trigger t);
int cw_trigger_from_string(const char *name, cw_trigger *ret);
const char *cw_resume_state_to_string(cw_resume_state r);
int cw_resume_state_from_string(const char *name, cw_resume_state *ret);

typedef struct cw_run {
        int64_t id;
        char *job;  /* job name */
        char *spec; /* canonical job spec */
        char *node;
        cw_run_status status;
        cw_trigger trigger;
        int attempt;          /* 1 for the first attempt of a fire */
        cw_time scheduled_at; /* the fire's instant, 0 when not scheduled */
        int64_t started_us;
        int64_t ended_us;       /* 0 while active */
        int worker_pid;         /* the supervising cronwarden process, 0 if none */
        int pid;                /* the job's pid = its process group id, 0 if none */
        uint64_t pid_start;     /* the job's start time (/proc/PID/stat field 22) */
        int exit_code;          /* -1 when none (signal, not started) */
        int signal;             /* terminating signal, 0 when none */
        int64_t progress_done;  /* -1 when unknown */
        int64_t progress_total; /* -1 when unknown; 100 for percentages */
        uint64_t output_size;   /* bytes the job wrote in all */
        bool output_truncated;  /* the stored output is head + marker + tail */
        char *reason;           /* why skipped/killed/lost/failed to start; NULL if none */
        char *lock_key;         /* NULL when lock = none */
        cw_resume_state resume;
        int64_t resumed_from; /* run id this one resumes, 0 if none */
        /* Its fencing token in a cluster (docs/cluster.md, "Locks in a
         * cluster"), 0 when none (SQLite). A finish with a token is made
         * only while the row is running with that token. */
        int64_t fence;
} cw_run;

/* Frees the strings of r and zeroes it. Accepts NULL. */
void cw_run_release(cw_run *r);

#endif
