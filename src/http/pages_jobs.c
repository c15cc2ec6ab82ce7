/* pages_jobs.c - the jobs overview (/jobs), a job's page (/jobs/NAME)
 * and the job actions: run now, enable, disable (see pages.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/actions.h"
#include "http/pages.h"
#include "report/json.h"
#include "catalog/catalog.h"
#include "sched/jitter.h"
#include "sched/maint.h"

/* Jobs per page of the overview (Django admin's default, too). A page's
 * cost grows with its rows: 100 keeps a page under 50 ms at p99 with 16
 * clients on 2 cores (bench/bench_admin.sh); 200 did not. */
#define JOBS_PAGE 100
/* Runs per page of a job's history. */
#define JOB_HISTORY_PAGE 20

static size_t parse_size(const char *s, size_t dflt)
{
        char *end;
        unsigned long long v;

        if (!s || !*s)
                return dflt;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || s[0] == '-')
                return dflt;
        return (size_t)v;
}

/* The last-run cell: badge, duration, when; a link to the run. */
/* The zone of the entry whose fire is the job's next (as the API's job
 * `next`): the job's own when no entry has it. */
static const cw_tz *next_zone(const cw_model_job *mj)
{
        for (size_t i = 0; i < mj->n_entries; i++)
                if (mj->entries[i].next && mj->entries[i].next == mj->next && mj->entries[i].tz)
                        return mj->entries[i].tz;
        return mj->job->tz;
}

static void last_run_cell(const cw_http_req *req, cw_buf *b, const cw_run *r)
{
        if (r->id == 0) {
                cw_html_raw(b, "<span class=\"muted\">never ran</span>");
                return;
        }
        cw_html_printf(b, "<a class=\"last-run\" href=\"/runs/%lld\">", (long long)r->id);
        cw_html_badge(b, r->status);
        cw_html_raw(b, "</a> ");
        cw_page_duration(req, b, r);
        cw_html_raw(b, "<div class=\"small muted\">");
        cw_html_time(req, b, r->ended_us ? (cw_time)(r->ended_us / 1000000) : r->scheduled_at,
                     true);
        cw_html_raw(b, "</div>");
}

static void running_cell(const cw_http_req *req, cw_buf *b, const cw_model_job *mj)
{
        const cw_run *r = &mj->running;

        if (r->id == 0)
                return;
        cw_html_printf(b, "<a href=\"/runs/%lld\" class=\"running-link\">", (long long)r->id);
        cw_html_badge(b, r->status);
        cw_html_raw(b, "</a>");
        if (mj->n_running > 1)
                cw_html_printf(b, " <span class=\"small muted\">+%zu more</span>",
                               mj->n_running - 1);
        if (r->status == CW_RUN_RUNNING) {
                cw_html_raw(b, " ");
                cw_page_duration(req, b, r);
                cw_html_progress(b, cw_model_run_percent(r), r->progress_done, r->progress_total);
        }
}

/* "after A, B": a job that runs when the jobs it depends on succeed. */
static void after_text(cw_buf *b, const cw_job *job)
{
        cw_html_raw(b, "<div class=\"after\" data-after=\"1\"><span class=\"muted\">after</span> ");
        for (size_t i = 0; i < job->after.n; i++) {
                if (i)
                        cw_html_raw(b, ", ");
                cw_page_job_link(b, job->after.v[i]);
        }
        cw_html_raw(b, "</div>");
}

/* The mark of a job created in the admin UI from a command entry. */
static void ui_job_tag(cw_buf *b, const cw_model_job *mj)
{
        cw_html_printf(
                b,
                " <a class=\"tag tag-ui\" data-ui-entry=\"%lld\" href=\"/entries/%lld/edit\" "
                "title=\"created in the admin UI from a command entry\">created in the UI</a>",
                (long long)mj->ui_entry, (long long)mj->ui_entry);
}

