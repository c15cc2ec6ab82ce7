/* daemon_internal.h - what the daemon's files (daemon.c: the loop,
 * workers and reloads; daemon_time.c: zone files and clock changes) share:
 * the loop's state, its log and the step that swaps in a new config. Not
 * for use outside src/daemon/. */
#ifndef CW_DAEMON_DAEMON_INTERNAL_H
#define CW_DAEMON_DAEMON_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "base/macro.h"
#include "daemon/daemon.h"
#include "daemon/sdnotify.h"
#include "daemon/tzwatch.h"
#include "http/http.h"
#include "notify/notify.h"

/* A zone file event is acted on this long after it, so that the burst of
 * renames a tzdata update makes is reloaded once. */
#define TZ_SETTLE_US 200000

/* A queued run waiting for its batch to commit before it is handed over. */
/* How long a pass's batch stays open before its runs so far are committed
 * and handed over (handover.c, slices). */
#define CW_DAEMON_SLICE_US 5000

typedef struct pending {
        int64_t run_id, scheduled_at;
        int32_t trigger, attempt, ignore_lock;
        char *spec;
        /* In a cluster, taken with the run (handover.c): its fencing token
         * (0: none) and, when lease_sent_us > 0, its lock lease_key's
         * lease, sent at that monotonic instant. Owned. */
        int64_t fence, lease_sent_us;
        char *lease_key;
} pending;

/* A queued run held back by max_running or max_load (waiting.c). */
typedef struct waiting_run {
        int64_t run_id, scheduled_at;
        int64_t queued_us; /* when it was recorded queued */
        int32_t trigger, attempt, ignore_lock;
        int priority;
        cw_duration deadline; /* its job's start_deadline (scheduled fires) */
        bool uncommitted;     /* recorded in the pass's batch, not committed yet */
        bool logged;          /* its event=queued line was written */
        bool starting, gone;
        char *spec, *job;
} waiting_run;
typedef struct daemon_cluster daemon_cluster;

typedef struct daemon_state {
        const cw_daemon_opts *o;
        const cw_clock *clock; /* o->clock, or real_clock */
        cw_clock real_clock;
        cw_config *cfg;
        cw_store *store;
        int sig_fd, timer_fd, pid_fd;
        int spawner_fd;        /* our end of the spawner's socket, -1: none */
        pid_t spawner_pid;     /* the current spawner, 0: none */
        int64_t spawner_since; /* its start, monotonic µs */
        char snapshot[4096];   /* data_dir/CW_DAEMON_SNAPSHOT */
        bool batch;            /* the pass's writes go into one store batch */
        pending *pend;         /* runs recorded in the open batch, to hand over */
        size_t n_pend, cap_pend;
        /* The first n_pend_committed of pend were committed by an earlier
         * slice of the pass's batch (handover.c); batch_since: when the
         * open batch began, monotonic µs. */
        size_t n_pend_committed;
        int64_t batch_since;
        bool pid_locked; /* we hold daemon.pid (and may empty it on exit) */
        bool journal;    /* stderr is the systemd journal */
        bool stop;
        bool replacing; /* in spawner_replace: a failed hand-over fails the run */
        bool sweep_due; /* a worker ended since the last sweep_queued */
        int64_t swept;  /* the last sweep_queued, monotonic µs */
        cw_time boot;
        cw_time config_at; /* when d->cfg was loaded */
        cw_time loaded_at; /* when load_config last read the file */
        sigset_t old_mask;
        /* The admin server (http.h) and the address it listens on; its
         * threads log through logline, so log_lock serialises lines and
         * guards d->cfg against a reload swapping it mid-line. */
        cw_http_server *http;
        char *admin_listen;
        pthread_mutex_t log_lock;
        /* The zone files in use (tzwatch.h), NULL when inotify failed; a
         * change is acted on at tz_due (monotonic µs, 0: none pending). */
        cw_tzwatch *tzw;
        int64_t tz_due;
        cw_sdnotify sd; /* systemd's notifications and watchdog */
        /* The notification sender's thread (notify.h), with its own store
         * connection: delivery never holds up a pass. */
        cw_notify_sender *notify;
        pthread_t notify_thread;
        bool notify_running;
        char *notify_store, *notify_data_dir; /* its copies: a reload frees d->cfg */
        /* Runs this daemon started whose end it has not logged yet
         * (run_ends.c); ends_due: a worker ended since the last look. */
        int64_t *live;
        size_t n_live, cap_live;
        bool ends_due;
        /* Rows may have been written to the outbox since the sender
         * looked (workers ended, a pass recorded a missed or skipped
         * fire, a run was found lost): it is woken after the pass. */
        bool notify_due;
        bool runs_started; /* by the last pass: the sender is nudged */
        /* Passes failing in a row (the store away: a PostgreSQL server
         * restarting, a full disk) and when the first of them failed: the
         * outage is logged when it starts and when it ends, not per pass. */
        unsigned failed_passes;
        cw_instant failing_since;
        /* When the store's server became unreachable (cw_store_watch_link). */
        cw_instant link_lost_at;
        /* Runs held back by max_running / max_load (waiting.c); the load
         * average is read from loadavg_path (NULL: /proc/loadavg). */
        waiting_run *waiting;
        size_t n_waiting, cap_waiting;
        const char *loadavg_path;
        bool load_warned;
        /* This daemon as a node of a cluster (cluster.h); NULL on a store
         * without nodes. */
        daemon_cluster *cluster;
        /* Commands from other nodes (remote.c); NULL: none on this store. */
        struct daemon_remote *remote;
} daemon_state;

