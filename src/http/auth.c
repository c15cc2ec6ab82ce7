/* auth.c - who may use the admin server (http.h, internal.h): sessions,
 * the login throttle, password and bearer-token checks, and the routes
 * GET/POST /login and POST /logout.
 *
 * Sessions live in memory only (a restart logs everyone out): a fixed
 * table of CW_SESSION_MAX slots, each with a random 256-bit id (the
 * cookie) and a random 256-bit CSRF token. A session ends after 12 h
 * without use, 7 days after login, on logout, when the [admin] user or
 * password_hash changes (checked on every request against the current
 * config), or when the table is full and it is the least recently used.
 *
 * Login CSRF: a page that posts a login form in the user's browser could
 * otherwise log them into an attacker's account. GET /login hands out a
 * random token twice, as the cookie cw_login (HttpOnly, SameSite=Strict,
 * Path=/login, one hour) and as req->csrf for the form; POST /login
 * requires both to be present and equal (double submit). A cross-site
 * page can neither read the cookie nor make the browser send it.
 *
 * Passwords are checked with crypto_pwhash_str_verify (argon2id; 64 MiB
 * for hashes made with the interactive limits), one at a time under
 * verify_lock so parallel attempts cannot exhaust memory. The server runs
 * POST /login on a thread of its own with a bounded queue (server.c), so
 * checks never hold the threads other pages need. The throttle (per user
 * name and address, with a bounded probe rate for a blocked pair) is
 * consulted before any verification. */
#include "http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "http/form.h"
#include "http/internal.h"

#define LOGIN_TOKEN_MAX_AGE 3600

static void random_hex(char out[CW_SECRET_HEX + 1])
{
        unsigned char b[CW_SECRET_HEX / 2];

        randombytes_buf(b, sizeof(b));
        sodium_bin2hex(out, CW_SECRET_HEX + 1, b, sizeof(b));
        sodium_memzero(b, sizeof(b));
}

static bool is_secret_hex(const char *s)
{
        size_t n;

        for (n = 0; s[n]; n++)
                if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
                        return false;
        return n == CW_SECRET_HEX;
}

/* ---- sessions ---- */

static bool session_expired(const cw_session *s, int64_t now_us)
{
        return now_us - s->used_us >= CW_SESSION_IDLE_US ||
               now_us - s->created_us >= CW_SESSION_LIFETIME_US;
}

void cw_sessions_new(cw_sessions *t, const char *user, const unsigned char pw[32], int64_t now_us,
                     cw_session *ret)
{
        cw_session *slot = NULL, *lru = NULL;

        for (size_t i = 0; i < CW_SESSION_MAX && !slot; i++) {
                cw_session *s = &t->s[i];

                if (!s->id[0] || session_expired(s, now_us))
                        slot = s;
                else if (!lru || s->used_us < lru->used_us)
                        lru = s;
        }
        if (!slot)
                slot = lru;
        sodium_memzero(slot, sizeof(*slot));
        random_hex(slot->id);
        random_hex(slot->csrf);
        snprintf(slot->user, sizeof(slot->user), "%s", user);
        memcpy(slot->pw, pw, sizeof(slot->pw));
        slot->created_us = slot->used_us = now_us;
        *ret = *slot;
}

/* The slot holding id, comparing every slot in constant time. */
static cw_session *session_find(cw_sessions *t, const char *id)
{
        cw_session *found = NULL;

        if (!is_secret_hex(id))
                return NULL;
        for (size_t i = 0; i < CW_SESSION_MAX; i++)
                if (t->s[i].id[0] && sodium_memcmp(t->s[i].id, id, CW_SECRET_HEX) == 0)
                        found = &t->s[i];
        return found;
}

bool cw_sessions_get(cw_sessions *t, const char *id, int64_t now_us, cw_session *ret)
{
        cw_session *s = session_find(t, id);

        if (!s)
                return false;
        if (session_expired(s, now_us)) {
                sodium_memzero(s, sizeof(*s));
                return false;
        }
        s->used_us = now_us;
        *ret = *s;
        return true;
}

