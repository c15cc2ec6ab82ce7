/* server.c - the admin server's libmicrohttpd glue (see http.h): limits,
 * connections, the checks made on a request's headers, and the response
 * with its security headers. Each complete request is handed to
 * dispatch.c (parsing, routing, authentication, CSRF, the handler). The
 * listening socket is opened by listen.c, connections are accounted in
 * conns.c, routes are matched by route.c, and the helpers handlers build
 * replies with are in reply.c.
 *
 * Threads: libmicrohttpd runs a pool of opts.threads threads, each with
 * its own epoll set, so a slow or silent client costs a connection slot,
 * never a thread; the daemon's scheduler thread is never involved. Two
 * more threads of our own: the reaper (requests that take too long) and
 * the login thread, which answers POST /login: a password check (argon2id,
 * up to a second on a busy host) would otherwise stall every connection
 * of the server thread running it, so a guessing run would slow every
 * page. The connection is suspended meanwhile; at most LOGIN_QUEUE_MAX
 * logins wait, more get 503 with Retry-After. Shared state (the current
 * config, the idle store connections) sits behind one mutex held only to
 * swap pointers; sessions and the login throttle have their own (auth.c).
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
 *   - connections: CW_CONN_LIMIT in all, CW_CONN_PER_CLIENT per address
 *     (a trusted proxy's by the address it forwards for), idle ones
 *     closed after CONNECTION_TIMEOUT_S, and each request's headers and
 *     body must arrive within CW_REQUEST_TIMEOUT_US (conns.c; a reaper
 *     thread answers 408 and closes the slow ones);
 *   - framing: libmicrohttpd's strict parsing (a Host header is needed
 *     with HTTP/1.1), and no request with two Content-Length headers,
 *     with both Content-Length and Transfer-Encoding, or with another
 *     coding than chunked (400), so a proxy in front cannot be made to
 *     see other request boundaries than this server.
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
#include "http/server_priv.h"

#define THREADS_DEFAULT 4
/* Strict request parsing, level 1: 0.9.77 renamed STRICT_FOR_CLIENT to
 * the client discipline level (and made it cover more of the syntax).
 * Debian 12's 0.9.75 then refuses an HTTP/1.1 request without Host and a
 * space in the URL. Duplicate Content-Length, Content-Length with
 * Transfer-Encoding and unknown codings are refused by check_headers()
 * whatever the version. */
#if MHD_VERSION >= 0x00097701
#define STRICT_OPTION MHD_OPTION_CLIENT_DISCIPLINE_LVL
#else
#define STRICT_OPTION MHD_OPTION_STRICT_FOR_CLIENT
#endif
#define CONNECTION_TIMEOUT_S 10
#define REAP_INTERVAL_US (1000 * 1000)
#define LOG_LINE_MAX 2048
/* libmicrohttpd logs every request it refuses itself (bad syntax, headers
 * too large): at most this many lines per minute, so a client cannot
 * flood the daemon's log. */
#define MHD_LOG_PER_MINUTE 20

void cw_http_srv_log(cw_http_server *srv, const char *level, const char *fmt, ...)
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
        cw_http_srv_log(req->server, "info", "event=admin user=%s client=%s action=%s%s%s",
                        cw_http_logval(req->user, q1, sizeof(q1)),
                        cw_http_logval(req->client, q2, sizeof(q2)),
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

static void sockaddr_text(const struct sockaddr *sa, char *buf, size_t size)
{
        snprintf(buf, size, "?");
        if (!sa)
                return;
        if (sa->sa_family == AF_INET) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                          (socklen_t)size);
        } else if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a =
                        &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

                /* An IPv4 client of a dual-stack socket: show (and throttle)
                 * it by its IPv4 address. */
                if (IN6_IS_ADDR_V4MAPPED(a))
                        inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)size);
                else
                        inet_ntop(AF_INET6, a, buf, (socklen_t)size);
        }
}