/* One log line: a timestamp (or a syslog priority under systemd), the
 * level, then key=value pairs given by fmt. Thread-safe. */
_printf_(3, 4) void logline(daemon_state *d, const char *level, const char *fmt, ...);

/* A value for key=value: s itself, or quoted into buf when it has spaces
 * or quotes; "-" for NULL. */
const char *quoted(const char *s, char *buf, size_t size);

/* run_ends.c: remember a run this daemon started, so its end is logged;
 * after news that workers ended (ends_due), log `event=ended` for each
 * such run whose status is final; free the list. */
void daemon_run_watch(daemon_state *d, int64_t run_id);
void daemon_log_ends(daemon_state *d);
void daemon_run_watch_free(daemon_state *d);

/* Parses config text (read from config_path) with the zone files as they
 * are now. Returns 0 and a new config, or a negative errno with err
 * holding the first problem. */
int parse_config(daemon_state *d, const char *text, size_t len, cw_config **ret, cw_error *err);
/* The config text the daemon runs, as accepted: its snapshot in data_dir
 * (CW_DAEMON_SNAPSHOT), read again rather than kept in memory. *ret is
 * the caller's to free. 0 or a negative errno. */
int daemon_config_text(const daemon_state *d, char **ret, size_t *ret_len);

/* Makes n (taken) the config: passes use it, the admin server's threads
 * see it whole or not at all (the caller hands it to the server), a new
 * spawner loads it, its zone files are the ones watched. */
void adopt_config(daemon_state *d, cw_config *n);

/* daemon_admin.c: admin_start starts the admin server when [admin] has a
 * password hash or an API token (call after the signals are blocked: its
 * threads inherit the mask); any failure is -EADDRINUSE with err saying
 * why. admin_reloaded hands it a reloaded config and logs what needs a
 * restart; admin_stop stops it (also one never started). */
int admin_start(daemon_state *d, cw_error *err);
void admin_reloaded(daemon_state *d, const cw_config *n);
void admin_stop(daemon_state *d);

/* handover.c: the spawner and the runs handed to it. spawner_up starts
 * one (the lean program or the full one, docs/scheduling.md), _down
 * closes our end (it forks what it was sent, then exits), _replace starts
 * another after one is gone, with what it never read. batch_open opens
 * the pass's store batch, flush commits it and hands its runs over
 * (flush_hook: the same, for sched.h, reopening the batch). read_reports
 * takes the spawner's reports: workers ended, runs that could not start. */
void daemon_spawner_down(daemon_state *d);
int daemon_spawner_up(daemon_state *d, cw_error *err);
void daemon_spawner_replace(daemon_state *d, bool reaped, const char *detail);
void daemon_batch_open(daemon_state *d);
void daemon_flush(daemon_state *d);
void daemon_flush_hook(void *userdata);
/* sched's fires_done hook in a cluster (see handover.c). */
void daemon_fires_done_hook(void *userdata);
void daemon_read_reports(daemon_state *d);
/* Drops the runs of a batch that will not be handed over (cleanup). */
void daemon_pending_clear(daemon_state *d);
/* Records a run in the store and hands it to the spawner (the scheduler's
 * starter, sched.h); hand_over_run hands over one already recorded. */
