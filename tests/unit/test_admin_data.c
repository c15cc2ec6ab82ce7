/* test_admin_data.c - the data side of the admin server: UI entries
 * compiled and fired by a scheduler pass (catalog/entries.h), the read model
 * (http/model.h), the actions (http/actions.h), and the API and /metrics
 * handlers called directly with a hand-built cw_http_req (no server, no
 * sockets: req->server is NULL, so audit and wake are no-ops).
 *
 * Each test gets a fresh temporary directory holding the store; the config
 * is loaded from a string with a fixed `now`. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_helpers.h" /* iso() */

#include "test_tmpdir.h"

#include "base/iso8601.h"
#include "http/actions.h"
#include "http/http.h"
#include "http/model.h"
#include "catalog/entries.h"
#include "sched/sched.h"

#define NOW_ISO "2027-01-01T00:00:00Z"

typedef struct world {
        char dir[256];
        cw_config *cfg;
        cw_store *store;
        cw_time now;
        size_t n_started;
        char started[16][160];
} world;

static const char base_ini[] = "[admin]\n"
                               "allow_ui_commands = %s\n"
                               "[job Alpha]\n"
                               "description = first\n"
                               "command = /bin/true\n"
                               "args = what\n"
                               "options = sleep, mode\n"
                               "[job Beta]\n"
                               "command = /bin/true\n"
                               "schedule = 0 * * * *\n"
                               "after = Alpha\n"
                               "[job Gamma]\n"
                               "command = /bin/true\n"
                               "enabled = no\n"
                               "[schedule]\n"
                               "run = 30 5 * * * Alpha:x,sleep=1\n";

static void load(world *w, bool allow_commands)
{
        char text[4096];
        cw_config_opts opts = {.now = w->now};
        cw_config_errors errs = {0};
        cw_error e;
        int n;

        n = snprintf(text, sizeof(text), "[cronwarden]\nnode = n1\ntimezone = UTC\ndata_dir = %s\n",
                     w->dir);
        snprintf(text + n, sizeof(text) - (size_t)n, base_ini, allow_commands ? "yes" : "no");
        if (cw_config_load_string("test.ini", text, strlen(text), &opts, &w->cfg, &errs) < 0)
                fail_msg("config: %s", errs.n ? errs.msgs[0] : "?");
        cw_config_errors_release(&errs);
        if (!w->store && cw_store_open("sqlite", w->dir, &w->store, &e) < 0)
                fail_msg("store: %s", e.msg);
}

static int setup(void **state)
{
        world *w = calloc(1, sizeof(*w));

        snprintf(w->dir, sizeof(w->dir), "/tmp/cw-test-admin-XXXXXX");
        if (!mkdtemp(w->dir))
                return -1;
        w->now = iso(NOW_ISO);
        load(w, false);
        *state = w;
        return 0;
}

static int teardown(void **state)
{
        world *w = *state;

        cw_store_close(w->store);
        cw_config_free(w->cfg);
        test_remove_tree(w->dir);
        free(w);
        return 0;
}

static cw_http_req make_req(world *w, cw_http_method m, const char *path)
{
        return (cw_http_req){
                .method = m,
                .path = path,
                .body = "",
                .content_type = "",
                .client = "127.0.0.1",
                .user = "tester",
                .now_us = w->now * 1000000,
                .cfg = w->cfg,
                .store = w->store,
                .want_json = true,
        };
}

/* A finished run of job at start (seconds), taking dur_s. */
static int64_t add_run(world *w, const char *job, const char *spec, cw_run_status st, cw_time start,
                       int dur_s)
{
        cw_run r = {.job = (char *)job,
                    .spec = (char *)spec,
                    .node = (char *)"n1",
                    .status = CW_RUN_RUNNING,
                    .trigger = CW_TRIGGER_MANUAL,
                    .attempt = 1,
                    .started_us = start * 1000000,
                    .exit_code = -1,
                    .progress_done = -1,
                    .progress_total = -1};

        assert_int_equal(cw_store_run_insert(w->store, &r), 0);
        if (st != CW_RUN_RUNNING) {
                r.status = st;
                r.exit_code = st == CW_RUN_SUCCEEDED ? 0 : 1;
                r.ended_us = (start + dur_s) * 1000000;
                assert_int_equal(cw_store_run_finish(w->store, &r, "out\0put", 7), 0);
        }
        return r.id;
}

/* ---- UI entries: validation and firing ------------------------------------- */

