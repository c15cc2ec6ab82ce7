/* internal.h - what the admin server's own modules share (server.c,
 * route.c, listen.c, auth.c, assets.c, memo.c with metrics.c) and what their unit tests reach:
 * route matching, the listening socket, the session and login-throttle
 * tables, bearer tokens, the compiled-in assets. Private to src/http/ (and tests/unit/test_http.c); handlers in
 * other modules use http.h only.
 *
 * Times here are CLOCK_MONOTONIC microseconds (cw_http_req_mono_us), so
 * a wall-clock change neither ends sessions nor lifts a login block; the
 * tables take `now` as an argument so tests drive the clock. */
#ifndef CW_HTTP_INTERNAL_H
#define CW_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

/* ---- routing (route.c) ---- */

/* The tables in search order: the server's own (/healthz, /), then as
 * http.h says: auth, assets, api, metrics, pages. */
enum {
        CW_TABLE_SERVER,
        CW_TABLE_AUTH,
        CW_TABLE_ASSETS,
        CW_TABLE_API,
        CW_TABLE_METRICS,
        CW_TABLE_PAGES,
        CW_TABLE__MAX,
};
extern const cw_http_route cw_http_server_routes[];

typedef struct cw_route_match {
        const cw_http_route *route; /* NULL: no route for this method */
        size_t table;               /* CW_TABLE_* of route */
        const char *args[CW_HTTP_MAX_ARGS];
        size_t n_args;
        unsigned allowed;           /* without a route: the methods this path takes (0: 404) */
} cw_route_match;

/* Matches raw_path (as sent: percent-encoded, no query; checked by
 * cw_http_path_check) against tables[0..n_tables), in order. Segments are
 * decoded one by one before comparing, so an arg may contain an encoded
 * '/'. The decoded args are written into argbuf (at least strlen(raw_path)
 * + 1 bytes). method is one cw_http_method bit, or 0 for a method we do
 * not serve (then only `allowed` is filled). */
void cw_http_route_find(const cw_http_route *const *tables, size_t n_tables, unsigned method, const char *raw_path,
                        char *argbuf, cw_route_match *ret);

/* ---- the listening socket (listen.c) ---- */

/* Opens a socket listening on "HOST:PORT", "[V6]:PORT" or ":PORT" (all
 * interfaces) into *ret_fd. Returns 0, or -EINVAL (bad or unresolvable
 * address) or another negative errno (bind, listen) with err saying why;
 * *ret_fd is untouched on failure. */
int cw_http_listen(const char *listen_addr, int *ret_fd, cw_error *err);

/* ---- sessions (auth.c) ---- */

#define CW_SESSION_MAX 256
#define CW_SESSION_IDLE_US (12LL * 3600 * 1000000)
#define CW_SESSION_LIFETIME_US (7LL * 86400 * 1000000)
#define CW_SECRET_HEX 64 /* a 256-bit random value as hex */
#define CW_USER_MAX 64   /* [admin] user is at most 64 bytes */

typedef struct cw_session {
        char id[CW_SECRET_HEX + 1];   /* "" when the slot is free */
        char csrf[CW_SECRET_HEX + 1];
        char user[CW_USER_MAX + 1];
        /* SHA-256 of the password_hash the user logged in against: a
         * changed password (after a reload) ends every session. */
        unsigned char pw[32];
        int64_t created_us, used_us;
} cw_session;

typedef struct cw_sessions {
        cw_session s[CW_SESSION_MAX];
} cw_sessions;

/* Starts a session for user with fresh random id and CSRF token, in a
 * free or expired slot, else in place of the least recently used one.
 * Copies it into *ret. */
void cw_sessions_new(cw_sessions *t, const char *user, const unsigned char pw[32], int64_t now_us, cw_session *ret);
/* Looks id up (constant time per slot); on success refreshes its idle
 * timer and copies it into *ret. Expired sessions (idle for
 * CW_SESSION_IDLE_US or older than CW_SESSION_LIFETIME_US) are freed and
 * not found. */
bool cw_sessions_get(cw_sessions *t, const char *id, int64_t now_us, cw_session *ret);
/* Ends session id, if any. */
void cw_sessions_end(cw_sessions *t, const char *id);

/* ---- login throttling (auth.c) ---- */

/* Failed logins from one address: the first CW_THROTTLE_FREE failures are
 * free; each one after that blocks the address for CW_THROTTLE_BASE_US,
 * doubling per failure up to CW_THROTTLE_MAX_US. The count is forgotten
 * CW_THROTTLE_WINDOW_US after the last failure or block ends, and on a
 * successful login. At most CW_THROTTLE_ENTRIES addresses are tracked;
 * when full, the one idle longest makes room. */
#define CW_THROTTLE_FREE 5
#define CW_THROTTLE_BASE_US (30LL * 1000000)
#define CW_THROTTLE_MAX_US (15LL * 60 * 1000000)
#define CW_THROTTLE_WINDOW_US (15LL * 60 * 1000000)
#define CW_THROTTLE_ENTRIES 1024
#define CW_CLIENT_MAX 64

typedef struct cw_throttle_entry {
        char client[CW_CLIENT_MAX]; /* "" when free */
        int failures;
        int64_t last_us;  /* last failure */
        int64_t until_us; /* blocked until then */
} cw_throttle_entry;

typedef struct cw_throttle {
        cw_throttle_entry e[CW_THROTTLE_ENTRIES];
} cw_throttle;