int cw_page_jobs(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        const char *q = cw_http_query(req, "q");
        cw_model_jobs_opts o = {
                .name_contains = q && *q ? q : NULL,
                .offset = parse_size(cw_http_query(req, "offset"), 0),
                .limit = JOBS_PAGE,
        };
        cw_model_jobs m = {0};
        cw_error e;
        int r;

        cw_error_clear(&e);
        r = cw_model_jobs_get(req->cfg, req->store, req->now_us, &o, &m, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);

        cw_html_page_begin(req, b, "Jobs", CW_NAV_JOBS, "data-page=\"jobs\" data-live=\"jobs\"");
        if (!m.scheduler_enabled)
                /* The banner is a flex row: its sentence is one item, so
                 * the gap does not split it around <strong>. */
                cw_html_raw(
                        b,
                        "<div class=\"banner banner-warn\" id=\"scheduler-off\"><span>The scheduler is "
                        "<strong>off</strong>: nothing starts on schedule.</span> <a href=\"/scheduler\">"
                        "Turn it on</a></div>");
        cw_html_raw(b,
                    "<div class=\"page-head\"><h1>Jobs</h1><div class=\"stats\" id=\"job-stats\">");
        cw_html_printf(
                b,
                "<div class=\"stat\"><span class=\"stat-n\" id=\"stat-jobs\">%zu</span>"
                "<span class=\"stat-l\">jobs</span></div>"
                "<div class=\"stat stat-running\"><span class=\"stat-n\" id=\"stat-running\">%zu</span>"
                "<span class=\"stat-l\">running</span></div>"
                "<div class=\"stat stat-failed%s\" title=\"jobs whose last run failed, timed out or was "
                "lost (not counting runs killed by an operator)\"><span class=\"stat-n\" id=\"stat-failed\">"
                "%zu</span><span class=\"stat-l\">failing</span></div>",
                m.total, m.n_running, m.n_failing ? " has" : "", m.n_failing);
        cw_html_raw(
                b,
                "</div></div>\n<form class=\"toolbar\" method=\"get\" action=\"/jobs\" role=\"search\">"
                "<input type=\"search\" name=\"q\" id=\"job-filter\" class=\"filter\" "
                "placeholder=\"Filter jobs by name\xe2\x80\xa6\" autocomplete=\"off\"");
        if (q)
                cw_html_printf(b, " value=\"%s\"", q);
        cw_html_raw(b, "><noscript><button class=\"btn\">Filter</button></noscript></form>\n");

        if (m.n == 0) {
                cw_html_raw(b, "<div class=\"empty\" id=\"jobs-empty\">");
                if (o.name_contains)
                        cw_html_printf(b, "No job name contains \xe2\x80\x9c%s\xe2\x80\x9d.", q);
                else
                        cw_html_raw(
                                b,
                                "No jobs are configured yet: add a <code>[job NAME]</code> section to the "
                                "config file, or <a href=\"/entries/new\">create an entry</a>.");
                cw_html_raw(b, "</div>");
        } else {
                /* Fixed column widths (app.css): a run starting or ending
                 * does not move the columns. */
                cw_html_raw(
                        b,
                        "<div class=\"table-wrap\"><table class=\"table jobs-table\" id=\"jobs-table\">"
                        "<colgroup><col class=\"col-job\"><col class=\"col-sched\"><col class=\"col-next\">"
                        "<col class=\"col-last\"><col class=\"col-now\"><col class=\"col-enabled\">"
                        "<col class=\"col-actions\"></colgroup>"
                        "<thead><tr><th>Job</th><th>Schedule</th><th>Next run</th><th>Last run</th>"
                        "<th>Now</th><th>Enabled</th><th><span class=\"sr-only\">Actions</span></th></tr>"
                        "</thead><tbody>\n");
        }
        for (size_t i = 0; i < m.n; i++) {
                const cw_model_job *mj = &m.jobs[i];
                const cw_job *job = mj->job;
                cw_html_printf(
                        b,
                        "<tr data-job=\"%s\" data-enabled=\"%d\" data-running=\"%zu\" class=\"%s\">"
                        "<td data-label=\"Job\" class=\"cell-job\">",
                        job->name, mj->enabled ? 1 : 0, mj->n_running,
                        mj->enabled ? "" : "is-disabled");
                cw_page_job_link(b, job->name);
                if (mj->ui_entry)
                        ui_job_tag(b, mj);
                if (job->description && *job->description)
                        cw_html_printf(b, "<div class=\"desc\">%s</div>", job->description);
                if (mj->ui_why_not)
                        cw_html_printf(
                                b, "<div class=\"small warn ui-why-not\">Does not run: %s</div>",
                                mj->ui_why_not);
                cw_html_raw(b, "</td><td data-label=\"Schedule\" class=\"cell-sched\">");
                if (mj->n_entries == 0 && job->after.n == 0)
                        cw_html_raw(b, "<span class=\"muted\">on demand</span>");
                for (size_t k = 0; k < mj->n_entries && k < 3; k++) {
                        cw_html_raw(b, "<div>");
                        cw_page_schedule(b, mj->entries[k].when, mj->entries[k].spec,
                                         mj->entries[k].zone);
                        cw_html_raw(b, "</div>");
                }
                if (mj->n_entries > 3)
                        cw_html_printf(b, "<div class=\"small muted\">and %zu more</div>",
                                       mj->n_entries - 3);
                if (job->after.n)
                        after_text(b, job);
                cw_html_raw(b, "</td><td data-label=\"Next run\" class=\"cell-next\">");
                if (!mj->enabled)
                        cw_html_raw(b, "<span class=\"muted\">paused</span>");
                else if (mj->next)
                        cw_html_fire(req, b, mj->next, next_zone(mj), true);
                else
                        cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94</span>");
                cw_html_raw(b, "</td><td data-label=\"Last run\" class=\"cell-last\">");
                last_run_cell(req, b, &mj->last);
                cw_html_raw(b, "</td><td data-label=\"Now\" class=\"cell-now\">");
                running_cell(req, b, mj);
                cw_html_raw(b, "</td><td data-label=\"Enabled\" class=\"cell-enabled\">");
                cw_page_enable_switch(req, b, mj, "/jobs");
                cw_html_raw(b, "</td><td class=\"cell-actions\">");
                cw_page_run_now(req, b, job, "/jobs", false);
                cw_html_raw(b, "</td></tr>\n");
        }
        if (m.n)
                cw_html_raw(b, "</tbody></table></div>\n");
        if (o.offset > 0 || o.offset + m.n < m.total) {
                _cleanup_free_ char *qe = cw_html_urlenc_dup(q ? q : "");
                cw_html_raw(b, "<nav class=\"pager\">");
                if (o.offset > 0)
                        cw_html_printf(
                                b,
                                "<a class=\"btn\" href=\"/jobs?q=%s&amp;offset=%zu\">\xe2\x86\x90 Previous</a>",
                                qe, o.offset > JOBS_PAGE ? o.offset - JOBS_PAGE : 0);
                cw_html_printf(b, "<span class=\"muted\">%zu\xe2\x80\x93%zu of %zu</span>",
                               o.offset + 1, o.offset + m.n, m.total);
                if (o.offset + m.n < m.total)
                        cw_html_printf(
                                b,
                                "<a class=\"btn\" href=\"/jobs?q=%s&amp;offset=%zu\">Next \xe2\x86\x92</a>",
                                qe, o.offset + m.n);
                cw_html_raw(b, "</nav>");
        }
        cw_html_page_end(req, b);
        cw_model_jobs_release(&m);
        return cw_page_done(resp);
}

