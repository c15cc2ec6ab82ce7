/* test_sched.c - scheduler passes driven by an injected clock and a fake
 * starter (no processes, no sleeping): windows, exactly-once claims,
 * catch_up, enable/disable, every, requests, retries, dependencies, clock
 * jumps and DST days. The starter records each started fire as a run
 * that finishes at once, succeeded or failed as the test says. */
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
#include "sched/jitter.h"
#include "sched/sched.h"

typedef struct world {
        char dir[256];
        cw_config *cfg;
        cw_store *store;
        const char *fail_job;   /* runs of this job fail */
        const char *broken_job; /* starting this job fails */
        size_t n_started;
        char started[64][160];   /* "SPEC@ISO#attempt:trigger" */
        cw_time now;             /* the pass's now (pass_at) */
        cw_time started_now[64]; /* the now of the pass that started each */
        int64_t lock_holder;     /* what the fake lock ops report */
        size_t n_stopped;        /* stop_holders calls */
} world;

static int fake_start(void *userdata, const cw_sched_action *a, int64_t *ret_run_id, cw_error *err)
{
        world *w = userdata;
        bool fail = w->fail_job && strcmp(a->job->name, w->fail_job) == 0;
        cw_run r = {0};
        char when[CW_ISO8601_MAX];
        int e;

        if (w->broken_job && strcmp(a->job->name, w->broken_job) == 0)
                return cw_error_fail(err, -EIO, "the worker could not load the config");
        r.job = a->job->name;
        r.spec = (char *)a->spec;
        r.node = w->cfg->node;
        r.status = CW_RUN_RUNNING;
        r.trigger = a->trigger;
        r.attempt = a->attempt;
        r.scheduled_at = a->scheduled_at;
        r.exit_code = -1;
        r.progress_done = r.progress_total = -1;
        r.started_us = a->scheduled_at * 1000000;
        e = cw_store_run_insert(w->store, &r);
        if (e < 0)
                return e;
        r.status = fail ? CW_RUN_FAILED : CW_RUN_SUCCEEDED;
        r.exit_code = fail ? 1 : 0;
        r.ended_us = r.started_us + 1000000;
        e = cw_store_run_finish(w->store, &r, "", 0);
        if (e < 0)
                return e;
        cw_iso8601_format(a->scheduled_at, 0, when, sizeof(when));
        if (w->n_started < 64)
                w->started_now[w->n_started] = w->now;
        if (w->n_started < 64)
                snprintf(w->started[w->n_started], sizeof(w->started[0]), "%s@%s#%d:%s", a->spec,
                         when, a->attempt, cw_trigger_to_string(a->trigger));
        w->n_started++;
        *ret_run_id = r.id;
        return 0;
}

static void load(world *w, const char *ini)
{
        char text[4096];
        cw_config_opts opts = {.now = iso("2027-01-01T00:00:00Z")};
        cw_config_errors errs = {0};
        cw_error e;

        snprintf(text, sizeof(text), "[cronwarden]\nnode = n1\ntimezone = UTC\ndata_dir = %s\n%s",
                 w->dir, ini);
        if (cw_config_load_string("test.ini", text, strlen(text), &opts, &w->cfg, &errs) < 0)
                fail_msg("config: %s", errs.n ? errs.msgs[0] : "?");
        cw_config_errors_release(&errs);
        if (cw_store_open("sqlite", w->dir, &w->store, &e) < 0)
                fail_msg("store: %s", e.msg);
}

