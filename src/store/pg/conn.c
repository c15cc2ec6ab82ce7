/* conn.c - the PostgreSQL backend's connection layer (pg_internal.h):
 * preparing the statements (statements.c), connecting and reconnecting, server
 * errors as errnos, running prepared statements with their parameters,
 * and the transactions every operation runs in (one write, one read, or
 * a batch of writes), with the retries described in pg_internal.h. */
#include "store/pg/pg_internal.h"
#include "base/array.h"
#include "base/clock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- clocks and pauses ------------------------------------------------------ */

/* Retries pause through pg_deadline (the store's cw_store_deadline). */

/* ---- connecting ------------------------------------------------------------- */

/* Library code never prints: the server's notices (e.g. "relation
 * already exists, skipping") are dropped rather than written to stderr. */
static void notice_ignore(void *arg, const char *message)
{
        (void)arg;
        (void)message;
}

/* Keeps a message (libpq's or the server's) in q->msg, one line: line
 * breaks and tabs become one space, none trailing. */
static void keep_msg(pg_store *q, const char *m)
{
        size_t n = 0;

        for (m = m && *m ? m : "unknown error"; *m && n + 1 < sizeof(q->msg); m++) {
                bool space = *m == '\n' || *m == '\t' || *m == ' ';

                if (space && (n == 0 || q->msg[n - 1] == ' '))
                        continue;
                q->msg[n++] = space ? ' ' : *m;
        }
        while (n > 0 && q->msg[n - 1] == ' ')
                n--;
        q->msg[n] = '\0';
}

int pg_connect(pg_store *q)
{
        /* The URL comes last, so what it says wins over these defaults.
         * Keepalives notice a server gone silent (a dead host, a cut
         * network) within about a minute, even while waiting for a reply. */
        const char *keys[] = {"connect_timeout",
                              "fallback_application_name",
                              "keepalives_idle",
                              "keepalives_interval",
                              "keepalives_count",
                              "dbname",
                              NULL};
        const char *vals[] = {PG_CONNECT_TIMEOUT_S, "cronwarden", "30", "10", "3", q->url, NULL};
        size_t first = getenv("PGCONNECT_TIMEOUT") ? 1 : 0;
        char set[64];
        PGresult *res;
        int e;

        if (q->conn && PQstatus(q->conn) == CONNECTION_OK)
                return 0;
        PQfinish(q->conn);
        memset(q->prepared, 0, sizeof(q->prepared));
        q->n_deferred = 0;
        q->xid = 0;
        pg_ahead_drop(q);
        q->conn_gen++;
        q->conn = PQconnectdbParams(keys + first, vals + first, 1);
        if (!q->conn)
                return -ENOMEM;
        if (PQstatus(q->conn) != CONNECTION_OK) {
                const char *m = PQerrorMessage(q->conn);
                keep_msg(q, m);
                cw_store_link_news(&q->base, false, q->msg);
                /* libpq gives no code for why: its message is all there is. */
                if (strstr(m, "authentication failed") || strstr(m, "no password supplied") ||
                    strstr(m, "permission denied") || strstr(m, "not permitted"))
                        return -EACCES;
                if (strstr(m, "does not exist"))
                        return -ENOENT;
                if (strstr(m, "timeout expired"))
                        return -ETIMEDOUT;
                return -ECONNREFUSED;
        }
        PQsetNoticeProcessor(q->conn, notice_ignore, NULL);
        cw_store_link_news(&q->base, true, NULL);
        /* A row lock held by a stuck session is waited for as long as a
         * busy SQLite file is, then the operation fails (-EBUSY). */
        snprintf(set, sizeof(set), "SET lock_timeout = %d", CW_STORE_BUSY_MS);
        res = PQexec(q->conn, set);
        e = pg_result_errno(q, res);
        PQclear(res);
        return e;
}

