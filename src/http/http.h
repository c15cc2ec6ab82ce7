/* http.h - the admin web UI, JSON API and metrics served by `cronwarden
 * daemon` (docs/api.md): the types every page, API and auth module
 * shares, and the server's interface to the daemon.
 *
 * The server (server.c) runs libmicrohttpd with its own thread pool, so a
 * slow client never delays the scheduler. For each request it: parses and
 * bounds the input (path, query, cookies, a form or JSON body of at most
 * CW_HTTP_MAX_BODY bytes), matches the route table, authenticates (session
 * cookie or `Authorization: Bearer`; only routes flagged CW_ROUTE_PUBLIC
 * skip it), checks the CSRF token on every state-changing request made
 * with a session, takes a reference to the current config and a store
 * connection for the request, calls the handler, and sends the response
 * with the security headers. Handlers therefore never deal with
 * libmicrohttpd, authentication or CSRF: they read a cw_http_req and fill
 * a cw_http_resp.
 *
 * Modules (each in src/http/):
 *   server.c   libmicrohttpd glue, limits, framing checks, the login
 *              thread, security headers
 *   dispatch.c one request: parsing, routing, authentication, CSRF
 *   conns.c    connection accounting: per-address caps, request time
 *              bound, trusted proxies and X-Forwarded-For
 *   route.c    route matching, /healthz, / (303 to /jobs)
 *   form.c     parsers for queries, forms, paths, cookies (form.h)
 *   auth.c     sessions, CSRF, login throttling, bearer tokens, /login, /logout
 *   assets.c   static files compiled into the binary, /static/NAME
 *              (the files in src/http/static/, embedded by embed_assets.py)
 *   html.c     HTML building with escaping (html.h), the page layout
 *   pages*.c   the HTML pages
 *   api.c      /api/v1/ (JSON, jansson)
 *   metrics.c  /metrics (Prometheus text)
 * Route tables live with their handlers (cw_http_*_routes below); the
 * server searches them in order: auth, assets, api, metrics, pages (after
 * its own /healthz and /). The first route whose pattern and method match
 * wins; a pattern that matches with another method gives 405 with Allow.
 *
 * Authentication (auth.c): a session cookie from POST /login (argon2id
 * password, [admin] user and password_hash) works on every route; a
 * bearer token ([admin] api_token) only on CW_ROUTE_API routes and
 * /metrics. Without either, page GETs get 303 to /login?next=PATH, other
 * page requests 403, API and /metrics requests 401 with
 * `WWW-Authenticate: Bearer`. Every non-GET request to a non-public route
 * made with a session must carry the session's CSRF token (form field
 * "csrf" or header X-CSRF-Token), else 403; bearer requests need none.
 * The login form itself is protected by a short-lived login token: GET
 * /login sets cookie cw_login and gives the same value as req->csrf, and
 * POST /login requires the form field "csrf" to match the cookie. */
#ifndef CW_HTTP_HTTP_H
#define CW_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/error.h"
#include "config/config.h"
#include "store/store.h"

/* Request bodies larger than this get 413; responses are built in buffers
 * bounded by CW_HTTP_MAX_RESPONSE (a run's output is at most max_output). */
#define CW_HTTP_MAX_BODY (64 * 1024)
#define CW_HTTP_MAX_RESPONSE (64 * 1024 * 1024)
/* Query or form parameters kept per request (more: 400). */
#define CW_HTTP_MAX_PARAMS 64
/* % segments a route pattern may have. */
#define CW_HTTP_MAX_ARGS 4

typedef enum cw_http_method {
        CW_HTTP_GET = 1 << 0, /* HEAD is served as GET without the body */
        CW_HTTP_POST = 1 << 1,
        CW_HTTP_PUT = 1 << 2,
        CW_HTTP_DELETE = 1 << 3,
} cw_http_method;

typedef struct cw_http_kv {
        const char *key;   /* percent-decoded, NUL-terminated */
        const char *value; /* percent-decoded ('+' is a space in forms and queries) */
} cw_http_kv;

typedef struct cw_http_server cw_http_server;

