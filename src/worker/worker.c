/* worker.c - one run of a job, supervised (worker.h, docs/running.md):
 * the run's records and the order of the steps.
 *
 * cw_worker_run goes through four steps:
 *   1. Lock and record: take the job's lock (cleaning up after a holder
 *      that died with it, see clean_dead_holder), insert the run as
 *      running (or take over the run the daemon queued), write the lock's
 *      holder record.
 *   2. Start (job_start.c): resolve the user, build the environment and
 *      argv, open the pipes, write a queued run's start record, vfork and
 *      exec. A failure from here on is recorded as a failed run, never
 *      returned: a run that was recorded always gets an outcome.
 *   3. Supervise (supervise.c) until the job and its leftovers are gone.
 *      A queued run is marked running when the burst's gate opens (see
 *      gate_settle), its store opened only then.
 *   4. Finish: record the outcome and the captured output, release the
 *      lock, restore the signal mask. */
#include "worker/worker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>

#include "base/path.h"
#include "base/sigfd.h"
#include "notify/notify.h"
#include "worker/secrets.h"
#include "worker/control.h"
#include "worker/journal.h"
#include "worker/started.h"

/* The final store write is tried again, after growing pauses, for this
 * long (a disk that is full for a moment, an unwritable file) before the
 * outcome goes to the journal (journal.h). A busy store has already been
 * waited for by the store itself. */
#define FINISH_RETRY_US (10 * 1000000LL)
/* ... or this long for a queued run never marked running: its worker still
 * holds the hand-over lock a starting daemon waits for. */
#define FINISH_RETRY_HELD_US (2 * 1000000LL)
#define FINISH_PAUSE_MIN_US (50 * 1000LL)
#define FINISH_PAUSE_MAX_US (2 * 1000000LL)

/* ---- locks and records ------------------------------------------------------ */

/* The lock was free but its file names a holder: that worker died holding
 * it. Its job got SIGKILL from the kernel (PR_SET_PDEATHSIG), but the
 * job's own children may live on in its group: kill them, so this run
 * never overlaps the last, and record the old run as lost. */
static void clean_dead_holder(cw_store *store, const cw_config *cfg, const cw_lock_holder *prev,
                              int64_t now_us)
{
        cw_run run = {0};

        if (prev->run_id <= 0 || cw_store_run_get(store, prev->run_id, &run) < 0)
                return;
        if (run.pid > 0)
                cw_proc_kill_group(run.pid, run.pid_start, SIGKILL);
        /* Lost like any other run whose worker vanished: its job's channels
         * hear of it (the old run may be another job's, with a class lock). */
        if (run.status == CW_RUN_RUNNING &&
            cw_store_run_transition(store, run.id, CW_RUN_RUNNING, CW_RUN_LOST, "worker vanished",
                                    now_us) == 0)
                (void)cw_notify_run_event(store, cfg, run.job ? cw_config_job(cfg, run.job) : NULL,
                                          run.id, CW_RUN_LOST, "worker vanished", now_us);
        cw_run_release(&run);
}

static cw_run_status outcome(const worker *w)
{
        if (w->cause == STOP_TIMEOUT)
                return CW_RUN_TIMED_OUT;
        if (w->cause == STOP_KILLED)
                return CW_RUN_KILLED;
        if (w->cause == STOP_LEASE)
                return CW_RUN_LOST;
        return w->exit_code == 0 && w->signal == 0 ? CW_RUN_SUCCEEDED : CW_RUN_FAILED;
}

