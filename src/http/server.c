/* server.c - the admin server's libmicrohttpd glue (see http.h): limits,
 * request parsing, authentication and CSRF enforcement, the per-request
 * config reference and store connection, and the response with its
 * security headers. The listening socket is opened by listen.c, routes
 * are matched by route.c, and the helpers handlers build replies with
 * are in reply.c.
 *
 * Threads: libmicrohttpd runs a pool of opts.threads threads, each with
 * its own epoll set, so a slow or silent client costs a connection slot,
 * never a thread; the daemon's scheduler thread is never involved. Shared
 * state (the current config, the idle store connections) sits behind one
 * mutex held only to swap pointers; sessions and the login throttle have
 * their own (auth.c).
 *
 * Limits, all enforced before a handler runs:
 *   - request line and headers: CONNECTION_MEMORY bytes per connection
 *     (libmicrohttpd answers 414/431 beyond);
 *   - body: CW_HTTP_MAX_BODY (413; a Content-Length above it is refused
 *     before the body is read);
 *   - query or form: CW_HTTP_MAX_PARAMS pairs (400), well-formed
 *     percent-encoding, no NUL (400);
 *   - path: starts with '/', no "." or ".." segment even encoded, no NUL
 *     (400);
 *   - connections: CONNECTION_LIMIT in all, PER_IP_LIMIT per address,
 *     idle ones closed after CONNECTION_TIMEOUT_S.
 *
 * libmicrohttpd decodes the path itself, which would make "%2F" inside a
 * job spec indistinguishable from '/'. So the raw request-target is taken
 * from the URI log callback (called once per request, before any
 * decoding) and everything is parsed from that copy. */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "base/clock.h"
#include "http/form.h"
#include "http/internal.h"

#define THREADS_DEFAULT 4
#define CONNECTION_LIMIT 256
#define PER_IP_LIMIT 32
#define CONNECTION_TIMEOUT_S 10
#define CONNECTION_MEMORY (64 * 1024)
#define STORE_POOL_MAX 8
#define LOG_LINE_MAX 2048
/* libmicrohttpd logs every request it refuses itself (bad syntax, headers
 * too large): at most this many lines per minute, so a client cannot
 * flood the daemon's log. */
#define MHD_LOG_PER_MINUTE 20

struct cw_http_server {
        cw_http_opts o;
        const cw_clock *clock; /* o.clock, or real_clock */
        cw_clock real_clock;
        char *listen;
        struct MHD_Daemon *mhd;
        pthread_mutex_t lock; /* cfg and the store pool */
        cw_config *cfg;
        cw_store *pool[STORE_POOL_MAX];
        size_t n_pool;
        cw_auth *auth;
        cw_memo *memo;          /* /metrics answers shared between threads */
        int64_t mhd_log_minute; /* under lock: the rate limit of on_mhd_log */
        unsigned mhd_log_lines, mhd_log_dropped;
};

/* One request, from its request line (uri_log) to its completion. */
typedef struct http_conn {
        char *uri;     /* the raw request-target, NULL on ENOMEM */
        const char *uri_at; /* where libmicrohttpd keeps it (see on_access) */
        bool started;  /* the access handler has seen the headers */
        bool too_big;  /* the body passed CW_HTTP_MAX_BODY */
        bool nul_in_uri;
        bool oom;
        cw_buf body;
} http_conn;

/* What one dispatch builds; req->priv points here. */
typedef struct http_ctx {
        cw_http_req req;
        cw_http_server *srv;
        struct MHD_Connection *con;
        http_conn *c;
        cw_config *cfg;
        cw_store *store;
        cw_form query, form;
        char *raw_path;     /* as sent */
        char *path;         /* decoded */
        char *argbuf;
        unsigned allow;     /* for a 405 */
        bool www_auth;      /* a 401 on a bearer-capable route */
        int64_t mono_us;
        char client[CW_CLIENT_MAX];
        char nonce[33];
        char user[CW_USER_MAX + 8];
        char csrf[CW_SECRET_HEX + 1];
} http_ctx;

