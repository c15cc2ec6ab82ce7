/* daemon.h - `cronwarden daemon`: the long-running scheduler (docs/scheduling.md,
 * The daemon). It runs the same
 * pass as `tick` (sched/sched.h) whenever something is due, sleeping in
 * between on a CLOCK_REALTIME timerfd armed for the next fire, with
 * TFD_TIMER_CANCEL_ON_SET so a wall-clock jump wakes it. Signals arrive on
 * a signalfd: SIGCHLD (a worker ended: reap, pass), SIGUSR1 (a request was
 * queued: pass), SIGHUP (reload the config), SIGTERM/SIGINT (stop; running
 * jobs go on in their own workers). This is the top layer: it logs.
 *
 * Zone files in use are watched (tzwatch.h): when tzdata or /etc/localtime
 * changes, the zones are loaded again and the plan redone without a
 * reload (daemon_time.c).
 *
 * Every "now" (passes, runs, log lines, the admin server's requests) is
 * read from cw_daemon_opts.clock; under a test clock (base/clock.h) the
 * timer is armed for the time left instead of an absolute instant.
 *
 * Workers are started without waiting for them: the daemon records each
 * run as queued and hands it to its spawner process (spawner.h), which
 * forks the worker; the pass goes on at once. */
#ifndef CW_DAEMON_DAEMON_H
#define CW_DAEMON_DAEMON_H

#include <stdio.h>

#include "base/clock.h"
#include "base/error.h"
#include "config/config.h"
#include "sched/sched.h"

#define CW_DAEMON_PID_FILE "daemon.pid"
/* In data_dir: the text of the last config the daemon accepted, which its
 * spawner loads (and so its workers use), not the file on disk. */
#define CW_DAEMON_SNAPSHOT "config.snapshot.ini"

typedef struct cw_daemon_opts {
        const char *config_path;  /* reloaded on SIGHUP */
        const char *zoneinfo_dir; /* NULL: the system's */
        /* What "now" is for passes, runs, log lines and the admin server
         * (NULL: the system's wall clock). Read from the loop's thread and
         * the server's threads: it must be safe to read concurrently. */
        const cw_clock *clock;
        /* Starts a spawner process: this program exec'd (never forked) so
         * that it loads the config text in `snapshot` under config_path's
         * name and runs cw_spawner_main() on `fd`, which it must find as
         * CW_SPAWNER_FD. Returns its pid, or a negative errno with err
         * filled. */
        int (*start_spawner)(void *userdata, const char *snapshot, int fd, cw_error *err);
        void *userdata;
        FILE *log; /* one line per event */
        /* Test hook (docs/hacking.md), NULL in production: SIGUSR2 moves
         * step_clock (the very clock `clock` points to, a test's) to the
         * ISO 8601 instant written in step_file, as a jump of the wall
         * clock would move the real one. */
        const char *step_file;
        cw_clock *step_clock;
        /* Function jobs' functions (config.h cw_config_opts), NULL: none. */
        cw_config_function_lookup function;
        const void *function_userdata;
} cw_daemon_opts;

/* Runs until SIGTERM/SIGINT. Returns 0 after a clean stop, -EBUSY when
 * another daemon holds data_dir's pid file (err names its pid),
 * -EADDRINUSE when the admin server (started when [admin] has a
 * password_hash or an api_token) cannot listen (err says why: address in
 * use, not allowed, unknown host), or another negative errno with err
 * filled when it cannot start. */
int cw_daemon_run(const cw_daemon_opts *o, cw_error *err);

#endif