static int setup(void **state)
{
        world *w = calloc(1, sizeof(*w));

        snprintf(w->dir, sizeof(w->dir), "/tmp/cw-test-sched-XXXXXX");
        if (!mkdtemp(w->dir))
                return -1;
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

/* Lock ops that report w->lock_holder for every job that has a lock, and
 * free the lock when asked to stop its holders. */
static int64_t fake_holder(void *userdata, const cw_config *cfg, cw_store *store, const cw_job *job,
                           const char *spec)
{
        world *w = userdata;

        (void)cfg;
        (void)store;
        (void)spec;
        return job->lock == CW_LOCK_NONE ? 0 : w->lock_holder;
}

static void fake_stop_holders(void *userdata, const cw_config *cfg, cw_store *store,
                              const cw_job *job, const char *spec, int64_t now_us)
{
        world *w = userdata;

        (void)cfg;
        (void)store;
        (void)job;
        (void)spec;
        (void)now_us;
        w->n_stopped++;
        w->lock_holder = 0;
}

static const cw_sched_lock_ops fake_locks = {.holder = fake_holder,
                                             .stop_holders = fake_stop_holders};

/* One pass at `when`; returns its result. */
static cw_sched_result pass_at(world *w, const char *when)
{
        cw_sched_opts o = {.cfg = w->cfg,
                           .store = w->store,
                           .start = fake_start,
                           .userdata = w,
                           .locks = &fake_locks};
        cw_sched_result res;
        cw_error e;

        o.now = cw_instant_from_sec(iso(when));
        w->now = iso(when);
        if (cw_sched_pass(&o, &res, &e) < 0)
                fail_msg("pass at %s: %s", when, e.msg);
        return res;
}

static size_t count_runs(world *w, int status)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs;
        size_t n;

        f.status = status;
        assert_int_equal(cw_store_runs_list(w->store, &f, &runs, &n), 0);
        cw_runs_free(runs, n);
        return n;
}

static void test_first_pass_and_window(void **state)
{
        world *w = *state;
        cw_sched_result r;

        load(w, "[job J]\ncommand = /bin/true\nschedule = */5 * * * *\n");
        r = pass_at(w, "2027-01-01T10:02:00Z");
        assert_true(r.first_pass);
        assert_int_equal(w->n_started, 0); /* nothing old on the first pass */
        r = pass_at(w, "2027-01-01T10:08:00Z");
        assert_false(r.first_pass);
        assert_int_equal(w->n_started, 1);
        assert_string_equal(w->started[0], "J@2027-01-01T10:05:00+00:00#1:schedule");
        r = pass_at(w, "2027-01-01T10:11:00Z");
        assert_int_equal(w->n_started, 2);
        assert_string_equal(w->started[1], "J@2027-01-01T10:10:00+00:00#1:schedule");
        /* Later than the 5m start deadline: missed; catch_up = once (the
         * default) runs the latest missed fire when no fire is on time. */
        r = pass_at(w, "2027-01-01T10:27:00Z");
        assert_int_equal(r.missed, 2);
        assert_int_equal(r.started, 1);
        assert_string_equal(w->started[2], "J@2027-01-01T10:25:00+00:00#1:schedule");
        /* The same instant again, or earlier: nothing more. */
        pass_at(w, "2027-01-01T10:11:00Z");
        pass_at(w, "2027-01-01T10:06:00Z");
        assert_int_equal(w->n_started, 3);
}

static void test_claims_make_passes_exactly_once(void **state)
{
        world *w = *state;

        load(w, "[job J]\ncommand = /bin/true\nschedule = * * * * * *\n");
        pass_at(w, "2027-01-01T10:00:00Z");
        pass_at(w, "2027-01-01T10:00:10Z");
        assert_int_equal(w->n_started, 10);
        /* A pass whose window overlaps (a concurrent tick that read an older
         * last_pass) starts only what nobody claimed. */
        assert_int_equal(cw_store_state_set(w->store, "last_pass", "1798797600"), 0); /* 10:00:00 */
        pass_at(w, "2027-01-01T10:00:12Z");
        assert_int_equal(w->n_started, 12);
        assert_int_equal(count_runs(w, CW_RUN_SUCCEEDED), 12);
}

