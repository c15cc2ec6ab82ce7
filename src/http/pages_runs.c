/* pages_runs.c - History (/runs), Running (/running), a run's page
 * (/runs/ID), its output as a download, Kill, and the way from a Run now
 * request to its run (/requests/ID) (see pages.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/actions.h"
#include "http/pages.h"

static const char *const status_names[] = {"queued", "running", "succeeded", "failed", "timed_out",
                                           "killed", "lost",    "skipped",   "missed"};

/* The filter bar of History: job, status. */
static void runs_filter_form(const cw_http_req *req, cw_buf *b, const char *job, const char *status)
{
        cw_html_raw(
                b,
                "<form class=\"toolbar filters\" method=\"get\" action=\"/runs\" id=\"runs-filter\">"
                "<label class=\"field-inline\"><span>Job</span><select name=\"job\" id=\"filter-job\">"
                "<option value=\"\">all jobs</option>");
        for (size_t i = 0; i < req->cfg->n_jobs; i++) {
                const char *n = req->cfg->jobs[i].name;
                cw_html_printf(b, "<option value=\"%s\"%s>%s</option>", n,
                               job && strcmp(job, n) == 0 ? " selected" : "", n);
        }
        cw_html_raw(
                b,
                "</select></label><label class=\"field-inline\"><span>Status</span>"
                "<select name=\"status\" id=\"filter-status\"><option value=\"\">any status</option>");
        for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
                cw_html_printf(b, "<option value=\"%s\"%s>%s</option>", status_names[i],
                               status && strcmp(status, status_names[i]) == 0 ? " selected" : "",
                               cw_html_status_label(status_names[i]));
        cw_html_raw(
                b,
                "</select></label><button type=\"submit\" class=\"btn\">Apply</button></form>\n");
}

