/* test_entries.c - the jobs the admin UI makes from free command entries
 * (catalog/catalog.h, catalog/entries.h): their synthesis from [defaults],
 * the name rules, the policy (allow_ui_commands, a config job of the same
 * name), the one lookup every path uses (cw_job_resolve), a scheduler pass firing them,
 * and the read model listing them as jobs created in the UI.
 *
 * Each test gets a fresh temporary directory holding the store; the config
 * is loaded from a string with a fixed `now`. */
#include <errno.h>
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
        char started_job[16][64];
        int started_lock[16];
        int started_concurrency[16];
} world;

/* [defaults] sets what a UI job inherits, and things it must not. */
static const char base_ini[] = "[admin]\n"
                               "allow_ui_commands = %s\n"
                               "[defaults]\n"
                               "env = DEFAULTS_VAR=d\n"
                               "workdir = /tmp\n"
                               "timeout = 10m\n"
                               "kill_grace = 3s\n"
                               "nice = 5\n"
                               "retries = 2\n"
                               "lock = none\n"
                               "concurrency = allow\n"
                               "timezone = Europe/Warsaw\n"
                               "%s"
                               "[job Alpha]\n"
                               "command = /bin/true\n"
                               "args = what\n";

static void load_with(world *w, bool allow_commands, const char *extra)
{
        char text[4096];
        cw_config_opts opts = {.now = w->now};
        cw_config_errors errs = {0};
        cw_error e;
        int n;

        cw_config_free(w->cfg);
        w->cfg = NULL;
        n = snprintf(text, sizeof(text), "[cronwarden]\nnode = n1\ntimezone = UTC\ndata_dir = %s\n",
                     w->dir);
        snprintf(text + n, sizeof(text) - (size_t)n, base_ini, allow_commands ? "yes" : "no", "");
        if (extra)
                snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s", extra);
        if (cw_config_load_string("test.ini", text, strlen(text), &opts, &w->cfg, &errs) < 0)
                fail_msg("config: %s", errs.n ? errs.msgs[0] : "?");
        cw_config_errors_release(&errs);
        if (!w->store && cw_store_open("sqlite", w->dir, &w->store, &e) < 0)
                fail_msg("store: %s", e.msg);
}

static int setup(void **state)
{
        world *w = calloc(1, sizeof(*w));

        snprintf(w->dir, sizeof(w->dir), "/tmp/cw-test-entries-XXXXXX");
        if (!mkdtemp(w->dir))
                return -1;
        w->now = iso(NOW_ISO);
        load_with(w, true, NULL);
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

/* A stored command entry (as the API stores it); returns its id. */
static int64_t add_entry(world *w, const char *schedule, const char *command, bool enabled)
{
        cw_ui_entry e = {.schedule = (char *)schedule,
                         .command = (char *)command,
                         .description = (char *)"desc",
                         .enabled = enabled,
                         .created_us = w->now * 1000000,
                         .updated_us = w->now * 1000000};

        assert_int_equal(cw_store_ui_entry_add(w->store, &e), 0);
        return e.id;
}

/* ---- names ------------------------------------------------------------------ */

static void test_names(void **state)
{
        static const struct {
                const char *name;
                bool ok;
                int64_t id;
        } cases[] = {
                {"ui-1", true, 1},
                {"ui-42", true, 42},
                {"ui-922337203685477580", true, 922337203685477580LL},
                {"ui-0", false, 0},
                {"ui-01", false, 0},
                {"ui-", false, 0},
                {"ui-1x", false, 0},
                {"ui--1", false, 0},
                {"UI-1", false, 0},
                {"xui-1", false, 0},
                {"ui-1:a", false, 0},
                {"ui-9223372036854775807", false, 0}, /* 19 digits: longer than ids get here */
                {"Alpha", false, 0},
                {"", false, 0},
        };
        char buf[CW_UI_JOB_NAME_MAX];
        int64_t id;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                id = 0;
                assert_int_equal(cw_ui_job_name_parse(cases[i].name, &id), cases[i].ok);
                if (cases[i].ok)
                        assert_int_equal(id, cases[i].id);
        }
        assert_false(cw_ui_job_name_parse(NULL, NULL));
        cw_ui_job_name(7, buf);
        assert_string_equal(buf, "ui-7");
        assert_true(cw_ui_job_name_parse(buf, NULL));
}

