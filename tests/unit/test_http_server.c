/* test_http_server.c - the admin server's own parts without a socket:
 * query/form parsing, percent-decoding, path checks, cookies, `next`
 * validation, route matching, sessions and the login throttle (with an
 * injected clock), bearer tokens (with the config key api_token), log
 * values, JSON errors and the compiled-in assets. The HTTP behaviour end
 * to end is in tests/integration/test_http_server.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "http/form.h"
#include "http/internal.h"

/* ---- cw_form_parse ---- */

typedef struct form_case {
        const char *in;
        int ret;
        const char *pairs[8][2]; /* expected, until a NULL key */
} form_case;

static const form_case form_cases[] = {
        {"", 0, {{NULL}}},
        {"a=1", 0, {{"a", "1"}, {NULL}}},
        {"a=1&b=2", 0, {{"a", "1"}, {"b", "2"}, {NULL}}},
        {"a=1&&b=2&", 0, {{"a", "1"}, {"b", "2"}, {NULL}}},
        {"&&&", 0, {{NULL}}},
        {"flag", 0, {{"flag", ""}, {NULL}}},
        {"flag&x=", 0, {{"flag", ""}, {"x", ""}, {NULL}}},
        {"=v", 0, {{"", "v"}, {NULL}}},
        {"a+b=c+d", 0, {{"a b", "c d"}, {NULL}}},
        {"k=%41%42%2b%2F", 0, {{"k", "AB+/"}, {NULL}}},
        {"k=a%3Db%26c", 0, {{"k", "a=b&c"}, {NULL}}},
        {"k=%C3%A9", 0, {{"k", "\xc3\xa9"}, {NULL}}},
        {"k=a=b", 0, {{"k", "a=b"}, {NULL}}},
        {"k=1&k=2", 0, {{"k", "1"}, {"k", "2"}, {NULL}}},
        {"k=%", -EINVAL, {{NULL}}},
        {"k=%4", -EINVAL, {{NULL}}},
        {"k=%zz", -EINVAL, {{NULL}}},
        {"k=%00", -EINVAL, {{NULL}}},
        {"%g0=1", -EINVAL, {{NULL}}},
        {"ok=1&bad=%x", -EINVAL, {{NULL}}},
};

static void test_form_parse(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(form_cases) / sizeof(form_cases[0]); i++) {
                const form_case *c = &form_cases[i];
                cw_form f = {0};
                size_t n = 0;
                int r = cw_form_parse(c->in, strlen(c->in), &f);

                if (r != c->ret)
                        fail_msg("'%s': returned %d, want %d", c->in, r, c->ret);
                while (c->pairs[n][0])
                        n++;
                if (f.n != n)
                        fail_msg("'%s': %zu pairs, want %zu", c->in, f.n, n);
                for (size_t k = 0; k < n; k++)
                        if (strcmp(f.kv[k].key, c->pairs[k][0]) != 0 ||
                            strcmp(f.kv[k].value, c->pairs[k][1]) != 0)
                                fail_msg("'%s': pair %zu is '%s'='%s', want '%s'='%s'", c->in, k,
                                         f.kv[k].key, f.kv[k].value, c->pairs[k][0],
                                         c->pairs[k][1]);
                cw_form_release(&f);
        }
}

static void test_form_limits(void **state)
{
        char buf[4096];
        size_t o = 0;
        cw_form f = {0};

        (void)state;
        for (int i = 0; i < CW_HTTP_MAX_PARAMS; i++)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%sk%d=%d", i ? "&" : "", i, i);
        assert_int_equal(cw_form_parse(buf, o, &f), 0);
        assert_int_equal(f.n, CW_HTTP_MAX_PARAMS);
        assert_string_equal(cw_form_get(f.kv, f.n, "k63"), "63");
        assert_null(cw_form_get(f.kv, f.n, "k64"));
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "&one=more");
        assert_int_equal(cw_form_parse(buf, o, &f), -E2BIG);
        assert_int_equal(f.n, 0);
        assert_null(f.mem);
        /* Not NUL-terminated input: only len bytes count. */
        assert_int_equal(cw_form_parse("a=1&b=2", 3, &f), 0);
        assert_int_equal(f.n, 1);
        assert_string_equal(f.kv[0].value, "1");
        cw_form_release(&f);
}

