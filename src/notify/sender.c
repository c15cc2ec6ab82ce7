/* sender.c - delivering the outbox (notify.h): claim due rows, render
 * each from its run as the store has it now, send it, record the answer.
 * A row whose endpoint's breaker is open waits for it without an attempt
 * counted. Breakers and learnt ping body limits live in the sender (one
 * per process), not the store. */
#include "notify/notify_internal.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/macro.h"
#include "notify/transport.h"

/* Rows claimed at once: a short claim keeps leases short-lived. */
#define CLAIM_MAX 8
#define ENDPOINTS_MAX 256

typedef struct endpoint {
        char name[512];
        cw_notify_breaker breaker;
        long body_limit; /* a Ping-Body-Limit it sent, 0: none */
} endpoint;

struct cw_notify_sender {
        pthread_mutex_t lock; /* guards st against configure() */
        notify_settings st;
        endpoint *eps;
        size_t n_eps;
        /* opened at the first request (transport.h): a daemon whose jobs
         * send nothing never loads libcurl */
        const notify_transport *transport;
        atomic_bool stop;
        atomic_bool pass_due; /* cw_notify_sender_wake: a pass now, not a nudge */
        int wake_fd;
};

static void settings_release(notify_settings *st)
{
        free(st->smtp_url);
        free(st->smtp_from);
        free(st->smtp_user);
        free(st->smtp_password_file);
        free(st->subject_prefix);
        free(st->public_url);
        *st = (notify_settings){0};
}