_printf_(3, 4) static void srv_log(cw_http_server *srv, const char *level, const char *fmt, ...)
{
        char line[LOG_LINE_MAX];
        va_list ap;

        if (!srv || !srv->o.log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        for (char *p = line; *p; p++)
                if ((unsigned char)*p < ' ')
                        *p = ' ';
        srv->o.log(srv->o.userdata, level, line);
}

/* ---- helpers for handlers (http.h) ---- */

const char *cw_http_header(const cw_http_req *req, const char *name)
{
        const http_ctx *x = req->priv;

        return x ? MHD_lookup_connection_value(x->con, MHD_HEADER_KIND, name) : NULL;
}

void cw_http_wake(cw_http_server *srv)
{
        if (srv && srv->o.wake)
                srv->o.wake(srv->o.userdata);
}

void cw_http_audit(const cw_http_req *req, const char *action, const char *fmt, ...)
{
        char detail[1024], q1[160], q2[96], q3[96];
        va_list ap;

        if (!req->server)
                return;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        srv_log(req->server, "info", "event=admin user=%s client=%s action=%s%s%s",
                cw_http_logval(req->user, q1, sizeof(q1)), cw_http_logval(req->client, q2, sizeof(q2)),
                cw_http_logval(action, q3, sizeof(q3)), detail[0] ? " " : "", detail);
}

cw_auth *cw_http_server_auth(cw_http_server *srv)
{
        return srv ? srv->auth : NULL;
}

cw_memo *cw_http_server_memo(cw_http_server *srv)
{
        return srv ? srv->memo : NULL;
}

int64_t cw_http_req_mono_us(const cw_http_req *req)
{
        const http_ctx *x = req->priv;

        return x ? x->mono_us : 0;
}

static const cw_http_route *const all_tables[CW_TABLE__MAX] = {
        [CW_TABLE_SERVER] = cw_http_server_routes, [CW_TABLE_AUTH] = cw_http_auth_routes,
        [CW_TABLE_ASSETS] = cw_http_asset_routes,  [CW_TABLE_API] = cw_http_api_routes,
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
                srv_log(srv, "error", "event=http_error what=store_open error=%s",
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

static void client_address(struct MHD_Connection *con, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;

        snprintf(buf, size, "?");
        if (!sa)
                return;
        if (sa->sa_family == AF_INET) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, (socklen_t)size);
        } else if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

                /* An IPv4 client of a dual-stack socket: show (and throttle)
                 * it by its IPv4 address. */
                if (IN6_IS_ADDR_V4MAPPED(a))
                        inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)size);
                else
                        inet_ntop(AF_INET6, a, buf, (socklen_t)size);
        }
}

static void ctx_init(http_ctx *x, cw_http_server *srv, struct MHD_Connection *con, http_conn *c)
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
        client_address(con, x->client, sizeof(x->client));
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
        x->req.want_json = prefers_json(MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        x->req.priv = x;
}

static void ctx_release(http_ctx *x)
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
        const char *h = MHD_lookup_connection_value(x->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
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
                cw_http_error(&x->req, resp, 401, "authentication required: send Authorization: Bearer TOKEN or log in");
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
        cw_http_error(&x->req, resp, 403, "not logged in (or the session expired): log in and try again");
}