static void test_catch_up(void **state)
{
        world *w = *state;
        cw_sched_result r;

        load(w, "[job None]\ncommand = /bin/true\nschedule = 0 * * * *\ncatch_up = none\n"
                "[job Once]\ncommand = /bin/true\nschedule = 0 * * * *\ncatch_up = once\n"
                "[job All]\ncommand = /bin/true\nschedule = 0 * * * *\ncatch_up = all\n");
        pass_at(w, "2027-01-01T10:30:00Z");
        /* Down from 10:30 to 13:30: fires 11:00, 12:00, 13:00 are all older
         * than the 5m start deadline. */
        r = pass_at(w, "2027-01-01T13:30:00Z");
        /* none: 3 missed; once: the latest runs, 2 missed; all: 3 run. */
        assert_int_equal(r.started, 4);
        assert_int_equal(r.missed, 5);
        assert_int_equal(count_runs(w, CW_RUN_MISSED), 5);
        assert_string_equal(w->started[0], "Once@2027-01-01T13:00:00+00:00#1:schedule");
        assert_string_equal(w->started[1], "All@2027-01-01T11:00:00+00:00#1:schedule");
        assert_string_equal(w->started[3], "All@2027-01-01T13:00:00+00:00#1:schedule");
        /* With an on-time fire in the same pass, `once` lets it cover the missed ones. */
        r = pass_at(w, "2027-01-01T16:01:00Z");
        /* Config order: None 16:00; Once 16:00 (covers 14:00, 15:00); All 14, 15, 16. */
        assert_int_equal(r.started, 5);
        assert_string_equal(w->started[4], "None@2027-01-01T16:00:00+00:00#1:schedule");
        assert_string_equal(w->started[5], "Once@2027-01-01T16:00:00+00:00#1:schedule");
        assert_string_equal(w->started[6], "All@2027-01-01T14:00:00+00:00#1:schedule");
        assert_int_equal(r.missed, 4);
}

static void test_disabled(void **state)
{
        world *w = *state;
        cw_sched_result r;

        load(w, "[job A]\ncommand = /bin/true\nschedule = */10 * * * *\n"
                "[job B]\ncommand = /bin/true\nschedule = */10 * * * *\n");
        pass_at(w, "2027-01-01T10:00:00Z");
        assert_int_equal(cw_store_job_enabled_set(w->store, "B", false), 0);
        r = pass_at(w, "2027-01-01T10:10:00Z");
        assert_int_equal(r.started, 1);
        assert_int_equal(r.skipped, 1);
        assert_int_equal(cw_store_state_set(w->store, "enabled", "0"), 0);
        r = pass_at(w, "2027-01-01T10:20:00Z");
        assert_int_equal(r.started, 0);
        assert_int_equal(r.skipped, 2);
        assert_int_equal(count_runs(w, CW_RUN_SKIPPED), 3);
        assert_int_equal(cw_store_state_set(w->store, "enabled", "1"), 0);
        r = pass_at(w, "2027-01-01T10:30:00Z");
        assert_int_equal(r.started, 1);
}

static void test_every(void **state)
{
        world *w = *state;
        cw_sched_result r;

        load(w, "[job E]\ncommand = /bin/true\nschedule = every 90m\n");
        r = pass_at(w, "2027-01-01T10:00:00Z");
        /* Never fired: fires at start-up, even on the first pass. */
        assert_int_equal(r.started, 1);
        pass_at(w, "2027-01-01T11:00:00Z");
        assert_int_equal(w->n_started, 1);
        pass_at(w, "2027-01-01T11:31:00Z");
        assert_int_equal(w->n_started, 2);
        assert_string_equal(w->started[1], "E@2027-01-01T11:30:00+00:00#1:schedule");
        /* No drift: the next is 13:00 whatever the pass times. */
        pass_at(w, "2027-01-01T13:02:00Z");
        assert_string_equal(w->started[2], "E@2027-01-01T13:00:00+00:00#1:schedule");
        /* The same schedule written another way keeps its previous fire
         * (kept under the canonical text): no fire at once. */
        cw_store_close(w->store);
        cw_config_free(w->cfg);
        load(w, "[job E]\ncommand = /bin/true\nschedule = every 1h30m\n");
        pass_at(w, "2027-01-01T13:10:00Z");
        assert_int_equal(w->n_started, 3);
        pass_at(w, "2027-01-01T14:31:00Z");
        assert_int_equal(w->n_started, 4);
        assert_string_equal(w->started[3], "E@2027-01-01T14:30:00+00:00#1:schedule");
}