static int dup_opt(const char *s, char **ret)
{
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

static int settings_copy(const notify_settings *from, notify_settings *to)
{
        notify_settings n = {0};
        int r = dup_opt(from->smtp_url, &n.smtp_url);

        if (r == 0)
                r = dup_opt(from->smtp_from, &n.smtp_from);
        if (r == 0)
                r = dup_opt(from->smtp_user, &n.smtp_user);
        if (r == 0)
                r = dup_opt(from->smtp_password_file, &n.smtp_password_file);
        if (r == 0)
                r = dup_opt(from->subject_prefix, &n.subject_prefix);
        if (r == 0)
                r = dup_opt(from->public_url, &n.public_url);
        if (r < 0) {
                settings_release(&n);
                return r;
        }
        *to = n;
        return 0;
}

static int settings_of(const cw_config *cfg, notify_settings *ret)
{
        notify_settings v = {
                .smtp_url = cfg->smtp_url,
                .smtp_from = cfg->smtp_from,
                .smtp_user = cfg->smtp_user,
                .smtp_password_file = cfg->smtp_password_file,
                .subject_prefix = cfg->smtp_subject_prefix,
                .public_url = cfg->admin_public_url,
        };

        return settings_copy(&v, ret);
}

cw_notify_sender *cw_notify_sender_new(const cw_config *cfg)
{
        cw_notify_sender *snd = calloc(1, sizeof(*snd));

        if (!snd)
                return NULL;
        pthread_mutex_init(&snd->lock, NULL);
        snd->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        snd->eps = calloc(ENDPOINTS_MAX, sizeof(endpoint));
        if (snd->wake_fd < 0 || !snd->eps || settings_of(cfg, &snd->st) < 0) {
                cw_notify_sender_free(snd);
                return NULL;
        }
        return snd;
}

void cw_notify_sender_free(cw_notify_sender *snd)
{
        if (!snd)
                return;
        settings_release(&snd->st);
        free(snd->eps);
        if (snd->wake_fd >= 0)
                close(snd->wake_fd);
        pthread_mutex_destroy(&snd->lock);
        free(snd);
}

int cw_notify_sender_configure(cw_notify_sender *snd, const cw_config *cfg)
{
        notify_settings n, old;
        int r = settings_of(cfg, &n);

        if (r < 0)
                return r;
        pthread_mutex_lock(&snd->lock);
        old = snd->st;
        snd->st = n;
        pthread_mutex_unlock(&snd->lock);
        settings_release(&old);
        return 0;
}

static endpoint *endpoint_get(cw_notify_sender *snd, const char *name)
{
        for (size_t i = 0; i < snd->n_eps; i++)
                if (strcmp(snd->eps[i].name, name) == 0)
                        return &snd->eps[i];
        /* A full table forgets its oldest entry: breakers are an
         * optimisation, never what makes delivery correct. */
        if (snd->n_eps == ENDPOINTS_MAX) {
                memmove(snd->eps, snd->eps + 1, (ENDPOINTS_MAX - 1) * sizeof(endpoint));
                snd->n_eps--;
        }
        snd->eps[snd->n_eps] = (endpoint){0};
        snprintf(snd->eps[snd->n_eps].name, sizeof(snd->eps[0].name), "%s", name);
        return &snd->eps[snd->n_eps++];
}

/* The tail of run's output, at most CW_NOTIFY_BODY_MAX bytes. */
static void output_tail(cw_store *s, int64_t run_id, char **ret, size_t *ret_len)
{
        void *out = NULL;
        size_t len = 0;

        *ret = NULL;
        *ret_len = 0;
        if (run_id <= 0 || cw_store_run_output(s, run_id, &out, &len) < 0 || !out)
                return;
        if (len > CW_NOTIFY_BODY_MAX) {
                memmove(out, (char *)out + (len - CW_NOTIFY_BODY_MAX), CW_NOTIFY_BODY_MAX);
                len = CW_NOTIFY_BODY_MAX;
        }
        *ret = out;
        *ret_len = len;
}

/* A Ping-Body-Limit an endpoint sent is kept in the store's scheduler
 * state, so the end of a run obeys what its start learnt, whichever
 * process sends each. */
static long body_limit_get(cw_store *s, endpoint *ep)
{
        char key[600], *v = NULL;

        if (ep->body_limit > 0)
                return ep->body_limit;
        snprintf(key, sizeof(key), "ping_body_limit %s", ep->name);
        if (cw_store_state_get(s, key, &v) == 0) {
                ep->body_limit = strtol(v, NULL, 10);
                free(v);
        }
        return ep->body_limit;
}

static void body_limit_set(cw_store *s, endpoint *ep, long limit)
{
        char key[600], v[32];

        if (limit <= 0 || limit == ep->body_limit)
                return;
        ep->body_limit = limit;
        snprintf(key, sizeof(key), "ping_body_limit %s", ep->name);
        snprintf(v, sizeof(v), "%ld", limit);
        (void)cw_store_state_set(s, key, v);
}

/* What became of one claimed row, written with the others of its claim
 * in one transaction (record()): a sender's bookkeeping takes the store's
 * write lock once per claim, not once per request. */
typedef struct outcome {
        int64_t id;
        cw_notice_state state;
        int attempts;
        int64_t next_us, done_us;
        char result[300];
} outcome;

static void set_outcome(outcome *o, const cw_notice *n, cw_notice_state state, int attempts,
                        int64_t next_us, int64_t done_us, const char *result)
{
        *o = (outcome){.id = n->id,
                       .state = state,
                       .attempts = attempts,
                       .next_us = next_us,
                       .done_us = done_us};
        snprintf(o->result, sizeof(o->result), "%s", result ? result : "");
}

/* Sends q with the sender's transport, opening it first if need be.
 * -ENOPKG when there is none (the module is missing: ans says so), which
 * is the program's fault, not the endpoint's. */
static int send_request(cw_notify_sender *snd, const notify_request *q, const notify_settings *st,
                        notify_answer *ans)
{
        cw_error err;

        if (!snd->transport && notify_transport_open(&snd->transport, &err) < 0) {
                *ans = (notify_answer){0};
                snprintf(ans->text, sizeof(ans->text), "%.*s", (int)sizeof(ans->text) - 1, err.msg);
                return -ENOPKG;
        }
        return snd->transport->deliver(q, st, &snd->stop, ans);
}

/* Sends one claimed row; fills *o with its outcome. True when delivered. */
static bool deliver_one(cw_notify_sender *snd, cw_store *s, const cw_notice *n,
                        const notify_settings *st, outcome *o)
{
        notify_request q = {0};
        notify_answer ans = {0};
        cw_run run = {0};
        bool have_run = n->run_id > 0 && cw_store_run_get(s, n->run_id, &run) == 0;
        char ep_name[500], *tail = NULL;
        size_t tail_len = 0, limit = CW_NOTIFY_BODY_MAX;
        int64_t now;
        endpoint *ep;
        int attempts = n->attempts, r;

        notify_endpoint_of(strcmp(n->channel, "email") == 0
                                   ? (st->smtp_url ? st->smtp_url : "smtp://")
                                   : n->target,
                           ep_name, sizeof(ep_name));
        ep = endpoint_get(snd, ep_name);
        now = cw_clock_real_us();
        if (!cw_notify_breaker_allows(&ep->breaker, now)) {
                /* Not an attempt: the row waits for the breaker. */
                set_outcome(o, n, CW_NOTICE_PENDING, attempts, ep->breaker.open_until_us, 0,
                            "waiting: the endpoint failed repeatedly (breaker open)");
                if (have_run)
                        cw_run_release(&run);
                return false;
        }
        if (strcmp(n->channel, "ping") == 0 && body_limit_get(s, ep) > 0 &&
            (size_t)ep->body_limit < limit)
                limit = (size_t)ep->body_limit;
        output_tail(s, have_run ? n->run_id : 0, &tail, &tail_len);
        r = notify_render(n, have_run ? &run : NULL, tail, tail_len, st, limit, &q);
        free(tail);
        if (have_run)
                cw_run_release(&run);
        if (r < 0) {
                set_outcome(o, n, CW_NOTICE_FAILED, attempts, 0, cw_clock_real_us(),
                            r == -EINVAL ? "unknown channel" : "out of memory");
                return false;
        }
        r = send_request(snd, &q, st, &ans);
        notify_request_release(&q);
        now = cw_clock_real_us();
        attempts++;
        if (r != -ENOPKG) {
                cw_notify_breaker_record(&ep->breaker, r == 0, now);
                body_limit_set(s, ep, ans.body_limit);
        }
        if (r == 0)
                set_outcome(o, n, CW_NOTICE_SENT, attempts, 0, now, ans.text);
        else if (ans.permanent || attempts >= CW_NOTIFY_MAX_ATTEMPTS ||
                 strcmp(n->event, "test") == 0)
                set_outcome(o, n, CW_NOTICE_FAILED, attempts, 0, now, ans.text);
        else
                set_outcome(o, n, CW_NOTICE_PENDING, attempts,
                            now + cw_notify_retry_delay_us(attempts), 0, ans.text);
        return r == 0;
}

/* Writes the outcomes of one claim, in one transaction when the store
 * batches. A row whose outcome cannot be written keeps its lease and is
 * sent again once it ends. */
static void record(cw_store *s, const outcome *o, size_t n)
{
        bool batch = cw_store_batch_begin(s) == 0;

        for (size_t i = 0; i < n; i++)
                (void)cw_store_notice_update(s, o[i].id, o[i].state, o[i].attempts, o[i].next_us,
                                             o[i].done_us, o[i].result[0] ? o[i].result : NULL);
        if (batch && cw_store_batch_commit(s) < 0) {
                /* Rolled back: one by one instead. */
                for (size_t i = 0; i < n; i++)
                        (void)cw_store_notice_update(s, o[i].id, o[i].state, o[i].attempts,
                                                     o[i].next_us, o[i].done_us,
                                                     o[i].result[0] ? o[i].result : NULL);
        }
}

int cw_notify_sender_pass(cw_notify_sender *snd, cw_store *s, int64_t run_id, int64_t budget_us,
                          size_t *ret_sent, size_t *ret_failed)
{
        int64_t end = cw_clock_real_us() + budget_us;
        size_t sent = 0, failed = 0;
        outcome done[CLAIM_MAX];
        notify_settings st;
        int r;

        pthread_mutex_lock(&snd->lock);
        r = settings_copy(&snd->st, &st);
        pthread_mutex_unlock(&snd->lock);
        if (r < 0)
                return r;
        while (!atomic_load(&snd->stop) && cw_clock_real_us() < end) {
                cw_notice *rows = NULL;
                size_t n = 0;

                r = cw_store_notices_claim(s, cw_clock_real_us(), CW_NOTIFY_LEASE_US, run_id,
                                           CLAIM_MAX, &rows, &n);
                if (r < 0 || n == 0)
                        break;
                for (size_t i = 0; i < n; i++) {
                        if (atomic_load(&snd->stop) || cw_clock_real_us() >= end) {
                                /* Left to the next pass, at once. */
                                set_outcome(&done[i], &rows[i], CW_NOTICE_PENDING, rows[i].attempts,
                                            rows[i].next_us, 0, rows[i].result);
                                continue;
                        }
                        if (deliver_one(snd, s, &rows[i], &st, &done[i]))
                                sent++;
                        else
                                failed++;
                }
                record(s, done, n);
                cw_notices_free(rows, n);
        }
        settings_release(&st);
        if (ret_sent)
                *ret_sent = sent;
        if (ret_failed)
                *ret_failed = failed;
        return r < 0 ? r : 0;
}

/* Whether a run is queued or running: its worker writes the outbox (a
 * start, a max_runtime warning) without telling the daemon. */
static bool runs_active(cw_store *s)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;

        f.active = true;
        f.limit = 1;
        if (cw_store_runs_list(s, &f, &runs, &n) < 0)
                return true;
        cw_runs_free(runs, n);
        return n > 0;
}

