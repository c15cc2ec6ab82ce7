/* metrics.c - GET /metrics: Prometheus text exposition format 0.0.4
 * (docs/api.md, Metrics, lists every series, its bound and example alert
 * rules).
 *
 * A scrape never scans the run history: every value comes from the
 * aggregates the store keeps in the same transactions that record runs
 * (store.h, "per-job aggregates"), so they count the runs of every
 * process, survive pruning and restarts; the running gauge reads the
 * handful of active runs through their partial index.
 *
 * Cardinality: per job only what alerting needs, each fact once (last
 * status, last success and failure, last duration, the failure streak,
 * running, counts by status where non-zero): at most METRICS_PER_JOB
 * series per job plus METRICS_FIXED. The duration histogram is one for
 * all jobs; per-job histograms (17 series each) only with [admin]
 * metrics_job_histograms = yes or ?job_histograms=1. By default the store
 * is asked for its summary (cw_store_stats_summary), which leaves the
 * per-job histogram rows unread.
 *
 * Cost: with 10 000 jobs the text is ~3.7 MB, ~20 ms of CPU to build. A
 * client that accepts gzip (Prometheus does) gets it compressed as it is
 * written (~0.3 MB, ~15 ms more): the text goes through a small staging
 * buffer into deflate, so the server holds the compressed body rather
 * than the whole text. Scrapes that come together share one build for up
 * to a second (memo.c), so a crowd of scrapers costs one build a second
 * instead of one per scrape.
 *
 * Label values are escaped as the format requires (backslash, double
 * quote and newline); job names are restricted by the config anyway, but
 * the aggregates of jobs since removed keep their names from the store. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <zlib.h>

#include "base/clock.h" /* cw_clock_mono_us: when a build ended */
#include "http/http.h"
#include "http/internal.h" /* cw_memo: concurrent scrapes share one build */
#include "store/store.h"   /* cw_store_stats_summary, the histogram bounds */

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Text staged before it goes through deflate, and deflate's output step. */
#define STAGE_BYTES (32 * 1024)
#define DEFLATE_STEP (16 * 1024)
/* Speed over ratio: level 1 compresses the exposition ~8:1 already, at
 * a fraction of the default level's time. */
#define GZIP_LEVEL 1

/* Where the text goes: straight into the body, or through deflate. */
typedef struct expo {
        cw_buf *body;
        cw_buf stage; /* gzip: text not yet compressed */
        z_stream z;
        bool gzip;
        int err;
} expo;

static cw_buf *out(expo *x)
{
        return x->gzip ? &x->stage : x->body;
}

/* Compresses what is staged into the body (with finish, ends the gzip
 * stream). Returns 0 or a negative errno, also kept in x->err. */
static int expo_flush(expo *x, bool finish)
{
        unsigned char chunk[DEFLATE_STEP];
        int zr;

        if (!x->gzip)
                return 0;
        if (x->err) {
                cw_buf_reset(&x->stage); /* what follows is lost anyway: hold none of it */
                return x->err;
        }
        if (!finish && x->stage.len < STAGE_BYTES)
                return 0;
        if (cw_buf_error(&x->stage))
                return x->err = cw_buf_error(&x->stage);
        x->z.next_in = (Bytef *)x->stage.p;
        x->z.avail_in = (uInt)x->stage.len;
        do {
                x->z.next_out = chunk;
                x->z.avail_out = sizeof(chunk);
                zr = deflate(&x->z, finish ? Z_FINISH : Z_NO_FLUSH);
                if (zr == Z_STREAM_ERROR)
                        return x->err = -EIO;
                if (cw_buf_add(x->body, chunk, sizeof(chunk) - x->z.avail_out) < 0)
                        return x->err = cw_buf_error(x->body);
        } while (x->z.avail_out == 0 || (finish && zr != Z_STREAM_END));
        cw_buf_reset(&x->stage);
        return 0;
}