typedef struct cw_http_req {
        cw_http_method method;
        const char *path;                   /* percent-decoded, starts with '/', no query */
        const char *args[CW_HTTP_MAX_ARGS]; /* the route's % segments, decoded */
        size_t n_args;
        const cw_http_kv *query;
        size_t n_query;
        const cw_http_kv *form; /* application/x-www-form-urlencoded body */
        size_t n_form;
        const char *body; /* raw body, NUL-terminated ("" when none) */
        size_t body_len;
        const char *content_type; /* "" when absent */
        const char *client;       /* the peer's address, e.g. "127.0.0.1" */
        /* Who is asking: the session's user, or "token:NAME" for a bearer
         * token; NULL on a public route without a session. */
        const char *user;
        bool via_token; /* authenticated by a bearer token */
        /* The session's CSRF token, to embed in forms (hidden field "csrf")
         * and to send as header X-CSRF-Token from scripts; NULL without a
         * session. For cw_http_page_login it is the login form's token
         * (which the form must send as "csrf" too). */
        const char *csrf;
        /* A fresh nonce for this response's Content-Security-Policy: an
         * inline <style nonce="..."> or <script nonce="..."> must carry it. */
        const char *nonce;
        cw_instant now_us; /* the server's clock, read once per request */
        /* The config current when the request arrived (a reference held for
         * the request; never NULL) and a store connection of its own: set
         * for api, metrics and page routes, NULL for the server's, auth and
         * asset routes and for errors found before a route was chosen (404,
         * 405, 400, 413), which cw_http_page_error must cope with. */
        const cw_config *cfg;
        cw_store *store;
        cw_http_server *server; /* NULL in unit tests that build a req */
        /* cw_http_error answers in JSON: set on CW_ROUTE_API routes, paths
         * under /api/, and when Accept prefers application/json. */
        bool want_json;
        void *priv; /* the server's; NULL in unit tests */
} cw_http_req;

typedef struct cw_http_resp {
        int status;               /* 200 unless set */
        const char *content_type; /* a static string; default "text/html; charset=utf-8" */
        cw_buf body;              /* bounded by CW_HTTP_MAX_RESPONSE */
        char *location;           /* redirect target (owned), with status 303 */
        char *disposition;        /* Content-Disposition (owned), e.g. for downloads */
        char *set_cookie;         /* one Set-Cookie value (owned; auth.c only) */
        int retry_after;          /* seconds for Retry-After, 0: none */
        bool cacheable;           /* static assets: cache for a day; else no-store */
        const char *etag;         /* a static string sent as ETag, or NULL */
        /* A static string sent as Content-Encoding (with Vary:
         * Accept-Encoding) when the handler encoded the body, or NULL. */
        const char *content_encoding;
        /* Instead of body, when set: bytes the handler shares with other
         * responses, sent as they are; the server calls
         * shared_release(shared_cls) once it no longer needs them (sent,
         * or the answer failed). */
        const char *shared_body;
        size_t shared_len;
        void (*shared_release)(void *cls);
        void *shared_cls;
} cw_http_resp;

/* Fills resp; returns 0 (any status, including errors the handler chose),
 * or a negative errno, which the server answers with 500 and logs. */
typedef int (*cw_http_handler)(const cw_http_req *req, cw_http_resp *resp);

enum {
        CW_ROUTE_PUBLIC =
                1 << 0,        /* no login needed: /healthz, /login and the static assets it uses */
        CW_ROUTE_API = 1 << 1, /* JSON errors; 401 instead of a redirect to /login */
};

typedef struct cw_http_route {
        unsigned methods;    /* cw_http_method bits */
        const char *pattern; /* e.g. "/runs/%/kill": each % matches one non-empty segment */
        unsigned flags;      /* CW_ROUTE_* */
        cw_http_handler handler;
} cw_http_route;

/* The route tables, each ending with {0}. */
extern const cw_http_route cw_http_auth_routes[];
extern const cw_http_route cw_http_asset_routes[];
extern const cw_http_route cw_http_api_routes[];
extern const cw_http_route cw_http_metrics_routes[];
extern const cw_http_route cw_http_page_routes[];

/* ---- request and response helpers (server.c) ---- */

