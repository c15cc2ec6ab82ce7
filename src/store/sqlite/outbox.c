/* outbox.c - the notification outbox in the SQLite backend (store.h, "the
 * notification outbox"; sqlite_internal.h). A claim selects the due rows
 * and leases them in one write transaction, so two senders never hold the
 * same row; the partial index outbox_pending keeps that select on the few
 * pending rows however long the history of sent ones. */
#include "store/sqlite/sqlite_internal.h"

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

static int notice_row(sqlite3_stmt *st, void *item)
{
        cw_notice n = {0};
        const unsigned char *state;
        int e;

        n.id = sqlite3_column_int64(st, 0);
        n.run_id = sqlite3_column_int64(st, 1);
        n.attempts = sqlite3_column_int(st, 8);
        n.created_us = sqlite3_column_int64(st, 9);
        n.next_us = sqlite3_column_int64(st, 10);
        n.lease_us = sqlite3_column_int64(st, 11);
        n.done_us = sqlite3_column_int64(st, 12);
        state = sqlite3_column_text(st, 7);
        e = state ? notice_state_parse((const char *)state, &n.state) : -EIO;
        if (e == 0)
                e = sq_dup_text(st, 2, &n.job);
        if (e == 0)
                e = sq_dup_text(st, 3, &n.event);
        if (e == 0)
                e = sq_dup_text(st, 4, &n.channel);
        if (e == 0)
                e = sq_dup_text(st, 5, &n.target);
        if (e == 0)
                e = sq_dup_text(st, 6, &n.detail);
        if (e == 0)
                e = sq_dup_text(st, 13, &n.result);
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

int sq_notice_add(cw_store *s, cw_notice *n)
{
        sq_exec x = SQ_EXEC(ST_NOTICE_ADD, SQ_INT(n->run_id), SQ_TEXT(n->job), SQ_TEXT(n->event),
                            SQ_TEXT(n->channel), SQ_TEXT(n->target), SQ_TEXT(n->detail),
                            SQ_INT(n->created_us), SQ_INT(n->next_us));
        int r = sq_exec_write(sq_of(s), &x);

        if (r == 0)
                n->id = x.rowid;
        return r;
}

typedef struct claim_ctx {
        int64_t now_us, until_us, run_id;
        size_t max;
        sq_rows rows; /* of cw_notice */
} claim_ctx;

/* The due rows (c->max at most), as a read or inside the claim's write. */
static int due_rows(sq_store *q, void *ctx)
{
        claim_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, c->run_id ? ST_NOTICES_DUE_RUN : ST_NOTICES_DUE, &st);
        sq_bind b = {.st = st};

        sq_rows_reset(&c->rows);
        if (e < 0)
                return e;
        sq_bind_i64(&b, 1, c->now_us);
        sq_bind_i64(&b, 2, c->max > INT64_MAX ? INT64_MAX : (int64_t)c->max);
        if (c->run_id)
                sq_bind_i64(&b, 3, c->run_id);
        e = sq_bind_done(q, &b);
        return e == 0 ? sq_rows_read(q, st, &c->rows) : e;
}

static int claim_txn(sq_store *q, void *ctx)
{
        claim_ctx *c = ctx;
        cw_notice *items;
        int e = due_rows(q, c);

        items = c->rows.items;
        for (size_t i = 0; e == 0 && i < c->rows.n; i++) {
                sq_exec x = SQ_EXEC(ST_NOTICE_LEASE, SQ_INT(items[i].id), SQ_INT(c->until_us));

                e = sq_exec_run(q, &x);
                items[i].lease_us = c->until_us;
        }
        return e;
}

int sq_notices_claim(cw_store *s, int64_t now_us, int64_t lease_us, int64_t run_id, size_t max,
                     cw_notice **ret, size_t *ret_n)
{
        claim_ctx c = {.now_us = now_us,
                       .until_us = now_us + lease_us,
                       .run_id = run_id,
                       .max = max,
                       .rows = NOTICE_ROWS};
        int r;

        /* A sender asks every second: when nothing is due, a read (which
         * never waits for writers in WAL mode) answers without taking the
         * write lock that runs and passes need. */
        r = sq_read(sq_of(s), due_rows, &c);
        if (r == 0 && c.rows.n > 0)
                r = sq_write(sq_of(s), claim_txn, &c);

        if (r < 0) {
                sq_rows_reset(&c.rows);
                return r;
        }
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

int sq_notice_update(cw_store *s, int64_t id, cw_notice_state state, int attempts, int64_t next_us,
                     int64_t done_us, const char *result)
{
        sq_exec x = SQ_EXEC(ST_NOTICE_UPDATE, SQ_INT(id), SQ_TEXT(cw_notice_state_to_string(state)),
                            SQ_INT(attempts), SQ_INT(next_us), SQ_INT(done_us), SQ_TEXT(result));
        int r = sq_exec_write(sq_of(s), &x);

        return r == 0 && x.changes == 0 ? -ENOENT : r;
}

typedef struct list_ctx {
        bool pending;
        size_t limit;
        sq_rows rows;
} list_ctx;

static int list_read(sq_store *q, void *ctx)
{
        list_ctx *c = ctx;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, c->pending ? ST_NOTICES_PENDING : ST_NOTICES_LIST, &st), rc;

        sq_rows_reset(&c->rows);
        if (e < 0)
                return e;
        rc = sqlite3_bind_int64(st, 1, c->limit > INT64_MAX ? INT64_MAX : (int64_t)c->limit);
        if (rc != SQLITE_OK)
                return sq_errno(q->db, rc);
        return sq_rows_read(q, st, &c->rows);
}

int sq_notices_list(cw_store *s, bool pending_only, size_t limit, cw_notice **ret, size_t *ret_n)
{
        list_ctx c = {.pending = pending_only, .limit = limit, .rows = NOTICE_ROWS};
        int r = sq_read(sq_of(s), list_read, &c);

        if (r < 0) {
                sq_rows_reset(&c.rows);
                return r;
        }
        *ret = c.rows.items;
        *ret_n = c.rows.n;
        return 0;
}

int sq_notices_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted)
{
        sq_exec x = SQ_EXEC(ST_NOTICES_PRUNE, SQ_INT(before_us));
        int r = sq_exec_write(sq_of(s), &x);

        if (r == 0 && ret_deleted)
                *ret_deleted = (uint64_t)x.changes;
        return r;
}
