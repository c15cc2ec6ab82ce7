/* test_deploys.c - the pure parts of living through deploys: the config
 * diff (config/diff.h) and when schedule entries came into force
 * (sched/since.h). The processes (daemon, drain, tick) are covered by
 * tests/integration/test_deploys.py. */
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
#include "config/diff.h"
#include "sched/maint.h"
#include "sched/since.h"

/* ---- diff ---------------------------------------------------------------------------- */

static char *diff_text(const char *a, const char *b)
{
        cw_config_diff d = CW_CONFIG_DIFF_INIT;
        cw_buf out = CW_BUF_INIT(1 << 20);

        assert_int_equal(cw_config_diff_texts(a, strlen(a), b, strlen(b), &d), 0);
        assert_int_equal(cw_config_diff_format(&d, &out), 0);
        cw_config_diff_release(&d);
        return cw_buf_steal(&out, NULL);
}

static void test_diff_table(void **state)
{
        static const struct {
                const char *old_text, *new_text, *want;
        } cases[] = {
                {"[job A]\ncommand = x\n", "[job A]\ncommand = x\n", ""},
                /* Comments, blank lines and spacing are not changes. */
                {"[job A]\ncommand = x ; note\n", "# top\n[job   A]\n\ncommand=x\n", ""},
                {"[job A]\ncommand = x\n", "[job A]\ncommand = y\n", "~ [job A] command: x -> y\n"},
                {"[job A]\ncommand = x\n", "[job A]\ncommand = x\ntimeout = 1h\n",
                 "~ [job A] timeout: (unset) -> 1h\n"},
                {"[job A]\ncommand = x\ntimeout = 1h\n", "[job A]\ncommand = x\n",
                 "~ [job A] timeout: 1h -> (unset)\n"},
                {"[job A]\ncommand = x\n", "[job A]\ncommand = x\n[job B]\ncommand = y\n",
                 "+ [job B]\n"},
                {"[job A]\ncommand = x\n[job B]\ncommand = y\n", "[job B]\ncommand = y\n",
                 "- [job A]\n"},
                /* Repeated keys: the lines that went and came. */
                {"[schedule]\nrun = @daily A\nrun = @hourly B\n",
                 "[schedule]\nrun = @hourly B\nrun = @weekly A\n",
                 "~ [schedule] run: - @daily A\n~ [schedule] run: + @weekly A\n"},
                /* Continuation lines belong to their key. */
                {"[job A]\ncommand = a\n  b\n", "[job A]\ncommand = a\n  c\n",
                 "~ [job A] command: - b\n~ [job A] command: + c\n"},
                /* Secrets never show. */
                {"[admin]\npassword_hash = $argon2id$old\n",
                 "[admin]\npassword_hash = $argon2id$new\n",
                 "~ [admin] password_hash: a secret value changed\n"},
                {"[job A]\nsecret_env = T\nenv = T=old\nenv = P=1\n",
                 "[job A]\nsecret_env = T\nenv = T=new\nenv = P=1\n",
                 "~ [job A] env: a secret value changed\n"},
                {"[job A]\nsecret_env = T\nenv = P=1\n",
                 "[job A]\nsecret_env = T\nenv = P=2\nenv = T=x\n",
                 "~ [job A] env: - P=1\n~ [job A] env: + P=2\n~ [job A] env: + T=***\n"},
        };
        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *got = diff_text(cases[i].old_text, cases[i].new_text);
                if (strcmp(got, cases[i].want) != 0)
                        fail_msg("case %zu: got\n%s\nwant\n%s", i, got, cases[i].want);
                free(got);
        }
}

static cw_config *load(const char *text)
{
        cw_config_opts opts = {.now = iso("2030-01-01T00:00:00Z")};
        cw_config_errors errs = {0};
        cw_config *c = NULL;
        char full[1024];

        snprintf(full, sizeof(full), "[cronwarden]\ndata_dir = /tmp\ntimezone = UTC\n%s", text);
        if (cw_config_load_string("t.ini", full, strlen(full), &opts, &c, &errs) < 0)
                fail_msg("config: %s", errs.n ? errs.msgs[0] : "?");
        cw_config_errors_release(&errs);
        return c;
}

