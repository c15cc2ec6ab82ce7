/* commands.c - commands to a node and the wake-up channel in the
 * PostgreSQL backend (store.h, "commands to a node"; pg_internal.h).
 *
 * A command is a row of node_commands whose state moves pending -> taken
 * -> done/failed (or pending -> expired, withdrawn by its sender), each
 * move one UPDATE conditional on the state it leaves, so a command is
 * acted on once and never after its sender gave up on it. Taking uses
 * FOR UPDATE SKIP LOCKED like requests do.
 *
 * Wake-ups are LISTEN/NOTIFY on one channel (PG_CHANNEL) with payloads
 * "cmd:NODE" (a command for NODE was added), "pass" (a request was
 * queued) and "done:ID" (command ID was finished). pg_notify() inside the
 * writing transaction is sent at its COMMIT, so a listener never wakes
 * before the row is there to read. Notifications are hints: a connection
 * lost while listening is reported (CW_STORE_WOKE_LOST) so the listener
 * looks at the table itself, and listeners also look now and then.
 *
 * A daemon names its listening connection "cronwarden daemon NODE"
 * (application_name); a node is alive while such a connection shows in
 * pg_stat_activity. The server drops a connection when its process dies,
 * so kill -9 of a daemon is seen at once; a stopped or cut-off daemon is
 * seen through its commands not being taken (the sender's deadline). */
#include "store/pg/pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APPNAME_PREFIX "cronwarden daemon "
/* A payload ("cmd:" and a node name) fits NOTIFY's limit with room. */
#define PAYLOAD_MAX 512

static int notify(pg_store *q, const char *what, const char *arg)
{
        char payload[PAYLOAD_MAX];
        pg_exec x;
        int n = snprintf(payload, sizeof(payload), "%s%s", what, arg ? arg : "");

        if (n < 0 || (size_t)n >= sizeof(payload))
                return -ENAMETOOLONG;
        x = PG_EXEC(PS_NOTIFY, PG_TEXT(payload));
        return pg_exec_run(q, &x);
}

/* ---- rows ------------------------------------------------------------------- */

static cw_node_cmd_state state_parse(const char *s)
{
        for (int i = 0; i < CW_NODE_CMD_STATE_MAX; i++)
                if (s && strcmp(s, cw_node_cmd_state_to_string((cw_node_cmd_state)i)) == 0)
                        return (cw_node_cmd_state)i;
        return CW_NODE_CMD_FAILED; /* a state this code does not know: treat it as over */
}

static int cmd_row(const PGresult *res, int row, void *item)
{
        cw_node_cmd *c = item;
        int e;

        c->id = pg_int(res, row, 0);
        c->run_id = pg_int(res, row, 3);
        c->signal = (int)pg_int(res, row, 4);
        c->state = state_parse(PQgetvalue(res, row, 6));
        c->age_us = pg_int(res, row, 8);
        e = pg_dup_text(res, row, 1, &c->node);
        if (e == 0)
                e = pg_dup_text(res, row, 2, &c->kind);
        if (e == 0)
                e = pg_dup_text(res, row, 5, &c->by);
        if (e == 0)
                e = pg_dup_text(res, row, 7, &c->result);
        if (e == 0 && (!c->node || !c->kind))
                e = -EIO; /* NOT NULL columns */
        if (e < 0)
                cw_node_cmd_release(c);
        return e;
}

static void cmd_row_release(void *item)
{
        cw_node_cmd_release(item);
}

#define CMD_ROWS                                                                                   \
        {                                                                                          \
                .size = sizeof(cw_node_cmd), .read = cmd_row, .release = cmd_row_release           \
        }

/* ---- add, take, finish, get ------------------------------------------------- */

typedef struct add_ctx {
        const cw_node_cmd *c;
        int64_t id;
} add_ctx;

static int add_txn(pg_store *q, void *ctx)
{
        add_ctx *a = ctx;
        pg_exec prune = PG_EXEC0(PS_CMD_PRUNE);
        pg_exec x = PG_EXEC(PS_CMD_ADD, PG_TEXT(a->c->node), PG_TEXT(a->c->kind),
                            PG_INT(a->c->run_id), PG_INT(a->c->signal), PG_TEXT(a->c->by));
        int e;

        /* Finished commands are kept a day, for people reading the table. */
        e = pg_exec_run(q, &prune);
        if (e < 0)
                return e;
        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0)
                a->id = PQntuples(x.res) == 1 ? pg_int(x.res, 0, 0) : 0;
        pg_exec_release(&x);
        if (e == 0 && a->id <= 0)
                e = -EIO;
        return e < 0 ? e : notify(q, "cmd:", a->c->node);
}

