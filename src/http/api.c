/* api.c - the JSON API under /api/v1/ (docs/api.md; docs/api.md is the
 * reference for every endpoint and object).
 *
 * Handlers are thin: they parse and check the path, query and JSON body
 * (400 naming the parameter when malformed), call the model (model.h) to
 * read or an action (actions.h) to change something, and turn the result
 * into JSON with jansson. Validation of what the input means (job specs,
 * params, schedules) is the actions' and answers 422; a missing job, run
 * or entry 404; a run that is not running 409. Runs, jobs and schedule
 * entries are built by report/json.h, the shape the CLI's --json shares;
 * the objects only the API has (UI entries, requests) are built here. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/iso8601.h"
#include "base/utf8.h"
#include "http/actions.h"
#include "http/http.h"
#include "http/model.h"
#include "catalog/catalog.h"
#include "notify/notify.h"
#include "report/json.h"
#include "report/nodes.h"
#include "worker/capture.h"
#include "worker/control.h"

#define JSON_TYPE "application/json"

/* ---- output --------------------------------------------------------------- */

static int dump_cb(const char *buf, size_t size, void *data)
{
        return cw_buf_add(data, buf, size) < 0 ? -1 : 0;
}

/* Sends j (consumed) with status. */
static int send_json(cw_http_resp *resp, int status, json_t *j)
{
        int r;

        if (!j)
                return -ENOMEM;
        resp->status = status;
        resp->content_type = JSON_TYPE;
        cw_buf_reset(&resp->body);
        r = json_dump_callback(j, dump_cb, &resp->body, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(j);
        if (r < 0 || cw_buf_error(&resp->body))
                return cw_buf_error(&resp->body) ? cw_buf_error(&resp->body) : -ENOMEM;
        cw_buf_putc(&resp->body, '\n');
        return 0;
}

/* An action's or model's failure as the matching status. */
static int send_error(const cw_http_req *req, cw_http_resp *resp, int r, const cw_error *err)
{
        int status = cw_action_http_status(r);

        if (r == -ENOMEM)
                return r; /* the server answers 500 and logs */
        cw_http_error(req, resp, status, "%s", err->msg[0] ? err->msg : strerror(-r));
        return 0;
}

static json_t *run_or_null(const cw_run *r, int64_t now_us)
{
        return r->id > 0 ? cw_json_run(r, now_us) : json_null();
}

static json_t *entry_json(const cw_model_entry *e, bool with_fires)
{
        cw_json_entry je = {
                .source = cw_model_source_to_string(e->source),
                .when = e->when,
                .ts = e->ts,
                .spec = e->spec,
                .tz = e->tz,
                .line = e->line,
                .entry_id = e->ui_id,
                .reboot = e->reboot,
                .fixed_time = e->fixed_time,
                .at_startup = e->reboot,
                .next = e->next,
                .fires = with_fires ? e->next_fires : NULL,
                .n_fires = e->n_next,
        };

        return cw_json_entry_new(&je);
}

static json_t *job_json(const cw_model_job *j, int64_t now_us, bool detail)
{
        cw_json_job jj = {
                .job = j->job,
                .enabled = j->enabled,
                .enabled_config = j->enabled_config,
                .entry_id = j->ui_entry,
                .runnable_error = j->ui_why_not,
                .next = j->next,
        };
        json_t *o, *entries;
        bool reboot = false;

        for (size_t i = 0; i < j->n_entries; i++) {
                if (j->entries[i].next && j->entries[i].next == j->next && !jj.next_tz)
                        jj.next_tz = j->entries[i].tz;
                reboot |= j->entries[i].reboot;
        }
        jj.next_at_startup = !j->next && reboot;
        o = cw_json_job_new(&jj);
        entries = o ? json_object_get(o, "schedules") : NULL;
        if (!entries) {
                json_decref(o);
                return NULL;
        }
        for (size_t i = 0; i < j->n_entries; i++)
                json_array_append_new(entries, entry_json(&j->entries[i], detail));
        json_object_set_new(o, "last_run", run_or_null(&j->last, now_us));
        json_object_set_new(o, "running", run_or_null(&j->running, now_us));
        json_object_set_new(o, "n_running", json_integer((json_int_t)j->n_running));
        return o;
}

static json_t *job_detail_json(const cw_model_job_detail *d, int64_t now_us)
{
        json_t *o = job_json(&d->j, now_us, true), *a, *stats, *counts;

        if (!o)
                return NULL;
        cw_json_job_settings(o, d->j.job, d->j.ui_entry > 0);
        a = json_array();
        for (size_t i = 0; i < d->n_before; i++)
                json_array_append_new(a, json_string(d->before[i]->name));
        json_object_set_new(o, "before", a);
        a = json_array();
        for (size_t i = 0; i < d->n_recent; i++)
                json_array_append_new(a, cw_json_run(&d->recent[i], now_us));
        json_object_set_new(o, "recent_runs", a);
        stats = json_object();
        json_object_set_new(stats, "p50", d->p50 >= 0 ? json_real(d->p50) : json_null());
        json_object_set_new(stats, "p95", d->p95 >= 0 ? json_real(d->p95) : json_null());
        json_object_set_new(stats, "failure_rate",
                            d->failure_rate >= 0 ? json_real(d->failure_rate) : json_null());
        counts = json_object();
        for (int i = 0; i < CW_RUN_STATUS_MAX; i++)
                json_object_set_new(counts, cw_run_status_to_string((cw_run_status)i),
                                    json_integer((json_int_t)d->counts[i]));
        json_object_set_new(stats, "counts", counts);
        cw_json_set_instant(stats, "last_success", d->last_success_us);
        json_object_set_new(o, "stats", stats);
        return o;
}

static json_t *ui_entry_json(const cw_model_ui_entry *m)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "id", json_integer(m->e.id));
        json_object_set_new(o, "job", json_string(m->job));
        json_object_set_new(o, "schedule", json_string(m->e.schedule));
        json_object_set_new(o, "spec", cw_json_str(m->e.spec));
        json_object_set_new(o, "command", cw_json_str(m->e.command));
        json_object_set_new(o, "description",
                            json_string(m->e.description ? m->e.description : ""));
        json_object_set_new(o, "enabled", json_boolean(m->e.enabled));
        json_object_set_new(o, "created_by", cw_json_str(m->e.created_by));
        cw_json_set_instant(o, "created", m->e.created_us);
        cw_json_set_instant(o, "updated", m->e.updated_us);
        json_object_set_new(o, "valid", json_boolean(m->valid));
        json_object_set_new(o, "error", cw_json_str(m->error));
        json_object_set_new(o, "zone", cw_json_str(m->zone));
        cw_json_set_fire(o, "next", m->next, m->tz);
        return o;
}

