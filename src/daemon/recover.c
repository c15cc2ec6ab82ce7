/* recover.c - what the daemon does with runs left queued (see
 * docs/scheduling.md, "Exactly once across a worker's death"): at its
 * start and when it replaces its spawner (restart_queued), and while it
 * runs, after a worker ended (sweep_queued). A run whose job never reached
 * exec is handed over again; one whose job may have run is recorded lost,
 * never started again, and resumed when its job can resume. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/iso8601.h"
#include "base/path.h"
#include "catalog/catalog.h"
#include "daemon/daemon_internal.h"
#include "daemon/spawner.h"
#include "notify/notify.h"
#include "worker/control.h"
#include "worker/started.h"

/* While the daemon runs, a queued run whose worker died after starting
 * its job is looked for once a worker has ended (sweep_queued), at most
 * once per SWEEP_EVERY_US, among runs queued at least SWEEP_AGE_US ago: a
 * live worker marks its run within its burst's stagger (2 s at most), so
 * the runs of a burst in flight are not probed one by one. */
#define SWEEP_EVERY_US 1000000
#define SWEEP_AGE_US 3000000

static volatile sig_atomic_t alarm_rang;

static void on_alarm(int sig)
{
        (void)sig;
        alarm_rang = 1;
}

/* Waits (at most CW_SPAWNER_LOCK_WAIT_S) for an exclusive hold of
 * data_dir/CW_SPAWNER_LOCK, which every spawner and every worker that has
 * not yet marked its run holds shared: once it is ours, no process of a
 * previous daemon can still start a queued run. Returns the locked fd,
 * or -1 (not had in time: the caller must not start queued runs again). */
