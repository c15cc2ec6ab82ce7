/* internal.h - what the admin server's own modules share (server.c,
 * dispatch.c, route.c, listen.c, conns.c, auth.c, assets.c, memo.c with
 * metrics.c) and what their unit tests reach: route matching, the
 * listening socket, the connection table, the session and login-throttle
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
        unsigned allowed; /* without a route: the methods this path takes (0: 404) */
} cw_route_match;

/* Matches raw_path (as sent: percent-encoded, no query; checked by
 * cw_http_path_check) against tables[0..n_tables), in order. Segments are
 * decoded one by one before comparing, so an arg may contain an encoded
 * '/'. The decoded args are written into argbuf (at least strlen(raw_path)
 * + 1 bytes). method is one cw_http_method bit, or 0 for a method we do
 * not serve (then only `allowed` is filled). */
void cw_http_route_find(const cw_http_route *const *tables, size_t n_tables, unsigned method,
                        const char *raw_path, char *argbuf, cw_route_match *ret);

/* ---- the listening socket (listen.c) ---- */

/* Opens a socket listening on "HOST:PORT", "[V6]:PORT" or ":PORT" (all
 * interfaces) into *ret_fd. Returns 0, or -EINVAL (bad or unresolvable
 * address) or another negative errno (bind, listen) with err saying why;
 * *ret_fd is untouched on failure. */
int cw_http_listen(const char *listen_addr, int *ret_fd, cw_error *err);

/* ---- connections (conns.c) ---- */

#define CW_CLIENT_MAX 64
/* Connections served at once, and the table's size (libmicrohttpd's own
 * limit; the slack absorbs connections accepted by several threads at
 * once). */
#define CW_CONN_LIMIT 256
#define CW_CONN_TABLE 320
/* Per address (a trusted proxy's requests count for the address they
 * are forwarded for). */
#define CW_CONN_PER_CLIENT 32
/* With fewer free slots than this, a new connection closes the one that
 * has waited longest (at least CW_CONN_EVICT_AGE_US) for its request. */
#define CW_CONN_RESERVE 32
#define CW_CONN_EVICT_AGE_US (1LL * 1000000)
/* A request's headers and body must arrive within this of the connection
 * opening or of the previous answer; then 408 and the connection closes. */
#define CW_REQUEST_TIMEOUT_US (15LL * 1000000)

typedef struct cw_conns cw_conns;

/* NULL on ENOMEM. */
cw_conns *cw_conns_new(void);
void cw_conns_free(cw_conns *t);
/* Whether a new connection from peer may be served (before it is added):
 * 0, or -EBUSY (CW_CONN_LIMIT reached) or -EMFILE (peer has
 * CW_CONN_PER_CLIENT; not checked when trusted, i.e. the peer is a trusted
 * proxy). May first close the oldest waiting connection to make room. */
int cw_conns_admit(cw_conns *t, const char *peer, bool trusted, int64_t now_us);
/* Records connection key (socket fd, peer) as reading its first request.
 * -EBUSY when the table is full: the socket is then shut down. */
int cw_conns_add(cw_conns *t, const void *key, int fd, const char *peer, bool trusted,
                 int64_t now_us);
/* Forgets key (it was closed). */
void cw_conns_remove(cw_conns *t, const void *key);
/* For a trusted proxy's connection: the address its current request is
 * forwarded for. Returns how many connections that address has now (0
 * for a connection that is not a proxy's). */
size_t cw_conns_set_client(cw_conns *t, const void *key, const char *client);
/* The request is complete and about to be answered: false when it was
 * closed for taking too long meanwhile (then do not answer). */
bool cw_conns_begin(cw_conns *t, const void *key);
/* The answer was sent: the next request's clock starts at now. */
void cw_conns_end(cw_conns *t, const void *key, int64_t now_us);
/* Closes (408) every connection whose request has taken
 * CW_REQUEST_TIMEOUT_US; returns how many. */
size_t cw_conns_reap(cw_conns *t, int64_t now_us);

/* Whether addr (a textual IP address) is in list (addresses and
 * address/prefix ranges, as [admin] trusted_proxies holds). */
bool cw_http_addr_match(const char *addr, const cw_strv *list);
/* The client a request comes from: peer, unless peer is in trusted; then
 * the last address of the X-Forwarded-For value xff (may be NULL) that is
 * not in trusted (or the first, when all are), normalised. A malformed
 * element stops the walk. Writes into out. */
void cw_http_forwarded_client(const char *peer, const char *xff, const cw_strv *trusted, char *out,
                              size_t size);

/* ---- sessions (auth.c) ---- */

#define CW_SESSION_MAX 256
#define CW_SESSION_IDLE_US (12LL * 3600 * 1000000)
#define CW_SESSION_LIFETIME_US (7LL * 86400 * 1000000)
#define CW_SECRET_HEX 64 /* a 256-bit random value as hex */
#define CW_USER_MAX 64   /* [admin] user is at most 64 bytes */