static json_t *request_json(const cw_request *q)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "id", json_integer(q->id));
        json_object_set_new(o, "spec", json_string(q->spec));
        json_object_set_new(o, "requested_by", cw_json_str(q->by));
        cw_json_set_instant(o, "requested", q->requested_us);
        return o;
}

/* ---- input ---------------------------------------------------------------- */

/* A non-negative count from the query (absent: *ret unchanged); 400 naming
 * the parameter otherwise. Returns false when it answered. */
static bool query_count(const cw_http_req *req, cw_http_resp *resp, const char *name, size_t max,
                        size_t *ret)
{
        const char *v = cw_http_query(req, name);
        size_t n = 0;

        if (!v)
                return true;
        if (!*v || strlen(v) > 9 || strspn(v, "0123456789") != strlen(v) ||
            (n = strtoul(v, NULL, 10)) > max) {
                cw_http_error(req, resp, 400, "%s: expected a number from 0 to %zu, got '%.64s'",
                              name, max, v);
                return false;
        }
        *ret = n;
        return true;
}

/* The body as a JSON object; NULL after answering 400. */
static json_t *body_object(const cw_http_req *req, cw_http_resp *resp)
{
        json_error_t jerr;
        json_t *j;

        if (!req->body || req->body_len == 0) {
                cw_http_error(req, resp, 400, "body: expected a JSON object, got nothing");
                return NULL;
        }
        j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                cw_http_error(req, resp, 400, "body: not valid JSON: %s (line %d, column %d)",
                              jerr.text, jerr.line, jerr.column);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                cw_http_error(req, resp, 400, "body: expected a JSON object");
                return NULL;
        }
        return j;
}

/* Member `key` of o as a string: NULL when absent or null; *ok false (and
 * 400 sent) when it is another type. */