static void test_compile(void **state)
{
        world *w = *state;
        cw_schedule_entry e = {0};
        char *canon = NULL;
        cw_ui_field field;
        cw_error err;

        assert_int_equal(cw_ui_entry_compile(w->cfg, "*/5 * * * *", "Alpha:\"a\",sleep=2", NULL,
                                             w->now, &e, &canon, &field, &err),
                         0);
        assert_string_equal(canon, "Alpha:a,sleep=2");
        assert_string_equal(e.spec_text, "Alpha:a,sleep=2");
        assert_string_equal(w->cfg->jobs[e.job].name, "Alpha");
        assert_int_equal(e.line, 0);
        free(canon);
        cw_schedule_entry_release(&e);

        /* Each error names its field and, where it can, the column. */
        assert_int_equal(cw_ui_entry_compile(w->cfg, "*/5 * * * *", "Alpha:a,", NULL, w->now, NULL,
                                             NULL, &field, &err),
                         -EINVAL);
        assert_int_equal(field, CW_UI_FIELD_SPEC);
        assert_true(err.col >= 0);
        assert_int_equal(cw_ui_entry_compile(w->cfg, "*/5 * * * *", "Nope", NULL, w->now, NULL,
                                             NULL, &field, &err),
                         -EINVAL);
        assert_int_equal(field, CW_UI_FIELD_SPEC);
        assert_non_null(strstr(err.msg, "unknown job 'Nope'"));
        assert_int_equal(cw_ui_entry_compile(w->cfg, "*/5 * * * *", "Alpha", NULL, w->now, NULL,
                                             NULL, &field, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "positional"));
        assert_int_equal(cw_ui_entry_compile(w->cfg, "*/5 * * * *", "Alpha:x,color=red", NULL,
                                             w->now, NULL, NULL, &field, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "color"));
        assert_int_equal(cw_ui_entry_compile(w->cfg, "*/5 * 99 * *", "Beta", NULL, w->now, NULL,
                                             NULL, &field, &err),
                         -EINVAL);
        assert_int_equal(field, CW_UI_FIELD_SCHEDULE);
        assert_int_equal(err.col, 6);
        assert_int_equal(cw_ui_entry_compile(w->cfg, "0 0 30 2 *", "Beta", NULL, w->now, NULL, NULL,
                                             &field, &err),
                         -EINVAL);
        assert_non_null(strstr(err.msg, "never"));
        assert_int_equal(
                cw_ui_entry_compile(w->cfg, "", "Beta", NULL, w->now, NULL, NULL, &field, &err),
                -EINVAL);
        assert_int_equal(field, CW_UI_FIELD_SCHEDULE);
        assert_int_equal(
                cw_ui_entry_compile(w->cfg, "@daily", NULL, NULL, w->now, NULL, NULL, &field, &err),
                -EINVAL);
        assert_int_equal(cw_ui_entry_compile(w->cfg, "@daily", "Beta", "/bin/ls", w->now, NULL,
                                             NULL, &field, &err),
                         -EINVAL);
        /* Free commands only with allow_ui_commands. */
        assert_int_equal(cw_ui_entry_compile(w->cfg, "@daily", NULL, "/bin/ls -l", w->now, NULL,
                                             NULL, &field, &err),
                         -EPERM);
        assert_int_equal(field, CW_UI_FIELD_COMMAND);
        cw_config_free(w->cfg);
        load(w, true);
        assert_int_equal(cw_ui_entry_compile(w->cfg, "@daily", NULL, "/bin/ls -l", w->now, NULL,
                                             &canon, &field, &err),
                         0);
        assert_null(canon);
        assert_int_equal(cw_ui_entry_compile(w->cfg, "@daily", NULL, "/bin/ls 'x", w->now, NULL,
                                             NULL, &field, &err),
                         -EINVAL);
        assert_int_equal(field, CW_UI_FIELD_COMMAND);
}

static int fake_start(void *userdata, const cw_sched_action *a, int64_t *ret_run_id, cw_error *err)
{
        world *w = userdata;
        char when[CW_ISO8601_MAX];

        (void)err;
        *ret_run_id = add_run(w, a->job->name, a->spec, CW_RUN_SUCCEEDED, a->scheduled_at, 1);
        /* Beta runs after Alpha: only scheduled fires are of interest here. */
        if (a->trigger != CW_TRIGGER_SCHEDULE)
                return 0;
        cw_iso8601_format(a->scheduled_at, 0, when, sizeof(when));
        if (w->n_started < 16)
                snprintf(w->started[w->n_started], sizeof(w->started[0]), "%s@%s", a->spec, when);
        w->n_started++;
        return 0;
}

static cw_sched_result pass_at(world *w, const char *when)
{
        cw_schedule_entry *extra = NULL;
        size_t n = 0, invalid = 0;
        cw_sched_opts o = {.cfg = w->cfg,
                           .store = w->store,
                           .now = cw_instant_from_sec(iso(when)),
                           .start = fake_start,
                           .userdata = w};
        cw_sched_result res;
        cw_error err;

        assert_int_equal(
                cw_ui_entries_load(w->cfg, w->store, cw_instant_sec(o.now), &extra, &n, &invalid),
                0);
        o.extra_entries = extra;
        o.n_extra_entries = n;
        if (cw_sched_pass(&o, &res, &err) < 0)
                fail_msg("pass: %s", err.msg);
        cw_schedule_entries_free(extra, n);
        return res;
}

/* A UI entry fires through a pass like a config entry: exactly once per
 * instant (a second pass over the same window starts nothing), only
 * while enabled, and it moves next_wake. */
