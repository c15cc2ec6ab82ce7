/* pages.c - the HTML pages' route table, the error and login pages, and
 * the pieces every page module uses (see pages.h). */
#include "http/pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"
#include "timespec/describe.h"

const cw_http_route cw_http_page_routes[] = {
        {CW_HTTP_GET, "/jobs", 0, cw_page_jobs},
        {CW_HTTP_GET, "/jobs/%", 0, cw_page_job},
        {CW_HTTP_POST, "/jobs/%/run", 0, cw_page_job_run},
        {CW_HTTP_POST, "/jobs/%/enable", 0, cw_page_job_enable},
        {CW_HTTP_POST, "/jobs/%/disable", 0, cw_page_job_disable},
        {CW_HTTP_GET, "/runs", 0, cw_page_runs},
        {CW_HTTP_GET, "/running", 0, cw_page_running},
        {CW_HTTP_GET, "/runs/%", 0, cw_page_run},
        {CW_HTTP_GET, "/runs/%/output.txt", 0, cw_page_run_output},
        {CW_HTTP_POST, "/runs/%/kill", 0, cw_page_run_kill},
        {CW_HTTP_GET, "/requests/%", 0, cw_page_request},
        {CW_HTTP_GET, "/scheduler", 0, cw_page_scheduler},
        {CW_HTTP_GET, "/notifications", 0, cw_page_notifications},
        {CW_HTTP_GET, "/nodes", 0, cw_page_nodes},
        {CW_HTTP_POST, "/scheduler", 0, cw_page_scheduler_set},
        {CW_HTTP_GET, "/entries", 0, cw_page_entries},
        {CW_HTTP_POST, "/entries", 0, cw_page_entry_create},
        {CW_HTTP_GET, "/entries/new", 0, cw_page_entry_new},
        {CW_HTTP_GET, "/entries/%/edit", 0, cw_page_entry_edit},
        {CW_HTTP_POST, "/entries/%", 0, cw_page_entry_update},
        {CW_HTTP_POST, "/entries/%/delete", 0, cw_page_entry_delete},
        {0},
};

static const char *status_text(int status)
{
        switch (status) {
        case 400:
                return "Bad request";
        case 401:
                return "Not signed in";
        case 403:
                return "Forbidden";
        case 404:
                return "Not found";
        case 405:
                return "Method not allowed";
        case 409:
                return "Conflict";
        case 413:
                return "Request too large";
        case 422:
                return "Invalid input";
        case 429:
                return "Too many requests";
        case 500:
                return "Internal error";
        case 503:
                return "Unavailable";
        case 504:
                return "Timed out";
        default:
                return status >= 500 ? "Server error" : "Error";
        }
}

void cw_http_page_error(const cw_http_req *req, cw_http_resp *resp, int status, const char *message)
{
        char title[64];

        resp->status = status;
        resp->content_type = "text/html; charset=utf-8";
        cw_buf_reset(&resp->body);
        snprintf(title, sizeof(title), "%d %s", status, status_text(status));
        cw_html_page_begin(req, &resp->body, title, CW_NAV_NONE, "data-page=\"error\"");
        cw_html_printf(
                &resp->body,
                "<section class=\"error-page\" id=\"error\" data-status=\"%d\">"
                "<div class=\"error-code\">%d</div><h1>%s</h1><p class=\"error-message\">%s</p>"
                "<p><a class=\"btn\" href=\"/jobs\">Back to jobs</a></p></section>\n",
                status, status, status_text(status), message ? message : "");
        cw_html_page_end(req, &resp->body);
}

/* Longest user name the login form shows again after a failed attempt. */
#define LOGIN_USER_KEEP_MAX 256