static void test_url_decode_encode(void **state)
{
        char s[64];
        cw_buf b = CW_BUF_INIT(1024);

        (void)state;
        snprintf(s, sizeof(s), "%s", "/a%20b+c");
        assert_int_equal(cw_url_decode(s, strlen(s), false), 6);
        assert_string_equal(s, "/a b+c");
        snprintf(s, sizeof(s), "%s", "a+b");
        assert_int_equal(cw_url_decode(s, strlen(s), true), 3);
        assert_string_equal(s, "a b");
        snprintf(s, sizeof(s), "%s", "%2e%2E");
        assert_int_equal(cw_url_decode(s, strlen(s), false), 2);
        assert_string_equal(s, "..");
        snprintf(s, sizeof(s), "%s", "%0");
        assert_int_equal(cw_url_decode(s, strlen(s), false), -EINVAL);
        snprintf(s, sizeof(s), "%s", "%00");
        assert_int_equal(cw_url_decode(s, strlen(s), false), -EINVAL);

        assert_int_equal(cw_url_encode(&b, "/jobs?a=b c&d=%/~x"), 0);
        assert_string_equal(b.p, "/jobs%3Fa%3Db%20c%26d%3D%25/~x");
        cw_buf_release(&b);
}

static void test_path_check(void **state)
{
        static const struct {
                const char *path;
                int ret;
        } cases[] = {
                {"/", 0},
                {"/jobs", 0},
                {"/runs/12/kill", 0},
                {"/api/v1/jobs/Backup%20nightly", 0},
                {"/jobs/a%2Fb", 0},
                {"/static/app.css", 0},
                {"/a/.../b", 0},
                {"/a/..b", 0},
                {"/.well-known", 0},
                {"", -EINVAL},
                {"jobs", -EINVAL},
                {"*", -EINVAL},
                {"http://host/jobs", -EINVAL},
                {"/static/../../etc/passwd", -EINVAL},
                {"/static/%2e%2e/%2E%2e/etc/passwd", -EINVAL},
                {"/static/.%2e/x", -EINVAL},
                {"/a/./b", -EINVAL},
                {"/a/.", -EINVAL},
                {"/..", -EINVAL},
                {"/jobs%zz", -EINVAL},
                {"/jobs%2", -EINVAL},
                {"/jobs%00", -EINVAL},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (cw_http_path_check(cases[i].path, strlen(cases[i].path)) != cases[i].ret)
                        fail_msg("path '%s': want %d", cases[i].path, cases[i].ret);
        /* A NUL byte inside the given length. */
        assert_int_equal(cw_http_path_check("/a\0b", 4), -EINVAL);
}

static void test_cookie_get(void **state)
{
        char v[16];

        (void)state;
        assert_true(cw_http_cookie_get("cw_session=abc", "cw_session", v, sizeof(v)));
        assert_string_equal(v, "abc");
        assert_true(cw_http_cookie_get("a=1; cw_session=xyz; b=2", "cw_session", v, sizeof(v)));
        assert_string_equal(v, "xyz");
        assert_true(cw_http_cookie_get("a=1;cw_session=\"q\" ", "cw_session", v, sizeof(v)));
        assert_string_equal(v, "q");
        assert_true(
                cw_http_cookie_get("x_cw_session=no; cw_session=yes", "cw_session", v, sizeof(v)));
        assert_string_equal(v, "yes");
        assert_true(cw_http_cookie_get("cw_session=", "cw_session", v, sizeof(v)));
        assert_string_equal(v, "");
        assert_false(cw_http_cookie_get("cw_sessionx=1", "cw_session", v, sizeof(v)));
        assert_false(cw_http_cookie_get("cw_session", "cw_session", v, sizeof(v)));
        assert_false(cw_http_cookie_get("", "cw_session", v, sizeof(v)));
        assert_false(cw_http_cookie_get(NULL, "cw_session", v, sizeof(v)));
        /* Too long for the buffer: refused, never cut. */
        assert_false(cw_http_cookie_get("cw_session=0123456789abcdef", "cw_session", v, sizeof(v)));
        assert_string_equal(v, "");
}

static void test_local_path(void **state)
{
        static const char *const good[] = {"/", "/jobs", "/runs/12?tab=output", "/jobs/a%20b",
                                           NULL};
        static const char *const bad[] = {"",
                                          "jobs",
                                          "//evil.example",
                                          "/\\evil.example",
                                          "http://evil.example/",
                                          "/a b",
                                          "/a\r\nSet-Cookie: x",
                                          "/\x7f",
                                          "javascript:alert(1)",
                                          NULL};
        char long_path[3000];

        (void)state;
        for (size_t i = 0; good[i]; i++)
                if (!cw_http_local_path(good[i]))
                        fail_msg("'%s' refused", good[i]);
        for (size_t i = 0; bad[i]; i++)
                if (cw_http_local_path(bad[i]))
                        fail_msg("'%s' accepted", bad[i]);
        assert_false(cw_http_local_path(NULL));
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = '\0';
        assert_false(cw_http_local_path(long_path));
}

/* ---- routing ---- */

static int h_a(const cw_http_req *req, cw_http_resp *resp)
{
        (void)req, (void)resp;
        return 0;
}
static int h_b(const cw_http_req *req, cw_http_resp *resp)
{
        (void)req, (void)resp;
        return 0;
}
static int h_c(const cw_http_req *req, cw_http_resp *resp)
{
        (void)req, (void)resp;
        return 0;
}

static const cw_http_route t1[] = {
        {CW_HTTP_GET, "/jobs", 0, h_a},
        {CW_HTTP_POST, "/jobs/%/run", 0, h_b},
        {0},
};
static const cw_http_route t2[] = {
        {CW_HTTP_GET, "/jobs/%", 0, h_a},
        {CW_HTTP_GET | CW_HTTP_DELETE, "/runs/%/%", 0, h_c},
        {CW_HTTP_GET, "/jobs/%/run", 0, h_c},
        {CW_HTTP_GET, "/", 0, h_b},
        {0},
};

static void test_route_find(void **state)
{
        const cw_http_route *const tables[] = {t1, t2};
        char argbuf[128];
        cw_route_match m;

        (void)state;
        cw_http_route_find(tables, 2, CW_HTTP_GET, "/jobs", argbuf, &m);
        assert_ptr_equal(m.route, &t1[0]);
        assert_int_equal(m.table, 0);
        assert_int_equal(m.n_args, 0);

        cw_http_route_find(tables, 2, CW_HTTP_GET, "/", argbuf, &m);
        assert_ptr_equal(m.route, &t2[3]);

        /* Segments are decoded one by one: an encoded '/' stays in its arg. */
        cw_http_route_find(tables, 2, CW_HTTP_GET, "/jobs/Backup%20a%2Fb", argbuf, &m);
        assert_ptr_equal(m.route, &t2[0]);
        assert_int_equal(m.table, 1);
        assert_int_equal(m.n_args, 1);
        assert_string_equal(m.args[0], "Backup a/b");

        /* First match in table order; the method picks between patterns. */
        cw_http_route_find(tables, 2, CW_HTTP_POST, "/jobs/X/run", argbuf, &m);
        assert_ptr_equal(m.route, &t1[1]);
        assert_string_equal(m.args[0], "X");
        cw_http_route_find(tables, 2, CW_HTTP_GET, "/jobs/X/run", argbuf, &m);
        assert_ptr_equal(m.route, &t2[2]);

        cw_http_route_find(tables, 2, CW_HTTP_DELETE, "/runs/1/2", argbuf, &m);
        assert_ptr_equal(m.route, &t2[1]);
        assert_int_equal(m.n_args, 2);
        assert_string_equal(m.args[0], "1");
        assert_string_equal(m.args[1], "2");

        /* 405: the path exists with other methods. */
        cw_http_route_find(tables, 2, CW_HTTP_PUT, "/jobs/X/run", argbuf, &m);
        assert_null(m.route);
        assert_int_equal(m.allowed, CW_HTTP_POST | CW_HTTP_GET);
        cw_http_route_find(tables, 2, 0, "/jobs", argbuf, &m);
        assert_null(m.route);
        assert_int_equal(m.allowed, CW_HTTP_GET);

        /* 404: % needs a non-empty segment; no prefix or trailing-slash matches. */
        static const char *const missing[] = {"/jobs/",  "/jobs//run", "/jobsx", "/jobs/a/b/c",
                                              "/runs/1", "//",         "/nope",  NULL};
        for (size_t i = 0; missing[i]; i++) {
                cw_http_route_find(tables, 2, CW_HTTP_GET, missing[i], argbuf, &m);
                if (m.route || m.allowed)
                        fail_msg("'%s' matched", missing[i]);
        }
}

static void test_real_tables(void **state)
{
        const cw_http_route *const tables[] = {cw_http_server_routes, cw_http_auth_routes,
                                               cw_http_asset_routes};
        char argbuf[128];
        cw_route_match m;

        (void)state;
        cw_http_route_find(tables, 3, CW_HTTP_GET, "/healthz", argbuf, &m);
        assert_non_null(m.route);
        assert_true(m.route->flags & CW_ROUTE_PUBLIC);
        cw_http_route_find(tables, 3, CW_HTTP_GET, "/", argbuf, &m);
        assert_non_null(m.route);
        assert_false(m.route->flags & CW_ROUTE_PUBLIC);
        cw_http_route_find(tables, 3, CW_HTTP_POST, "/login", argbuf, &m);
        assert_true(m.route && (m.route->flags & CW_ROUTE_PUBLIC));
        cw_http_route_find(tables, 3, CW_HTTP_POST, "/logout", argbuf, &m);
        assert_true(m.route && !(m.route->flags & CW_ROUTE_PUBLIC));
        cw_http_route_find(tables, 3, CW_HTTP_GET, "/logout", argbuf, &m);
        assert_null(m.route);
        assert_int_equal(m.allowed, CW_HTTP_POST);
        cw_http_route_find(tables, 3, CW_HTTP_GET, "/static/app.css", argbuf, &m);
        assert_true(m.route && (m.route->flags & CW_ROUTE_PUBLIC));
        assert_int_equal(m.table, 2);
}

/* ---- sessions ---- */

#define S 1000000LL

static void test_sessions(void **state)
{
        cw_sessions *t = calloc(1, sizeof(*t));
        unsigned char pw[32] = {1, 2, 3};
        cw_session a, b, got;
        int64_t now = 1000 * S;

        (void)state;
        cw_sessions_new(t, "admin", pw, now, &a);
        assert_int_equal(strlen(a.id), CW_SECRET_HEX);
        assert_int_equal(strlen(a.csrf), CW_SECRET_HEX);
        assert_string_not_equal(a.id, a.csrf);
        cw_sessions_new(t, "admin", pw, now, &b);
        assert_string_not_equal(a.id, b.id);

        assert_true(cw_sessions_get(t, a.id, now + 1 * S, &got));
        assert_string_equal(got.user, "admin");
        assert_string_equal(got.csrf, a.csrf);
        assert_memory_equal(got.pw, pw, 32);
        assert_false(cw_sessions_get(t, "nope", now, &got));
        assert_false(cw_sessions_get(t, "", now, &got));
        /* Same length, one digit off. */
        char wrong[CW_SECRET_HEX + 1];
        memcpy(wrong, a.id, sizeof(wrong));
        wrong[10] = wrong[10] == '0' ? '1' : '0';
        assert_false(cw_sessions_get(t, wrong, now, &got));

        /* Idle expiry: each use pushes it back. */
        int64_t later = now + CW_SESSION_IDLE_US - S;
        assert_true(cw_sessions_get(t, a.id, later, &got));
        assert_true(cw_sessions_get(t, a.id, later + CW_SESSION_IDLE_US - S, &got));
        assert_false(cw_sessions_get(t, b.id, later + CW_SESSION_IDLE_US - S,
                                     &got)); /* b idle too long */
        /* Absolute expiry, however active. */
        int64_t tt = now;
        while (tt + CW_SESSION_IDLE_US / 2 < now + CW_SESSION_LIFETIME_US) {
                tt += CW_SESSION_IDLE_US / 2;
                assert_true(cw_sessions_get(t, a.id, tt, &got));
        }
        assert_false(cw_sessions_get(t, a.id, now + CW_SESSION_LIFETIME_US, &got));

        /* Logout. */
        cw_sessions_new(t, "admin", pw, now, &a);
        cw_sessions_end(t, a.id);
        assert_false(cw_sessions_get(t, a.id, now, &got));

        /* A full table evicts the least recently used session. */
        memset(t, 0, sizeof(*t));
        cw_session first, second;
        cw_sessions_new(t, "admin", pw, now, &first);
        cw_sessions_new(t, "admin", pw, now + 1, &second);
        for (int i = 2; i < CW_SESSION_MAX; i++)
                cw_sessions_new(t, "admin", pw, now + 2, &got);
        assert_true(
                cw_sessions_get(t, first.id, now + 3, &got)); /* used: second is now the oldest */
        cw_sessions_new(t, "admin", pw, now + 4, &got);
        assert_false(cw_sessions_get(t, second.id, now + 5, &got));
        assert_true(cw_sessions_get(t, first.id, now + 5, &got));
        free(t);
}

/* ---- the login throttle ---- */

static void test_throttle(void **state)
{
        cw_throttle *t = calloc(1, sizeof(*t));
        int64_t now = 5000 * S;

        (void)state;
        assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now), 0);
        for (int i = 1; i < CW_THROTTLE_FREE; i++) {
                cw_throttle_failed(t, "admin", "10.0.0.1", now + i * S);
                assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now + i * S), 0);
        }
        /* The fifth failure blocks for the base time... */
        now += CW_THROTTLE_FREE * S;
        cw_throttle_failed(t, "admin", "10.0.0.1", now);
        assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now), CW_THROTTLE_BASE_US);
        assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now + S),
                         CW_THROTTLE_BASE_US - S);
        /* ...other addresses, and other names from this address, are not
         * affected... */
        assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.2", now), 0);
        assert_int_equal(cw_throttle_wait(t, "root", "10.0.0.1", now), 0);
        /* ...and each further failure doubles it, up to the maximum. */
        int64_t block = CW_THROTTLE_BASE_US;
        for (int i = 0; i < 12; i++) {
                now += block;
                assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now), 0);
                cw_throttle_failed(t, "admin", "10.0.0.1", now);
                block = block * 2 > CW_THROTTLE_MAX_US ? CW_THROTTLE_MAX_US : block * 2;
                assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now), block);
        }
        assert_int_equal(block, CW_THROTTLE_MAX_US);

        /* A success forgets the address. */
        cw_throttle_succeeded(t, "admin", "10.0.0.1");
        assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now), 0);
        cw_throttle_failed(t, "admin", "10.0.0.1", now);
        assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.1", now), 0);

        /* Failures a window apart do not add up (closer ones do, however
         * spread out: the count is forgotten only after a quiet window). */
        memset(t, 0, sizeof(*t));
        for (int i = 0; i < 3 * CW_THROTTLE_FREE; i++) {
                cw_throttle_failed(t, "admin", "10.0.0.3", now);
                assert_int_equal(cw_throttle_wait(t, "admin", "10.0.0.3", now), 0);
                now += CW_THROTTLE_WINDOW_US;
        }

        /* The table is bounded: a new address replaces the one idle longest. */
        memset(t, 0, sizeof(*t));
        char addr[32];
        for (int i = 0; i < CW_THROTTLE_ENTRIES + 10; i++) {
                snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
                for (int k = 0; k < CW_THROTTLE_FREE; k++)
                        cw_throttle_failed(t, "admin", addr, now + i);
        }
        assert_int_equal(cw_throttle_wait(t, "admin", "10.1.0.0", now + CW_THROTTLE_ENTRIES + 10),
                         0); /* evicted */
        snprintf(addr, sizeof(addr), "10.1.%d.%d", (CW_THROTTLE_ENTRIES + 9) / 256,
                 (CW_THROTTLE_ENTRIES + 9) % 256);
        assert_true(cw_throttle_wait(t, "admin", addr, now + CW_THROTTLE_ENTRIES + 10) > 0);

        /* Names are compared cut to CW_USER_MAX bytes. */
        memset(t, 0, sizeof(*t));
        char longname[CW_USER_MAX + 10];
        memset(longname, 'u', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        for (int k = 0; k < CW_THROTTLE_FREE; k++)
                cw_throttle_failed(t, longname, "10.0.0.4", now);
        longname[CW_USER_MAX + 2] = '\0';
        assert_true(cw_throttle_wait(t, longname, "10.0.0.4", now) > 0);
        free(t);
}