int pg_node_cmd_add(cw_store *s, cw_node_cmd *c)
{
        add_ctx a = {.c = c};
        int r = pg_write(pg_of(s), add_txn, &a);

        if (r == 0)
                c->id = a.id;
        return r;
}

typedef struct take_ctx {
        const char *node;
        size_t max;
        pg_rows rows; /* of cw_node_cmd */
} take_ctx;

static int take_txn(pg_store *q, void *ctx)
{
        take_ctx *t = ctx;
        pg_exec x = PG_EXEC(PS_CMD_TAKE, PG_TEXT(t->node),
                            PG_INT(t->max > INT64_MAX ? INT64_MAX : (int64_t)t->max));

        pg_rows_reset(&t->rows); /* an earlier attempt's */
        return pg_rows_exec(q, &x, &t->rows);
}

static int cmd_cmp(const void *a, const void *b)
{
        int64_t x = ((const cw_node_cmd *)a)->id, y = ((const cw_node_cmd *)b)->id;

        return x < y ? -1 : x > y;
}

static int any_read(pg_store *q, void *ctx)
{
        take_ctx *t = ctx;
        pg_exec x = PG_EXEC(PS_CMD_ANY, PG_TEXT(t->node));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0 && (PQntuples(x.res) != 1 || pg_int(x.res, 0, 0) == 0))
                t->max = 0;
        pg_exec_release(&x);
        return e;
}

int pg_node_cmds_take(cw_store *s, const char *node, size_t max, cw_node_cmd **ret, size_t *ret_n)
{
        take_ctx t = {.node = node, .max = max, .rows = CMD_ROWS};
        int r;

        /* A daemon looks now and then: a look that finds nothing is one
         * read, not a write transaction. One attempt each (store.h): the
         * daemon's loop must not wait out a database that is away. */
        if (max > 0 && (r = pg_read_once(pg_of(s), any_read, &t)) < 0)
                return r;
        max = t.max;
        if (max == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = pg_write_once(pg_of(s), take_txn, &t);
        if (r < 0) {
                pg_rows_reset(&t.rows);
                return r;
        }
        /* RETURNING keeps no order: oldest first, as promised. */
        if (t.rows.n > 1)
                qsort(t.rows.items, t.rows.n, sizeof(cw_node_cmd), cmd_cmp);
        *ret = t.rows.items;
        *ret_n = t.rows.n;
        return 0;
}

typedef struct finish_ctx {
        int64_t id;
        cw_node_cmd_state from, to;
        const char *result, *run_reason;
} finish_ctx;

static int finish_txn(pg_store *q, void *ctx)
{
        finish_ctx *f = ctx;
        char id[24];
        pg_exec x =
                PG_EXEC(PS_CMD_FINISH, PG_INT(f->id), PG_TEXT(cw_node_cmd_state_to_string(f->from)),
                        PG_TEXT(cw_node_cmd_state_to_string(f->to)), PG_TEXT(f->result));
        int64_t run_id = 0;
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0 && PQntuples(x.res) == 1)
                run_id = pg_int(x.res, 0, 0);
        else if (e == 0)
                e = -ESTALE;
        pg_exec_release(&x);
        if (e == -ESTALE) {
                pg_exec ex = PG_EXEC(PS_CMD_EXISTS, PG_INT(f->id));
                e = pg_exec_run(q, &ex);
                return e < 0 ? e : ex.changes == 0 ? -ENOENT : -ESTALE;
        }
        if (e == 0 && f->run_reason && run_id > 0) {
                pg_exec rr = PG_EXEC(PS_CMD_RUN_REASON, PG_INT(run_id), PG_TEXT(f->run_reason));
                e = pg_exec_run(q, &rr);
        }
        snprintf(id, sizeof(id), "%lld", (long long)f->id);
        return e < 0 ? e : notify(q, "done:", id);
}

int pg_node_cmd_finish(cw_store *s, int64_t id, cw_node_cmd_state from, cw_node_cmd_state to,
                       const char *result, const char *run_reason)
{
        finish_ctx f = {id, from, to, result, run_reason};

        return pg_write_once(pg_of(s), finish_txn, &f);
}

typedef struct get_ctx {
        int64_t id;
        pg_rows rows;
} get_ctx;

static int get_read(pg_store *q, void *ctx)
{
        get_ctx *g = ctx;
        pg_exec x = PG_EXEC(PS_CMD_GET, PG_INT(g->id));
        int e = pg_rows_exec(q, &x, &g->rows);

        if (e == 0 && g->rows.n == 0)
                e = -ENOENT;
        if (e < 0)
                pg_rows_reset(&g->rows);
        return e;
}