static void test_requests(void **state)
{
        world *w = *state;
        int64_t id;

        load(w, "[job R]\ncommand = /bin/true\nargs = who\n");
        pass_at(w, "2027-01-01T10:00:00Z");
        assert_int_equal(cw_store_request_add(w->store, "R:\"some one\"", "test", 0, &id), 0);
        assert_int_equal(cw_store_request_add(w->store, "Gone:x", "test", 0, &id), 0);
        pass_at(w, "2027-01-01T10:00:05Z");
        assert_int_equal(w->n_started, 1);
        assert_string_equal(w->started[0], "R:\"some one\"@2027-01-01T10:00:05+00:00#1:request");
        pass_at(w, "2027-01-01T10:00:06Z");
        assert_int_equal(w->n_started, 1); /* taken once */
}

static void test_retries(void **state)
{
        world *w = *state;

        load(w,
             "[job F]\ncommand = /bin/false\nschedule = 0 10 * * *\nretries = 2\nretry_delay = 1m\n");
        w->fail_job = "F";
        pass_at(w, "2027-01-01T09:00:00Z");
        pass_at(w, "2027-01-01T10:00:00Z"); /* attempt 1, fails, ends 10:00:01 */
        assert_int_equal(w->n_started, 1);
        pass_at(w, "2027-01-01T10:00:30Z"); /* too early */
        assert_int_equal(w->n_started, 1);
        pass_at(w, "2027-01-01T10:01:30Z"); /* attempt 2 after 1m */
        assert_int_equal(w->n_started, 2);
        assert_string_equal(w->started[1], "F@2027-01-01T10:00:00+00:00#2:retry");
        pass_at(w, "2027-01-01T10:02:00Z"); /* attempt 3 needs 2m after attempt 2's end */
        assert_int_equal(w->n_started, 2);
        pass_at(w, "2027-01-01T10:04:00Z");
        assert_int_equal(w->n_started, 3);
        assert_string_equal(w->started[2], "F@2027-01-01T10:00:00+00:00#3:retry");
        pass_at(w, "2027-01-01T11:00:00Z"); /* retries = 2: no attempt 4 */
        assert_int_equal(w->n_started, 3);
}

static void test_retry_never_collides_with_next_fire(void **state)
{
        world *w = *state;

        /* Fires every minute; a retry 5m later would land after the next fire. */
        load(w,
             "[job F]\ncommand = /bin/false\nschedule = * * * * *\nretries = 1\nretry_delay = 5m\n"
             "catch_up = none\n");
        w->fail_job = "F";
        pass_at(w, "2027-01-01T09:59:30Z");
        pass_at(w, "2027-01-01T10:00:00Z");
        pass_at(w, "2027-01-01T10:06:00Z");
        for (size_t i = 0; i < w->n_started && i < 64; i++)
                assert_null(strstr(w->started[i], ":retry"));
}