/* A blocked pair may still be checked once per CW_THROTTLE_PROBE_US per
 * user name, whatever the address. */
static void test_throttle_probe(void **state)
{
        cw_throttle *t = calloc(1, sizeof(*t));
        int64_t now = 5000 * S, wait = 0;

        (void)state;
        assert_true(cw_throttle_probe_take(t, "admin", now, &wait));
        assert_false(cw_throttle_probe_take(t, "admin", now + S, &wait));
        assert_int_equal(wait, CW_THROTTLE_PROBE_US - S);
        assert_true(cw_throttle_probe_take(t, "root", now + S,
                                           &wait)); /* another name has its own turn */
        assert_true(cw_throttle_probe_take(t, "admin", now + CW_THROTTLE_PROBE_US, &wait));
        assert_false(cw_throttle_probe_take(t, "admin", now + CW_THROTTLE_PROBE_US, &wait));
        /* The table is bounded; names beyond it take the oldest turn. */
        for (int i = 0; i < 3 * CW_THROTTLE_PROBE_ENTRIES; i++) {
                char name[16];
                snprintf(name, sizeof(name), "u%d", i);
                assert_true(
                        cw_throttle_probe_take(t, name, now + 2 * CW_THROTTLE_PROBE_US + i, &wait));
        }
        free(t);
}