/* ---- a job's page ---- */

static void setting(cw_buf *b, const char *label, const char *value, bool code)
{
        cw_html_printf(b, "<dt>%s</dt><dd>", label);
        if (code)
                cw_html_code(b, value, NULL);
        else
                cw_html_text(b, value);
        cw_html_raw(b, "</dd>");
}

static void duration_value(cw_duration d, char *out, size_t n, const char *zero)
{
        if (d <= 0)
                snprintf(out, n, "%s", zero);
        else
                cw_html_format_duration((double)d, out, n);
}

static void settings_card(cw_buf *b, const cw_model_job_detail *d)
{
        const cw_job *j = d->j.job;
        char v[160], w[64];

        cw_html_raw(b,
                    "<section class=\"card\" id=\"settings\"><h2>Settings</h2><dl class=\"kv\">");
        setting(b, j->shell ? "Command (shell)" : "Command", j->command ? j->command : "", true);
        if (j->args.n || j->options.n) {
                cw_html_raw(b, "<dt>Parameters</dt><dd>");
                for (size_t i = 0; i < j->args.n; i++) {
                        cw_html_code(b, j->args.v[i], "param");
                        cw_html_raw(b, " ");
                }
                for (size_t i = 0; i < j->options.n; i++)
                        cw_html_printf(b, "<code class=\"param%s\">%s=\xe2\x80\xa6</code> ",
                                       strlen(j->options.v[i]) > CW_HTML_CODE_SHORT ? " long" : "",
                                       j->options.v[i]);
                cw_html_raw(b, "</dd>");
        }
        if (j->lock == CW_LOCK_NONE)
                snprintf(v, sizeof(v), "none");
        else
                snprintf(v, sizeof(v), "%s (%s)", cw_lock_mode_to_string(j->lock),
                         j->lock_name ? j->lock_name : j->name);
        setting(b, "Lock", v, false);
        setting(b, "Concurrency", cw_concurrency_to_string(j->concurrency), false);
        duration_value(j->timeout, v, sizeof(v), "none");
        if (j->timeout > 0) {
                duration_value(j->kill_grace, w, sizeof(w), "0 s");
                snprintf(v + strlen(v), sizeof(v) - strlen(v), ", then %s grace", w);
        }
        setting(b, "Timeout", v, false);
        if (j->retries > 0) {
                duration_value(j->retry_delay, w, sizeof(w), "no delay");
                snprintf(v, sizeof(v), "%d, first after %s (doubling)", j->retries, w);
        } else {
                snprintf(v, sizeof(v), "none");
        }
        setting(b, "Retries", v, false);
        setting(b, "Catch up", cw_catch_up_to_string(j->catch_up), false);
        if (j->jitter > 0) {
                duration_value(j->jitter, w, sizeof(w), "0 s");
                snprintf(v, sizeof(v), "up to %s after each scheduled fire", w);
                setting(b, "Jitter", v, false);
        }
        if (j->priority) {
                snprintf(v, sizeof(v), "%d", j->priority);
                setting(b, "Priority", v, false);
        }
        setting(b, "Resumable", j->can_resume ? "yes" : "no", false);
        cw_html_raw(b, "<dt>Runs after</dt><dd>");
        if (j->after.n == 0)
                cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94</span>");
        for (size_t i = 0; i < j->after.n; i++) {
                if (i)
                        cw_html_raw(b, ", ");
                cw_page_job_link(b, j->after.v[i]);
        }
        cw_html_raw(b, "</dd>");
        if (j->hosts.n) {
                cw_html_raw(b, "<dt>Hosts</dt><dd>");
                for (size_t i = 0; i < j->hosts.n; i++) {
                        cw_html_raw(b, i ? " " : "");
                        cw_html_code(b, j->hosts.v[i], NULL);
                }
                cw_html_raw(b, "</dd>");
        } else {
                setting(b, "Hosts", "any", false);
        }
        if (j->workdir)
                setting(b, "Working directory", j->workdir, true);
        if (j->run_as)
                setting(b, "Runs as", j->run_as, true);
        if (j->nice_set) {
                snprintf(v, sizeof(v), "%d", j->nice);
                setting(b, "Nice", v, false);
        }
        /* As the config writes it, and as `info --json` and the API do. */
        if (cw_json_ionice_text(j, v, sizeof(v)))
                setting(b, "I/O priority (ionice)", v, false);
        /* Which rules: the tz database's version, or the built-in UTC. */
        if (j->tz)
                snprintf(v, sizeof(v), "%s (%s)", cw_tz_name(j->tz),
                         cw_tz_origin(j->tz, w, sizeof(w)));
        setting(b, "Time zone", j->tz ? v : "", false);
        if (d->j.ui_entry) {
                snprintf(v, sizeof(v), "the admin UI, entry #%lld (from [defaults])",
                         (long long)d->j.ui_entry);
                setting(b, "Defined in", v, false);
        } else {
                snprintf(v, sizeof(v), "line %d", j->line);
                setting(b, "Defined at", v, false);
        }
        cw_html_raw(b, "</dl></section>\n");
}

