/* daemon.c - the scheduler daemon's event loop (see daemon.h).
 *
 * One thread, one poll() on six descriptors: a signalfd, a timerfd, the
 * spawner's socket, the watch on the zone files (daemon_time.c), and on
 * a cluster's store the heartbeat timer (cluster.c) and the connection
 * that hears other nodes' commands (remote.c). Every
 * wake-up but a zone directory's unrelated news runs a full pass, which is
 * idempotent (claims) and knows from the store what is due; the pass also
 * says when the next thing is due, and the timer is armed for exactly
 * that second. So the daemon wakes only when there is work, a signal, a
 * wall-clock change or a zone file change.
 *
 * Starting a run (start_worker, handover.c): the fire is already claimed; the run is
 * inserted as queued, with its id, and handed to the spawner, which forks
 * its worker; nothing waits for the worker. The spawner is restarted when
 * it dies and replaced on every reload, so workers always run the config
 * the daemon accepted. Runs left queued by a daemon that died between
 * inserting and handing over are swept as lost at the next start. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/array.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/iso8601.h"
#include "base/path.h"
#include "base/sigfd.h"
#include "http/http.h"
#include "catalog/entries.h"
#include "daemon/cluster.h"
#include "daemon/snapshot.h"
#include "daemon/spawner.h"
#include "notify/notify.h"
#include "daemon/daemon_internal.h"
#include "daemon/tzwatch.h"
#include "sched/drain.h"
#include "sched/worker_locks.h"
#include "worker/control.h"
#include "worker/journal.h"
#include "worker/lock.h"

/* One log line: a timestamp (or a syslog priority under systemd), the
 * level, then key=value pairs given by fmt. */
_printf_(3, 4) void logline(daemon_state *d, const char *level, const char *fmt, ...)
{
        cw_buf line = CW_BUF_INIT(64 * 1024);
        char when[CW_ISO8601_MAX] = "";
        va_list ap;

        if (!d->o->log)
                return;
        pthread_mutex_lock(&d->log_lock);
        if (d->journal) {
                int prio = strcmp(level, "error") == 0 ? 3 : strcmp(level, "warning") == 0 ? 4 : 6;
                cw_buf_printf(&line, "<%d>", prio);
        } else {
                cw_time t = cw_instant_sec(cw_clock_now(d->clock));

                cw_iso8601_format(t, d->cfg ? cw_tz_utoff(d->cfg->tz, t) : 0, when, sizeof(when));
                cw_buf_printf(&line, "%s ", when);
        }
        cw_buf_printf(&line, "level=%s ", level);
        va_start(ap, fmt);
        cw_buf_vprintf(&line, fmt, ap);
        va_end(ap);
        cw_buf_putc(&line, '\n');
        /* One write per line: a burst of fires logs a thousand lines,
         * and other threads' lines never land inside one. */
        if (cw_buf_error(&line) == 0) {
                fwrite(line.p, 1, line.len, d->o->log);
                fflush(d->o->log);
        } else {
                fprintf(d->o->log, "%s level=error event=error what=log error=%s\n", when,
                        strerror(-cw_buf_error(&line)));
                fflush(d->o->log);
        }
        pthread_mutex_unlock(&d->log_lock);
        cw_buf_release(&line);
}

/* A value for key=value: quoted when it has spaces or quotes. */
const char *quoted(const char *s, char *buf, size_t size)
{
        size_t o = 0;

        if (!s)
                return "-";
        if (!strpbrk(s, " \"=\t") && s[0])
                return s;
        buf[o++] = '"';
        for (; *s && o + 3 < size; s++) {
                if (*s == '"' || *s == '\\')
                        buf[o++] = '\\';
                buf[o++] = *s == '\n' ? ' ' : *s;
        }
        buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}