static const char *member_string(const cw_http_req *req, cw_http_resp *resp, json_t *o,
                                 const char *key, bool *ok)
{
        json_t *v = json_object_get(o, key);

        if (!v || json_is_null(v))
                return NULL;
        if (!json_is_string(v)) {
                cw_http_error(req, resp, 400, "body: '%s' must be a string", key);
                *ok = false;
                return NULL;
        }
        if (strlen(json_string_value(v)) != json_string_length(v)) {
                cw_http_error(req, resp, 400, "body: '%s' must not contain NUL characters", key);
                *ok = false;
                return NULL;
        }
        return json_string_value(v);
}

/* Rejects members other than the allowed ones (a typo must not be ignored). */
static bool only_members(const cw_http_req *req, cw_http_resp *resp, json_t *o,
                         const char *const *allowed)
{
        const char *key;
        json_t *v;

        json_object_foreach(o, key, v)
        {
                bool known = false;
                (void)v;
                for (size_t i = 0; allowed[i] && !known; i++)
                        known = strcmp(key, allowed[i]) == 0;
                if (!known) {
                        cw_http_error(req, resp, 400, "body: unknown member '%.64s'", key);
                        return false;
                }
        }
        return true;
}

/* The path's id argument; false after answering 400. */
static bool path_id(const cw_http_req *req, cw_http_resp *resp, const char *what, int64_t *ret)
{
        cw_error err;

        if (req->n_args < 1 || cw_model_parse_id(req->args[0], ret, &err) < 0) {
                cw_http_error(req, resp, 400, "%s id: %s", what, err.msg);
                return false;
        }
        return true;
}

/* ---- jobs ----------------------------------------------------------------- */

/* Jobs per page of GET /api/v1/jobs when no limit is given (limit=0: all):
 * 10 000 jobs are 8 MiB of JSON, which no client wants by accident, and a
 * page costs in proportion to its jobs: about 30 us of CPU per job, so 50
 * (GitHub's API pages by 30) keeps p99 well under 50 ms with 16 clients on
 * 2 cores, where 100 sat at the edge (bench/bench_admin.sh). */
#define API_JOBS_DEFAULT 50

static int api_jobs(const cw_http_req *req, cw_http_resp *resp)
{
        cw_model_jobs_opts o = {.name_contains = cw_http_query(req, "q"),
                                .limit = API_JOBS_DEFAULT};
        _cleanup_(cw_model_jobs_release) cw_model_jobs m = {0};
        json_t *out, *jobs;
        cw_error err;
        int r;

        if (!query_count(req, resp, "offset", 1000000000, &o.offset) ||
            !query_count(req, resp, "limit", 1000000000, &o.limit))
                return 0;
        r = cw_model_jobs_get(req->cfg, req->store, req->now_us, &o, &m, &err);
        if (r < 0)
                return send_error(req, resp, r, &err);
        jobs = json_array();
        for (size_t i = 0; jobs && i < m.n; i++)
                if (json_array_append_new(jobs, job_json(&m.jobs[i], req->now_us, false)) < 0) {
                        json_decref(jobs);
                        return -ENOMEM;
                }
        out = json_pack("{s:o?, s:I, s:I, s:I, s:b, s:I}", "jobs", jobs, "total",
                        (json_int_t)m.total, "offset", (json_int_t)o.offset, "limit",
                        (json_int_t)o.limit, "scheduler_enabled", m.scheduler_enabled, "running",
                        (json_int_t)m.n_running);
        return send_json(resp, 200, out);
}

static int api_job(const cw_http_req *req, cw_http_resp *resp)
{
        _cleanup_(cw_model_job_detail_release) cw_model_job_detail d = {0};
        cw_error err;
        int r = cw_model_job_get(req->cfg, req->store, req->now_us, req->args[0], &d, &err);

        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_json(resp, 200, job_detail_json(&d, req->now_us));
}

static int job_set_enabled(const cw_http_req *req, cw_http_resp *resp, bool on)
{
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        cw_error err;
        int r = cw_action_job_enable(req, req->args[0], on, &err);

        if (r < 0)
                return send_error(req, resp, r, &err);
        /* Found by the action a moment ago (configured or made in the UI). */
        r = cw_job_resolve(req->cfg, req->store, req->args[0], &ref, &err);
        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_json(resp, 200,
                         json_pack("{s:s, s:b, s:b}", "name", ref.job->name, "enabled",
                                   on && ref.job->enabled, "enabled_config", ref.job->enabled));
}

static int api_job_enable(const cw_http_req *req, cw_http_resp *resp)
{
        return job_set_enabled(req, resp, true);
}

static int api_job_disable(const cw_http_req *req, cw_http_resp *resp)
{
        return job_set_enabled(req, resp, false);
}