static void stats_card(const cw_http_req *req, cw_buf *b, const cw_model_job_detail *d)
{
        char v[64];
        size_t any = 0;

        cw_html_raw(
                b,
                "<section class=\"card\" id=\"stats\"><h2>Statistics</h2><div class=\"mini-stats\">");
        if (d->p50 >= 0) {
                cw_html_format_duration(d->p50, v, sizeof(v));
                cw_html_printf(
                        b,
                        "<div><span class=\"stat-n\">%s</span><span class=\"stat-l\">median</span></div>",
                        v);
                cw_html_format_duration(d->p95, v, sizeof(v));
                cw_html_printf(
                        b,
                        "<div><span class=\"stat-n\">%s</span><span class=\"stat-l\">p95</span></div>",
                        v);
        }
        if (d->failure_rate >= 0)
                cw_html_printf(
                        b,
                        "<div><span class=\"stat-n\">%.0f%%</span><span class=\"stat-l\">failed (recent)</span>"
                        "</div>",
                        d->failure_rate * 100);
        cw_html_raw(b, "</div><dl class=\"kv\"><dt>Last success</dt><dd>");
        cw_html_time(req, b, d->last_success_us ? (cw_time)(d->last_success_us / 1000000) : 0,
                     true);
        cw_html_raw(b, "</dd><dt>All runs</dt><dd class=\"counts\" id=\"stats-counts\">");
        for (int s = 0; s < CW_RUN_STATUS_MAX; s++)
                any += d->counts[s] > 0;
        if (!any)
                cw_html_raw(b, "<span class=\"muted\">none yet</span>");
        for (int s = 0; s < CW_RUN_STATUS_MAX; s++) {
                if (!d->counts[s])
                        continue;
                cw_html_badge(b, (cw_run_status)s);
                cw_html_printf(b, "<span class=\"count\">%llu</span> ",
                               (unsigned long long)d->counts[s]);
        }
        cw_html_raw(b, "</dd></dl></section>\n");
}

/* One box of the dependency graph: a link to the job. */
static void dep_box(cw_buf *b, const cw_job *job, const char *dir)
{
        _cleanup_free_ char *u = cw_html_urlenc_dup(job->name);

        cw_html_printf(
                b,
                "<a href=\"/jobs/%s\" class=\"dep-node\" data-dep=\"%s\" data-dir=\"%s\" title=\"%s\">%s</a>",
                u ? u : "", job->name, dir, job->name, job->name);
}

/* Jobs this one runs after, itself, and jobs that run after it: three
 * columns of boxes joined by arrows, in plain HTML so that app.css can
 * stack them top to bottom on a narrow screen instead of cutting them. */
static void dependency_graph(cw_buf *b, const cw_model_job_detail *d)
{
        cw_html_raw(b, "<section class=\"card\" id=\"dependencies\"><h2>Dependencies</h2>");
        if (d->n_after == 0 && d->n_before == 0) {
                cw_html_raw(
                        b,
                        "<p class=\"muted\">This job has no <code>after =</code> links either way.</p></section>\n");
                return;
        }
        cw_html_raw(b, "<div class=\"dep-flow\" role=\"group\" aria-label=\"dependency graph\">");
        if (d->n_after) {
                cw_html_raw(
                        b,
                        "<div class=\"dep-col dep-up\"><span class=\"dep-label\">runs after</span>");
                for (size_t i = 0; i < d->n_after; i++)
                        dep_box(b, d->after[i], "upstream");
                cw_html_raw(b, "</div><span class=\"dep-arrow\" aria-hidden=\"true\"></span>");
        }
        cw_html_printf(b,
                       "<div class=\"dep-col dep-mid\"><span class=\"dep-label\">this job</span>"
                       "<span class=\"dep-node dep-self\" title=\"%s\">%s</span></div>",
                       d->j.job->name, d->j.job->name);
        if (d->n_before) {
                cw_html_raw(
                        b,
                        "<span class=\"dep-arrow\" aria-hidden=\"true\"></span>"
                        "<div class=\"dep-col dep-down\"><span class=\"dep-label\">then runs</span>");
                for (size_t i = 0; i < d->n_before; i++)
                        dep_box(b, d->before[i], "downstream");
                cw_html_raw(b, "</div>");
        }
        cw_html_raw(
                b,
                "</div><p class=\"small muted legend\">Arrows point from a job to the jobs that run after "
                "it succeeds.</p></section>\n");
}