static void peer_address(struct MHD_Connection *con, char *buf, size_t size)
{
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

        sockaddr_text(ci ? ci->client_addr : NULL, buf, size);
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
        } names[] = {{CW_HTTP_GET, "GET, HEAD"},
                     {CW_HTTP_POST, "POST"},
                     {CW_HTTP_PUT, "PUT"},
                     {CW_HTTP_DELETE, "DELETE"}};
        size_t o = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < CW_ARRAY_SIZE(names); i++)
                if (allow & names[i].bit)
                        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "",
                                              names[i].names);
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
        snprintf(
                csp, sizeof(csp),
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
                                           resp->content_type ? resp->content_type
                                                              : "text/html; charset=utf-8");
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
                ok = ok &&
                     MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE, resp->set_cookie);
        if (resp->disposition)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_DISPOSITION,
                                                   resp->disposition);
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
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                                   "Bearer realm=\"cronwarden\"");
        /* A client that sent something malformed or too large gets no
         * second request on this connection. */
        if (resp->status == 400 || resp->status == 413 || resp->status >= 500)
                ok = ok && MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
        if (!ok) {
                /* A header libmicrohttpd refused (say a newline in a cookie a
                 * handler built): never send half the headers. */
                cw_http_srv_log(x->srv, "error", "event=http_error status=500 what=bad_header");
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

/* Builds the answer to c into x and resp. */
static void build(cw_http_server *srv, struct MHD_Connection *con, http_conn *c, const char *method,
                  http_ctx *x, cw_http_resp *resp)
{
        *resp = (cw_http_resp){.status = 200, .body = CW_BUF_INIT(CW_HTTP_MAX_RESPONSE)};
        cw_http_ctx_init(x, srv, con, c);
        if (c->early_status) {
                /* Refused on its headers, before routing. */
                cw_http_error(&x->req, resp, c->early_status, "%s", c->early_msg);
                if (c->early_status == 503)
                        resp->retry_after = 1;
        } else
                cw_http_dispatch(x, method, resp);
}

static enum MHD_Result finish(http_ctx *x, cw_http_resp *resp)
{
        enum MHD_Result ret = send_resp(x, resp);

        resp_release(resp);
        cw_http_ctx_release(x);
        return ret;
}

static bool is_login_post(const http_conn *c, const char *method)
{
        return strcmp(method, "POST") == 0 && strncmp(c->uri, "/login", 6) == 0 &&
               (c->uri[6] == '\0' || c->uri[6] == '?');
}

/* Queues c for the login thread and suspends its connection; false when
 * the queue is full (or the thread is stopping). */
static bool login_defer(cw_http_server *srv, struct MHD_Connection *con, http_conn *c,
                        const char *method)
{
        bool ok;

        pthread_mutex_lock(&srv->login_lock);
        ok = srv->login_started && !srv->login_stop && srv->login_n < LOGIN_QUEUE_MAX;
        if (ok) {
                c->con = con;
                snprintf(c->method, sizeof(c->method), "%s", method);
                c->deferred = DEFER_QUEUED;
                c->next = NULL;
                /* Suspended before the login thread can see it, so its
                 * resume always comes after. */
                MHD_suspend_connection(con);
                if (srv->login_tail)
                        srv->login_tail->next = c;
                else
                        srv->login_head = c;
                srv->login_tail = c;
                srv->login_n++;
                pthread_cond_signal(&srv->login_cond);
        }
        pthread_mutex_unlock(&srv->login_lock);
        return ok;
}

static enum MHD_Result respond(cw_http_server *srv, struct MHD_Connection *con, http_conn *c,
                               const char *method)
{
        cw_http_resp resp;
        http_ctx x;

        if (c->deferred == DEFER_DONE) {
                /* Resumed: the login thread has built the answer. */
                enum MHD_Result ret = finish(c->ctx, c->resp);

                free(c->ctx);
                free(c->resp);
                c->ctx = NULL;
                c->resp = NULL;
                c->deferred = DEFER_NONE;
                return ret;
        }
        if (!cw_conns_begin(srv->conns, con))
                return MHD_NO; /* closed meanwhile for taking too long */
        if (!c->early_status && is_login_post(c, method) && !login_defer(srv, con, c, method)) {
                c->early_status = 503;
                c->early_msg = "the server is busy checking other logins: try again in a second";
        }
        if (c->deferred == DEFER_QUEUED)
                return MHD_YES;
        build(srv, con, c, method, &x, &resp);
        return finish(&x, &resp);
}

/* ---- libmicrohttpd callbacks ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
        http_conn *c = calloc(1, sizeof(*c));
        const char *q;

        (void)cls, (void)con;
        if (!c)
                return NULL;
        c->uri = strdup(uri);
        c->uri_at = uri;
        /* Queries are parsed from our copy only (handle()). libmicrohttpd
         * would parse its own into the connection's memory pool next, and
         * with a thousand parameters it runs out, fails to build its own
         * error answer and leaves the connection hanging until the
         * timeout. The request line sits in its read buffer, which we may
         * write: ending its query right after the '?' leaves it nothing
         * to parse. */
        q = strchr(uri, '?');
        if (q)
                ((char *)q)[1] = '\0';
        c->body = (cw_buf)CW_BUF_INIT(CW_HTTP_MAX_BODY);
        return c;
}