static void handle(http_ctx *x, const char *method_name, cw_http_resp *resp)
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
                cw_http_error(&x->req, resp, 400, "malformed path: it must start with '/', use valid %%XX escapes, "
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
                        cw_http_error(&x->req, resp, 400,
                                      r == -E2BIG ? "too many query parameters (at most %d)"
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
                        cw_http_error(&x->req, resp, 405, "method %.16s is not allowed on %s", method_name,
                                      x->path);
                } else
                        cw_http_error(&x->req, resp, 404, "no such page: %s", x->path);
                return;
        }
        if (m.route->flags & CW_ROUTE_API)
                x->req.want_json = true;
        memcpy(x->req.args, m.args, sizeof(m.args));
        x->req.n_args = m.n_args;

        if (c->too_big) {
                cw_http_error(&x->req, resp, 413, "request body too large (at most %d bytes)", CW_HTTP_MAX_BODY);
                return;
        }
        if (c->oom)
                goto oom;
        if (c->body.len && is_form(x->req.content_type)) {
                r = cw_form_parse(c->body.p, c->body.len, &x->form);
                if (r == -ENOMEM)
                        goto oom;
                if (r < 0) {
                        cw_http_error(&x->req, resp, 400,
                                      r == -E2BIG ? "too many form fields (at most %d)"
                                                  : "malformed form body: bad %%XX escape (at most %d fields)",
                                      CW_HTTP_MAX_PARAMS);
                        return;
                }
                x->req.form = x->form.kv;
                x->req.n_form = x->form.n;
        }

        /* Bearer tokens: API routes and /metrics only; a token that is sent
         * must be good, whatever cookie comes with it. */
        bearer = bearer_of(MHD_lookup_connection_value(x->con, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
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
                                t = MHD_lookup_connection_value(x->con, MHD_HEADER_KIND, "X-CSRF-Token");
                        if (!t || !cw_http_secret_equal(t, x->csrf)) {
                                char q1[96];
                                srv_log(x->srv, "warning", "event=admin_csrf_refused user=%s client=%s path=%s",
                                        x->user, x->client, cw_http_logval(x->path, q1, sizeof(q1)));
                                cw_http_error(&x->req, resp, 403,
                                              "missing or wrong CSRF token: reload the page and try again");
                                return;
                        }
                }
        }
        if (m.table == CW_TABLE_API || m.table == CW_TABLE_METRICS || m.table == CW_TABLE_PAGES) {
                r = store_take(x, &x->store);
                if (r < 0) {
                        cw_http_error(&x->req, resp, 500, "internal error: the store is not available");
                        return;
                }
                x->req.store = x->store;
        }

        r = m.route->handler(&x->req, resp);
        if (r >= 0 && cw_buf_error(&resp->body))
                r = cw_buf_error(&resp->body);
        if (r < 0) {
                char q1[96];
                srv_log(x->srv, "error", "event=http_error status=500 path=%s error=%s",
                        cw_http_logval(x->path, q1, sizeof(q1)), r == -E2BIG ? "response-too-large" : strerror(-r));
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

/* Location: a path, with bytes a header must not carry escaped. */
static char *location_value(const char *loc)
{
        static const char hex[] = "0123456789ABCDEF";
        cw_buf b = CW_BUF_INIT(64 * 1024);

        for (const unsigned char *p = (const unsigned char *)loc; *p; p++) {
                if (*p <= ' ' || *p >= 0x7f || *p == '\\' || *p == '"') {
                        char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
                        cw_buf_add(&b, e, 3);
                } else
                        cw_buf_putc(&b, (char)*p);
        }
        if (cw_buf_error(&b)) {
                cw_buf_release(&b);
                return NULL;
        }
        return cw_buf_steal(&b, NULL);
}

static void allow_value(unsigned allow, char *buf, size_t size)
{
        static const struct {
                unsigned bit;
                const char *names;
        } names[] = {{CW_HTTP_GET, "GET, HEAD"}, {CW_HTTP_POST, "POST"}, {CW_HTTP_PUT, "PUT"}, {CW_HTTP_DELETE, "DELETE"}};
        size_t o = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < CW_ARRAY_SIZE(names); i++)
                if (allow & names[i].bit)
                        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", names[i].names);
}

static enum MHD_Result send_resp(http_ctx *x, cw_http_resp *resp)
{
        struct MHD_Response *mr;
        enum MHD_Result ret;
        char csp[512], num[32];
        _cleanup_free_ char *loc = NULL;
        size_t len;
        char *body;
        bool ok = true;

        if (resp->status == 0)
                resp->status = 200;
        if (resp->location && !(loc = location_value(resp->location)))
                cw_http_error(&x->req, resp, 500, "internal error: out of memory");
        if (resp->status == 303 && !loc)
                cw_http_error(&x->req, resp, 500, "internal error: redirect without a target");
        if (resp->shared_body) {
                /* The response calls shared_release when destroyed. */
                mr = MHD_create_response_from_buffer_with_free_callback_cls(
                        resp->shared_len, (void *)resp->shared_body, resp->shared_release,
                        resp->shared_cls);
                if (!mr)
                        return MHD_NO;
                resp->shared_release = NULL;
        } else {
                body = cw_buf_steal(&resp->body, &len);
                if (!body)
                        return MHD_NO;
                mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
                if (!mr) {
                        free(body);
                        return MHD_NO;
                }
        }
        snprintf(csp, sizeof(csp),
                 "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-%s'; img-src 'self' data:; "
                 "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
                 x->nonce);
        ok = ok && MHD_add_response_header(mr, "Content-Security-Policy", csp);
        ok = ok && MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
        ok = ok && MHD_add_response_header(mr, "X-Frame-Options", "DENY");
        ok = ok && MHD_add_response_header(mr, "Referrer-Policy", "same-origin");
        ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL,
                                           resp->cacheable ? "public, max-age=86400" : "no-store");
        ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                           resp->content_type ? resp->content_type : "text/html; charset=utf-8");
        if (loc)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_LOCATION, loc);
        if (resp->etag)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_ETAG, resp->etag);
        if (resp->content_encoding) {
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_ENCODING,
                                                   resp->content_encoding);
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
        }
        if (resp->set_cookie)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE, resp->set_cookie);
        if (resp->disposition)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_DISPOSITION, resp->disposition);
        if (resp->retry_after > 0) {
                snprintf(num, sizeof(num), "%d", resp->retry_after);
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, num);
        }
        if (resp->status == 405 && x->allow) {
                char allow[64];
                allow_value(x->allow, allow, sizeof(allow));
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, allow);
        }
        if (resp->status == 401 && x->www_auth)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cronwarden\"");
        /* A client that sent something malformed or too large gets no
         * second request on this connection. */
        if (resp->status == 400 || resp->status == 413 || resp->status >= 500)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
        if (!ok) {
                /* A header libmicrohttpd refused (say a newline in a cookie a
                 * handler built): never send half the headers. */
                srv_log(x->srv, "error", "event=http_error status=500 what=bad_header");
                MHD_destroy_response(mr);
                return MHD_NO;
        }
        ret = MHD_queue_response(x->con, (unsigned)resp->status, mr);
        MHD_destroy_response(mr);
        return ret;
}