/* The smallest round duration (1, 2 or 5 of a unit, or a round count of
 * minutes, hours or days) at least secs: the top of the chart's scale, so
 * that its labels and its half read as plain numbers. */
static double scale_top(double secs)
{
        static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,  0.1,   0.2,   0.5,
                                       1,     2,     5,     10,   20,   30,    60,    120,   300,
                                       600,   1200,  1800,  3600, 7200, 10800, 21600, 43200, 86400};
        static const double grow[] = {2, 2.5, 2}; /* 1, 2, 5, 10, 20, 50, ... days */
        double days = 1;

        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
                if (secs <= steps[i])
                        return steps[i];
        for (size_t k = 0; days * 86400 < secs && days < 1e9; k++)
                days *= grow[k % 3];
        return days * 86400;
}

/* A scale label: one unit, at most three digits ("500 ms", "7.5 min"). */
static void scale_label(double secs, char *out, size_t n)
{
        if (secs <= 0)
                snprintf(out, n, "0");
        else if (secs < 1)
                snprintf(out, n, "%.3g ms", secs * 1000);
        else if (secs < 60)
                snprintf(out, n, "%.3g s", secs);
        else if (secs < 3600)
                snprintf(out, n, "%.3g min", secs / 60);
        else if (secs < 86400)
                snprintf(out, n, "%.3g h", secs / 3600);
        else
                snprintf(out, n, "%.3g d", secs / 86400);
}

/* Bars of the recent runs' durations, oldest on the left, coloured by
 * status, each a link to its run, on a scale from 0 to a round duration
 * with its half marked (labels beside the chart: the SVG is stretched to
 * the card's width, text in it would be too). app.css places the labels
 * at the lines' heights: keep CHART_* and .chart-axis in step. */
#define CHART_W 600
#define CHART_H 140
#define CHART_TOP 16
#define CHART_BOTTOM 4
static void duration_chart(const cw_http_req *req, cw_buf *b, const cw_model_job_detail *d)
{
        const double plot = CHART_H - CHART_TOP - CHART_BOTTOM;
        double max = 0;
        char top[32], half[32];

        cw_html_raw(b, "<section class=\"card\" id=\"durations\"><h2>Recent durations</h2>");
        if (d->n_recent == 0) {
                cw_html_raw(b, "<p class=\"muted\">No runs yet.</p></section>");
                return;
        }
        for (size_t i = 0; i < d->n_recent; i++) {
                double s = cw_model_run_duration(&d->recent[i], req->now_us);
                if (s > max)
                        max = s;
        }
        max = scale_top(max);
        scale_label(max, top, sizeof(top));
        scale_label(max / 2, half, sizeof(half));
        cw_html_printf(
                b,
                "<div class=\"chart-box\"><div class=\"chart-axis small muted\" "
                "id=\"durations-scale\"><span class=\"tick-top\">%s</span>"
                "<span class=\"tick-half\">%s</span><span class=\"tick-zero\">0</span></div>",
                top, half);
        cw_html_printf(
                b,
                "<svg class=\"chart\" viewBox=\"0 0 %d %d\" preserveAspectRatio=\"none\" role=\"img\" "
                "aria-label=\"durations of the last %zu runs, on a scale of 0 to %s\">",
                CHART_W, CHART_H, d->n_recent, top);
        cw_html_printf(b,
                       "<line class=\"grid\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                       "<line class=\"grid\" x1=\"0\" y1=\"%.0f\" x2=\"%d\" y2=\"%.0f\"/>"
                       "<line class=\"axis\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
                       CHART_TOP, CHART_W, CHART_TOP, CHART_TOP + plot / 2, CHART_W,
                       CHART_TOP + plot / 2, CHART_H - CHART_BOTTOM, CHART_W,
                       CHART_H - CHART_BOTTOM);
        {
                double slot = (double)CHART_W / (double)(d->n_recent > 10 ? d->n_recent : 10);
                for (size_t k = 0; k < d->n_recent; k++) {
                        const cw_run *r = &d->recent[d->n_recent - 1 - k];
                        double s = cw_model_run_duration(r, req->now_us);
                        double h = s / max * plot;
                        const char *st = cw_run_status_to_string(r->status);
                        char dv[48];
                        if (h < 2)
                                h = 2;
                        cw_html_format_duration(s, dv, sizeof(dv));
                        cw_html_printf(
                                b,
                                "<a href=\"/runs/%lld\"><rect class=\"bar s-%s\" x=\"%.1f\" y=\"%.1f\" "
                                "width=\"%.1f\" height=\"%.1f\" rx=\"1.5\" data-run=\"%lld\">"
                                "<title>#%lld %s, %s</title></rect></a>",
                                (long long)r->id, st, k * slot + slot * 0.15,
                                CHART_H - CHART_BOTTOM - h, slot * 0.7, h, (long long)r->id,
                                (long long)r->id, cw_html_status_label(st), dv);
                }
        }
        cw_html_raw(b, "</svg></div><div class=\"chart-legend small muted\"><span>duration</span>"
                       "<span>oldest \xe2\x86\x92 newest</span></div></section>\n");
}