void cw_http_page_login(const cw_http_req *req, cw_http_resp *resp, const char *error,
                        const char *next)
{
        cw_buf *b = &resp->body;
        /* After a failed POST the form comes back with the user name that
         * was typed (escaped, like everything else), never the password. */
        const char *user = req->method == CW_HTTP_POST ? cw_http_form(req, "user") : NULL;

        if (user && strlen(user) > LOGIN_USER_KEEP_MAX)
                user = NULL;

        resp->content_type = "text/html; charset=utf-8";
        cw_html_page_begin(req, b, "Sign in", CW_NAV_NONE, "data-page=\"login\"");
        cw_html_raw(b, "<section class=\"login\"><div class=\"card login-card\">"
                       "<h1>Sign in</h1><p class=\"muted\">to the cronwarden admin</p>");
        if (error)
                cw_html_printf(
                        b,
                        "<div class=\"flash flash-err\" id=\"login-error\" role=\"alert\">%s</div>",
                        error);
        cw_html_raw(b,
                    "<form method=\"post\" action=\"/login\" id=\"login-form\" class=\"stack\">");
        /* auth.c sets req->csrf to the login token of its cw_login cookie. */
        cw_html_csrf(req, b);
        if (next)
                cw_html_printf(b, "<input type=\"hidden\" name=\"next\" value=\"%s\">", next);
        /* With the user name kept, the cursor goes to the password. */
        cw_html_printf(b,
                       "<label class=\"field\"><span>User</span>"
                       "<input name=\"user\" id=\"login-user\" autocomplete=\"username\" required "
                       "autocapitalize=\"none\" spellcheck=\"false\" value=\"%s\"%s></label>",
                       user ? user : "", user && *user ? "" : " autofocus");
        cw_html_printf(b,
                       "<label class=\"field\"><span>Password</span>"
                       "<input name=\"password\" id=\"login-password\" type=\"password\" "
                       "autocomplete=\"current-password\" required%s></label>",
                       user && *user ? " autofocus" : "");
        cw_html_raw(
                b,
                "<button type=\"submit\" class=\"btn btn-primary btn-block\" id=\"login-submit\">Sign in"
                "</button></form></div></section>\n");
        cw_html_page_end(req, b);
}

/* ---- shared helpers ---- */

int cw_page_fail(const cw_http_req *req, cw_http_resp *resp, int r, const cw_error *err)
{
        const char *msg = err && err->msg[0] ? err->msg : NULL;

        if (r == -ENOENT) {
                cw_http_page_error(req, resp, 404, msg ? msg : "There is nothing here.");
                return 0;
        }
        if (r == -EINVAL) {
                cw_http_page_error(req, resp, 400, msg ? msg : "The request is not valid.");
                return 0;
        }
        return r;
}

int cw_page_done(cw_http_resp *resp)
{
        int r = cw_buf_error(&resp->body);

        if (r < 0)
                return r;
        if (!resp->status)
                resp->status = 200;
        if (!resp->content_type)
                resp->content_type = "text/html; charset=utf-8";
        return 0;
}

int cw_page_redirect(cw_http_resp *resp, const char *path, const char *kind, const char *message)
{
        _cleanup_free_ char *url = message ? cw_html_flash_url(path, kind, message) : strdup(path);

        if (!url)
                return -ENOMEM;
        cw_http_redirect(resp, url);
        return 0;
}

const char *cw_page_back(const cw_http_req *req, const char *fallback)
{
        const char *back = cw_http_form(req, "back");

        return back && cw_http_local_path(back) ? back : fallback;
}

void cw_page_job_link(cw_buf *b, const char *name)
{
        _cleanup_free_ char *u = cw_html_urlenc_dup(name);

        cw_html_printf(b, "<a class=\"job-link\" href=\"/jobs/%s\">%s</a>", u, name);
}

void cw_page_schedule(cw_buf *b, const char *when, const char *seed, const char *zone)
{
        cw_timespec *ts = NULL;
        cw_error e;

        cw_html_raw(b, "<span class=\"sched\"><span class=\"sched-words\">");
        if (cw_timespec_parse(when, seed, &ts, &e) == 0) {
                cw_buf words = CW_BUF_INIT(4096);
                cw_timespec_describe(ts, &words);
                if (words.p) {
                        /* Capitalised: it starts a line of its own. */
                        char first = words.p[0];
                        if (first >= 'a' && first <= 'z')
                                words.p[0] = (char)(first - 'a' + 'A');
                        cw_html_text(b, words.p);
                }
                cw_buf_release(&words);
                cw_timespec_free(ts);
        } else {
                cw_html_printf(b, "<span class=\"text-err\">invalid: %s</span>", e.msg);
        }
        cw_html_raw(b, "</span> ");
        cw_html_code(b, when, "sched-spec");
        if (zone)
                cw_html_printf(b, " <span class=\"zone\">%s</span>", zone);
        cw_html_raw(b, "</span>");
}

