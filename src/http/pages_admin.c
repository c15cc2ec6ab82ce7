/* pages_admin.c - the scheduler switch (/scheduler) and the UI-created
 * schedule entries (/entries, chroniker-style create, edit, delete; see
 * pages.h). A rejected entry form is shown again with the message and
 * what the user typed (escaped), status 422. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/diff.h"
#include "http/actions.h"
#include "http/pages.h"
#include "sched/drain.h"

/* The config the daemon runs: its version and the last load's diff
 * (config/diff.h), as the daemon recorded them in the store. */
static void config_section(const cw_http_req *req, cw_buf *b)
{
        _cleanup_free_ char *version = NULL, *at = NULL, *diff = NULL;

        if (cw_store_state_get(req->store, CW_STATE_CONFIG_VERSION, &version) < 0)
                return;
        (void)cw_store_state_get(req->store, CW_STATE_CONFIG_LOADED_AT, &at);
        (void)cw_store_state_get(req->store, CW_STATE_CONFIG_DIFF, &diff);
        cw_html_printf(
                b,
                "<section class=\"card\" id=\"config-version\"><h2>Config</h2><dl class=\"kv\">"
                "<dt>Version</dt><dd class=\"mono\" id=\"config-version-id\">%s</dd><dt>Loaded</dt><dd>",
                version);
        cw_html_time(req, b, at ? (cw_time)strtoll(at, NULL, 10) : 0, true);
        cw_html_raw(b, "</dd></dl><h3>Changes at that load</h3>");
        if (!diff || !*diff)
                cw_html_raw(
                        b,
                        "<p class=\"muted\" id=\"config-diff-empty\">None (or the daemon's first start).</p>");
        else
                cw_html_printf(b, "<pre class=\"config-diff\" id=\"config-diff\">%s</pre>", diff);
        cw_html_raw(b, "</section>\n");
}

/* While `cronwarden drain` runs: a banner, and the runs it waits for. */
static void drain_banner(const cw_http_req *req, cw_buf *b)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        cw_time since = 0;
        size_t n = 0;

        if (cw_sched_drain_get(req->store, &since) < 0 || since == 0)
                return;
        f.active = true;
        f.limit = 100;
        (void)cw_store_runs_list(req->store, &f, &runs, &n);
        cw_html_raw(
                b,
                "<div class=\"banner banner-warn\" id=\"draining\"><strong>The scheduler is draining</strong>"
                "<span>since ");
        cw_html_time(req, b, since, true);
        cw_html_printf(
                b,
                ": nothing new starts (a deploy is under way; 'cronwarden undrain' ends it). Waiting for "
                "%zu run%s%s</span>",
                n, n == 1 ? "" : "s", n ? ":" : ".");
        for (size_t i = 0; i < n; i++) {
                cw_html_printf(
                        b,
                        "<a class=\"run-link mono\" data-draining-run=\"%lld\" href=\"/runs/%lld\">#%lld</a> ",
                        (long long)runs[i].id, (long long)runs[i].id, (long long)runs[i].id);
                cw_html_code(b, runs[i].spec, NULL);
        }
        cw_html_raw(b, "</div>\n");
        cw_runs_free(runs, n);
}

