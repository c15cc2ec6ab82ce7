/* sched.h - one scheduler pass (docs/scheduling.md; the exact rules are in
 * docs/scheduling.md).
 *
 * A pass looks at the window (last pass, now]: every schedule entry's
 * fires in it (on time, or missed and handled by catch_up), pending
 * requests, due retries and dependency triggers. Each fire is claimed in
 * the store before anything is done for it, so concurrent passes (ticks,
 * a daemon) and restarts act on a fire exactly once. The pass ends by
 * moving `last_pass` forward to now (never back).
 *
 * Nothing here reads a clock, starts a process or looks at a lock by
 * itself: `now` comes from the caller, workers are started through a
 * callback and locks are probed and their holders stopped through ops
 * (cw_sched_lock_ops), so tests drive passes with an injected clock and a
 * fake starter, while `tick` and the daemon start real workers and pass
 * the worker's lock ops (sched/worker_locks.h). */
#ifndef CW_SCHED_SCHED_H
#define CW_SCHED_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/error.h"
#include "config/config.h"
#include "store/store.h"

/* Store state key: set (to the epoch second it began) while the
 * scheduler drains before a deploy (`cronwarden drain`), "0" or absent
 * otherwise. A draining pass starts nothing: fires of catch_up = none
 * jobs are recorded skipped, the others are held (last_pass stays) for
 * catch_up when the drain ends; requests, retries and dependency
 * triggers wait. */
#define CW_SCHED_STATE_DRAINING "draining"
#define CW_SCHED_DRAINING_REASON "the scheduler is draining"

/* Default for jobs without start_deadline: a fire examined later than
 * this is missed (catch_up applies). */
#define CW_SCHED_DEFAULT_DEADLINE 300
/* Missed fires recorded per entry and pass, at most. */
#define CW_SCHED_MISSED_MAX 1000

typedef enum cw_sched_action_kind {
        CW_SCHED_STARTED, /* a worker was started */
        CW_SCHED_SKIPPED, /* recorded as skipped (reason) */
        CW_SCHED_MISSED,  /* recorded as missed (reason) */
        CW_SCHED_FAILED,  /* could not start it: recorded as a failed run (reason) */
        CW_SCHED_QUEUED,  /* recorded as queued: the starter starts it when max_running and
                             max_load allow (the daemon's waiting runs) */
} cw_sched_action_kind;

/* "started", "skipped", "missed", "failed", "queued": the one string table. */
const char *cw_sched_action_kind_to_string(cw_sched_action_kind k);

/* One thing a pass did, as reported to the caller. */
typedef struct cw_sched_action {
        cw_sched_action_kind kind;
        const cw_job *job;
        const char *spec; /* canonical job spec */
        cw_time scheduled_at;
        cw_trigger trigger;
        int attempt;
        bool ignore_lock;     /* concurrency = allow */
        const char *reason;   /* for SKIPPED, MISSED, FAILED */
        int64_t run_id;       /* the started or recorded run, 0 if none */
        int64_t resumed_from; /* unused by passes; 0 */
} cw_sched_action;

/* Starts a worker for a (kind CW_SCHED_STARTED) action. Returns 0 with
 * *ret_run_id set; 1 with *ret_run_id set when the starter recorded the
 * run as queued and holds it until max_running and max_load let it start
 * (reported as CW_SCHED_QUEUED); -EBUSY when the job's lock turned out to
 * be held (the pass then records the fire as skipped); -EAGAIN when
 * max_running or max_load refuse the start now and the starter cannot
 * wait (tick): recorded as skipped, err's message the reason; another
 * negative errno with a
 * message in err on failure: the pass then records the fire as a failed
 * run, unless the starter had recorded the run itself (the daemon records
 * it as queued before handing it over) and left its id in *ret_run_id,
 * marked failed: then the pass only reports it. */
typedef int (*cw_sched_start_fn)(void *userdata, const cw_sched_action *a, int64_t *ret_run_id,
                                 cw_error *err);

/* How a pass sees and stops the runs holding a job's lock. The scheduler
 * knows no lock files and no processes: the front that starts workers
 * passes these in next to its starter (sched/worker_locks.h gives the
 * worker's own). Both are called with the pass's userdata. */
typedef struct cw_sched_lock_ops {
        /* The run holding job's lock for spec (its canonical job spec):
         * its id, -1 when a run still starting holds it, 0 when the lock
         * is free, the job has lock = none, or the lock cannot be read.
         * On a store nodes share, runs of every node count. */
        int64_t (*holder)(void *userdata, const cw_config *cfg, cw_store *store, const cw_job *job,
                          const char *spec);
        /* concurrency = replace: stops the runs holding job's lock for
         * spec, each waited for (bounded). Failures are not reported: the
         * start that follows then finds the lock held and is skipped. */
        void (*stop_holders)(void *userdata, const cw_config *cfg, cw_store *store,
                             const cw_job *job, const char *spec, int64_t now_us);
        /* May be NULL: says ahead (cw_store_read_ahead) the store read
         * holder will make, if any, so it goes with the fire's claim. */
        void (*read_ahead)(void *userdata, const cw_config *cfg, cw_store *store, const cw_job *job,
                           const char *spec);
} cw_sched_lock_ops;