/* The server's threads run at a lower priority than the daemon's own
 * thread and the jobs it starts, so a flood of requests on a small host
 * delays pages, not fires (docs/hacking.md, Quality targets: no lateness change under
 * load). Linux applies nice per thread; raising it needs no privilege.
 * Called when a connection starts, in the thread that will serve it;
 * setting it again is a no-op. */
#define SERVER_NICE 10

/* Whether peer is one of the current config's trusted proxies. */
static bool peer_trusted(cw_http_server *srv, const char *peer)
{
        cw_config *cfg;
        bool trusted;

        pthread_mutex_lock(&srv->lock);
        cfg = cw_config_ref(srv->cfg);
        pthread_mutex_unlock(&srv->lock);
        trusted = cw_http_addr_match(peer, &cfg->admin_trusted_proxies);
        cw_config_free(cfg);
        return trusted;
}

/* libmicrohttpd's accept policy: the connection limits of conns.c. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
        cw_http_server *srv = cls;
        char peer[CW_CLIENT_MAX];

        (void)addrlen;
        sockaddr_text(addr, peer, sizeof(peer));
        return cw_conns_admit(srv->conns, peer, peer_trusted(srv, peer), cw_clock_mono_us()) == 0
                       ? MHD_YES
                       : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *con, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
        cw_http_server *srv = cls;
        const union MHD_ConnectionInfo *ci;
        char peer[CW_CLIENT_MAX];

        (void)socket_context;
        if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
                cw_conns_remove(srv->conns, con);
                return;
        }
        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), SERVER_NICE);
        ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
                return;
        peer_address(con, peer, sizeof(peer));
        (void)cw_conns_add(srv->conns, con, ci->connect_fd, peer, peer_trusted(srv, peer),
                           cw_clock_mono_us());
}

static void on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        cw_http_server *srv = cls;
        http_conn *c = *con_cls;

        (void)toe;
        cw_conns_end(srv->conns, con, cw_clock_mono_us());
        if (!c)
                return;
        if (c->ctx) {
                /* A login answered but never sent (the server stopped). */
                resp_release(c->resp);
                cw_http_ctx_release(c->ctx);
                free(c->ctx);
                free(c->resp);
        }
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

/* What the request's headers say about its framing and origin. */
typedef struct header_scan {
        unsigned n_length, n_coding;
        bool bad_coding;
        cw_buf xff; /* every X-Forwarded-For value, joined with ',' */
} header_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
        header_scan *h = cls;

        (void)kind;
        if (!key)
                return MHD_YES;
        if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
                h->n_length++;
        else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
                h->n_coding++;
                h->bad_coding = h->bad_coding || !value || strcasecmp(value, "chunked") != 0;
        } else if (strcasecmp(key, "X-Forwarded-For") == 0 && value) {
                if (h->xff.len)
                        cw_buf_putc(&h->xff, ',');
                cw_buf_puts(&h->xff, value);
        }
        return MHD_YES;
}