static void test_ui_entry_fires(void **state)
{
        world *w = *state;
        cw_http_req req = make_req(w, CW_HTTP_POST, "/api/v1/entries");
        cw_action_entry in = {.schedule = "*/10 * * * *", .spec = "Alpha:y", .enabled = true};
        cw_sched_result res;
        cw_error err;
        int64_t id;

        pass_at(w, "2027-01-01T00:00:00Z"); /* first pass: sets last_pass */
        assert_int_equal(cw_action_entry_create(&req, &in, &id, &err), 0);
        res = pass_at(w, "2027-01-01T00:01:00Z");
        assert_int_equal(res.next_wake, iso("2027-01-01T00:10:00Z"));
        res = pass_at(w, "2027-01-01T00:10:00Z");
        assert_int_equal(w->n_started, 1);
        assert_string_equal(w->started[0], "Alpha:y@2027-01-01T00:10:00+00:00");
        /* The window again from 00:09 (a concurrent tick): the claim stops it. */
        assert_int_equal(cw_store_state_set(w->store, "last_pass", "1798762140"), 0);
        pass_at(w, "2027-01-01T00:10:00Z");
        assert_int_equal(w->n_started, 1);
        /* Disabled: not fired. */
        in.enabled = false;
        assert_int_equal(cw_action_entry_update(&req, id, &in, &err), 0);
        pass_at(w, "2027-01-01T00:20:00Z");
        assert_int_equal(w->n_started, 1);
        (void)res;
}

/* ---- model ------------------------------------------------------------------ */

static void test_model_jobs(void **state)
{
        world *w = *state;
        cw_http_req req = make_req(w, CW_HTTP_POST, "/x");
        cw_action_entry in = {.schedule = "0 12 * * *", .spec = "Beta", .enabled = true};
        cw_model_jobs m = {0};
        cw_model_jobs_opts o = {0};
        cw_error err;
        int64_t id_a1, id_a2, id_b;

        id_a1 = add_run(w, "Alpha", "Alpha:x", CW_RUN_FAILED, w->now - 100, 5);
        id_a2 = add_run(w, "Alpha", "Alpha:x", CW_RUN_SUCCEEDED, w->now - 50, 5);
        id_b = add_run(w, "Beta", "Beta", CW_RUN_RUNNING, w->now - 10, 0);
        assert_int_equal(cw_store_run_progress(w->store, id_b, 13, 77), 0);
        add_run(w, "Removed", "Removed", CW_RUN_SUCCEEDED, w->now - 10, 1);
        assert_int_equal(cw_store_job_enabled_set(w->store, "Beta", false), 0);
        assert_int_equal(cw_action_entry_create(&req, &in, NULL, &err), 0);

        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, NULL, &m, &err), 0);
        assert_int_equal(m.n, 3);
        assert_int_equal(m.total, 3);
        assert_true(m.scheduler_enabled);
        assert_int_equal(m.n_running, 1);
        assert_string_equal(m.jobs[0].job->name, "Alpha");
        assert_int_equal(m.jobs[0].last.id, id_a2);
        assert_int_equal(m.jobs[0].running.id, 0);
        assert_true(m.jobs[0].enabled);
        assert_int_equal(m.jobs[0].n_entries, 1);
        assert_string_equal(m.jobs[0].entries[0].spec, "Alpha:x,sleep=1");
        assert_int_equal(m.jobs[0].next, iso("2027-01-01T05:30:00Z"));
        assert_string_equal(m.jobs[1].job->name, "Beta");
        assert_false(m.jobs[1].enabled);
        assert_true(m.jobs[1].enabled_config);
        assert_int_equal(m.jobs[1].running.id, id_b);
        assert_int_equal(m.jobs[1].running.progress_done, 13);
        assert_int_equal(m.jobs[1].n_running, 1);
        assert_int_equal(m.jobs[1].last.id, 0);
        assert_int_equal(m.jobs[1].n_entries, 2); /* its `schedule =` and the UI entry */
        assert_int_equal(m.jobs[1].entries[1].source, CW_MODEL_SOURCE_UI);
        assert_true(m.jobs[1].entries[1].ui_id > 0);
        assert_int_equal(m.jobs[1].next, iso("2027-01-01T01:00:00Z"));
        assert_false(m.jobs[2].enabled);
        assert_false(m.jobs[2].enabled_config);
        cw_model_jobs_release(&m);

        /* A page, and a name filter (case-insensitive). */
        o.offset = 1;
        o.limit = 1;
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, &o, &m, &err), 0);
        assert_int_equal(m.n, 1);
        assert_int_equal(m.total, 3);
        assert_string_equal(m.jobs[0].job->name, "Beta");
        cw_model_jobs_release(&m);
        o = (cw_model_jobs_opts){.name_contains = "MM"};
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, &o, &m, &err), 0);
        assert_int_equal(m.n, 1);
        assert_string_equal(m.jobs[0].job->name, "Gamma");
        cw_model_jobs_release(&m);
        o = (cw_model_jobs_opts){.name_contains = "%'_;--"};
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, &o, &m, &err), 0);
        assert_int_equal(m.n, 0);
        cw_model_jobs_release(&m);
        (void)id_a1;
}

/* The jobs page's "failing" tile: jobs whose last run failed, timed out
 * or was lost (not killed by an operator, not a job that is no longer
 * configured), counted over every page of the overview. */