static void test_dependency_chain(void **state)
{
        world *w = *state;

        load(w,
             "[job A]\ncommand = /bin/true\nschedule = 0 10 * * *\n"
             "[job B]\ncommand = /bin/true\nafter = A\n"
             "[job C]\ncommand = /bin/true\nafter = B\n"
             "[job D]\ncommand = /bin/true\nafter = X\n[job X]\ncommand = /bin/false\nschedule = 0 10 * * *\n");
        w->fail_job = "X";
        pass_at(w, "2027-01-01T09:00:00Z");
        pass_at(w, "2027-01-01T10:00:00Z"); /* A and X run; A's run ends 10:00:01 */
        assert_int_equal(w->n_started, 2);
        pass_at(w, "2027-01-01T10:00:05Z"); /* B after A */
        assert_int_equal(w->n_started, 3);
        assert_true(strncmp(w->started[2], "B@", 2) == 0 && strstr(w->started[2], ":dependency"));
        pass_at(w, "2027-01-01T10:00:10Z"); /* C after B; never D (X failed) */
        assert_int_equal(w->n_started, 4);
        assert_true(strncmp(w->started[3], "C@", 2) == 0);
        pass_at(w, "2027-01-01T10:00:20Z");
        assert_int_equal(w->n_started, 4);
}

static void test_clock_jumps(void **state)
{
        world *w = *state;
        _cleanup_free_ char *v = NULL;

        load(w, "[job J]\ncommand = /bin/true\nschedule = 0 * * * *\ncatch_up = none\n");
        pass_at(w, "2027-01-01T10:30:00Z");
        /* Backwards by an hour: nothing runs again, last_pass stays. */
        pass_at(w, "2027-01-01T09:30:00Z");
        pass_at(w, "2027-01-01T10:20:00Z");
        assert_int_equal(w->n_started, 0);
        assert_int_equal(cw_store_state_get(w->store, "last_pass", &v), 0);
        assert_string_equal(v, "1798799400"); /* 10:30 */
        pass_at(w, "2027-01-01T11:00:30Z");
        assert_int_equal(w->n_started, 1);
        /* Forwards by a day: catch_up = none records the missed fires. */
        pass_at(w, "2027-01-02T11:00:30Z");
        assert_int_equal(w->n_started, 2);
        assert_int_equal(count_runs(w, CW_RUN_MISSED), 23);
}

/* A pass every minute through Warsaw's DST days: a fixed-time job runs
 * once a day, at 03:00 CEST on the spring day and at the first 02:30 in
 * autumn; a wildcard job skips the missing hour and repeats the doubled one. */
static void test_dst_days(void **state)
{
        world *w = *state;
        size_t fixed = 0, wild = 0;

        load(w,
             "[job Fixed]\ncommand = /bin/true\nschedule = 30 2 * * *\ntimezone = Europe/Warsaw\n"
             "[job Wild]\ncommand = /bin/true\nschedule = */30 2 * * *\ntimezone = Europe/Warsaw\n");
        pass_at(w, "2027-03-27T22:00:00Z");
        for (cw_time t = iso("2027-03-27T22:01:00Z"); t <= iso("2027-03-28T04:00:00Z"); t += 60) {
                char s[CW_ISO8601_MAX];
                cw_iso8601_format(t, 0, s, sizeof(s));
                pass_at(w, s);
        }
        for (size_t i = 0; i < w->n_started; i++)
                *(strncmp(w->started[i], "Fixed@", 6) == 0 ? &fixed : &wild) += 1;
        assert_int_equal(fixed, 1);
        assert_int_equal(wild, 0);
        assert_string_equal(w->started[0], "Fixed@2027-03-28T01:00:00+00:00#1:schedule");
        pass_at(w, "2027-10-30T22:00:00Z"); /* months later: catch_up runs a missed fire */
        w->n_started = 0;
        for (cw_time t = iso("2027-10-30T22:01:00Z"); t <= iso("2027-10-31T04:00:00Z"); t += 60) {
                char s[CW_ISO8601_MAX];
                cw_iso8601_format(t, 0, s, sizeof(s));
                pass_at(w, s);
        }
        fixed = wild = 0;
        for (size_t i = 0; i < w->n_started; i++)
                *(strncmp(w->started[i], "Fixed@", 6) == 0 ? &fixed : &wild) += 1;
        assert_int_equal(fixed, 1);
        assert_int_equal(wild, 4);
}