/* A SQLSTATE as a negative errno. */
static int sqlstate_errno(const char *st)
{
        static const struct {
                const char *prefix;
                int err;
        } map[] = {
                {"40001", -EBUSY},      /* serialization failure */
                {"40P01", -EBUSY},      /* deadlock detected */
                {"55P03", -EBUSY},      /* lock not available (NOWAIT) */
                {"53300", -EBUSY},      /* too many connections */
                {"57P01", -ECONNRESET}, /* admin shutdown */
                {"57P02", -ECONNRESET}, /* crash shutdown */
                {"57P03", -ECONNRESET}, /* cannot connect now (starting up) */
                {"08", -ECONNRESET},    /* connection exceptions */
                {"23505", -EEXIST},     /* unique violation */
                {"23", -EINVAL},        /* other integrity violations */
                {"22", -EINVAL},        /* data exceptions */
                {"42501", -EACCES},     /* insufficient privilege */
                {"25006", -EROFS},      /* read-only transaction (a standby, ...) */
                {"53100", -ENOSPC},     /* disk full */
                {"53200", -ENOMEM},     /* out of memory */
                {"54", -E2BIG},         /* program limit exceeded */
        };

        if (!st)
                return -EIO;
        for (size_t i = 0; i < CW_ARRAY_SIZE(map); i++)
                if (strncmp(st, map[i].prefix, strlen(map[i].prefix)) == 0)
                        return map[i].err;
        return -EIO;
}

int pg_result_errno(pg_store *q, const PGresult *res)
{
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        int e;

        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                return 0;
        keep_msg(q, res ? PQresultErrorMessage(res) : PQerrorMessage(q->conn));
        /* A broken connection has no SQLSTATE worth reading. */
        if (!q->conn || PQstatus(q->conn) != CONNECTION_OK)
                return -ECONNRESET;
        if (!res)
                return -ENOMEM;
        e = sqlstate_errno(PQresultErrorField(res, PG_DIAG_SQLSTATE));
        if (e == -EROFS || e == -EACCES)
                snprintf(q->readonly_why, sizeof(q->readonly_why),
                         "store '%s' refused the write: %s (a read-only server or session, e.g. a "
                         "standby or default_transaction_read_only, or a role without the "
                         "privilege)",
                         q->shown ? q->shown : "?", q->msg);
        return e;
}

/* ---- running statements ----------------------------------------------------- */

/* The list variants leave some of their six parameters unused, so the
 * server cannot infer those types: they are given (text and bigint OIDs). */
static const Oid list_types[6] = {25, 25, 25, 25, 20, 20};

/* Statement id's name and SQL (sql: room for a list variant's). */
static void stmt_text(int id, char *name, size_t name_size, char *sql, size_t sql_size,
                      const char **ret_text)
{
        if (id < PS_MAX) {
                snprintf(name, name_size, "%s", pg_stmt_name((pg_stmt_id)id));
                *ret_text = pg_stmt_sql((pg_stmt_id)id);
        } else {
                snprintf(name, name_size, "cw_list_%d", id - PS_MAX);
                pg_list_sql((unsigned)(id - PS_MAX), sql, sql_size);
                *ret_text = sql;
        }
}

static int prepare(pg_store *q, int id)
{
        char name[32], sql[1024];
        const char *text;
        PGresult *res;
        int e;

        if (q->prepared[id])
                return 0;
        stmt_text(id, name, sizeof(name), sql, sizeof(sql), &text);
        res = id < PS_MAX ? PQprepare(q->conn, name, text, 0, NULL)
                          : PQprepare(q->conn, name, text, 6, list_types);
        e = pg_result_errno(q, res);
        PQclear(res);
        if (e == 0)
                q->prepared[id] = true;
        return e;
}

/* Sends the preparation of id into the open pipeline. 0, or -ECONNRESET. */
static int send_prepare(pg_store *q, int id)
{
        char name[32], sql[1024];
        const char *text;

        stmt_text(id, name, sizeof(name), sql, sizeof(sql), &text);
        return (id < PS_MAX ? PQsendPrepare(q->conn, name, text, 0, NULL)
                            : PQsendPrepare(q->conn, name, text, 6, list_types))
                       ? 0
                       : -ECONNRESET;
}

static const char *stmt_name(int id, char *buf, size_t size)
{
        if (id < PS_MAX)
                return pg_stmt_name((pg_stmt_id)id);
        snprintf(buf, size, "cw_list_%d", id - PS_MAX);
        return buf;
}

#define PG_MAX_ARGS 24

/* x's parameters as libpq wants them: numbers as text (into nums, in the
 * C locale the process keeps), text as is, blobs binary. */