static void test_model_failing_counts_every_page(void **state)
{
        world *w = *state;
        cw_model_jobs m = {0};
        cw_model_jobs_opts o = {.offset = 2, .limit = 1};
        cw_error err;

        add_run(w, "Alpha", "Alpha:x", CW_RUN_SUCCEEDED, w->now - 100, 1);
        add_run(w, "Alpha", "Alpha:x", CW_RUN_FAILED, w->now - 90, 1);
        add_run(w, "Beta", "Beta", CW_RUN_KILLED, w->now - 80, 1);
        add_run(w, "Gamma", "Gamma", CW_RUN_TIMED_OUT, w->now - 70, 1);
        add_run(w, "Removed", "Removed", CW_RUN_FAILED, w->now - 60, 1);

        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, NULL, &m, &err), 0);
        assert_int_equal(m.n_failing, 2);
        cw_model_jobs_release(&m);
        /* Only Gamma is on this page; Alpha fails on another. */
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, &o, &m, &err), 0);
        assert_int_equal(m.n, 1);
        assert_string_equal(m.jobs[0].job->name, "Gamma");
        assert_int_equal(m.n_failing, 2);
        cw_model_jobs_release(&m);
        /* A name filter counts the jobs it matches. */
        o = (cw_model_jobs_opts){.name_contains = "alp", .limit = 1};
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, &o, &m, &err), 0);
        assert_int_equal(m.n_failing, 1);
        cw_model_jobs_release(&m);
        /* Alpha succeeds again: no longer failing. */
        add_run(w, "Alpha", "Alpha:x", CW_RUN_SUCCEEDED, w->now - 50, 1);
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, NULL, &m, &err), 0);
        assert_int_equal(m.n_failing, 1);
        cw_model_jobs_release(&m);

        assert_true(cw_model_status_failing(CW_RUN_FAILED));
        assert_true(cw_model_status_failing(CW_RUN_TIMED_OUT));
        assert_true(cw_model_status_failing(CW_RUN_LOST));
        assert_false(cw_model_status_failing(CW_RUN_KILLED));
        assert_false(cw_model_status_failing(CW_RUN_MISSED));
        assert_false(cw_model_status_failing(CW_RUN_SKIPPED));
        assert_false(cw_model_status_failing(CW_RUN_SUCCEEDED));
}

static void test_model_job_and_runs(void **state)
{
        world *w = *state;
        cw_model_job_detail d = {0};
        cw_model_runs_filter f = CW_MODEL_RUNS_FILTER_INIT;
        cw_model_runs runs = {0};
        cw_model_run run = {0};
        cw_error err;
        int64_t ids[5];

        for (int i = 0; i < 5; i++)
                ids[i] = add_run(w, "Alpha", "Alpha:x", i == 4 ? CW_RUN_FAILED : CW_RUN_SUCCEEDED,
                                 w->now - 100 + i * 10, i + 1);
        assert_int_equal(cw_model_job_get(w->cfg, w->store, w->now * 1000000, "Alpha", &d, &err),
                         0);
        assert_int_equal(d.n_recent, 5);
        assert_int_equal(d.recent[0].id, ids[4]);
        assert_int_equal(d.n_after, 0);
        assert_int_equal(d.n_before, 1);
        assert_string_equal(d.before[0]->name, "Beta");
        assert_int_equal(d.j.n_entries, 1);
        assert_int_equal(d.j.entries[0].n_next, CW_MODEL_NEXT_FIRES);
        assert_int_equal(d.j.entries[0].next_fires[1], iso("2027-01-02T05:30:00Z"));
        assert_int_equal(d.counts[CW_RUN_SUCCEEDED], 4);
        assert_int_equal(d.counts[CW_RUN_FAILED], 1);
        assert_true(d.p50 == 3.0);
        assert_true(d.p95 == 5.0);
        assert_true(d.failure_rate > 0.19 && d.failure_rate < 0.21);
        cw_model_job_detail_release(&d);
        assert_int_equal(cw_model_job_get(w->cfg, w->store, 0, "Beta", &d, &err), 0);
        assert_int_equal(d.n_after, 1);
        assert_string_equal(d.after[0]->name, "Alpha");
        assert_true(d.p50 < 0);
        cw_model_job_detail_release(&d);
        assert_int_equal(cw_model_job_get(w->cfg, w->store, 0, "Alpha' OR 1=1 --", &d, &err),
                         -ENOENT);
        assert_non_null(strstr(err.msg, "no job named"));

        /* Paging: two per page, newest first. */
        f.job = "Alpha";
        f.limit = 2;
        assert_int_equal(cw_model_runs_list(w->cfg, w->store, &f, &runs, &err), 0);
        assert_int_equal(runs.n, 2);
        assert_int_equal(runs.runs[0].id, ids[4]);
        assert_int_equal(runs.next_before, ids[3]);
        f.before_id = runs.next_before;
        cw_model_runs_release(&runs);
        assert_int_equal(cw_model_runs_list(w->cfg, w->store, &f, &runs, &err), 0);
        assert_int_equal(runs.runs[0].id, ids[2]);
        cw_model_runs_release(&runs);
        f.before_id = ids[1];
        assert_int_equal(cw_model_runs_list(w->cfg, w->store, &f, &runs, &err), 0);
        assert_int_equal(runs.n, 1);
        assert_int_equal(runs.next_before, 0);
        cw_model_runs_release(&runs);

        /* Query parsing names the parameter. */
        f = (cw_model_runs_filter)CW_MODEL_RUNS_FILTER_INIT;
        assert_int_equal(cw_model_parse_status("failed", &f, &err), 0);
        assert_int_equal(f.status, CW_RUN_FAILED);
        assert_int_equal(cw_model_parse_status("active", &f, &err), 0);
        assert_true(f.active);
        assert_int_equal(cw_model_parse_status("fail'ed", &f, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "status: unknown status 'fail'ed'"));
        assert_int_equal(cw_model_parse_limit("0", &f, &err), -EINVAL);
        assert_int_equal(cw_model_parse_limit("501", &f, &err), -EINVAL);
        assert_int_equal(cw_model_parse_limit("-1", &f, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "limit:"));
        assert_int_equal(cw_model_parse_limit("500", &f, &err), 0);
        assert_int_equal(cw_model_parse_before("12x", &f, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "before:"));
        assert_int_equal(cw_model_parse_before("99999999999999999999", &f, &err), -EINVAL);

        assert_int_equal(cw_model_run_get(w->cfg, w->store, ids[0], true, &run, &err), 0);
        assert_int_equal(run.output_len, 7);
        assert_memory_equal(run.output, "out\0put", 7);
        assert_non_null(run.job);
        cw_model_run_release(&run);
        assert_int_equal(cw_model_run_get(w->cfg, w->store, 424242, false, &run, &err), -ENOENT);
        assert_string_equal(err.msg, "no run 424242");
}

