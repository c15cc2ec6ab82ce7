/* dispatch.c - one request of the admin server, once libmicrohttpd has
 * read it (server.c): the path, query and form parsed and checked,
 * the route found, the session or bearer token checked, CSRF enforced on
 * state-changing requests made with a session, a store connection taken
 * from the pool, and the handler run. Whatever goes wrong becomes an
 * error answer in resp; nothing here talks to the socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <microhttpd.h>
#include <sodium.h>

#include "base/clock.h"
#include "http/server_priv.h"

static const cw_http_route *const all_tables[CW_TABLE__MAX] = {
        [CW_TABLE_SERVER] = cw_http_server_routes,   [CW_TABLE_AUTH] = cw_http_auth_routes,
        [CW_TABLE_ASSETS] = cw_http_asset_routes,    [CW_TABLE_API] = cw_http_api_routes,
        [CW_TABLE_METRICS] = cw_http_metrics_routes, [CW_TABLE_PAGES] = cw_http_page_routes,
};

/* ---- the store pool ---- */

static int store_take(http_ctx *x, cw_store **ret)
{
        cw_http_server *srv = x->srv;
        cw_error err;
        int r;

        pthread_mutex_lock(&srv->lock);
        if (srv->n_pool > 0) {
                *ret = srv->pool[--srv->n_pool];
                pthread_mutex_unlock(&srv->lock);
                return 0;
        }
        pthread_mutex_unlock(&srv->lock);
        cw_error_clear(&err);
        r = cw_store_open(x->cfg->store, x->cfg->data_dir, ret, &err);
        if (r < 0) {
                char q[400];
                cw_http_srv_log(srv, "error", "event=http_error what=store_open error=%s",
                                cw_http_logval(err.msg[0] ? err.msg : strerror(-r), q, sizeof(q)));
        }
        return r;
}

static void store_give(cw_http_server *srv, cw_store *s)
{
        if (!s)
                return;
        pthread_mutex_lock(&srv->lock);
        if (srv->n_pool < STORE_POOL_MAX) {
                srv->pool[srv->n_pool++] = s;
                s = NULL;
        }
        pthread_mutex_unlock(&srv->lock);
        cw_store_close(s);
}

/* ---- one request ---- */

static unsigned method_bit(const char *m)
{
        if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
                return CW_HTTP_GET;
        if (strcmp(m, "POST") == 0)
                return CW_HTTP_POST;
        if (strcmp(m, "PUT") == 0)
                return CW_HTTP_PUT;
        if (strcmp(m, "DELETE") == 0)
                return CW_HTTP_DELETE;
        return 0;
}

static bool prefers_json(const char *accept)
{
        const char *j, *h;

        if (!accept || !(j = strcasestr(accept, "application/json")))
                return false;
        h = strcasestr(accept, "text/html");
        return !h || j < h;
}