/* ---- runs ----------------------------------------------------------------- */

static int api_runs(const cw_http_req *req, cw_http_resp *resp)
{
        cw_model_runs_filter f = CW_MODEL_RUNS_FILTER_INIT;
        _cleanup_(cw_model_runs_release) cw_model_runs m = {0};
        const char *job = cw_http_query(req, "job");
        json_t *runs;
        cw_error err;
        int r;

        cw_error_clear(&err);
        if (job && *job) {
                if (strlen(job) > CW_JOBSPEC_NAME_MAX) {
                        cw_http_error(req, resp, 400, "job: longer than %d bytes",
                                      CW_JOBSPEC_NAME_MAX);
                        return 0;
                }
                f.job = job;
        }
        if (cw_model_parse_status(cw_http_query(req, "status"), &f, &err) < 0 ||
            cw_model_parse_before(cw_http_query(req, "before"), &f, &err) < 0 ||
            cw_model_parse_limit(cw_http_query(req, "limit"), &f, &err) < 0) {
                cw_http_error(req, resp, 400, "%s", err.msg);
                return 0;
        }
        r = cw_model_runs_list(req->cfg, req->store, &f, &m, &err);
        if (r < 0)
                return send_error(req, resp, r, &err);
        runs = json_array();
        for (size_t i = 0; runs && i < m.n; i++)
                json_array_append_new(runs, cw_json_run(&m.runs[i], req->now_us));
        return send_json(resp, 200,
                         json_pack("{s:o?, s:o}", "runs", runs, "next_before",
                                   m.next_before > 0 ? json_integer(m.next_before) : json_null()));
}

static int api_run(const cw_http_req *req, cw_http_resp *resp)
{
        _cleanup_(cw_model_run_release) cw_model_run m = {0};
        cw_error err;
        int64_t id;
        json_t *o;
        int r;

        if (!path_id(req, resp, "run", &id))
                return 0;
        r = cw_model_run_get(req->cfg, req->store, id, false, &m, &err);
        if (r < 0)
                return send_error(req, resp, r, &err);
        o = cw_json_run(&m.run, req->now_us);
        if (o) {
                json_object_set_new(o, "alive",
                                    cw_run_status_is_final(m.run.status) ? json_null()
                                                                         : json_boolean(m.alive));
                json_object_set_new(o, "job_configured", json_boolean(m.job != NULL));
        }
        return send_json(resp, 200, o);
}

/* Appends p[0..n) to b as valid UTF-8 (JSON strings must be), each invalid
 * byte as U+FFFD. With hold, a sequence cut by the end of p is left out
 * (it is completed by bytes not stored yet); returns how many bytes were
 * left out. */
static size_t add_utf8(cw_buf *b, const char *p, size_t n, bool hold)
{
        const unsigned char *u = (const unsigned char *)p;

        for (size_t i = 0; i < n;) {
                bool partial;
                size_t l = cw_utf8_seq(u + i, n - i, &partial);

                if (partial && hold)
                        return n - i;
                if (l == 0) {
                        cw_buf_add(b, "\xef\xbf\xbd", 3);
                        i++;
                } else {
                        cw_buf_add(b, u + i, l);
                        i += l;
                }
        }
        return 0;
}

/* GET /api/v1/runs/ID/output?since=N: the output past stream byte N, for
 * a client following a running run (docs/api.md): the bytes the stored
 * head + tail still hold, a marker line for those it no longer does, and
 * `next`, the since of the next request. A stored output that cannot be
 * read that way (or N past the end) is sent whole with reset = true. */