/* ---- actions ---------------------------------------------------------------- */

static void test_actions(void **state)
{
        world *w = *state;
        cw_http_req req = make_req(w, CW_HTTP_POST, "/x");
        const char *good[] = {"a, b", "sleep=5", "mode=x=y"};
        const char *bad_order[] = {"sleep=5", "a"};
        cw_model_scheduler sch = {0};
        cw_action_entry in = {0};
        cw_run_status st;
        cw_error err;
        int64_t id = 0, run;

        assert_int_equal(cw_action_request(&req, "Alpha:x", &id, NULL, &err), 0);
        assert_true(id > 0);
        /* The canonical spec comes back (the UI's flash shows it). */
        {
                char *canon = NULL;

                assert_int_equal(cw_action_request(&req, "Alpha:\"x\"", &id, &canon, &err), 0);
                assert_string_equal(canon, "Alpha:x");
                free(canon);
        }
        assert_int_equal(cw_action_request(&req, "Alpha:x,", &id, NULL, &err), -EINVAL);
        assert_int_equal(cw_action_request(&req, "Nope", &id, NULL, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "no job named 'Nope'"));
        assert_int_equal(cw_action_request(&req, "Alpha", &id, NULL, &err), -EINVAL);
        assert_int_equal(cw_action_request(&req, "", &id, NULL, &err), -EINVAL);
        assert_int_equal(cw_action_request_params(&req, "Alpha", good, 3, &id, &err), 0);
        assert_int_equal(cw_action_request_params(&req, "Alpha", bad_order, 2, &id, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "params[1]"));
        assert_int_equal(cw_action_request_params(&req, "Alpha", NULL, 0, &id, &err), -EINVAL);
        assert_int_equal(cw_action_request_params(&req, "Al pha", NULL, 0, &id, &err), -EINVAL);
        assert_int_equal(cw_model_scheduler_get(w->cfg, w->store, &sch, &err), 0);
        assert_int_equal(sch.n_pending, 3);
        assert_string_equal(sch.pending[0].spec, "Alpha:x");
        assert_string_equal(sch.pending[1].spec, "Alpha:x"); /* queued canonical */
        assert_string_equal(sch.pending[2].spec, "Alpha:\"a, b\",sleep=5,mode=\"x=y\"");
        assert_string_equal(sch.pending[2].by, "tester");
        cw_model_scheduler_release(&sch);

        assert_int_equal(cw_action_job_enable(&req, "Beta", false, &err), 0);
        assert_int_equal(cw_action_job_enable(&req, "Nope", false, &err), -ENOENT);
        assert_int_equal(cw_action_scheduler_enable(&req, false, &err), 0);
        assert_int_equal(cw_model_scheduler_get(w->cfg, w->store, &sch, &err), 0);
        assert_false(sch.enabled);
        cw_model_scheduler_release(&sch);

        run = add_run(w, "Alpha", "Alpha:x", CW_RUN_SUCCEEDED, w->now - 10, 1);
        assert_int_equal(cw_action_kill(&req, run, &st, &err), -ESTALE);
        assert_non_null(strstr(err.msg, "not running (it is succeeded)"));
        assert_int_equal(cw_action_kill(&req, 999999, &st, &err), -ENOENT);
        assert_int_equal(cw_action_http_status(-ESTALE), 409);

        in = (cw_action_entry){
                .schedule = "every 2h", .spec = "Alpha:q", .description = "d", .enabled = true};
        assert_int_equal(cw_action_entry_create(&req, &in, &id, &err), 0);
        in.schedule = "61 * * * *";
        assert_int_equal(cw_action_entry_update(&req, id, &in, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "schedule: "));
        in.schedule = "@hourly";
        assert_int_equal(cw_action_entry_update(&req, id + 1, &in, &err), -ENOENT);
        in.spec = NULL;
        in.command = "/bin/echo hi";
        assert_int_equal(cw_action_entry_create(&req, &in, &id, &err), -EPERM);
        assert_int_equal(cw_action_http_status(-EPERM), 403);
        assert_int_equal(cw_action_entry_delete(&req, id, &err), 0);
        assert_int_equal(cw_action_entry_delete(&req, id, &err), -ENOENT);
}