typedef struct pg_params {
        char nums[PG_MAX_ARGS][32];
        const char *vals[PG_MAX_ARGS];
        int lens[PG_MAX_ARGS], fmts[PG_MAX_ARGS];
} pg_params;

static int params_fill(const pg_exec *x, pg_params *p)
{
        if (x->n_args > PG_MAX_ARGS)
                return -E2BIG;
        for (size_t i = 0; i < x->n_args; i++) {
                const pg_val *v = &x->args[i];

                p->lens[i] = 0;
                p->fmts[i] = 0;
                p->vals[i] = p->nums[i];
                switch (v->type) {
                case PG_V_INT:
                        snprintf(p->nums[i], sizeof(p->nums[i]), "%" PRId64, v->i);
                        break;
                case PG_V_REAL:
                        snprintf(p->nums[i], sizeof(p->nums[i]), "%.17g", v->d);
                        break;
                case PG_V_TEXT:
                        p->vals[i] = v->p;
                        break;
                case PG_V_BLOB:
                        if (v->n > INT32_MAX)
                                return -E2BIG;
                        p->vals[i] = v->n ? v->p : "";
                        p->lens[i] = (int)v->n;
                        p->fmts[i] = 1;
                        break;
                }
        }
        return 0;
}

/* Sends x's statement (prepared already). 0, or -ECONNRESET. */
static int send_one(pg_store *q, const pg_exec *x, const pg_params *p)
{
        char name[32];

        return PQsendQueryPrepared(q->conn, stmt_name(x->id, name, sizeof(name)), (int)x->n_args,
                                   p->vals, p->lens, p->fmts, 0)
                       ? 0
                       : -ECONNRESET;
}

/* x's reply: its errno, x->changes and (keep_result) x->res. Takes res. */
static int take_result(pg_store *q, pg_exec *x, PGresult *res)
{
        int e = pg_result_errno(q, res);

        if (e < 0) {
                PQclear(res);
                return e;
        }
        /* Rows returned (SELECT, RETURNING) or else rows changed. */
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
                x->changes = PQntuples(res);
        else
                x->changes = strtoll(PQcmdTuples(res), NULL, 10);
        if (x->keep_result)
                x->res = res;
        else
                PQclear(res);
        return 0;
}

/* The reply of one deferred statement: the transaction id is kept. */
static int take_deferred(pg_store *q, int id, PGresult *res)
{
        pg_exec d = PG_EXEC0(id);
        int e;

        d.keep_result = id == PS_TXID;
        e = take_result(q, &d, res);
        if (e == 0 && id == PS_TXID)
                q->xid = PQntuples(d.res) == 1 ? pg_int(d.res, 0, 0) : 0;
        pg_exec_release(&d);
        return e;
}

/* One reply of a pipeline and the end of it; NULL when the connection
 * broke. */
static PGresult *pipe_result(pg_store *q)
{
        PGresult *res = PQgetResult(q->conn);
        PGresult *end = res ? PQgetResult(q->conn) : NULL;

        PQclear(end); /* NULL after each statement's reply */
        return res;
}

/* One statement of a pipeline: its id, whether its preparation goes
 * before it, and for x, the caller's exec. */
typedef struct pipe_cmd {
        int id;
        bool prep;
        pg_exec *x;
        const pg_params *p;
} pipe_cmd;

/* The replies of cmds, in order: the first failure, or 0; -ECONNRESET
 * into *ret_broken when the connection broke. Statements after a failure
 * were skipped by the server (PGRES_PIPELINE_ABORTED). */
static int pipe_replies(pg_store *q, const pipe_cmd *cmds, size_t n, int *ret_broken)
{
        int first = 0;

        for (size_t i = 0; i < n && *ret_broken == 0; i++) {
                for (int part = cmds[i].prep ? 0 : 1; part < 2 && *ret_broken == 0; part++) {
                        PGresult *res = pipe_result(q);
                        int r;

                        if (!res) {
                                *ret_broken = -ECONNRESET;
                                break;
                        }
                        if (PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
                                PQclear(res);
                                continue;
                        }
                        if (part == 0) {
                                r = pg_result_errno(q, res);
                                PQclear(res);
                                if (r == 0)
                                        q->prepared[cmds[i].id] = true;
                        } else {
                                r = cmds[i].x ? take_result(q, cmds[i].x, res)
                                              : take_deferred(q, cmds[i].id, res);
                        }
                        first = first ? first : r;
                }
        }
        return first;
}