static int take_handover_lock(daemon_state *d)
{
        struct sigaction sa = {.sa_handler = on_alarm}, old;
        char path[4096];
        int fd, r;

        if (cw_path_join(path, sizeof(path), d->cfg->data_dir, CW_SPAWNER_LOCK) < 0)
                return -1;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -1;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                return fd;
        /* Held: a previous daemon's spawner or workers are finishing what
         * they were handed. A blocking flock, bounded by an alarm whose
         * handler only sets a flag (flock then fails with EINTR). */
        alarm_rang = 0;
        sigaction(SIGALRM, &sa, &old);
        alarm(CW_SPAWNER_LOCK_WAIT_S);
        do
                r = flock(fd, LOCK_EX);
        while (r < 0 && errno == EINTR && !alarm_rang);
        alarm(0);
        sigaction(SIGALRM, &old, NULL);
        if (r < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

/* A lost run whose job may have run and can resume (resume pending): it
 * is resumed now, as a resume of the same fire (trigger resume,
 * resumed_from), claimed first so that `cronwarden resume` cannot restart
 * it as well. */
void resume_lost(daemon_state *d, const cw_run *q, const cw_job *job)
{
        cw_sched_action a = {.kind = CW_SCHED_STARTED,
                             .job = job,
                             .spec = q->spec,
                             .scheduled_at = q->scheduled_at,
                             .trigger = CW_TRIGGER_RESUME,
                             .attempt = 1,
                             .ignore_lock = !q->lock_key,
                             .resumed_from = q->id};
        char fire[CW_ISO8601_MAX], q1[256], q2[400];
        int64_t id = 0;
        cw_error err;

        if (cw_store_run_set_resume(d->store, q->id, CW_RESUME_PENDING, CW_RESUME_DONE) < 0)
                return;
        cw_error_clear(&err);
        cw_iso8601_format(q->scheduled_at, cw_tz_utoff(job->tz, q->scheduled_at), fire,
                          sizeof(fire));
        if (start_worker(d, &a, &id, &err) < 0) {
                /* Not started: `cronwarden resume` may still do it. */
                (void)cw_store_run_set_resume(d->store, q->id, CW_RESUME_DONE, CW_RESUME_PENDING);
                logline(d, "error",
                        "event=failed job=%s spec=%s fire=%s resumed_from=%" PRId64 " reason=%s",
                        job->name, quoted(q->spec, q1, sizeof(q1)), fire, q->id,
                        quoted(err.msg, q2, sizeof(q2)));
                return;
        }
        daemon_run_watch(d, id);
        logline(d, "info",
                "event=started run=%" PRId64 " job=%s spec=%s fire=%s trigger=resume attempt=1 "
                "resumed_from=%" PRId64 " reason=resumed_after_lost",
                id, job->name, quoted(q->spec, q1, sizeof(q1)), fire, q->id);
}

/* A queued run whose fate is known (not alive): recorded lost, and resumed
 * when its job may have run and can resume. */
static void queued_lost(daemon_state *d, const cw_run *q, const cw_job *job, cw_queued_fate fate,
                        int64_t now)
{
        bool resumable = false;

        if (cw_control_mark_queued_lost(d->store, d->cfg, q, fate, now, &resumable) < 0)
                return;
        logline(d, "warning",
                "event=error what=queued_run run=%" PRId64 " action=lost may_have_run=%s", q->id,
                fate == CW_QUEUED_MAY_HAVE_RUN || fate == CW_QUEUED_UNKNOWN ? "yes" : "no");
        d->notify_due = true;
        (void)cw_notify_run_event(d->store, d->cfg, job, q->id, CW_RUN_LOST,
                                  fate == CW_QUEUED_MAY_HAVE_RUN || fate == CW_QUEUED_UNKNOWN
                                          ? "its worker is gone, maybe after its job started"
                                          : "the daemon stopped before the run started",
                                  now);
        if (resumable && job)
                resume_lost(d, q, job);
}

/* Queued runs of this node whose worker is gone: left by a daemon that
 * died after recording them and before handing them over, by a spawner
 * that died with them unread, or by a worker that died before it marked
 * its run running. Once no process of the old daemon can still start them
 * (take_handover_lock), a run whose job never reached exec (no start
 * record, worker/started.h) is started now, and one whose job may have
 * run is recorded lost, never started again (resumed if its job can
 * resume). Without that certainty a run without a record is recorded
 * lost too, rather than risk a double start. */
void restart_queued(daemon_state *d)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        cw_queued_fate *fate = NULL;
        size_t n = 0, all = 0;
        cw_instant now = cw_clock_now(d->clock);
        int lock_fd = take_handover_lock(d);

        f.status = CW_RUN_QUEUED;
        if (cw_store_runs_list(d->store, &f, &runs, &all) < 0)
                all = 0;
        fate = calloc(all ? all : 1, sizeof(*fate));
        if (fate)
                n = all;
        /* Judged while no old worker can still write a start record. */
        for (size_t i = 0; i < n; i++)
                fate[i] = cw_control_queued_fate(d->cfg, &runs[i], lock_fd >= 0);
        if (lock_fd >= 0)
                close(lock_fd);        /* the spawner about to start takes it shared */
        for (size_t i = n; i-- > 0;) { /* oldest first */
                const cw_run *q = &runs[i];
                /* Also a job the admin UI made (catalog/catalog.h). */
                _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
                const cw_job *job =
                        cw_job_resolve(d->cfg, d->store, q->job, &ref, NULL) == 0 ? ref.job : NULL;
                char fire[CW_ISO8601_MAX], q1[256], q2[400];
                pending p;
                cw_error err;

                if (fate[i] == CW_QUEUED_ALIVE || daemon_waiting_has(d, q->id) ||
                    (q->node && d->cfg->node && strcmp(q->node, d->cfg->node) != 0))
                        continue;
                if (fate[i] != CW_QUEUED_NEVER_STARTED) {
                        queued_lost(d, q, job, fate[i], now);
                        continue;
                }
                if (!job) {
                        if (cw_store_run_transition(
                                    d->store, q->id, CW_RUN_QUEUED, CW_RUN_LOST,
                                    "the daemon or its spawner stopped before a worker started the run, "
                                    "and its job is no longer in the config",
                                    now) == 0) {
                                logline(d, "warning",
                                        "event=error what=queued_run run=%" PRId64 " action=lost",
                                        q->id);
                                d->notify_due = true;
                                (void)cw_notify_run_event(
                                        d->store, d->cfg, job, q->id, CW_RUN_LOST,
                                        "the daemon stopped before the run started", now);
                        }
                        continue;
                }
                /* At the daemon's start, under max_running / max_load: it
                 * waits for its turn with the others (waiting.c). */
                if (!d->replacing && daemon_gate_on(d) &&
                    daemon_waiting_push(d, q, job, false) == 0)
                        continue;
                p = (pending){.run_id = q->id,
                              .scheduled_at = q->scheduled_at,
                              .trigger = (int32_t)q->trigger,
                              .attempt = q->attempt,
                              .ignore_lock = !q->lock_key,
                              .spec = q->spec};
                cw_error_clear(&err);
                cw_iso8601_format(q->scheduled_at, cw_tz_utoff(job->tz, q->scheduled_at), fire,
                                  sizeof(fire));
                if (hand_over_run(d, &p, false, &err) < 0)
                        logline(d, "error",
                                "event=failed run=%" PRId64 " job=%s spec=%s fire=%s reason=%s",
                                q->id, job->name, quoted(q->spec, q1, sizeof(q1)), fire,
                                quoted(err.msg, q2, sizeof(q2)));
                else {
                        daemon_run_watch(d, q->id);
                        logline(d, "info",
                                "event=started run=%" PRId64
                                " job=%s spec=%s fire=%s trigger=%s attempt=%d "
                                "reason=handed_over_after_restart",
                                q->id, job->name, quoted(q->spec, q1, sizeof(q1)), fire,
                                cw_trigger_to_string(q->trigger), q->attempt);
                }
        }
        free(fate);
        cw_runs_free(runs, all);
}

/* How a worker ended, from its wait status: "was killed by signal 9
 * (Killed)" or "exited with status 1". */
static void worker_end_text(int wstatus, char *buf, size_t size)
{
        if (WIFSIGNALED(wstatus))
                snprintf(buf, size, "was killed by signal %d (%s)", WTERMSIG(wstatus),
                         strsignal(WTERMSIG(wstatus)));
        else
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(wstatus));
}