typedef struct cw_sched_opts {
        const cw_config *cfg;
        cw_store *store;
        cw_instant now;
        /* When the config's current text came into force (the daemon's
         * load or reload, the file's modification time for tick), 0 when
         * unknown: an entry first seen by this pass counts as in force
         * from then on (sched/since.h), or from now when it is not in
         * [last pass, now]. */
        cw_time config_at;
        cw_sched_start_fn start;
        void *userdata;
        /* NULL: no lock is ever seen held (concurrency = forbid and replace
         * then leave it to the starter, which may return -EBUSY). */
        const cw_sched_lock_ops *locks;
        /* Told about every action, after it happened; may be NULL. */
        void (*on_action)(void *userdata, const cw_sched_action *a);
        /* Entries beyond the config's, fired by the same rules after them:
         * the UI-created ones (catalog/entries.h, cw_ui_entries_load), each
         * compiled against cfg. An entry whose .job is CW_UI_ENTRY_JOB fires
         * a UI job, which the pass, like requests and retries naming one,
         * looks up with cw_job_resolve (once per pass). Owned by the
         * caller; may be NULL. */
        const cw_schedule_entry *extra_entries;
        size_t n_extra_entries;
        /* Called before the pass waits for another process (concurrency =
         * replace stops the running run first), so a starter that holds
         * back its starts (the daemon batches a pass's writes) commits and
         * hands over what it has; may be NULL. */
        void (*flush)(void *userdata);
        /* Called once the pass's scheduled fires are decided, before its
         * requests, retries, dependency triggers and window are written,
         * so a starter that holds back its starts may hand them over
         * first; may be NULL. */
        void (*fires_done)(void *userdata);
        /* Since when this scheduler has run (the daemon's start), 0 when
         * unknown (tick). A fire before it fell while no scheduler ran: it
         * is missed (catch_up decides), however recent; start_deadline
         * only lets fires the scheduler saw come start late. */
        cw_time up_since;
        /* A cluster of schedulers sharing the store (docs/cluster.md);
         * both NULL for one scheduler. claim_delay: seconds this scheduler
         * waits past a scheduled fire `at` before claiming it (the pass
         * keeps its window open and wakes for it meanwhile), or
         * CW_SCHED_NOT_HERE: never (another node's job). When it sets
         * *ret_missed, the fire cannot run anywhere: once the delay has
         * passed it is recorded missed with that reason. A job's `hosts`
         * are then the hook's to judge, not the pass's. last_pass_key:
         * the store key of this scheduler's own last pass (read, falling
         * back to "last_pass"; both written). */
        int (*claim_delay)(void *userdata, const cw_job *job, const char *spec, cw_time at,
                           const char **ret_missed);
        const char *last_pass_key;
} cw_sched_opts;

#define CW_SCHED_NOT_HERE (-1)

typedef struct cw_sched_result {
        size_t started, skipped, missed, failed, queued;
        cw_time window_from; /* the window examined: (from, to] */
        cw_time window_to;
        bool first_pass;
        bool draining; /* the pass found the scheduler draining */
        /* The earliest instant after window_to at which a pass has work
         * (a fire of any entry on this node, a retry coming due), or 0 when
         * nothing is scheduled: the daemon sleeps until then. */
        cw_time next_wake;
} cw_sched_result;

/* The store key of an `every` entry's previous fire (the pass keeps it):
 * "every:<spec>:<canonical time spec>" (cw_timespec_format), so that
 * rewriting `every 90m` as `every 1h30m` keeps it. 0, or -ENOBUFS. */
#define CW_SCHED_EVERY_KEY_MAX (CW_JOBSPEC_TEXT_MAX + CW_TIMESPEC_CANONICAL_MAX + 16)
int cw_sched_every_key(const cw_schedule_entry *e, char *buf, size_t size);

/* Says ahead (cw_store_read_ahead) the reads cw_sched_pass(o) starts
 * with, its state and the jobs disabled in the store, the previous fires
 * of (up to 64 of) its `every` entries, and with ui_entries the UI-created
 * entries (cw_ui_entries_load): for a caller that opened a batch for the
 * pass, so they cost one round trip, not one each. */
void cw_sched_read_ahead(const cw_sched_opts *o, bool ui_entries);

/* Reads e's previous fire into *ret (a string to free): under the key
 * above, else under the key stores made before it ("every:<spec>:<the
 * time spec as written>"), which `migrate` copies to the new key. 0,
 * -ENOENT (never fired), or another negative errno (*ret untouched). */
int cw_sched_every_get(cw_store *s, const cw_schedule_entry *e, bool migrate, char **ret);

/* Runs one pass. Returns 0 (individual fires that could not start are
 * reported as FAILED actions and recorded as failed runs, not as an error), or a negative errno with
 * err filled when the store failed in a way that stops the pass. */
int cw_sched_pass(const cw_sched_opts *o, cw_sched_result *ret, cw_error *err);

/* Fires every @reboot entry on this node once for the daemon start at
 * instant `boot` (claim key "reboot:<spec>" + boot), through the same
 * gates as a pass. Same returns as cw_sched_pass. */
int cw_sched_reboot(const cw_sched_opts *o, cw_time boot, cw_sched_result *ret, cw_error *err);

#endif