/* ---- API handlers ----------------------------------------------------------- */

static const cw_http_route *find_route(const cw_http_route *t, cw_http_method m,
                                       const char *pattern)
{
        for (; t->pattern; t++)
                if ((t->methods & m) && strcmp(t->pattern, pattern) == 0)
                        return t;
        fail_msg("no route %s", pattern);
        return NULL;
}

/* Calls the handler of pattern with args and query; parses a JSON answer. */
static json_t *call(world *w, cw_http_method m, const char *pattern, const char *arg,
                    const cw_http_kv *query, size_t n_query, const char *body, int *ret_status)
{
        const cw_http_route *rt = find_route(cw_http_api_routes, m, pattern);
        cw_http_req req = make_req(w, m, pattern);
        cw_http_resp resp = {.status = 200, .body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        json_error_t jerr;
        json_t *j = NULL;

        if (arg) {
                req.args[0] = arg;
                req.n_args = 1;
        }
        req.query = query;
        req.n_query = n_query;
        if (body) {
                req.body = body;
                req.body_len = strlen(body);
                req.content_type = "application/json";
        }
        assert_int_equal(rt->flags & CW_ROUTE_API, CW_ROUTE_API);
        assert_int_equal(rt->handler(&req, &resp), 0);
        *ret_status = resp.status;
        if (resp.status != 204) {
                assert_non_null(resp.content_type);
                assert_string_equal(resp.content_type, "application/json");
                j = json_loadb(resp.body.p, resp.body.len, 0, &jerr);
                if (!j)
                        fail_msg("not JSON (%s): %.*s", jerr.text, (int)resp.body.len, resp.body.p);
        }
        cw_buf_release(&resp.body);
        free(resp.location);
        return j;
}

static const char *error_message(json_t *j)
{
        return json_string_value(json_object_get(json_object_get(j, "error"), "message"));
}

static void test_api(void **state)
{
        world *w = *state;
        cw_http_kv q_bad_limit[] = {{"limit", "abc"}};
        cw_http_kv q_evil[] = {{"job", "x' OR '1'='1"}, {"status", "failed"}};
        cw_http_kv q_ok[] = {{"job", "Alpha"}, {"limit", "1"}};
        json_t *j;
        int status;
        int64_t run = add_run(w, "Alpha", "Alpha:x", CW_RUN_SUCCEEDED, w->now - 10, 2);
        char id[32];

        j = call(w, CW_HTTP_GET, "/api/v1/jobs", NULL, NULL, 0, NULL, &status);
        assert_int_equal(status, 200);
        assert_int_equal(json_array_size(json_object_get(j, "jobs")), 3);
        assert_string_equal(json_string_value(json_object_get(
                                    json_array_get(json_object_get(j, "jobs"), 0), "name")),
                            "Alpha");
        assert_int_equal(
                json_integer_value(json_object_get(
                        json_object_get(json_array_get(json_object_get(j, "jobs"), 0), "last_run"),
                        "id")),
                run);
        json_decref(j);

        j = call(w, CW_HTTP_GET, "/api/v1/jobs/%", "Beta", NULL, 0, NULL, &status);
        assert_int_equal(status, 200);
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "after"), 0)),
                            "Alpha");
        assert_int_equal(json_array_size(json_object_get(
                                 json_array_get(json_object_get(j, "schedules"), 0), "next_fires")),
                         10);
        json_decref(j);
        j = call(w, CW_HTTP_GET, "/api/v1/jobs/%", "Beta'--", NULL, 0, NULL, &status);
        assert_int_equal(status, 404);
        json_decref(j);

        j = call(w, CW_HTTP_GET, "/api/v1/runs", NULL, q_bad_limit, 1, NULL, &status);
        assert_int_equal(status, 400);
        assert_non_null(strstr(error_message(j), "limit:"));
        json_decref(j);
        j = call(w, CW_HTTP_GET, "/api/v1/runs", NULL, q_evil, 2, NULL, &status);
        assert_int_equal(status, 200);
        assert_int_equal(json_array_size(json_object_get(j, "runs")), 0);
        json_decref(j);
        j = call(w, CW_HTTP_GET, "/api/v1/runs", NULL, q_ok, 2, NULL, &status);
        assert_int_equal(status, 200);
        assert_int_equal(json_array_size(json_object_get(j, "runs")), 1);
        json_decref(j);

        snprintf(id, sizeof(id), "%lld", (long long)run);
        j = call(w, CW_HTTP_GET, "/api/v1/runs/%", id, NULL, 0, NULL, &status);
        assert_int_equal(status, 200);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "succeeded");
        assert_true(json_real_value(json_object_get(j, "duration")) == 2.0);
        json_decref(j);
        j = call(w, CW_HTTP_GET, "/api/v1/runs/%", "1;DROP", NULL, 0, NULL, &status);
        assert_int_equal(status, 400);
        json_decref(j);
        j = call(w, CW_HTTP_POST, "/api/v1/runs/%/kill", id, NULL, 0, NULL, &status);
        assert_int_equal(status, 409);
        json_decref(j);

        j = call(w, CW_HTTP_POST, "/api/v1/requests", NULL, NULL, 0, "{\"spec\": \"Alpha:z\"}",
                 &status);
        assert_int_equal(status, 202);
        assert_true(json_integer_value(json_object_get(j, "id")) > 0);
        json_decref(j);
        j = call(w, CW_HTTP_POST, "/api/v1/requests", NULL, NULL, 0,
                 "{\"job\": \"Alpha\", \"params\": [\"a\", \"sleep=1\"]}", &status);
        assert_int_equal(status, 202);
        json_decref(j);
        j = call(w, CW_HTTP_POST, "/api/v1/requests", NULL, NULL, 0,
                 "{\"job\": \"Alpha\", \"params\": [1]}", &status);
        assert_int_equal(status, 400);
        json_decref(j);
        j = call(w, CW_HTTP_POST, "/api/v1/requests", NULL, NULL, 0, "{\"spec\": \"Alpha\"}",
                 &status);
        assert_int_equal(status, 422);
        json_decref(j);
        j = call(w, CW_HTTP_POST, "/api/v1/requests", NULL, NULL, 0, "{\"spec\": ", &status);
        assert_int_equal(status, 400);
        assert_non_null(strstr(error_message(j), "not valid JSON"));
        json_decref(j);
        j = call(w, CW_HTTP_GET, "/api/v1/requests", NULL, NULL, 0, NULL, &status);
        assert_int_equal(json_array_size(json_object_get(j, "requests")), 2);
        json_decref(j);

        j = call(w, CW_HTTP_POST, "/api/v1/scheduler", NULL, NULL, 0, "{\"enabled\": false}",
                 &status);
        assert_int_equal(status, 200);
        assert_true(json_is_false(json_object_get(j, "enabled")));
        json_decref(j);
        j = call(w, CW_HTTP_POST, "/api/v1/scheduler", NULL, NULL, 0, "{\"enabled\": \"no\"}",
                 &status);
        assert_int_equal(status, 400);
        json_decref(j);

        j = call(
                w, CW_HTTP_POST, "/api/v1/entries", NULL, NULL, 0,
                "{\"schedule\": \"*/5 * * * *\", \"spec\": \"Beta\", \"description\": \"it's 100%_\"}",
                &status);
        assert_int_equal(status, 201);
        assert_true(json_is_true(json_object_get(j, "valid")));
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(j, "id")));
        assert_string_equal(json_string_value(json_object_get(j, "description")), "it's 100%_");
        json_decref(j);
        j = call(w, CW_HTTP_PUT, "/api/v1/entries/%", id, NULL, 0,
                 "{\"schedule\": \"*/5 * * *\", \"spec\": \"Beta\"}", &status);
        assert_int_equal(status, 422);
        assert_non_null(strstr(error_message(j), "schedule:"));
        json_decref(j);
        j = call(w, CW_HTTP_PUT, "/api/v1/entries/%", id, NULL, 0,
                 "{\"schedule\": \"@daily\", \"spec\": \"Beta\", \"x\": 1}", &status);
        assert_int_equal(status, 400);
        json_decref(j);
        j = call(w, CW_HTTP_GET, "/api/v1/entries", NULL, NULL, 0, NULL, &status);
        assert_int_equal(json_array_size(json_object_get(j, "entries")), 1);
        json_decref(j);
        j = call(w, CW_HTTP_DELETE, "/api/v1/entries/%", id, NULL, 0, NULL, &status);
        assert_int_equal(status, 204);
        j = call(w, CW_HTTP_GET, "/api/v1/entries/%", id, NULL, 0, NULL, &status);
        assert_int_equal(status, 404);
        json_decref(j);
}

