/* remote.c - acting on runs of other nodes (see remote.h).
 *
 * A remote kill is a command row for the run's node, added with a wake-up
 * notification; the sender then waits on its own store connection's
 * socket (LISTEN) for the command to be finished, looking at the row at
 * least once a second, since a notification is only a hint. A command not
 * taken in time is withdrawn by a compare-and-set (pending -> expired), so
 * a daemon that comes back later never acts on a kill its sender has
 * already reported as failed. */
#include "remote.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "worker/control.h"

#define WAIT_STEP_MS 1000

bool cw_remote_is_other(const cw_config *cfg, const cw_run *run)
{
        return run->node && cfg->node && strcmp(run->node, cfg->node) != 0;
}

bool cw_remote_run_alive(cw_store *s, const cw_config *cfg, const cw_run *run)
{
        bool alive = true;

        if (!cw_remote_is_other(cfg, run))
                return cw_control_is_alive(cfg, run);
        if (cw_store_node_alive(s, run->node, &alive) < 0)
                return true;
        return alive;
}

/* Waits up to ms for news on the listening connection (fd), then reads
 * what came, so the next wait starts afresh. */
static void wait_news(cw_store *s, int fd, int ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        unsigned bits;

        if (ms > 0 && fd >= 0)
                (void)poll(&p, 1, ms);
        (void)cw_store_wakeups(s, &bits);
}

/* The answer to command c once finished: 0 and the run's status, or the
 * node's reason in why. */
static int answer(cw_store *s, const cw_node_cmd *c, cw_run_status *ret_status, char *why,
                  size_t size)
{
        cw_run run = {0};
        int r;

        if (c->state != CW_NODE_CMD_DONE) {
                snprintf(why, size, "node %s could not stop it: %s", c->node,
                         c->result ? c->result : "no reason given");
                return -EIO;
        }
        r = cw_store_run_get(s, c->run_id, &run);
        if (r < 0) {
                snprintf(why, size, "cannot read the run: %s", cw_store_strerror(r));
                return r;
        }
        *ret_status = run.status;
        cw_run_release(&run);
        return 0;
}

/* Waits for command id (of node `node`) to be finished: 0 with *ret set,
 * or -ETIMEDOUT with why said. */
static int wait_done(cw_store *s, int fd, int64_t id, const char *node, int64_t end_ms,
                     cw_node_cmd *ret, char *why, size_t size)
{
        int64_t take_end = cw_clock_mono_us() / 1000 + CW_REMOTE_TAKE_MS;

        for (;;) {
                int64_t now = cw_clock_mono_us() / 1000;
                cw_node_cmd c = {0};
                int r = cw_store_node_cmd_get(s, id, &c);

                if (r < 0) {
                        snprintf(why, size, "cannot read the command: %s", cw_store_strerror(r));
                        return r;
                }
                if (c.state >= CW_NODE_CMD_DONE) {
                        *ret = c;
                        return 0;
                }
                if (c.state == CW_NODE_CMD_PENDING && now >= take_end) {
                        cw_node_cmd_release(&c);
                        r = cw_store_node_cmd_finish(s, id, CW_NODE_CMD_PENDING,
                                                     CW_NODE_CMD_EXPIRED,
                                                     "not taken in time: withdrawn", NULL);
                        if (r == -ESTALE)
                                continue; /* taken just now: wait for it after all */
                        snprintf(why, size,
                                 "node %s's daemon did not take the command within %d s "
                                 "(stopped or cut off from the store?); it was withdrawn",
                                 node, CW_REMOTE_TAKE_MS / 1000);
                        return -ETIMEDOUT;
                }
                cw_node_cmd_release(&c);
                if (now >= end_ms) {
                        snprintf(why, size, "node %s did not report the run's end in time", node);
                        return -ETIMEDOUT;
                }
                wait_news(s, fd, (int)(end_ms - now < WAIT_STEP_MS ? end_ms - now : WAIT_STEP_MS));
        }
}

int cw_remote_kill(cw_store *s, const cw_config *cfg, const cw_run *run, const char *by,
                   cw_run_status *ret_status, char *why, size_t size)
{
        const cw_job *job = run->job ? cw_config_job(cfg, run->job) : NULL;
        cw_duration grace = job ? job->kill_grace : cfg->defaults.kill_grace;
        cw_node_cmd c = {.node = run->node,
                         .kind = (char *)"kill",
                         .run_id = run->id,
                         .signal = SIGTERM,
                         .by = (char *)by};
        cw_node_cmd done = {0};
        int64_t end_ms;
        bool alive = false;
        int fd = -1, r;

        if (!run->node) {
                snprintf(why, size, "the run names no node");
                return -EINVAL;
        }
        r = cw_store_node_alive(s, run->node, &alive);
        if (r == 0 && !alive) {
                snprintf(why, size, "node %s is down (no daemon of it is connected to the store)",
                         run->node);
                return -EHOSTDOWN;
        }
        /* Listen first, so the answer's notification cannot come before. */
        if (r == 0)
                r = cw_store_listen(s, NULL, &fd);
        if (r == 0)
                r = cw_store_node_cmd_add(s, &c);
        if (r < 0) {
                cw_store_unlisten(s);
                snprintf(why, size, "cannot send the command: %s", cw_store_strerror(r));
                return r;
        }
        end_ms = cw_clock_mono_us() / 1000 + CW_REMOTE_TAKE_MS + (int64_t)(grace * 1000) +
                 CW_REMOTE_KILL_EXTRA_MS;
        r = wait_done(s, fd, c.id, run->node, end_ms, &done, why, size);
        cw_store_unlisten(s);
        if (r == 0)
                r = answer(s, &done, ret_status, why, size);
        cw_node_cmd_release(&done);
        return r;
}
