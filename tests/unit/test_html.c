/* test_html.c - the admin UI's HTML building (src/http/html.h) and page
 * handlers rendered from a hand-built request: escaping in text and
 * attributes, the escaping printf, URL encoding, the formatters, and
 * pages showing hostile job descriptions, run output and messages inert. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "http/html.h"
#include "http/http.h"
#include "store/store.h"
#include "test_tmpdir.h"

static char *esc(const char *s)
{
        cw_buf b = CW_BUF_INIT(0);

        cw_html_text(&b, s);
        return cw_buf_steal(&b, NULL);
}

static void test_escape_five(void **state)
{
        char *s;

        (void)state;
        s = esc("a&b<c>d\"e'f");
        assert_string_equal(s, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
        free(s);
        s = esc("plain text, unchanged: ÄÖ € 漢字 🙂");
        assert_string_equal(s, "plain text, unchanged: ÄÖ € 漢字 🙂");
        free(s);
        s = esc("");
        assert_string_equal(s, "");
        free(s);
}

/* Control characters become visible pictures; invalid UTF-8 U+FFFD;
 * tab, newline and carriage return stay. */
static void test_escape_controls_and_bytes(void **state)
{
        cw_buf b = CW_BUF_INIT(0);
        const char in[] = "a\tb\nc\rd\x1b[1m\x7f\0z\xff\xc3(\xed\xa0\x80";

        (void)state;
        cw_html_text_n(&b, in, sizeof(in) - 1);
        assert_string_equal(
                b.p, "a\tb\nc\rd\xe2\x90\x9b[1m\xe2\x90\xa1\xe2\x90\x80z\xef\xbf\xbd\xef\xbf\xbd("
                     "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
        cw_buf_release(&b);
        cw_html_text(&b, NULL);
        assert_null(b.p);
}

static void test_printf(void **state)
{
        cw_buf b = CW_BUF_INIT(0);

        (void)state;
        cw_html_printf(&b, "<a href=\"/jobs/%s\" title=\"%s\">%s</a>", "x\"onclick=\"y", "it's",
                       "<b>");
        assert_string_equal(
                b.p, "<a href=\"/jobs/x&quot;onclick=&quot;y\" title=\"it&#39;s\">&lt;b&gt;</a>");
        cw_buf_reset(&b);
        cw_html_printf(&b, "%d|%5d|%-4d|%03u|%zu|%lld|%llu|%x|%.2f|%5.1f|%%|%c|%c", -7, 42, 3, 5u,
                       (size_t)9, (long long)-1234567890123LL, 18446744073709551615ULL, 255u,
                       3.14159, 2.25, '<', 'q');
        assert_string_equal(
                b.p,
                "-7|   42|3   |005|9|-1234567890123|18446744073709551615|ff|3.14|  2.2|%|&lt;|q");
        cw_buf_reset(&b);
        cw_html_printf(&b, "[%5s][%-5s][%.3s][%.*s][%*s]", "ab", "ab", "<<<<", 2, "&&&", 3, "x");
        assert_string_equal(b.p, "[   ab][ab   ][&lt;&lt;&lt;][&amp;&amp;][  x]");
        cw_buf_reset(&b);
        cw_html_printf(&b, "%ld %hd %jd %td %s", 1L, (short)2, (intmax_t)3, (ptrdiff_t)4, "end");
        assert_string_equal(b.p, "1 2 3 4 end");
        cw_buf_release(&b);
}

/* The raw way in is separate and explicit. */
static void test_raw(void **state)
{
        cw_buf b = CW_BUF_INIT(0);

        (void)state;
        cw_html_raw(&b, "<b>");
        cw_html_text(&b, "<b>");
        assert_string_equal(b.p, "<b>&lt;b&gt;");
        cw_buf_release(&b);
}

/* The buffer's bound holds: output stops, the error sticks. */
static void test_printf_bounded(void **state)
{
        cw_buf b = CW_BUF_INIT(16);

        (void)state;
        assert_int_equal(cw_html_printf(&b, "%s", "<<<<<<<<<<<<<<<<<<<<<<<<<<<"), -E2BIG);
        assert_true(b.len <= 16);
        cw_buf_release(&b);
}

static void test_urlenc(void **state)
{
        cw_buf b = CW_BUF_INIT(0);
        char *s;

        (void)state;
        cw_html_urlenc(&b, "Job_1.x-y~z");
        assert_string_equal(b.p, "Job_1.x-y~z");
        cw_buf_reset(&b);
        cw_html_urlenc(&b, "a b/c?d=e&f#g%\"<'\xc3\xa4");
        assert_string_equal(b.p, "a%20b%2Fc%3Fd%3De%26f%23g%25%22%3C%27%C3%A4");
        cw_buf_release(&b);
        s = cw_html_urlenc_dup("x y");
        assert_string_equal(s, "x%20y");
        free(s);
        s = cw_html_flash_url("/jobs", "msg", "Run of A:\"b\" requested & <ok>");
        assert_string_equal(s, "/jobs?msg=Run%20of%20A%3A%22b%22%20requested%20%26%20%3Cok%3E");
        free(s);
        s = cw_html_flash_url("/jobs?status=x", "err", "e");
        assert_string_equal(s, "/jobs?status=x&err=e");
        free(s);
}

static void test_formats(void **state)
{
        static const struct {
                double secs;
                const char *want;
        } durs[] = {
                {0, "0 ms"},        {0.25, "250 ms"},    {5.31, "5.3 s"},     {42, "42 s"},
                {125, "2 min 5 s"}, {3780, "1 h 3 min"}, {187200, "2 d 4 h"}, {-3, "0 ms"},
        };
        static const struct {
                int64_t d;
                const char *want;
        } rels[] = {
                {0, "just now"},   {3, "just now"},   {-4, "just now"},    {30, "in 30 s"},
                {-30, "30 s ago"}, {300, "in 5 min"}, {-10800, "3 h ago"}, {172800, "in 2 d"},
        };
        char out[64];
        cw_tz *utc = cw_tz_utc();
        cw_tz *cet = NULL;
        cw_error e;

        (void)state;
        for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
                cw_html_format_duration(durs[i].secs, out, sizeof(out));
                assert_string_equal(out, durs[i].want);
        }
        for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
                cw_html_format_relative(1000000 + rels[i].d, 1000000, out, sizeof(out));
                assert_string_equal(out, rels[i].want);
        }
        cw_html_format_local(utc, 1806195600, out, sizeof(out));
        assert_string_equal(out, "2027-03-28 01:00:00");
        assert_int_equal(cw_tz_from_posix("CET", "CET-1CEST,M3.5.0,M10.5.0/3", &cet, &e), 0);
        cw_html_format_local(cet, 1806195600, out, sizeof(out));
        assert_string_equal(out, "2027-03-28 03:00:00");
        cw_tz_free(cet);
        cw_tz_free(utc);
}