/* scheduled_at is the schedule entry's fire: null for a requested run,
 * although the store keeps the instant the request was taken. */
static void test_api_scheduled_at_only_for_scheduled_runs(void **state)
{
        static const struct {
                cw_trigger trigger;
                bool has_scheduled_at;
        } cases[] = {
                {CW_TRIGGER_SCHEDULE, true}, {CW_TRIGGER_REQUEST, false},
                {CW_TRIGGER_MANUAL, false},  {CW_TRIGGER_DEPENDENCY, false},
                {CW_TRIGGER_RETRY, false},
        };
        world *w = *state;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                cw_run r = {.job = (char *)"Beta",
                            .spec = (char *)"Beta",
                            .node = (char *)"n1",
                            .status = CW_RUN_RUNNING,
                            .trigger = cases[i].trigger,
                            .attempt = 1,
                            .scheduled_at = w->now - 60,
                            .started_us = (w->now - 59) * 1000000,
                            .exit_code = -1,
                            .progress_done = -1,
                            .progress_total = -1};
                char id[32];
                json_t *j;
                int status;

                assert_int_equal(cw_store_run_insert(w->store, &r), 0);
                snprintf(id, sizeof(id), "%lld", (long long)r.id);
                j = call(w, CW_HTTP_GET, "/api/v1/runs/%", id, NULL, 0, NULL, &status);
                assert_int_equal(status, 200);
                assert_string_equal(json_string_value(json_object_get(j, "trigger")),
                                    cw_trigger_to_string(cases[i].trigger));
                if (cases[i].has_scheduled_at) {
                        assert_string_equal(json_string_value(json_object_get(j, "scheduled_at")),
                                            "2026-12-31T23:59:00+00:00");
                        assert_int_equal(json_integer_value(json_object_get(j, "scheduled_at_ts")),
                                         w->now - 60);
                } else {
                        assert_true(json_is_null(json_object_get(j, "scheduled_at")));
                        assert_true(json_is_null(json_object_get(j, "scheduled_at_ts")));
                }
                assert_non_null(json_string_value(json_object_get(j, "started")));
                json_decref(j);
        }
}