static void on_action(void *userdata, const cw_sched_action *a)
{
        daemon_state *d = userdata;
        char fire[CW_ISO8601_MAX], q1[256], q2[512];

        cw_iso8601_format(a->scheduled_at, cw_tz_utoff(a->job->tz, a->scheduled_at), fire,
                          sizeof(fire));
        if (a->kind == CW_SCHED_QUEUED)
                return; /* waiting.c says when it starts, or why it waits */
        if (a->kind == CW_SCHED_STARTED)
                daemon_run_watch(d, a->run_id);
        logline(d, a->kind == CW_SCHED_FAILED ? "error" : "info",
                "event=%s run=%" PRId64 " job=%s spec=%s fire=%s trigger=%s attempt=%d%s%s",
                cw_sched_action_kind_to_string(a->kind), a->run_id, a->job->name,
                quoted(a->spec, q1, sizeof(q1)), fire, cw_trigger_to_string(a->trigger), a->attempt,
                a->reason ? " reason=" : "", a->reason ? quoted(a->reason, q2, sizeof(q2)) : "");
}

static cw_sched_opts pass_opts(daemon_state *d)
{
        cw_instant now = cw_clock_now(d->clock);
        cw_sched_opts o = {
                .cfg = d->cfg,
                .store = d->store,
                .start = start_worker,
                .locks = cw_sched_worker_locks(),
                .on_action = on_action,
                .flush = daemon_flush_hook,
                .userdata = d,
        };

        o.now = now;
        if (d->cluster) {
                o.claim_delay = daemon_cluster_claim_delay;
                o.last_pass_key = daemon_cluster_last_pass_key(d);
                o.fires_done = daemon_fires_done_hook;
        }
        o.config_at = d->config_at;
        o.up_since = d->boot;
        return o;
}

/* Logs each line of a load's diff (event=config_change) and records the
 * running text's version and the diff in the store for the admin UI. */
static void log_changes(daemon_state *d, const char *text, size_t len, const char *diff)
{
        char q[600];
        int r;

        for (const char *p = diff; p && *p;) {
                size_t n = strcspn(p, "\n");
                char line[512];
                snprintf(line, sizeof(line), "%.*s", (int)n, p);
                logline(d, "info", "event=config_change change=%s", quoted(line, q, sizeof(q)));
                p += n + (p[n] ? 1 : 0);
        }
        r = cw_snapshot_record(d->store, text, len, diff, d->config_at);
        if (r < 0)
                logline(d, "error", "event=error what=config_record error=%s", strerror(-r));
}

int daemon_config_text(const daemon_state *d, char **ret, size_t *ret_len)
{
        return cw_config_read_file(d->snapshot, ret, ret_len);
}

int parse_config(daemon_state *d, const char *text, size_t len, cw_config **ret, cw_error *err)
{
        cw_config_opts opts = {.zoneinfo_dir = d->o->zoneinfo_dir,
                               .now = cw_instant_sec(cw_clock_now(d->clock)),
                               .function = d->o->function,
                               .function_userdata = d->o->function_userdata};
        cw_config_errors errs = {0};
        int r;

        r = cw_config_load_string(d->o->config_path, text, len, &opts, ret, &errs);
        if (r < 0)
                cw_error_fail(err, r, "%s%s", errs.n ? errs.msgs[0] : strerror(-r),
                              errs.n > 1 ? " (and more: run 'cronwarden check')" : "");
        cw_config_errors_release(&errs);
        return r;
}

/* Reads the config file once and parses that text, giving both; the
 * caller keeps the text as the snapshot (cw_snapshot_write) once it accepts
 * the config: a config file edited or broken under a running daemon then
 * changes nothing until a reload accepts it. */
static int load_config(daemon_state *d, cw_config **ret, char **ret_text, size_t *ret_len,
                       cw_error *err)
{
        _cleanup_free_ char *text = NULL;
        cw_time now = cw_instant_sec(cw_clock_now(d->clock));
        size_t len = 0;
        int r;

        r = cw_config_read_file(d->o->config_path, &text, &len);
        if (r < 0)
                return cw_error_fail(err, r, "cannot read '%s': %s", d->o->config_path,
                                     strerror(-r));
        r = parse_config(d, text, len, ret, err);
        if (r < 0)
                return r;
        /* data_dir must exist to hold the snapshot (the store creates it too). */
        (void)mkdir((*ret)->data_dir, 0700);
        *ret_text = CW_TAKE_PTR(text);
        *ret_len = len;
        d->loaded_at = now;
        return 0;
}