typedef struct cw_session {
        char id[CW_SECRET_HEX + 1]; /* "" when the slot is free */
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
void cw_sessions_new(cw_sessions *t, const char *user, const unsigned char pw[32], int64_t now_us,
                     cw_session *ret);
/* Looks id up (constant time per slot); on success refreshes its idle
 * timer and copies it into *ret. Expired sessions (idle for
 * CW_SESSION_IDLE_US or older than CW_SESSION_LIFETIME_US) are freed and
 * not found. */
bool cw_sessions_get(cw_sessions *t, const char *id, int64_t now_us, cw_session *ret);
/* Ends session id, if any. */
void cw_sessions_end(cw_sessions *t, const char *id);

/* ---- login throttling (auth.c) ---- */

/* Failed logins per (user name, address): the first CW_THROTTLE_FREE
 * failures are free; each one after that blocks the pair for
 * CW_THROTTLE_BASE_US, doubling per failure up to CW_THROTTLE_MAX_US. The
 * count is forgotten CW_THROTTLE_WINDOW_US after the last failure or block
 * ends, and on a successful login. At most CW_THROTTLE_ENTRIES pairs are
 * tracked; when full, the one idle longest makes room. Keying on the user
 * too means a guessing run against one name does not shut the address
 * out for others (behind a shared proxy, say).
 *
 * A blocked pair may still have its password checked once per
 * CW_THROTTLE_PROBE_US per user name, whatever the address (a probe), so
 * the real user gets in during someone else's guessing run at the cost of
 * a bounded guessing rate. */
#define CW_THROTTLE_FREE 5
#define CW_THROTTLE_BASE_US (30LL * 1000000)
#define CW_THROTTLE_MAX_US (15LL * 60 * 1000000)
#define CW_THROTTLE_WINDOW_US (15LL * 60 * 1000000)
#define CW_THROTTLE_ENTRIES 1024
#define CW_THROTTLE_PROBE_US (5LL * 1000000)
#define CW_THROTTLE_PROBE_ENTRIES 16

typedef struct cw_throttle_entry {
        char user[CW_USER_MAX + 1]; /* the name tried, cut to CW_USER_MAX bytes */
        char client[CW_CLIENT_MAX]; /* "" when free */
        int failures;
        int64_t last_us;  /* last failure */
        int64_t until_us; /* blocked until then */
} cw_throttle_entry;

typedef struct cw_throttle_probe {
        char user[CW_USER_MAX + 1]; /* "" when free */
        int64_t next_us;            /* no probe for user before then */
} cw_throttle_probe;

typedef struct cw_throttle {
        cw_throttle_entry e[CW_THROTTLE_ENTRIES];
        cw_throttle_probe probe[CW_THROTTLE_PROBE_ENTRIES];
} cw_throttle;

/* Microseconds the pair must still wait before it may try to log in (0:
 * it may try now). */
int64_t cw_throttle_wait(cw_throttle *t, const char *user, const char *client, int64_t now_us);
/* Records a failed login of user from client. */
void cw_throttle_failed(cw_throttle *t, const char *user, const char *client, int64_t now_us);
/* Forgets the pair's failures (a successful login). */
void cw_throttle_succeeded(cw_throttle *t, const char *user, const char *client);
/* Whether a blocked pair's password may be checked now: true at most once
 * per CW_THROTTLE_PROBE_US per user (it takes that turn); else false with
 * the microseconds until the next turn in *ret_wait. */
bool cw_throttle_probe_take(cw_throttle *t, const char *user, int64_t now_us, int64_t *ret_wait);

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
bool cw_auth_session(cw_auth *a, const cw_config *cfg, const char *id, int64_t now_us,
                     cw_session *ret);
/* Checks user and password against cfg (one verification at a time;
 * always runs argon2id, also for a wrong user name). Returns 0 when both
 * match, else -EACCES. Thread-safe. */
int cw_auth_password_check(cw_auth *a, const cw_config *cfg, const char *user,
                           const char *password);
/* Finds the api_token of cfg whose SHA-256 matches token, comparing with
 * every configured token in constant time; copies its name into name
 * (size >= 65). */
bool cw_auth_token(const cw_config *cfg, const char *token, char *name, size_t size);
/* Whether session cookies carry Secure: [admin] cookie_secure, or with
 * auto, whether public_url is https. */
bool cw_auth_cookie_secure(const cw_config *cfg);

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
        const char *etag; /* "\"<hex of SHA-256>\"" (strong) */
        const char *path; /* "/static/app.css?v=<first 16 hex of SHA-256>" */
} cw_asset;

extern const cw_asset cw_assets[];
extern const size_t cw_n_assets;

/* The asset called name, or NULL. */
const cw_asset *cw_asset_find(const char *name);

#endif