static void test_metrics(void **state)
{
        world *w = *state;
        const cw_http_route *rt = find_route(cw_http_metrics_routes, CW_HTTP_GET, "/metrics");
        cw_http_req req = make_req(w, CW_HTTP_GET, "/metrics");
        cw_http_resp resp = {.status = 200, .body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};

        add_run(w, "Alpha", "Alpha:x", CW_RUN_SUCCEEDED, w->now - 10, 2);
        add_run(w, "Beta", "Beta", CW_RUN_RUNNING, w->now - 10, 0);
        req.want_json = false;
        assert_int_equal(rt->handler(&req, &resp), 0);
        assert_int_equal(resp.status, 200);
        assert_non_null(strstr(resp.content_type, "version=0.0.4"));
        assert_non_null(strstr(resp.body.p,
                               "cronwarden_runs_total{job=\"Alpha\",status=\"succeeded\"} 1\n"));
        /* One duration histogram for all jobs by default, none per job. */
        assert_non_null(
                strstr(resp.body.p, "cronwarden_run_duration_seconds_bucket{le=\"2.5\"} 1\n"));
        assert_non_null(
                strstr(resp.body.p, "cronwarden_run_duration_seconds_bucket{le=\"1\"} 0\n"));
        assert_non_null(strstr(resp.body.p, "cronwarden_run_duration_seconds_count 1\n"));
        assert_null(strstr(resp.body.p, "cronwarden_job_run_duration_seconds"));
        assert_non_null(strstr(
                resp.body.p, "cronwarden_last_run_status{job=\"Alpha\",status=\"succeeded\"} 1\n"));
        assert_non_null(
                strstr(resp.body.p, "cronwarden_last_run_duration_seconds{job=\"Alpha\"} 2\n"));
        assert_non_null(strstr(resp.body.p, "cronwarden_consecutive_failures{job=\"Alpha\"} 0\n"));
        assert_null(strstr(resp.body.p, "cronwarden_last_failure_timestamp_seconds{"));
        assert_non_null(strstr(resp.body.p, "cronwarden_running{job=\"Beta\"} 1\n"));
        assert_non_null(strstr(resp.body.p, "cronwarden_running{job=\"Alpha\"} 0\n"));
        assert_non_null(strstr(resp.body.p, "cronwarden_scheduler_enabled 1\n"));
        assert_non_null(strstr(resp.body.p, "cronwarden_lateness_seconds_count 0\n"));
        assert_null(resp.content_encoding);
        cw_buf_release(&resp.body);

        /* Per-job histograms when asked for. */
        req.query = &(const cw_http_kv){"job_histograms", "1"};
        req.n_query = 1;
        resp = (cw_http_resp){.status = 200, .body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        assert_int_equal(rt->handler(&req, &resp), 0);
        assert_int_equal(resp.status, 200);
        assert_non_null(
                strstr(resp.body.p,
                       "cronwarden_job_run_duration_seconds_bucket{job=\"Alpha\",le=\"2.5\"} 1\n"));
        assert_non_null(strstr(resp.body.p,
                               "cronwarden_job_run_duration_seconds_count{job=\"Alpha\"} 1\n"));
        assert_non_null(strstr(resp.body.p, "cronwarden_run_duration_seconds_count 1\n"));
        cw_buf_release(&resp.body);
        req.query = &(const cw_http_kv){"job_histograms", "maybe"};
        resp = (cw_http_resp){.status = 200, .body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        assert_int_equal(rt->handler(&req, &resp), 0);
        assert_int_equal(resp.status, 400);
        cw_buf_release(&resp.body);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
                T(test_compile),
                T(test_ui_entry_fires),
                T(test_model_jobs),
                T(test_model_failing_counts_every_page),
                T(test_model_job_and_runs),
                T(test_actions),
                T(test_api),
                T(test_api_scheduled_at_only_for_scheduled_runs),
                T(test_metrics),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