/* ---- connections and proxies (conns.c) ---- */

static void test_conns_caps(void **state)
{
        cw_conns *t = cw_conns_new();
        static char keys[CW_CONN_TABLE];
        int64_t now = 100 * S;

        (void)state;
        assert_non_null(t);
        for (int i = 0; i < CW_CONN_PER_CLIENT; i++) {
                assert_int_equal(cw_conns_admit(t, "10.0.0.1", false, now), 0);
                assert_int_equal(cw_conns_add(t, &keys[i], -1, "10.0.0.1", false, now), 0);
        }
        /* One address is capped; a trusted proxy and others are not. */
        assert_int_equal(cw_conns_admit(t, "10.0.0.1", false, now), -EMFILE);
        assert_int_equal(cw_conns_admit(t, "10.0.0.1", true, now), 0);
        assert_int_equal(cw_conns_admit(t, "10.0.0.2", false, now), 0);
        /* A closed connection frees its place. */
        cw_conns_remove(t, &keys[0]);
        assert_int_equal(cw_conns_admit(t, "10.0.0.1", false, now), 0);
        cw_conns_free(t);
}

static void test_conns_request_deadline(void **state)
{
        cw_conns *t = cw_conns_new();
        int sv[2], key;
        char buf[64] = "";
        int64_t now = 100 * S;

        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        assert_int_equal(cw_conns_add(t, &key, sv[0], "10.0.0.1", false, now), 0);
        /* A request being answered is never cut off; the clock restarts
         * after the answer. */
        assert_true(cw_conns_begin(t, &key));
        assert_int_equal(cw_conns_reap(t, now + CW_REQUEST_TIMEOUT_US), 0);
        cw_conns_end(t, &key, now + CW_REQUEST_TIMEOUT_US);
        now += CW_REQUEST_TIMEOUT_US;
        assert_int_equal(cw_conns_reap(t, now + CW_REQUEST_TIMEOUT_US - 1), 0);
        assert_int_equal(cw_conns_reap(t, now + CW_REQUEST_TIMEOUT_US), 1);
        assert_true(read(sv[1], buf, sizeof(buf) - 1) > 0);
        assert_memory_equal(buf, "HTTP/1.1 408 ", 13);
        /* Too late to answer it now, and it is not reaped twice. */
        assert_false(cw_conns_begin(t, &key));
        assert_int_equal(cw_conns_reap(t, now + 2 * CW_REQUEST_TIMEOUT_US), 0);
        close(sv[0]);
        close(sv[1]);
        cw_conns_free(t);
}