/* The lock row a starter took for run (in a cluster, handover.c), freed
 * when it still names the run: nobody else will. */
static void free_run_lock(daemon_state *d, const cw_run *run)
{
        cw_cluster_lock l = {0};

        if (!run->lock_key || cw_store_lock_holder(d->store, run->lock_key, &l) < 0)
                return;
        if (l.run_id == run->id && l.node && d->cfg->node && strcmp(l.node, d->cfg->node) == 0)
                (void)cw_store_lock_release(d->store, run->lock_key, l.fence);
        cw_cluster_lock_release(&l);
}

void worker_died(daemon_state *d, int64_t run_id, int wstatus)
{
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        int64_t now = cw_clock_now(d->clock);
        char how[96], why[200];
        cw_run run = {0};

        if (cw_store_run_get(d->store, run_id, &run) < 0)
                return;
        if (run.status != CW_RUN_QUEUED || daemon_waiting_has(d, run_id) ||
            cw_started_probe(d->cfg->data_dir, run_id) != CW_STARTED_NONE) {
                cw_run_release(&run);
                return; /* recorded by the worker, or for sweep_queued to judge */
        }
        worker_end_text(wstatus, how, sizeof(how));
        snprintf(why, sizeof(why), "its worker %s before it started the job", how);
        if (cw_store_run_transition(d->store, run_id, CW_RUN_QUEUED, CW_RUN_FAILED, why, now) ==
            0) {
                char q[256];
                logline(d, "error", "event=failed run=%" PRId64 " job=%s reason=%s", run_id,
                        run.job, quoted(why, q, sizeof(q)));
                free_run_lock(d, &run);
                d->notify_due = true;
                (void)cw_notify_run_event(
                        d->store, d->cfg,
                        cw_job_resolve(d->cfg, d->store, run.job, &ref, NULL) == 0 ? ref.job : NULL,
                        run_id, CW_RUN_FAILED, why, now);
        }
        cw_run_release(&run);
}

/* Queued runs of this node whose worker died after starting the job (its
 * start record left, worker/started.h) are recorded lost, and resumed when
 * their job can resume, while the daemon runs (not only at its next start).
 * Returns the second by which it wants to look again (runs too young to
 * judge, or the rate limit), 0 for none. */
cw_time sweep_queued(daemon_state *d)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;
        int64_t now = cw_clock_now(d->clock), mono = cw_clock_mono_us();
        bool young = false;

        if (!d->sweep_due)
                return 0;
        if (d->swept && mono - d->swept < SWEEP_EVERY_US)
                return (cw_time)(now / 1000000) + 1;
        d->swept = mono;
        d->sweep_due = false;
        f.status = CW_RUN_QUEUED;
        if (cw_store_runs_list(d->store, &f, &runs, &n) < 0)
                return 0;
        for (size_t i = n; i-- > 0;) {
                const cw_run *q = &runs[i];
                _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};

                if ((q->node && d->cfg->node && strcmp(q->node, d->cfg->node) != 0) ||
                    daemon_waiting_has(d, q->id))
                        continue;
                if (q->started_us > now - SWEEP_AGE_US) {
                        young = true;
                        continue;
                }
                if (cw_control_queued_fate(d->cfg, q, false) != CW_QUEUED_MAY_HAVE_RUN)
                        continue;
                queued_lost(d, q,
                            cw_job_resolve(d->cfg, d->store, q->job, &ref, NULL) == 0 ? ref.job
                                                                                      : NULL,
                            CW_QUEUED_MAY_HAVE_RUN, now);
        }
        cw_runs_free(runs, n);
        d->sweep_due = young;
        return young ? (cw_time)(now / 1000000) + 1 : 0;
}