void cw_page_duration(const cw_http_req *req, cw_buf *b, const cw_run *r)
{
        char d[48];
        double secs = cw_model_run_duration(r, req->now_us);

        if (r->started_us == 0) {
                cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94</span>");
                return;
        }
        cw_html_format_duration(secs, d, sizeof(d));
        if (r->ended_us == 0)
                cw_html_printf(b, "<span class=\"dur\" data-started=\"%.3f\">%s</span>",
                               r->started_us / 1e6, d);
        else
                cw_html_printf(b, "<span class=\"dur\">%s</span>", d);
}

void cw_page_kill_form(const cw_http_req *req, cw_buf *b, int64_t id, const char *back, bool small)
{
        cw_html_printf(b, "<form method=\"post\" action=\"/runs/%lld/kill\" class=\"inline\">",
                       (long long)id);
        cw_html_csrf(req, b);
        if (back)
                cw_html_printf(b, "<input type=\"hidden\" name=\"back\" value=\"%s\">", back);
        cw_html_printf(
                b,
                "<button type=\"submit\" class=\"btn btn-danger%s js-confirm\" data-kill=\"%lld\" "
                "data-confirm=\"Kill run #%lld? Its process group gets SIGTERM, then SIGKILL.\">Kill</button>"
                "</form>",
                small ? " btn-sm" : "", (long long)id, (long long)id);
}

void cw_page_runs_table(const cw_http_req *req, cw_buf *b, const cw_run *runs, size_t n,
                        bool show_job, bool with_kill)
{
        if (n == 0) {
                cw_html_raw(b, "<div class=\"empty\" id=\"runs-empty\">No runs to show.</div>");
                return;
        }
        cw_html_raw(
                b,
                "<div class=\"table-wrap\"><table class=\"table runs-table\" id=\"runs-table\"><thead><tr>"
                "<th>Run</th>");
        if (show_job)
                cw_html_raw(b, "<th>Job</th>");
        cw_html_raw(
                b, "<th>Status</th><th>Trigger</th><th>Started</th><th>Duration</th><th>Result</th>"
                   "<th>Node</th>");
        if (with_kill)
                cw_html_raw(b, "<th></th>");
        cw_html_raw(b, "</tr></thead><tbody>");
        for (size_t i = 0; i < n; i++) {
                const cw_run *r = &runs[i];
                bool active = !cw_run_status_is_final(r->status);
                cw_html_printf(
                        b,
                        "<tr data-run=\"%lld\" data-run-status=\"%s\" data-job=\"%s\">"
                        "<td data-label=\"Run\"><a class=\"run-link mono\" href=\"/runs/%lld\">#%lld</a></td>",
                        (long long)r->id, cw_run_status_to_string(r->status), r->job,
                        (long long)r->id, (long long)r->id);
                if (show_job) {
                        cw_html_raw(b, "<td data-label=\"Job\">");
                        cw_page_job_link(b, r->job);
                        if (r->spec && strcmp(r->spec, r->job) != 0 && strchr(r->spec, ':')) {
                                cw_html_raw(b, " ");
                                cw_html_code(b, strchr(r->spec, ':') + 1, "params");
                        }
                        cw_html_raw(b, "</td>");
                }
                cw_html_raw(b, "<td data-label=\"Status\" class=\"cell-status\">");
                cw_html_badge(b, r->status);
                if (r->attempt > 1)
                        cw_html_printf(b, " <span class=\"muted small\">attempt %d</span>",
                                       r->attempt);
                cw_html_printf(
                        b,
                        "</td><td data-label=\"Trigger\"><span class=\"trigger\">%s</span></td>"
                        "<td data-label=\"Started\">",
                        cw_trigger_to_string(r->trigger));
                cw_html_time(req, b,
                             r->started_us ? (cw_time)(r->started_us / 1000000) : r->scheduled_at,
                             true);
                cw_html_raw(b, "</td><td data-label=\"Duration\" class=\"cell-duration\">");
                cw_page_duration(req, b, r);
                cw_html_raw(b, "</td><td data-label=\"Result\" class=\"cell-result\">");
                if (active) {
                        cw_html_progress(b, cw_model_run_percent(r), r->progress_done,
                                         r->progress_total);
                } else if (r->signal) {
                        cw_html_printf(b, "<span class=\"mono\">signal %d</span>", r->signal);
                } else if (r->exit_code >= 0) {
                        cw_html_printf(b, "<span class=\"mono\">exit %d</span>", r->exit_code);
                } else if (r->reason) {
                        cw_html_printf(b, "<span class=\"muted small reason\">%s</span>",
                                       r->reason);
                }
                cw_html_printf(b, "</td><td data-label=\"Node\" class=\"muted\">%s</td>",
                               r->node ? r->node : "");
                if (with_kill) {
                        cw_html_raw(b, "<td class=\"cell-actions\">");
                        if (r->status == CW_RUN_RUNNING)
                                cw_page_kill_form(req, b, r->id, req->path, true);
                        cw_html_raw(b, "</td>");
                }
                cw_html_raw(b, "</tr>\n");
        }
        cw_html_raw(b, "</tbody></table></div>");
}