int pg_node_cmd_get(cw_store *s, int64_t id, cw_node_cmd *ret)
{
        get_ctx g = {.id = id, .rows = CMD_ROWS};
        int r = pg_read(pg_of(s), get_read, &g);

        if (r < 0)
                return r;
        *ret = *(cw_node_cmd *)g.rows.items;
        free(g.rows.items); /* its one item now belongs to *ret */
        return 0;
}

/* ---- node liveness, wake-ups ------------------------------------------------ */

typedef struct alive_ctx {
        const char *name;
        int64_t n;
} alive_ctx;

static int alive_read(pg_store *q, void *ctx)
{
        alive_ctx *a = ctx;
        pg_exec x = PG_EXEC(PS_NODE_ALIVE, PG_TEXT(a->name));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0)
                a->n = PQntuples(x.res) == 1 ? pg_int(x.res, 0, 0) : 0;
        pg_exec_release(&x);
        return e;
}

int pg_node_alive(cw_store *s, const char *node, bool *ret)
{
        char name[300];
        alive_ctx a = {.name = name};
        int n = snprintf(name, sizeof(name), APPNAME_PREFIX "%s", node);
        int r;

        if (n < 0 || (size_t)n >= sizeof(name))
                return -ENAMETOOLONG;
        r = pg_read(pg_of(s), alive_read, &a);
        if (r == 0)
                *ret = a.n > 0;
        return r;
}

static int wake_txn(pg_store *q, void *ctx)
{
        (void)ctx;
        return notify(q, "pass", NULL);
}

int pg_wake(cw_store *s)
{
        return pg_write(pg_of(s), wake_txn, NULL);
}

/* Constant SQL without parameters (LISTEN cannot be prepared). */
static int exec_const(pg_store *q, const char *sql)
{
        PGresult *res = PQexec(q->conn, sql);
        int e = pg_result_errno(q, res);

        PQclear(res);
        return e;
}

int pg_listen(cw_store *s, const char *node, int *ret_fd)
{
        pg_store *q = pg_of(s);
        bool was = q->listening;
        int e;

        if (node && !q->listen_as) {
                size_t n = strlen(APPNAME_PREFIX) + strlen(node) + 1;
                q->listen_as = malloc(n);
                if (!q->listen_as)
                        return -ENOMEM;
                snprintf(q->listen_as, n, APPNAME_PREFIX "%s", node);
                was = false; /* name the connection even if it already listens */
                q->listening = false;
        }
        if (q->listening && q->listen_gen == q->conn_gen && q->conn &&
            PQstatus(q->conn) == CONNECTION_OK) {
                *ret_fd = PQsocket(q->conn);
                return 0;
        }
        e = pg_connect(q);
        if (e == 0 && q->listen_as) {
                pg_exec x = PG_EXEC(PS_SET_APPNAME, PG_TEXT(q->listen_as));
                e = pg_exec_run(q, &x);
        }
        if (e == 0)
                e = exec_const(q, "LISTEN " PG_CHANNEL);
        if (e < 0)
                return e;
        q->listening = true;
        q->listen_gen = q->conn_gen;
        if (was)
                q->listen_lost = true; /* what was sent meanwhile never came */
        *ret_fd = PQsocket(q->conn);
        return 0;
}

static void drain(pg_store *q, const char *node, unsigned *bits)
{
        PGnotify *n;

        while (q->conn && (n = PQnotifies(q->conn))) {
                const char *p = n->extra ? n->extra : "";

                if (strncmp(p, "cmd:", 4) == 0 && node && strcmp(p + 4, node) == 0)
                        *bits |= CW_STORE_WOKE_CMD;
                else if (strcmp(p, "pass") == 0)
                        *bits |= CW_STORE_WOKE_PASS;
                else if (strncmp(p, "done:", 5) == 0)
                        *bits |= CW_STORE_WOKE_DONE;
                PQfreemem(n);
        }
}

void pg_unlisten(cw_store *s)
{
        pg_store *q = pg_of(s);
        unsigned ignored = 0;

        if (!q->listening)
                return;
        q->listening = false;
        q->listen_lost = false;
        if (q->conn && PQstatus(q->conn) == CONNECTION_OK)
                (void)exec_const(q, "UNLISTEN *");
        drain(q, NULL, &ignored);
}

int pg_wakeups(cw_store *s, unsigned *ret)
{
        pg_store *q = pg_of(s);
        const char *node = q->listen_as ? q->listen_as + strlen(APPNAME_PREFIX) : NULL;
        unsigned bits = 0;

        if (q->listen_lost)
                bits |= CW_STORE_WOKE_LOST;
        q->listen_lost = false;
        if (!q->listening || !q->conn || PQconsumeInput(q->conn) == 0 ||
            PQstatus(q->conn) != CONNECTION_OK)
                bits |= CW_STORE_WOKE_LOST; /* cw_store_listen connects again */
        drain(q, node, &bits);
        *ret = bits;
        return 0;
}