int cw_page_scheduler(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        cw_model_scheduler m = {0};
        cw_error e;
        int r;

        cw_error_clear(&e);
        r = cw_model_scheduler_get(req->cfg, req->store, &m, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        cw_html_page_begin(req, b, "Scheduler", CW_NAV_SCHEDULER, "data-page=\"scheduler\"");
        cw_html_raw(b, "<div class=\"page-head\"><h1>Scheduler</h1></div>");
        drain_banner(req, b);
        cw_html_printf(
                b,
                "<section class=\"card sched-card %s\" id=\"scheduler\" data-scheduler-enabled=\"%d\">"
                "<div class=\"sched-state\"><span class=\"dot\"></span><div><h2>The scheduler is "
                "<span id=\"scheduler-state\">%s</span></h2><p class=\"muted\">%s</p></div></div>"
                "<form method=\"post\" action=\"/scheduler\" class=\"inline\">",
                m.enabled ? "is-on" : "is-off", m.enabled ? 1 : 0, m.enabled ? "on" : "off",
                m.enabled
                        ? "Jobs start on schedule. Turning it off records their fires as skipped until it "
                          "is on again; running jobs are not stopped."
                        : "Nothing starts on schedule: fires are recorded as skipped. Runs requested with "
                          "Run now are skipped too.");
        cw_html_csrf(req, b);
        cw_html_printf(
                b,
                "<input type=\"hidden\" name=\"enabled\" value=\"%s\"><button type=\"submit\" "
                "class=\"btn %s js-confirm\" id=\"scheduler-toggle\" data-confirm=\"%s\">%s</button></form>"
                "</section>\n",
                m.enabled ? "off" : "on", m.enabled ? "btn-danger" : "btn-primary",
                m.enabled ? "Turn the scheduler off? Nothing will start on schedule."
                          : "Turn the scheduler on?",
                m.enabled ? "Turn off" : "Turn on");
        cw_html_raw(
                b,
                "<section class=\"card\"><dl class=\"kv kv-cols\"><dt>Last pass</dt><dd id=\"last-pass\">");
        cw_html_time(req, b, m.last_pass, true);
        cw_html_printf(
                b,
                "</dd><dt>Node</dt><dd>%s</dd><dt>Running now</dt><dd><a href=\"/running\" "
                "id=\"sched-running\">%zu</a></dd><dt>Jobs configured</dt><dd>%zu</dd><dt>Config</dt><dd>",
                m.node ? m.node : "", m.n_running, req->cfg->n_jobs);
        cw_html_code(b, req->cfg->path ? req->cfg->path : "", NULL);
        cw_html_raw(
                b,
                "</dd><dt>Notifications</dt><dd><a href=\"/notifications\" id=\"sched-notifications\">"
                "sent, pending, failed</a></dd><dt>Nodes</dt><dd><a href=\"/nodes\" "
                "id=\"sched-nodes\">the cluster's nodes</a></dd></dl></section>\n");
        cw_html_printf(
                b,
                "<section class=\"card\" id=\"requests\"><h2>Requested runs <span class=\"count-pill\">%zu"
                "</span></h2>",
                m.n_pending);
        if (m.n_pending == 0) {
                cw_html_raw(
                        b,
                        "<p class=\"muted\" id=\"requests-empty\">No requests waiting: the queue is empty.</p>");
        } else {
                cw_html_raw(
                        b,
                        "<div class=\"table-wrap\"><table class=\"table\" id=\"requests-table\"><thead><tr>"
                        "<th>#</th><th>Job spec</th><th>By</th><th>Requested</th></tr></thead><tbody>");
                for (size_t i = 0; i < m.n_pending; i++) {
                        const cw_request *q = &m.pending[i];
                        cw_html_printf(
                                b,
                                "<tr data-request=\"%lld\"><td data-label=\"#\" class=\"mono\">%lld</td>"
                                "<td data-label=\"Job spec\">",
                                (long long)q->id, (long long)q->id);
                        cw_html_code(b, q->spec, NULL);
                        cw_html_printf(
                                b,
                                "</td><td data-label=\"By\">%s</td><td data-label=\"Requested\">",
                                q->by ? q->by : "");
                        cw_html_time(req, b, (cw_time)(q->requested_us / 1000000), true);
                        cw_html_raw(b, "</td></tr>");
                }
                cw_html_raw(b, "</tbody></table></div>");
        }
        cw_html_raw(b, "</section>\n");
        config_section(req, b);
        cw_html_page_end(req, b);
        cw_model_scheduler_release(&m);
        return cw_page_done(resp);
}

int cw_page_scheduler_set(const cw_http_req *req, cw_http_resp *resp)
{
        const char *v = cw_http_form(req, "enabled");
        bool on;
        cw_error e;
        int r;

        if (!v || (strcmp(v, "on") != 0 && strcmp(v, "off") != 0))
                return cw_page_redirect(resp, "/scheduler", "err",
                                        "enabled: expected 'on' or 'off'");
        on = strcmp(v, "on") == 0;
        cw_error_clear(&e);
        r = cw_action_scheduler_enable(req, on, &e);
        if (r < 0) {
                char msg[400];
                snprintf(msg, sizeof(msg), "cannot turn the scheduler %s: %s", v,
                         e.msg[0] ? e.msg : strerror(-r));
                return cw_page_redirect(resp, "/scheduler", "err", msg);
        }
        return cw_page_redirect(
                resp, "/scheduler", "msg",
                on ? "The scheduler is on: jobs start on schedule again."
                   : "The scheduler is off: nothing starts on schedule until it is on again.");
}

/* ---- UI entries ---- */

int cw_page_entries(const cw_http_req *req, cw_http_resp *resp)
{
        cw_buf *b = &resp->body;
        cw_model_ui_entries m = {0};
        cw_error e;
        int r;

        cw_error_clear(&e);
        r = cw_model_ui_entries_list(req->cfg, req->store, req->now_us, &m, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        cw_html_page_begin(req, b, "UI entries", CW_NAV_ENTRIES, "data-page=\"entries\"");
        cw_html_raw(
                b,
                "<div class=\"page-head\"><div><h1>UI entries</h1><p class=\"lead\">Schedule entries created "
                "here rather than in the config file. They are kept in the store and fire like "
                "<code>[schedule]</code> lines.</p></div><div class=\"actions\"><a class=\"btn btn-primary\" "
                "id=\"entry-new\" href=\"/entries/new\">+ New entry</a></div></div>\n");
        if (m.n == 0) {
                cw_html_raw(b, "<div class=\"empty\" id=\"entries-empty\">No entries yet. "
                               "<a href=\"/entries/new\">Create the first one</a>.</div>");
        } else {
                cw_html_raw(
                        b,
                        "<div class=\"table-wrap\"><table class=\"table entries-table\" id=\"entries-table\">"
                        "<thead><tr><th>#</th><th>Schedule</th><th>Runs</th><th>Next run</th><th>Created</th>"
                        "<th>Enabled</th><th></th></tr></thead><tbody>");
        }
        for (size_t i = 0; i < m.n; i++) {
                const cw_model_ui_entry *me = &m.entries[i];
                const cw_ui_entry *en = &me->e;
                cw_html_printf(
                        b,
                        "<tr data-entry=\"%lld\" data-valid=\"%d\" class=\"%s\"><td data-label=\"#\" "
                        "class=\"mono\">%lld</td><td data-label=\"Schedule\">",
                        (long long)en->id, me->valid ? 1 : 0, en->enabled ? "" : "is-disabled",
                        (long long)en->id);
                cw_page_schedule(b, en->schedule, en->spec ? en->spec : en->command, me->zone);
                if (en->description && *en->description)
                        cw_html_printf(b, "<div class=\"desc\">%s</div>", en->description);
                cw_html_raw(b, "</td><td data-label=\"Runs\">");
                if (en->spec) {
                        const char *colon = strchr(en->spec, ':');
                        char name[CW_JOBSPEC_NAME_MAX + 1];
                        snprintf(name, sizeof(name), "%.*s",
                                 colon ? (int)(colon - en->spec) : (int)strlen(en->spec), en->spec);
                        cw_page_job_link(b, name);
                        if (colon) {
                                cw_html_raw(b, " ");
                                cw_html_code(b, colon + 1, "params");
                        }
                } else {
                        /* It runs as a job of its own, ui-ID (catalog/catalog.h). */
                        cw_html_raw(b, "<span class=\"tag tag-warn\">command</span> ");
                        cw_html_code(b, en->command ? en->command : "", NULL);
                        cw_html_raw(b, " as job ");
                        cw_page_job_link(b, me->job);
                }
                if (!me->valid)
                        cw_html_printf(b, "<div class=\"text-err small\">not valid: %s</div>",
                                       me->error ? me->error : "");
                cw_html_raw(b, "</td><td data-label=\"Next run\">");
                if (me->valid && en->enabled && me->next)
                        cw_html_time(req, b, me->next, true);
                else
                        cw_html_raw(b, "<span class=\"muted\">\xe2\x80\x94</span>");
                cw_html_raw(
                        b,
                        "</td><td data-label=\"Created\"><span class=\"tag tag-ui\">created in the UI</span> ");
                cw_html_printf(b, "<span class=\"small\">by %s</span> <span class=\"small muted\">",
                               en->created_by ? en->created_by : "unknown");
                cw_html_time(req, b, (cw_time)(en->created_us / 1000000), true);
                cw_html_printf(
                        b,
                        "</span></td><td data-label=\"Enabled\"><span class=\"pill %s\">%s</span></td>",
                        en->enabled ? "pill-on" : "pill-off", en->enabled ? "yes" : "no");
                cw_html_printf(
                        b,
                        "<td class=\"cell-actions\"><a class=\"btn btn-sm\" href=\"/entries/%lld/edit\" "
                        "data-edit-entry=\"%lld\">Edit</a> <form method=\"post\" "
                        "action=\"/entries/%lld/delete\" class=\"inline\">",
                        (long long)en->id, (long long)en->id, (long long)en->id);
                cw_html_csrf(req, b);
                cw_html_printf(
                        b,
                        "<button type=\"submit\" class=\"btn btn-sm btn-danger js-confirm\" "
                        "data-delete-entry=\"%lld\" data-confirm=\"Delete entry #%lld?\">Delete</button>"
                        "</form></td></tr>\n",
                        (long long)en->id, (long long)en->id);
        }
        if (m.n)
                cw_html_raw(b, "</tbody></table></div>");
        cw_html_page_end(req, b);
        cw_model_ui_entries_release(&m);
        return cw_page_done(resp);
}

/* What the form shows: the stored entry, or what the user typed. */
typedef struct entry_values {
        const char *schedule, *spec, *command, *description;
        bool enabled;
        bool use_command;
} entry_values;

/* The field an error is about, when it says so ("schedule: bad minute
 * field", see cw_action_entry_*), else NULL. */
static const char *error_field(const char *error)
{
        static const char *const fields[] = {"schedule", "spec", "command", "description"};

        for (size_t i = 0; error && i < sizeof(fields) / sizeof(fields[0]); i++) {
                size_t n = strlen(fields[i]);
                if (strncmp(error, fields[i], n) == 0 && error[n] == ':')
                        return fields[i];
        }
        return NULL;
}

/* Marks the input the error is about (a red border in app.css, and read
 * out with the error by screen readers). */
static void invalid_attrs(cw_buf *b, const char *bad, const char *field)
{
        if (bad && strcmp(bad, field) == 0)
                cw_html_raw(b, " aria-invalid=\"true\" aria-describedby=\"form-error\"");
}

static void entry_form(const cw_http_req *req, cw_http_resp *resp, int64_t id,
                       const entry_values *v, const char *error)
{
        cw_buf *b = &resp->body;
        bool cmds = req->cfg->allow_ui_commands;
        const char *bad = error_field(error);
        char title[64];

        if (id)
                snprintf(title, sizeof(title), "Edit entry #%lld", (long long)id);
        else
                snprintf(title, sizeof(title), "New entry");
        cw_html_page_begin(req, b, title, CW_NAV_ENTRIES, "data-page=\"entry-form\"");
        cw_html_printf(
                b,
                "<nav class=\"crumbs\"><a href=\"/entries\">UI entries</a> \xe2\x80\xba</nav>"
                "<div class=\"page-head\"><h1>%s</h1></div>",
                title);
        if (id)
                cw_html_printf(
                        b,
                        "<form method=\"post\" action=\"/entries/%lld\" class=\"card form stack\" "
                        "id=\"entry-form\">",
                        (long long)id);
        else
                cw_html_raw(
                        b,
                        "<form method=\"post\" action=\"/entries\" class=\"card form stack\" id=\"entry-form\">");
        /* Inside the card: as wide as the form, above the fields. */
        if (error)
                cw_html_printf(
                        b,
                        "<div class=\"flash flash-err form-error\" id=\"form-error\" role=\"alert\">%s</div>",
                        error);
        cw_html_csrf(req, b);
        cw_html_raw(
                b,
                "<label class=\"field\"><span>Schedule</span><input name=\"schedule\" id=\"entry-schedule\" "
                "required spellcheck=\"false\" placeholder=\"*/10 * * * *\"");
        invalid_attrs(b, bad, "schedule");
        cw_html_printf(
                b,
                " value=\"%s\"><small class=\"muted\">Cron (5 or 6 fields), <code>@daily</code>\xe2\x80\xa6, "
                "<code>every 90m</code> or <code>at 11:30, 14:00</code>; in the job's time zone.</small>"
                "</label>",
                v->schedule ? v->schedule : "");
        if (cmds)
                cw_html_printf(
                        b,
                        "<fieldset class=\"field\"><legend>Runs</legend><label class=\"radio\"><input "
                        "type=\"radio\" name=\"kind\" value=\"job\" id=\"entry-kind-job\"%s> a configured job"
                        "</label> <label class=\"radio\"><input type=\"radio\" name=\"kind\" value=\"command\" "
                        "id=\"entry-kind-command\"%s> a command line</label></fieldset>",
                        v->use_command ? "" : " checked", v->use_command ? " checked" : "");
        cw_html_raw(
                b,
                "<label class=\"field\"><span>Job spec</span><input name=\"spec\" id=\"entry-spec\" "
                "list=\"job-names\" spellcheck=\"false\" placeholder=\"Name or Name:arg,key=value\"");
        invalid_attrs(b, bad, "spec");
        cw_html_printf(
                b,
                " value=\"%s\"><small class=\"muted\">A configured job with its parameters, as in a "
                "<code>run =</code> line.</small></label><datalist id=\"job-names\">",
                v->spec ? v->spec : "");
        for (size_t i = 0; i < req->cfg->n_jobs; i++)
                cw_html_printf(b, "<option value=\"%s\">", req->cfg->jobs[i].name);
        cw_html_raw(b, "</datalist>");
        if (cmds) {
                cw_html_raw(
                        b,
                        "<label class=\"field\"><span>Command line</span><input name=\"command\" "
                        "id=\"entry-command\" spellcheck=\"false\" class=\"mono\"");
                invalid_attrs(b, bad, "command");
                cw_html_printf(
                        b,
                        " value=\"%s\"><small class=\"muted\">Allowed because <code>allow_ui_commands = yes"
                        "</code>; runs without a shell, split like a <code>command =</code> line (for a shell: "
                        "<code>sh -c '...'</code>), as a job of its own named <code>ui-ID</code> "
                        "with the config's <code>[defaults]</code>.</small></label>",
                        v->command ? v->command : "");
        }
        cw_html_raw(
                b,
                "<label class=\"field\"><span>Description <em class=\"muted\">optional</em></span>"
                "<input name=\"description\" id=\"entry-description\"");
        invalid_attrs(b, bad, "description");
        cw_html_printf(
                b,
                " value=\"%s\"></label>"
                "<label class=\"check\"><input type=\"checkbox\" name=\"enabled\" value=\"1\" "
                "id=\"entry-enabled\"%s> Enabled</label>"
                "<div class=\"form-actions\"><button type=\"submit\" class=\"btn btn-primary\" "
                "id=\"entry-save\">%s</button> <a class=\"btn btn-ghost\" href=\"/entries\">Cancel</a></div>"
                "</form>\n",
                v->description ? v->description : "", v->enabled ? " checked" : "",
                id ? "Save changes" : "Create entry");
        cw_html_page_end(req, b);
}

int cw_page_entry_new(const cw_http_req *req, cw_http_resp *resp)
{
        entry_values v = {.enabled = true};

        entry_form(req, resp, 0, &v, NULL);
        return cw_page_done(resp);
}

static int parse_entry_id(const cw_http_req *req, cw_http_resp *resp, int64_t *ret)
{
        cw_error e;

        cw_error_clear(&e);
        if (cw_model_parse_id(req->args[0], ret, &e) < 0) {
                cw_http_page_error(req, resp, 404, e.msg[0] ? e.msg : "no such entry");
                return -ENOENT;
        }
        return 0;
}

int cw_page_entry_edit(const cw_http_req *req, cw_http_resp *resp)
{
        cw_model_ui_entry me = {0};
        entry_values v;
        int64_t id;
        cw_error e;
        int r;

        if (parse_entry_id(req, resp, &id) < 0)
                return 0;
        cw_error_clear(&e);
        r = cw_model_ui_entry_get(req->cfg, req->store, req->now_us, id, &me, &e);
        if (r < 0)
                return cw_page_fail(req, resp, r, &e);
        v = (entry_values){
                .schedule = me.e.schedule,
                .spec = me.e.spec,
                .command = me.e.command,
                .description = me.e.description,
                .enabled = me.e.enabled,
                .use_command = me.e.command != NULL,
        };
        entry_form(req, resp, id, &v, me.valid ? NULL : me.error);
        cw_model_ui_entry_release(&me);
        return cw_page_done(resp);
}

/* The submitted form; with allow_ui_commands the `kind` radio picks
 * which of spec and command counts. */
static void read_entry(const cw_http_req *req, entry_values *v, cw_action_entry *in)
{
        const char *kind = cw_http_form(req, "kind");

        *v = (entry_values){
                .schedule = cw_http_form(req, "schedule"),
                .spec = cw_http_form(req, "spec"),
                .command = cw_http_form(req, "command"),
                .description = cw_http_form(req, "description"),
                .enabled = cw_http_form(req, "enabled") != NULL,
        };
        v->use_command = kind ? strcmp(kind, "command") == 0
                              : (v->command && *v->command && !(v->spec && *v->spec));
        *in = (cw_action_entry){
                .schedule = v->schedule ? v->schedule : "",
                .spec = v->use_command ? NULL : v->spec,
                .command = v->use_command ? v->command : NULL,
                .description = v->description,
                .enabled = v->enabled,
        };
}

static int entry_rejected(const cw_http_req *req, cw_http_resp *resp, int64_t id,
                          const entry_values *v, int r, const cw_error *e)
{
        char msg[400];
        int status = cw_action_http_status(r);

        if (r == -ENOENT && id) {
                cw_http_page_error(req, resp, 404, e->msg[0] ? e->msg : "no such entry");
                return 0;
        }
        if (status >= 500)
                return r;
        snprintf(msg, sizeof(msg), "%s", e->msg[0] ? e->msg : strerror(-r));
        entry_form(req, resp, id, v, msg);
        resp->status = status == 200 ? 422 : status;
        return cw_buf_error(&resp->body);
}

int cw_page_entry_create(const cw_http_req *req, cw_http_resp *resp)
{
        entry_values v;
        cw_action_entry in;
        int64_t id = 0;
        char msg[128];
        cw_error e;
        int r;

        read_entry(req, &v, &in);
        cw_error_clear(&e);
        r = cw_action_entry_create(req, &in, &id, &e);
        if (r < 0)
                return entry_rejected(req, resp, 0, &v, r, &e);
        snprintf(msg, sizeof(msg), "Entry #%lld created.", (long long)id);
        return cw_page_redirect(resp, "/entries", "msg", msg);
}

int cw_page_entry_update(const cw_http_req *req, cw_http_resp *resp)
{
        entry_values v;
        cw_action_entry in;
        int64_t id;
        char msg[128];
        cw_error e;
        int r;

        if (parse_entry_id(req, resp, &id) < 0)
                return 0;
        read_entry(req, &v, &in);
        cw_error_clear(&e);
        r = cw_action_entry_update(req, id, &in, &e);
        if (r < 0)
                return entry_rejected(req, resp, id, &v, r, &e);
        snprintf(msg, sizeof(msg), "Entry #%lld saved.", (long long)id);
        return cw_page_redirect(resp, "/entries", "msg", msg);
}

int cw_page_entry_delete(const cw_http_req *req, cw_http_resp *resp)
{
        int64_t id;
        char msg[400];
        cw_error e;
        int r;

        if (parse_entry_id(req, resp, &id) < 0)
                return 0;
        cw_error_clear(&e);
        r = cw_action_entry_delete(req, id, &e);
        if (r < 0) {
                snprintf(msg, sizeof(msg), "cannot delete entry #%lld: %s", (long long)id,
                         e.msg[0] ? e.msg : strerror(-r));
                return cw_page_redirect(resp, "/entries", "err", msg);
        }
        snprintf(msg, sizeof(msg), "Entry #%lld deleted.", (long long)id);
        return cw_page_redirect(resp, "/entries", "msg", msg);
}