int cw_page_runs(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        cw_model_runs_filter f = CW_MODEL_RUNS_FILTER_INIT;
        cw_model_runs runs = {0};
        const char *job = cw_http_query(req, "job"), *status = cw_http_query(req, "status");
        cw_error e;
        int r;

        cw_error_clear(&e);
        f.job = job && *job ? job : NULL;
        if ((r = cw_model_parse_status(status, &f, &e)) < 0 ||
            (r = cw_model_parse_before(cw_http_query(req, "before"), &f, &e)) < 0 ||
            (r = cw_model_parse_limit(cw_http_query(req, "limit"), &f, &e)) < 0)
                return cw_page_fail(req, resp, r, &e);
        r = cw_model_runs_list(req->cfg, req->store, &f, &runs, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        cw_html_page_begin(req, b, "History", CW_NAV_HISTORY,
                           "data-page=\"runs\" data-live=\"runs\"");
        cw_html_raw(b, "<div class=\"page-head\"><h1>History</h1></div>");
        runs_filter_form(req, b, f.job, status);
        cw_page_runs_table(req, b, runs.runs, runs.n, true, false);
        if (f.before_id || runs.next_before) {
                _cleanup_free_ char *je = cw_html_urlenc_dup(f.job ? f.job : "");
                _cleanup_free_ char *se = cw_html_urlenc_dup(status ? status : "");
                cw_html_raw(b, "<nav class=\"pager\">");
                if (f.before_id)
                        cw_html_printf(
                                b,
                                "<a class=\"btn\" href=\"/runs?job=%s&amp;status=%s\">Newest</a>",
                                je, se);
                if (runs.next_before)
                        cw_html_printf(
                                b,
                                "<a class=\"btn\" id=\"runs-older\" href=\"/runs?job=%s&amp;status=%s&amp;"
                                "before=%lld\">Older \xe2\x86\x92</a>",
                                je, se, (long long)runs.next_before);
                cw_html_raw(b, "</nav>");
        }
        cw_html_page_end(req, b);
        cw_model_runs_release(&runs);
        return cw_page_done(resp);
}

int cw_page_running(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        cw_model_runs_filter f = CW_MODEL_RUNS_FILTER_INIT;
        cw_model_runs runs = {0};
        cw_error e;
        int r;

        cw_error_clear(&e);
        f.active = true;
        f.limit = CW_MODEL_RUNS_MAX;
        r = cw_model_runs_list(req->cfg, req->store, &f, &runs, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        cw_html_page_begin(req, b, "Running", CW_NAV_RUNNING,
                           "data-page=\"running\" data-live=\"running\"");
        cw_html_printf(
                b,
                "<div class=\"page-head\"><h1>Running now</h1><div class=\"stats\"><div class=\"stat "
                "stat-running\"><span class=\"stat-n\" id=\"stat-running\">%zu</span><span "
                "class=\"stat-l\">active</span></div></div></div>",
                runs.n);
        if (runs.n == 0)
                cw_html_raw(
                        b,
                        "<div class=\"empty\" id=\"running-empty\">Nothing is running right now.</div>");
        else
                cw_page_runs_table(req, b, runs.runs, runs.n, true, true);
        cw_html_page_end(req, b);
        cw_model_runs_release(&runs);
        return cw_page_done(resp);
}

static int parse_run_id(const cw_http_req *req, cw_http_resp *resp, int64_t *ret)
{
        cw_error e;

        cw_error_clear(&e);
        if (cw_model_parse_id(req->args[0], ret, &e) < 0) {
                cw_http_page_error(req, resp, 404, e.msg[0] ? e.msg : "no such run");
                return -ENOENT;
        }
        return 0;
}

static void field(cw_buf *b, const char *label, const char *id)
{
        cw_html_printf(b, "<dt>%s</dt><dd id=\"%s\">", label, id);
}

int cw_page_run(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        cw_model_run m = {0};
        cw_run_output ro = {0};
        const cw_run *run;
        char attrs[200], title[64];
        bool active;
        int64_t id;
        cw_error e;
        int r;

        if (parse_run_id(req, resp, &id) < 0)
                return 0;
        cw_error_clear(&e);
        r = cw_model_run_get(req->cfg, req->store, id, false, &m, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        /* The output with its size of the same moment: the page follows
         * the run from that size on (app.js, ?since=). */
        r = cw_store_run_output_get(req->store, id, &ro);
        if (r < 0) {
                cw_model_run_release(&m);
                cw_error_fail(&e, r, "cannot read run %lld's output: %s", (long long)id,
                              strerror(-r));
                return cw_page_fail(req, resp, r, &e);
        }
        run = &m.run;
        active = !cw_run_status_is_final(run->status);
        snprintf(attrs, sizeof(attrs),
                 "data-page=\"run\" data-live=\"run\" data-run-id=\"%lld\" data-active=\"%d\"",
                 (long long)id, active ? 1 : 0);
        snprintf(title, sizeof(title), "Run #%lld", (long long)id);
        cw_html_page_begin(req, b, title, CW_NAV_HISTORY, attrs);
        cw_html_raw(b, "<nav class=\"crumbs\"><a href=\"/runs\">History</a> \xe2\x80\xba ");
        cw_page_job_link(b, run->job);
        cw_html_printf(
                b,
                " \xe2\x80\xba</nav><div class=\"page-head\"><div><h1>Run #%lld <span id=\"run-status\">",
                (long long)id);
        cw_html_badge(b, run->status);
        cw_html_raw(b, "</span></h1><p class=\"lead\"><code id=\"run-spec\">");
        cw_html_text(b, run->spec ? run->spec : run->job);
        cw_html_raw(b, "</code>");
        if (m.job && m.job->description && *m.job->description)
                cw_html_printf(b, " \xe2\x80\x94 %s", m.job->description);
        cw_html_raw(b, "</p></div><div class=\"actions\" id=\"run-actions\">");
        if (run->status == CW_RUN_RUNNING)
                cw_page_kill_form(req, b, id, req->path, true);
        if (m.job)
                cw_page_run_now(req, b, m.job, req->path, false);
        cw_html_raw(b, "</div></div>\n");
        if (active && !m.alive)
                cw_html_raw(
                        b,
                        "<div class=\"banner banner-warn\" id=\"run-dead\">The worker of this run is gone: it "
                        "will be marked lost.</div>");
        /* A finished run keeps the progress it reported last (as the API's
         * `progress` does); one that never reported any has no card. */
        cw_html_raw(b, "<div class=\"card\" id=\"run-progress\"");
        if (!active && run->progress_done < 0)
                cw_html_raw(b, " hidden");
        cw_html_raw(b, "><h2>Progress</h2>");
        cw_html_progress(b, cw_model_run_percent(run), run->progress_done, run->progress_total);
        cw_html_raw(b, "</div>");

        cw_html_raw(b, "<section class=\"card\" id=\"run-details\"><dl class=\"kv kv-cols\">");
        field(b, "Status", "run-status-text");
        cw_html_badge(b, run->status);
        cw_html_raw(b, "</dd>");
        field(b, "Trigger", "run-trigger");
        cw_html_text(b, cw_trigger_to_string(run->trigger));
        if (run->resumed_from)
                cw_html_printf(b, " (resumes <a href=\"/runs/%lld\">#%lld</a>)",
                               (long long)run->resumed_from, (long long)run->resumed_from);
        cw_html_raw(b, "</dd>");
        field(b, "Attempt", "run-attempt");
        cw_html_printf(b, "%d</dd>", run->attempt);
        /* Only a schedule's fire has a scheduled instant (the API's
         * `scheduled_at` is null for every other trigger). */
        field(b, "Scheduled", "run-scheduled");
        if (run->trigger == CW_TRIGGER_SCHEDULE)
                cw_html_time(req, b, run->scheduled_at, false);
        else
                cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94 not a scheduled fire</span>");
        cw_html_raw(b, "</dd>");
        field(b, "Started", "run-started");
        cw_html_time(req, b, run->started_us ? (cw_time)(run->started_us / 1000000) : 0, true);
        cw_html_raw(b, "</dd>");
        field(b, "Ended", "run-ended");
        cw_html_time(req, b, run->ended_us ? (cw_time)(run->ended_us / 1000000) : 0, true);
        cw_html_raw(b, "</dd>");
        field(b, "Duration", "run-duration");
        cw_page_duration(req, b, run);
        cw_html_raw(b, "</dd>");
        field(b, "Exit", "run-exit");
        if (run->signal)
                cw_html_printf(b, "signal %d (%s)", run->signal, strsignal(run->signal));
        else if (run->exit_code >= 0)
                cw_html_printf(b, "code %d", run->exit_code);
        else
                cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94</span>");
        cw_html_raw(b, "</dd>");
        field(b, "Node", "run-node");
        cw_html_text(b, run->node ? run->node : "");
        cw_html_raw(b, "</dd>");
        field(b, "PID", "run-pid");
        if (run->pid)
                cw_html_printf(b, "%d", run->pid);
        else
                cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94</span>");
        cw_html_raw(b, "</dd>");
        if (run->reason) {
                field(b, "Reason", "run-reason");
                cw_html_text(b, run->reason);
                cw_html_raw(b, "</dd>");
        }
        if (run->resume != CW_RESUME_NONE) {
                field(b, "Resume", "run-resume");
                cw_html_text(b, cw_resume_state_to_string(run->resume));
                cw_html_raw(b, "</dd>");
        }
        cw_html_raw(b, "</dl></section>\n");

        cw_html_raw(b,
                    "<section class=\"card\" id=\"output\"><div class=\"card-head\"><h2>Output</h2>"
                    "<div class=\"actions\">");
        cw_html_printf(b, "<span class=\"small muted\" id=\"output-size\">%llu bytes%s</span>",
                       (unsigned long long)ro.size,
                       ro.truncated ? ", middle cut (head and tail kept)" : "");
        cw_html_printf(
                b,
                "<a class=\"btn btn-sm\" id=\"output-download\" href=\"/runs/%lld/output.txt\" download>"
                "Download</a></div></div>",
                (long long)id);
        /* data-output-size: the bytes the job had written when this text
         * was stored (it may be less than shown: head + marker + tail). */
        cw_html_printf(
                b,
                "<pre class=\"output\" id=\"run-output\" tabindex=\"0\" data-output-size=\"%llu\">",
                (unsigned long long)ro.size);
        if (ro.len)
                cw_html_text_n(b, ro.data, ro.len);
        cw_html_raw(b, "</pre>");
        if (!ro.len) {
                cw_html_raw(b, "<p class=\"muted small\" id=\"output-empty\"");
                if (active)
                        cw_html_raw(
                                b,
                                " data-active=\"1\">No output yet: it appears here while the job runs.</p>");
                else
                        cw_html_raw(b, ">No output.</p>");
        }
        cw_html_raw(b, "</section>\n");
        cw_html_page_end(req, b);
        cw_run_output_release(&ro);
        cw_model_run_release(&m);
        return cw_page_done(resp);
}

int cw_page_run_output(const cw_http_req *req, cw_http_resp *resp)
{
        cw_model_run m = {0};
        char disp[96];
        int64_t id;
        cw_error e;
        int r;

        if (parse_run_id(req, resp, &id) < 0)
                return 0;
        cw_error_clear(&e);
        r = cw_model_run_get(req->cfg, req->store, id, true, &m, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        resp->status = 200;
        resp->content_type = "text/plain; charset=utf-8";
        snprintf(disp, sizeof(disp), "attachment; filename=\"run-%lld.txt\"", (long long)id);
        resp->disposition = strdup(disp);
        if (m.output_len)
                cw_buf_add(&resp->body, m.output, m.output_len);
        cw_model_run_release(&m);
        if (!resp->disposition)
                return -ENOMEM;
        return cw_buf_error(&resp->body);
}

int cw_page_run_kill(const cw_http_req *req, cw_http_resp *resp)
{
        char fallback[64], msg[400];
        const char *back;
        cw_run_status st = CW_RUN_KILLED;
        int64_t id;
        cw_error e;
        int r;

        if (parse_run_id(req, resp, &id) < 0)
                return 0;
        snprintf(fallback, sizeof(fallback), "/runs/%lld", (long long)id);
        back = cw_page_back(req, fallback);
        cw_error_clear(&e);
        r = cw_action_kill(req, id, &st, &e);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "cannot kill run #%lld: %s", (long long)id,
                         e.msg[0] ? e.msg : strerror(-r));
                return cw_page_redirect(resp, back, "err", msg);
        }
        snprintf(msg, sizeof(msg), "Run #%lld stopped: %s.", (long long)id,
                 cw_html_status_label(cw_run_status_to_string(st)));
        return cw_page_redirect(resp, back, "msg", msg);
}

/* ---- from a request to its run ---------------------------------------------- */

/* Whether request id is still waiting for the scheduler. */
static int request_pending(const cw_http_req *req, int64_t id, bool *ret)
{
        cw_request *reqs = NULL;
        size_t n = 0;
        int r = cw_store_requests_pending(req->store, 0, &reqs, &n);

        if (r < 0)
                return r;
        *ret = false;
        for (size_t i = 0; i < n; i++)
                *ret |= reqs[i].id == id;
        cw_requests_free(reqs, n);
        return 0;
}

/* The run the scheduler started for a request of spec made at `at`
 * (seconds): the oldest run of the job triggered by a request, with that
 * spec, recorded since then. Runs do not name their request: two equal
 * requests in the same second lead to the first of their runs. 0 when
 * there is none (yet). */
static int64_t request_run(const cw_http_req *req, const char *spec, int64_t at)
{
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;
        int64_t found = 0;
        cw_error e;

        if (cw_jobspec_parse(spec, &js, &e) < 0)
                return 0;
        f.job = js->name;
        f.limit = 200;
        if (cw_store_runs_list(req->store, &f, &runs, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++) /* newest first: the last match is the oldest */
                if (runs[i].trigger == CW_TRIGGER_REQUEST && runs[i].spec &&
                    strcmp(runs[i].spec, spec) == 0 && runs[i].scheduled_at >= at)
                        found = runs[i].id;
        cw_runs_free(runs, n);
        return found;
}

int cw_page_request(const cw_http_req *req, cw_http_resp *resp)
{
        const char *spec = cw_http_query(req, "spec"), *at_text = cw_http_query(req, "at");
        cw_buf *b = &resp->body;
        int64_t id, at = 0, run;
        bool pending = false;
        char url[64];
        cw_error e;
        int r;

        cw_error_clear(&e);
        if (cw_model_parse_id(req->args[0], &id, &e) < 0) {
                cw_http_page_error(req, resp, 404, "no such request");
                return 0;
        }
        if (at_text)
                at = strtoll(at_text, NULL, 10);
        r = request_pending(req, id, &pending);
        if (r < 0)
                return cw_page_fail(req, resp, r, NULL);
        run = !pending && spec ? request_run(req, spec, at) : 0;
        if (run > 0) {
                snprintf(url, sizeof(url), "/runs/%lld", (long long)run);
                cw_http_redirect(resp, url);
                return 0;
        }
        cw_html_page_begin(req, b, "Request", CW_NAV_HISTORY,
                           pending ? "data-page=\"request\" data-live=\"request\""
                                   : "data-page=\"request\"");
        cw_html_printf(b,
                       "<div class=\"page-head\"><h1>Request #%lld</h1></div>"
                       "<section class=\"card\" id=\"request\" data-request=\"%lld\"><p>",
                       (long long)id, (long long)id);
        if (spec) {
                cw_html_raw(b, "Run of ");
                cw_html_code(b, spec, NULL);
                cw_html_raw(b, ": ");
        }
        if (pending)
                cw_html_raw(b, "<span id=\"request-state\">waiting for the scheduler to start it. "
                               "This page follows it to its run.</span>");
        else
                cw_html_raw(b,
                            "<span id=\"request-state\">taken by the scheduler, but no run of it "
                            "was found: the job may have left the config, or its run been pruned. "
                            "See <a href=\"/runs\">History</a>.</span>");
        cw_html_raw(b, "</p></section>\n");
        cw_html_page_end(req, b);
        return cw_page_done(resp);
}