static int send_output_since(const cw_http_req *req, cw_http_resp *resp, int64_t id, uint64_t since)
{
        _cleanup_(cw_run_output_release) cw_run_output ro = {0};
        _cleanup_(cw_buf_release) cw_buf text = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE / 2);
        char marker[CW_CAPTURE_MARKER_MAX];
        cw_capture_view v;
        cw_capture_rest rest;
        bool reset = false, running;
        uint64_t next;
        size_t held = 0;
        json_t *o;
        cw_error err;
        int r;

        r = cw_store_run_output_get(req->store, id, &ro);
        if (r < 0) {
                cw_error_set(&err, -1, 0,
                             r == -ENOENT ? "no run %" PRId64 : "cannot read run %" PRId64, id);
                return send_error(req, resp, r, &err);
        }
        running = !cw_run_status_is_final(ro.status);
        next = ro.size;
        if (cw_capture_view_parse(ro.data, ro.len, ro.size, ro.truncated, &v) < 0 ||
            cw_capture_view_rest(&v, since, &rest) < 0) {
                reset = true;
                held = add_utf8(&text, ro.data ? ro.data : "", ro.len, false);
        } else {
                held = add_utf8(&text, rest.a, rest.a_len, running && rest.omitted == 0);
                if (rest.omitted > 0) {
                        /* A line of its own: after a newline unless the
                         * text before it (sent now, or the client's last
                         * byte if still held) ends a line. */
                        bool nl = true;
                        int m;

                        if (rest.a_len > 0)
                                nl = rest.a[rest.a_len - 1] != '\n';
                        else if (since == 0)
                                nl = false;
                        else if (since - 1 < v.head_len)
                                nl = v.head[since - 1] != '\n';
                        m = cw_capture_marker(marker, sizeof(marker), rest.omitted, nl);
                        if (m > 0)
                                cw_buf_add(&text, marker, (size_t)m);
                        held = add_utf8(&text, rest.b, rest.b_len, running);
                }
                next = ro.size - held;
        }
        if (cw_buf_error(&text))
                return cw_buf_error(&text);
        o = json_object();
        if (!o)
                return -ENOMEM;
        json_object_set_new(o, "run", json_integer(id));
        json_object_set_new(o, "status", json_string(cw_run_status_to_string(ro.status)));
        json_object_set_new(o, "size", json_integer((json_int_t)ro.size));
        json_object_set_new(o, "truncated", json_boolean(ro.truncated));
        json_object_set_new(o, "since", json_integer((json_int_t)since));
        json_object_set_new(o, "reset", json_boolean(reset));
        json_object_set_new(o, "output", json_stringn(text.p ? text.p : "", text.len));
        json_object_set_new(o, "next", json_integer((json_int_t)next));
        return send_json(resp, 200, o);
}

static int api_run_output(const cw_http_req *req, cw_http_resp *resp)
{
        _cleanup_(cw_model_run_release) cw_model_run m = {0};
        const char *since_text = cw_http_query(req, "since");
        cw_error err;
        int64_t id;
        int r;

        if (!path_id(req, resp, "run", &id))
                return 0;
        if (since_text) {
                char *end = NULL;
                unsigned long long since;

                errno = 0;
                since = strtoull(since_text, &end, 10);
                if (!*since_text || strspn(since_text, "0123456789") != strlen(since_text) ||
                    errno || *end || since > INT64_MAX) {
                        cw_http_error(
                                req, resp, 400,
                                "since: expected a byte offset (a whole number from 0), got '%.64s'",
                                since_text);
                        return 0;
                }
                return send_output_since(req, resp, id, (uint64_t)since);
        }
        r = cw_model_run_get(req->cfg, req->store, id, true, &m, &err);
        if (r < 0)
                return send_error(req, resp, r, &err);
        resp->status = 200;
        resp->content_type = "text/plain; charset=utf-8";
        cw_buf_reset(&resp->body);
        if (m.output_len > 0 && cw_buf_add(&resp->body, m.output, m.output_len) < 0)
                return cw_buf_error(&resp->body);
        return 0;
}

static int api_run_kill(const cw_http_req *req, cw_http_resp *resp)
{
        cw_run_status st = CW_RUN_KILLED;
        cw_error err;
        int64_t id;
        int r;

        if (!path_id(req, resp, "run", &id))
                return 0;
        r = cw_action_kill(req, id, &st, &err);
        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_json(resp, 200,
                         json_pack("{s:I, s:s}", "id", (json_int_t)id, "status",
                                   cw_run_status_to_string(st)));
}

static int api_running(const cw_http_req *req, cw_http_resp *resp)
{
        cw_model_runs_filter f = CW_MODEL_RUNS_FILTER_INIT;
        _cleanup_(cw_model_runs_release) cw_model_runs m = {0};
        json_t *runs;
        cw_error err;
        int r;

        f.active = true;
        f.limit = CW_MODEL_RUNS_MAX;
        r = cw_model_runs_list(req->cfg, req->store, &f, &m, &err);
        if (r < 0)
                return send_error(req, resp, r, &err);
        runs = json_array();
        for (size_t i = 0; runs && i < m.n; i++) {
                json_t *o = cw_json_run(&m.runs[i], req->now_us);
                if (o)
                        json_object_set_new(
                                o, "alive",
                                json_boolean(m.runs[i].status == CW_RUN_QUEUED ||
                                             cw_control_is_alive(req->cfg, &m.runs[i])));
                json_array_append_new(runs, o);
        }
        return send_json(resp, 200, json_pack("{s:o?}", "runs", runs));
}

