/* ahead.c - reads sent ahead inside a batch (store.h, cw_store_read_ahead;
 * pg_internal.h). A read said ahead waits in q->ahead until the next
 * statement goes out, travels in the same round trip (conn.c's pipeline),
 * and its rows wait there until pg_exec_run meets the same statement with
 * the same key, which takes them instead of asking the server. Each is
 * served once. A write of the batch to what a waiting read covers drops
 * it (pg_ahead_forget), and the transaction's end drops them all
 * (pg_ahead_drop): what is served is what the transaction would have
 * read, only sooner. */
#include "store/pg/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"

/* More than a pass asks for (its state, a lock per fire it claims): past
 * this, reads are made when asked. */
#define PG_AHEAD_MAX 1024

static int kind_stmt(cw_store_ahead_kind kind)
{
        switch (kind) {
        case CW_AHEAD_STATE:
                return PS_STATE_GET;
        case CW_AHEAD_JOBS_DISABLED:
                return PS_JOBS_DISABLED;
        case CW_AHEAD_UI_ENTRIES:
                return PS_UI_LIST;
        case CW_AHEAD_LOCK_HOLDER:
                return PS_LOCK_HOLDER;
        }
        return -1;
}

static bool keyed(int id)
{
        return id == PS_STATE_GET || id == PS_LOCK_HOLDER;
}

/* The waiting read of statement id for key (NULL: unkeyed), or -1. */
static ssize_t find(const pg_store *q, int id, const char *key)
{
        for (size_t i = 0; i < q->n_ahead; i++) {
                const pg_ahead *a = &q->ahead[i];
                if (a->x.id == id && (!key || (a->key && strcmp(a->key, key) == 0)))
                        return (ssize_t)i;
        }
        return -1;
}

static void remove_at(pg_store *q, size_t i)
{
        PQclear(q->ahead[i].x.res);
        free(q->ahead[i].key);
        q->ahead[i] = q->ahead[--q->n_ahead];
}

void pg_read_ahead(cw_store *s, const cw_store_ahead *reads, size_t n)
{
        pg_store *q = pg_of(s);

        if (!q->batch || q->batch_lost)
                return;
        for (size_t i = 0; i < n && q->n_ahead < PG_AHEAD_MAX; i++) {
                int id = kind_stmt(reads[i].kind);
                const char *key = keyed(id) ? reads[i].key : NULL;
                pg_ahead a = {.x = PG_EXEC0(id)};

                if (id < 0 || (keyed(id) && !key) || find(q, id, key) >= 0)
                        continue;
                if (key && !(a.key = strdup(key)))
                        return; /* read when asked */
                if (cw_array_reserve((void **)&q->ahead, &q->cap_ahead, q->n_ahead + 1,
                                     sizeof(pg_ahead), 16) < 0) {
                        free(a.key);
                        return;
                }
                q->ahead[q->n_ahead++] = a;
        }
}

size_t pg_ahead_unsent(const pg_store *q)
{
        size_t n = 0;

        for (size_t i = 0; i < q->n_ahead; i++)
                n += !q->ahead[i].sent;
        return n;
}

pg_exec *pg_ahead_next_unsent(pg_store *q, size_t *at)
{
        for (; *at < q->n_ahead; (*at)++) {
                pg_ahead *a = &q->ahead[*at];
                if (a->sent)
                        continue;
                /* Pointers into the array are taken now, when it no longer
                 * moves until the replies are in. */
                a->arg = PG_TEXT(a->key);
                a->x.args = &a->arg;
                a->x.n_args = a->key ? 1 : 0;
                a->x.keep_result = true;
                a->sent = true;
                return &q->ahead[(*at)++].x;
        }
        return NULL;
}

void pg_ahead_sent(pg_store *q)
{
        for (size_t i = q->n_ahead; i-- > 0;)
                if (q->ahead[i].sent && !q->ahead[i].x.res)
                        remove_at(q, i); /* failed, or not run: read when asked */
}

/* x's one text parameter, or NULL. */
static const char *text_arg(const pg_exec *x)
{
        return x->n_args >= 1 && x->args[0].type == PG_V_TEXT ? x->args[0].p : NULL;
}

bool pg_ahead_serve(pg_store *q, pg_exec *x, int *ret)
{
        const char *key = keyed(x->id) ? text_arg(x) : NULL;
        ssize_t i;

        if (keyed(x->id) && !key)
                return false;
        i = find(q, x->id, key);
        if (i < 0)
                return false;
        if (!q->ahead[i].sent) {
                *ret = pg_defer_flush(q); /* sends it, and what is deferred */
                if (*ret < 0)
                        return true;
                i = find(q, x->id, key);
                if (i < 0)
                        return false;
        }
        x->changes = PQntuples(q->ahead[i].x.res);
        if (x->keep_result) {
                x->res = q->ahead[i].x.res;
                q->ahead[i].x.res = NULL;
        }
        remove_at(q, (size_t)i);
        *ret = 0;
        return true;
}

/* The read a write changes: its statement and, when keyed, the write's
 * first parameter is the key. -1 for a write that changes none. */
static int changed_read(int id)
{
        switch (id) {
        case PS_STATE_SET:
                return PS_STATE_GET;
        case PS_JOB_SET:
        case PS_PRUNE_JOB_STATE:
                return PS_JOBS_DISABLED;
        case PS_UI_ADD:
        case PS_UI_UPDATE:
        case PS_UI_DELETE:
                return PS_UI_LIST;
        case PS_LOCK_INSERT:
        case PS_LOCK_TAKEOVER:
        case PS_LOCK_RENEW:
        case PS_LOCK_REVOKE:
        case PS_LOCK_RELEASE:
                return PS_LOCK_HOLDER;
        default:
                return -1;
        }
}

void pg_ahead_forget(pg_store *q, const pg_exec *x)
{
        int read = changed_read(x->id);
        const char *key = keyed(read) ? text_arg(x) : NULL;

        if (read < 0)
                return;
        for (size_t i = q->n_ahead; i-- > 0;) {
                const pg_ahead *a = &q->ahead[i];
                if (a->x.id == read && (!key || !a->key || strcmp(a->key, key) == 0))
                        remove_at(q, i);
        }
}

void pg_ahead_drop(pg_store *q)
{
        while (q->n_ahead)
                remove_at(q, q->n_ahead - 1);
}

void pg_ahead_free(pg_store *q)
{
        pg_ahead_drop(q);
        free(q->ahead);
        q->ahead = NULL;
        q->cap_ahead = 0;
}