/* Records the outcome, retrying for FINISH_RETRY_US (_HELD_US). */
static int finish_store(worker *w, const cw_run *run, const void *output, size_t len)
{
        int64_t end =
                cw_clock_mono_us() + (w->hold_fd >= 0 ? FINISH_RETRY_HELD_US : FINISH_RETRY_US);
        int64_t pause = FINISH_PAUSE_MIN_US;

        for (;;) {
                int r = cw_notify_finish(w->store, w->o->cfg, w->o->job, run, output, len);
                struct timespec ts;

                if (r == 0 || r == -ENOENT || r == -ETIMEDOUT || r == -EINVAL || r == -ESTALE ||
                    cw_clock_mono_us() >= end)
                        return r;
                ts.tv_sec = pause / 1000000;
                ts.tv_nsec = pause % 1000000 * 1000;
                while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
                if (pause < FINISH_PAUSE_MAX_US)
                        pause *= 2;
        }
}

/* A kill asked for by someone the signal cannot name (the admin UI, the
 * API): cw_control_kill_by wrote who into the run's reason before it
 * signalled this worker. That reason replaces "killed by signal from pid
 * N", which names only the server's process. */
static void adopt_kill_reason(worker *w)
{
        cw_run stored = {0};

        if (w->cause != STOP_KILLED || !w->store ||
            cw_store_run_get(w->store, w->run_id, &stored) < 0)
                return;
        if (stored.status == CW_RUN_RUNNING && stored.reason &&
            strncmp(stored.reason, CW_CONTROL_KILLED_BY, strlen(CW_CONTROL_KILLED_BY)) == 0)
                snprintf(w->reason, sizeof(w->reason), "%s", stored.reason);
        cw_run_release(&stored);
}

/* The run's token went stale (the cluster recorded it lost, or gave its
 * lock to another run): nothing of it is written any more. */
static int stale_error(const worker *w, cw_error *err)
{
        return cw_error_fail(err, -ESTALE,
                             "run %" PRId64 " was taken over by the cluster (its fencing token "
                             "%" PRId64 " is stale): its outcome is not recorded",
                             w->run_id, w->fence);
}

/* Records the outcome and output: 0 when recorded, 1 when the store
 * would not take it and it was kept in the journal, a negative errno
 * (err says why) when neither could be done. */
static int finish_run(worker *w, cw_run_status status, cw_error *err)
{
        _cleanup_free_ char *output = NULL;
        cw_run run = {0};
        size_t len = 0;
        bool truncated = false;
        int r;

        r = cw_capture_finish(&w->cap, &output, &len, &truncated);
        cw_secrets_mask(output, len, &w->secrets);
        if (r < 0) {
                /* Without memory for the rendering, the outcome still
                 * goes in, with no output. */
                output = NULL;
                len = 0;
        }
        run.id = w->run_id;
        run.status = status;
        run.exit_code = w->exit_code;
        run.signal = w->signal;
        run.ended_us = worker_now(w);
        run.output_size = w->cap.total;
        run.output_truncated = truncated;
        if (status == CW_RUN_KILLED)
                adopt_kill_reason(w);
        run.reason = w->reason[0] ? w->reason : NULL;
        run.fence = w->fence;
        r = finish_store(w, &run, output, len);
        if (r == 0 || r == -ENOENT)
                return 0;
        /* The cluster has the last word on a run whose token went stale. */
        if (r == -ESTALE && w->fence > 0) {
                w->stale = true;
                return stale_error(w, err);
        }
        /* The store will not take it (a full disk, an unwritable file): keep
         * the outcome for the next process that opens the store, so the run
         * is not recorded lost when it ended. */
        if (cw_journal_write(w->o->cfg->data_dir, &run, output, len) == 0)
                return 1;
        return cw_error_fail(err, r, "cannot record the outcome of run %" PRId64 ": %s", w->run_id,
                             cw_store_error_text(w->store, r));
}

/* Blocks the worker's signals (read from the signalfd instead) and makes
 * SIGCHLD's disposition the default: with SIG_IGN or SA_NOCLDWAIT, which
 * a caller may have set, the kernel would reap the job itself and its
 * exit status would be lost. */
static int setup_signals(worker *w, sigset_t *ret_old, struct sigaction *ret_old_chld)
{
        static const int ours[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGPIPE, 0};
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigset_t set;
        int fd;

        cw_sigset_of(&set, ours);
        fd = cw_sigfd_open(&set, NULL, ret_old);
        if (fd < 0)
                return fd;
        w->sig_fd = fd;
        sigaction(SIGCHLD, &dfl, ret_old_chld);
        return 0;
}

