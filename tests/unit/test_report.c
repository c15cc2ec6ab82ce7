/* test_report.c - the JSON shape shared by the CLI and the API
 * (src/report/json.h, docs/api.md): every field of a run, instants as ISO
 * text in UTC plus seconds, fires in their zone, nulls for what does not
 * apply, and schedule entries with their canonical text. */
#include "test_helpers.h"

#include <jansson.h>

#include "report/json.h"

static cw_run finished_run(void)
{
        return (cw_run){
                .id = 1042,
                .job = "HelloWorld",
                .spec = "HelloWorld:x",
                .node = "web-1",
                .status = CW_RUN_SUCCEEDED,
                .trigger = CW_TRIGGER_SCHEDULE,
                .attempt = 1,
                .scheduled_at = 1806195600,
                .started_us = 1806195600012000,
                .ended_us = 1806195605318000,
                .worker_pid = 31330,
                .pid = 31337,
                .exit_code = 0,
                .progress_done = 13,
                .progress_total = 77,
                .output_size = 2048,
                .lock_key = "class-HelloWorld",
        };
}

static void want_string(const json_t *o, const char *key, const char *want)
{
        const json_t *v = json_object_get(o, key);

        if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
                fail_msg("%s: want \"%s\"", key, want);
}

static void want_null(const json_t *o, const char *key)
{
        if (!json_is_null(json_object_get(o, key)))
                fail_msg("%s: want null", key);
}

static void test_run_fields(void **state _unused_)
{
        static const char *const keys[] = {
                "id",
                "job",
                "spec",
                "node",
                "status",
                "trigger",
                "attempt",
                "scheduled_at",
                "scheduled_at_ts",
                "started",
                "started_ts",
                "ended",
                "ended_ts",
                "duration",
                "exit_code",
                "signal",
                "pid",
                "worker_pid",
                "progress",
                "reason",
                "output_size",
                "output_truncated",
                "lock_key",
                "resume",
                "resumed_from",
        };
        cw_run r = finished_run();
        json_t *o = cw_json_run(&r, 0), *p;

        assert_non_null(o);
        assert_int_equal(json_object_size(o), CW_ARRAY_SIZE(keys));
        for (size_t i = 0; i < CW_ARRAY_SIZE(keys); i++)
                if (!json_object_get(o, keys[i]))
                        fail_msg("run object lacks %s", keys[i]);
        want_string(o, "status", "succeeded");
        want_string(o, "trigger", "schedule");
        want_string(o, "started", "2027-03-28T01:00:00+00:00");
        want_string(o, "ended", "2027-03-28T01:00:05+00:00");
        want_string(o, "scheduled_at", "2027-03-28T01:00:00+00:00");
        assert_int_equal(json_integer_value(json_object_get(o, "scheduled_at_ts")), 1806195600);
        assert_float_equal(json_real_value(json_object_get(o, "started_ts")), 1806195600.012, 1e-6);
        assert_float_equal(json_real_value(json_object_get(o, "duration")), 5.306, 1e-9);
        want_null(o, "signal");
        want_null(o, "reason");
        want_null(o, "resumed_from");
        p = json_object_get(o, "progress");
        assert_int_equal(json_integer_value(json_object_get(p, "done")), 13);
        assert_int_equal(json_integer_value(json_object_get(p, "total")), 77);
        assert_float_equal(json_real_value(json_object_get(p, "percent")), 100.0 * 13 / 77, 1e-9);
        json_decref(o);
}

/* What does not apply is null, never absent. */
static void test_run_nulls(void **state _unused_)
{
        static const struct {
                cw_run_status status;
                cw_trigger trigger;
                int64_t ended_us;
                double duration; /* with now = started + 2 s */
        } cases[] = {
                {CW_RUN_RUNNING, CW_TRIGGER_MANUAL, 0, 2.0},   /* active: up to now */
                {CW_RUN_SKIPPED, CW_TRIGGER_SCHEDULE, 0, 0.0}, /* never started */
                {CW_RUN_KILLED, CW_TRIGGER_REQUEST, 0, 0.0},   /* final without an end */
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(cases); i++) {
                cw_run r = finished_run();
                json_t *o;

                r.status = cases[i].status;
                r.trigger = cases[i].trigger;
                r.ended_us = cases[i].ended_us;
                r.exit_code = -1;
                r.pid = r.worker_pid = 0;
                r.progress_done = -1;
                r.lock_key = NULL;
                o = cw_json_run(&r, r.started_us + 2000000);
                want_null(o, "ended");
                want_null(o, "ended_ts");
                want_null(o, "exit_code");
                want_null(o, "pid");
                want_null(o, "worker_pid");
                want_null(o, "progress");
                want_null(o, "lock_key");
                if (r.trigger != CW_TRIGGER_SCHEDULE) {
                        want_null(o, "scheduled_at");
                        want_null(o, "scheduled_at_ts");
                }
                assert_float_equal(json_real_value(json_object_get(o, "duration")),
                                   cases[i].duration, 1e-9);
                json_decref(o);
        }
}

static void test_entry(void **state _unused_)
{
        cw_tz *warsaw = load_zone("Europe/Warsaw");
        cw_time fires[] = {1806195600, 1806282000};
        cw_timespec *ts = NULL;
        cw_error e;
        json_t *o;

        assert_int_equal(cw_timespec_parse("0 3 * * SUN", "Job", &ts, &e), 0);
        o = cw_json_entry_new(&(cw_json_entry){
                .source = "config",
                .when = cw_timespec_text(ts),
                .ts = ts,
                .spec = "Job",
                .tz = warsaw,
                .line = 12,
                .fixed_time = true,
                .next = fires[0],
                .fires = fires,
                .n_fires = 2,
        });
        want_string(o, "when", "0 3 * * SUN");
        want_string(o, "when_canonical", "0 3 * * 0");
        want_string(o, "zone", "Europe/Warsaw");
        /* A fire is shown in its zone: 01:00 UTC is 03:00 CEST. */
        want_string(o, "next", "2027-03-28T03:00:00+02:00");
        assert_int_equal(json_integer_value(json_object_get(o, "next_ts")), 1806195600);
        want_null(o, "entry_id");
        assert_int_equal(json_array_size(json_object_get(o, "next_fires")), 2);
        assert_int_equal(json_integer_value(json_array_get(json_object_get(o, "next_fires_ts"), 1)),
                         1806282000);
        json_decref(o);
        /* Without fires the lists are left out; without next, nulls. */
        o = cw_json_entry_new(&(cw_json_entry){.source = "ui",
                                               .when = "every 90m",
                                               .spec = "Job",
                                               .entry_id = 7,
                                               .at_startup = true});
        assert_null(json_object_get(o, "next_fires"));
        want_null(o, "next");
        want_null(o, "next_ts");
        want_null(o, "when_canonical");
        assert_int_equal(json_integer_value(json_object_get(o, "entry_id")), 7);
        assert_true(json_is_true(json_object_get(o, "at_startup")));
        json_decref(o);
        cw_timespec_free(ts);
        cw_tz_free(warsaw);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_run_fields),
                cmocka_unit_test(test_run_nulls),
                cmocka_unit_test(test_entry),
        };
        return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