int start_worker(void *userdata, const cw_sched_action *a, int64_t *ret_run_id, cw_error *err);
int hand_over_run(daemon_state *d, const pending *p, bool more, cw_error *err);

/* waiting.c (docs/scheduling.md): gate_on says whether max_running or
 * max_load is set, so that the pass's runs wait here before they start.
 * push keeps a run just recorded queued (uncommitted: in the open batch;
 * -ENOMEM leaves the list as it was); has says whether a queued run is
 * held here; commit settles the batch's runs (dropped when it failed);
 * start hands over what may start now, records expired scheduled fires
 * missed, and returns the second it wants to look again (0: none). */
bool daemon_gate_on(const daemon_state *d);
int daemon_waiting_push(daemon_state *d, const cw_run *run, const cw_job *job, bool uncommitted);
bool daemon_waiting_has(const daemon_state *d, int64_t run_id);
void daemon_waiting_commit(daemon_state *d, bool ok);
cw_time daemon_waiting_start(daemon_state *d);
void daemon_waiting_free(daemon_state *d);

/* recover.c: queued runs whose worker is gone. restart_queued judges them
 * all once no process of a previous daemon can start one (at start, and
 * when the spawner is replaced); sweep_queued, after a worker ended, those
 * whose job may have run, and returns the second it wants to look again
 * (0: none); worker_died, the run of one worker that ended abnormally. */
void restart_queued(daemon_state *d);
/* A lost run whose resume state was just set pending, of a job that can
 * resume: started again now as a resume of the same fire (recover.c). */
void resume_lost(daemon_state *d, const cw_run *q, const cw_job *job);
cw_time sweep_queued(daemon_state *d);
/* The spawner said run_id's worker ended killed or failed (wstatus as
 * waitpid gives it): a run it left queued without a start record never
 * started its job, and nothing else will start it: it is recorded failed,
 * saying how its worker ended, and its cluster lock row is freed. */
void worker_died(daemon_state *d, int64_t run_id, int wstatus);
/* daemon_notify.c: starts the sender thread (d->notify); without it (out
 * of memory, no thread) the outbox waits for a `tick` or the next start,
 * which is logged. Stop ends and frees it; both accept a sender not
 * started. */
void daemon_notify_start(daemon_state *d);
void daemon_notify_stop(daemon_state *d);

/* remote.c: commands from other nodes on a shared PostgreSQL store
 * (docs/cluster.md). open prepares a listening connection of its own as
 * this node's daemon (nothing on SQLite; a failure is logged and retried);
 * fd is the descriptor to poll (-1: none) and timeout_ms how long the
 * loop may sleep before act must look again (-1: no limit); act reads
 * what arrived, acts on this node's commands (a kill signals the run's
 * worker and is finished once the run ended, or after kill_grace + 5 s)
 * and returns true when another node asked for a pass. In a cluster the
 * look without a NOTIFY (one may be lost) comes with each heartbeat,
 * which calls look_soon, rather than on a timer of its own. close frees
 * it. */
void daemon_remote_open(daemon_state *d);
int daemon_remote_fd(daemon_state *d);
int daemon_remote_timeout_ms(daemon_state *d);
bool daemon_remote_act(daemon_state *d);
void daemon_remote_look_soon(daemon_state *d);
void daemon_remote_close(daemon_state *d);

/* daemon_time.c: watches the config's zone files (a failure is logged). */
void daemon_zones_watch(daemon_state *d);
/* The watch's descriptor is readable: a change starts the settle delay. */
void daemon_zones_read(daemon_state *d);
/* The settle delay is over: reload the zones, log what moved, re-plan. */
void daemon_zones_reload(daemon_state *d);
/* The timerfd woke us: logs a wall-clock change. */
void daemon_timer_read(daemon_state *d);
/* SIGUSR2 under the test hook: moves the test clock (daemon.h step_file). */
void daemon_clock_step(daemon_state *d);

#endif