void cw_http_ctx_init(http_ctx *x, cw_http_server *srv, struct MHD_Connection *con, http_conn *c)
{
        unsigned char nonce[16];
        const char *ct;

        memset(x, 0, sizeof(*x));
        x->srv = srv;
        x->con = con;
        x->c = c;
        x->mono_us = cw_clock_mono_us();
        randombytes_buf(nonce, sizeof(nonce));
        sodium_bin2hex(x->nonce, sizeof(x->nonce), nonce, sizeof(nonce));
        snprintf(x->client, sizeof(x->client), "%s", c->client[0] ? c->client : "?");
        pthread_mutex_lock(&srv->lock);
        x->cfg = cw_config_ref(srv->cfg);
        pthread_mutex_unlock(&srv->lock);
        ct = MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

        x->req.path = "/";
        x->req.body = c->body.len ? c->body.p : "";
        x->req.body_len = c->body.len;
        x->req.content_type = ct ? ct : "";
        x->req.client = x->client;
        x->req.nonce = x->nonce;
        x->req.now_us = cw_clock_now(srv->clock);
        x->req.cfg = x->cfg;
        x->req.server = srv;
        x->req.want_json = prefers_json(
                MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        x->req.priv = x;
}

void cw_http_ctx_release(http_ctx *x)
{
        cw_form_release(&x->query);
        cw_form_release(&x->form);
        free(x->raw_path);
        free(x->path);
        free(x->argbuf);
        store_give(x->srv, x->store);
        cw_config_free(x->cfg);
        sodium_memzero(x->csrf, sizeof(x->csrf));
}

/* The session named by the cw_session cookie, if valid: sets user, csrf. */
static void find_session(http_ctx *x)
{
        const char *h =
                MHD_lookup_connection_value(x->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
        char id[CW_SECRET_HEX + 2];
        cw_session s;

        if (!cw_http_cookie_get(h, CW_SESSION_COOKIE, id, sizeof(id)))
                return;
        if (cw_auth_session(x->srv->auth, x->cfg, id, x->mono_us, &s)) {
                snprintf(x->user, sizeof(x->user), "%s", s.user);
                memcpy(x->csrf, s.csrf, sizeof(x->csrf));
                x->req.user = x->user;
                x->req.csrf = x->csrf;
        }
        sodium_memzero(&s, sizeof(s));
        sodium_memzero(id, sizeof(id));
}

/* Authorization: Bearer TOKEN -> the token, or NULL. */
static const char *bearer_of(const char *h)
{
        if (!h || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
                return NULL;
        h += 6;
        while (*h == ' ' || *h == '\t')
                h++;
        return *h ? h : NULL;
}

static bool is_form(const char *ct)
{
        static const char form[] = "application/x-www-form-urlencoded";
        size_t n = sizeof(form) - 1;

        return strncasecmp(ct, form, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Without credentials: where the client goes depends on the route. */
static void deny(http_ctx *x, const cw_route_match *m, cw_http_resp *resp)
{
        if (m->table == CW_TABLE_METRICS || (m->route->flags & CW_ROUTE_API)) {
                /* Scripts and scrapers: JSON, like the API. */
                x->www_auth = true;
                x->req.want_json = true;
                cw_http_error(
                        &x->req, resp, 401,
                        "authentication required: send Authorization: Bearer TOKEN or log in");
                return;
        }
        if (x->req.method == CW_HTTP_GET) {
                cw_buf loc = CW_BUF_INIT(16 * 1024);

                cw_buf_puts(&loc, "/login?next=");
                cw_url_encode(&loc, x->c->uri);
                if (cw_buf_error(&loc) == 0) {
                        cw_http_redirect(resp, loc.p);
                        cw_buf_release(&loc);
                        return;
                }
                cw_buf_release(&loc);
                cw_http_redirect(resp, "/login");
                return;
        }
        cw_http_error(&x->req, resp, 403,
                      "not logged in (or the session expired): log in and try again");
}

void cw_http_dispatch(http_ctx *x, const char *method_name, cw_http_resp *resp)
{
        unsigned method = method_bit(method_name);
        http_conn *c = x->c;
        const char *uri = c->uri, *q, *bearer;
        cw_route_match m;
        ssize_t n;
        int r;

        x->req.method = method ? method : CW_HTTP_GET;
        if (strncmp(uri, "/api/", 5) == 0)
                x->req.want_json = true;
        if (c->nul_in_uri) {
                cw_http_error(&x->req, resp, 400, "malformed request: a NUL byte in the path");
                return;
        }
        q = strchr(uri, '?');
        x->raw_path = strndup(uri, q ? (size_t)(q - uri) : strlen(uri));
        if (!x->raw_path)
                goto oom;
        if (cw_http_path_check(x->raw_path, strlen(x->raw_path)) < 0) {
                cw_http_error(&x->req, resp, 400,
                              "malformed path: it must start with '/', use valid %%XX escapes, "
                              "and have no '.' or '..' segments");
                return;
        }
        x->path = strdup(x->raw_path);
        if (!x->path)
                goto oom;
        n = cw_url_decode(x->path, strlen(x->path), false);
        if (n < 0) {
                cw_http_error(&x->req, resp, 400, "malformed path");
                return;
        }
        x->req.path = x->path;
        if (strncmp(x->path, "/api/", 5) == 0)
                x->req.want_json = true;
        if (q) {
                r = cw_form_parse(q + 1, strlen(q + 1), &x->query);
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0) {
                        cw_http_error(
                                &x->req, resp, 400,
                                r == -E2BIG
                                        ? "too many query parameters (at most %d)"
                                        : "malformed query string: bad %%XX escape (at most %d parameters)",
                                CW_HTTP_MAX_PARAMS);
                        return;
                }
                x->req.query = x->query.kv;
                x->req.n_query = x->query.n;
        }
        find_session(x);

        x->argbuf = malloc(strlen(x->raw_path) + 1);
        if (!x->argbuf)
                goto oom;
        cw_http_route_find(all_tables, CW_TABLE__MAX, method, x->raw_path, x->argbuf, &m);
        if (!m.route) {
                if (m.allowed) {
                        x->allow = m.allowed;
                        cw_http_error(&x->req, resp, 405, "method %.16s is not allowed on %s",
                                      method_name, x->path);
                } else
                        cw_http_error(&x->req, resp, 404, "no such page: %s", x->path);
                return;
        }
        if (m.route->flags & CW_ROUTE_API)
                x->req.want_json = true;
        memcpy(x->req.args, m.args, sizeof(m.args));
        x->req.n_args = m.n_args;

        if (c->too_big) {
                cw_http_error(&x->req, resp, 413, "request body too large (at most %d bytes)",
                              CW_HTTP_MAX_BODY);
                return;
        }
        if (c->oom)
                goto oom;
        if (c->body.len && is_form(x->req.content_type)) {
                r = cw_form_parse(c->body.p, c->body.len, &x->form);
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0) {
                        cw_http_error(
                                &x->req, resp, 400,
                                r == -E2BIG
                                        ? "too many form fields (at most %d)"
                                        : "malformed form body: bad %%XX escape (at most %d fields)",
                                CW_HTTP_MAX_PARAMS);
                        return;
                }
                x->req.form = x->form.kv;
                x->req.n_form = x->form.n;
        }

        /* Bearer tokens: API routes and /metrics only; a token that is sent
         * must be good, whatever cookie comes with it. */
        bearer = bearer_of(MHD_lookup_connection_value(x->con, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_AUTHORIZATION));
        if (bearer && ((m.route->flags & CW_ROUTE_API) || m.table == CW_TABLE_METRICS)) {
                char name[CW_SECRET_HEX + 1];

                x->req.user = NULL;
                x->req.csrf = NULL;
                /* Refusals are not logged: anyone who can connect could
                 * fill the log with them. */
                if (!cw_auth_token(x->cfg, bearer, name, sizeof(name))) {
                        deny(x, &m, resp);
                        if (resp->status == 401 && x->req.want_json)
                                cw_http_error(&x->req, resp, 401, "bad bearer token");
                        return;
                }
                snprintf(x->user, sizeof(x->user), "token:%s", name);
                x->req.user = x->user;
                x->req.via_token = true;
        }
        if (!(m.route->flags & CW_ROUTE_PUBLIC)) {
                if (!x->req.user) {
                        deny(x, &m, resp);
                        return;
                }
                /* CSRF: a session's state-changing request must prove it
                 * comes from our own pages. POST /login (public) checks
                 * its own login token. */
                if (method != CW_HTTP_GET && !x->req.via_token) {
                        const char *t = cw_http_form(&x->req, "csrf");

                        if (!t)
                                t = MHD_lookup_connection_value(x->con, MHD_HEADER_KIND,
                                                                "X-CSRF-Token");
                        if (!t || !cw_http_secret_equal(t, x->csrf)) {
                                char q1[96];
                                cw_http_srv_log(
                                        x->srv, "warning",
                                        "event=admin_csrf_refused user=%s client=%s path=%s",
                                        x->user, x->client,
                                        cw_http_logval(x->path, q1, sizeof(q1)));
                                cw_http_error(
                                        &x->req, resp, 403,
                                        "missing or wrong CSRF token: reload the page and try again");
                                return;
                        }
                }
        }
        if (m.table == CW_TABLE_API || m.table == CW_TABLE_METRICS || m.table == CW_TABLE_PAGES) {
                r = store_take(x, &x->store);
                if (r < 0) {
                        cw_http_error(&x->req, resp, 500,
                                      "internal error: the store is not available");
                        return;
                }
                x->req.store = x->store;
        }

        r = m.route->handler(&x->req, resp);
        if (r >= 0 && cw_buf_error(&resp->body))
                r = cw_buf_error(&resp->body);
        if (r < 0) {
                char q1[96];
                cw_http_srv_log(x->srv, "error", "event=http_error status=500 path=%s error=%s",
                                cw_http_logval(x->path, q1, sizeof(q1)),
                                r == -E2BIG ? "response-too-large" : strerror(-r));
                free(resp->disposition);
                resp->disposition = NULL;
                free(resp->set_cookie);
                resp->set_cookie = NULL;
                resp->retry_after = 0;
                cw_http_error(&x->req, resp, 500, "internal error (logged by the daemon)");
        }
        return;
oom:
        cw_http_error(&x->req, resp, 500, "internal error: out of memory");
}

void cw_http_pool_drain(cw_http_server *srv)
{
        for (size_t i = 0; i < srv->n_pool; i++)
                cw_store_close(srv->pool[i]);
        srv->n_pool = 0;
}