/* ---- synthesis ------------------------------------------------------------- */

static void test_build_from_defaults(void **state)
{
        world *w = *state;
        cw_ui_entry e = {.id = 12,
                         .schedule = (char *)"@daily",
                         .command = (char *)"/bin/echo 'a b' c\\ d",
                         .description = (char *)"my entry",
                         .enabled = true};
        cw_ui_job *u = NULL;
        cw_error err;

        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), 0);
        assert_string_equal(u->job.name, "ui-12");
        assert_int_equal(u->entry_id, 12);
        assert_string_equal(u->job.description, "my entry");
        assert_string_equal(u->job.command, "/bin/echo 'a b' c\\ d");
        /* Split exactly like a config command = line, no shell. */
        assert_false(u->job.shell);
        assert_int_equal(u->job.argv.n, 3);
        assert_string_equal(u->job.argv.v[0], "/bin/echo");
        assert_string_equal(u->job.argv.v[1], "a b");
        assert_string_equal(u->job.argv.v[2], "c d");
        /* From [defaults]. */
        assert_int_equal(u->job.env.n, 1);
        assert_string_equal(u->job.env.v[0], "DEFAULTS_VAR=d");
        assert_string_equal(u->job.workdir, "/tmp");
        assert_int_equal(u->job.timeout, 600);
        assert_int_equal(u->job.kill_grace, 3);
        assert_true(u->job.nice_set);
        assert_int_equal(u->job.nice, 5);
        assert_int_equal(u->job.retries, 2);
        assert_string_equal(cw_tz_name(u->job.tz), "Europe/Warsaw");
        /* Its own lock, never two at once, never resumed, no params. */
        assert_int_equal(u->job.lock, CW_LOCK_CLASS);
        assert_null(u->job.lock_name);
        assert_int_equal(u->job.concurrency, CW_CONCURRENCY_FORBID);
        assert_false(u->job.can_resume);
        assert_int_equal(u->job.args.n, 0);
        assert_int_equal(u->job.options.n, 0);
        assert_int_equal(u->job.after.n, 0);
        assert_true(u->job.enabled);
        assert_false(cw_job_is_configured(w->cfg, &u->job));
        cw_ui_job_free(u);

        /* A disabled entry makes a disabled job. */
        e.enabled = false;
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), 0);
        assert_false(u->job.enabled);
        cw_ui_job_free(u);
        cw_ui_job_free(NULL);
}

static void test_build_errors(void **state)
{
        world *w = *state;
        cw_ui_entry e = {.id = 3,
                         .schedule = (char *)"@daily",
                         .command = (char *)"/bin/echo a | wc",
                         .enabled = true};
        cw_ui_job *u = NULL;
        char *why = NULL;
        cw_error err;

        /* Shell operators would become arguments: refused as in the config. */
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), -EINVAL);
        assert_null(u);
        e.command = (char *)"/bin/echo 'open";
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), -EINVAL);
        e.command = (char *)"   ";
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), -EINVAL);
        e.command = NULL;
        e.spec = (char *)"Alpha:x";
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "not a command"));
        e.spec = NULL;
        e.command = (char *)"sh -c 'echo a | wc'";
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), 0);
        cw_ui_job_free(u);
        u = NULL;

        /* allow_ui_commands off: no job, and the display says why. */
        load_with(w, false, NULL);
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), -EPERM);
        assert_null(u);
        assert_non_null(strstr(err.msg, "allow_ui_commands"));
        assert_int_equal(cw_ui_job_build_for_display(w->cfg, &e, &u, &why, &err), 0);
        assert_non_null(u);
        assert_non_null(why);
        assert_non_null(strstr(why, "allow_ui_commands"));
        cw_ui_job_free(u);
        free(why);
        u = NULL;
        why = NULL;

        /* A config job of the same name wins; the entry does not run. */
        load_with(w, true, "[job ui-3]\ncommand = /bin/true\n");
        assert_int_equal(cw_ui_job_build(w->cfg, &e, &u, &err), -EEXIST);
        assert_non_null(strstr(err.msg, "defines a job named 'ui-3'"));
        assert_int_equal(cw_ui_job_build_for_display(w->cfg, &e, &u, &why, &err), 0);
        assert_non_null(strstr(why, "ui-3"));
        cw_ui_job_free(u);
        free(why);
        why = NULL;
        e.id = 4;
        assert_int_equal(cw_ui_job_build_for_display(w->cfg, &e, &u, &why, &err), 0);
        assert_null(why);
        cw_ui_job_free(u);
}