/* Near the limit a new connection closes the one waiting longest. */
static void test_conns_evict(void **state)
{
        cw_conns *t = cw_conns_new();
        static char keys[CW_CONN_LIMIT];
        int sv[2];
        int64_t now = 100 * S;
        char addr[32];

        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        assert_int_equal(cw_conns_add(t, &keys[0], sv[0], "10.9.0.0", false, now), 0);
        for (int i = 1; i < CW_CONN_LIMIT; i++) {
                snprintf(addr, sizeof(addr), "10.9.%d.%d", i / 256, i % 256);
                assert_int_equal(cw_conns_add(t, &keys[i], -1, addr, false, now + S / 2), 0);
        }
        /* All young: nothing to close, the table is full. */
        assert_int_equal(cw_conns_admit(t, "10.8.0.1", false, now + S / 2), -EBUSY);
        /* The oldest has waited a second: it makes room. */
        assert_int_equal(cw_conns_admit(t, "10.8.0.1", false, now + CW_CONN_EVICT_AGE_US), 0);
        assert_false(cw_conns_begin(t, &keys[0]));
        assert_true(cw_conns_begin(t, &keys[1]));
        close(sv[0]);
        close(sv[1]);
        cw_conns_free(t);
}

static void test_forwarded_client(void **state)
{
        const char *list[] = {"127.0.0.1", "10.0.0.0/8", "fd00::/8", NULL};
        cw_strv trusted = {.v = (char **)list, .n = 3};
        static const struct {
                const char *peer, *xff, *want;
        } cases[] = {
                {"127.0.0.1", "203.0.113.7", "203.0.113.7"},
                {"127.0.0.1", NULL, "127.0.0.1"},
                {"127.0.0.1", "198.51.100.2, 203.0.113.7", "203.0.113.7"},
                {"127.0.0.1", "198.51.100.2, 203.0.113.7, 10.1.2.3", "203.0.113.7"},
                {"127.0.0.1", "10.1.2.3 ,10.2.3.4", "10.1.2.3"}, /* all trusted: the first */
                {"127.0.0.1", "198.51.100.2, garbage, 10.1.2.3",
                 "10.1.2.3"}, /* stops at what it cannot read */
                {"127.0.0.1", "::ffff:192.0.2.1", "192.0.2.1"},
                {"127.0.0.1", "2001:DB8::1", "2001:db8::1"},
                {"127.0.0.1", "", "127.0.0.1"},
                {"127.0.0.2", "203.0.113.7", "127.0.0.2"}, /* not a trusted proxy */
                {"fd12::5", "203.0.113.9", "203.0.113.9"},
                {"192.0.2.1", "10.1.1.1", "192.0.2.1"},
        };
        char out[CW_CLIENT_MAX];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                cw_http_forwarded_client(cases[i].peer, cases[i].xff, &trusted, out, sizeof(out));
                assert_string_equal(out, cases[i].want);
        }
        assert_true(cw_http_addr_match("10.255.0.1", &trusted));
        assert_false(cw_http_addr_match("11.0.0.1", &trusted));
        assert_false(cw_http_addr_match("127.0.0.2", &trusted));
        assert_false(cw_http_addr_match("::1", &trusted));
        assert_false(cw_http_addr_match("?", &trusted));
        assert_false(cw_http_addr_match("10.0.0.1", NULL));
}

