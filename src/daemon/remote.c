/* remote.c - the daemon's side of remote control (daemon_internal.h;
 * docs/cluster.md, Controlling runs on other nodes).
 *
 * On a PostgreSQL store the daemon holds a second connection that
 * LISTENs, named as this node's daemon so other nodes can tell it is
 * there (store.h, cw_store_node_alive). Its socket is one more descriptor
 * in the loop's poll(): a notification for this node makes the daemon
 * take its commands at once; without one it still looks every
 * CW_REMOTE_POLL_MS, and right after its connection came back, since
 * notifications sent meanwhile are lost. While the store is away it tries
 * to listen again every CW_REMOTE_POLL_MS only. A command older than
 * CW_REMOTE_TAKE_MS is not acted on (expired): its sender has given up.
 *
 * A kill never blocks the loop: the worker gets the signal (it stops its
 * job and records `killed`, as for a local `kill`), and the command stays
 * taken in `kills` until the run's row is final (then done, the run's
 * reason naming who asked) or kill_grace + 5 s have passed (failed). The
 * loop looks at those runs at least every KILL_LOOK_MS meanwhile. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/clock.h"
#include "daemon/daemon_internal.h"
#include "worker/control.h"
#include "worker/remote.h"
#include "worker/worker.h"

#define KILL_LOOK_MS 100
#define KILL_EXTRA_US 5000000
#define TAKE_MAX 32

typedef struct remote_kill {
        int64_t cmd_id, run_id;
        int64_t end_us; /* monotonic: failed after this */
        char *reason;   /* the run's reason once killed */
} remote_kill;

struct daemon_remote {
        cw_store *store; /* its own connection, listening; NULL: to open */
        bool down;       /* the last attempt to listen failed: again at next_open_us */
        /* In a cluster the heartbeat's timer says when to look (look_due):
         * one wake-up for both; next_look_us is for a daemon without. */
        bool look_due;
        int64_t next_look_us, next_open_us;
        remote_kill *kills;
        size_t n_kills, cap_kills;
};

void daemon_remote_open(daemon_state *d)
{
        cw_store_url u;

        if (cw_store_url_parse(d->cfg->store, &u, NULL) < 0 || u.kind != CW_STORE_POSTGRESQL)
                return;
        d->remote = calloc(1, sizeof(*d->remote));
        if (!d->remote)
                logline(d, "error", "event=error what=remote error=out_of_memory");
}

void daemon_remote_close(daemon_state *d)
{
        if (!d->remote)
                return;
        for (size_t i = 0; i < d->remote->n_kills; i++)
                free(d->remote->kills[i].reason);
        free(d->remote->kills);
        cw_store_close(d->remote->store);
        free(d->remote);
        d->remote = NULL;
}

/* Connecting is tried at most every CW_REMOTE_POLL_MS while the store is
 * away, so an outage never spins the loop. */
static void went_down(daemon_state *d, const char *what, int r)
{
        struct daemon_remote *m = d->remote;

        if (!m->down)
                logline(d, "warning", "event=error what=remote_listen error=%s",
                        what ? what : cw_store_strerror(r));
        m->down = true;
        m->next_open_us = cw_clock_mono_us() + (int64_t)CW_REMOTE_POLL_MS * 1000;
}

int daemon_remote_fd(daemon_state *d)
{
        struct daemon_remote *m = d->remote;
        cw_error err;
        int fd = -1, r;

        if (!m || (m->down && cw_clock_mono_us() < m->next_open_us))
                return -1;
        if (!m->store) {
                char q[400];
                cw_error_clear(&err);
                r = cw_store_open(d->cfg->store, d->cfg->data_dir, &m->store, &err);
                if (r < 0) {
                        went_down(d, quoted(err.msg, q, sizeof(q)), r);
                        return -1;
                }
        }
        r = cw_store_listen(m->store, d->cfg->node, &fd);
        if (r < 0) {
                went_down(d, NULL, r);
                return -1;
        }
        if (m->down)
                logline(d, "info", "event=remote_listen state=back");
        m->down = false;
        return fd;
}