static const char *const history_filters[] = {"succeeded", "failed", "timed_out", "killed", "lost",
                                              "skipped",   "missed", "running",   "queued"};

static void history(const cw_http_req *req, cw_buf *b, const char *name)
{
        cw_model_runs_filter f = CW_MODEL_RUNS_FILTER_INIT;
        cw_model_runs runs = {0};
        const char *status = cw_http_query(req, "status");
        _cleanup_free_ char *u = cw_html_urlenc_dup(name);
        cw_error e;

        cw_error_clear(&e);
        f.job = name;
        f.limit = JOB_HISTORY_PAGE;
        cw_html_raw(
                b,
                "<section class=\"card\" id=\"history\"><div class=\"card-head\"><h2>History</h2>"
                "<div class=\"chips\" id=\"history-filter\">");
        cw_html_printf(b, "<a class=\"chip%s\" href=\"/jobs/%s#history\">all</a>",
                       status && *status ? "" : " active", u);
        for (size_t i = 0; i < sizeof(history_filters) / sizeof(history_filters[0]); i++)
                cw_html_printf(
                        b,
                        "<a class=\"chip%s\" data-filter=\"%s\" href=\"/jobs/%s?status=%s#history\">%s</a>",
                        status && strcmp(status, history_filters[i]) == 0 ? " active" : "",
                        history_filters[i], u, history_filters[i],
                        cw_html_status_label(history_filters[i]));
        cw_html_raw(b, "</div></div>");
        if (cw_model_parse_status(status, &f, &e) < 0 ||
            cw_model_parse_before(cw_http_query(req, "before"), &f, &e) < 0 ||
            cw_model_runs_list(req->cfg, req->store, &f, &runs, &e) < 0) {
                cw_html_printf(b, "<div class=\"flash flash-err\">%s</div></section>",
                               e.msg[0] ? e.msg : "cannot read the history");
                return;
        }
        cw_page_runs_table(req, b, runs.runs, runs.n, false, true);
        if (f.before_id || runs.next_before) {
                cw_html_raw(b, "<nav class=\"pager\">");
                if (f.before_id)
                        cw_html_printf(
                                b,
                                "<a class=\"btn\" href=\"/jobs/%s?status=%s#history\">Newest</a>",
                                u, status ? status : "");
                if (runs.next_before)
                        cw_html_printf(
                                b,
                                "<a class=\"btn\" id=\"history-older\" href=\"/jobs/%s?status=%s&amp;before=%lld"
                                "#history\">Older \xe2\x86\x92</a>",
                                u, status ? status : "", (long long)runs.next_before);
                cw_html_raw(b, "</nav>");
        }
        cw_html_printf(
                b,
                "<p class=\"small\"><a href=\"/runs?job=%s\">All runs of this job in History</a></p>"
                "</section>\n",
                u);
        cw_model_runs_release(&runs);
}

/* What a maintenance window does to a next fire (sched/maint.h), if anything. */
/* After a fire of a jittered job: when it comes due (sched/jitter.h). */
static void jitter_note(const cw_http_req *req, cw_buf *b, const cw_job *job, const char *spec,
                        cw_time fire)
{
        cw_duration d;
        char w[64];

        if (job->jitter <= 0)
                return;
        d = cw_jitter_delay(spec, fire, job->jitter);
        duration_value(d, w, sizeof(w), "0 s");
        cw_html_printf(b, " <span class=\"small muted\" data-jitter=\"%lld\">jitter +%s: due ",
                       (long long)d, w);
        cw_html_time(req, b, fire + d, false);
        cw_html_raw(b, "</span>");
}

static void maint_note(const cw_http_req *req, cw_buf *b, const cw_job *job, cw_time fire)
{
        cw_maint_effect fx;

        if (!req->cfg->n_maintenance)
                return;
        fx = cw_maint_effect_of(req->cfg, job, fire);
        if (!fx.window)
                return;
        if (!fx.deferred) {
                cw_html_printf(
                        b,
                        " <span class=\"small muted\" data-maintenance=\"skip\">skipped: maintenance window "
                        "%s</span>",
                        fx.window->name);
                return;
        }
        cw_html_raw(b, " <span class=\"small muted\" data-maintenance=\"defer\">deferred to ");
        cw_html_time(req, b, fx.to, false);
        cw_html_printf(b, ": maintenance window %s</span>", fx.window->name);
}