/* Ends a pipeline whose replies were read (e: 0, or why not): reads its
 * sync and leaves pipeline mode. A failure closes the connection, which
 * is then in no state to use. */
static int pipe_end(pg_store *q, int e)
{
        if (e == 0) {
                PGresult *sync = PQgetResult(q->conn);
                if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC)
                        e = -ECONNRESET;
                PQclear(sync);
        }
        if (e == 0 && !PQexitPipelineMode(q->conn))
                e = -ECONNRESET;
        if (e < 0) {
                keep_msg(q, PQerrorMessage(q->conn));
                PQfinish(q->conn);
                q->conn = NULL;
                pg_ahead_drop(q);
        }
        return e;
}

/* The reads said ahead that wait (ahead.c), as commands of a pipeline
 * into cmds + *n, their parameters into *ret_ps (to free). */
static int ahead_cmds(pg_store *q, pipe_cmd *cmds, size_t *n, pg_params **ret_ps)
{
        size_t k = pg_ahead_unsent(q), at = 0;
        pg_params *ps;
        pg_exec *x;

        *ret_ps = NULL;
        if (k == 0)
                return 0;
        ps = calloc(k, sizeof(*ps));
        if (!ps)
                return -ENOMEM;
        for (size_t j = 0; (x = pg_ahead_next_unsent(q, &at)); j++) {
                (void)params_fill(x, &ps[j]); /* one text parameter at most */
                cmds[(*n)++] = (pipe_cmd){.id = x->id, .x = x, .p = &ps[j]};
        }
        *ret_ps = ps;
        return 0;
}

/* The deferred statements and the reads said ahead, then xs (n_x of
 * them, with their parameters ps), in one round trip (libpq's pipeline
 * mode), each preceded by its preparation when this connection has not
 * prepared it yet: the first failure is returned, and the statements
 * after it were not run. A failure of the pipeline itself closes the
 * connection. */
static int run_pipeline(pg_store *q, pg_exec *xs, const pg_params *ps, size_t n_x)
{
        static const pg_params none;
        size_t n = 0, cap = q->n_deferred + pg_ahead_unsent(q) + n_x;
        pipe_cmd one[PG_DEFER_MAX + 1];
        pipe_cmd *cmds = cap <= CW_ARRAY_SIZE(one) ? one : calloc(cap, sizeof(*cmds));
        bool queued[PG_STMT_MAX] = {false};
        pg_params *aps = NULL;
        int e, first = 0;

        if (!cmds) {
                q->n_deferred = 0;
                pg_ahead_drop(q);
                return -ENOMEM;
        }
        e = PQenterPipelineMode(q->conn) ? 0 : -ECONNRESET;
        for (size_t i = 0; i < q->n_deferred; i++)
                cmds[n++] = (pipe_cmd){.id = q->deferred[i], .p = &none};
        q->n_deferred = 0;
        if (e == 0)
                e = ahead_cmds(q, cmds, &n, &aps);
        for (size_t i = 0; i < n_x; i++)
                cmds[n++] = (pipe_cmd){.id = xs[i].id, .x = &xs[i], .p = &ps[i]};
        for (size_t i = 0; e == 0 && i < n; i++) {
                pg_exec bare = PG_EXEC0(cmds[i].id);

                cmds[i].prep = !q->prepared[cmds[i].id] && !queued[cmds[i].id];
                queued[cmds[i].id] = true;
                if (cmds[i].prep)
                        e = send_prepare(q, cmds[i].id);
                if (e == 0)
                        e = send_one(q, cmds[i].x ? cmds[i].x : &bare, cmds[i].p);
        }
        if (e == 0 && !PQpipelineSync(q->conn))
                e = -ECONNRESET;
        if (e == 0)
                first = pipe_replies(q, cmds, n, &e);
        if (cmds != one)
                free(cmds);
        free(aps);
        e = pipe_end(q, e);
        pg_ahead_sent(q);
        return e < 0 ? e : first;
}