int daemon_remote_timeout_ms(daemon_state *d)
{
        struct daemon_remote *m = d->remote;
        int64_t left;

        if (!m)
                return -1;
        if (m->n_kills > 0 && !m->down)
                return KILL_LOOK_MS;
        if (!m->down && d->cluster)
                return -1;
        left = (m->down ? m->next_open_us : m->next_look_us) - cw_clock_mono_us();
        return left > 0 ? (int)((left + 999) / 1000) : 0;
}

static void finish(daemon_state *d, int64_t id, cw_node_cmd_state from, cw_node_cmd_state to,
                   const char *result, const char *run_reason)
{
        int r = cw_store_node_cmd_finish(d->remote->store, id, from, to, result, run_reason);

        if (r < 0)
                logline(d, "error", "event=error what=remote_command id=%lld error=%s",
                        (long long)id, cw_store_strerror(r));
}

static void kill_watch(daemon_state *d, const cw_node_cmd *c, const cw_run *run)
{
        struct daemon_remote *m = d->remote;
        const cw_job *job = run->job ? cw_config_job(d->cfg, run->job) : NULL;
        cw_duration grace = job ? job->kill_grace : d->cfg->defaults.kill_grace;
        remote_kill *k;
        char reason[512];

        snprintf(reason, sizeof(reason), "killed by %s", c->by ? c->by : "another node");
        if (cw_array_reserve((void **)&m->kills, &m->cap_kills, m->n_kills + 1, sizeof(*k), 4) <
            0) {
                finish(d, c->id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_DONE, "signalled", NULL);
                return;
        }
        k = &m->kills[m->n_kills];
        *k = (remote_kill){.cmd_id = c->id,
                           .run_id = run->id,
                           .end_us = cw_clock_mono_us() + (int64_t)(grace * 1e6) + KILL_EXTRA_US,
                           .reason = strdup(reason)};
        m->n_kills++;
}

/* A killed run of a job with can_resume becomes resumable, as after a
 * local kill (worker/control.h). */
static void resumable(daemon_state *d, const cw_run *run)
{
        const cw_job *job = run->job ? cw_config_job(d->cfg, run->job) : NULL;

        if (run->status == CW_RUN_KILLED && job && job->can_resume)
                (void)cw_store_run_set_resume(d->remote->store, run->id, CW_RESUME_NONE,
                                              CW_RESUME_PENDING);
}

/* The run's worker is gone: its job's group is killed at once (waiting
 * out a grace here would hold up the loop) and the run recorded killed,
 * resumable as after a local kill. */
static void kill_orphan(daemon_state *d, const cw_node_cmd *c, const cw_run *run)
{
        cw_store *s = d->remote->store;
        cw_run killed = *run; /* borrowed strings: never released */
        char reason[512];
        int r;

        snprintf(reason, sizeof(reason), "killed by %s (its worker was gone)",
                 c->by ? c->by : "another node");
        if (run->pid > 0)
                cw_proc_kill_group(run->pid, run->pid_start, SIGKILL);
        r = cw_store_run_transition(s, run->id, CW_RUN_RUNNING, CW_RUN_KILLED, reason,
                                    cw_clock_now(d->clock));
        killed.status = CW_RUN_KILLED;
        if (r == 0)
                resumable(d, &killed);
        finish(d, c->id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_DONE,
               r == 0 ? "killed (its worker was gone)" : "the run had ended", NULL);
}

