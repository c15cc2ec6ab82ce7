/* nodes.c - cluster nodes in the PostgreSQL backend (store.h, "cluster
 * nodes"; pg_internal.h; docs/cluster.md).
 *
 * Table nodes has one row per node name; node_jobs the hash of each job
 * definition a node runs. Every time is the database's: a heartbeat
 * stamps clock_timestamp() (µs), and every judgement of age compares it
 * with clock_timestamp() in the same statement, so no node's clock takes
 * part. An alive node is judged dead once max(heartbeat,
 * pg_postmaster_start_time()) is older than the dead timeout: after a
 * restart of the server every node gets the full timeout to reconnect.
 * A heartbeat reads its row's state FOR UPDATE before renewing it, so a
 * node learns that it had been declared dead. Every operation here but
 * leaving makes one attempt (no retries): they are the daemon's heartbeat
 * work, and a node that cannot renew its row must know at once, not after
 * the store's busy bound. */
#include "store/pg/pg_internal.h"

#include "base/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the database's clock -------------------------------------------------- */

static int now_read(pg_store *q, void *ctx)
{
        pg_exec x = PG_EXEC0(PS_DB_NOW);
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0)
                *(int64_t *)ctx = PQntuples(x.res) == 1 ? pg_int(x.res, 0, 0) : 0;
        pg_exec_release(&x);
        return e == 0 && *(int64_t *)ctx <= 0 ? -EIO : e;
}

int pg_db_now(cw_store *s, int64_t *ret_us)
{
        pg_store *q = pg_of(s);
        int64_t now = 0;
        int r = q->batch ? 0 : pg_connect(q);

        if (r == -ECONNREFUSED || r == -ETIMEDOUT)
                r = -ECONNRESET;
        if (r == 0)
                r = now_read(q, &now);
        if (r == 0)
                *ret_us = now;
        return r;
}

/* ---- heartbeats ------------------------------------------------------------- */

typedef struct beat_ctx {
        const cw_node_beat *b;
        bool was_dead;
} beat_ctx;

static int beat_txn(pg_store *q, void *ctx)
{
        beat_ctx *c = ctx;
        const cw_node_beat *b = c->b;
        pg_exec st = PG_EXEC(PS_NODE_STATE_LOCK, PG_TEXT(b->node));
        pg_exec up = PG_EXEC(PS_NODE_BEAT, PG_TEXT(b->node), PG_INT(b->pid),
                             PG_TEXT(b->version ? b->version : ""), PG_INT(b->clock_offset_us),
                             PG_INT(b->claiming), PG_TEXT(b->claiming ? NULL : b->reason),
                             PG_INT(b->first));
        int e;

        st.keep_result = true;
        e = pg_exec_run(q, &st);
        if (e == 0)
                c->was_dead =
                        PQntuples(st.res) == 1 && strcmp(PQgetvalue(st.res, 0, 0), "dead") == 0;
        pg_exec_release(&st);
        return e == 0 ? pg_exec_run(q, &up) : e;
}

int pg_node_beat(cw_store *s, const cw_node_beat *b, bool *ret_was_dead)
{
        beat_ctx c = {b, false};
        int r = pg_write_once(pg_of(s), beat_txn, &c);

        if (r == 0)
                *ret_was_dead = c.was_dead;
        return r;
}

int pg_node_leave(cw_store *s, const char *node)
{
        pg_exec x = PG_EXEC(PS_NODE_LEAVE, PG_TEXT(node));

        return pg_exec_write(pg_of(s), &x);
}

/* ---- listing and sweeping --------------------------------------------------- */

