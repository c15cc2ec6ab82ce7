/* daemon_admin.c - the daemon's side of the admin server (http/http.h):
 * starting it when [admin] has something to log in with, handing it each
 * reloaded config, stopping it. Its threads wake the daemon's loop with
 * SIGUSR1 and log through the daemon's logline. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon_internal.h"
#include "http/http.h"

/* It runs when [admin] has something to log in with. */
static bool admin_wanted(const cw_config *cfg)
{
        return cfg->admin_password_hash || cfg->admin_api_tokens.n > 0;
}

/* From a server thread: SIGUSR1 to ourselves, blocked in every thread,
 * so it lands on the signalfd and the loop runs a pass. */
static void admin_wake(void *userdata)
{
        (void)userdata;
        kill(getpid(), SIGUSR1);
}

static void admin_log(void *userdata, const char *level, const char *line)
{
        logline(userdata, level, "%s", line);
}

/* Starts the server when wanted. Call after setup_fds: its threads then
 * inherit the blocked signals. Any failure is -EADDRINUSE with err saying
 * why (address taken, not allowed, not resolvable). */
int admin_start(daemon_state *d, cw_error *err)
{
        cw_http_opts o = {.listen = d->cfg->admin_listen,
                          .clock = d->clock,
                          .wake = admin_wake,
                          .log = admin_log,
                          .userdata = d};
        char why[sizeof(err->msg)];

        if (!admin_wanted(d->cfg))
                return 0;
        /* The server's threads build answers of several MB (/metrics, the
         * history pages). glibc gives each thread an arena of its own and,
         * once a large block is freed, raises its mmap threshold up to 32
         * MiB, after which such blocks come from the arenas and stay there
         * when freed: under load the daemon grew to ~250 MiB. Two arenas
         * and a fixed threshold (which turns the raising off) give large
         * blocks back to the system as soon as they are freed. */
        mallopt(M_ARENA_MAX, 2);
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        d->admin_listen = strdup(d->cfg->admin_listen);
        if (!d->admin_listen)
                return cw_error_fail(err, -ENOMEM, "out of memory");
        if (cw_http_start(&o, d->cfg, &d->http, err) < 0) {
                snprintf(why, sizeof(why), "%s", err->msg);
                return cw_error_fail(err, -EADDRINUSE, "admin server: %s", why);
        }
        return 0;
}

/* After a reload: the server serves n from now on; what it cannot change
 * while running is logged. */
void admin_reloaded(daemon_state *d, const cw_config *n)
{
        char q[96];

        if (!d->http) {
                if (admin_wanted(n))
                        logline(d, "warning", "event=admin_not_started reason=%s",
                                quoted("the admin server starts with the daemon: restart it", q,
                                       sizeof(q)));
                return;
        }
        cw_http_set_config(d->http, n);
        if (strcmp(n->admin_listen, d->admin_listen) != 0)
                logline(d, "warning", "event=admin_listen_unchanged address=%s wanted=%s reason=%s",
                        d->admin_listen, n->admin_listen,
                        quoted("a new listen address needs a restart", q, sizeof(q)));
        if (!admin_wanted(n))
                logline(d, "warning", "event=admin_no_credentials reason=%s",
                        quoted("no password_hash or api_token: every login is refused", q,
                               sizeof(q)));
}

void admin_stop(daemon_state *d)
{
        cw_http_stop(d->http);
        d->http = NULL;
        free(d->admin_listen);
        d->admin_listen = NULL;
}