void cw_sessions_end(cw_sessions *t, const char *id)
{
        cw_session *s = session_find(t, id);

        if (s)
                sodium_memzero(s, sizeof(*s));
}

/* ---- the login throttle ---- */

/* Names are kept (and compared) cut to CW_USER_MAX bytes: a longer one
 * is never the configured user. */
static void user_key(const char *user, char key[CW_USER_MAX + 1])
{
        snprintf(key, CW_USER_MAX + 1, "%.*s", CW_USER_MAX, user);
}

static cw_throttle_entry *throttle_find(cw_throttle *t, const char *user, const char *client)
{
        char key[CW_USER_MAX + 1];

        user_key(user, key);
        for (size_t i = 0; i < CW_THROTTLE_ENTRIES; i++)
                if (t->e[i].client[0] && strcmp(t->e[i].client, client) == 0 &&
                    strcmp(t->e[i].user, key) == 0)
                        return &t->e[i];
        return NULL;
}

static int64_t throttle_idle_since(const cw_throttle_entry *e)
{
        return e->until_us > e->last_us ? e->until_us : e->last_us;
}

/* Forgets e when its last failure or block is a window in the past. */
static void throttle_expire(cw_throttle_entry *e, int64_t now_us)
{
        if (e->client[0] && now_us - throttle_idle_since(e) >= CW_THROTTLE_WINDOW_US)
                memset(e, 0, sizeof(*e));
}

int64_t cw_throttle_wait(cw_throttle *t, const char *user, const char *client, int64_t now_us)
{
        cw_throttle_entry *e = throttle_find(t, user, client);

        if (!e)
                return 0;
        throttle_expire(e, now_us);
        return e->client[0] && e->until_us > now_us ? e->until_us - now_us : 0;
}

/* A free (or expired) entry, else the one idle longest, emptied. */
static cw_throttle_entry *throttle_slot(cw_throttle *t, int64_t now_us)
{
        cw_throttle_entry *e = NULL, *oldest = NULL;

        for (size_t i = 0; i < CW_THROTTLE_ENTRIES && !e; i++) {
                cw_throttle_entry *c = &t->e[i];

                throttle_expire(c, now_us);
                if (!c->client[0])
                        e = c;
                else if (!oldest || throttle_idle_since(c) < throttle_idle_since(oldest))
                        oldest = c;
        }
        if (!e)
                e = oldest;
        memset(e, 0, sizeof(*e));
        return e;
}

void cw_throttle_failed(cw_throttle *t, const char *user, const char *client, int64_t now_us)
{
        cw_throttle_entry *e = throttle_find(t, user, client);

        if (e)
                throttle_expire(e, now_us);
        if (!e || !e->client[0]) {
                e = throttle_slot(t, now_us);
                user_key(user, e->user);
                snprintf(e->client, sizeof(e->client), "%s", client);
        }
        e->failures++;
        e->last_us = now_us;
        if (e->failures >= CW_THROTTLE_FREE) {
                int shift = e->failures - CW_THROTTLE_FREE;
                int64_t block = shift >= 10 ? CW_THROTTLE_MAX_US : CW_THROTTLE_BASE_US << shift;

                e->until_us = now_us + (block < CW_THROTTLE_MAX_US ? block : CW_THROTTLE_MAX_US);
        }
}

void cw_throttle_succeeded(cw_throttle *t, const char *user, const char *client)
{
        cw_throttle_entry *e = throttle_find(t, user, client);

        if (e)
                memset(e, 0, sizeof(*e));
}

