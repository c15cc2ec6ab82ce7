/* state.c - the scheduler's state and the UI-created schedule entries in
 * the PostgreSQL backend (store.h, "scheduler" and "UI-created schedule
 * entries"; pg_internal.h): claims of scheduled fires (one winner across
 * processes and hosts, by the primary key of claims and INSERT ... ON
 * CONFLICT DO NOTHING), key/value scheduler state, per-job enable flags,
 * requested runs (taken by one UPDATE over rows locked with SKIP LOCKED,
 * so no request is taken twice), and the UI's entries, each write one
 * statement. */
#include "store/pg/pg_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* ---- claims ----------------------------------------------------------------- */

int pg_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node, bool *ret_won)
{
        /* claimed_us is for people reading the table, not for the logic. */
        pg_exec x = PG_EXEC(PS_CLAIM, PG_TEXT(spec), PG_INT(scheduled_at), PG_TEXT(node),
                            PG_INT(cw_store_now(s)));
        int r = pg_exec_write(pg_of(s), &x);

        if (r == 0)
                *ret_won = x.changes == 1;
        return r;
}

/* ---- scheduler state and job flags ------------------------------------------ */

/* A single-row, single-column lookup by a text key: the string or the
 * integer of column 0. */
typedef struct lookup_ctx {
        pg_stmt_id id;
        const char *key;
        char *text;
        int64_t num;
        bool want_text;
} lookup_ctx;

static int lookup_read(pg_store *q, void *ctx)
{
        lookup_ctx *c = ctx;
        pg_exec x = PG_EXEC(c->id, PG_TEXT(c->key));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0 && PQntuples(x.res) == 0)
                e = -ENOENT;
        if (e == 0 && c->want_text) {
                e = pg_dup_text(x.res, 0, 0, &c->text);
                if (e == 0 && !c->text)
                        e = -EIO; /* NOT NULL column */
        } else if (e == 0) {
                c->num = pg_int(x.res, 0, 0);
        }
        pg_exec_release(&x);
        return e;
}

int pg_state_get(cw_store *s, const char *key, char **ret)
{
        lookup_ctx c = {.id = PS_STATE_GET, .key = key, .want_text = true};
        int r = pg_read(pg_of(s), lookup_read, &c);

        if (r == 0)
                *ret = c.text;
        return r;
}

int pg_state_set(cw_store *s, const char *key, const char *value)
{
        pg_exec x = PG_EXEC(PS_STATE_SET, PG_TEXT(key), PG_TEXT(value));

        return pg_exec_write(pg_of(s), &x);
}

int pg_job_enabled_get(cw_store *s, const char *job, bool *ret)
{
        lookup_ctx c = {.id = PS_JOB_GET, .key = job};
        int r = pg_read(pg_of(s), lookup_read, &c);

        if (r == 0)
                *ret = c.num != 0;
        return r;
}

int pg_job_enabled_set(cw_store *s, const char *job, bool enabled)
{
        pg_exec x = PG_EXEC(PS_JOB_SET, PG_TEXT(job), PG_INT(enabled));

        return pg_exec_write(pg_of(s), &x);
}

/* ---- requests --------------------------------------------------------------- */

/* An INSERT ... RETURNING id as a write of its own; the id lands in ctx
 * only when the attempt that committed made it. */
typedef struct insert_ctx {
        pg_exec x;
        int64_t id;
} insert_ctx;

static int insert_txn(pg_store *q, void *ctx)
{
        insert_ctx *c = ctx;
        int e;

        c->x.keep_result = true;
        e = pg_exec_run(q, &c->x);
        if (e == 0)
                c->id = PQntuples(c->x.res) == 1 ? pg_int(c->x.res, 0, 0) : 0;
        pg_exec_release(&c->x);
        return e == 0 && c->id <= 0 ? -EIO : e;
}

int pg_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us, int64_t *ret_id)
{
        insert_ctx c = {PG_EXEC(PS_REQUEST_ADD, PG_TEXT(spec), PG_TEXT(by), PG_INT(now_us)), 0};
        int r = pg_write(pg_of(s), insert_txn, &c);

        if (r == 0 && ret_id)
                *ret_id = c.id;
        return r;
}

static int request_row(const PGresult *res, int row, void *item)
{
        cw_request *r = item;
        int e;

        r->id = pg_int(res, row, 0);
        r->requested_us = pg_int(res, row, 3);
        e = pg_dup_text(res, row, 1, &r->spec);
        if (e == 0)
                e = pg_dup_text(res, row, 2, &r->by);
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
        pg_stmt_id stmt;
        size_t max;
        pg_rows rows; /* of cw_request */
} take_ctx;

#define TAKE_CTX(st, m)                                                                            \
        {                                                                                          \
                (st), (m),                                                                         \
                {                                                                                  \
                        .size = sizeof(cw_request), .read = request_row,                           \
                        .release = request_release                                                 \
                }                                                                                  \
        }