/* ---- notifications ---------------------------------------------------------- */

/* The outbox, newest first, as `cronwarden notifications --json` shows it:
 * ?pending=true for what is still to be delivered, ?limit=N rows (default
 * 50, as the command's --count). */
static int api_notifications(const cw_http_req *req, cw_http_resp *resp)
{
        const char *pending = cw_http_query(req, "pending");
        size_t limit = 50, n = 0, n_pending = 0, n_failed = 0;
        cw_notice *rows = NULL;
        json_t *list;
        int r;

        if (pending && strcmp(pending, "true") != 0 && strcmp(pending, "false") != 0) {
                cw_http_error(req, resp, 400, "pending: expected true or false, got '%.64s'",
                              pending);
                return 0;
        }
        if (!query_count(req, resp, "limit", 100000, &limit))
                return 0;
        if (limit == 0) {
                cw_http_error(req, resp, 400, "limit: expected a number from 1 to 100000");
                return 0;
        }
        r = cw_store_notices_list(req->store, pending && strcmp(pending, "true") == 0, limit, &rows,
                                  &n);
        if (r < 0) {
                cw_error err;

                cw_error_fail(&err, r, "cannot read the outbox: %s", strerror(-r));
                return send_error(req, resp, r, &err);
        }
        list = json_array();
        for (size_t i = 0; list && i < n; i++) {
                char target[600];

                cw_notify_shown_target(&rows[i], target, sizeof(target));
                json_array_append_new(list, cw_json_notice(&rows[i], target));
                n_pending += rows[i].state == CW_NOTICE_PENDING;
                n_failed += rows[i].state == CW_NOTICE_FAILED;
        }
        cw_notices_free(rows, n);
        return send_json(resp, 200,
                         json_pack("{s:o?, s:I, s:I}", "notifications", list, "pending",
                                   (json_int_t)n_pending, "failed", (json_int_t)n_failed));
}

/* ---- requests and the scheduler ------------------------------------------- */

static int api_requests(const cw_http_req *req, cw_http_resp *resp)
{
        _cleanup_(cw_model_scheduler_release) cw_model_scheduler m = {0};
        json_t *list;
        cw_error err;
        int r = cw_model_scheduler_get(req->cfg, req->store, &m, &err);

        if (r < 0)
                return send_error(req, resp, r, &err);
        list = json_array();
        for (size_t i = 0; list && i < m.n_pending; i++)
                json_array_append_new(list, request_json(&m.pending[i]));
        return send_json(resp, 200, json_pack("{s:o?}", "requests", list));
}

static int api_request_add(const cw_http_req *req, cw_http_resp *resp)
{
        static const char *const allowed[] = {"job", "params", "spec", NULL};
        json_t *body = body_object(req, resp), *params;
        const char *job, *spec, *vals[CW_JOBSPEC_PARAMS_MAX];
        size_t n = 0;
        int64_t id = 0;
        bool ok = true;
        cw_error err;
        int r;

        if (!body)
                return 0;
        if (!only_members(req, resp, body, allowed))
                goto done;
        job = member_string(req, resp, body, "job", &ok);
        spec = ok ? member_string(req, resp, body, "spec", &ok) : NULL;
        params = json_object_get(body, "params");
        if (!ok)
                goto done;
        if (!job == !spec) {
                cw_http_error(req, resp, 400,
                              "body: give either \"job\" (with optional \"params\") or \"spec\"");
                goto done;
        }
        if (params && !json_is_null(params)) {
                if (!job || !json_is_array(params)) {
                        cw_http_error(req, resp, 400,
                                      job ? "body: 'params' must be an array of strings"
                                          : "body: 'params' goes with 'job', not with 'spec'");
                        goto done;
                }
                if (json_array_size(params) > CW_JOBSPEC_PARAMS_MAX) {
                        cw_http_error(req, resp, 422, "params: at most %d params, got %zu",
                                      CW_JOBSPEC_PARAMS_MAX, json_array_size(params));
                        goto done;
                }
                for (n = 0; n < json_array_size(params); n++) {
                        json_t *v = json_array_get(params, n);
                        if (!json_is_string(v) ||
                            strlen(json_string_value(v)) != json_string_length(v)) {
                                cw_http_error(req, resp, 400, "body: params[%zu] must be a string",
                                              n);
                                goto done;
                        }
                        vals[n] = json_string_value(v);
                }
        }
        r = job ? cw_action_request_params(req, job, vals, n, &id, &err)
                : cw_action_request(req, spec, &id, NULL, &err);
        if (r < 0) {
                r = send_error(req, resp, r, &err);
                json_decref(body);
                return r;
        }
        json_decref(body);
        return send_json(resp, 202, json_pack("{s:I}", "id", (json_int_t)id));
done:
        json_decref(body);
        return 0;
}