/* Once the headers are in: who is asking, and whether the request can be
 * served at all (sets c->early_status when not). */
static void check_headers(cw_http_server *srv, struct MHD_Connection *con, http_conn *c)
{
        header_scan h = {.xff = CW_BUF_INIT(CONNECTION_MEMORY)};
        char peer[CW_CLIENT_MAX];
        cw_config *cfg;

        MHD_get_connection_values(con, MHD_HEADER_KIND, scan_header, &h);
        peer_address(con, peer, sizeof(peer));
        pthread_mutex_lock(&srv->lock);
        cfg = cw_config_ref(srv->cfg);
        pthread_mutex_unlock(&srv->lock);
        cw_http_forwarded_client(peer, h.xff.len && !cw_buf_error(&h.xff) ? h.xff.p : NULL,
                                 &cfg->admin_trusted_proxies, c->client, sizeof(c->client));
        cw_config_free(cfg);
        cw_buf_release(&h.xff);
        if (h.n_length > 1 || (h.n_length && h.n_coding)) {
                c->early_status = 400;
                c->early_msg =
                        h.n_length > 1
                                ? "malformed request: more than one Content-Length header"
                                : "malformed request: both Content-Length and Transfer-Encoding";
        } else if (h.n_coding > 1 || h.bad_coding) {
                c->early_status = 400;
                c->early_msg = "malformed request: the only transfer coding accepted is chunked";
        } else if (cw_conns_set_client(srv->conns, con, c->client) > CW_CONN_PER_CLIENT) {
                c->early_status = 503;
                c->early_msg = "too many connections from your address: try again later";
        }
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *con, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
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
                check_headers(srv, con, c);
                if (c->early_status)
                        return respond(srv, con, c, method);
                if (content_length_too_big(MHD_lookup_connection_value(
                            con, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH))) {
                        c->too_big = true;
                        c->early_status = 413;
                        c->early_msg = "request body too large (at most 65536 bytes)";
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
                cw_http_srv_log(srv, "warning", "event=http_error what=libmicrohttpd suppressed=%u",
                                dropped);
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
        cw_http_srv_log(srv, "warning", "event=http_error what=libmicrohttpd message=%s",
                        cw_http_logval(msg, q, sizeof(q)));
}

/* ---- the reaper ---- */

/* Once a second: closes requests that have taken too long (conns.c). */
static void *reaper_main(void *arg)
{
        cw_http_server *srv = arg;
        struct timespec ts;

        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), SERVER_NICE);
        pthread_mutex_lock(&srv->reap_lock);
        while (!srv->reaper_stop) {
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += REAP_INTERVAL_US / 1000000;
                (void)pthread_cond_timedwait(&srv->reap_cond, &srv->reap_lock, &ts);
                if (srv->reaper_stop)
                        break;
                pthread_mutex_unlock(&srv->reap_lock);
                cw_conns_reap(srv->conns, cw_clock_mono_us());
                pthread_mutex_lock(&srv->reap_lock);
        }
        pthread_mutex_unlock(&srv->reap_lock);
        return NULL;
}

static int reaper_start(cw_http_server *srv)
{
        pthread_condattr_t ca;
        int r;

        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&srv->reap_cond, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_init(&srv->reap_lock, NULL);
        r = -pthread_create(&srv->reaper, NULL, reaper_main, srv);
        srv->reaper_started = r == 0;
        return r;
}

static void reaper_stop(cw_http_server *srv)
{
        if (!srv->reaper_started)
                return;
        pthread_mutex_lock(&srv->reap_lock);
        srv->reaper_stop = true;
        pthread_cond_signal(&srv->reap_cond);
        pthread_mutex_unlock(&srv->reap_lock);
        pthread_join(srv->reaper, NULL);
        pthread_cond_destroy(&srv->reap_cond);
        pthread_mutex_destroy(&srv->reap_lock);
        srv->reaper_started = false;
}

/* ---- the login thread ---- */