static int expo_init(expo *x, cw_buf *body, bool gzip)
{
        *x = (expo){.body = body, .stage = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE), .gzip = gzip};
        cw_buf_reset(body);
        /* windowBits 15 + 16: a gzip header and trailer, not zlib's. */
        if (gzip &&
            deflateInit2(&x->z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                return -ENOMEM;
        return 0;
}

static void expo_release(expo *x)
{
        if (x->gzip)
                deflateEnd(&x->z);
        cw_buf_release(&x->stage);
}

/* Whether an Accept-Encoding value accepts gzip: a "gzip" or "x-gzip"
 * coding without q=0 (RFC 9110, 12.5.3). */
static bool accepts_gzip(const char *v)
{
        while (v && *v) {
                size_t n = strcspn(v, ",");
                const char *e = v + n, *q;
                size_t t;

                v += strspn(v, " \t");
                t = strcspn(v, " \t;,");
                if ((t == 4 && strncasecmp(v, "gzip", 4) == 0) ||
                    (t == 6 && strncasecmp(v, "x-gzip", 6) == 0)) {
                        q = memchr(v, ';', (size_t)(e - v));
                        if (!q)
                                return true;
                        q += 1 + strspn(q + 1, " \t");
                        if (strncasecmp(q, "q=", 2) != 0 || strtod(q + 2, NULL) > 0)
                                return true;
                }
                v = *e ? e + 1 : e;
        }
        return false;
}

/* `"value"` with \, " and newline escaped. */
static void label_value(cw_buf *b, const char *s)
{
        cw_buf_putc(b, '"');
        if (s && !s[strcspn(s, "\\\"\n")]) {
                cw_buf_puts(b, s);
                s = NULL;
        }
        for (; s && *s; s++) {
                if (*s == '\\')
                        cw_buf_puts(b, "\\\\");
                else if (*s == '"')
                        cw_buf_puts(b, "\\\"");
                else if (*s == '\n')
                        cw_buf_puts(b, "\\n");
                else
                        cw_buf_putc(b, *s);
        }
        cw_buf_putc(b, '"');
}

static void header(cw_buf *b, const char *name, const char *type, const char *help)
{
        cw_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_u64(cw_buf *b, uint64_t v)
{
        char t[24];
        size_t i = sizeof(t);

        do {
                t[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        cw_buf_add(b, t + i, sizeof(t) - i);
}

/* A float as Go's strconv would print it: the shortest of 15 or 17
 * digits that reads back exactly (so bounds print as "0.1", not
 * "0.10000000000000001"). */
static void number(cw_buf *b, double v)
{
        char t[40];

        snprintf(t, sizeof(t), "%.15g", v);
        if (strtod(t, NULL) != v)
                snprintf(t, sizeof(t), "%.17g", v);
        cw_buf_puts(b, t);
}

/* Microseconds as seconds to the millisecond ("1733550000.25"): the
 * precision alerting needs, and digits that compress. us >= 0. */
static void seconds(cw_buf *b, int64_t us)
{
        uint64_t ms = ((uint64_t)us + 500) / 1000;
        char frac[5];
        int n = 3;

        put_u64(b, ms / 1000);
        if (ms % 1000 == 0)
                return;
        snprintf(frac, sizeof(frac), ".%03u", (unsigned)(ms % 1000));
        while (frac[n] == '0')
                n--;
        cw_buf_add(b, frac, (size_t)n + 1);
}

/* `name{job="J"` : the caller adds further labels or "} ". */
static void job_open(cw_buf *b, const char *name, const char *job)
{
        cw_buf_puts(b, name);
        cw_buf_puts(b, "{job=");
        label_value(b, job);
}

/* One histogram's series; job NULL: no job label. */
static void histogram(cw_buf *b, const char *name, const char *job, const cw_store_hist *h,
                      const double *bounds, int n)
{
        uint64_t cum = 0;

        for (int i = 0; i <= n; i++) {
                cum += h->counts[i];
                cw_buf_printf(b, "%s_bucket{", name);
                if (job) {
                        cw_buf_puts(b, "job=");
                        label_value(b, job);
                        cw_buf_putc(b, ',');
                }
                if (i < n) {
                        cw_buf_puts(b, "le=\"");
                        number(b, bounds[i]);
                        cw_buf_puts(b, "\"} ");
                } else {
                        cw_buf_puts(b, "le=\"+Inf\"} ");
                }
                put_u64(b, cum);
                cw_buf_putc(b, '\n');
        }
        cw_buf_printf(b, "%s_sum", name);
        if (job) {
                cw_buf_puts(b, "{job=");
                label_value(b, job);
                cw_buf_putc(b, '}');
        }
        cw_buf_putc(b, ' ');
        number(b, h->sum);
        /* The count is the +Inf bucket: both come from the same rows. */
        cw_buf_printf(b, "\n%s_count", name);
        if (job) {
                cw_buf_puts(b, "{job=");
                label_value(b, job);
                cw_buf_putc(b, '}');
        }
        cw_buf_putc(b, ' ');
        put_u64(b, cum);
        cw_buf_putc(b, '\n');
}

/* What one scrape shows. */
typedef struct scrape {
        cw_job_stats *st; /* sorted by job */
        size_t n;
        cw_store_hist lateness, duration; /* all jobs */
        bool job_histograms;
} scrape;

static void hist_add(cw_store_hist *to, const cw_store_hist *h)
{
        for (int i = 0; i <= CW_STORE_HIST_MAX; i++)
                to->counts[i] += h->counts[i];
        to->count += h->count;
        to->sum += h->sum;
}

/* The aggregates: the store's summary, or every job's histograms (asked
 * for, or a backend without the summary) summed into the all-jobs one. */
static int scrape_read(cw_store *s, scrape *sc)
{
        int r = -EOPNOTSUPP;

        memset(&sc->duration, 0, sizeof(sc->duration));
        if (!sc->job_histograms)
                r = cw_store_stats_summary(s, &sc->st, &sc->n, &sc->lateness, &sc->duration);
        if (r != -EOPNOTSUPP)
                return r;
        r = cw_store_stats_list(s, NULL, &sc->st, &sc->n, &sc->lateness);
        for (size_t i = 0; r == 0 && i < sc->n; i++)
                hist_add(&sc->duration, &sc->st[i].duration);
        return r;
}

/* cronwarden_runs_total: counts by job and final status, non-zero only. */
static void runs_total(expo *x, const scrape *sc)
{
        header(out(x), "cronwarden_runs_total", "counter",
               "Runs that ended, by job and final status.");
        for (size_t i = 0; i < sc->n; i++) {
                cw_buf *b = out(x);

                for (int s = 0; s < CW_RUN_STATUS_MAX; s++) {
                        if (sc->st[i].runs[s] == 0)
                                continue;
                        job_open(b, "cronwarden_runs_total", sc->st[i].job);
                        cw_buf_puts(b, ",status=\"");
                        cw_buf_puts(b, cw_run_status_to_string((cw_run_status)s));
                        cw_buf_puts(b, "\"} ");
                        put_u64(b, sc->st[i].runs[s]);
                        cw_buf_putc(b, '\n');
                }
                expo_flush(x, false);
        }
}

static void last_status(expo *x, const scrape *sc)
{
        header(out(x), "cronwarden_last_run_status", "gauge",
               "1, labelled with the final status of the job's newest run that ended.");
        for (size_t i = 0; i < sc->n; i++) {
                cw_buf *b = out(x);

                /* Not final: none yet, or a backend that does not keep it. */
                if (sc->st[i].last_status >= CW_RUN_STATUS_MAX ||
                    !cw_run_status_is_final(sc->st[i].last_status))
                        continue;
                job_open(b, "cronwarden_last_run_status", sc->st[i].job);
                cw_buf_puts(b, ",status=\"");
                cw_buf_puts(b, cw_run_status_to_string(sc->st[i].last_status));
                cw_buf_puts(b, "\"} 1\n");
                expo_flush(x, false);
        }
}

/* The per-job gauges read from one field of cw_job_stats. */
typedef enum job_field {
        F_LAST_SUCCESS,
        F_LAST_FAILURE,
        F_LAST_DURATION,
        F_CONSECUTIVE_FAILURES,
} job_field;

static void job_gauge(expo *x, const scrape *sc, job_field f)
{
        static const struct {
                const char *name, *help;
        } fields[] = {
                [F_LAST_SUCCESS] =
                        {"cronwarden_last_success_timestamp_seconds",
                         "When the job's newest successful run ended (seconds since the epoch)."},
                [F_LAST_FAILURE] =
                        {"cronwarden_last_failure_timestamp_seconds",
                         "When the job's newest failed, timed out or lost run ended (seconds since the epoch)."},
                [F_LAST_DURATION] = {"cronwarden_last_run_duration_seconds",
                                     "How long the job's newest run that ran took."},
                [F_CONSECUTIVE_FAILURES] =
                        {"cronwarden_consecutive_failures",
                         "Failed, timed out or lost runs of the job since its last success."},
        };
        const char *name = fields[f].name;

        header(out(x), name, "gauge", fields[f].help);
        for (size_t i = 0; i < sc->n; i++) {
                const cw_job_stats *js = &sc->st[i];
                cw_buf *b = out(x);
                int64_t us = f == F_LAST_SUCCESS    ? js->last_success_us
                             : f == F_LAST_FAILURE  ? js->last_failure_us
                             : f == F_LAST_DURATION ? js->last_duration_us
                                                    : 0;

                /* Timestamps only once there is one; a duration only after a run that ran. */
                if (f != F_CONSECUTIVE_FAILURES && (us < 0 || (us == 0 && f != F_LAST_DURATION)))
                        continue;
                job_open(b, name, js->job);
                cw_buf_puts(b, "} ");
                if (f == F_CONSECUTIVE_FAILURES)
                        put_u64(b, js->consecutive_failures);
                else
                        seconds(b, us);
                cw_buf_putc(b, '\n');
                expo_flush(x, false);
        }
}

static void job_histograms(expo *x, const scrape *sc)
{
        header(out(x), "cronwarden_job_run_duration_seconds", "histogram",
               "How long runs took (succeeded, failed, timed out, killed, lost), by job.");
        for (size_t i = 0; i < sc->n; i++) {
                if (sc->st[i].duration.count == 0)
                        continue;
                histogram(out(x), "cronwarden_job_run_duration_seconds", sc->st[i].job,
                          &sc->st[i].duration, cw_store_duration_bounds, CW_STORE_DURATION_BUCKETS);
                expo_flush(x, false);
        }
}

static void running_line(expo *x, const char *job, size_t n)
{
        cw_buf *b = out(x);

        job_open(b, "cronwarden_running", job);
        cw_buf_puts(b, "} ");
        put_u64(b, n);
        cw_buf_putc(b, '\n');
        expo_flush(x, false);
}

/* Running runs per job: every configured job (0 when idle) and any other
 * job name that has a running run. */
static int running_gauge(const cw_http_req *req, expo *x)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;
        _cleanup_free_ size_t *count = NULL;
        int r;

        f.active = true;
        r = cw_store_runs_list(req->store, &f, &runs, &n);
        if (r < 0)
                return r;
        count = calloc(req->cfg->n_jobs + 1, sizeof(*count));
        if (!count) {
                cw_runs_free(runs, n);
                return -ENOMEM;
        }
        header(out(x), "cronwarden_running", "gauge", "Runs running now, by job.");
        for (size_t i = 0; i < n; i++) {
                const cw_job *job = cw_config_job(req->cfg, runs[i].job);
                if (runs[i].status == CW_RUN_RUNNING && job)
                        count[job - req->cfg->jobs]++;
        }
        for (size_t i = 0; i < req->cfg->n_jobs; i++)
                running_line(x, req->cfg->jobs[i].name, count[i]);
        /* Jobs no longer configured, one line per name (runs are few). */
        for (size_t i = 0; i < n; i++) {
                size_t k = 0;
                bool seen = false;

                if (runs[i].status != CW_RUN_RUNNING || cw_config_job(req->cfg, runs[i].job))
                        continue;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = runs[j].status == CW_RUN_RUNNING &&
                               strcmp(runs[j].job, runs[i].job) == 0;
                if (seen)
                        continue;
                for (size_t j = i; j < n; j++)
                        k += runs[j].status == CW_RUN_RUNNING &&
                             strcmp(runs[j].job, runs[i].job) == 0;
                running_line(x, runs[i].job, k);
        }
        cw_runs_free(runs, n);
        return 0;
}

/* The cluster's nodes (docs/cluster.md), one series each per node;
 * nothing on a store without nodes. Ages and offsets are the
 * database's measure. */
static int node_gauges(const cw_http_req *req, expo *x)
{
        static const struct {
                const char *name, *type, *help;
        } series[] = {
                {"cronwarden_node_up", "gauge",
                 "1 when the node heartbeats within dead_timeout, 0 when silent, dead or left."},
                {"cronwarden_node_heartbeat_age_seconds", "gauge",
                 "Age of the node's last heartbeat, by the database's clock."},
                {"cronwarden_node_clock_offset_seconds", "gauge",
                 "The node's clock minus the database's, at its last heartbeat."},
                {"cronwarden_node_claiming", "gauge",
                 "1 when the node claims fires, 0 when it stopped (see its reason)."},
                {"cronwarden_node_config_agrees", "gauge",
                 "1 when the node's job definitions are the cluster's, 0 when one differs."},
        };
        cw_node *ns = NULL;
        size_t n = 0;
        int r = cw_store_nodes_list(req->store, req->cfg->dead_timeout * CW_US_PER_SEC, &ns, &n);

        if (r == -EOPNOTSUPP)
                return 0;
        if (r < 0)
                return r;
        for (size_t k = 0; k < CW_ARRAY_SIZE(series); k++) {
                cw_buf *b = out(x);

                header(b, series[k].name, series[k].type, series[k].help);
                for (size_t i = 0; i < n; i++) {
                        const cw_node *nd = &ns[i];
                        double v = k == 0   ? nd->state == CW_NODE_ALIVE && !nd->expired
                                   : k == 1 ? (double)nd->age_us / 1e6
                                   : k == 2 ? (double)nd->clock_offset_us / 1e6
                                   : k == 3 ? nd->claiming
                                            : !nd->disagree;
                        cw_buf_puts(b, series[k].name);
                        cw_buf_puts(b, "{node=");
                        label_value(b, nd->name);
                        cw_buf_puts(b, "} ");
                        number(b, v);
                        cw_buf_putc(b, '\n');
                }
                expo_flush(x, false);
        }
        cw_nodes_free(ns, n);
        return 0;
}

/* Everything but the running gauge, which reads the store itself. */
static void exposition(expo *x, const scrape *sc, bool enabled)
{
        cw_buf *b = out(x);

        header(b, "cronwarden_scheduler_enabled", "gauge",
               "1 when the scheduler is enabled, 0 when disabled.");
        cw_buf_printf(b, "cronwarden_scheduler_enabled %d\n", enabled);
        header(b, "cronwarden_lateness_seconds", "histogram",
               "Delay from a scheduled fire's instant to its run's start.");
        histogram(b, "cronwarden_lateness_seconds", NULL, &sc->lateness, cw_store_lateness_bounds,
                  CW_STORE_LATENESS_BUCKETS);
        header(b, "cronwarden_run_duration_seconds", "histogram",
               "How long runs took (succeeded, failed, timed out, killed, lost), all jobs.");
        histogram(b, "cronwarden_run_duration_seconds", NULL, &sc->duration,
                  cw_store_duration_bounds, CW_STORE_DURATION_BUCKETS);
        runs_total(x, sc);
        last_status(x, sc);
        job_gauge(x, sc, F_LAST_SUCCESS);
        job_gauge(x, sc, F_LAST_FAILURE);
        job_gauge(x, sc, F_LAST_DURATION);
        job_gauge(x, sc, F_CONSECUTIVE_FAILURES);
        if (sc->job_histograms)
                job_histograms(x, sc);
}

/* ?job_histograms=1|yes|true|0|no|false overrides the config; -EINVAL
 * for another value. */
static int want_job_histograms(const cw_http_req *req, bool *ret)
{
        const char *v = cw_http_query(req, "job_histograms");

        *ret = req->cfg->metrics_job_histograms;
        if (!v)
                return 0;
        if (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
                *ret = true;
        else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

/* Builds the answer into resp: 0 with resp->status 200, or with an error
 * answer (503) already made; a negative errno for the server's 500. */
static int build(const cw_http_req *req, cw_http_resp *resp, bool job_histograms, bool gzip)
{
        scrape sc = {.job_histograms = job_histograms};
        _cleanup_free_ char *enabled = NULL;
        expo x;
        int r;

        r = scrape_read(req->store, &sc);
        if (r == 0) {
                r = cw_store_state_get(req->store, "enabled", &enabled);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r < 0) {
                cw_job_stats_free(sc.st, sc.n);
                cw_http_error(req, resp, 503, "cannot read the metrics: store error: %s",
                              strerror(-r));
                return 0;
        }
        r = expo_init(&x, &resp->body, gzip);
        if (r == 0) {
                exposition(&x, &sc, !enabled || strcmp(enabled, "0") != 0);
                cw_job_stats_free(sc.st, sc.n);
                sc.st = NULL;
                r = running_gauge(req, &x);
                if (r == 0)
                        r = node_gauges(req, &x);
                if (r < 0) {
                        expo_release(&x);
                        cw_http_error(req, resp, 503,
                                      "cannot read the running runs: store error: %s",
                                      strerror(-r));
                        return 0;
                }
                r = expo_flush(&x, true);
        }
        cw_job_stats_free(sc.st, sc.n);
        if (r == 0)
                r = cw_buf_error(x.body);
        if (r == 0)
                r = cw_buf_error(&x.stage);
        expo_release(&x);
        if (r == 0)
                resp->status = 200;
        return r;
}

/* Sends b (the caller's reference goes with it). */
static void send_shared(cw_http_resp *resp, cw_memo_body *b)
{
        cw_buf_release(&resp->body);
        resp->shared_body = cw_memo_body_data(b, &resp->shared_len);
        resp->shared_release = cw_memo_body_unref;
        resp->shared_cls = b;
}

/* Builds the answer; with a server, shares it with the scrapes of the
 * next second (memo.c). The second counts from the build's end: a build
 * slower than that (a loaded host, a niced server) must not make the
 * next scrape start another at once, keeping a thread busy for good. */
static int build_shared(const cw_http_req *req, cw_http_resp *resp, cw_memo *memo, unsigned slot,
                        bool building)
{
        cw_memo_body *b = NULL;
        char *data;
        size_t len;
        int r = build(req, resp, slot & 2u, slot & 1u);

        if (r == 0 && resp->status == 200 && memo) {
                data = cw_buf_steal(&resp->body, &len);
                b = data ? cw_memo_body_new(data, len) : NULL;
                if (!b)
                        r = -ENOMEM;
        }
        if (building)
                cw_memo_put(memo, slot, cw_clock_mono_us(), b);
        if (b)
                send_shared(resp, b);
        return r;
}

/* Concurrent scrapes share one build (memo.c): the answer may be up to
 * about a second old. */
static int serve_metrics(const cw_http_req *req, cw_http_resp *resp)
{
        cw_memo *memo = cw_http_server_memo(req->server);
        bool hists, gzip = accepts_gzip(cw_http_header(req, "Accept-Encoding")), building;
        cw_memo_body *b;
        unsigned slot;
        int r;

        if (want_job_histograms(req, &hists) < 0) {
                cw_http_error(req, resp, 400, "job_histograms must be 1 or 0");
                return 0;
        }
        slot = (gzip ? 1u : 0u) | (hists ? 2u : 0u);
        if (cw_memo_get(memo, slot, cw_http_req_mono_us(req), &b, &building) == 1) {
                send_shared(resp, b);
        } else {
                r = build_shared(req, resp, memo, slot, building);
                if (r < 0 || resp->status != 200)
                        return r;
        }
        resp->status = 200;
        resp->content_type = METRICS_TYPE;
        if (gzip)
                resp->content_encoding = "gzip";
        return 0;
}

const cw_http_route cw_http_metrics_routes[] = {
        {CW_HTTP_GET, "/metrics", 0, serve_metrics},
        {0},
};