/* The value of a query, form, or either (form first) parameter; NULL when absent. */
const char *cw_http_query(const cw_http_req *req, const char *name);
const char *cw_http_form(const cw_http_req *req, const char *name);
const char *cw_http_param(const cw_http_req *req, const char *name);
/* A request header (name case-insensitive), or NULL when absent or when
 * req was not made by the server (unit tests). */
const char *cw_http_header(const cw_http_req *req, const char *name);
/* 303 See Other to location (a path on this server). */
void cw_http_redirect(cw_http_resp *resp, const char *location);
/* An error response: JSON {"error": {"status": N, "message": "..."}} on
 * CW_ROUTE_API routes (and when the client asked for JSON), else the HTML
 * error page (cw_http_page_error, pages.c). The message says what and
 * where, in plain words; it is escaped where it is shown. */
_printf_(4, 5) void cw_http_error(const cw_http_req *req, cw_http_resp *resp, int status,
                                  const char *fmt, ...);
/* The URL to link a static file of src/http/static/ with (assets.c):
 * "/static/NAME?v=HASH", where HASH changes with the file's content so
 * browsers, which may cache it for a day, never keep an old copy across
 * an upgrade. NULL when there is no such file. */
const char *cw_http_asset_path(const char *name);
/* Renders the HTML error page into resp (pages.c). */
void cw_http_page_error(const cw_http_req *req, cw_http_resp *resp, int status,
                        const char *message);
/* Renders the login form into resp (pages.c), for auth.c: `error` is
 * shown above the form when non-NULL; `next` is where to go after logging
 * in (a local path, already validated; NULL: /jobs). The form posts to
 * /login with the fields "user", "password", "next" (when non-NULL) and
 * "csrf" (req->csrf, the login token); after a failed POST it shows the
 * posted "user" again (escaped), never the password. auth.c sets
 * resp->status (403 for a wrong password, 429 when throttled) and the
 * cookie. */
void cw_http_page_login(const cw_http_req *req, cw_http_resp *resp, const char *error,
                        const char *next);

/* ---- what handlers may ask of the daemon (server.c) ---- */

/* Tells the scheduler something changed (a request was queued, a job or
 * the scheduler was enabled): it runs a pass within a second. */
void cw_http_wake(cw_http_server *srv);
/* Logs a state change with who made it, one line:
 * "event=admin user=U client=C action=ACTION DETAIL". User, client and
 * action are quoted as cw_http_logval does; DETAIL is fmt's text as
 * written (quote its values with cw_http_logval), with any control
 * character turned into a space. Never pass secrets. No-op without a
 * server (unit tests); cw_http_wake accepts NULL too. */
_printf_(3, 4) void cw_http_audit(const cw_http_req *req, const char *action, const char *fmt, ...);
/* s as a log value: as is when it is non-empty and has no spaces, '"',
 * '=', '\' or control characters; else double-quoted with '"' and '\'
 * backslash-escaped and control characters as \xHH, cut to fit size
 * (>= 8). NULL gives "-". Returns s or buf. */
const char *cw_http_logval(const char *s, char *buf, size_t size);

/* ---- the daemon's interface ---- */

typedef struct cw_http_opts {
        const char *listen; /* "HOST:PORT", "[V6]:PORT" or ":PORT" */
        unsigned threads;   /* worker threads; 0: 4 */
        /* Each request's now_us (NULL: the system's wall clock); read
         * from any server thread, it must outlive the server. */
        const cw_clock *clock;
        /* Called from any server thread: wake the scheduler. */
        void (*wake)(void *userdata);
        /* Called from any server thread with one complete log line (no
         * newline), e.g. "event=admin ..." or "event=http_error ...". */
        void (*log)(void *userdata, const char *level, const char *line);
        void *userdata;
} cw_http_opts;

/* Starts serving cfg (a reference is taken). Returns 0; -EADDRINUSE,
 * -EACCES, -EINVAL (bad listen address) ... with err saying what. */
int cw_http_start(const cw_http_opts *o, const cw_config *cfg, cw_http_server **ret, cw_error *err);
/* Serves cfg from now on (after a reload); requests in flight finish with
 * the config they started with. Thread-safe. */
void cw_http_set_config(cw_http_server *srv, const cw_config *cfg);
/* Stops accepting, waits for requests in flight, frees everything. Accepts NULL. */
void cw_http_stop(cw_http_server *srv);

#endif