/* data_dir holds lock files: any user who can open one can flock it and
 * make every fire of its job `skipped`, or keep the daemon from starting.
 * It is created 0700; one made wider (by an older cronwarden, or by hand)
 * and owned by us is narrowed, loudly, so its files cannot be opened by
 * other users. One owned by another user is only reported. */
static void private_data_dir(daemon_state *d)
{
        struct stat st;

        if (stat(d->cfg->data_dir, &st) < 0 || !(st.st_mode & 077))
                return;
        if (st.st_uid == geteuid() && chmod(d->cfg->data_dir, st.st_mode & 0700) == 0) {
                logline(d, "warning",
                        "event=error what=data_dir path=%s mode=%04o action=chmod_0700 "
                        "why=\"other users could open and lock its files\"",
                        d->cfg->data_dir, (unsigned)(st.st_mode & 07777));
                return;
        }
        logline(d, "warning",
                "event=error what=data_dir path=%s mode=%04o uid=%u "
                "why=\"other users can open and lock its files: make it 0700\"",
                d->cfg->data_dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
}

/* data_dir/daemon.pid, flocked for the daemon's life: one daemon per store. */
static int take_pid_file(daemon_state *d, cw_error *err)
{
        char path[4096], buf[32];
        int n;

        if (cw_path_join(path, sizeof(path), d->cfg->data_dir, CW_DAEMON_PID_FILE) < 0)
                return cw_error_fail(err, -ENAMETOOLONG,
                                     "data_dir is too long a path (%zu bytes): '%s'",
                                     strlen(d->cfg->data_dir), d->cfg->data_dir);
        d->pid_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (d->pid_fd < 0)
                return cw_error_fail(err, -errno, "cannot open '%s': %s", path, strerror(errno));
        if (flock(d->pid_fd, LOCK_EX | LOCK_NB) < 0) {
                int e = errno;
                ssize_t k = pread(d->pid_fd, buf, sizeof(buf) - 1, 0);
                buf[k > 0 ? k : 0] = '\0';
                buf[strcspn(buf, "\n")] = '\0';
                if (e == EWOULDBLOCK)
                        return cw_error_fail(err, -EBUSY,
                                             "another daemon (pid %s) is running on '%s'",
                                             buf[0] ? buf : "?", d->cfg->data_dir);
                return cw_error_fail(err, -e, "cannot lock '%s': %s", path, strerror(e));
        }
        d->pid_locked = true;
        n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (ftruncate(d->pid_fd, 0) < 0 || pwrite(d->pid_fd, buf, (size_t)n, 0) != n)
                return cw_error_fail(err, -errno, "cannot write '%s': %s", path, strerror(errno));
        return 0;
}

static int setup_fds(daemon_state *d, cw_error *err)
{
        static const int signals[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, 0};
        sigset_t set;

        cw_sigset_of(&set, signals);
        if (d->o->step_file)
                sigaddset(&set, SIGUSR2);
        d->sig_fd = cw_sigfd_open(&set, NULL, &d->old_mask);
        if (d->sig_fd < 0) {
                int r = d->sig_fd;

                d->sig_fd = -1;
                return cw_error_fail(err, r, "cannot read signals (signalfd): %s", strerror(-r));
        }
        d->timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
        if (d->timer_fd < 0)
                return cw_error_fail(err, -errno, "timerfd: %s", strerror(errno));
        return 0;
}

/* Arms the timer for second `wake` (0: nothing scheduled, far away), so a
 * wall-clock change still wakes us (CANCEL_ON_SET) and the plan is redone.
 * On a test's clock (not the system's) the timer runs for the time left
 * instead: the kernel knows nothing of that clock's instants. */
static void arm(daemon_state *d, cw_time wake)
{
        struct itimerspec its = {0};
        cw_instant now = cw_clock_now(d->clock);
        int flags = TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET;

        if (!wake)
                wake = cw_instant_sec(now) + 366 * 86400;
        if (cw_clock_is_real(d->clock)) {
                its.it_value.tv_sec = wake;
        } else {
                int64_t left = cw_instant_from_sec(wake) - now;

                flags = 0;
                its.it_value.tv_sec = left > 0 ? left / CW_US_PER_SEC : 0;
                its.it_value.tv_nsec = left > 0 ? left % CW_US_PER_SEC * 1000 : 1;
        }
        /* ECANCELED: the wall clock was set since the timer was armed and
         * not read yet; the timer is armed anyway (timerfd_create(2)),
         * and the next read reports the change (daemon_timer_read). */
        if (timerfd_settime(d->timer_fd, flags, &its, NULL) < 0 && errno != ECANCELED)
                logline(d, "error", "event=error what=timerfd_settime error=%s", strerror(errno));
}

/* Before a long sleep (the next wake-up over a minute away, or none: an
 * idle daemon), gives back the store's page cache and the heap's free
 * pages, which glibc otherwise keeps mapped: what loading the config and
 * the first pass used would stay in an idle daemon's RSS (about 1.9 MiB
 * with 10 000 jobs; bench/README.md, "Idle"). A daemon with fires every
 * minute or more often never pays it; malloc_trim takes well under a
 * millisecond otherwise. */
static void shed_memory(daemon_state *d, cw_time wake)
{
        if (wake && wake - cw_instant_sec(cw_clock_now(d->clock)) <= 60)
                return;
        (void)cw_store_release_memory(d->store);
        (void)malloc_trim(0);
}

/* Adds the UI-created entries (catalog/entries.h) to a pass: read from the
 * store each time, so an entry saved by any process fires without a
 * reload. A store error leaves them out of this pass only. The caller
 * frees *ret with cw_schedule_entries_free. */
static void add_ui_entries(daemon_state *d, cw_sched_opts *o, cw_schedule_entry **ret,
                           size_t *ret_n)
{
        int r = cw_ui_entries_load(d->cfg, d->store, cw_instant_sec(o->now), ret, ret_n, NULL);

        if (r < 0) {
                logline(d, "error", "event=error what=ui_entries error=%s", cw_store_strerror(r));
                *ret = NULL;
                *ret_n = 0;
        }
        o->extra_entries = *ret;
        o->n_extra_entries = *ret_n;
}

/* Outcomes workers could not record (journal.h) go in before the pass
 * looks at the runs. Cheap when there are none (no directory). */
static void replay_journal(daemon_state *d)
{
        size_t n = 0;
        int r = cw_journal_replay(d->store, d->cfg->data_dir, &n);

        if (n)
                logline(d, "info", "event=journal_replay recorded=%zu", n);
        if (r < 0)
                logline(d, "warning",
                        "event=error what=journal_replay error=%s action=retry_next_pass",
                        cw_store_strerror(r));
}

/* The store's file deleted or replaced under the daemon (rm, a restore
 * from a copy): every other process now opens the new file, so claiming
 * in the old one would run each fire twice. Checked once per pass (one
 * stat); the daemon says so loudly and moves to the new file, or, when it
 * cannot open it, claims nothing until it can (-ESTALE). */
static int follow_store_file(daemon_state *d)
{
        cw_store *fresh = NULL;
        cw_error e;
        char q[600];
        int r = cw_store_same_file(d->store);

        if (r != -ESTALE)
                return 0;
        cw_error_clear(&e);
        r = cw_store_open(d->cfg->store, d->cfg->data_dir, &fresh, &e);
        if (r < 0) {
                logline(d, "error", "event=error what=store error=%s action=stop_claiming",
                        quoted(e.msg[0] ? e.msg : cw_store_strerror(r), q, sizeof(q)));
                return -ESTALE;
        }
        logline(d, "error", "event=error what=store error=%s action=reopened",
                quoted("the store's file was deleted or replaced while the daemon ran: its history "
                       "is gone from here on; the daemon now uses the file at its path",
                       q, sizeof(q)));
        daemon_run_watch_free(d);
        cw_store_close(d->store);
        d->store = fresh;
        return 0;
}

/* The store's server went away or came back (a PostgreSQL restart, a
 * network cut): one line each way, however many attempts it took. */
static void store_link(void *userdata, bool up, const char *why)
{
        daemon_state *d = userdata;
        cw_instant now = cw_clock_now(d->clock);
        char q[400];

        if (!up) {
                d->link_lost_at = now;
                logline(d, "error", "event=store_unreachable error=%s action=reconnecting",
                        quoted(why, q, sizeof(q)));
                return;
        }
        logline(d, "info", "event=store_reachable down_ms=%lld",
                (long long)((now - d->link_lost_at) / 1000));
}

/* A pass failed: the first of a series is logged (the outage starts),
 * the next ones only counted, so a store away for an hour does not fill
 * the log with one line every few seconds. */
static void pass_failed(daemon_state *d, cw_instant now, const cw_error *err)
{
        char q[400];

        if (d->failed_passes++ > 0)
                return;
        d->failing_since = now;
        logline(d, "error", "event=error what=pass error=%s action=retry_every_5s",
                quoted(err->msg, q, sizeof(q)));
}

/* A pass went through: after failing ones, the outage's end is logged
 * once, with how long it lasted and how many passes failed. */
static void pass_succeeded(daemon_state *d, cw_instant now)
{
        if (d->failed_passes == 0)
                return;
        logline(d, "info", "event=recovered what=pass failed_passes=%u down_s=%lld",
                d->failed_passes,
                (long long)(cw_instant_sec(now) - cw_instant_sec(d->failing_since)));
        d->failed_passes = 0;
}

static cw_time run_pass(daemon_state *d)
{
        cw_sched_opts o = pass_opts(d);
        cw_sched_result res = {0};
        cw_time wait;
        cw_schedule_entry *ui = NULL;
        size_t n_ui = 0;
        cw_error err;
        int r;

        if (follow_store_file(d) < 0)
                return o.now + 5;
        /* A node that cannot claim (cluster.h) waits for its heartbeat
         * timer, which asks for a pass once it may again. */
        if (!daemon_cluster_may_claim(d))
                return 0;
        o.store = d->store;
        replay_journal(d);
        /* The pass's first reads, the UI's entries among them, go to the
         * store together (cw_sched_read_ahead), in the batch. */
        daemon_batch_open(d);
        cw_sched_read_ahead(&o, true);
        add_ui_entries(d, &o, &ui, &n_ui);
        cw_error_clear(&err);
        r = cw_sched_pass(&o, &res, &err);
        /* What the pass did before an error stands: its runs start. */
        daemon_flush(d);
        wait = daemon_waiting_start(d);
        cw_schedule_entries_free(ui, n_ui);
        if (r < 0) {
                pass_failed(d, o.now, &err);
                /* The store may be briefly unavailable: try again soon. */
                return cw_instant_sec(o.now) + 5;
        }
        pass_succeeded(d, o.now);
        if (res.skipped || res.missed || res.failed)
                d->notify_due = true;
        if (res.started || res.queued)
                d->runs_started = true;
        return wait && (!res.next_wake || wait < res.next_wake) ? wait : res.next_wake;
}

/* Makes n (taken) the config: passes use it, the admin server's threads
 * see it whole or not at all, a new spawner loads it, its zone files are
 * the ones watched. */
void adopt_config(daemon_state *d, cw_config *n)
{
        cw_config *old;
        cw_error err;
        char q[400];

        pthread_mutex_lock(&d->log_lock);
        old = d->cfg;
        d->cfg = n;
        pthread_mutex_unlock(&d->log_lock);
        cw_config_free(old);
        /* The sender takes the new [smtp] and public_url (copied). */
        if (d->notify)
                (void)cw_notify_sender_configure(d->notify, n);
        else
                daemon_notify_start(d);
        /* The old spawner forks what it was sent (under the old config,
         * as decided); a new one loads the new snapshot. */
        daemon_spawner_down(d);
        cw_error_clear(&err);
        if (daemon_spawner_up(d, &err) < 0)
                logline(d, "error", "event=error what=spawner error=%s action=retry_later",
                        quoted(err.msg, q, sizeof(q)));
        daemon_zones_watch(d);
}

/* A daemon starting ends a drain (`cronwarden drain` stopped the one
 * before it for a deploy): its first pass catches up what was held. */
static void end_drain(daemon_state *d)
{
        cw_time since = 0;

        if (cw_sched_drain_get(d->store, &since) == 0 && since > 0 &&
            cw_sched_drain_set(d->store, 0) == 0)
                logline(d, "info", "event=drain_ended since=%lld reason=daemon_start",
                        (long long)since);
}

static void reload(daemon_state *d)
{
        _cleanup_free_ char *text = NULL, *diff = NULL;
        cw_config *n = NULL;
        size_t len = 0;
        cw_error err;
        char q[400];

        cw_error_clear(&err);
        if (load_config(d, &n, &text, &len, &err) < 0) {
                logline(d, "error", "event=reload_failed error=%s keeping=old",
                        quoted(err.msg, q, sizeof(q)));
                return;
        }
        if (strcmp(n->data_dir, d->cfg->data_dir) != 0 || strcmp(n->store, d->cfg->store) != 0) {
                logline(d, "error", "event=reload_failed error=%s keeping=old",
                        quoted("data_dir and store cannot change while running: restart the daemon",
                               q, sizeof(q)));
                cw_config_free(n);
                return;
        }
        diff = cw_snapshot_diff(n->data_dir, d->cfg, text, len, n,
                                cw_instant_sec(cw_clock_now(d->clock)));
        if (cw_snapshot_write(n->data_dir, text, len, &err) < 0) {
                logline(d, "error", "event=reload_failed error=%s keeping=old",
                        quoted(err.msg, q, sizeof(q)));
                cw_config_free(n);
                return;
        }
        d->config_at = d->loaded_at;
        adopt_config(d, n);
        daemon_cluster_config(d);
        logline(d, "info", "event=reload jobs=%zu entries=%zu spawner=%d", n->n_jobs, n->n_entries,
                (int)d->spawner_pid);
        log_changes(d, text, len, diff);
        admin_reloaded(d, n);
}

/* Children: spawners (the current one, and old ones draining after a
 * reload), and workers a previous version of the daemon started itself.
 * Workers record their own outcome; the current spawner dying is logged
 * and it is replaced (at once, unless it died young: then when needed). */
static void reap(daemon_state *d)
{
        pid_t pid;
        int st;

        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                char detail[32];

                if (pid != d->spawner_pid) {
                        d->sweep_due = true; /* a worker of a replaced spawner */
                        d->ends_due = true;
                        continue;
                }
                snprintf(detail, sizeof(detail), "%s=%d", WIFSIGNALED(st) ? "signal" : "exit",
                         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                daemon_spawner_replace(d, true, detail);
        }
}

static void handle_signals(daemon_state *d)
{
        struct signalfd_siginfo si;

        while (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        d->stop = true;
                        break;
                case SIGHUP:
                        cw_sdnotify_reloading(&d->sd);
                        reload(d);
                        cw_sdnotify_ready(&d->sd, NULL);
                        break;
                case SIGCHLD:
                        reap(d);
                        break;
                case SIGUSR2: /* only under the test hook (daemon.h) */
                        daemon_clock_step(d);
                        break;
                default: /* SIGUSR1: a request was queued; the next pass takes it. */
                        break;
                }
        }
}