/* How long the loop may sleep, in ms: a second while runs are going on
 * (their workers may write rows any time) or after a store error; else
 * until the earliest pending row of the outbox is due, at most
 * CW_NOTIFY_IDLE_POLL_S. */
static int idle_ms(cw_store *s, bool ok)
{
        int64_t wait_us = (int64_t)CW_NOTIFY_IDLE_POLL_S * 1000000;
        int64_t now = cw_clock_real_us();
        cw_notice *rows = NULL;
        size_t n = 0;

        if (!s || !ok || runs_active(s) || cw_store_notices_list(s, true, 1000, &rows, &n) < 0)
                return 1000;
        for (size_t i = 0; i < n; i++) {
                int64_t due =
                        rows[i].next_us > rows[i].lease_us ? rows[i].next_us : rows[i].lease_us;
                int64_t left = due - now;
                if (left < wait_us)
                        wait_us = left > 0 ? left : 0;
        }
        cw_notices_free(rows, n);
        /* Rounded up, and never a busy loop on a row due but not taken. */
        return wait_us < 200000 ? 200 : (int)((wait_us + 999) / 1000);
}

int cw_notify_sender_loop(cw_notify_sender *snd, const char *store_url, const char *data_dir)
{
        cw_store *s = NULL;
        bool no_outbox = false, ok = false, do_pass = true;
        cw_error err;
        int r;

        while (!atomic_load(&snd->stop)) {
                struct pollfd p = {.fd = snd->wake_fd, .events = POLLIN};
                uint64_t v;
                int n;

                if (!s && cw_store_open(store_url, data_dir, &s, &err) < 0)
                        s = NULL;
                if (s && !no_outbox && do_pass) {
                        r = cw_notify_sender_pass(snd, s, 0, 5 * 1000000LL, NULL, NULL);
                        /* A backend without an outbox: left alone from now on. */
                        no_outbox = r == -EOPNOTSUPP;
                        ok = r == 0;
                        if (r < 0 && r != -ENOMEM && r != -EOPNOTSUPP) {
                                /* A broken connection is opened again. */
                                cw_store_close(s);
                                s = NULL;
                        }
                }
                n = poll(&p, 1, no_outbox ? -1 : idle_ms(s, ok));
                (void)!read(snd->wake_fd, &v, sizeof(v));
                /* A nudge (runs started) only makes the wait shorter. */
                do_pass = n == 0 || atomic_exchange(&snd->pass_due, false);
        }
        cw_store_close(s);
        return 0;
}

void cw_notify_sender_wake(cw_notify_sender *snd)
{
        uint64_t one = 1;

        if (!snd)
                return;
        atomic_store(&snd->pass_due, true);
        (void)!write(snd->wake_fd, &one, sizeof(one));
}

void cw_notify_sender_nudge(cw_notify_sender *snd)
{
        uint64_t one = 1;

        if (snd)
                (void)!write(snd->wake_fd, &one, sizeof(one));
}

void cw_notify_sender_stop(cw_notify_sender *snd)
{
        uint64_t one = 1;

        atomic_store(&snd->stop, true);
        (void)!write(snd->wake_fd, &one, sizeof(one));
}

void cw_notify_deliver_run(cw_store *s, const cw_config *cfg, const cw_job *job, int64_t run_id,
                           int64_t budget_us)
{
        cw_notify_sender *snd;

        if (!s || run_id == 0 || !cw_notify_job_has_channels(job))
                return;
        snd = cw_notify_sender_new(cfg);
        if (!snd)
                return;
        (void)cw_notify_sender_pass(snd, s, run_id, budget_us, NULL, NULL);
        cw_notify_sender_free(snd);
}