static int take_rows(pg_store *q, void *ctx)
{
        take_ctx *c = ctx;
        pg_exec x = PG_EXEC(c->stmt, PG_INT(c->max > INT64_MAX ? INT64_MAX : (int64_t)c->max));

        pg_rows_reset(&c->rows); /* an earlier attempt's */
        return pg_rows_exec(q, &x, &c->rows);
}

static int request_cmp(const void *a, const void *b)
{
        int64_t x = ((const cw_request *)a)->id, y = ((const cw_request *)b)->id;

        return x < y ? -1 : x > y;
}

int pg_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        take_ctx c = TAKE_CTX(PS_REQUESTS_TAKE, max);
        int r;

        if (max == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = pg_write(pg_of(s), take_rows, &c);
        if (r < 0) {
                pg_rows_reset(&c.rows);
                return r;
        }
        /* RETURNING keeps no order: oldest first, as promised. */
        if (c.rows.n > 1)
                qsort(c.rows.items, c.rows.n, sizeof(cw_request), request_cmp);
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

int pg_requests_pending(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        take_ctx c = TAKE_CTX(PS_REQUESTS_PENDING, max == 0 ? SIZE_MAX : max);
        int r = pg_read(pg_of(s), take_rows, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

/* ---- UI-created schedule entries -------------------------------------------- */

int pg_ui_entry_add(cw_store *s, cw_ui_entry *e)
{
        insert_ctx c = {PG_EXEC(PS_UI_ADD, PG_TEXT(e->schedule), PG_TEXT(e->spec),
                                PG_TEXT(e->command), PG_TEXT(e->description ? e->description : ""),
                                PG_INT(e->enabled), PG_TEXT(e->created_by), PG_INT(e->created_us),
                                PG_INT(e->updated_us)),
                        0};
        int r = pg_write(pg_of(s), insert_txn, &c);

        if (r == 0)
                e->id = c.id;
        return r;
}

int pg_ui_entry_update(cw_store *s, const cw_ui_entry *e)
{
        pg_exec x = PG_EXEC(PS_UI_UPDATE, PG_INT(e->id), PG_TEXT(e->schedule), PG_TEXT(e->spec),
                            PG_TEXT(e->command), PG_TEXT(e->description ? e->description : ""),
                            PG_INT(e->enabled), PG_INT(e->updated_us));
        int r = pg_exec_write(pg_of(s), &x);

        return r == 0 && x.changes == 0 ? -ENOENT : r;
}

int pg_ui_entry_delete(cw_store *s, int64_t id)
{
        pg_exec x = PG_EXEC(PS_UI_DELETE, PG_INT(id));
        int r = pg_exec_write(pg_of(s), &x);

        return r == 0 && x.changes == 0 ? -ENOENT : r;
}

static int ui_entry_row(const PGresult *res, int row, void *item)
{
        cw_ui_entry u = {0};
        int e;

        u.id = pg_int(res, row, 0);
        u.enabled = pg_int(res, row, 5) != 0;
        u.created_us = pg_int(res, row, 7);
        u.updated_us = pg_int(res, row, 8);
        e = pg_dup_text(res, row, 1, &u.schedule);
        if (e == 0)
                e = pg_dup_text(res, row, 2, &u.spec);
        if (e == 0)
                e = pg_dup_text(res, row, 3, &u.command);
        if (e == 0)
                e = pg_dup_text(res, row, 4, &u.description);
        if (e == 0)
                e = pg_dup_text(res, row, 6, &u.created_by);
        if (e == 0 && (!u.schedule || !u.description))
                e = -EIO;
        if (e < 0) {
                cw_ui_entry_release(&u);
                return e;
        }
        *(cw_ui_entry *)item = u;
        return 0;
}

static void ui_entry_release(void *item)
{
        cw_ui_entry_release(item);
}

typedef struct ui_ctx {
        pg_exec x;
        pg_rows rows;
} ui_ctx;

static int ui_read(pg_store *q, void *ctx)
{
        ui_ctx *c = ctx;

        return pg_rows_exec(q, &c->x, &c->rows);
}

#define UI_ROWS                                                                                    \
        {                                                                                          \
                .size = sizeof(cw_ui_entry), .read = ui_entry_row, .release = ui_entry_release     \
        }

int pg_ui_entry_get(cw_store *s, int64_t id, cw_ui_entry *ret)
{
        ui_ctx c = {PG_EXEC(PS_UI_GET, PG_INT(id)), UI_ROWS};
        int r;

        if (id <= 0)
                return -ENOENT;
        r = pg_read(pg_of(s), ui_read, &c);
        if (r == 0 && c.rows.n == 0)
                r = -ENOENT;
        if (r == 0) {
                *ret = *(cw_ui_entry *)c.rows.items;
                free(c.rows.items);
                return 0;
        }
        pg_rows_reset(&c.rows);
        return r;
}

int pg_ui_entries_list(cw_store *s, cw_ui_entry **ret, size_t *ret_n)
{
        ui_ctx c = {PG_EXEC0(PS_UI_LIST), UI_ROWS};
        int r = pg_read(pg_of(s), ui_read, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}
