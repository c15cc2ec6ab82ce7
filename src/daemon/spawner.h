/* spawner.h - how the daemon starts workers without waiting for them
 * (docs/scheduling.md, "Starting workers: the daemon's spawner").
 *
 * The spawner is a small single-threaded process that the daemon execs
 * (never forks: the daemon may have threads) with the config the daemon
 * accepted, which it parses once. The daemon records each run as queued
 * in the store, then sends the spawner one message naming it over a
 * SOCK_SEQPACKET socket pair; the spawner forks a worker for it at once,
 * without exec. The worker child leaves the spawner's session, descriptors
 * and signal mask behind and runs cw_worker_run() on the queued run, which
 * starts the job before it even opens the store. The spawner reaps its
 * workers, reports back a run it could not fork a worker for and that
 * workers ended (the daemon then runs a pass: 'after', retries), and
 * exits when the daemon's end of the socket closes, after forking what was
 * sent before: a daemon that stops or dies leaves its workers alone.
 *
 * Daemon side: cw_spawner_send() (a blocking send bounded by a timeout) and
 * cw_spawner_read_report(). Spawner side: cw_spawner_main(). */
#ifndef CW_DAEMON_SPAWNER_H
#define CW_DAEMON_SPAWNER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/clock.h"
#include "config/config.h"
#include "jobspec/jobspec.h"
#include "store/run.h"

/* In data_dir: held shared (flock) by every spawner and by each worker
 * until its run is marked running, so a daemon starting up can wait until
 * no process of its predecessor can still start a queued run before it
 * starts those runs itself. */
#define CW_SPAWNER_LOCK "spawner.lock"
/* How long a starting daemon waits for that; then queued runs are lost. */
#define CW_SPAWNER_LOCK_WAIT_S 10

/* The descriptor the spawner finds its end of the socket pair on. */
#define CW_SPAWNER_FD 3
/* How long the daemon waits for room in the socket before it gives up on
 * a spawner that does not read (stopped, wedged). */
#define CW_SPAWNER_SEND_TIMEOUT_MS 5000

/* The layout of cw_spawn_req: raised whenever it changes. The daemon
 * names it when it starts the lean spawner program, which then hands over
 * to the daemon's own binary unless it speaks the same (a package upgrade
 * can put a new spawner beside a daemon still running the old binary). */
#define CW_SPAWNER_PROTO 2

/* One queued run to start (daemon -> spawner). */
typedef struct cw_spawn_req {
        int64_t run_id;
        int64_t scheduled_at;
        int32_t trigger; /* cw_trigger */
        int32_t attempt;
        int32_t ignore_lock; /* concurrency = allow */
        /* 1: more runs of the same burst (one pass's) follow at once; the
         * spawner keeps the burst's gate shut until the last is forked.
         * Workers do no bookkeeping until every job of the burst runs. */
        int32_t more;
        /* In a cluster: what the daemon took with the run (cw_worker_opts
         * fence and lease_sent_us), 0 for none. */
        int64_t fence;
        int64_t lease_sent_us;
        char spec[CW_JOBSPEC_TEXT_MAX + 1]; /* canonical job spec; only strlen + 1 bytes are sent */
} cw_spawn_req;

/* A run the spawner could not fork a worker for (err, msg); news that
 * workers ended (run_id 0); or, with `ended`, that the worker of run_id
 * ended killed by a signal or with a failure status (wstatus as
 * waitpid(2) gives it), which may have left its run queued (spawner ->
 * daemon). */
typedef struct cw_spawn_report {
        int64_t run_id;
        int32_t err; /* positive errno */
        int32_t ended;
        int32_t wstatus;
        char msg[200];
} cw_spawn_report;

/* Tests only: set to "before_start" in a spawner's environment, it makes
 * every worker it forks kill itself (SIGKILL) before it starts its job,
 * as a crash or the OOM killer would. */
#define CW_SPAWNER_TEST_DIE_ENV "CRONWARDEN_TEST_WORKER_DIES"

/* Creates the socket pair: *ret_daemon for the daemon and *ret_spawner to
 * be dup2'd to CW_SPAWNER_FD in the spawner (both O_CLOEXEC). Returns 0
 * or a negative errno. */
int cw_spawner_socketpair(int *ret_daemon, int *ret_spawner);

/* Sends one request; blocks at most CW_SPAWNER_SEND_TIMEOUT_MS for room.
 * Returns 0, -EPIPE when the spawner is gone, -ETIMEDOUT when it does not
 * read, another negative errno otherwise. */
int cw_spawner_send(int fd, const cw_spawn_req *req);

/* Reads one report without blocking: 1 with *ret filled, 0 when there is
 * none now, -EPIPE when the spawner is gone, another negative errno. */
int cw_spawner_read_report(int fd, cw_spawn_report *ret);

/* The spawner process: serves requests on fd until the daemon closes its
 * end; clock is what its workers take as their runs' start. Must be called
 * in a single-threaded process that owns its signals. Returns 0 then, or
 * a negative errno when it cannot go on. */
int cw_spawner_main(const cw_config *cfg, const cw_clock *clock, int fd);

#endif