static void test_next_wake(void **state)
{
        world *w = *state;
        cw_sched_result r;

        load(w, "[job A]\ncommand = /bin/true\nschedule = 0 12 * * *\n"
                "[job B]\ncommand = /bin/true\nschedule = */10 * * * *\n"
                "[job E]\ncommand = /bin/true\nschedule = every 7m\n");
        r = pass_at(w, "2027-01-01T10:02:00Z");
        /* B's 10:10 comes first; E fired at start-up and is next at 10:09. */
        assert_int_equal(r.next_wake, iso("2027-01-01T10:09:00Z"));
        r = pass_at(w, "2027-01-01T10:09:30Z");
        assert_int_equal(r.next_wake, iso("2027-01-01T10:10:00Z"));
}

/* One pass at second t (see pass_at). */
static cw_sched_result pass_sec(world *w, cw_time t)
{
        char when[CW_ISO8601_MAX];

        cw_iso8601_format(t, 0, when, sizeof(when));
        return pass_at(w, when);
}

/* The scheduled_at of started[i] ("SPEC@ISO#..."). */
static cw_time started_fire(const world *w, size_t i)
{
        char when[CW_ISO8601_MAX];
        const char *at = strchr(w->started[i], '@'), *hash = strchr(w->started[i], '#');

        assert_non_null(at);
        snprintf(when, sizeof(when), "%.*s", (int)(hash - at - 1), at + 1);
        return iso(when);
}

static void test_jitter(void **state)
{
        world *w = *state;
        cw_time t0 = iso("2027-01-01T10:00:00Z"), t;
        cw_sched_result r;
        size_t n_fires = 0;

        /* The values are part of the product (docs/scheduling.md, Jitter). */
        assert_int_equal(cw_jitter_delay("J", iso("2030-01-01T01:00:00Z"), 1800), 1503);
        assert_int_equal(cw_jitter_delay("J", iso("2030-01-01T02:00:00Z"), 1800), 1542);
        assert_int_equal(cw_jitter_delay("J", t0, 0), 0);
        for (t = t0; t < t0 + 3600; t += 60)
                assert_in_range(cw_jitter_delay("J", t, 50), 0, 50);

        /* Every minute, up to 50 s late, passes every 7 s: each fire starts
         * once, at the first pass at or after its due instant; the wake
         * asked for is the earliest due instant still to come. */
        load(w, "[job J]\ncommand = /bin/true\nschedule = * * * * *\njitter = 50s\n");
        for (t = t0; t <= t0 + 1800; t += 7) {
                cw_time want = 0;
                r = pass_sec(w, t);
                for (cw_time f = t - t % 60 - 60; f <= t + 120; f += 60) {
                        cw_time due = f + cw_jitter_delay("J", f, 50);
                        if (due > t && (!want || due < want))
                                want = due;
                }
                assert_int_equal(r.next_wake, want);
        }
        assert_in_range(w->n_started, 28, 31);
        for (size_t i = 0; i < w->n_started && i < 64; i++) {
                cw_time f = started_fire(w, i), due = f + cw_jitter_delay("J", f, 50);
                assert_int_equal(f % 60, 0);
                assert_true(f >= t0); /* 10:00 comes due after the first pass */
                assert_true(i == 0 || f == started_fire(w, i - 1) + 60);
                assert_in_range(w->started_now[i], due, due + 6);
                n_fires++;
        }
        assert_int_equal(count_runs(w, CW_RUN_MISSED), 0);
        assert_true(n_fires > 0);
}