static json_t *scheduler_json(const cw_model_scheduler *m)
{
        json_t *o = json_object();

        if (!o)
                return NULL;
        json_object_set_new(o, "enabled", json_boolean(m->enabled));
        cw_json_set_fire(o, "last_pass", m->last_pass, NULL);
        json_object_set_new(o, "node", cw_json_str(m->node));
        json_object_set_new(o, "running", json_integer((json_int_t)m->n_running));
        json_object_set_new(o, "pending_requests", json_integer((json_int_t)m->n_pending));
        return o;
}

static int send_scheduler(const cw_http_req *req, cw_http_resp *resp)
{
        _cleanup_(cw_model_scheduler_release) cw_model_scheduler m = {0};
        cw_error err;
        int r = cw_model_scheduler_get(req->cfg, req->store, &m, &err);

        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_json(resp, 200, scheduler_json(&m));
}

static int api_scheduler(const cw_http_req *req, cw_http_resp *resp)
{
        static const char *const allowed[] = {"enabled", NULL};
        json_t *body, *v;
        cw_error err;
        int r;

        if (req->method != CW_HTTP_POST)
                return send_scheduler(req, resp);
        body = body_object(req, resp);
        if (!body)
                return 0;
        v = json_object_get(body, "enabled");
        if (!only_members(req, resp, body, allowed)) {
                json_decref(body);
                return 0;
        }
        if (!json_is_boolean(v)) {
                json_decref(body);
                cw_http_error(req, resp, 400, "body: 'enabled' must be true or false");
                return 0;
        }
        r = cw_action_scheduler_enable(req, json_is_true(v), &err);
        json_decref(body);
        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_scheduler(req, resp);
}

/* ---- UI entries ----------------------------------------------------------- */

static int api_entries(const cw_http_req *req, cw_http_resp *resp)
{
        _cleanup_(cw_model_ui_entries_release) cw_model_ui_entries m = {0};
        json_t *list;
        cw_error err;
        int r = cw_model_ui_entries_list(req->cfg, req->store, req->now_us, &m, &err);

        if (r < 0)
                return send_error(req, resp, r, &err);
        list = json_array();
        for (size_t i = 0; list && i < m.n; i++)
                json_array_append_new(list, ui_entry_json(&m.entries[i]));
        return send_json(
                resp, 200,
                json_pack("{s:o?, s:b}", "entries", list, "allow_commands", m.allow_commands));
}

static int send_entry(const cw_http_req *req, cw_http_resp *resp, int status, int64_t id)
{
        _cleanup_(cw_model_ui_entry_release) cw_model_ui_entry m = {0};
        cw_error err;
        int r = cw_model_ui_entry_get(req->cfg, req->store, req->now_us, id, &m, &err);

        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_json(resp, status, ui_entry_json(&m));
}

/* The body of POST /entries and PUT /entries/ID; false after answering. */
static bool entry_input(const cw_http_req *req, cw_http_resp *resp, json_t *body,
                        cw_action_entry *in)
{
        static const char *const allowed[] = {"schedule",    "spec",    "command",
                                              "description", "enabled", NULL};
        json_t *en = json_object_get(body, "enabled");
        bool ok = true;

        if (!only_members(req, resp, body, allowed))
                return false;
        in->schedule = member_string(req, resp, body, "schedule", &ok);
        if (ok)
                in->spec = member_string(req, resp, body, "spec", &ok);
        if (ok)
                in->command = member_string(req, resp, body, "command", &ok);
        if (ok)
                in->description = member_string(req, resp, body, "description", &ok);
        if (!ok)
                return false;
        if (en && !json_is_null(en) && !json_is_boolean(en)) {
                cw_http_error(req, resp, 400, "body: 'enabled' must be true or false");
                return false;
        }
        in->enabled = !en || json_is_null(en) || json_is_true(en);
        if (!in->schedule) {
                cw_http_error(
                        req, resp, 422,
                        "schedule: a time spec is needed (like '*/10 * * * *' or 'every 1h')");
                return false;
        }
        return true;
}