/* Puts the caller's mask back. SIGPIPE and SIGHUP that arrived since the
 * last read were ours to ignore: consumed first so they do not hit the
 * caller. SIGTERM/SIGINT stay pending for the caller to see. */
static void restore_signals(worker *w, const sigset_t *old, const struct sigaction *old_chld)
{
        static const struct timespec zero = {0, 0};
        sigset_t ours;

        sigemptyset(&ours);
        if (!sigismember(old, SIGPIPE))
                sigaddset(&ours, SIGPIPE);
        if (!sigismember(old, SIGHUP))
                sigaddset(&ours, SIGHUP);
        while (sigtimedwait(&ours, NULL, &zero) > 0)
                ;
        close_fd(&w->sig_fd);
        sigaction(SIGCHLD, old_chld, NULL);
        sigprocmask(SIG_SETMASK, old, NULL);
}

/* A queued run's store: the caller's, or cfg's opened now (w->owned).
 * Opening it only when needed keeps the store off the path between the
 * fire and the job's exec. Reopened (worker_store_park), it carries the
 * run's fencing token again. */
int worker_queued_store(worker *w, cw_error *err)
{
        int r = 0;

        if (!w->store) {
                r = cw_store_open(w->o->cfg->store, w->o->cfg->data_dir, &w->owned, err);
                if (r == 0)
                        w->store = w->owned;
                if (r == 0)
                        cw_store_set_clock(w->store, w->o->clock);
                if (r == 0 && w->fence > 0 && w->run_id > 0)
                        (void)cw_store_run_fence(w->store, w->run_id, w->fence);
        }
        if (r == 0 && w->park_idle && w->store == w->owned)
                w->park_at = cw_clock_mono_us() + CW_WORKER_STORE_IDLE_US;
        return r;
}

void worker_store_park(worker *w)
{
        w->park_at = 0;
        if (!w->owned || w->store != w->owned)
                return;
        cw_store_close(w->owned);
        w->owned = NULL;
        w->store = NULL;
}

/* A queued run that will not start (its lock is held, or set-up failed):
 * recorded on its row, which the starter already reported as started. */
static void queued_not_started(worker *w, cw_run_status status, const char *reason, int64_t now_us)
{
        cw_error e;

        if (worker_queued_store(w, &e) == 0 &&
            cw_store_run_transition(w->store, w->run_id, CW_RUN_QUEUED, status, reason, now_us) ==
                    0)
                (void)cw_notify_run_event(w->store, w->o->cfg, w->o->job, w->run_id, status, reason,
                                          now_us);
}

/* The job runs: mark the queued run running with the pids. A store that
 * cannot be opened is tried again at the end; the job is supervised
 * regardless. */
static void queued_mark(worker *w)
{
        cw_error e;
        int r;

        if (w->marked || w->pid == 0 || w->stale)
                return;
        worker_job_start_known(w);
        r = worker_queued_store(w, &e);
        if (r == 0)
                r = cw_notify_run_started(w->store, w->o->cfg, w->o->job, w->run_id, getpid(),
                                          w->pid, w->pid_start, worker_now(w));
        if (r == 0) {
                w->marked = true;
                worker_unmark(w);
                close_fd(&w->hold_fd);
                /* A lock the daemon took: its row names this worker now. */
                if (w->adopted && w->lease_key)
                        worker_cluster_run_known(w);
        } else if (r == -ESTALE && w->fence > 0) {
                /* Recorded otherwise by the cluster meanwhile (lost): its
                 * decision stands, and the job stops. */
                worker_unmark(w);
                close_fd(&w->hold_fd);
                worker_fenced_out(w, "marking it running");
        }
}

