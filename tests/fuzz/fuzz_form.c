/* fuzz_form.c - libFuzzer target for the admin server's request parsers
 * (src/http/form.h) and route matching.
 *
 * Any input must either be refused with -EINVAL/-E2BIG, or parse into at
 * most CW_HTTP_MAX_PARAMS pairs which, percent-encoded and joined again,
 * parse back to the same pairs. The same bytes as a path must be refused
 * by cw_http_path_check or route without overrunning; as a Cookie header
 * and a `next=` value they must give bounded, safe answers. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"
#include "http/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (ok)
                return;
        fprintf(stderr, "fuzz_form: %s\n", what);
        abort();
}

static void roundtrip(const cw_form *f)
{
        cw_buf b = CW_BUF_INIT(0);
        cw_form g = {0};

        for (size_t i = 0; i < f->n; i++) {
                if (i)
                        cw_buf_putc(&b, '&');
                cw_url_encode(&b, f->kv[i].key);
                cw_buf_putc(&b, '=');
                cw_url_encode(&b, f->kv[i].value);
        }
        if (cw_buf_error(&b)) {
                cw_buf_release(&b);
                return;
        }
        /* Only pairs with an empty key and value vanish ("=" is kept). */
        check(cw_form_parse(b.p ? b.p : "", b.len, &g) == 0, "re-encoded form does not parse");
        check(g.n == f->n, "re-encoded form has another count");
        for (size_t i = 0; i < f->n; i++)
                check(strcmp(g.kv[i].key, f->kv[i].key) == 0 &&
                              strcmp(g.kv[i].value, f->kv[i].value) == 0,
                      "re-encoded form differs");
        cw_form_release(&g);
        cw_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const cw_http_route *const tables[] = {cw_http_server_routes, cw_http_auth_routes,
                                               cw_http_asset_routes};
        cw_form f = {0};
        char *text, *argbuf, cookie[80];
        cw_route_match m;
        int r;

        if (size > 70000)
                return 0;
        text = malloc(size + 1);
        argbuf = malloc(size + 1);
        if (!text || !argbuf) {
                free(text);
                free(argbuf);
                return 0;
        }
        memcpy(text, data, size);
        text[size] = '\0';

        r = cw_form_parse(text, size, &f);
        check(r == 0 || r == -EINVAL || r == -E2BIG, "unexpected error code");
        if (r == 0) {
                check(f.n <= CW_HTTP_MAX_PARAMS, "too many pairs");
                roundtrip(&f);
        } else
                check(f.n == 0 && !f.mem, "form not empty after an error");
        cw_form_release(&f);

        if (cw_http_path_check(text, size) == 0) {
                check(text[0] == '/' && strlen(text) == size,
                      "accepted path without '/' or with NUL");
                cw_http_route_find(tables, 3, CW_HTTP_GET, text, argbuf, &m);
                for (size_t i = 0; m.route && i < m.n_args; i++)
                        check(m.args[i][0] && m.args[i] >= argbuf && m.args[i] < argbuf + size + 1,
                              "arg outside argbuf");
        }

        if (cw_http_cookie_get(text, "cw_session", cookie, sizeof(cookie)))
                check(strlen(cookie) < sizeof(cookie), "cookie overran");
        if (cw_http_local_path(text))
                check(text[0] == '/' && text[1] != '/' && text[1] != '\\' && !strchr(text, '\n'),
                      "unsafe next= accepted");
        free(argbuf);
        free(text);
        return 0;
}