static void resp_release(cw_http_resp *resp)
{
        if (resp->shared_release)
                resp->shared_release(resp->shared_cls);
        cw_buf_release(&resp->body);
        free(resp->location);
        free(resp->disposition);
        free(resp->set_cookie);
}

static enum MHD_Result respond(cw_http_server *srv, struct MHD_Connection *con, http_conn *c, const char *method)
{
        cw_http_resp resp = {.status = 200, .body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        enum MHD_Result ret;
        http_ctx x;

        ctx_init(&x, srv, con, c);
        if (c->too_big && !c->body.len) {
                /* Refused on its Content-Length, before routing. */
                cw_http_error(&x.req, &resp, 413, "request body too large (at most %d bytes)", CW_HTTP_MAX_BODY);
        } else
                handle(&x, method, &resp);
        ret = send_resp(&x, &resp);
        resp_release(&resp);
        ctx_release(&x);
        return ret;
}

/* ---- libmicrohttpd callbacks ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
        http_conn *c = calloc(1, sizeof(*c));

        (void)cls, (void)con;
        if (!c)
                return NULL;
        c->uri = strdup(uri);
        c->uri_at = uri;
        c->body = (cw_buf)CW_BUF_INIT(CW_HTTP_MAX_BODY);
        return c;
}

/* The server's threads run at a lower priority than the daemon's own
 * thread and the jobs it starts, so a flood of requests on a small host
 * delays pages, not fires (PRODUCT.md §12: no lateness change under
 * load). Linux applies nice per thread; raising it needs no privilege.
 * Called when a connection starts, in the thread that will serve it;
 * setting it again is a no-op. */
#define SERVER_NICE 10

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
        (void)cls, (void)con, (void)socket_context;
        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                (void)setpriority(PRIO_PROCESS, (id_t)gettid(), SERVER_NICE);
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe)
{
        http_conn *c = *con_cls;

        (void)cls, (void)con, (void)toe;
        if (!c)
                return;
        free(c->uri);
        cw_buf_release(&c->body);
        free(c);
        *con_cls = NULL;
}

static bool content_length_too_big(const char *v)
{
        char *end;
        unsigned long long n;

        if (!v)
                return false;
        errno = 0;
        n = strtoull(v, &end, 10);
        return errno == ERANGE || n > CW_HTTP_MAX_BODY;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
        cw_http_server *srv = cls;
        http_conn *c = *con_cls;

        (void)url, (void)version;
        if (!c || !c->uri)
                return MHD_NO;
        if (!c->started) {
                c->started = true;
                /* A NUL byte in the request line ends the URI libmicrohttpd
                 * hands us early ("/static/app.css\0../x"). It keeps the
                 * request line in one buffer, the version right after the
                 * URI and its space: a longer gap means a NUL was there.
                 * (Checked only when the pointers are that close, so
                 * another layout cannot refuse good requests.) */
                if (version && version > c->uri_at && version - c->uri_at < CONNECTION_MEMORY &&
                    (size_t)(version - c->uri_at) > strlen(c->uri) + 1)
                        c->nul_in_uri = true;
                if (content_length_too_big(
                            MHD_lookup_connection_value(con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH))) {
                        c->too_big = true;
                        return respond(srv, con, c, method);
                }
                return MHD_YES;
        }
        if (*upload_data_size) {
                /* Past the limit the rest is read and dropped, then 413. */
                if (!c->too_big && !c->oom) {
                        int r = cw_buf_add(&c->body, upload_data, *upload_data_size);
                        if (r == -E2BIG) {
                                c->too_big = true;
                                cw_buf_release(&c->body);
                        } else if (r < 0)
                                c->oom = true;
                }
                *upload_data_size = 0;
                return MHD_YES;
        }
        return respond(srv, con, c, method);
}