/* ---- pages rendered from a hand-built request ---- */

typedef struct fixture {
        char dir[64];
        cw_config *cfg;
        cw_store *store;
        int64_t run_id;
} fixture;

static const char config_text[] = "[cronwarden]\n"
                                  "data_dir = data\n"
                                  "timezone = UTC\n"
                                  "[admin]\n"
                                  "user = admin\n"
                                  "[job Evil]\n"
                                  "description = <script>alert(1)</script> & \"quotes\"\n"
                                  "command = /bin/echo '<img src=x onerror=alert(2)>'\n"
                                  "args = what\n"
                                  "options = sleep\n"
                                  "[job Plain]\n"
                                  "command = /bin/true\n"
                                  "after = Evil\n"
                                  "schedule = 30 2 * * 1-5\n"
                                  "[schedule]\n"
                                  "run = */5 * * * * Evil:\"<b>\",sleep=1\n";

static int setup(void **state)
{
        fixture *f = calloc(1, sizeof(*f));
        cw_config_errors errs = {0};
        cw_config_opts o = {.now = 1806195600};
        char path[128];
        cw_error e;
        cw_run r = {0};
        static const char out[] = "<img src=x onerror=alert(3)>\n</pre><script>x</script>";

        snprintf(f->dir, sizeof(f->dir), "/tmp/cw-test-html-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(path, sizeof(path), "%s/cw.ini", f->dir);
        if (cw_config_load_string(path, config_text, sizeof(config_text) - 1, &o, &f->cfg, &errs) <
            0) {
                for (size_t i = 0; i < errs.n; i++)
                        print_message("%s\n", errs.msgs[i]);
                return -1;
        }
        if (cw_store_open("sqlite", f->cfg->data_dir, &f->store, &e) < 0) {
                print_message("store: %s\n", e.msg);
                return -1;
        }
        r.job = (char *)"Evil";
        r.spec = (char *)"Evil:\"<b>\",sleep=1";
        r.node = (char *)"n<1>";
        r.status = CW_RUN_RUNNING;
        r.trigger = CW_TRIGGER_MANUAL;
        r.attempt = 1;
        r.started_us = 1806195600LL * 1000000;
        r.exit_code = -1;
        r.progress_done = r.progress_total = -1;
        if (cw_store_run_insert(f->store, &r) < 0)
                return -1;
        r.status = CW_RUN_FAILED;
        r.ended_us = r.started_us + 2500000;
        r.exit_code = 1;
        r.output_size = sizeof(out) - 1;
        r.reason = (char *)"<i>why</i>";
        if (cw_store_run_finish(f->store, &r, out, sizeof(out) - 1) < 0)
                return -1;
        f->run_id = r.id;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture *f = *state;

        cw_store_close(f->store);
        cw_config_free(f->cfg);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

static const cw_http_route *route(unsigned method, const char *pattern)
{
        for (const cw_http_route *r = cw_http_page_routes; r->pattern; r++)
                if ((r->methods & method) && strcmp(r->pattern, pattern) == 0)
                        return r;
        fail_msg("no route %s", pattern);
        return NULL;
}

static cw_http_req make_req(const fixture *f, const char *path)
{
        cw_http_req req = {
                .method = CW_HTTP_GET,
                .path = path,
                .body = "",
                .content_type = "",
                .client = "127.0.0.1",
                .user = "admin",
                .csrf = "tok\"en",
                .nonce = "nonce",
                .now_us = (1806195600LL + 60) * 1000000,
                .cfg = f->cfg,
                .store = f->store,
        };
        return req;
}

/* Renders pattern with args; returns the body (caller frees). */
static char *render(const fixture *f, const char *pattern, const char *path, const char *arg,
                    int want_status)
{
        cw_http_req req = make_req(f, path);
        cw_http_resp resp = {.body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        char *body;

        if (arg) {
                req.args[0] = arg;
                req.n_args = 1;
        }
        assert_int_equal(route(CW_HTTP_GET, pattern)->handler(&req, &resp), 0);
        assert_int_equal(resp.status, want_status);
        body = cw_buf_steal(&resp.body, NULL);
        free(resp.location);
        free(resp.disposition);
        free(resp.set_cookie);
        return body;
}

/* Nothing a user controls may open a tag: every '<' in the page is one
 * of ours. Checks that no hostile fragment survived unescaped. */
static void assert_inert(const char *body)
{
        assert_null(strstr(body, "<script>alert"));
        assert_null(strstr(body, "<img src=x"));
        assert_null(strstr(body, "<script>x"));
        assert_null(strstr(body, "<b>\""));
        assert_null(strstr(body, "<i>why"));
        assert_null(strstr(body, "n<1>"));
        /* The only scripts are the static file. */
        for (const char *p = strstr(body, "<script"); p; p = strstr(p + 1, "<script"))
                assert_true(strncmp(p, "<script src=\"/static/app.js\" defer></script>", 44) == 0);
}

static void test_page_jobs(void **state)
{
        fixture *f = *state;
        char *body = render(f, "/jobs", "/jobs", NULL, 200);

        assert_inert(body);
        assert_non_null(
                strstr(body, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        assert_non_null(strstr(body, "data-job=\"Evil\""));
        assert_non_null(strstr(body, "data-run-status=\"failed\""));
        assert_non_null(strstr(body, "Every 5 minutes"));
        assert_non_null(strstr(body, "At 02:30 on Monday through Friday"));
        assert_non_null(strstr(body, "name=\"csrf\" value=\"tok&quot;en\""));
        assert_non_null(strstr(body, "<meta name=\"csrf-token\" content=\"tok&quot;en\">"));
        assert_non_null(strstr(body, "name=\"arg_0\""));
        free(body);
}

static void test_page_job(void **state)
{
        fixture *f = *state;
        char *body = render(f, "/jobs/%", "/jobs/Evil", "Evil", 200);

        assert_inert(body);
        assert_non_null(strstr(body, "&lt;img src=x onerror=alert(2)&gt;"));
        /* Dependencies: Plain runs after Evil. */
        assert_non_null(strstr(body, "data-dep=\"Plain\" data-dir=\"downstream\""));
        assert_non_null(strstr(body, "id=\"history\""));
        free(body);
        body = render(f, "/jobs/%", "/jobs/Nope", "Nope", 404);
        assert_non_null(strstr(body, "data-status=\"404\""));
        free(body);
}

static void test_page_run(void **state)
{
        fixture *f = *state;
        char id[32], path[64];
        char *body;

        snprintf(id, sizeof(id), "%lld", (long long)f->run_id);
        snprintf(path, sizeof(path), "/runs/%s", id);
        body = render(f, "/runs/%", path, id, 200);
        assert_inert(body);
        assert_non_null(strstr(
                body,
                "&lt;img src=x onerror=alert(3)&gt;\n&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;"));
        assert_non_null(strstr(body, "&lt;i&gt;why&lt;/i&gt;"));
        assert_non_null(strstr(body, "data-run-id=\""));
        free(body);
        body = render(f, "/runs/%", "/runs/x", "x", 404);
        free(body);
        body = render(f, "/runs", "/runs", NULL, 200);
        assert_inert(body);
        free(body);
}

static void test_page_error_and_login(void **state)
{
        fixture *f = *state;
        cw_http_req req = make_req(f, "/x");
        cw_http_resp resp = {.body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};

        cw_http_page_error(&req, &resp, 404, "no job named '<script>alert(1)</script>'");
        assert_int_equal(resp.status, 404);
        assert_inert(resp.body.p);
        assert_non_null(strstr(resp.body.p, "no job named &#39;&lt;script&gt;"));
        cw_buf_release(&resp.body);

        req.user = NULL;
        req.csrf = "logintoken";
        cw_http_page_login(&req, &resp, "wrong <password>", "/jobs?\"><script>alert(1)</script>");
        assert_inert(resp.body.p);
        assert_non_null(strstr(resp.body.p, "wrong &lt;password&gt;"));
        assert_non_null(strstr(resp.body.p, "name=\"csrf\" value=\"logintoken\""));
        assert_non_null(strstr(resp.body.p, "name=\"user\""));
        assert_non_null(strstr(resp.body.p, "name=\"password\""));
        /* Signed out: no navigation, no logout form. */
        assert_null(strstr(resp.body.p, "action=\"/logout\""));
        cw_buf_release(&resp.body);
}

/* After a wrong password the form comes back with the typed user name
 * (escaped; the password never), and the cursor in the password field. */
static void test_login_keeps_user_name(void **state)
{
        fixture *f = *state;
        cw_http_req req = make_req(f, "/login");
        cw_http_resp resp = {.body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        cw_http_kv form[] = {{"user", "adm\"><script>alert(1)</script>"},
                             {"password", "s3cret-typed"}};

        req.user = NULL;
        req.csrf = "logintoken";
        req.method = CW_HTTP_POST;
        req.form = form;
        req.n_form = 2;
        cw_http_page_login(&req, &resp, "wrong user name or password", NULL);
        assert_inert(resp.body.p);
        assert_non_null(strstr(resp.body.p, "id=\"login-user\""));
        assert_non_null(strstr(resp.body.p,
                               "value=\"adm&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
        assert_null(strstr(resp.body.p, "s3cret-typed"));
        assert_non_null(strstr(resp.body.p, "required autofocus></label>"));
        cw_buf_release(&resp.body);

        /* A first GET shows an empty form with the cursor on the user. */
        req.method = CW_HTTP_GET;
        req.form = NULL;
        req.n_form = 0;
        resp = (cw_http_resp){.body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        cw_http_page_login(&req, &resp, NULL, NULL);
        assert_non_null(strstr(resp.body.p, "value=\"\" autofocus>"));
        cw_buf_release(&resp.body);
}

/* A flash message from the query string is shown escaped. */
static void test_flash_escaped(void **state)
{
        fixture *f = *state;
        cw_http_kv q[] = {{"msg", "<script>alert(1)</script>"}};
        cw_http_req req = make_req(f, "/scheduler");
        cw_http_resp resp = {.body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};

        req.query = q;
        req.n_query = 1;
        assert_int_equal(route(CW_HTTP_GET, "/scheduler")->handler(&req, &resp), 0);
        assert_inert(resp.body.p);
        assert_non_null(strstr(resp.body.p, "id=\"flash\" role=\"status\">&lt;script&gt;"));
        cw_buf_release(&resp.body);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_escape_five),
                cmocka_unit_test(test_escape_controls_and_bytes),
                cmocka_unit_test(test_printf),
                cmocka_unit_test(test_raw),
                cmocka_unit_test(test_printf_bounded),
                cmocka_unit_test(test_urlenc),
                cmocka_unit_test(test_formats),
                cmocka_unit_test_setup_teardown(test_page_jobs, setup, teardown),
                cmocka_unit_test_setup_teardown(test_page_job, setup, teardown),
                cmocka_unit_test_setup_teardown(test_page_run, setup, teardown),
                cmocka_unit_test_setup_teardown(test_page_error_and_login, setup, teardown),
                cmocka_unit_test_setup_teardown(test_login_keeps_user_name, setup, teardown),
                cmocka_unit_test_setup_teardown(test_flash_escaped, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
