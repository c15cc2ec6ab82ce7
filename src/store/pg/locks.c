/* locks.c - cluster-wide locks as leased rows, and fencing tokens, in the
 * PostgreSQL backend (store.h, "cluster locks and fencing tokens";
 * pg_internal.h).
 *
 * A lock is a row of cluster_locks keyed by the lock key. Its lease ends
 * at expires_at, an instant of the database's clock: every comparison is
 * with clock_timestamp() inside the statement, so nodes' clocks never
 * meet. Acquiring reads the row FOR UPDATE: no row, insert one (ON
 * CONFLICT DO NOTHING: of two nodes racing for a free lock, one inserts
 * and the other finds it held); a row whose lease runs, busy; a row whose
 * lease ended, take it over with a new token and, in the same
 * transaction, record the run that held it as lost with the old token on
 * it, so that run's worker, should it come back, finds its run no longer
 * running with its token and writes nothing (runs.c's fenced writes).
 * Tokens come from the sequence fence_tokens and only grow.
 *
 * Nothing here lives in the session (no advisory locks): a lock survives
 * a reconnect, works behind a transaction-mode pooler, and is freed by
 * its lease when its holder's node dies. */
#include "store/pg/pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row of LOCK_COLS (conn.c) into *ret (all or nothing). */
static int read_lock(const PGresult *res, int row, void *item)
{
        cw_cluster_lock l = {0};
        int e;

        l.run_id = pg_int(res, row, 2);
        l.worker_pid = (int)pg_int(res, row, 3);
        l.fence = pg_int(res, row, 4);
        l.since_us = pg_int(res, row, 5);
        l.left_us = pg_int(res, row, 6);
        e = pg_dup_text(res, row, 0, &l.key);
        if (e == 0)
                e = pg_dup_text(res, row, 1, &l.node);
        if (e == 0 && (!l.key || !l.node))
                e = -EIO;
        if (e < 0) {
                cw_cluster_lock_release(&l);
                return e;
        }
        *(cw_cluster_lock *)item = l;
        return 0;
}

static void release_lock(void *item)
{
        cw_cluster_lock_release(item);
}

typedef struct acquire_ctx {
        const char *key, *node;
        int64_t run_id;
        int worker_pid;
        int64_t lease_us;
        /* out, overwritten by each attempt */
        int64_t fence;          /* 0: held by holder */
        cw_cluster_lock holder; /* when held */
} acquire_ctx;

/* The holder's run, if it still runs (or waits to) with the ended lock's
 * token, is lost: the cluster decided, whatever its worker thinks. */
static int lose_holder_run(pg_store *q, const cw_cluster_lock *old, const char *node)
{
        _cleanup_free_ char *job = NULL;
        pg_run_brief before = {0};
        int64_t now = cw_store_now(&q->base);
        char why[256];
        pg_exec x;
        int e;

        if (old->run_id <= 0)
                return 0;
        e = pg_run_brief_read(q, old->run_id, &before);
        job = before.job;
        if (e == -ENOENT)
                return 0;
        if (e < 0)
                return e;
        snprintf(why, sizeof(why),
                 "the lease of its lock '%s' (node %s, token %" PRId64
                 ") ended without renewal; the lock was taken over by node %s",
                 old->key, old->node, old->fence, node);
        x = PG_EXEC(PS_RUN_LOSE_FENCED, PG_INT(old->run_id), PG_INT(old->fence), PG_TEXT(why),
                    PG_INT(now));
        e = pg_exec_run(q, &x);
        if (e < 0 || x.changes == 0)
                return e;
        return pg_stats_change(q, job, old->run_id, (int)before.status, CW_RUN_LOST,
                               before.started_us, now);
}

/* One row's fence from x's result (0 when none). */
static int64_t returned_fence(pg_exec *x)
{
        int64_t f = x->res && PQntuples(x->res) == 1 ? pg_int(x->res, 0, 0) : 0;

        pg_exec_release(x);
        return f;
}

/* The row as it is, locked: ret->key NULL when there is none. */
static int read_for_update(pg_store *q, const char *key, pg_stmt_id stmt, cw_cluster_lock *ret)
{
        pg_exec x = PG_EXEC(stmt, PG_TEXT(key));
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0 && PQntuples(x.res) > 0)
                e = read_lock(x.res, 0, ret);
        pg_exec_release(&x);
        return e;
}