/* The gate opened (EOF: every job of the burst is exec'd, or the starter
 * is gone): the bookkeeping waits CW_WORKER_GATE_SETTLE_US more, plus its
 * place in the burst times CW_WORKER_GATE_STAGGER_US (worker.h; the
 * _SHARED_ values on a shared store), so the burst's last jobs, exec'd
 * but still in their dynamic loader, are not held up by the whole burst's
 * workers opening the store at once. */
void worker_gate_settle(worker *w)
{
        bool shared = worker_in_cluster(w->o->cfg);
        int64_t rank = w->o->gate_rank > 0 ? w->o->gate_rank : 0;
        int64_t burst = w->o->gate_burst ? __atomic_load_n(w->o->gate_burst, __ATOMIC_ACQUIRE) : 0;
        int64_t settle = CW_WORKER_GATE_SETTLE_US, wait, max;

        if (burst < rank + 1)
                burst = rank + 1; /* a later burst's size, or none */
        if (shared)
                settle = CW_WORKER_GATE_SETTLE_SHARED_US + burst * CW_WORKER_GATE_BURST_SHARED_US;
        wait = settle +
               rank * (shared ? CW_WORKER_GATE_STAGGER_SHARED_US : CW_WORKER_GATE_STAGGER_US);
        max = settle + CW_WORKER_GATE_STAGGER_MAX_US;
        if (shared && max > cw_worker_lease_us(w->o->cfg) / 4)
                max = cw_worker_lease_us(w->o->cfg) / 4;
        close_fd(&w->gate_fd);
        w->gate_at = cw_clock_mono_us() + (wait < max ? wait : max);
}

/* The gate opened and settled, or its time ran out: the bookkeeping held
 * back is done now. */
void worker_gate_open(worker *w)
{
        close_fd(&w->gate_fd);
        w->gate_at = 0;
        queued_mark(w);
}

/* Before the outcome is written: wait out the gate if the job was quicker. */
static void gate_wait(worker *w)
{
        while (w->gate_fd >= 0) {
                int64_t left = w->gate_at - cw_clock_mono_us();
                struct pollfd p = {.fd = w->gate_fd, .events = POLLIN};

                if (left <= 0)
                        break;
                if (poll(&p, 1, (int)((left + 999) / 1000)) != 0) {
                        worker_gate_settle(w);
                        break;
                }
        }
        close_fd(&w->gate_fd);
        /* Opened, or settling (gate_settle): sleep out the rest. */
        while (w->gate_at > 0) {
                int64_t left = w->gate_at - cw_clock_mono_us();
                struct timespec ts = {.tv_sec = left / 1000000, .tv_nsec = left % 1000000 * 1000};

                if (left <= 0 || nanosleep(&ts, NULL) == 0)
                        break;
        }
        w->gate_at = 0;
}

/* In a cluster a queued run opens the store before its job (for its
 * token and lock): a burst's workers do so one after another, by their
 * place in it as the gate does (worker.h), instead of all at once, which
 * could exceed the server's connections. */