int pg_exec_many(pg_store *q, pg_exec *xs, size_t n)
{
        pg_params *ps;
        int e = 0;

        for (size_t i = 0; i < n; i++) {
                xs[i].res = NULL;
                xs[i].changes = 0;
        }
        if (!q->conn || PQstatus(q->conn) != CONNECTION_OK)
                return -ECONNRESET;
        if (n == 0)
                return pg_defer_flush(q);
        ps = calloc(n, sizeof(*ps));
        if (!ps)
                return -ENOMEM;
        for (size_t i = 0; e == 0 && i < n; i++)
                e = params_fill(&xs[i], &ps[i]);
        if (e == 0)
                e = run_pipeline(q, xs, ps, n);
        free(ps);
        return e;
}

/* The statements a daemon's batch runs for a fire (state.c, runs.c,
 * locks.c, stats.c): prepared together, in one round trip, when the
 * connection's first batch begins, so the first fire after a daemon
 * starts (or reconnects) does not pay a round trip per statement. */
static const int batch_stmts[] = {
        PS_SAVEPOINT,     PS_RELEASE,    PS_ROLLBACK_TO,  PS_TXID,
        PS_COMMIT,        PS_STATE_GET,  PS_STATE_SET,    PS_CLAIM,
        PS_JOBS_DISABLED, PS_RUN_INSERT, PS_LOCK_HOLDER,  PS_LOCK_INSERT,
        PS_FENCE_NEXT,    PS_HIST_ADD,   PS_HIST_SUM_ADD, PS_REQUESTS_TAKE,
};

static int prepare_batch_stmts(pg_store *q)
{
        int e = 0;

        if (q->prepared[PS_CLAIM] || PQenterPipelineMode(q->conn) == 0)
                return 0;
        for (size_t i = 0; e == 0 && i < CW_ARRAY_SIZE(batch_stmts); i++)
                if (!q->prepared[batch_stmts[i]])
                        e = send_prepare(q, batch_stmts[i]);
        if (e == 0 && !PQpipelineSync(q->conn))
                e = -ECONNRESET;
        for (size_t i = 0; e == 0 && i < CW_ARRAY_SIZE(batch_stmts); i++) {
                PGresult *res;

                if (q->prepared[batch_stmts[i]])
                        continue;
                res = pipe_result(q);
                if (!res)
                        e = -ECONNRESET;
                else if (pg_result_errno(q, res) == 0)
                        q->prepared[batch_stmts[i]] = true;
                PQclear(res);
        }
        return pipe_end(q, e);
}

int pg_exec_run(pg_store *q, pg_exec *x)
{
        pg_params p;
        PGresult *res;
        char name[32];
        int e;

        x->res = NULL;
        x->changes = 0;
        if (!q->conn || PQstatus(q->conn) != CONNECTION_OK)
                return -ECONNRESET;
        if (q->n_ahead && pg_ahead_serve(q, x, &e))
                return e;
        if (q->n_ahead)
                pg_ahead_forget(q, x);
        e = params_fill(x, &p);
        if (e < 0)
                return e;
        if (q->n_deferred || pg_ahead_unsent(q) || !q->prepared[x->id])
                return run_pipeline(q, x, &p, 1);
        res = PQexecPrepared(q->conn, stmt_name(x->id, name, sizeof(name)), (int)x->n_args, p.vals,
                             p.lens, p.fmts, 0);
        return take_result(q, x, res);
}

void pg_defer(pg_store *q, int id)
{
        if (q->n_deferred == PG_DEFER_MAX)
                (void)pg_defer_flush(q);
        q->deferred[q->n_deferred++] = id;
}

int pg_defer_flush(pg_store *q)
{
        if (q->n_deferred == 0 && pg_ahead_unsent(q) == 0)
                return 0;
        if (!q->conn || PQstatus(q->conn) != CONNECTION_OK) {
                q->n_deferred = 0;
                pg_ahead_drop(q);
                return -ECONNRESET;
        }
        return run_pipeline(q, NULL, NULL, 0);
}

void pg_exec_release(pg_exec *x)
{
        PQclear(x->res);
        x->res = NULL;
}

static int exec_txn(pg_store *q, void *ctx)
{
        return pg_exec_run(q, ctx);
}

int pg_exec_write(pg_store *q, pg_exec *x)
{
        return pg_write(q, exec_txn, x);
}