/* Held is not an error here (pg_write would retry -EBUSY): c->fence 0. */
static int acquire_txn(pg_store *q, void *ctx)
{
        acquire_ctx *c = ctx;
        cw_cluster_lock old = {0};
        pg_exec x;
        int e;

        c->fence = 0;
        cw_cluster_lock_release(&c->holder);
        e = read_for_update(q, c->key, PS_LOCK_GET_FOR_UPDATE, &old);
        if (e < 0)
                return e;
        if (!old.key) {
                x = PG_EXEC(PS_LOCK_INSERT, PG_TEXT(c->key), PG_TEXT(c->node), PG_INT(c->run_id),
                            PG_INT(c->worker_pid), PG_INT(c->lease_us));
                x.keep_result = true;
                e = pg_exec_run(q, &x);
                if (e < 0)
                        return e;
                c->fence = returned_fence(&x);
                /* Inserted meanwhile by another node: it holds it now. */
                return c->fence ? 0 : read_for_update(q, c->key, PS_LOCK_HOLDER, &c->holder);
        }
        if (old.left_us > 0) {
                c->holder = old;
                return 0;
        }
        x = PG_EXEC(PS_LOCK_TAKEOVER, PG_TEXT(c->key), PG_TEXT(c->node), PG_INT(c->run_id),
                    PG_INT(c->worker_pid), PG_INT(c->lease_us), PG_INT(old.fence));
        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0)
                c->fence = returned_fence(&x);
        /* The row is ours (FOR UPDATE) and ended: the takeover cannot miss. */
        if (e == 0 && c->fence == 0)
                e = -EIO;
        if (e == 0)
                e = lose_holder_run(q, &old, c->node);
        cw_cluster_lock_release(&old);
        return e;
}

int pg_lock_acquire(cw_store *s, const char *key, const char *node, int64_t run_id, int worker_pid,
                    int64_t lease_us, int64_t *ret_fence, cw_cluster_lock *ret_holder)
{
        acquire_ctx c = {key, node, run_id, worker_pid, lease_us, 0, {0}};
        int r = pg_write(pg_of(s), acquire_txn, &c);

        if (r == 0 && c.fence > 0) {
                *ret_fence = c.fence;
                cw_cluster_lock_release(&c.holder);
                return 0;
        }
        if (r == 0) {
                r = -EBUSY;
                if (ret_holder)
                        *ret_holder = c.holder;
                else
                        cw_cluster_lock_release(&c.holder);
                return r;
        }
        cw_cluster_lock_release(&c.holder);
        return r;
}

typedef struct try_ctx {
        pg_exec x;
        int64_t fence; /* out: 0 when a row exists */
} try_ctx;

static int try_insert(pg_store *q, void *ctx)
{
        try_ctx *c = ctx;
        int e;

        c->x.keep_result = true;
        e = pg_exec_run(q, &c->x);
        if (e == 0)
                c->fence = returned_fence(&c->x);
        else
                pg_exec_release(&c->x);
        return e;
}

/* The insert alone (PS_LOCK_INSERT: ON CONFLICT DO NOTHING). Inside a
 * batch the only wait is on another transaction inserting the same key
 * at the same moment, which PostgreSQL resolves when that one ends. */
int pg_lock_try(cw_store *s, const char *key, const char *node, int64_t run_id, int64_t lease_us,
                int64_t *ret_fence)
{
        try_ctx c = {PG_EXEC(PS_LOCK_INSERT, PG_TEXT(key), PG_TEXT(node), PG_INT(run_id), PG_INT(0),
                             PG_INT(lease_us)),
                     0};
        int r = pg_write(pg_of(s), try_insert, &c);

        if (r == 0 && c.fence <= 0)
                return -EBUSY;
        if (r == 0)
                *ret_fence = c.fence;
        return r;
}

typedef struct renew_ctx {
        pg_exec x;
        bool revoked; /* out: the renewed row asks its holder to stop */
} renew_ctx;