static void burst_stagger(const worker *w)
{
        int64_t us =
                (int64_t)(w->o->gate_rank > 0 ? w->o->gate_rank : 0) * CW_WORKER_GATE_STAGGER_US;
        struct timespec ts;

        if (us > CW_WORKER_GATE_STAGGER_MAX_US)
                us = CW_WORKER_GATE_STAGGER_MAX_US;
        ts = (struct timespec){.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};
        while (us > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int cw_worker_run(cw_store *store, const cw_worker_opts *opts, cw_worker_result *ret, cw_error *err)
{
        const cw_config *cfg = opts->cfg;
        const cw_job *job = opts->job;
        _cleanup_(cw_lock_releasep) cw_lock *lock = NULL;
        char key[CW_LOCK_KEY_MAX + 1] = "", locks_dir[4096];
        cw_lock_holder prev = {0};
        worker w = {
                .store = store,
                .o = opts,
                .job = job,
                .run_id = opts->run_id,
                .gate_fd = opts->run_id > 0 && opts->gate_fd > 0 ? opts->gate_fd : -1,
                .started_fd = opts->run_id > 0 && opts->started_fd > 0 ? opts->started_fd : -1,
                .hold_fd = opts->run_id > 0 && opts->hold_fd > 0 ? opts->hold_fd : -1,
                .sig_fd = -1,
                .timer_fd = -1,
                .out_fd = -1,
                .prog_fd = -1,
                .err_fd = -1,
                .mark_fd = -1,
                .tee_fd = opts->tee_fd > 0 ? opts->tee_fd : -1,
                .exit_code = -1,
                .prog_done = -1,
                .prog_total = -1,
        };
        int64_t started_us = opts->now_us ? opts->now_us : worker_now(&w);
        bool queued = opts->run_id > 0;
        int subreaper = 0;
        bool use_lock;
        struct sigaction old_chld;
        sigset_t old_mask;
        cw_run run = {0};
        struct stat st;
        int r;

        cw_error_clear(err);
        if (!queued && !store)
                return cw_error_fail(err, -EINVAL, "no store to record the run in");
        use_lock = !opts->ignore_lock && cw_lock_key(job, opts->spec_text, key, sizeof(key)) == 0;
        /* Signals are ours from here: a SIGTERM while setting up waits in
         * the signalfd and stops the job as soon as it runs. */
        r = setup_signals(&w, &old_mask, &old_chld);
        if (r < 0) {
                cw_error_fail(err, r, "cannot take over signals: %s", strerror(-r));
                if (queued)
                        queued_not_started(&w, CW_RUN_FAILED, err->msg, started_us);
                return r;
        }

        /* Taken by the daemon with the run's claim (cluster_lock.c): from
         * here every way out frees the lease (worker_cluster_drop). */
        if (queued && worker_in_cluster(cfg)) {
                w.park_idle = true;
                (void)worker_cluster_adopt(&w, use_lock ? key : NULL);
        }

        if (use_lock) {
                r = cw_path_join(locks_dir, sizeof(locks_dir), cfg->data_dir, "locks");
                if (r == 0)
                        r = cw_lock_acquire(locks_dir, key, &lock, &prev);
                if (r == -EBUSY) {
                        *ret = (cw_worker_result){
                                .run_id = w.run_id, .exit_code = -1, .holder = prev};
                        cw_error_fail(err, r, "lock '%s' is held by pid %d (run %" PRId64 ")", key,
                                      ret->holder.pid, ret->holder.run_id);
                        if (queued) {
                                char why[200];

                                if (prev.run_id > 0)
                                        snprintf(why, sizeof(why),
                                                 "the job's lock is held by run %" PRId64
                                                 " (pid %d)",
                                                 prev.run_id, prev.pid);
                                else
                                        snprintf(
                                                why, sizeof(why),
                                                "the job's lock is held by pid %d (a run still starting)",
                                                prev.pid);
                                queued_not_started(&w, CW_RUN_SKIPPED, why, worker_now(&w));
                        }
                        goto out_signals;
                }
                if (r < 0) {
                        if (r == -ENAMETOOLONG) /* the problem first: the path fills the message */
                                cw_error_fail(
                                        err, r,
                                        "cannot take lock '%s': data_dir is too long a path (%zu bytes): '%s'",
                                        key, strlen(cfg->data_dir), cfg->data_dir);
                        else
                                cw_error_fail(err, r, "cannot take lock '%s' in '%s': %s", key,
                                              locks_dir, strerror(-r));
                        if (queued)
                                queued_not_started(&w, CW_RUN_FAILED, err->msg, worker_now(&w));
                        goto out_signals;
                }
                if (prev.run_id > 0) {
                        cw_error e;

                        /* Rare (a worker died holding the lock): worth the
                         * store before the job, whose run must not overlap. */
                        if (worker_queued_store(&w, &e) == 0)
                                clean_dead_holder(w.store, cfg, &prev, started_us);
                }
                /* Label the lock at once (run id 0 until the run is
                 * recorded): a loser reading it meanwhile learns the pid
                 * and waits for the id (lock.c) instead of seeing nothing. */
                {
                        cw_lock_holder h0 = {
                                .pid = getpid(), .run_id = w.run_id, .since_us = started_us};

                        snprintf(h0.node, sizeof(h0.node), "%s", cfg->node ? cfg->node : "");
                        (void)cw_lock_set_holder(lock, &h0);
                }
        }

        /* On a store nodes share, the lock that counts is the cluster's,
         * and every run takes a fencing token (cluster_lock.c). The lock
         * file above stays: it tells this node's `status` and recovery
         * which process holds the run. */
        if (worker_in_cluster(cfg) && !w.adopted) {
                cw_lock_holder ch = {0};

                if (queued)
                        burst_stagger(&w);
                r = queued ? worker_queued_store(&w, err) : 0;
                if (r == 0)
                        r = worker_cluster_take(&w, use_lock ? key : NULL, &ch, err);
                /* Until the burst's gate opens, as without a cluster: a
                 * burst's workers do not all hold a connection at once. */
                if (r == 0 && queued)
                        worker_store_park(&w);
                if (r == -EBUSY) {
                        *ret = (cw_worker_result){
                                .run_id = w.run_id, .exit_code = -1, .holder = ch};
                        if (queued) {
                                char why[200];

                                snprintf(why, sizeof(why),
                                         "the job's lock is held by run %" PRId64
                                         " on node %s (pid %d)",
                                         ch.run_id, ch.node, ch.pid);
                                queued_not_started(&w, CW_RUN_SKIPPED, why, worker_now(&w));
                        }
                        goto out_signals;
                }
                if (r < 0) {
                        if (queued)
                                queued_not_started(&w, CW_RUN_FAILED, err->msg, worker_now(&w));
                        goto out_signals;
                }
        }

        if (!queued) {
                run.job = job->name;
                run.spec = (char *)opts->spec_text;
                run.node = cfg->node;
                run.status = CW_RUN_RUNNING;
                run.trigger = opts->trigger;
                run.attempt = opts->attempt > 0 ? opts->attempt : 1;
                run.scheduled_at = opts->scheduled_at;
                run.started_us = started_us;
                run.worker_pid = getpid();
                run.exit_code = -1;
                run.progress_done = -1;
                run.progress_total = -1;
                run.lock_key = use_lock ? key : NULL;
                run.resumed_from = opts->resumed_from;
                run.fence = w.fence;
                r = cw_store_run_insert(store, &run);
                if (r < 0) {
                        cw_error_fail(err, r, "cannot record the run: %s",
                                      cw_store_error_text(store, r));
                        goto out_signals;
                }
                w.run_id = run.id;
                worker_cluster_run_known(&w);
                if (lock) {
                        cw_lock_holder h = {
                                .pid = getpid(), .run_id = run.id, .since_us = started_us};

                        snprintf(h.node, sizeof(h.node), "%s", cfg->node ? cfg->node : "");
                        /* The lock itself is held; the record is only its label. */
                        (void)cw_lock_set_holder(lock, &h);
                }
        }

        /* From here the run is recorded: every failure becomes its outcome. */
        r = cw_capture_init(&w.cap, cfg->max_output ? (size_t)cfg->max_output : 1024 * 1024);
        w.buf = malloc(BUF_SIZE);
        w.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (r < 0 || !w.buf) {
                set_reason(&w, "out of memory");
        } else if (w.timer_fd < 0) {
                set_reason(&w, "cannot start the job: timerfd: %s", strerror(errno));
        } else {
                if (w.tee_fd >= 0 && fstat(w.tee_fd, &st) == 0)
                        w.tee_chunked = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
                prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
                w.n_host_children =
                        cw_proc_children(NULL, 0, w.host_children, WORKER_HOST_CHILDREN_MAX);
                prctl(PR_SET_CHILD_SUBREAPER, 1UL);
                r = worker_start_job(&w, started_us);
                /* Started (or not to be): the burst's gate need not wait for us. */
                close_fd(&w.started_fd);
                if (r == 0) {
                        w.now = cw_clock_mono_us();
                        if (job->timeout > 0)
                                w.timeout_at = w.now + (int64_t)job->timeout * 1000000;
                        if (job->max_runtime > 0)
                                w.warn_at = w.now + (int64_t)job->max_runtime * 1000000;
                        if (queued) {
                                /* The job runs: now the bookkeeping, unless
                                 * the gate holds it back (then worker_supervise()
                                 * does it when the gate opens). */
                                if (w.gate_fd >= 0)
                                        w.gate_at = w.now + CW_WORKER_GATE_MAX_US;
                                else
                                        queued_mark(&w);
                        } else {
                                worker_job_start_known(&w);
                                (void)cw_store_run_set_pid(store, w.run_id, w.pid, w.pid_start);
                                /* Outside the daemon the run sends its own start. */
                                if (cw_notify_run_event(store, cfg, job, w.run_id, CW_RUN_RUNNING,
                                                        NULL, started_us) == 0 &&
                                    opts->deliver)
                                        opts->deliver(store, cfg, job, w.run_id,
                                                      CW_NOTIFY_TOTAL_TIMEOUT_MS * 1000LL);
                        }
                        if (opts->on_started)
                                opts->on_started(opts->userdata, w.run_id, w.pid);
                        worker_supervise(&w);
                        worker_store_progress(&w);
                }
                prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)subreaper);
        }
        /* A run that failed before its job started is recorded all the
         * same, and the caller still learns its id. */
        if (w.pid == 0 && opts->on_started)
                opts->on_started(opts->userdata, w.run_id, 0);
        if (w.foreign) {
                /* Another worker's run: neither marked nor recorded here. */
                r = cw_error_fail(err, -EEXIST, "%s", w.reason);
                *ret = (cw_worker_result){
                        .run_id = w.run_id, .status = CW_RUN_FAILED, .exit_code = -1};
                goto out_job;
        }
        if (queued) {
                gate_wait(&w);
                queued_mark(&w);
        }
        r = queued ? worker_queued_store(&w, err) : 0;
        if (r == 0 && w.stale)
                r = stale_error(&w, err);
        else if (r == 0)
                r = finish_run(&w, w.pid == 0 ? CW_RUN_FAILED : outcome(&w), err);
        /* Recorded: the start record has done its work. Not recorded: it
         * stays, and recovery records the run as lost, never runs it again.
         * Kept in the journal (1): it stays too, should recovery look at the
         * run before the journal is replayed. */
        if (r == 0)
                worker_unmark(&w);
        /* The daemon's sender delivers its runs' notifications; others
         * deliver their own (the rest waits for the next tick). */
        if (r == 0 && !queued && opts->deliver)
                opts->deliver(store, cfg, job, w.run_id, 3 * CW_NOTIFY_TOTAL_TIMEOUT_MS * 1000LL);
        if (r > 0)
                r = 0;
        *ret = (cw_worker_result){
                .run_id = w.run_id,
                .status = w.pid == 0 ? CW_RUN_FAILED : outcome(&w),
                .exit_code = w.exit_code,
                .signal = w.signal,
        };
out_job:
        cw_capture_release(&w.cap);
        cw_strv_release(&w.secrets);
        free(w.buf);
        close_fd(&w.timer_fd);
        close_fd(&w.out_fd);
        close_fd(&w.prog_fd);
        close_fd(&w.err_fd);
out_signals:
        worker_cluster_drop(&w);
        close_fd(&w.mark_fd);
        close_fd(&w.started_fd);
        close_fd(&w.gate_fd);
        close_fd(&w.hold_fd);
        cw_store_close(w.owned);
        restore_signals(&w, &old_mask, &old_chld);
        return r;
}