void cw_page_run_now(const cw_http_req *req, cw_buf *b, const cw_job *job, const char *back,
                     bool open)
{
        _cleanup_free_ char *u = cw_html_urlenc_dup(job->name);
        bool params = job->args.n > 0 || job->options.n > 0;

        if (!params) {
                cw_html_printf(b, "<form method=\"post\" action=\"/jobs/%s/run\" class=\"inline\">",
                               u);
                cw_html_csrf(req, b);
                if (back)
                        cw_html_printf(b, "<input type=\"hidden\" name=\"back\" value=\"%s\">",
                                       back);
                cw_html_printf(
                        b,
                        "<button type=\"submit\" class=\"btn btn-sm btn-run\" data-run-now=\"%s\">"
                        "\xe2\x96\xb6 Run now</button></form>",
                        job->name);
                return;
        }
        cw_html_printf(b,
                       "<details class=\"run-params\"%s><summary class=\"btn btn-sm btn-run\" "
                       "data-run-now=\"%s\">\xe2\x96\xb6 Run now\xe2\x80\xa6</summary>"
                       "<form method=\"post\" action=\"/jobs/%s/run\" class=\"params-form stack\">",
                       open ? " open" : "", job->name, u);
        cw_html_csrf(req, b);
        if (back)
                cw_html_printf(b, "<input type=\"hidden\" name=\"back\" value=\"%s\">", back);
        for (size_t i = 0; i < job->args.n; i++)
                cw_html_printf(
                        b,
                        "<label class=\"field\"><span>%s <em class=\"muted\">required</em></span>"
                        "<input name=\"arg_%zu\" required data-param=\"%s\"></label>",
                        job->args.v[i], i, job->args.v[i]);
        for (size_t i = 0; i < job->options.n; i++)
                cw_html_printf(
                        b,
                        "<label class=\"field\"><span>%s <em class=\"muted\">optional</em></span>"
                        "<input name=\"opt_%s\" data-param=\"%s\"></label>",
                        job->options.v[i], job->options.v[i], job->options.v[i]);
        cw_html_raw(
                b,
                "<button type=\"submit\" class=\"btn btn-primary btn-sm\">Queue run</button></form></details>");
}

void cw_page_enable_switch(const cw_http_req *req, cw_buf *b, const cw_model_job *mj,
                           const char *back)
{
        _cleanup_free_ char *u = cw_html_urlenc_dup(mj->job->name);

        if (!mj->enabled_config) {
                cw_html_raw(
                        b,
                        "<span class=\"switch off locked\" title=\"enabled = no in the config file\" "
                        "data-enabled=\"0\"><span class=\"knob\"></span></span>"
                        "<span class=\"muted small switch-note\">off in config</span>");
                return;
        }
        cw_html_printf(b, "<form method=\"post\" action=\"/jobs/%s/%s\" class=\"inline\">", u,
                       mj->enabled ? "disable" : "enable");
        cw_html_csrf(req, b);
        if (back)
                cw_html_printf(b, "<input type=\"hidden\" name=\"back\" value=\"%s\">", back);
        cw_html_printf(
                b,
                "<button type=\"submit\" class=\"switch %s\" role=\"switch\" aria-checked=\"%s\" "
                "data-enabled=\"%d\" data-toggle-job=\"%s\" title=\"%s %s\"><span class=\"knob\"></span>"
                "<span class=\"sr-only\">%s</span></button></form>",
                mj->enabled ? "on" : "off", mj->enabled ? "true" : "false", mj->enabled ? 1 : 0,
                mj->job->name, mj->enabled ? "Disable" : "Enable", mj->job->name,
                mj->enabled ? "Enabled" : "Disabled");
}