/* A kill command taken: signal the worker, or record what is left. */
static void act_kill(daemon_state *d, const cw_node_cmd *c)
{
        cw_store *s = d->remote->store;
        _cleanup_(cw_run_release) cw_run run = {0};
        char q[300], res[128];
        int r = cw_store_run_get(s, c->run_id, &run);

        logline(d, "info", "event=remote_kill run=%lld by=%s", (long long)c->run_id,
                quoted(c->by, q, sizeof(q)));
        if (r < 0) {
                finish(d, c->id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_FAILED,
                       r == -ENOENT ? "no such run" : cw_store_strerror(r), NULL);
                return;
        }
        if (cw_remote_is_other(d->cfg, &run) || !run.node) {
                finish(d, c->id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_FAILED,
                       "the run is not on this node", NULL);
                return;
        }
        if (run.status != CW_RUN_RUNNING) {
                snprintf(res, sizeof(res), "the run had already ended: %s",
                         cw_run_status_to_string(run.status));
                finish(d, c->id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_DONE, res, NULL);
                return;
        }
        if (!cw_control_is_alive(d->cfg, &run)) {
                kill_orphan(d, c, &run);
                return;
        }
        if (kill(run.worker_pid, c->signal > 0 ? c->signal : SIGTERM) < 0 && errno != ESRCH) {
                finish(d, c->id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_FAILED, strerror(errno), NULL);
                return;
        }
        kill_watch(d, c, &run);
}

static void take_commands(daemon_state *d)
{
        struct daemon_remote *m = d->remote;
        cw_node_cmd *cmds = NULL;
        size_t n = 0;
        int r = cw_store_node_cmds_take(m->store, d->cfg->node, TAKE_MAX, &cmds, &n);

        if (r == -ECONNRESET || r == -ECONNREFUSED || r == -ETIMEDOUT) {
                /* The database is away: listen (and look) again later;
                 * the outage is logged once. */
                cw_store_close(m->store);
                m->store = NULL;
                went_down(d, NULL, r);
                return;
        }
        if (r < 0) {
                logline(d, "error", "event=error what=remote_take error=%s", cw_store_strerror(r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                /* Its sender has given up on it (and said so): never act late. */
                if (cmds[i].age_us > (int64_t)CW_REMOTE_TAKE_MS * 1000)
                        finish(d, cmds[i].id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_EXPIRED,
                               "too old: its sender had given up", NULL);
                else if (strcmp(cmds[i].kind, "kill") == 0)
                        act_kill(d, &cmds[i]);
                else
                        finish(d, cmds[i].id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_FAILED,
                               "unknown command", NULL);
        }
        cw_node_cmds_free(cmds, n);
}

/* Finishes the kills whose runs ended or whose time is up. */
static void check_kills(daemon_state *d)
{
        struct daemon_remote *m = d->remote;
        int64_t now = cw_clock_mono_us();

        for (size_t i = 0; i < m->n_kills;) {
                remote_kill *k = &m->kills[i];
                cw_run run = {0};
                bool over = false;

                if (cw_store_run_get(m->store, k->run_id, &run) == 0 &&
                    cw_run_status_is_final(run.status)) {
                        resumable(d, &run);
                        finish(d, k->cmd_id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_DONE,
                               cw_run_status_to_string(run.status), k->reason);
                        over = true;
                } else if (now >= k->end_us) {
                        finish(d, k->cmd_id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_FAILED,
                               "the run did not end within its kill_grace + 5 s", NULL);
                        over = true;
                }
                cw_run_release(&run);
                if (!over) {
                        i++;
                        continue;
                }
                free(k->reason);
                m->kills[i] = m->kills[--m->n_kills];
        }
}

void daemon_remote_look_soon(daemon_state *d)
{
        if (d->remote)
                d->remote->look_due = true;
}

bool daemon_remote_act(daemon_state *d)
{
        struct daemon_remote *m = d->remote;
        unsigned bits = 0;

        if (!m || !m->store || m->down || cw_store_wakeups(m->store, &bits) < 0)
                return false;
        if (bits & (CW_STORE_WOKE_CMD | CW_STORE_WOKE_LOST) || m->look_due ||
            (!d->cluster && cw_clock_mono_us() >= m->next_look_us)) {
                m->look_due = false;
                m->next_look_us = cw_clock_mono_us() + (int64_t)CW_REMOTE_POLL_MS * 1000;
                take_commands(d);
        }
        if (m->n_kills > 0)
                check_kills(d);
        return bits & (CW_STORE_WOKE_PASS | CW_STORE_WOKE_LOST);
}