static int api_entry_add(const cw_http_req *req, cw_http_resp *resp)
{
        json_t *body = body_object(req, resp);
        cw_action_entry in = {0};
        int64_t id = 0;
        cw_error err;
        int r;

        if (!body)
                return 0;
        if (!entry_input(req, resp, body, &in)) {
                json_decref(body);
                return 0;
        }
        r = cw_action_entry_create(req, &in, &id, &err);
        json_decref(body);
        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_entry(req, resp, 201, id);
}

static int api_entry(const cw_http_req *req, cw_http_resp *resp)
{
        cw_action_entry in = {0};
        cw_error err;
        json_t *body;
        int64_t id;
        int r;

        if (!path_id(req, resp, "entry", &id))
                return 0;
        if (req->method == CW_HTTP_GET)
                return send_entry(req, resp, 200, id);
        if (req->method == CW_HTTP_DELETE) {
                r = cw_action_entry_delete(req, id, &err);
                if (r < 0)
                        return send_error(req, resp, r, &err);
                resp->status = 204;
                resp->content_type = JSON_TYPE;
                cw_buf_reset(&resp->body);
                return 0;
        }
        body = body_object(req, resp);
        if (!body)
                return 0;
        if (!entry_input(req, resp, body, &in)) {
                json_decref(body);
                return 0;
        }
        r = cw_action_entry_update(req, id, &in, &err);
        json_decref(body);
        if (r < 0)
                return send_error(req, resp, r, &err);
        return send_entry(req, resp, 200, id);
}

/* GET /api/v1/nodes: the cluster's nodes (docs/cluster.md); none on a
 * store without nodes. */
static int api_nodes(const cw_http_req *req, cw_http_resp *resp)
{
        cw_node *nodes = NULL;
        size_t n = 0;
        int r = cw_store_nodes_list(req->store, req->cfg->dead_timeout * CW_US_PER_SEC, &nodes, &n);
        json_t *list;
        cw_error err;

        if (r < 0 && r != -EOPNOTSUPP) {
                cw_error_clear(&err);
                return send_error(req, resp, r, &err);
        }
        list = cw_report_nodes_json(nodes, n);
        cw_nodes_free(nodes, n);
        return send_json(resp, 200, json_pack("{s:o?}", "nodes", list));
}

const cw_http_route cw_http_api_routes[] = {
        {CW_HTTP_GET, "/api/v1/jobs", CW_ROUTE_API, api_jobs},
        {CW_HTTP_GET, "/api/v1/jobs/%", CW_ROUTE_API, api_job},
        {CW_HTTP_POST, "/api/v1/jobs/%/enable", CW_ROUTE_API, api_job_enable},
        {CW_HTTP_POST, "/api/v1/jobs/%/disable", CW_ROUTE_API, api_job_disable},
        {CW_HTTP_GET, "/api/v1/runs", CW_ROUTE_API, api_runs},
        {CW_HTTP_GET, "/api/v1/runs/%", CW_ROUTE_API, api_run},
        {CW_HTTP_GET, "/api/v1/runs/%/output", CW_ROUTE_API, api_run_output},
        {CW_HTTP_POST, "/api/v1/runs/%/kill", CW_ROUTE_API, api_run_kill},
        {CW_HTTP_GET, "/api/v1/running", CW_ROUTE_API, api_running},
        {CW_HTTP_GET, "/api/v1/notifications", CW_ROUTE_API, api_notifications},
        {CW_HTTP_GET, "/api/v1/nodes", CW_ROUTE_API, api_nodes},
        {CW_HTTP_GET, "/api/v1/requests", CW_ROUTE_API, api_requests},
        {CW_HTTP_POST, "/api/v1/requests", CW_ROUTE_API, api_request_add},
        {CW_HTTP_GET | CW_HTTP_POST, "/api/v1/scheduler", CW_ROUTE_API, api_scheduler},
        {CW_HTTP_GET, "/api/v1/entries", CW_ROUTE_API, api_entries},
        {CW_HTTP_POST, "/api/v1/entries", CW_ROUTE_API, api_entry_add},
        {CW_HTTP_GET | CW_HTTP_PUT | CW_HTTP_DELETE, "/api/v1/entries/%", CW_ROUTE_API, api_entry},
        {0},
};