static void test_diff_next_fires(void **state)
{
        const char *a = "[job A]\ncommand = x\nschedule = 0 * * * *\n";
        const char *b = "[job A]\ncommand = x\nschedule = 30 * * * *\n";
        cw_config *ca = load(a), *cb = load(b);
        cw_config_diff d = CW_CONFIG_DIFF_INIT;

        (void)state;
        assert_int_equal(cw_config_diff_texts(a, strlen(a), b, strlen(b), &d), 0);
        cw_config_diff_add_fires(&d, ca, cb, iso("2030-01-01T10:45:00Z"));
        assert_int_equal(d.n, 1);
        assert_true(d.items[0].has_fires);
        assert_int_equal(d.items[0].fires_old[0], iso("2030-01-01T11:00:00Z"));
        assert_int_equal(d.items[0].fires_old[2], iso("2030-01-01T13:00:00Z"));
        assert_int_equal(d.items[0].fires_new[0], iso("2030-01-01T11:30:00Z"));
        cw_config_diff_release(&d);
        cw_config_free(ca);
        cw_config_free(cb);
}

static void test_version_and_text_value(void **state)
{
        char v1[CW_CONFIG_VERSION_LEN + 1], v2[CW_CONFIG_VERSION_LEN + 1];
        char *dd;

        (void)state;
        cw_config_version("a", 1, v1);
        cw_config_version("b", 1, v2);
        assert_int_equal(strlen(v1), CW_CONFIG_VERSION_LEN);
        assert_string_not_equal(v1, v2);
        dd = cw_config_text_value("[cronwarden]\ndata_dir = rel/dir\n[job A]\n", 40, "cronwarden",
                                  "data_dir");
        assert_string_equal(dd, "rel/dir");
        free(dd);
        assert_null(cw_config_text_value("[job A]\n", 8, "cronwarden", "data_dir"));
}

/* ---- maintenance windows ----------------------------------------------------------- */

static void test_maint_windows(void **state)
{
        cw_config *c = load(
                "[job A]\ncommand = x\nduring_maintenance = defer\n"
                "[job B]\ncommand = x\n"
                "[job C]\ncommand = x\n"
                "[maintenance nightly]\nschedule = 0 2 * * *\nduration = 30m\njobs = A, B\n"
                /* Touches nightly's end: A's window runs on to 02:45. */
                "[maintenance tail]\nstart = 2030-01-02T02:30:00Z\nend = 2030-01-02T02:45:00Z\njobs = A\n"
                "[maintenance zoned]\nschedule = 0 5 * * *\nduration = 1h\ntimezone = Europe/Warsaw\n"
                "jobs = all\n");
        static const struct {
                const char *job, *at, *window, *end;
                bool deferred;
        } cases[] = {
                {"A", "2030-01-01T01:59:59Z", NULL, NULL, false},
                {"A", "2030-01-01T02:00:00Z", "nightly", "2030-01-01T02:30:00Z", true},
                {"A", "2030-01-01T02:29:59Z", "nightly", "2030-01-01T02:30:00Z", true},
                {"A", "2030-01-01T02:30:00Z", NULL, NULL, false},
                {"B", "2030-01-01T02:10:00Z", "nightly", NULL, false},
                {"C", "2030-01-01T02:10:00Z", NULL, NULL, false},
                /* Chained: nightly then tail. */
                {"A", "2030-01-02T02:10:00Z", "nightly", "2030-01-02T02:45:00Z", true},
                {"A", "2030-01-02T02:40:00Z", "tail", "2030-01-02T02:45:00Z", true},
                {"B", "2030-01-02T02:40:00Z", NULL, NULL, false},
                /* 05:00 in Warsaw is 04:00 UTC in winter. */
                {"C", "2030-01-01T04:30:00Z", "zoned", NULL, false},
                {"C", "2030-01-01T05:30:00Z", NULL, NULL, false},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const cw_job *job = cw_config_job(c, cases[i].job);
                cw_maint_effect fx = cw_maint_effect_of(c, job, iso(cases[i].at));
                if (!cases[i].window) {
                        if (fx.window)
                                fail_msg("case %zu: window %s, want none", i, fx.window->name);
                        continue;
                }
                if (!fx.window || strcmp(fx.window->name, cases[i].window) != 0)
                        fail_msg("case %zu: window %s, want %s", i,
                                 fx.window ? fx.window->name : "none", cases[i].window);
                assert_int_equal(fx.deferred, cases[i].deferred);
                if (cases[i].end)
                        assert_int_equal(fx.to, iso(cases[i].end));
        }
        assert_true(cw_maint_any(c, cw_config_job(c, "C")));
        /* The chain nightly + tail begins at nightly's opening. */
        assert_int_equal(cw_maint_chain_open(c, cw_config_job(c, "A"), iso("2030-01-02T02:40:00Z")),
                         iso("2030-01-02T02:00:00Z"));
        assert_int_equal(cw_maint_chain_open(c, cw_config_job(c, "A"), iso("2030-01-02T03:00:00Z")),
                         iso("2030-01-02T03:00:00Z"));
        cw_config_free(c);
}