/* ---- the one lookup ----------------------------------------------------------- */

static void test_resolve(void **state)
{
        world *w = *state;
        cw_job_ref ref = {0};
        cw_jobspec *js = NULL;
        cw_error err;
        int64_t id, spec_id;

        id = add_entry(w, "@daily", "/bin/echo hi", true);
        {
                cw_ui_entry se = {.schedule = (char *)"@daily",
                                  .spec = (char *)"Alpha:x",
                                  .description = (char *)"",
                                  .enabled = true};
                assert_int_equal(cw_store_ui_entry_add(w->store, &se), 0);
                spec_id = se.id;
        }
        char name[CW_UI_JOB_NAME_MAX], spec_name[CW_UI_JOB_NAME_MAX];
        cw_ui_job_name(id, name);
        cw_ui_job_name(spec_id, spec_name);

        /* A config job: no store needed, nothing owned. */
        assert_int_equal(cw_job_resolve(w->cfg, NULL, "Alpha", &ref, &err), 0);
        assert_true(cw_job_is_configured(w->cfg, ref.job));
        assert_null(ref.ui);
        cw_job_ref_release(&ref);

        assert_int_equal(cw_job_resolve(w->cfg, w->store, name, &ref, &err), 0);
        assert_non_null(ref.ui);
        assert_string_equal(ref.job->name, name);
        assert_string_equal(ref.job->argv.v[1], "hi");
        /* No params for a UI job; the spec must name it. */
        assert_int_equal(cw_jobspec_parse(name, &js, &err), 0);
        assert_int_equal(cw_job_check_spec(w->cfg, ref.job, js, &err), 0);
        cw_jobspec_free(js);
        assert_int_equal(cw_jobspec_parse("ui-1:x", &js, &err), 0);
        assert_int_equal(cw_job_check_spec(w->cfg, ref.job, js, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "takes no params"));
        cw_jobspec_free(js);
        cw_job_ref_release(&ref);
        assert_null(ref.job);

        /* Unknown names, a spec entry, no store, a deleted entry. */
        assert_int_equal(cw_job_resolve(w->cfg, w->store, "Nope", &ref, &err), -ENOENT);
        assert_string_equal(err.msg, "unknown job 'Nope'");
        assert_int_equal(cw_job_resolve(w->cfg, NULL, name, &ref, &err), -ENOENT);
        assert_int_equal(cw_job_resolve(w->cfg, w->store, spec_name, &ref, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "job spec 'Alpha:x'"));
        assert_int_equal(cw_job_resolve(w->cfg, w->store, "ui-999", &ref, &err), -ENOENT);
        assert_non_null(strstr(err.msg, "deleted"));
        assert_null(ref.job);

        /* allow_ui_commands turned off: the job is gone for every path. */
        load_with(w, false, NULL);
        assert_int_equal(cw_job_resolve(w->cfg, w->store, name, &ref, &err), -EPERM);
        assert_null(ref.job);
}