bool cw_throttle_probe_take(cw_throttle *t, const char *user, int64_t now_us, int64_t *ret_wait)
{
        cw_throttle_probe *p = NULL, *oldest = NULL;
        char key[CW_USER_MAX + 1];

        user_key(user, key);
        for (size_t i = 0; i < CW_THROTTLE_PROBE_ENTRIES && !p; i++) {
                cw_throttle_probe *c = &t->probe[i];

                if (c->user[0] && strcmp(c->user, key) == 0)
                        p = c;
                else if (!oldest || c->next_us < oldest->next_us)
                        oldest = c;
        }
        if (p && p->next_us > now_us) {
                *ret_wait = p->next_us - now_us;
                return false;
        }
        if (!p) {
                /* Taking the slot whose turn came first: its user gets
                 * one more turn early, which is within the bound for
                 * all but a spray of names (which cost a verification
                 * each anyway, and meet the verification limit). */
                p = oldest;
                memcpy(p->user, key, sizeof(p->user));
        }
        p->next_us = now_us + CW_THROTTLE_PROBE_US;
        return true;
}

/* ---- the server's auth state ---- */

cw_auth *cw_auth_new(void)
{
        cw_auth *a = calloc(1, sizeof(*a));

        if (!a)
                return NULL;
        pthread_mutex_init(&a->lock, NULL);
        pthread_mutex_init(&a->verify_lock, NULL);
        return a;
}

void cw_auth_free(cw_auth *a)
{
        if (!a)
                return;
        pthread_mutex_destroy(&a->lock);
        pthread_mutex_destroy(&a->verify_lock);
        sodium_memzero(a, sizeof(*a));
        free(a);
}

const char *cw_auth_user(const cw_config *cfg)
{
        return cfg->admin_user ? cfg->admin_user : "admin";
}

bool cw_auth_password_id(const cw_config *cfg, unsigned char pw[32])
{
        const char *h = cfg->admin_password_hash;

        if (!h)
                return false;
        crypto_hash_sha256(pw, (const unsigned char *)h, strlen(h));
        return true;
}

bool cw_auth_session(cw_auth *a, const cw_config *cfg, const char *id, int64_t now_us,
                     cw_session *ret)
{
        unsigned char pw[32];
        bool ok;

        if (!cw_auth_password_id(cfg, pw))
                return false;
        pthread_mutex_lock(&a->lock);
        ok = cw_sessions_get(&a->sessions, id, now_us, ret);
        if (ok && (strcmp(ret->user, cw_auth_user(cfg)) != 0 ||
                   sodium_memcmp(ret->pw, pw, sizeof(pw)) != 0)) {
                /* Logged in as a user or with a password the config no
                 * longer has. */
                cw_sessions_end(&a->sessions, id);
                sodium_memzero(ret, sizeof(*ret));
                ok = false;
        }
        pthread_mutex_unlock(&a->lock);
        return ok;
}

int cw_auth_password_check(cw_auth *a, const cw_config *cfg, const char *user, const char *password)
{
        bool user_ok, pw_ok;

        if (!cfg->admin_password_hash)
                return -EACCES;
        user_ok = cw_http_secret_equal(user, cw_auth_user(cfg));
        pthread_mutex_lock(&a->verify_lock);
        pw_ok = crypto_pwhash_str_verify(cfg->admin_password_hash, password, strlen(password)) == 0;
        pthread_mutex_unlock(&a->verify_lock);
        return user_ok && pw_ok ? 0 : -EACCES;
}

bool cw_auth_cookie_secure(const cw_config *cfg)
{
        if (cfg->admin_cookie_secure != CW_COOKIE_SECURE_AUTO)
                return cfg->admin_cookie_secure == CW_COOKIE_SECURE_YES;
        return cfg->admin_public_url && strncasecmp(cfg->admin_public_url, "https://", 8) == 0;
}