static void fire_reboot(daemon_state *d)
{
        cw_sched_opts o = pass_opts(d);
        cw_sched_result res;
        cw_schedule_entry *ui = NULL;
        size_t n_ui = 0;
        cw_error err;
        char q[400];
        int r;

        add_ui_entries(d, &o, &ui, &n_ui);
        cw_error_clear(&err);
        daemon_batch_open(d);
        r = cw_sched_reboot(&o, d->boot, &res, &err);
        daemon_flush(d);
        if (r < 0)
                logline(d, "error", "event=error what=reboot error=%s",
                        quoted(err.msg, q, sizeof(q)));
        cw_schedule_entries_free(ui, n_ui);
}

static void cleanup(daemon_state *d)
{
        /* First: its threads may still log or send SIGUSR1, which must stay
         * blocked and land on the signalfd until they are gone. */
        admin_stop(d);
        daemon_notify_stop(d);
        daemon_remote_close(d);
        cw_store_batch_abort(d->store);
        daemon_cluster_stop(d);
        daemon_pending_clear(d);
        free(d->pend);
        daemon_spawner_down(d);
        if (d->sig_fd >= 0)
                close(d->sig_fd);
        if (d->timer_fd >= 0)
                close(d->timer_fd);
        sigprocmask(SIG_SETMASK, &d->old_mask, NULL);
        if (d->pid_fd >= 0) {
                /* Emptied while still locked (a pid read later is a live
                 * daemon's), and only by its holder: a refused second daemon
                 * must leave the running one's pid alone. */
                if (d->pid_locked)
                        (void)!ftruncate(d->pid_fd, 0);
                close(d->pid_fd);
        }
        cw_store_close(d->store);
        cw_config_free(d->cfg);
        cw_tzwatch_free(d->tzw);
        daemon_run_watch_free(d);
        daemon_waiting_free(d);
}