static int node_row(const PGresult *res, int row, void *item)
{
        cw_node *n = item;
        int e;

        if (cw_node_state_from_string(PQgetvalue(res, row, 3), &n->state) < 0)
                return -EIO;
        n->pid = (int)pg_int(res, row, 1);
        n->started_us = pg_int(res, row, 4);
        n->heartbeat_us = pg_int(res, row, 5);
        n->dead_us = pg_int(res, row, 6);
        n->age_us = pg_int(res, row, 7);
        n->clock_offset_us = pg_int(res, row, 8);
        n->claiming = pg_int(res, row, 9) != 0;
        n->expired = pg_int(res, row, 11) != 0;
        n->running = (uint64_t)pg_int(res, row, 12);
        n->jobs = (uint64_t)pg_int(res, row, 13);
        e = pg_dup_text(res, row, 0, &n->name);
        if (e == 0)
                e = pg_dup_text(res, row, 14, &n->jobs_digest);
        if (e == 0)
                e = pg_dup_text(res, row, 2, &n->version);
        if (e == 0)
                e = pg_dup_text(res, row, 10, &n->reason);
        if (e == 0 && !n->name)
                e = -EIO;
        if (e < 0)
                cw_node_release(n);
        return e;
}

static void node_row_release(void *item)
{
        cw_node_release(item);
}

typedef struct list_ctx {
        int64_t dead_after_us;
        pg_rows rows;
} list_ctx;

static int list_read(pg_store *q, void *ctx)
{
        list_ctx *c = ctx;
        pg_exec x = PG_EXEC(PS_NODES_LIST, PG_INT(c->dead_after_us));

        pg_rows_reset(&c->rows);
        return pg_rows_exec(q, &x, &c->rows);
}

/* A node's disagreeing jobs, joined with commas (NULL when none). */
static int disagree_text(cw_store *s, const char *node, int64_t dead_after_us, char **ret)
{
        char **names = NULL;
        size_t n = 0, len = 0;
        cw_buf b = CW_BUF_INIT(1024 * 1024);
        int r = pg_node_jobs_disagree(s, node, dead_after_us, &names, &n);

        *ret = NULL;
        for (size_t i = 0; r == 0 && i < n; i++)
                cw_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
        cw_store_names_free(names, n);
        if (r == 0 && n)
                r = cw_buf_error(&b);
        if (r == 0 && n)
                *ret = cw_buf_steal(&b, &len);
        cw_buf_release(&b);
        return r == 0 && n && !*ret ? -ENOMEM : r;
}

static bool live(const cw_node *n)
{
        return n->state == CW_NODE_ALIVE && !n->expired;
}

/* The digest every live node published, "" when there is none, NULL when
 * they differ or one published none (a node of an older version). */
static const char *common_digest(const cw_node *ns, size_t n)
{
        const char *d = "";

        for (size_t i = 0; i < n; i++) {
                if (!live(&ns[i]))
                        continue;
                if (!ns[i].jobs_digest || !ns[i].jobs_digest[0])
                        return NULL;
                if (d[0] && strcmp(d, ns[i].jobs_digest) != 0)
                        return NULL;
                d = ns[i].jobs_digest;
        }
        return d;
}

/* A node whose definitions are those of every live node disagrees on
 * none: no need to compare job by job (disagree_text). */
static bool agrees(const cw_node *x, const char *common)
{
        return common && x->jobs_digest && x->jobs_digest[0] &&
               (!common[0] || strcmp(common, x->jobs_digest) == 0);
}

int pg_nodes_list(cw_store *s, int64_t dead_after_us, cw_node **ret, size_t *ret_n)
{
        const char *common;
        list_ctx c = {dead_after_us,
                      {.size = sizeof(cw_node), .read = node_row, .release = node_row_release}};
        cw_node *nodes;
        int r = pg_read_once(pg_of(s), list_read, &c);

        if (r < 0)
                return r;
        nodes = c.rows.items;
        common = common_digest(nodes, c.rows.n);
        for (size_t i = 0; i < c.rows.n && r == 0; i++)
                if (nodes[i].jobs && !agrees(&nodes[i], common))
                        r = disagree_text(s, nodes[i].name, dead_after_us, &nodes[i].disagree);
        if (r < 0) {
                cw_nodes_free(nodes, c.rows.n);
                return r;
        }
        *ret = nodes;
        *ret_n = c.rows.n;
        return 0;
}

static int name_row(const PGresult *res, int row, void *item)
{
        char **name = item;
        int e = pg_dup_text(res, row, 0, name);

        return e == 0 && !*name ? -EIO : e;
}

static void name_release(void *item)
{
        free(*(char **)item);
}