/* ---- since ----------------------------------------------------------------------------- */

typedef struct world {
        char dir[64];
        cw_store *store;
} world;

static int setup(void **state)
{
        world *w = calloc(1, sizeof(*w));
        cw_error e;

        snprintf(w->dir, sizeof(w->dir), "/tmp/cw-test-deploys-XXXXXX");
        if (!mkdtemp(w->dir) || cw_store_open("sqlite", w->dir, &w->store, &e) < 0)
                return -1;
        *state = w;
        return 0;
}

static int teardown(void **state)
{
        world *w = *state;

        cw_store_close(w->store);
        test_remove_tree(w->dir);
        free(w);
        return 0;
}

/* One pass's view: the since of each entry of cfg, then saved. */
static void pass(world *w, const cw_config *cfg, cw_time last, cw_time now, cw_time changed_at,
                 cw_time *out, bool *edited)
{
        cw_sched_since *s = NULL;

        assert_int_equal(cw_sched_since_load(w->store, last, now, &s), 0);
        for (size_t i = 0; i < cfg->n_entries; i++)
                out[i] = cw_sched_since_get(s, &cfg->entries[i], cfg->jobs[cfg->entries[i].job].tz,
                                            changed_at, &edited[i]);
        assert_int_equal(cw_sched_since_save(s, w->store), 0);
        cw_sched_since_free(s);
}

static void test_since(void **state)
{
        world *w = *state;
        cw_config *c1 = load(
                "[job A]\ncommand = x\nschedule = 0 * * * *\n[job B]\ncommand = x\nschedule = 0 * * * *\n");
        cw_config *c2 = load(
                "[job A]\ncommand = x\nschedule = 30 * * * *\n[job B]\ncommand = x\nschedule = 0 * * * *\n");
        cw_time t0 = iso("2030-01-01T10:00:00Z"), t1 = iso("2030-01-01T10:45:00Z");
        cw_time since[2];
        bool edited[2];

        /* No set yet (a store from before it): in force since the last pass. */
        pass(w, c1, t0 - 60, t0, 0, since, edited);
        assert_int_equal(since[0], t0 - 60);
        assert_false(edited[0]);
        /* The same config again: unchanged. */
        pass(w, c1, t0, t1, 0, since, edited);
        assert_int_equal(since[0], t0 - 60);
        assert_int_equal(since[1], t0 - 60);
        /* A edited: from the change (when it lies in [last, now]), else now. */
        pass(w, c2, t0, t1, t1 - 60, since, edited);
        assert_int_equal(since[0], t1 - 60);
        assert_true(edited[0]);
        assert_int_equal(since[1], t0 - 60);
        assert_false(edited[1]);
        /* Edited back, with a change instant before the last pass: now. */
        pass(w, c1, t1, t1 + 600, t0 - 3600, since, edited);
        assert_int_equal(since[0], t1 + 600);
        assert_true(edited[0]);
        assert_int_equal(since[1], t0 - 60);
        cw_config_free(c1);
        cw_config_free(c2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_diff_table),
                cmocka_unit_test(test_diff_next_fires),
                cmocka_unit_test(test_version_and_text_value),
                cmocka_unit_test(test_maint_windows),
                cmocka_unit_test_setup_teardown(test_since, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