int cw_daemon_run(const cw_daemon_opts *o, cw_error *err)
{
        daemon_state d = {.o = o,
                          .sig_fd = -1,
                          .timer_fd = -1,
                          .pid_fd = -1,
                          .spawner_fd = -1,
                          .log_lock = PTHREAD_MUTEX_INITIALIZER};
        const char *js = getenv("JOURNAL_STREAM");
        _cleanup_free_ char *text = NULL, *diff = NULL;
        size_t len = 0;
        int r;

        d.clock = o->clock;
        if (!d.clock) {
                cw_clock_init_real(&d.real_clock);
                d.clock = &d.real_clock;
        }
        d.journal = js && *js;
        d.loadavg_path = getenv("CRONWARDEN_LOADAVG");
        cw_sdnotify_init(&d.sd);
        sigprocmask(SIG_SETMASK, NULL, &d.old_mask);
        r = load_config(&d, &d.cfg, &text, &len, err);
        d.config_at = d.loaded_at;
        if (r == 0)
                r = cw_store_open(d.cfg->store, d.cfg->data_dir, &d.store, err);
        if (r == 0) {
                cw_store_set_clock(d.store, d.clock);
                cw_store_watch_link(d.store, store_link, &d);
                private_data_dir(&d);
                r = take_pid_file(&d, err);
        }
        if (r == 0) {
                /* When this does not fit, cw_snapshot_write says so. */
                (void)cw_path_join(d.snapshot, sizeof(d.snapshot), d.cfg->data_dir,
                                   CW_DAEMON_SNAPSHOT);
                diff = cw_snapshot_diff(d.cfg->data_dir, NULL, text, len, d.cfg, d.config_at);
                r = cw_snapshot_write(d.cfg->data_dir, text, len, err);
        }
        if (r == 0)
                r = setup_fds(&d, err);
        /* Workers of a spawner that exited (replaced at a reload) become
         * ours, so their ends still wake a pass (SIGCHLD) and are reaped. */
        if (r == 0 && prctl(PR_SET_CHILD_SUBREAPER, 1UL) < 0)
                r = cw_error_fail(err, -errno, "cannot become a subreaper: %s", strerror(errno));
        if (r == 0)
                r = admin_start(&d, err);
        if (r < 0) {
                cleanup(&d);
                return r;
        }
        r = cw_tzwatch_open(&d.tzw);
        if (r < 0)
                logline(&d, "warning", "event=error what=tzwatch error=%s action=%s", strerror(-r),
                        "zone_changes_need_a_reload");
        daemon_zones_watch(&d);
        d.boot = cw_instant_sec(cw_clock_now(d.clock));
        /* Before the spawner (which holds the hand-over lock shared). The
         * journal first: a run kept there ended, whatever its row says. */
        replay_journal(&d);
        restart_queued(&d);
        r = daemon_spawner_up(&d, err);
        if (r < 0) {
                cleanup(&d);
                return r;
        }
        logline(&d, "info",
                "event=start pid=%d jobs=%zu entries=%zu node=%s data_dir=%s spawner=%d",
                (int)getpid(), d.cfg->n_jobs, d.cfg->n_entries, d.cfg->node, d.cfg->data_dir,
                (int)d.spawner_pid);
        if (d.http)
                logline(&d, "info", "event=admin_listen address=%s", d.admin_listen);
        /* What changed since the config the last daemon ran. */
        log_changes(&d, text, len, diff);
        /* Not kept: what needs the accepted text again reads the snapshot
         * (daemon_config_text), and a 10 000-job config is ~0.7 MiB. */
        free(CW_TAKE_PTR(text));
        end_drain(&d);
        if (daemon_cluster_start(&d) < 0)
                logline(&d, "error", "event=error what=cluster error=%s", strerror(ENOMEM));
        daemon_notify_start(&d);
        daemon_remote_open(&d);
        /* The store is open and the admin server listens. */
        cw_sdnotify_ready(&d.sd, NULL);
        fire_reboot(&d);
        for (bool pass = true; !d.stop;) {
                struct pollfd p[6] = {{.fd = d.sig_fd, .events = POLLIN},
                                      {.fd = d.timer_fd, .events = POLLIN},
                                      {.fd = -1, .events = POLLIN},
                                      {.fd = d.tzw ? cw_tzwatch_fd(d.tzw) : -1, .events = POLLIN},
                                      {.fd = daemon_cluster_fd(&d), .events = POLLIN},
                                      {.fd = -1, .events = POLLIN}};
                int64_t left;
                int n, tmo, wd, rt;

                if (pass) {
                        cw_time wake, again, next;

                        daemon_log_ends(&d);
                        wake = run_pass(&d);
                        again = sweep_queued(&d);

                        next = again && (!wake || again < wake) ? again : wake;
                        arm(&d, next);
                        shed_memory(&d, next);
                        cw_sdnotify_status_next(&d.sd, d.cfg->n_jobs, wake);
                        if (d.notify_due)
                                cw_notify_sender_wake(d.notify);
                        else if (d.runs_started)
                                cw_notify_sender_nudge(d.notify);
                        d.notify_due = d.runs_started = false;
                }
                p[2].fd = d.spawner_fd;
                /* No timeout unless a zone change is settling or systemd's
                 * watchdog wants a ping. */
                cw_sdnotify_watchdog(&d.sd, cw_clock_mono_us());
                left = d.tz_due ? d.tz_due - cw_clock_mono_us() : -1;
                tmo = d.tz_due ? (int)(left > 0 ? (left + 999) / 1000 : 0) : -1;
                wd = cw_sdnotify_timeout_ms(&d.sd, cw_clock_mono_us());
                tmo = wd >= 0 && (tmo < 0 || wd < tmo) ? wd : tmo;
                /* Other nodes' commands (remote.c): a socket and a deadline. */
                p[5].fd = daemon_remote_fd(&d);
                rt = daemon_remote_timeout_ms(&d);
                n = poll(p, 6, rt >= 0 && (tmo < 0 || rt < tmo) ? rt : tmo);
                if (n < 0 && errno != EINTR) {
                        logline(&d, "error", "event=error what=poll error=%s", strerror(errno));
                        break;
                }
                /* Events on other files in a zone's directory (/etc sees
                 * many) wake the loop but plan nothing anew. */
                pass = n < 0 || p[0].revents || p[1].revents || p[2].revents;
                if (p[1].revents)
                        daemon_timer_read(&d);
                if (p[2].revents && p[2].fd == d.spawner_fd)
                        daemon_read_reports(&d);
                if (p[0].revents)
                        handle_signals(&d);
                if (p[3].revents)
                        daemon_zones_read(&d);
                if (p[4].revents)
                        daemon_remote_look_soon(&d);
                if (p[4].revents && daemon_cluster_tick(&d))
                        pass = true;
                if (daemon_remote_act(&d))
                        pass = true;
                if (d.tz_due && cw_clock_mono_us() >= d.tz_due) {
                        d.tz_due = 0;
                        daemon_zones_reload(&d);
                        pass = true;
                }
        }
        cw_sdnotify_stopping(&d.sd);
        logline(&d, "info", "event=stop pid=%d", (int)getpid());
        cleanup(&d);
        return 0;
}