static int changed_or_stale(pg_store *q, void *ctx)
{
        renew_ctx *c = ctx;
        int e;

        c->x.keep_result = true;
        e = pg_exec_run(q, &c->x);
        c->revoked = e == 0 && c->x.res && PQntuples(c->x.res) == 1 && PQnfields(c->x.res) == 1 &&
                     !PQgetisnull(c->x.res, 0, 0);
        pg_exec_release(&c->x);
        return e == 0 && c->x.changes == 0 ? -ESTALE : e;
}

/* One attempt: a worker renewing its lease must not wait out the store's
 * busy deadline (longer than a lease) with its job's pipes unread; it
 * tries again soon instead (worker/supervise.c). */
int pg_lock_renew(cw_store *s, const char *key, int64_t fence, int64_t run_id, int worker_pid,
                  int64_t lease_us)
{
        renew_ctx c = {PG_EXEC(PS_LOCK_RENEW, PG_TEXT(key), PG_INT(fence), PG_INT(lease_us),
                               PG_INT(run_id), PG_INT(worker_pid)),
                       false};
        int r = pg_write_once(pg_of(s), changed_or_stale, &c);

        return r == 0 && c.revoked ? -ECANCELED : r;
}

int pg_lock_revoke(cw_store *s, const char *key, const char *by)
{
        renew_ctx c = {PG_EXEC(PS_LOCK_REVOKE, PG_TEXT(key), PG_TEXT(by)), false};
        int r = pg_write(pg_of(s), changed_or_stale, &c);

        return r == -ESTALE ? -ENOENT : r;
}

int pg_lock_release(cw_store *s, const char *key, int64_t fence)
{
        renew_ctx c = {PG_EXEC(PS_LOCK_RELEASE, PG_TEXT(key), PG_INT(fence)), false};

        return pg_write(pg_of(s), changed_or_stale, &c);
}

typedef struct holder_ctx {
        const char *key;
        cw_cluster_lock l;
} holder_ctx;

static int holder_read(pg_store *q, void *ctx)
{
        holder_ctx *c = ctx;
        int e;

        cw_cluster_lock_release(&c->l);
        e = read_for_update(q, c->key, PS_LOCK_HOLDER, &c->l);
        return e == 0 && !c->l.key ? -ENOENT : e;
}

int pg_lock_holder(cw_store *s, const char *key, cw_cluster_lock *ret)
{
        holder_ctx c = {key, {0}};
        int r = pg_read(pg_of(s), holder_read, &c);

        if (r == 0)
                *ret = c.l;
        else
                cw_cluster_lock_release(&c.l);
        return r;
}

typedef struct list_ctx {
        pg_rows rows;
} list_ctx;

static int list_read(pg_store *q, void *ctx)
{
        list_ctx *c = ctx;
        pg_exec x = PG_EXEC0(PS_LOCKS_LIST);

        return pg_rows_exec(q, &x, &c->rows);
}

int pg_locks_list(cw_store *s, cw_cluster_lock **ret, size_t *ret_n)
{
        list_ctx c = {
                {.size = sizeof(cw_cluster_lock), .read = read_lock, .release = release_lock}};
        int r = pg_read(pg_of(s), list_read, &c);

        if (r == 0) {
                *ret = c.rows.items;
                *ret_n = c.rows.n;
        }
        return r;
}

static int next_read(pg_store *q, void *ctx)
{
        pg_exec x = PG_EXEC0(PS_FENCE_NEXT);
        int e;

        x.keep_result = true;
        e = pg_exec_run(q, &x);
        if (e == 0)
                *(int64_t *)ctx = returned_fence(&x);
        else
                pg_exec_release(&x);
        return e == 0 && *(int64_t *)ctx <= 0 ? -EIO : e;
}

int pg_fence_next(cw_store *s, int64_t *ret_fence)
{
        int64_t f = 0;
        /* nextval() is not rolled back: a read's retry at worst skips one. */
        int r = pg_read(pg_of(s), next_read, &f);

        if (r == 0)
                *ret_fence = f;
        return r;
}

int pg_run_fence(cw_store *s, int64_t run_id, int64_t fence)
{
        pg_store *q = pg_of(s);

        q->fence_run = fence > 0 ? run_id : 0;
        q->fence = fence;
        return 0;
}
