/* metrics.c - GET /metrics: Prometheus text exposition format 0.0.4
 * (PRODUCT.md §9; docs/api.md lists the metrics).
 *
 * A scrape never scans the run history: counters and histograms come from
 * the aggregates the store keeps in the same transactions that record runs
 * (store.h, cw_store_stats_list), so they count the runs of every process,
 * survive pruning and restarts, and cost one pass over a few rows per job;
 * the running gauge reads the handful of active runs through their
 * partial index. Counters only ever grow except when a run's final status
 * is corrected (lost -> succeeded moves one count between two series),
 * which Prometheus reads as a reset of the decreased series at worst.
 *
 * Label values are escaped as the format requires (backslash, double
 * quote and newline); job names are restricted by the config anyway, but
 * runs of jobs since removed keep their names from the store. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "store/store.h" /* cw_store_stats_list, the histogram bounds */

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* `"value"` with \, " and newline escaped. */
static void label_value(cw_buf *b, const char *s)
{
        cw_buf_putc(b, '"');
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

/* One histogram's series; job NULL: no job label. */
static void histogram(cw_buf *b, const char *name, const char *job, const cw_store_hist *h, const double *bounds,
                      int n)
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
                        cw_buf_puts(b, "\"}");
                } else {
                        cw_buf_puts(b, "le=\"+Inf\"}");
                }
                cw_buf_printf(b, " %" PRIu64 "\n", cum);
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
        cw_buf_printf(b, " %" PRIu64 "\n", cum);
}

static void job_sample(cw_buf *b, const char *name, const char *job)
{
        cw_buf_printf(b, "%s{job=", name);
        label_value(b, job);
        cw_buf_puts(b, "} ");
}

/* Running runs per job: every configured job (0 when idle) and any other
 * job name that has a running run. */
static int running_gauge(const cw_http_req *req, cw_buf *b)
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
        header(b, "cronwarden_running", "gauge", "Runs running now, by job.");
        for (size_t i = 0; i < n; i++) {
                const cw_job *job = cw_config_job(req->cfg, runs[i].job);
                if (runs[i].status == CW_RUN_RUNNING && job)
                        count[job - req->cfg->jobs]++;
        }
        for (size_t i = 0; i < req->cfg->n_jobs; i++) {
                job_sample(b, "cronwarden_running", req->cfg->jobs[i].name);
                cw_buf_printf(b, "%zu\n", count[i]);
        }
        /* Jobs no longer configured, one line per name (runs are few). */
        for (size_t i = 0; i < n; i++) {
                size_t k = 0;
                bool seen = false;

                if (runs[i].status != CW_RUN_RUNNING || cw_config_job(req->cfg, runs[i].job))
                        continue;
                for (size_t j = 0; j < i && !seen; j++)
                        seen = runs[j].status == CW_RUN_RUNNING && strcmp(runs[j].job, runs[i].job) == 0;
                if (seen)
                        continue;
                for (size_t j = i; j < n; j++)
                        k += runs[j].status == CW_RUN_RUNNING && strcmp(runs[j].job, runs[i].job) == 0;
                job_sample(b, "cronwarden_running", runs[i].job);
                cw_buf_printf(b, "%zu\n", k);
        }
        cw_runs_free(runs, n);
        return 0;
}

static int serve_metrics(const cw_http_req *req, cw_http_resp *resp)
{
        cw_job_stats *st = NULL;
        cw_store_hist lateness;
        _cleanup_free_ char *enabled = NULL;
        cw_buf *b = &resp->body;
        size_t n = 0;
        int r;

        r = cw_store_stats_list(req->store, NULL, &st, &n, &lateness);
        if (r == 0) {
                r = cw_store_state_get(req->store, "enabled", &enabled);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r < 0) {
                cw_job_stats_free(st, n);
                cw_http_error(req, resp, 503, "cannot read the metrics: store error: %s", strerror(-r));
                return 0;
        }
        cw_buf_reset(b);
        header(b, "cronwarden_runs_total", "counter", "Runs that ended, by job and final status.");
        for (size_t i = 0; i < n; i++)
                for (int s = 0; s < CW_RUN_STATUS_MAX; s++) {
                        if (st[i].runs[s] == 0)
                                continue;
                        cw_buf_puts(b, "cronwarden_runs_total{job=");
                        label_value(b, st[i].job);
                        cw_buf_printf(b, ",status=\"%s\"} %" PRIu64 "\n", cw_run_status_to_string((cw_run_status)s),
                                      st[i].runs[s]);
                }
        header(b, "cronwarden_run_duration_seconds", "histogram",
               "How long runs took (succeeded, failed, timed out, killed, lost), by job.");
        for (size_t i = 0; i < n; i++)
                if (st[i].duration.count > 0)
                        histogram(b, "cronwarden_run_duration_seconds", st[i].job, &st[i].duration,
                                  cw_store_duration_bounds, CW_STORE_DURATION_BUCKETS);
        header(b, "cronwarden_lateness_seconds", "histogram",
               "Delay from a scheduled fire's instant to its run's start.");
        histogram(b, "cronwarden_lateness_seconds", NULL, &lateness, cw_store_lateness_bounds,
                  CW_STORE_LATENESS_BUCKETS);
        r = running_gauge(req, b);
        if (r < 0) {
                cw_job_stats_free(st, n);
                cw_http_error(req, resp, 503, "cannot read the running runs: store error: %s", strerror(-r));
                return 0;
        }
        header(b, "cronwarden_last_success_timestamp_seconds", "gauge",
               "When the job's newest successful run ended (seconds since the epoch).");
        for (size_t i = 0; i < n; i++) {
                if (st[i].last_success_us <= 0)
                        continue;
                job_sample(b, "cronwarden_last_success_timestamp_seconds", st[i].job);
                number(b, (double)st[i].last_success_us / 1e6);
                cw_buf_putc(b, '\n');
        }
        header(b, "cronwarden_scheduler_enabled", "gauge", "1 when the scheduler is enabled, 0 when disabled.");
        cw_buf_printf(b, "cronwarden_scheduler_enabled %d\n", !enabled || strcmp(enabled, "0") != 0);
        cw_job_stats_free(st, n);
        if (cw_buf_error(b))
                return cw_buf_error(b);
        resp->status = 200;
        resp->content_type = METRICS_TYPE;
        return 0;
}

const cw_http_route cw_http_metrics_routes[] = {
        {CW_HTTP_GET, "/metrics", 0, serve_metrics},
        {0},
};
