/* server_priv.h - what server.c (libmicrohttpd glue, connections,
 * threads) and dispatch.c (one request: parsing, routing, authentication,
 * CSRF, the handler) share. Private to those two files. */
#ifndef CW_HTTP_SERVER_PRIV_H
#define CW_HTTP_SERVER_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/form.h"
#include "http/internal.h"

struct MHD_Connection;
struct MHD_Daemon;

#define STORE_POOL_MAX 8
#define LOGIN_QUEUE_MAX 16
/* libmicrohttpd's memory per connection: request line and headers. */
#define CONNECTION_MEMORY (64 * 1024)

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
        cw_memo *memo; /* /metrics answers shared between threads */
        cw_conns *conns;
        /* The reaper thread: closes requests past CW_REQUEST_TIMEOUT_US. */
        pthread_t reaper;
        bool reaper_started, reaper_stop; /* stop: under reap_lock */
        pthread_mutex_t reap_lock;
        pthread_cond_t reap_cond;
        /* The login thread: POST /login requests, whose argon2id check
         * would stall every connection of the server thread running it,
         * are suspended and answered from here, one at a time, in order;
         * at most LOGIN_QUEUE_MAX wait (more: 503). */
        pthread_t login;
        bool login_started, login_stop; /* stop: under login_lock */
        pthread_mutex_t login_lock;
        pthread_cond_t login_cond;
        struct http_conn *login_head, *login_tail;
        size_t login_n;
        int64_t mhd_log_minute; /* under lock: the rate limit of on_mhd_log */
        unsigned mhd_log_lines, mhd_log_dropped;
};

/* One request, from its request line (uri_log) to its completion. */
typedef struct http_conn {
        char *uri;          /* the raw request-target, NULL on ENOMEM */
        const char *uri_at; /* where libmicrohttpd keeps it (see on_access) */
        bool started;       /* the access handler has seen the headers */
        bool too_big;       /* the body passed CW_HTTP_MAX_BODY */
        bool nul_in_uri;
        bool oom;
        int early_status; /* answer this at once, before reading a body */
        const char *early_msg;
        char client[CW_CLIENT_MAX]; /* who is asking (see cw_http_forwarded_client) */
        cw_buf body;
        /* A request answered by the login thread (server.c): */
        struct MHD_Connection *con;
        char method[8];
        int deferred;         /* DEFER_* */
        struct http_ctx *ctx; /* its answer, once DEFER_DONE */
        cw_http_resp *resp;
        struct http_conn *next; /* in the login queue */
} http_conn;

enum { DEFER_NONE, DEFER_QUEUED, DEFER_DONE };

/* What one dispatch builds; req->priv points here. */
typedef struct http_ctx {
        cw_http_req req;
        cw_http_server *srv;
        struct MHD_Connection *con;
        http_conn *c;
        cw_config *cfg;
        cw_store *store;
        cw_form query, form;
        char *raw_path; /* as sent */
        char *path;     /* decoded */
        char *argbuf;
        unsigned allow; /* for a 405 */
        bool www_auth;  /* a 401 on a bearer-capable route */
        int64_t mono_us;
        char client[CW_CLIENT_MAX];
        char nonce[33];
        char user[CW_USER_MAX + 8];
        char csrf[CW_SECRET_HEX + 1];
} http_ctx;

/* One complete log line through opts.log (control characters become
 * spaces). No-op without a logger. */
_printf_(3, 4) void cw_http_srv_log(cw_http_server *srv, const char *level, const char *fmt, ...);

/* Fills x for request c on con (a config reference, the nonce, the
 * client, the clock); ctx_release gives everything back. */
void cw_http_ctx_init(http_ctx *x, cw_http_server *srv, struct MHD_Connection *con, http_conn *c);
void cw_http_ctx_release(http_ctx *x);
/* Parses, routes, authenticates and runs the handler: the answer is in
 * resp (errors too). */
void cw_http_dispatch(http_ctx *x, const char *method_name, cw_http_resp *resp);
/* Gives the store pool's connections back (cw_http_stop). */
void cw_http_pool_drain(cw_http_server *srv);

#endif