/* One statement without parameters or results. */
static int exec_simple(pg_store *q, pg_stmt_id id)
{
        pg_exec x = PG_EXEC0(id);

        return pg_exec_run(q, &x);
}

int64_t pg_int(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int pg_dup_text(const PGresult *res, int row, int col, char **ret)
{
        if (PQgetisnull(res, row, col)) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(PQgetvalue(res, row, col));
        return *ret ? 0 : -ENOMEM;
}

int pg_dup_bytea(const PGresult *res, int row, int col, void **ret, size_t *ret_len)
{
        unsigned char *raw;
        size_t n = 0;
        char *data;

        *ret = NULL;
        *ret_len = 0;
        if (PQgetisnull(res, row, col))
                return 0;
        raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col), &n);
        if (!raw)
                return -ENOMEM;
        if (n == 0) {
                PQfreemem(raw);
                return 0;
        }
        data = malloc(n + 1);
        if (data) {
                memcpy(data, raw, n);
                data[n] = '\0';
        }
        PQfreemem(raw);
        if (!data)
                return -ENOMEM;
        *ret = data;
        *ret_len = n;
        return 0;
}

void pg_rows_reset(pg_rows *r)
{
        for (size_t i = 0; i < r->n; i++)
                r->release((char *)r->items + i * r->size);
        free(r->items);
        r->items = NULL;
        r->n = r->cap = 0;
}

int pg_rows_exec(pg_store *q, pg_exec *x, pg_rows *r)
{
        int e, rows;

        x->keep_result = true;
        e = pg_exec_run(q, x);
        if (e < 0)
                return e;
        rows = PQntuples(x->res);
        for (int i = 0; e == 0 && i < rows; i++) {
                void *item;

                e = cw_array_reserve(&r->items, &r->cap, r->n + 1, r->size, 16);
                if (e < 0)
                        break;
                item = (char *)r->items + r->n * r->size;
                memset(item, 0, r->size);
                e = r->read(x->res, i, item);
                if (e == 0)
                        r->n++;
        }
        pg_exec_release(x);
        if (e < 0)
                pg_rows_reset(r);
        return e;
}

/* ---- transactions ----------------------------------------------------------- */

/* Ends the open transaction, if the connection still has one, and
 * forgets what was kept for it (statements not sent, observations). */
static void rollback(pg_store *q)
{
        q->n_deferred = 0; /* not sent: nothing of them to undo */
        q->xid = 0;
        pg_obs_drop(q, 0);
        pg_ahead_drop(q);
        if (q->conn && PQstatus(q->conn) == CONNECTION_OK &&
            PQtransactionStatus(q->conn) != PQTRANS_IDLE)
                (void)exec_simple(q, PS_ROLLBACK);
}

/* COMMIT, telling a commit the server turned into a rollback (the
 * transaction had failed) from a real one. */
/* The test hook (cw_store_pg_fault): the connection goes away at COMMIT,
 * after sending it (the reply is lost) or instead of sending it. */
static int commit_fault(pg_store *q)
{
        int e = 0;

        if (q->fault == CW_STORE_PG_FAULT_LOSE_COMMIT_REPLY) {
                e = prepare(q, PS_COMMIT);
                if (e == 0 && (!PQsendQueryPrepared(q->conn, pg_stmt_name(PS_COMMIT), 0, NULL, NULL,
                                                    NULL, 0) ||
                               PQflush(q->conn) != 0))
                        e = -EIO;
        }
        q->fault = CW_STORE_PG_FAULT_NONE;
        PQfinish(q->conn);
        q->conn = NULL;
        return e < 0 ? e : -ECONNRESET;
}

/* COMMIT, with the transaction's histogram rows in the same round trip
 * (pg_obs_commit). */
static int commit(pg_store *q)
{
        pg_exec x = PG_EXEC0(PS_COMMIT);
        int e;

        if (q->fault != CW_STORE_PG_FAULT_NONE) {
                e = pg_obs_commit(q, NULL); /* sends what is deferred too */
                return e < 0 ? e : commit_fault(q);
        }
        x.keep_result = true;
        e = pg_obs_commit(q, &x);
        q->xid = 0;
        pg_ahead_drop(q);
        if (e == 0 && strcmp(PQcmdStatus(x.res), "COMMIT") != 0)
                e = -EIO;
        pg_exec_release(&x);
        return e;
}