#define NAME_ROWS                                                                                  \
        {                                                                                          \
                .size = sizeof(char *), .read = name_row, .release = name_release                  \
        }

typedef struct names_ctx {
        pg_exec x;
        pg_rows rows;
} names_ctx;

static int names_txn(pg_store *q, void *ctx)
{
        names_ctx *c = ctx;

        pg_rows_reset(&c->rows); /* an earlier attempt's */
        return pg_rows_exec(q, &c->x, &c->rows);
}

int pg_nodes_sweep(cw_store *s, int64_t dead_after_us, char ***ret, size_t *ret_n)
{
        names_ctx c = {PG_EXEC(PS_NODES_SWEEP, PG_INT(dead_after_us)), NAME_ROWS};
        int r = pg_write_once(pg_of(s), names_txn, &c);

        if (r < 0) {
                pg_rows_reset(&c.rows);
                return r;
        }
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

/* ---- job definitions -------------------------------------------------------- */

typedef struct jobs_ctx {
        const char *node;
        const char *const *jobs, *const *hashes;
        size_t n;
} jobs_ctx;

/* Definitions go in by JOBS_PER_INSERT per statement (two text arrays). */
#define JOBS_PER_INSERT 1000

/* v[0..n) as a PostgreSQL array literal: each element quoted, with " and
 * \ escaped. */
static void array_literal(cw_buf *b, const char *const *v, size_t n)
{
        cw_buf_reset(b);
        cw_buf_putc(b, '{');
        for (size_t i = 0; i < n; i++) {
                cw_buf_puts(b, i ? ",\"" : "\"");
                for (const char *p = v[i]; *p; p++) {
                        if (*p == '"' || *p == '\\')
                                cw_buf_putc(b, '\\');
                        cw_buf_putc(b, *p);
                }
                cw_buf_putc(b, '"');
        }
        cw_buf_putc(b, '}');
}

static int jobs_insert(pg_store *q, const jobs_ctx *c, size_t from, size_t n)
{
        cw_buf jobs = CW_BUF_INIT(64u << 20), hashes = CW_BUF_INIT(64u << 20);
        pg_exec add;
        int e;

        array_literal(&jobs, c->jobs + from, n);
        array_literal(&hashes, c->hashes + from, n);
        e = cw_buf_error(&jobs) < 0 ? cw_buf_error(&jobs) : cw_buf_error(&hashes);
        if (e == 0) {
                add = PG_EXEC(PS_NODE_JOB_ADD, PG_TEXT(c->node), PG_TEXT(jobs.p),
                              PG_TEXT(hashes.p));
                e = pg_exec_run(q, &add);
        }
        cw_buf_release(&jobs);
        cw_buf_release(&hashes);
        return e;
}

static int jobs_txn(pg_store *q, void *ctx)
{
        jobs_ctx *c = ctx;
        pg_exec del = PG_EXEC(PS_NODE_JOBS_CLEAR, PG_TEXT(c->node));
        pg_exec digest = PG_EXEC(PS_NODE_JOBS_DIGEST, PG_TEXT(c->node));
        int e = pg_exec_run(q, &del);

        for (size_t i = 0; i < c->n && e == 0; i += JOBS_PER_INSERT)
                e = jobs_insert(q, c, i, c->n - i < JOBS_PER_INSERT ? c->n - i : JOBS_PER_INSERT);
        return e < 0 ? e : pg_exec_run(q, &digest);
}

int pg_node_jobs_set(cw_store *s, const char *node, const char *const *jobs,
                     const char *const *hashes, size_t n)
{
        jobs_ctx c = {node, jobs, hashes, n};

        return pg_write_once(pg_of(s), jobs_txn, &c);
}

int pg_node_jobs_disagree(cw_store *s, const char *node, int64_t dead_after_us, char ***ret,
                          size_t *ret_n)
{
        names_ctx c = {PG_EXEC(PS_NODE_JOBS_DISAGREE, PG_TEXT(node), PG_INT(dead_after_us)),
                       NAME_ROWS};
        int r = pg_read_once(pg_of(s), names_txn, &c);

        if (r < 0) {
                pg_rows_reset(&c.rows);
                return r;
        }
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}
