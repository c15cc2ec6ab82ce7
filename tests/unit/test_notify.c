/* test_notify.c - the pure parts of notifications (src/notify/): the
 * run's UUID for rid=, ping URLs, the webhook payload, the retry waits
 * and the per-endpoint breaker, and what may be shown of an endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "notify/notify.h"
#include "notify/notify_internal.h"

static void test_uuid(void **state)
{
        char a[37], b[37], c[37], d[37];

        (void)state;
        cw_notify_run_uuid(42, "web-1", a);
        cw_notify_run_uuid(42, "web-1", b);
        cw_notify_run_uuid(43, "web-1", c);
        cw_notify_run_uuid(42, "web-2", d);
        assert_int_equal(strlen(a), 36);
        assert_string_equal(a, b); /* start and end pair up */
        assert_string_not_equal(a, c);
        assert_string_not_equal(a, d);
        assert_int_equal(a[8], '-');
        assert_int_equal(a[13], '-');
        assert_int_equal(a[14], '8');               /* version 8 */
        assert_true(strchr("89ab", a[19]) != NULL); /* RFC 9562 variant */
}

static void test_ping_urls(void **state)
{
        static const struct {
                const char *base, *event, *want;
                bool get;
        } cases[] = {
                {"https://hc-ping.com/u", "started", "https://hc-ping.com/u/start?rid=U", false},
                {"https://hc-ping.com/u/", "succeeded", "https://hc-ping.com/u?rid=U", false},
                {"https://hc-ping.com/u", "failed", "https://hc-ping.com/u/fail?rid=U", false},
                {"https://hc-ping.com/u", "timed_out", "https://hc-ping.com/u/fail?rid=U", false},
                {"https://hc-ping.com/u", "missed", "https://hc-ping.com/u/fail?rid=U", false},
                {"https://h/u?create=1", "started", "https://h/u/start?create=1&rid=U", false},
                {"https://cronitor.link/p/K/m?state={event}", "started",
                 "https://cronitor.link/p/K/m?state=run", true},
                {"https://c/{event}", "succeeded", "https://c/complete", true},
                {"https://c/{event}", "lost", "https://c/fail", true},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *url = NULL;
                bool get = !cases[i].get;

                assert_int_equal(notify_ping_url(cases[i].base, cases[i].event, "U", &url, &get),
                                 0);
                assert_string_equal(url, cases[i].want);
                assert_int_equal(get, cases[i].get);
                free(url);
        }
}

static void test_webhook_payload(void **state)
{
        cw_notice n = {.id = 9,
                       .run_id = 5,
                       .job = (char *)"Backup",
                       .event = (char *)"failed",
                       .channel = (char *)"webhook",
                       .target = (char *)"https://x/h",
                       .created_us = 1000000};
        cw_run run = {.id = 5,
                      .job = (char *)"Backup",
                      .spec = (char *)"Backup:full",
                      .node = (char *)"n1",
                      .status = CW_RUN_FAILED,
                      .trigger = CW_TRIGGER_SCHEDULE,
                      .attempt = 1,
                      .scheduled_at = 1700000000,
                      .started_us = 1700000000500000,
                      .ended_us = 1700000002500000,
                      .exit_code = 3};
        /* A bad byte becomes U+FFFD: the payload stays valid JSON. */
        const char tail[] = "line\xff\n";
        char *s =
                notify_webhook_json(&n, &run, tail, sizeof(tail) - 1, "https://cron.example.com/");
        json_error_t e;
        json_t *o = json_loads(s, 0, &e), *r;

        (void)state;
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "id")), 9);
        assert_string_equal(json_string_value(json_object_get(o, "event")), "failed");
        assert_string_equal(json_string_value(json_object_get(o, "url")),
                            "https://cron.example.com/runs/5");
        assert_string_equal(json_string_value(json_object_get(o, "output_tail")),
                            "line\xef\xbf\xbd\n");
        r = json_object_get(o, "run");
        assert_string_equal(json_string_value(json_object_get(r, "spec")), "Backup:full");
        assert_string_equal(json_string_value(json_object_get(r, "status")), "failed");
        assert_string_equal(json_string_value(json_object_get(r, "trigger")), "schedule");
        assert_int_equal(json_integer_value(json_object_get(r, "exit_code")), 3);
        assert_true(json_real_value(json_object_get(r, "duration_s")) == 2.0);
        assert_string_equal(json_string_value(json_object_get(r, "scheduled_at")),
                            "2023-11-14T22:13:20+00:00");
        json_decref(o);
        free(s);
        /* Without a run (a test) and without public_url. */
        n.run_id = 0;
        s = notify_webhook_json(&n, NULL, NULL, 0, NULL);
        o = json_loads(s, 0, &e);
        assert_true(json_is_null(json_object_get(o, "run")));
        assert_true(json_is_null(json_object_get(o, "url")));
        json_decref(o);
        free(s);
}