/* The open transaction's id: read with its BEGIN already (the statements
 * still deferred then go with the COMMIT), or now. */
static int txid_read(pg_store *q, int64_t *ret)
{
        pg_exec x = PG_EXEC0(PS_TXID);
        int e = q->xid > 0 ? 0 : pg_defer_flush(q);

        if (e < 0 || q->xid > 0) {
                *ret = q->xid;
                return e;
        }
        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0 && PQntuples(x.res) == 1)
                *ret = pg_int(x.res, 0, 0);
        else if (e == 0)
                e = -EIO;
        pg_exec_release(&x);
        return e;
}

/* After a connection was lost during COMMIT of transaction xid: 0 when it
 * committed, -ECONNRESET when it did not (start again), -EIO when that
 * cannot be known before d's deadline. */
static int commit_outcome(pg_store *q, int64_t xid, pg_deadline *d)
{
        for (;;) {
                pg_exec x = PG_EXEC(PS_TXID_STATUS, PG_INT(xid));
                int e = pg_connect(q);

                x.keep_result = true;
                if (e == 0)
                        e = pg_exec_run(q, &x);
                if (e == 0) {
                        const char *st = PQntuples(x.res) == 1 && !PQgetisnull(x.res, 0, 0)
                                                 ? PQgetvalue(x.res, 0, 0)
                                                 : "";
                        e = strcmp(st, "committed") == 0     ? 0
                            : strcmp(st, "aborted") == 0     ? -ECONNRESET
                            : strcmp(st, "in progress") == 0 ? -EAGAIN
                                                             : -EIO;
                        pg_exec_release(&x);
                        if (e != -EAGAIN)
                                return e;
                }
                if (!pg_deadline_wait(d))
                        return -EIO;
        }
}

static bool retryable(int e)
{
        return e == -EBUSY || e == -ECONNRESET;
}

/* Whether the connection has a transaction open, or one whose BEGIN is
 * deferred (pg_defer). */
static bool txn_open(pg_store *q)
{
        PGTransactionStatusType t;

        if (!q->conn || PQstatus(q->conn) != CONNECTION_OK)
                return false;
        t = PQtransactionStatus(q->conn);
        if (t == PQTRANS_INTRANS)
                return true;
        for (size_t i = 0; t == PQTRANS_IDLE && i < q->n_deferred; i++)
                if (q->deferred[i] == PS_BEGIN)
                        return true;
        return false;
}

/* A write inside a batch: its own savepoint, so a failing write leaves
 * no half of itself in the batch, and the batch goes on. The SAVEPOINT
 * goes with the write's first statement and the RELEASE with the next
 * one, so a write of one statement costs one round trip, not three. */
static int batch_write(pg_store *q, pg_txn_fn fn, void *ctx)
{
        size_t obs = q->n_obs;
        int r;

        if (q->batch_lost)
                return -ECANCELED;
        pg_defer(q, PS_SAVEPOINT);
        r = fn(q, ctx);
        if (r == 0)
                pg_defer(q, PS_RELEASE);
        if (r < 0 && r != -ECONNRESET) {
                (void)exec_simple(q, PS_ROLLBACK_TO);
                (void)exec_simple(q, PS_RELEASE);
        }
        if (r < 0)
                pg_obs_drop(q, obs);
        if (!txn_open(q)) {
                q->batch_lost = true;
                return r < 0 ? r : -ECANCELED;
        }
        return r;
}

/* One attempt: BEGIN, fn, COMMIT, with the lost-commit check, which has
 * the full CW_STORE_BUSY_MS whatever the store's patience: the outcome
 * decides whether the write happened. */
static int write_attempt(pg_store *q, pg_txn_fn fn, void *ctx)
{
        pg_deadline d;
        int64_t xid = 0;
        int r = pg_connect(q);

        if (r < 0)
                return r == -ECONNREFUSED || r == -ETIMEDOUT ? -ECONNRESET : r;
        /* BEGIN and the transaction's id go with fn's first statement. */
        q->xid = 0;
        pg_defer(q, PS_BEGIN);
        pg_defer(q, PS_TXID);
        r = fn(q, ctx);
        if (r == 0)
                r = txid_read(q, &xid);
        if (r == 0) {
                r = commit(q);
                if (r == -ECONNRESET) {
                        pg_deadline_init(NULL, &d);
                        r = commit_outcome(q, xid, &d);
                } else if (r < 0) {
                        rollback(q); /* a statement before the COMMIT failed */
                }
                return r;
        }
        rollback(q);
        return r;
}