bool cw_auth_token(const cw_config *cfg, const char *token, char *name, size_t size)
{
        unsigned char h[crypto_hash_sha256_BYTES];
        char hex[2 * crypto_hash_sha256_BYTES + 1];
        bool found = false;

        crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        /* Entries are "NAME sha256:HEX", validated and lowercased by the
         * config loader. */
        for (size_t i = 0; i < cfg->admin_api_tokens.n; i++) {
                const char *e = cfg->admin_api_tokens.v[i], *sp = strchr(e, ' ');

                if (!sp || strncmp(sp + 1, "sha256:", 7) != 0 ||
                    strlen(sp + 8) != 2 * crypto_hash_sha256_BYTES)
                        continue;
                if (sodium_memcmp(sp + 8, hex, 2 * crypto_hash_sha256_BYTES) == 0) {
                        snprintf(name, size, "%.*s", (int)(sp - e), e);
                        found = true;
                }
        }
        sodium_memzero(hex, sizeof(hex));
        return found;
}

/* ---- /login, /logout ---- */

/* Secure when the UI is reached over https (cw_auth_cookie_secure): the
 * browser then never sends the cookie over plain http. */
static int set_cookie(const cw_http_req *req, cw_http_resp *resp, const char *name,
                      const char *value, const char *path, long max_age)
{
        free(resp->set_cookie);
        if (asprintf(&resp->set_cookie, "%s=%s; Path=%s; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
                     name, value, path, max_age,
                     cw_auth_cookie_secure(req->cfg) ? "; Secure" : "") < 0) {
                resp->set_cookie = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* The login form with a login token: the cw_login cookie's when the
 * browser has a well-formed one, else a new one. */
static int show_login(const cw_http_req *req, cw_http_resp *resp, int status, const char *error,
                      const char *next)
{
        char token[CW_SECRET_HEX + 2];
        cw_http_req r = *req;

        if (!cw_http_cookie_get(cw_http_header(req, "Cookie"), CW_LOGIN_COOKIE, token,
                                sizeof(token)) ||
            !is_secret_hex(token))
                random_hex(token);
        if (set_cookie(req, resp, CW_LOGIN_COOKIE, token, "/login", LOGIN_TOKEN_MAX_AGE) < 0)
                return -ENOMEM;
        r.csrf = token;
        cw_http_page_login(&r, resp, error, next);
        resp->status = status;
        sodium_memzero(token, sizeof(token));
        return 0;
}

static const char *local_next(const char *next)
{
        return cw_http_local_path(next) ? next : NULL;
}

static int login_get(const cw_http_req *req, cw_http_resp *resp)
{
        const char *next = local_next(cw_http_query(req, "next"));

        if (req->user && !req->via_token) {
                cw_http_redirect(resp, next ? next : "/jobs");
                return resp->location ? 0 : -ENOMEM;
        }
        return show_login(
                req, resp, 200,
                req->cfg->admin_password_hash
                        ? NULL
                        : "password logins are off: set [admin] password_hash (made by 'cronwarden passwd')",
                next);
}

/* Whether user may have a password checked now from req's address; when
 * not, fills the 429 answer. */
static bool login_allowed(const cw_http_req *req, cw_http_resp *resp, cw_auth *a, const char *user,
                          const char *next, int *ret)
{
        int64_t now = cw_http_req_mono_us(req), wait, probe_wait = 0;
        char msg[160];
        bool ok;

        pthread_mutex_lock(&a->lock);
        wait = cw_throttle_wait(&a->throttle, user, req->client, now);
        ok = wait == 0 || cw_throttle_probe_take(&a->throttle, user, now, &probe_wait);
        pthread_mutex_unlock(&a->lock);
        if (ok)
                return true;
        if (probe_wait < wait)
                wait = probe_wait;
        resp->retry_after = (int)((wait + 999999) / 1000000);
        snprintf(msg, sizeof(msg),
                 "too many failed logins for this user from your address: try again in %d seconds",
                 resp->retry_after);
        *ret = show_login(req, resp, 429, msg, next);
        return false;
}

static int login_post(const cw_http_req *req, cw_http_resp *resp)
{
        cw_auth *a = cw_http_server_auth(req->server);
        const char *next = local_next(cw_http_form(req, "next"));
        const char *user = cw_http_form(req, "user"), *password = cw_http_form(req, "password");
        const char *token = cw_http_form(req, "csrf");
        int64_t now = cw_http_req_mono_us(req);
        char cookie[CW_SECRET_HEX + 2], old[CW_SECRET_HEX + 2], q[96];
        unsigned char pw[32];
        cw_http_req as_user;
        cw_session s;
        int r;

        if (!a)
                return -EINVAL;
        user = user ? user : "";
        if (!login_allowed(req, resp, a, user, next, &r))
                return r;
        if (!token ||
            !cw_http_cookie_get(cw_http_header(req, "Cookie"), CW_LOGIN_COOKIE, cookie,
                                sizeof(cookie)) ||
            !is_secret_hex(cookie) || !cw_http_secret_equal(token, cookie))
                return show_login(req, resp, 403, "the login form expired: please log in again",
                                  next);
        if (!req->cfg->admin_password_hash)
                return show_login(
                        req, resp, 403,
                        "password logins are off: set [admin] password_hash (made by 'cronwarden passwd')",
                        next);
        if (cw_auth_password_check(a, req->cfg, user, password ? password : "") < 0) {
                pthread_mutex_lock(&a->lock);
                cw_throttle_failed(&a->throttle, user, req->client, now);
                pthread_mutex_unlock(&a->lock);
                cw_http_audit(req, "login_failed", "as=%s", cw_http_logval(user, q, sizeof(q)));
                return show_login(req, resp, 403, "wrong user name or password", next);
        }
        if (!cw_auth_password_id(req->cfg, pw))
                return -EINVAL;
        pthread_mutex_lock(&a->lock);
        cw_throttle_succeeded(&a->throttle, user, req->client);
        /* A new login replaces the browser's old session. */
        if (cw_http_cookie_get(cw_http_header(req, "Cookie"), CW_SESSION_COOKIE, old, sizeof(old)))
                cw_sessions_end(&a->sessions, old);
        cw_sessions_new(&a->sessions, cw_auth_user(req->cfg), pw, now, &s);
        pthread_mutex_unlock(&a->lock);
        r = set_cookie(req, resp, CW_SESSION_COOKIE, s.id, "/",
                       (long)(CW_SESSION_LIFETIME_US / 1000000));
        as_user = *req;
        as_user.user = s.user;
        cw_http_audit(&as_user, "login", "%s", "");
        sodium_memzero(&s, sizeof(s));
        if (r < 0)
                return r;
        cw_http_redirect(resp, next ? next : "/jobs");
        return resp->location ? 0 : -ENOMEM;
}

static int logout_post(const cw_http_req *req, cw_http_resp *resp)
{
        cw_auth *a = cw_http_server_auth(req->server);
        char id[CW_SECRET_HEX + 2];

        if (a &&
            cw_http_cookie_get(cw_http_header(req, "Cookie"), CW_SESSION_COOKIE, id, sizeof(id))) {
                pthread_mutex_lock(&a->lock);
                cw_sessions_end(&a->sessions, id);
                pthread_mutex_unlock(&a->lock);
        }
        cw_http_audit(req, "logout", "%s", "");
        if (set_cookie(req, resp, CW_SESSION_COOKIE, "", "/", 0) < 0)
                return -ENOMEM;
        cw_http_redirect(resp, "/login");
        return resp->location ? 0 : -ENOMEM;
}

const cw_http_route cw_http_auth_routes[] = {
        {CW_HTTP_GET, "/login", CW_ROUTE_PUBLIC, login_get},
        {CW_HTTP_POST, "/login", CW_ROUTE_PUBLIC, login_post},
        {CW_HTTP_POST, "/logout", 0, logout_post},
        {0},
};