/* ---- compiled entries and a pass -------------------------------------------- */

static int fake_start(void *userdata, const cw_sched_action *a, int64_t *ret_run_id, cw_error *err)
{
        world *w = userdata;
        char when[CW_ISO8601_MAX];
        cw_run r = {.job = a->job->name,
                    .spec = (char *)a->spec,
                    .node = (char *)"n1",
                    .status = CW_RUN_SUCCEEDED,
                    .trigger = a->trigger,
                    .attempt = 1,
                    .scheduled_at = a->scheduled_at,
                    .started_us = w->now * 1000000,
                    .ended_us = w->now * 1000000,
                    .exit_code = 0,
                    .progress_done = -1,
                    .progress_total = -1};

        (void)err;
        assert_int_equal(cw_store_run_insert(w->store, &r), 0);
        *ret_run_id = r.id;
        cw_iso8601_format(a->scheduled_at, 0, when, sizeof(when));
        if (w->n_started < 16) {
                snprintf(w->started[w->n_started], sizeof(w->started[0]), "%s %s@%s",
                         cw_trigger_to_string(a->trigger), a->spec, when);
                snprintf(w->started_job[w->n_started], sizeof(w->started_job[0]), "%s",
                         a->job->name);
                w->started_lock[w->n_started] = a->job->lock;
                w->started_concurrency[w->n_started] = a->job->concurrency;
        }
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

        w->now = cw_instant_sec(o.now);
        assert_int_equal(cw_ui_entries_load(w->cfg, w->store, w->now, &extra, &n, &invalid), 0);
        o.extra_entries = extra;
        o.n_extra_entries = n;
        if (cw_sched_pass(&o, &res, &err) < 0)
                fail_msg("pass: %s", err.msg);
        cw_schedule_entries_free(extra, n);
        return res;
}

static void test_compile_stored(void **state)
{
        world *w = *state;
        cw_ui_entry e = {.id = 9,
                         .schedule = (char *)"H * * * *",
                         .command = (char *)"/bin/true",
                         .enabled = true};
        cw_schedule_entry se;
        const cw_tz *tz = NULL;
        cw_ui_field field;
        cw_error err;

        assert_int_equal(cw_ui_entry_compile_stored(w->cfg, &e, w->now, &se, &tz, &field, &err), 0);
        assert_int_equal(se.job, CW_UI_ENTRY_JOB);
        assert_string_equal(se.spec_text, "ui-9");
        assert_string_equal(se.spec->name, "ui-9");
        assert_int_equal(se.spec->n_params, 0);
        assert_string_equal(cw_tz_name(tz), "Europe/Warsaw");
        cw_schedule_entry_release(&se);
        /* Shell operators are refused when the entry is made, too. */
        assert_int_equal(cw_ui_entry_compile(w->cfg, "@daily", NULL, "/bin/echo a > /tmp/x", w->now,
                                             NULL, NULL, &field, &err),
                         -EINVAL);
        assert_int_equal(field, CW_UI_FIELD_COMMAND);
        load_with(w, false, NULL);
        assert_int_equal(cw_ui_entry_compile_stored(w->cfg, &e, w->now, &se, &tz, &field, &err),
                         -EPERM);
        assert_int_equal(field, CW_UI_FIELD_COMMAND);
}

/* A job spec entry and a config `run =` line go through one compile: the
 * same entry is refused for the same reason, about the same field. */