int pg_write(pg_store *q, pg_txn_fn fn, void *ctx)
{
        pg_deadline d;

        if (q->batch)
                return batch_write(q, fn, ctx);
        pg_deadline_init(q, &d);
        for (;;) {
                int r = write_attempt(q, fn, ctx);
                if (!retryable(r) || !pg_deadline_wait(&d))
                        return r;
        }
}

int pg_write_once(pg_store *q, pg_txn_fn fn, void *ctx)
{
        if (q->batch)
                return batch_write(q, fn, ctx);
        return write_attempt(q, fn, ctx);
}

int pg_read(pg_store *q, pg_txn_fn fn, void *ctx)
{
        pg_deadline d;

        pg_deadline_init(q, &d);
        for (;;) {
                int r = q->batch ? 0 : pg_connect(q);

                if (r == 0)
                        r = fn(q, ctx);
                else if (r == -ECONNREFUSED || r == -ETIMEDOUT)
                        r = -ECONNRESET;
                /* Inside a batch a lost connection lost the batch: no retry. */
                if (q->batch && r == -ECONNRESET) {
                        q->batch_lost = true;
                        return r;
                }
                if (!retryable(r) || !pg_deadline_wait(&d))
                        return r;
        }
}

int pg_read_once(pg_store *q, pg_txn_fn fn, void *ctx)
{
        int r = q->batch ? 0 : pg_connect(q);

        if (r == -ECONNREFUSED || r == -ETIMEDOUT)
                r = -ECONNRESET;
        if (r == 0)
                r = fn(q, ctx);
        if (q->batch && r == -ECONNRESET)
                q->batch_lost = true;
        return r;
}

int pg_batch_begin(cw_store *s)
{
        pg_store *q = pg_of(s);
        pg_deadline d;

        if (q->batch)
                return -EALREADY;
        pg_deadline_init(q, &d);
        for (;;) {
                bool open = q->conn && PQstatus(q->conn) == CONNECTION_OK;
                int r = pg_connect(q);
                if (r == -ECONNREFUSED || r == -ETIMEDOUT)
                        r = -ECONNRESET;
                if (r == 0)
                        r = prepare_batch_stmts(q);
                /* On a connection that was open, BEGIN goes with the
                 * batch's first statement (a connection lost meanwhile
                 * loses the batch, as it would later); on a new one it is
                 * sent now, so the wait for the database happens here. */
                if (r == 0 && open)
                        pg_defer(q, PS_BEGIN);
                else if (r == 0)
                        r = exec_simple(q, PS_BEGIN);
                if (r == 0) {
                        q->batch = true;
                        q->batch_lost = false;
                        q->xid = 0;
                        pg_defer(q, PS_TXID);
                        return 0;
                }
                rollback(q);
                if (!retryable(r) || !pg_deadline_wait(&d))
                        return r;
        }
}

int pg_batch_commit(cw_store *s)
{
        pg_store *q = pg_of(s);
        pg_deadline d;
        int64_t xid = 0;
        int r;

        if (!q->batch)
                return -EINVAL;
        q->batch = false;
        if (q->batch_lost || !txn_open(q)) {
                rollback(q);
                return -ECANCELED;
        }
        r = txid_read(q, &xid);
        if (r < 0) {
                rollback(q);
                return r == -ECONNRESET ? -ECANCELED : r;
        }
        r = commit(q);
        if (r == -ECONNRESET) {
                pg_deadline_init(NULL, &d); /* the outcome: full CW_STORE_BUSY_MS */
                r = commit_outcome(q, xid, &d);
                if (r == -ECONNRESET)
                        r = -ECANCELED;
        } else if (r < 0) {
                rollback(q); /* a statement before the COMMIT failed */
        }
        return r;
}

void pg_batch_abort(cw_store *s)
{
        pg_store *q = pg_of(s);

        if (!q->batch)
                return;
        q->batch = false;
        rollback(q);
}