/* ---- config: api_token, bearer check, sessions against the config ---- */

static cw_config *load(const char *text, cw_config_errors *errs)
{
        cw_config_opts opts = {.now = 1700000000};
        cw_config *c = NULL;

        if (cw_config_load_string("test.ini", text, strlen(text), &opts, &c, errs) < 0)
                return NULL;
        return c;
}

/* SHA-256("cwt_good") as hex, computed here with libsodium. */
static void sha_hex(const char *s, char out[65])
{
        unsigned char h[32];

        crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
        sodium_bin2hex(out, 65, h, sizeof(h));
}

static void test_api_tokens(void **state)
{
        char hex[65], upper[65], text[1024], name[65];
        cw_config_errors errs = {0};
        cw_config *c;

        (void)state;
        sha_hex("cwt_good", hex);
        for (int i = 0; i < 65; i++)
                upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
        snprintf(
                text, sizeof(text),
                "[cronwarden]\ndata_dir = /tmp/x\n[admin]\napi_token = ci sha256:%s\napi_token = grafana.ro "
                "SHA256:%s\n",
                hex, upper);
        c = load(text, &errs);
        if (!c)
                fail_msg("config refused: %s", errs.n ? errs.msgs[0] : "?");
        assert_int_equal(c->admin_api_tokens.n, 2);
        assert_true(cw_auth_token(c, "cwt_good", name, sizeof(name)));
        /* Both lines have the same hash: the last one wins, both are compared. */
        assert_string_equal(name, "grafana.ro");
        assert_false(cw_auth_token(c, "cwt_goo", name, sizeof(name)));
        assert_false(cw_auth_token(c, "", name, sizeof(name)));
        cw_config_free(c);

        static const char *const bad[] = {
                "api_token = ci\n",
                "api_token = ci sha256:abc\n",
                "api_token = ci md5:0123\n",
                "api_token = bad/name sha256:0000000000000000000000000000000000000000000000000000000000000000\n",
                "api_token = ci sha256:000000000000000000000000000000000000000000000000000000000000000g\n",
                "api_token = ci sha256:0000000000000000000000000000000000000000000000000000000000000000\n"
                "api_token = ci sha256:1111111111111111111111111111111111111111111111111111111111111111\n",
                NULL,
        };
        for (size_t i = 0; bad[i]; i++) {
                snprintf(text, sizeof(text), "[cronwarden]\ndata_dir = /tmp/x\n[admin]\n%s",
                         bad[i]);
                cw_config_errors_release(&errs);
                c = load(text, &errs);
                if (c)
                        fail_msg("accepted: %s", bad[i]);
                assert_true(errs.n >= 1);
                assert_non_null(strstr(errs.msgs[0], "api_token"));
        }
        cw_config_errors_release(&errs);
}

