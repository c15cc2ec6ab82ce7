/* state.c - the scheduler's state in the SQLite backend (store.h,
 * "scheduler"; sqlite_internal.h): claims of scheduled fires (one winner
 * across processes, by the primary key of claims), key/value scheduler
 * state, per-job enable flags, and requested runs, taken under the write
 * lock so no request is taken twice. */
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- claims --------------------------------------------------------------- */

int sq_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node, bool *ret_won)
{
        /* claimed_us is for people reading the table, not for the logic. */
        sq_exec x = SQ_EXEC(ST_CLAIM, SQ_TEXT(spec), SQ_INT(scheduled_at), SQ_TEXT(node),
                            SQ_INT(cw_store_now(s)));
        int r = sq_exec_write(sq_of(s), &x);

        if (r == 0)
                *ret_won = x.changes == 1;
        return r;
}

/* ---- scheduler state and job flags ---------------------------------------- */

/* A single-row, single-column lookup by a text key: the string or the
 * integer of column 0. */
typedef struct lookup_ctx {
        stmt_id id;
        const char *key;
        char *text;
        int64_t num;
        bool want_text;
} lookup_ctx;

static int lookup_read(sq_store *q, void *ctx)
{
        lookup_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, c->id, &st), rc;

        if (e < 0)
                return e;
        rc = sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sq_errno(q->db, rc);
        if (!c->want_text) {
                c->num = sqlite3_column_int64(st, 0);
                return 0;
        }
        e = sq_dup_text(st, 0, &c->text);
        if (e == 0 && !c->text)
                e = -EIO; /* NOT NULL column */
        return e;
}

int sq_state_get(cw_store *s, const char *key, char **ret)
{
        lookup_ctx c = {.id = ST_STATE_GET, .key = key, .want_text = true};
        int r = sq_read(sq_of(s), lookup_read, &c);

        if (r == 0)
                *ret = c.text;
        return r;
}

int sq_state_set(cw_store *s, const char *key, const char *value)
{
        sq_exec x = SQ_EXEC(ST_STATE_SET, SQ_TEXT(key), SQ_TEXT(value));

        return sq_exec_write(sq_of(s), &x);
}

int sq_job_enabled_get(cw_store *s, const char *job, bool *ret)
{
        lookup_ctx c = {.id = ST_JOB_GET, .key = job};
        int r = sq_read(sq_of(s), lookup_read, &c);

        if (r == 0)
                *ret = c.num != 0;
        return r;
}

int sq_job_enabled_set(cw_store *s, const char *job, bool enabled)
{
        sq_exec x = SQ_EXEC(ST_JOB_SET, SQ_TEXT(job), SQ_INT(enabled));

        return sq_exec_write(sq_of(s), &x);
}

/* ---- requests ------------------------------------------------------------- */

int sq_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us, int64_t *ret_id)
{
        sq_exec x = SQ_EXEC(ST_REQUEST_ADD, SQ_TEXT(spec), SQ_TEXT(by), SQ_INT(now_us));
        int r = sq_exec_write(sq_of(s), &x);

        if (r == 0 && ret_id)
                *ret_id = x.rowid;
        return r;
}

static int request_row(sqlite3_stmt *st, void *item)
{
        cw_request *r = item;
        int e;

        r->id = sqlite3_column_int64(st, 0);
        r->requested_us = sqlite3_column_int64(st, 3);
        e = sq_dup_text(st, 1, &r->spec);
        if (e == 0)
                e = sq_dup_text(st, 2, &r->by);
        if (e == 0 && !r->spec)
                e = -EIO;
        if (e < 0) {
                free(r->spec);
                free(r->by);
        }
        return e;
}

static void request_release(void *item)
{
        cw_request *r = item;

        free(r->spec);
        free(r->by);
}

typedef struct take_ctx {
        size_t max;
        sq_rows rows; /* of cw_request */
} take_ctx;

#define TAKE_CTX(m)                                                                                \
        {                                                                                          \
                (m),                                                                               \
                {                                                                                  \
                        .size = sizeof(cw_request), .read = request_row,                           \
                        .release = request_release                                                 \
                }                                                                                  \
        }

/* Up to c->max pending requests, oldest first, after any rows of an
 * earlier attempt are dropped. */
static int take_rows(sq_store *q, take_ctx *c)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, ST_REQUESTS_PENDING, &st), rc;

        sq_rows_reset(&c->rows);
        if (e < 0)
                return e;
        rc = sqlite3_bind_int64(st, 1, c->max > INT64_MAX ? INT64_MAX : (int64_t)c->max);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        return sq_rows_read(q, st, &c->rows);
}

/* The select and the marking happen under one write lock, so two takers
 * can never both see a request as pending. */
static int take_txn(sq_store *q, void *ctx)
{
        take_ctx *c = ctx;
        const cw_request *reqs;
        int e = take_rows(q, c);

        reqs = c->rows.items;
        for (size_t i = 0; e == 0 && i < c->rows.n; i++) {
                sq_exec x = SQ_EXEC(ST_REQUEST_TAKE, SQ_INT(reqs[i].id));
                e = sq_exec_run(q, &x);
        }
        return e;
}

int sq_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        take_ctx c = TAKE_CTX(max);
        int r;

        if (max == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = sq_write(sq_of(s), take_txn, &c);
        if (r < 0) {
                sq_rows_reset(&c.rows);
                return r;
        }
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

/* Pending requests without taking them: the same select as take_rows,
 * as a plain read. */
static int pending_read(sq_store *q, void *ctx)
{
        return take_rows(q, ctx);
}

int sq_requests_pending(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        take_ctx c = TAKE_CTX(max == 0 ? SIZE_MAX : max);
        int r = sq_read(sq_of(s), pending_read, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}