static void test_retry_delays(void **state)
{
        (void)state;
        assert_int_equal(cw_notify_retry_delay_us(1), CW_NOTIFY_RETRY_BASE_US);
        assert_int_equal(cw_notify_retry_delay_us(2), 2 * CW_NOTIFY_RETRY_BASE_US);
        assert_int_equal(cw_notify_retry_delay_us(3), 4 * CW_NOTIFY_RETRY_BASE_US);
        assert_int_equal(cw_notify_retry_delay_us(50), CW_NOTIFY_RETRY_MAX_US);
        for (int i = 1; i < 60; i++)
                assert_true(cw_notify_retry_delay_us(i) <= cw_notify_retry_delay_us(i + 1));
}

static void test_breaker(void **state)
{
        cw_notify_breaker b = {0};
        int64_t t = 1000;

        (void)state;
        for (int i = 0; i < CW_NOTIFY_BREAKER_FAILURES - 1; i++) {
                cw_notify_breaker_record(&b, false, t);
                assert_true(cw_notify_breaker_allows(&b, t));
        }
        cw_notify_breaker_record(&b, false, t);
        assert_false(cw_notify_breaker_allows(&b, t));
        assert_true(cw_notify_breaker_allows(&b, t + CW_NOTIFY_BREAKER_BASE_US));
        /* A failed try after it opens doubles the next opening... */
        t += CW_NOTIFY_BREAKER_BASE_US;
        cw_notify_breaker_record(&b, false, t);
        assert_false(cw_notify_breaker_allows(&b, t + CW_NOTIFY_BREAKER_BASE_US));
        assert_true(cw_notify_breaker_allows(&b, t + 2 * CW_NOTIFY_BREAKER_BASE_US));
        /* ... up to the bound. */
        for (int i = 0; i < 20; i++)
                cw_notify_breaker_record(&b, false, t);
        assert_true(cw_notify_breaker_allows(&b, t + CW_NOTIFY_BREAKER_MAX_US));
        /* One success closes it. */
        cw_notify_breaker_record(&b, true, t);
        assert_true(cw_notify_breaker_allows(&b, t));
        assert_int_equal(b.failures, 0);
}

static void test_shown_target(void **state)
{
        cw_notice n = {.channel = (char *)"ping",
                       .target = (char *)"https://user:pw@hc-ping.com:8443/SECRET?x=1"};
        char buf[200];

        (void)state;
        cw_notify_shown_target(&n, buf, sizeof(buf));
        assert_string_equal(buf, "https://hc-ping.com:8443/...");
        n.target = (char *)"http://h";
        cw_notify_shown_target(&n, buf, sizeof(buf));
        assert_string_equal(buf, "http://h");
        n.channel = (char *)"email";
        n.target = (char *)"a@x, b@y";
        cw_notify_shown_target(&n, buf, sizeof(buf));
        assert_string_equal(buf, "a@x, b@y");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uuid),
                cmocka_unit_test(test_ping_urls),
                cmocka_unit_test(test_webhook_payload),
                cmocka_unit_test(test_retry_delays),
                cmocka_unit_test(test_breaker),
                cmocka_unit_test(test_shown_target),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