static void test_auth_sessions_follow_config(void **state)
{
        char hash[crypto_pwhash_STRBYTES], text[1024];
        cw_config_errors errs = {0};
        cw_auth *a = cw_auth_new();
        unsigned char pw[32];
        cw_config *c, *c2;
        cw_session s, got;

        (void)state;
        assert_int_equal(crypto_pwhash_str(hash, "pw", 2, crypto_pwhash_OPSLIMIT_MIN,
                                           crypto_pwhash_MEMLIMIT_MIN),
                         0);
        snprintf(text, sizeof(text),
                 "[cronwarden]\ndata_dir = /tmp/x\n[admin]\nuser = root\npassword_hash = %s\n",
                 hash);
        c = load(text, &errs);
        assert_non_null(c);
        assert_string_equal(cw_auth_user(c), "root");
        assert_int_equal(cw_auth_password_check(a, c, "root", "pw"), 0);
        assert_int_equal(cw_auth_password_check(a, c, "root", "pW"), -EACCES);
        assert_int_equal(cw_auth_password_check(a, c, "admin", "pw"), -EACCES);
        assert_int_equal(cw_auth_password_check(a, c, "", ""), -EACCES);

        assert_true(cw_auth_password_id(c, pw));
        cw_sessions_new(&a->sessions, "root", pw, 10 * S, &s);
        assert_true(cw_auth_session(a, c, s.id, 11 * S, &got));

        /* A new password (a reload) ends the session. */
        assert_int_equal(crypto_pwhash_str(hash, "pw2", 3, crypto_pwhash_OPSLIMIT_MIN,
                                           crypto_pwhash_MEMLIMIT_MIN),
                         0);
        snprintf(text, sizeof(text),
                 "[cronwarden]\ndata_dir = /tmp/x\n[admin]\nuser = root\npassword_hash = %s\n",
                 hash);
        c2 = load(text, &errs);
        assert_non_null(c2);
        assert_false(cw_auth_session(a, c2, s.id, 12 * S, &got));
        assert_false(cw_auth_session(a, c, s.id, 12 * S, &got)); /* and it is gone */

        /* Without a password_hash: no sessions, no logins; user defaults to admin. */
        cw_config_free(c2);
        c2 = load("[cronwarden]\ndata_dir = /tmp/x\n", &errs);
        assert_non_null(c2);
        assert_string_equal(cw_auth_user(c2), "admin");
        assert_false(cw_auth_password_id(c2, pw));
        assert_int_equal(cw_auth_password_check(a, c2, "admin", ""), -EACCES);
        cw_sessions_new(&a->sessions, "admin", pw, 10 * S, &s);
        assert_false(cw_auth_session(a, c2, s.id, 11 * S, &got));

        cw_config_free(c2);
        cw_config_free(c);
        cw_auth_free(a);
        cw_config_errors_release(&errs);
}