_printf_(2, 0) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        cw_http_server *srv = cls;
        int64_t minute = cw_clock_mono_us() / (60 * 1000000LL);
        unsigned dropped = 0;
        char msg[512], q[600], *html, *end;
        bool drop;
        size_t n;

        pthread_mutex_lock(&srv->lock);
        if (minute != srv->mhd_log_minute) {
                dropped = srv->mhd_log_dropped;
                srv->mhd_log_minute = minute;
                srv->mhd_log_lines = srv->mhd_log_dropped = 0;
        }
        drop = ++srv->mhd_log_lines > MHD_LOG_PER_MINUTE;
        srv->mhd_log_dropped += drop;
        pthread_mutex_unlock(&srv->lock);
        if (dropped)
                srv_log(srv, "warning", "event=http_error what=libmicrohttpd suppressed=%u", dropped);
        if (drop)
                return;
        vsnprintf(msg, sizeof(msg), fmt, ap);
        /* "... code is 414 ('<html>...</html>')). Closing ..." -> "... code is 414). Closing ..." */
        html = strstr(msg, " ('<html>");
        end = html ? strstr(html, "'))") : NULL;
        if (end)
                memmove(html, end + 2, strlen(end + 2) + 1);
        n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
                msg[--n] = '\0';
        srv_log(srv, "warning", "event=http_error what=libmicrohttpd message=%s", cw_http_logval(msg, q, sizeof(q)));
}

/* ---- start, reload, stop ---- */

int cw_http_start(const cw_http_opts *o, const cw_config *cfg, cw_http_server **ret, cw_error *err)
{
        cw_http_server *srv;
        unsigned threads = o->threads ? o->threads : THREADS_DEFAULT;
        sigset_t all, old_mask;
        int fd = -1, r;

        if (sodium_init() < 0)
                return cw_error_fail(err, -EIO, "cannot initialise libsodium");
        srv = calloc(1, sizeof(*srv));
        if (!srv)
                return cw_error_fail(err, -ENOMEM, "out of memory");
        srv->o = *o;
        srv->clock = o->clock;
        if (!srv->clock) {
                cw_clock_init_real(&srv->real_clock);
                srv->clock = &srv->real_clock;
        }
        srv->listen = strdup(o->listen ? o->listen : "127.0.0.1:8080");
        srv->auth = cw_auth_new();
        srv->memo = cw_memo_new();
        if (!srv->listen || !srv->auth || !srv->memo) {
                r = cw_error_fail(err, -ENOMEM, "out of memory");
                goto fail;
        }
        srv->o.listen = srv->listen;
        pthread_mutex_init(&srv->lock, NULL);
        srv->cfg = cw_config_ref(cfg);
        r = cw_http_listen(srv->listen, &fd, err);
        if (r < 0)
                goto fail;
        /* The server's threads take no signal: they inherit a full mask,
         * so the daemon's signals (its signalfd set, and the SIGALRM that
         * bounds a lock wait) always reach the daemon's own thread. */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old_mask);
        srv->mhd = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_access, srv,
                MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
                MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                (unsigned int)PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
                srv, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                MHD_OPTION_END);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        if (!srv->mhd) {
                close(fd);
                r = cw_error_fail(err, -EIO, "cannot start the HTTP server on '%s'", srv->listen);
                goto fail;
        }
        *ret = srv;
        return 0;
fail:
        if (srv->cfg)
                pthread_mutex_destroy(&srv->lock);
        cw_config_free(srv->cfg);
        cw_auth_free(srv->auth);
        cw_memo_free(srv->memo);
        free(srv->listen);
        free(srv);
        return r;
}

void cw_http_set_config(cw_http_server *srv, const cw_config *cfg)
{
        cw_config *old, *n = cw_config_ref(cfg);

        pthread_mutex_lock(&srv->lock);
        old = srv->cfg;
        srv->cfg = n;
        pthread_mutex_unlock(&srv->lock);
        cw_config_free(old);
}

void cw_http_stop(cw_http_server *srv)
{
        if (!srv)
                return;
        MHD_stop_daemon(srv->mhd);
        for (size_t i = 0; i < srv->n_pool; i++)
                cw_store_close(srv->pool[i]);
        pthread_mutex_destroy(&srv->lock);
        cw_config_free(srv->cfg);
        cw_auth_free(srv->auth);
        cw_memo_free(srv->memo);
        free(srv->listen);
        free(srv);
}