int cw_page_job(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        const char *name = req->args[0];
        cw_model_job_detail d = {0};
        cw_error e;
        char attrs[256];
        int r;

        cw_error_clear(&e);
        r = cw_model_job_get(req->cfg, req->store, req->now_us, name, &d, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        {
                cw_buf a = CW_BUF_INIT(sizeof(attrs) - 1);
                cw_html_printf(&a, "data-page=\"job\" data-live=\"job\" data-job=\"%s\"", name);
                snprintf(attrs, sizeof(attrs), "%s", a.p ? a.p : "data-page=\"job\"");
                cw_buf_release(&a);
        }
        cw_html_page_begin(req, b, name, CW_NAV_JOBS, attrs);
        cw_html_raw(b, "<nav class=\"crumbs\"><a href=\"/jobs\">Jobs</a> \xe2\x80\xba</nav>"
                       "<div class=\"page-head\"><div><h1 class=\"job-title\">");
        cw_html_text(b, name);
        cw_html_printf(b, " <span class=\"pill %s\" id=\"job-state\">%s</span></h1>",
                       d.j.enabled ? "pill-on" : "pill-off", d.j.enabled ? "enabled" : "disabled");
        if (d.j.ui_entry)
                ui_job_tag(b, &d.j);
        if (d.j.job->description && *d.j.job->description)
                cw_html_printf(b, "<p class=\"lead\" id=\"job-description\">%s</p>",
                               d.j.job->description);
        cw_html_raw(b, "</div><div class=\"actions\">");
        cw_page_enable_switch(req, b, &d.j, req->path);
        cw_page_run_now(req, b, d.j.job, req->path, false);
        cw_html_raw(b, "</div></div>\n");
        if (d.j.ui_why_not)
                cw_html_printf(
                        b,
                        "<div class=\"banner banner-warn\" id=\"job-not-runnable\">This job does not run: "
                        "%s</div>",
                        d.j.ui_why_not);

        if (d.j.running.id) {
                cw_html_raw(b, "<div class=\"banner banner-run\" id=\"job-running\">");
                cw_html_printf(b, "<a href=\"/runs/%lld\">Run #%lld</a> ",
                               (long long)d.j.running.id, (long long)d.j.running.id);
                cw_html_badge(b, d.j.running.status);
                cw_html_raw(b, " ");
                cw_page_duration(req, b, &d.j.running);
                cw_html_progress(b, cw_model_run_percent(&d.j.running), d.j.running.progress_done,
                                 d.j.running.progress_total);
                if (d.j.running.status == CW_RUN_RUNNING)
                        cw_page_kill_form(req, b, d.j.running.id, req->path, true);
                cw_html_raw(b, "</div>");
        }

        /* One grid for every card, so that on a narrow screen app.css can
         * put History before Settings (CSS order) whatever the columns. */
        cw_html_raw(b, "<div class=\"grid job-grid\">");
        cw_html_raw(b, "<section class=\"card span-2\" id=\"schedules\"><h2>Schedules</h2>");
        if (d.j.n_entries == 0)
                cw_html_raw(
                        b,
                        "<p class=\"muted\">No schedule: this job runs when requested, or after the jobs it "
                        "depends on.</p>");
        for (size_t i = 0; i < d.j.n_entries; i++) {
                const cw_model_entry *en = &d.j.entries[i];
                cw_html_printf(
                        b,
                        "<div class=\"entry\" data-entry-source=\"%s\"><div class=\"entry-head\">",
                        cw_model_source_to_string(en->source));
                cw_page_schedule(b, en->when, en->spec, en->zone);
                cw_html_raw(b, "</div><div class=\"entry-meta\">");
                if (strcmp(en->spec, name) != 0) {
                        cw_html_raw(b, "<span class=\"small\">runs ");
                        cw_html_code(b, en->spec, NULL);
                        cw_html_raw(b, "</span> ");
                }
                if (en->source == CW_MODEL_SOURCE_UI)
                        cw_html_printf(
                                b,
                                " <a class=\"tag tag-ui\" href=\"/entries/%lld/edit\">UI entry #%lld</a>",
                                (long long)en->ui_id, (long long)en->ui_id);
                else
                        cw_html_printf(b, " <span class=\"tag\">config line %d</span>", en->line);
                cw_html_raw(b, "</div>");
                if (en->reboot) {
                        cw_html_raw(
                                b,
                                "<p class=\"small muted\">Fires once each time the daemon starts.</p>");
                } else if (en->n_next) {
                        cw_html_raw(b, "<ol class=\"fires\">");
                        for (size_t k = 0; k < en->n_next; k++) {
                                cw_html_raw(b, "<li>");
                                cw_html_fire(req, b, en->next_fires[k], en->tz, k == 0);
                                maint_note(req, b, d.j.job, en->next_fires[k]);
                                jitter_note(req, b, d.j.job, en->spec, en->next_fires[k]);
                                cw_html_raw(b, "</li>");
                        }
                        cw_html_raw(b, "</ol>");
                } else {
                        cw_html_raw(b, "<p class=\"small muted\">Never fires again.</p>");
                }
                cw_html_raw(b, "</div>");
        }
        cw_html_raw(b, "</section>\n");
        stats_card(req, b, &d);
        duration_chart(req, b, &d);
        settings_card(b, &d);
        dependency_graph(b, &d);
        history(req, b, name);
        cw_html_raw(b, "</div>");
        cw_html_page_end(req, b);
        cw_model_job_detail_release(&d);
        return cw_page_done(resp);
}

/* ---- actions ---- */

/* Appends ",\"v\"" style quoted values for the job spec grammar. */
static void put_quoted(cw_buf *b, const char *v)
{
        cw_buf_putc(b, '"');
        for (; *v; v++) {
                if (*v == '"' || *v == '\\')
                        cw_buf_putc(b, '\\');
                cw_buf_putc(b, *v);
        }
        cw_buf_putc(b, '"');
}

/* Back to `back` with the flash msg and a link to /requests/ID, which
 * leads to the run once the scheduler has started it (pages_runs.c). */
static int redirect_follow(const cw_http_req *req, cw_http_resp *resp, const char *back,
                           const char *msg, int64_t id, const char *canon)
{
        _cleanup_free_ char *url = cw_html_flash_url(back, "msg", msg);
        cw_buf follow = CW_BUF_INIT(4 * CW_JOBSPEC_TEXT_MAX);
        cw_buf full = CW_BUF_INIT(16 * 1024);
        int r;

        cw_buf_printf(&follow, "/requests/%lld?at=%lld&spec=", (long long)id,
                      (long long)(req->now_us / 1000000));
        cw_html_urlenc(&follow, canon);
        cw_buf_puts(&full, url ? url : back);
        cw_buf_puts(&full, "&follow=");
        cw_html_urlenc(&full, follow.p ? follow.p : "");
        r = url && !cw_buf_error(&follow) && !cw_buf_error(&full) ? 0 : -ENOMEM;
        if (r == 0)
                cw_http_redirect(resp, full.p);
        cw_buf_release(&follow);
        cw_buf_release(&full);
        return r == 0 ? 0 : cw_page_redirect(resp, back, "msg", msg);
}

int cw_page_job_run(const cw_http_req *req, cw_http_resp *resp)
{
        const char *name = req->args[0];
        /* A configured job, or one created in the UI (no params). */
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        cw_error why;
        const cw_job *job =
                cw_job_resolve(req->cfg, req->store, name, &ref, &why) == 0 ? ref.job : NULL;
        _cleanup_free_ char *u = cw_html_urlenc_dup(name);
        char fallback[300], msg[400];
        const char *back;
        cw_buf spec = CW_BUF_INIT(CW_JOBSPEC_TEXT_MAX);
        _cleanup_free_ char *canon = NULL;
        bool first = true;
        int64_t id = 0;
        cw_error e;
        int r;

        snprintf(fallback, sizeof(fallback), "/jobs/%s", u ? u : "");
        back = cw_page_back(req, fallback);
        if (!job) {
                if (cw_ui_job_name_parse(name, NULL) && why.msg[0])
                        snprintf(msg, sizeof(msg), "cannot run %s: %s", name, why.msg);
                else
                        snprintf(msg, sizeof(msg), "no job named '%s'", name);
                return cw_page_redirect(resp, "/jobs", "err", msg);
        }
        cw_buf_puts(&spec, name);
        for (size_t i = 0; i < job->args.n; i++) {
                char key[32];
                const char *v;
                snprintf(key, sizeof(key), "arg_%zu", i);
                v = cw_http_form(req, key);
                cw_buf_putc(&spec, first ? ':' : ',');
                first = false;
                put_quoted(&spec, v ? v : "");
        }
        for (size_t i = 0; i < job->options.n; i++) {
                char key[160];
                const char *v;
                snprintf(key, sizeof(key), "opt_%s", job->options.v[i]);
                v = cw_http_form(req, key);
                if (!v || !*v)
                        continue;
                cw_buf_putc(&spec, first ? ':' : ',');
                first = false;
                cw_buf_puts(&spec, job->options.v[i]);
                cw_buf_putc(&spec, '=');
                put_quoted(&spec, v);
        }
        if (cw_buf_error(&spec)) {
                cw_buf_release(&spec);
                return cw_page_redirect(resp, back, "err", "the parameters are too long");
        }
        cw_error_clear(&e);
        r = cw_action_request(req, spec.p, &id, &canon, &e);
        cw_buf_release(&spec);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "cannot run %s: %s", name,
                         e.msg[0] ? e.msg : strerror(-r));
                return cw_page_redirect(resp, back, "err", msg);
        }
        /* The spec as the run will have it (and the API, and history). */
        snprintf(
                msg, sizeof(msg),
                "Run of %.300s requested (request #%lld): the scheduler starts it within a second.",
                canon, (long long)id);
        return redirect_follow(req, resp, back, msg, id, canon);
}

static int job_enable(const cw_http_req *req, cw_http_resp *resp, bool on)
{
        const char *name = req->args[0];
        _cleanup_free_ char *u = cw_html_urlenc_dup(name);
        char fallback[300], msg[400];
        const char *back;
        cw_error e;
        int r;

        snprintf(fallback, sizeof(fallback), "/jobs/%s", u ? u : "");
        back = cw_page_back(req, fallback);
        cw_error_clear(&e);
        r = cw_action_job_enable(req, name, on, &e);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "cannot %s %s: %s", on ? "enable" : "disable", name,
                         e.msg[0] ? e.msg : strerror(-r));
                return cw_page_redirect(resp, back, "err", msg);
        }
        snprintf(msg, sizeof(msg),
                 on ? "%s enabled: its schedules fire again."
                    : "%s disabled: its schedules do not "
                      "fire until it is enabled again.",
                 name);
        return cw_page_redirect(resp, back, "msg", msg);
}

int cw_page_job_enable(const cw_http_req *req, cw_http_resp *resp)
{
        return job_enable(req, resp, true);
}

int cw_page_job_disable(const cw_http_req *req, cw_http_resp *resp)
{
        return job_enable(req, resp, false);
}