static void test_same_errors_as_config(void **state)
{
        static const struct {
                const char *schedule, *spec;
                cw_ui_field field;
                const char *msg;
        } cases[] = {
                {"*/5 * * * *", "Nope", CW_UI_FIELD_SPEC, "unknown job 'Nope'"},
                {"@daily", "Alpha", CW_UI_FIELD_SPEC,
                 "job 'Alpha' takes 1 positional param (what), got 0"},
                {"@daily", "Alpha:x,", CW_UI_FIELD_SPEC, "empty param"},
                {"0 0 31 4 *", "Alpha:x", CW_UI_FIELD_SCHEDULE, "never fires"},
                {"61 * * * *", "Alpha:x", CW_UI_FIELD_SCHEDULE,
                 "bad minute field: 61 is out of range 0-59"},
        };
        world *w = *state;

        for (size_t i = 0; i < CW_ARRAY_SIZE(cases); i++) {
                char ini[256], text[4096];
                cw_config_opts opts = {.now = w->now};
                cw_config_errors errs = {0};
                cw_config *c = NULL;
                cw_ui_field field;
                cw_error err;
                const char *m;
                int n;

                assert_int_equal(cw_ui_entry_compile(w->cfg, cases[i].schedule, cases[i].spec, NULL,
                                                     w->now, NULL, NULL, &field, &err),
                                 -EINVAL);
                assert_int_equal(field, cases[i].field);
                if (!strstr(err.msg, cases[i].msg))
                        fail_msg("case %zu: got '%s'", i, err.msg);
                /* The config loader says the same of the same line. */
                snprintf(ini, sizeof(ini), "[schedule]\nrun = %s %s\n", cases[i].schedule,
                         cases[i].spec);
                n = snprintf(text, sizeof(text), "[cronwarden]\ntimezone = UTC\ndata_dir = %s\n",
                             w->dir);
                snprintf(text + n, sizeof(text) - (size_t)n, base_ini, "yes", ini);
                assert_int_equal(
                        cw_config_load_string("test.ini", text, strlen(text), &opts, &c, &errs),
                        -EINVAL);
                assert_int_equal(errs.n, 1);
                m = strstr(errs.msgs[0], ": run: ");
                assert_non_null(m);
                m += strlen(": run: ");
                if (strncmp(m, "bad job spec: ", 14) == 0)
                        m += 14;
                assert_memory_equal(m, err.msg, strlen(err.msg));
                assert_true(m[strlen(err.msg)] == '\n' || m[strlen(err.msg)] == '\0');
                cw_config_errors_release(&errs);
        }
}

/* A command entry fires through a pass as job ui-ID, once per instant, by
 * the job's own rules (lock class, forbid), only while enabled and allowed;
 * requests and the job's store flag reach it too. */