/* ---- helpers ---- */

static void test_logval(void **state)
{
        char b[64];

        (void)state;
        assert_string_equal(cw_http_logval("admin", b, sizeof(b)), "admin");
        assert_string_equal(cw_http_logval(NULL, b, sizeof(b)), "-");
        assert_string_equal(cw_http_logval("", b, sizeof(b)), "\"\"");
        assert_string_equal(cw_http_logval("a b", b, sizeof(b)), "\"a b\"");
        assert_string_equal(cw_http_logval("say \"hi\"", b, sizeof(b)), "\"say \\\"hi\\\"\"");
        assert_string_equal(cw_http_logval("x=1", b, sizeof(b)), "\"x=1\"");
        assert_string_equal(cw_http_logval("a\nevent=fake", b, sizeof(b)), "\"a\\x0aevent=fake\"");
        /* Cut to fit, still closed. */
        char small[12];
        const char *v = cw_http_logval("a long value with spaces", small, sizeof(small));
        assert_true(strlen(v) < sizeof(small));
        assert_int_equal(v[0], '"');
        assert_int_equal(v[strlen(v) - 1], '"');
}

static void test_error_json(void **state)
{
        cw_http_req req = {.want_json = true, .path = "/api/v1/x"};
        cw_http_resp resp = {.body = CW_BUF_INIT(4096)};

        (void)state;
        cw_buf_puts(&resp.body, "partial output");
        cw_http_error(&req, &resp, 422, "limit: expected a number, got '%s'", "x\"\n\xff");
        assert_int_equal(resp.status, 422);
        assert_string_equal(resp.content_type, "application/json");
        assert_string_equal(resp.body.p,
                            "{\"error\": {\"status\": 422, \"message\": "
                            "\"limit: expected a number, got 'x\\\"\\u000a\\ufffd'\"}}\n");
        cw_buf_release(&resp.body);
        /* Helpers that need a server are no-ops without one. */
        cw_http_wake(NULL);
        cw_http_audit(&req, "test", "x=%d", 1);
        assert_null(cw_http_header(&req, "Cookie"));
        assert_int_equal(cw_http_req_mono_us(&req), 0);
}

static void test_params(void **state)
{
        cw_http_kv q[] = {{"a", "q1"}, {"b", "q2"}};
        cw_http_kv f[] = {{"a", "f1"}};
        cw_http_req req = {.query = q, .n_query = 2, .form = f, .n_form = 1};

        (void)state;
        assert_string_equal(cw_http_query(&req, "a"), "q1");
        assert_string_equal(cw_http_form(&req, "a"), "f1");
        assert_string_equal(cw_http_param(&req, "a"), "f1");
        assert_string_equal(cw_http_param(&req, "b"), "q2");
        assert_null(cw_http_param(&req, "c"));
        assert_null(cw_http_form(&req, "b"));
}

static void test_assets(void **state)
{
        const cw_asset *a = cw_asset_find("app.css");

        (void)state;
        assert_non_null(a);
        assert_string_equal(a->content_type, "text/css; charset=utf-8");
        assert_true(a->size > 0);
        assert_int_equal(strlen(a->etag), 66);
        assert_int_equal(a->etag[0], '"');
        assert_non_null(cw_asset_find("app.js"));
        assert_null(cw_asset_find("../app.css"));
        assert_null(cw_asset_find(""));
        assert_string_equal(cw_http_asset_path("app.css"), a->path);
        assert_int_equal(strncmp(a->path, "/static/app.css?v=", 18), 0);
        assert_null(cw_http_asset_path("nope.css"));
        for (size_t i = 0; i < cw_n_assets; i++) {
                unsigned char h[32];
                char hex[65];
                crypto_hash_sha256(h, cw_assets[i].data, cw_assets[i].size);
                sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
                assert_memory_equal(cw_assets[i].etag + 1, hex, 64);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_form_parse),
                cmocka_unit_test(test_form_limits),
                cmocka_unit_test(test_url_decode_encode),
                cmocka_unit_test(test_path_check),
                cmocka_unit_test(test_cookie_get),
                cmocka_unit_test(test_local_path),
                cmocka_unit_test(test_route_find),
                cmocka_unit_test(test_real_tables),
                cmocka_unit_test(test_sessions),
                cmocka_unit_test(test_throttle),
                cmocka_unit_test(test_throttle_probe),
                cmocka_unit_test(test_conns_caps),
                cmocka_unit_test(test_conns_request_deadline),
                cmocka_unit_test(test_conns_evict),
                cmocka_unit_test(test_forwarded_client),
                cmocka_unit_test(test_api_tokens),
                cmocka_unit_test(test_auth_sessions_follow_config),
                cmocka_unit_test(test_logval),
                cmocka_unit_test(test_error_json),
                cmocka_unit_test(test_params),
                cmocka_unit_test(test_assets),
        };

        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