/* Answers one queued login (a 503 when stopping) and resumes it. */
static void login_answer(cw_http_server *srv, http_conn *c, bool stopping)
{
        c->ctx = malloc(sizeof(*c->ctx));
        c->resp = malloc(sizeof(*c->resp));
        if (!c->ctx || !c->resp) {
                free(c->ctx);
                free(c->resp);
                c->ctx = NULL;
                c->resp = NULL;
                c->deferred = DEFER_NONE;
                c->early_status = 500; /* answered by the server thread */
                c->early_msg = "internal error: out of memory";
        } else {
                if (stopping) {
                        c->early_status = 503;
                        c->early_msg = "the server is stopping";
                }
                build(srv, c->con, c, c->method, c->ctx, c->resp);
                c->deferred = DEFER_DONE;
        }
        MHD_resume_connection(c->con);
}

static void *login_main(void *arg)
{
        cw_http_server *srv = arg;

        (void)setpriority(PRIO_PROCESS, (id_t)gettid(), SERVER_NICE);
        pthread_mutex_lock(&srv->login_lock);
        for (;;) {
                http_conn *c = srv->login_head;
                bool stopping = srv->login_stop;

                if (!c) {
                        if (stopping)
                                break;
                        pthread_cond_wait(&srv->login_cond, &srv->login_lock);
                        continue;
                }
                srv->login_head = c->next;
                if (!srv->login_head)
                        srv->login_tail = NULL;
                srv->login_n--;
                pthread_mutex_unlock(&srv->login_lock);
                login_answer(srv, c, stopping);
                pthread_mutex_lock(&srv->login_lock);
        }
        pthread_mutex_unlock(&srv->login_lock);
        return NULL;
}

static int login_start(cw_http_server *srv)
{
        int r;

        pthread_mutex_init(&srv->login_lock, NULL);
        pthread_cond_init(&srv->login_cond, NULL);
        r = -pthread_create(&srv->login, NULL, login_main, srv);
        srv->login_started = r == 0;
        return r;
}

/* Answers what is still queued (503) and ends the thread: before
 * libmicrohttpd stops, which needs every connection resumed. Server
 * threads may still look at the queue (and find it closed) until
 * libmicrohttpd has stopped; login_free comes after that. */
static void login_stop(cw_http_server *srv)
{
        if (!srv->login_started)
                return;
        pthread_mutex_lock(&srv->login_lock);
        srv->login_stop = true;
        pthread_cond_signal(&srv->login_cond);
        pthread_mutex_unlock(&srv->login_lock);
        pthread_join(srv->login, NULL);
}

static void login_free(cw_http_server *srv)
{
        if (!srv->login_started)
                return;
        pthread_cond_destroy(&srv->login_cond);
        pthread_mutex_destroy(&srv->login_lock);
        srv->login_started = false;
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
        srv->conns = cw_conns_new();
        srv->memo = cw_memo_new();
        if (!srv->listen || !srv->auth || !srv->conns || !srv->memo) {
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
        r = reaper_start(srv);
        if (r == 0)
                r = login_start(srv);
        if (r == 0)
                srv->mhd = MHD_start_daemon(
                        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                                MHD_ALLOW_SUSPEND_RESUME,
                        0, on_accept, srv, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
                        srv, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_THREAD_POOL_SIZE,
                        (unsigned int)threads, MHD_OPTION_CONNECTION_LIMIT,
                        (unsigned int)CW_CONN_TABLE, STRICT_OPTION, (int)1,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                        MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv, MHD_OPTION_NOTIFY_COMPLETED,
                        on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
                        MHD_OPTION_END);
        pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
        if (!srv->mhd) {
                close(fd);
                login_stop(srv);
                login_free(srv);
                reaper_stop(srv);
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
        cw_conns_free(srv->conns);
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
        login_stop(srv);
        MHD_stop_daemon(srv->mhd);
        login_free(srv);
        reaper_stop(srv);
        cw_http_pool_drain(srv);
        pthread_mutex_destroy(&srv->lock);
        cw_config_free(srv->cfg);
        cw_auth_free(srv->auth);
        cw_conns_free(srv->conns);
        cw_memo_free(srv->memo);
        free(srv->listen);
        free(srv);
}