/* Microseconds client must still wait before it may try to log in (0: it
 * may try now). */
int64_t cw_throttle_wait(cw_throttle *t, const char *client, int64_t now_us);
/* Records a failed login from client. */
void cw_throttle_failed(cw_throttle *t, const char *client, int64_t now_us);
/* Forgets client's failures (a successful login). */
void cw_throttle_succeeded(cw_throttle *t, const char *client);

/* ---- the auth state the server keeps (auth.c) ---- */

typedef struct cw_auth {
        pthread_mutex_t lock;        /* sessions, throttle */
        pthread_mutex_t verify_lock; /* one argon2id verification at a time (64 MiB each) */
        cw_sessions sessions;
        cw_throttle throttle;
} cw_auth;

/* NULL on ENOMEM. */
cw_auth *cw_auth_new(void);
void cw_auth_free(cw_auth *a);

/* The [admin] user logins must name: cfg->admin_user, "admin" when unset. */
const char *cw_auth_user(const cw_config *cfg);
/* SHA-256 of cfg's password_hash into pw; false when there is none
 * (password logins are off). */
bool cw_auth_password_id(const cw_config *cfg, unsigned char pw[32]);
/* The session for cookie value id, if it is valid for cfg now (its user
 * and password are still the configured ones). Thread-safe. */
bool cw_auth_session(cw_auth *a, const cw_config *cfg, const char *id, int64_t now_us, cw_session *ret);
/* Checks user and password against cfg (one verification at a time;
 * always runs argon2id, also for a wrong user name). Thread-safe. */
bool cw_auth_password_ok(cw_auth *a, const cw_config *cfg, const char *user, const char *password);
/* Finds the api_token of cfg whose SHA-256 matches token, comparing with
 * every configured token in constant time; copies its name into name
 * (size >= 65). */
bool cw_auth_token(const cw_config *cfg, const char *token, char *name, size_t size);

/* Cookie names. */
#define CW_SESSION_COOKIE "cw_session"
#define CW_LOGIN_COOKIE "cw_login"

/* ---- what auth.c and assets.c ask of the server (server.c) ---- */

cw_auth *cw_http_server_auth(cw_http_server *srv);
/* The request's monotonic time, read with now_us. 0 for a request not
 * made by the server (unit tests). */
int64_t cw_http_req_mono_us(const cw_http_req *req);

/* ---- shared answers (memo.c) ----
 *
 * A few slots, each keeping the newest body of one expensive answer (the
 * /metrics variants) fresh for CW_MEMO_MAX_AGE_US, so concurrent requests share
 * one build and, being reference-counted, one copy of its bytes.
 * Thread-safe. Times are CLOCK_MONOTONIC µs. */
#define CW_MEMO_SLOTS 4
#define CW_MEMO_MAX_AGE_US 1000000
#define CW_MEMO_WAIT_US 10000000
#define CW_MEMO_DROP_US (60 * 1000000)
typedef struct cw_memo cw_memo;
typedef struct cw_memo_body cw_memo_body; /* immutable bytes, reference-counted */

/* A body of len bytes that takes data (malloc'd; freed on failure too)
 * with one reference; NULL on ENOMEM. */
cw_memo_body *cw_memo_body_new(char *data, size_t len);
const char *cw_memo_body_data(const cw_memo_body *b, size_t *ret_len);
/* Drops one reference (a cw_memo_body *, or NULL): the last frees it.
 * Any thread; the signature of a response's release callback. */
void cw_memo_body_unref(void *b);

/* NULL on ENOMEM. cw_memo_free accepts NULL; bodies handed out live on. */
cw_memo *cw_memo_new(void);
void cw_memo_free(cw_memo *m);
/* Returns 1 with *ret a reference to slot's body when one is kept that
 * is fresh, or expired while another request rebuilds it; 0 when the
 * caller must build the answer itself. Then *ret_build says whether it
 * builds for the slot and must end that with cw_memo_put; with no body
 * kept yet, waits for another request's build first (at most
 * CW_MEMO_WAIT_US). m NULL: 0, *ret_build false. */
int cw_memo_get(cw_memo *m, unsigned slot, int64_t now_us, cw_memo_body **ret, bool *ret_build);
/* Ends the build cw_memo_get asked for: keeps a reference to b (the
 * caller keeps its own) as built at built_us (when the build ended: on
 * the clock of cw_memo_get's now_us), until a newer one or until it is
 * CW_MEMO_DROP_US old; b NULL (the build failed): the slot keeps what it
 * had. */
void cw_memo_put(cw_memo *m, unsigned slot, int64_t built_us, cw_memo_body *b);
/* The server's memo (NULL for requests not made by a server). */
cw_memo *cw_http_server_memo(cw_http_server *srv);

/* ---- compiled-in static files (generated by embed_assets.py) ---- */

typedef struct cw_asset {
        const char *name;         /* "app.css" */
        const char *content_type; /* "text/css; charset=utf-8" */
        const unsigned char *data;
        size_t size;
        const char *etag;         /* "\"<hex of SHA-256>\"" (strong) */
        const char *path;         /* "/static/app.css?v=<first 16 hex of SHA-256>" */
} cw_asset;

extern const cw_asset cw_assets[];
extern const size_t cw_n_assets;

/* The asset called name, or NULL. */
const cw_asset *cw_asset_find(const char *name);

#endif
