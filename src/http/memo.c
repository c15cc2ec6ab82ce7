/* memo.c - answers shared between the server's threads for a short while
 * (internal.h, "shared answers"): /metrics with 10 000 jobs costs ~20 ms
 * of CPU to build and ~15 ms more to compress, so concurrent scrapers
 * (an HA pair of Prometheus servers, a dashboard, a flood) share one
 * build instead of each taking a thread for it.
 *
 * Each slot keeps the newest body of one variant of the answer and when
 * its build ended (monotonic). A fresh body (younger than
 * CW_MEMO_MAX_AGE_US) is handed out; an expired one is rebuilt by the
 * first request to find it so, while requests arriving meanwhile get the
 * expired body at once (stale while revalidating: at most one build
 * plus the max age old); with no body yet they wait for the build, at
 * most CW_MEMO_WAIT_US, then build their own.
 *
 * Bodies are reference-counted and never change, so every response in
 * flight sends the same bytes instead of a copy each: sixteen slow
 * readers of a 4 MB answer hold 4 MB, not 64. A body older than
 * CW_MEMO_DROP_US is dropped at the next request for any slot, so a
 * variant asked for once is not held for good. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/internal.h"

struct cw_memo_body {
        _Atomic size_t refs;
        size_t len;
        char *data;
};

typedef struct memo_slot {
        cw_memo_body *body; /* NULL: none */
        int64_t at_us;      /* when its build ended */
        bool building;
} memo_slot;

struct cw_memo {
        pthread_mutex_t lock;
        pthread_cond_t built; /* a slot's build ended (CLOCK_MONOTONIC) */
        memo_slot slots[CW_MEMO_SLOTS];
};

cw_memo_body *cw_memo_body_new(char *data, size_t len)
{
        cw_memo_body *b = malloc(sizeof(*b));

        if (!b) {
                free(data);
                return NULL;
        }
        atomic_init(&b->refs, 1);
        b->len = len;
        b->data = data;
        return b;
}

const char *cw_memo_body_data(const cw_memo_body *b, size_t *ret_len)
{
        *ret_len = b->len;
        return b->data;
}

static cw_memo_body *body_ref(cw_memo_body *b)
{
        atomic_fetch_add(&b->refs, 1);
        return b;
}

void cw_memo_body_unref(void *body)
{
        cw_memo_body *b = body;

        if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
                return;
        free(b->data);
        free(b);
}

cw_memo *cw_memo_new(void)
{
        cw_memo *m = calloc(1, sizeof(*m));
        pthread_condattr_t ca;

        if (!m)
                return NULL;
        pthread_mutex_init(&m->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&m->built, &ca);
        pthread_condattr_destroy(&ca);
        return m;
}

void cw_memo_free(cw_memo *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < CW_MEMO_SLOTS; i++)
                cw_memo_body_unref(m->slots[i].body);
        pthread_cond_destroy(&m->built);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

static void deadline(struct timespec *ts, int64_t from_now_us)
{
        clock_gettime(CLOCK_MONOTONIC, ts);
        ts->tv_sec += (time_t)(from_now_us / 1000000);
        ts->tv_nsec += (long)(from_now_us % 1000000) * 1000;
        if (ts->tv_nsec >= 1000000000) {
                ts->tv_sec++;
                ts->tv_nsec -= 1000000000;
        }
}

/* Under m->lock. */
static void drop_old(cw_memo *m, int64_t now_us)
{
        for (size_t i = 0; i < CW_MEMO_SLOTS; i++) {
                memo_slot *s = &m->slots[i];

                if (s->body && !s->building && now_us - s->at_us >= CW_MEMO_DROP_US) {
                        cw_memo_body_unref(s->body);
                        s->body = NULL;
                }
        }
}

int cw_memo_get(cw_memo *m, unsigned slot, int64_t now_us, cw_memo_body **ret, bool *ret_build)
{
        struct timespec until;
        bool waited = false;
        memo_slot *s;
        int r = 0;

        *ret = NULL;
        *ret_build = false;
        if (!m || slot >= CW_MEMO_SLOTS)
                return 0;
        s = &m->slots[slot];
        deadline(&until, CW_MEMO_WAIT_US);
        pthread_mutex_lock(&m->lock);
        drop_old(m, now_us);
        for (;;) {
                bool fresh = now_us - s->at_us < CW_MEMO_MAX_AGE_US;

                /* Fresh, or expired while another request rebuilds it. */
                if (s->body && (fresh || s->building)) {
                        *ret = body_ref(s->body);
                        r = 1;
                        break;
                }
                if (!s->building) {
                        s->building = true;
                        *ret_build = true;
                        break;
                }
                if (waited)
                        break; /* the build takes too long: build our own */
                waited = pthread_cond_timedwait(&m->built, &m->lock, &until) == ETIMEDOUT;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

void cw_memo_put(cw_memo *m, unsigned slot, int64_t built_us, cw_memo_body *b)
{
        cw_memo_body *old = NULL;
        memo_slot *s;

        if (!m || slot >= CW_MEMO_SLOTS)
                return;
        s = &m->slots[slot];
        pthread_mutex_lock(&m->lock);
        if (b) {
                old = s->body;
                s->body = body_ref(b);
                s->at_us = built_us;
        }
        s->building = false;
        pthread_cond_broadcast(&m->built);
        pthread_mutex_unlock(&m->lock);
        cw_memo_body_unref(old);
}
