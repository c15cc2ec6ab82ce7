/* outbox.c - the notification outbox in the PostgreSQL backend (store.h,
 * "the notification outbox"; pg_internal.h). Every daemon on every host
 * sharing the database runs a sender, so a claim must hand each due row to
 * one of them only: it is one UPDATE over the due rows locked with SKIP
 * LOCKED (a row another claim is taking is passed over, not waited for),
 * which sets the lease and returns the rows. Leases are measured by the
 * database's clock, never by the claiming host's: a host whose clock is
 * ahead would otherwise see another host's lease as over and send the row
 * a second time. next_us stays the caller's clock (it wrote it). */
#include "store/pg/pg_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int notice_state_parse(const char *s, cw_notice_state *ret)
{
        for (int i = 0; i < CW_NOTICE_STATE_MAX; i++)
                if (strcmp(s, cw_notice_state_to_string((cw_notice_state)i)) == 0) {
                        *ret = (cw_notice_state)i;
                        return 0;
                }
        return -EIO;
}

/* A row of NOTICE_COLS (conn.c). */
static int notice_row(const PGresult *res, int row, void *item)
{
        cw_notice n = {0};
        int e;

        n.id = pg_int(res, row, 0);
        n.run_id = pg_int(res, row, 1);
        n.attempts = (int)pg_int(res, row, 8);
        n.created_us = pg_int(res, row, 9);
        n.next_us = pg_int(res, row, 10);
        n.lease_us = pg_int(res, row, 11);
        n.done_us = pg_int(res, row, 12);
        e = PQgetisnull(res, row, 7) ? -EIO : notice_state_parse(PQgetvalue(res, row, 7), &n.state);
        if (e == 0)
                e = pg_dup_text(res, row, 2, &n.job);
        if (e == 0)
                e = pg_dup_text(res, row, 3, &n.event);
        if (e == 0)
                e = pg_dup_text(res, row, 4, &n.channel);
        if (e == 0)
                e = pg_dup_text(res, row, 5, &n.target);
        if (e == 0)
                e = pg_dup_text(res, row, 6, &n.detail);
        if (e == 0)
                e = pg_dup_text(res, row, 13, &n.result);
        if (e == 0 && (!n.job || !n.event || !n.channel || !n.target))
                e = -EIO;
        if (e < 0) {
                cw_notice_release(&n);
                return e;
        }
        *(cw_notice *)item = n;
        return 0;
}

static void notice_item_release(void *item)
{
        cw_notice_release(item);
}

#define NOTICE_ROWS                                                                                \
        {                                                                                          \
                .size = sizeof(cw_notice), .read = notice_row, .release = notice_item_release      \
        }

typedef struct add_ctx {
        cw_notice *n;
        int64_t id; /* out */
} add_ctx;

static int add_txn(pg_store *q, void *ctx)
{
        add_ctx *c = ctx;
        const cw_notice *n = c->n;
        pg_exec x = PG_EXEC(PS_NOTICE_ADD, PG_INT(n->run_id), PG_TEXT(n->job), PG_TEXT(n->event),
                            PG_TEXT(n->channel), PG_TEXT(n->target), PG_TEXT(n->detail),
                            PG_INT(n->created_us), PG_INT(n->next_us));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0 && PQntuples(x.res) != 1)
                e = -EIO;
        if (e == 0)
                c->id = pg_int(x.res, 0, 0);
        pg_exec_release(&x);
        return e;
}

int pg_notice_add(cw_store *s, cw_notice *n)
{
        add_ctx c = {.n = n};
        int r = pg_write(pg_of(s), add_txn, &c);

        if (r == 0)
                n->id = c.id;
        return r;
}

typedef struct claim_ctx {
        int64_t now_us, lease_us, run_id;
        size_t max;
        pg_rows rows; /* of cw_notice */
} claim_ctx;

static int claim_txn(pg_store *q, void *ctx)
{
        claim_ctx *c = ctx;
        pg_exec x = PG_EXEC(PS_NOTICES_CLAIM, PG_INT(c->now_us),
                            PG_INT(c->max > INT64_MAX ? INT64_MAX : (int64_t)c->max),
                            PG_INT(c->lease_us), PG_INT(c->run_id));

        pg_rows_reset(&c->rows); /* an earlier attempt's, rolled back */
        return pg_rows_exec(q, &x, &c->rows);
}

int pg_notices_claim(cw_store *s, int64_t now_us, int64_t lease_us, int64_t run_id, size_t max,
                     cw_notice **ret, size_t *ret_n)
{
        claim_ctx c = {.now_us = now_us,
                       .lease_us = lease_us,
                       .run_id = run_id,
                       .max = max,
                       .rows = NOTICE_ROWS};
        int r = pg_write(pg_of(s), claim_txn, &c);

        if (r < 0) {
                pg_rows_reset(&c.rows);
                return r;
        }
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

int pg_notice_update(cw_store *s, int64_t id, cw_notice_state state, int attempts, int64_t next_us,
                     int64_t done_us, const char *result)
{
        pg_exec x = PG_EXEC(PS_NOTICE_UPDATE, PG_INT(id), PG_TEXT(cw_notice_state_to_string(state)),
                            PG_INT(attempts), PG_INT(next_us), PG_INT(done_us), PG_TEXT(result));
        int r = pg_exec_write(pg_of(s), &x);

        return r == 0 && x.changes == 0 ? -ENOENT : r;
}

typedef struct list_ctx {
        bool pending;
        size_t limit;
        pg_rows rows; /* of cw_notice */
} list_ctx;

static int list_read(pg_store *q, void *ctx)
{
        list_ctx *c = ctx;
        pg_exec x = PG_EXEC(c->pending ? PS_NOTICES_PENDING : PS_NOTICES_LIST,
                            PG_INT(c->limit > INT64_MAX ? INT64_MAX : (int64_t)c->limit));

        return pg_rows_exec(q, &x, &c->rows);
}

int pg_notices_list(cw_store *s, bool pending_only, size_t limit, cw_notice **ret, size_t *ret_n)
{
        list_ctx c = {.pending = pending_only, .limit = limit, .rows = NOTICE_ROWS};
        int r = pg_read(pg_of(s), list_read, &c);

        if (r < 0)
                return r;
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

int pg_notices_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted)
{
        pg_exec x = PG_EXEC(PS_NOTICES_PRUNE, PG_INT(before_us));
        int r = pg_exec_write(pg_of(s), &x);

        if (r == 0 && ret_deleted)
                *ret_deleted = (uint64_t)x.changes;
        return r;
}