static void test_pass_fires_ui_job(void **state)
{
        world *w = *state;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0, invalid = 9;
        cw_schedule_entry *extra = NULL;
        char name[CW_UI_JOB_NAME_MAX];
        int64_t id, req;
        cw_ui_entry e = {0};

        pass_at(w, "2027-01-01T00:00:00Z"); /* first pass: sets last_pass */
        id = add_entry(w, "*/10 * * * *", "/bin/echo hi", true);
        cw_ui_job_name(id, name);
        assert_int_equal(cw_ui_entries_load(w->cfg, w->store, w->now, &extra, &n, &invalid), 0);
        assert_int_equal(n, 1);
        assert_int_equal(invalid, 0);
        cw_schedule_entries_free(extra, n);

        pass_at(w, "2027-01-01T00:10:00Z");
        assert_int_equal(w->n_started, 1);
        assert_string_equal(w->started_job[0], name);
        assert_int_equal(w->started_lock[0], CW_LOCK_CLASS);
        assert_int_equal(w->started_concurrency[0], CW_CONCURRENCY_FORBID);
        /* Evaluated in the [defaults] zone (Warsaw); every ten minutes is
         * the same instants in any zone. */
        assert_string_equal(w->started[0], "schedule ui-1@2027-01-01T00:10:00+00:00");
        /* The same window again (a concurrent tick): the claim stops it. */
        assert_int_equal(cw_store_state_set(w->store, "last_pass", "1798762140"), 0);
        pass_at(w, "2027-01-01T00:10:00Z");
        assert_int_equal(w->n_started, 1);

        /* Run now (a request naming the job). */
        assert_int_equal(cw_store_request_add(w->store, name, "tester", w->now * 1000000, &req), 0);
        pass_at(w, "2027-01-01T00:11:00Z");
        assert_int_equal(w->n_started, 2);
        assert_string_equal(w->started[1], "request ui-1@2027-01-01T00:11:00+00:00");

        /* Disabled by its store flag: fires are recorded as skipped. */
        assert_int_equal(cw_store_job_enabled_set(w->store, name, false), 0);
        pass_at(w, "2027-01-01T00:20:00Z");
        assert_int_equal(w->n_started, 2);
        f.job = name;
        f.status = CW_RUN_SKIPPED;
        assert_int_equal(cw_store_runs_list(w->store, &f, &runs, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(runs[0].reason, "job ui-1 is disabled");
        cw_runs_free(runs, n);
        assert_int_equal(cw_store_job_enabled_set(w->store, name, true), 0);

        /* The entry disabled: no fire at all (as a disabled spec entry). */
        assert_int_equal(cw_store_ui_entry_get(w->store, id, &e), 0);
        e.enabled = false;
        assert_int_equal(cw_store_ui_entry_update(w->store, &e), 0);
        pass_at(w, "2027-01-01T00:30:00Z");
        assert_int_equal(w->n_started, 2);
        e.enabled = true;
        assert_int_equal(cw_store_ui_entry_update(w->store, &e), 0);
        cw_ui_entry_release(&e);

        /* allow_ui_commands off: neither fires nor requests start it. */
        load_with(w, false, NULL);
        assert_int_equal(cw_store_request_add(w->store, name, "tester", w->now * 1000000, &req), 0);
        pass_at(w, "2027-01-01T00:40:00Z");
        assert_int_equal(w->n_started, 2);
        assert_int_equal(cw_ui_entries_load(w->cfg, w->store, w->now, &extra, &n, &invalid), 0);
        assert_int_equal(n, 0);
        assert_int_equal(invalid, 1);
        cw_schedule_entries_free(extra, n);

        /* Back on: fires again, under the same name. */
        load_with(w, true, NULL);
        pass_at(w, "2027-01-01T00:50:00Z");
        assert_int_equal(w->n_started, 3);
        assert_string_equal(w->started_job[2], name);
}

/* ---- read model and actions --------------------------------------------------- */

static void test_model_lists_ui_jobs(void **state)
{
        world *w = *state;
        cw_http_req req = {.method = CW_HTTP_POST,
                           .path = "/x",
                           .body = "",
                           .content_type = "",
                           .client = "127.0.0.1",
                           .user = "tester",
                           .now_us = w->now * 1000000,
                           .cfg = w->cfg,
                           .store = w->store,
                           .want_json = true};
        cw_model_jobs m = {0};
        cw_model_job_detail d = {0};
        cw_model_ui_entries ents = {0};
        cw_model_run mr = {0};
        cw_error err;
        char name[CW_UI_JOB_NAME_MAX];
        int64_t id, req_id, run;

        id = add_entry(w, "0 12 * * *", "/bin/echo hi", true);
        cw_ui_job_name(id, name);
        {
                cw_run r = {.job = name,
                            .spec = name,
                            .node = (char *)"n1",
                            .status = CW_RUN_RUNNING,
                            .trigger = CW_TRIGGER_MANUAL,
                            .attempt = 1,
                            .started_us = w->now * 1000000,
                            .exit_code = -1,
                            .progress_done = -1,
                            .progress_total = -1};
                assert_int_equal(cw_store_run_insert(w->store, &r), 0);
                run = r.id;
        }
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, NULL, &m, &err), 0);
        assert_int_equal(m.n, 2);
        assert_int_equal(m.total, 2);
        assert_string_equal(m.jobs[0].job->name, "Alpha");
        assert_int_equal(m.jobs[0].ui_entry, 0);
        assert_string_equal(m.jobs[1].job->name, name);
        assert_int_equal(m.jobs[1].ui_entry, id);
        assert_null(m.jobs[1].ui_why_not);
        assert_true(m.jobs[1].enabled);
        assert_int_equal(m.jobs[1].n_entries, 1);
        assert_int_equal(m.jobs[1].entries[0].ui_id, id);
        assert_int_equal(m.jobs[1].running.id, run);
        cw_model_jobs_release(&m);
        /* Filtered by name. */
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000,
                                           &(cw_model_jobs_opts){.name_contains = "ui-"}, &m, &err),
                         0);
        assert_int_equal(m.n, 1);
        cw_model_jobs_release(&m);

        assert_int_equal(cw_model_job_get(w->cfg, w->store, w->now * 1000000, name, &d, &err), 0);
        assert_int_equal(d.j.ui_entry, id);
        assert_int_equal(d.n_recent, 1);
        assert_int_equal(d.j.entries[0].n_next, CW_MODEL_NEXT_FIRES);
        cw_model_job_detail_release(&d);

        assert_int_equal(cw_model_ui_entries_list(w->cfg, w->store, w->now * 1000000, &ents, &err),
                         0);
        assert_int_equal(ents.n, 1);
        assert_true(ents.entries[0].valid);
        assert_string_equal(ents.entries[0].job, name);
        assert_string_equal(ents.entries[0].zone, "Europe/Warsaw");
        cw_model_ui_entries_release(&ents);

        assert_int_equal(cw_model_run_get(w->cfg, w->store, run, false, &mr, &err), 0);
        assert_non_null(mr.job);
        assert_string_equal(mr.job->name, name);
        cw_model_run_release(&mr);

        /* Run now and enable/disable find it. */
        assert_int_equal(cw_action_request(&req, name, &req_id, NULL, &err), 0);
        assert_int_equal(cw_action_request_params(&req, name, NULL, 0, &req_id, &err), 0);
        assert_int_equal(cw_action_request(&req, "ui-1:x", &req_id, NULL, &err), -EINVAL);
        assert_int_equal(cw_action_job_enable(&req, name, false, &err), 0);
        assert_int_equal(cw_action_request(&req, "ui-77", &req_id, NULL, &err), -EINVAL);

        /* Not allowed any more: still listed, marked, and not requestable. */
        load_with(w, false, NULL);
        req.cfg = w->cfg;
        assert_int_equal(cw_model_jobs_get(w->cfg, w->store, w->now * 1000000, NULL, &m, &err), 0);
        assert_int_equal(m.n, 2);
        assert_non_null(m.jobs[1].ui_why_not);
        assert_non_null(strstr(m.jobs[1].ui_why_not, "allow_ui_commands"));
        assert_int_equal(m.jobs[1].n_entries, 0);
        cw_model_jobs_release(&m);
        assert_int_equal(cw_action_request(&req, name, &req_id, NULL, &err), -EPERM);
        assert_int_equal(cw_action_http_status(-EPERM), 403);
        assert_int_equal(cw_model_ui_entries_list(w->cfg, w->store, w->now * 1000000, &ents, &err),
                         0);
        assert_false(ents.entries[0].valid);
        assert_non_null(strstr(ents.entries[0].error, "allow_ui_commands"));
        cw_model_ui_entries_release(&ents);

        /* Deleted: its history stays, the job is gone. */
        load_with(w, true, NULL);
        req.cfg = w->cfg;
        assert_int_equal(cw_action_entry_delete(&req, id, &err), 0);
        assert_int_equal(cw_model_job_get(w->cfg, w->store, w->now * 1000000, name, &d, &err),
                         -ENOENT);
        assert_int_equal(cw_model_run_get(w->cfg, w->store, run, false, &mr, &err), 0);
        assert_null(mr.job);
        assert_string_equal(mr.run.job, name);
        cw_model_run_release(&mr);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
                T(test_build_from_defaults),
                T(test_build_errors),
                T(test_resolve),
                T(test_compile_stored),
                T(test_same_errors_as_config),
                T(test_pass_fires_ui_job),
                T(test_model_lists_ui_jobs),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