static void test_every_jitter(void **state)
{
        world *w = *state;
        cw_time t0 = iso("2027-01-01T10:00:00Z");

        load(w, "[job E]\ncommand = /bin/true\nschedule = every 10m\njitter = 5m\n");
        for (cw_time t = t0; t <= t0 + 7200; t += 30)
                pass_sec(w, t);
        /* The first fire is at start-up (t0) plus its delay, each next one
         * 10 minutes after the previous nominal fire: no drift, in order. */
        assert_in_range(w->n_started, 12, 13);
        for (size_t i = 0; i < w->n_started; i++) {
                cw_time f = started_fire(w, i), due = f + cw_jitter_delay("E", f, 300);
                assert_int_equal(f, t0 + 600 * (cw_time)i);
                assert_true(w->started_now[i] >= due);
                assert_true(w->started_now[i] < due + 30 ||
                            (i > 0 && w->started_now[i] == w->started_now[i - 1]));
        }
}

static void test_start_failure_is_recorded(void **state)
{
        world *w = *state;
        cw_sched_result r;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs;
        size_t n;

        load(w, "[job X]\ncommand = /bin/true\nschedule = */5 * * * *\n");
        w->broken_job = "X";
        pass_at(w, "2027-01-01T10:02:00Z");
        r = pass_at(w, "2027-01-01T10:05:00Z");
        assert_int_equal(r.failed, 1);
        f.status = CW_RUN_FAILED;
        assert_int_equal(cw_store_runs_list(w->store, &f, &runs, &n), 0);
        assert_int_equal(n, 1);
        assert_non_null(
                strstr(runs[0].reason, "could not start: the worker could not load the config"));
        assert_int_equal(runs[0].scheduled_at, iso("2027-01-01T10:05:00Z"));
        cw_runs_free(runs, n);
}

/* The gates of concurrency, through the lock ops a pass is given: forbid
 * skips a fire while the lock is held (naming the run, or a run still
 * starting), allow ignores the lock, replace stops the holders first. */
static void test_concurrency_through_lock_ops(void **state)
{
        world *w = *state;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_sched_result r;
        cw_run *runs;
        size_t n;

        load(w, "[job F]\ncommand = /bin/true\nschedule = */5 * * * *\n"
                "[job A]\ncommand = /bin/true\nconcurrency = allow\nschedule = */5 * * * *\n"
                "[job R]\ncommand = /bin/true\nconcurrency = replace\nschedule = */5 * * * *\n");
        pass_at(w, "2027-01-01T10:02:00Z");
        w->lock_holder = 42;
        r = pass_at(w, "2027-01-01T10:05:00Z");
        assert_int_equal(r.skipped, 1);
        assert_int_equal(r.started, 2);
        assert_int_equal(w->n_stopped, 1);
        f.status = CW_RUN_SKIPPED;
        assert_int_equal(cw_store_runs_list(w->store, &f, &runs, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(runs[0].job, "F");
        assert_string_equal(runs[0].reason, "run 42 is still running");
        cw_runs_free(runs, n);
        /* R's stop freed the lock; a holder still starting has no run id. */
        w->lock_holder = -1;
        r = pass_at(w, "2027-01-01T10:10:00Z");
        assert_int_equal(r.skipped, 1);
        assert_int_equal(w->n_stopped, 2);
        assert_int_equal(cw_store_runs_list(w->store, &f, &runs, &n), 0);
        assert_int_equal(n, 2);
        assert_true(strcmp(runs[0].reason, "a run of F is still starting") == 0 ||
                    strcmp(runs[1].reason, "a run of F is still starting") == 0);
        cw_runs_free(runs, n);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_first_pass_and_window, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claims_make_passes_exactly_once, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_catch_up, setup, teardown),
                cmocka_unit_test_setup_teardown(test_disabled, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every, setup, teardown),
                cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_never_collides_with_next_fire, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_dependency_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clock_jumps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dst_days, setup, teardown),
                cmocka_unit_test_setup_teardown(test_next_wake, setup, teardown),
                cmocka_unit_test_setup_teardown(test_start_failure_is_recorded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_jitter, setup, teardown),
                cmocka_unit_test_setup_teardown(test_every_jitter, setup, teardown),
                cmocka_unit_test_setup_teardown(test_concurrency_through_lock_ops, setup, teardown),
        };
        return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
