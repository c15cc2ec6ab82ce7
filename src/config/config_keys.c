/* config_keys.c - every key of the configuration file: where it may
 * appear, how its value is validated and where it is stored.
 *
 * The table below is the single list of keys (docs/config.md); the
 * unknown-key check, the "did you mean" hints and the [defaults]
 * restrictions all read it. Simple types (bool, int, duration, size),
 * enums and lists use the appliers of config_values.c, driven by the
 * entry's offset and range; everything else has a small function of its
 * own here. Each applier validates the whole value before touching the
 * target, so a rejected value leaves the default (or the [defaults]
 * value) in place and later checks see sane data.
 *
 * Defaults chosen here (docs/config.md lists them):
 *   kill_grace 10s, retry_delay 1m (at least 1s), catch_up once,
 *   concurrency forbid, lock class, notify_after_failures 1 (at least 1),
 *   enabled yes, everything else off/0; keep_history at least 1s;
 *   max_output from 1KiB to 1GiB; retries at most 100; max_running and the
 *   failure counters at most 1000000; max_load above 0, at most 10000.
 *   A job's hosts, after and other lists replace the [defaults] list, but
 *   env and secret_env add to it (env: the job's value for a key replaces
 *   the default's). env values are taken literally: quotes are not
 *   removed. ionice also accepts "none", so a job can drop a [defaults]
 *   class. The rlimits are unset (0) by default; limit_nofile takes 1 to
 *   1048576, limit_memory (RLIMIT_AS) 1MiB to 1TiB, limit_cpu at least 1s;
 *   like other scalars a job's value replaces the [defaults] one. */
#include "config_internal.h"
#include "config_values.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/array.h"
#include "base/units.h"
#include "store/store.h"

#define MAX_RUNNING_MAX 1000000
#define FAILURES_MAX 1000000
#define PING_MAX 2048
/* The kernel's default fs.nr_open: a larger RLIMIT_NOFILE is refused. */
#define LIMIT_NOFILE_MAX 1048576
/* Below this an address-space limit stops even the dynamic loader. */
#define LIMIT_MEMORY_MIN (1024LL * 1024)

/* ---- [cronwarden] --------------------------------------------------------- */

/* The store's own grammar (store.h), so the config accepts exactly what
 * cw_store_open does. */
static bool is_store(const char *s)
{
        cw_store_url u;

        return cw_store_url_parse(s, &u, NULL) == 0;
}

static int apply_store(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(L, obj, kv, is_store, CW_STORE_URL_EXPECTED);
}

static int apply_node(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(
                L, obj, kv, cfg_is_node_name,
                "a node name (letters, digits, '_', '.' and '-', at most 255 bytes)");
}

static int apply_global_timezone(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        const cw_tz *tz;
        int r = cw_config_zone_get(L, kv->text, kv->key->name, kv->line, &tz);

        if (r < 0)
                return r;
        ((cw_config *)obj)->tz = tz;
        return 0;
}

/* A decimal number without exponent ("4", "1.5"), parsed without strtod so
 * the result never depends on the process's locale. */
static bool parse_decimal(const char *s, double *ret)
{
        double v = 0, scale = 1;
        size_t i = 0, digits = 0;

        for (; cfg_is_digit(s[i]); i++, digits++)
                if (digits < 12)
                        v = v * 10 + (s[i] - '0');
                else
                        return false;
        if (digits == 0)
                return false;
        if (s[i] == '.') {
                size_t frac = 0;

                for (i++; cfg_is_digit(s[i]); i++, frac++)
                        if (frac < 9) {
                                scale /= 10;
                                v += (s[i] - '0') * scale;
                        }
                if (frac == 0)
                        return false;
        }
        if (s[i])
                return false;
        *ret = v;
        return true;
}

static int apply_max_load(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        char q[CFG_QUOTE_MAX];
        double v;

        if (!parse_decimal(kv->text, &v) || v <= 0 || v > 10000)
                return cw_config_error(
                        L, kv->line,
                        "max_load: expected a load average above 0 (like 4 or 2.5), got %s",
                        cw_config_quote(kv->text, q));
        ((cw_config *)obj)->max_load = v;
        return 0;
}

/* ---- [admin] -------------------------------------------------------------- */

static bool is_port(const char *s)
{
        long long v;

        return cfg_is_digit(s[0]) && cfg_parse_ll(s, &v) && v >= 1 && v <= 65535;
}

static bool is_host(const char *s, size_t n)
{
        if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!cfg_is_alnum(s[i]) && s[i] != '-' && s[i] != '.')
                        return false;
        return true;
}

/* host:port, IPv4:port or [IPv6]:port. */
static int apply_listen(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        const char *v = kv->text, *colon;
        char q[CFG_QUOTE_MAX];

        if (v[0] == '[') {
                const char *close = strchr(v, ']');
                char addr[INET6_ADDRSTRLEN + 1];
                struct in6_addr a6;
                size_t n;

                if (!close || close[1] != ':')
                        goto bad;
                n = (size_t)(close - v - 1);
                if (n == 0 || n >= sizeof(addr))
                        goto bad;
                memcpy(addr, v + 1, n);
                addr[n] = '\0';
                if (inet_pton(AF_INET6, addr, &a6) != 1)
                        return cw_config_error(L, kv->line, "listen: '%s' is not an IPv6 address",
                                               addr);
                colon = close + 1;
        } else {
                colon = strrchr(v, ':');
                if (!colon)
                        goto bad;
                if (memchr(v, ':', (size_t)(colon - v)))
                        return cw_config_error(
                                L, kv->line,
                                "listen: write an IPv6 address in brackets, as in [::1]:8080, got %s",
                                cw_config_quote(v, q));
                if (!is_host(v, (size_t)(colon - v)))
                        goto bad;
        }
        if (!is_port(colon + 1))
                return cw_config_error(L, kv->line,
                                       "listen: expected a port from 1 to 65535 after ':', got %s",
                                       cw_config_quote(kv->text, q));
        return cfg_set_string(L, (char **)cfg_field(obj, kv->key), v);
bad:
        return cw_config_error(
                L, kv->line,
                "listen: expected HOST:PORT or [IPV6]:PORT (like 127.0.0.1:8080), got %s",
                cw_config_quote(kv->text, q));
}

static bool is_admin_user(const char *s)
{
        size_t n = strlen(s);

        return n > 0 && n <= 64 && !cfg_has_control_or_space(s) && !strchr(s, ':');
}

static int apply_user(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(L, obj, kv, is_admin_user,
                                        "a user name (no spaces or ':', at most 64 bytes)");
}

static bool is_argon2id(const char *s)
{
        return strncmp(s, "$argon2id$", 10) == 0 && s[10] && !cfg_has_control_or_space(s);
}

static int apply_password_hash(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(
                L, obj, kv, is_argon2id,
                "an argon2id hash starting with '$argon2id$' (made by `cronwarden passwd`)");
}

/* api_token = NAME sha256:HEX (made by `cronwarden passwd --token NAME`):
 * NAME is [A-Za-z0-9_.-], at most 64 bytes, unique; HEX is the SHA-256 of
 * the token, stored lowercased. */
static int apply_api_token(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        cw_strv *tokens = (cw_strv *)cfg_field(obj, kv->key);
        const char *v = kv->text, *sp = strchr(v, ' '), *hex;
        _cleanup_free_ char *entry = NULL;
        _cleanup_free_ char **all = NULL;
        char q[CFG_QUOTE_MAX];
        size_t nl, i;

        if (!sp)
                goto bad;
        nl = (size_t)(sp - v);
        for (i = 0; i < nl; i++)
                if (!cfg_is_alnum(v[i]) && v[i] != '_' && v[i] != '.' && v[i] != '-')
                        goto bad;
        for (hex = sp; *hex == ' ' || *hex == '\t'; hex++)
                ;
        if (nl == 0 || nl > 64 || strncasecmp(hex, "sha256:", 7) != 0)
                goto bad;
        hex += 7;
        for (i = 0; hex[i]; i++)
                if (!cfg_is_digit(hex[i]) && !((hex[i] | 0x20) >= 'a' && (hex[i] | 0x20) <= 'f'))
                        break;
        if (i != 64 || hex[i])
                return cw_config_error(
                        L, kv->line,
                        "api_token: expected 64 hex digits after 'sha256:' (the token's SHA-256), got %s",
                        cw_config_quote(kv->text, q));
        for (i = 0; i < tokens->n; i++)
                if (strncmp(tokens->v[i], v, nl) == 0 && tokens->v[i][nl] == ' ')
                        return cw_config_error(L, kv->line, "api_token: name '%.*s' is used twice",
                                               (int)nl, v);
        if (asprintf(&entry, "%.*s sha256:%s", (int)nl, v, hex) < 0)
                return -ENOMEM;
        for (char *p = entry + nl + 8; *p; p++)
                *p = (char)(*p | 0x20);
        /* Strings of a config live in its arena: a new vector of the old
         * entries plus this one replaces *tokens. */
        all = calloc(tokens->n + 2, sizeof(char *));
        if (!all)
                return -ENOMEM;
        for (i = 0; i < tokens->n; i++)
                all[i] = tokens->v[i];
        all[i] = entry;
        return cw_config_strv_freeze(L, all, tokens->n + 1, true, tokens);
bad:
        return cw_config_error(
                L, kv->line,
                "api_token: expected NAME sha256:HEX (a line made by 'cronwarden passwd --token NAME'), got %s",
                cw_config_quote(kv->text, q));
}

/* trusted_proxies items: an IPv4 or IPv6 address, optionally /PREFIX
 * (0-32 or 0-128). The admin server matches them (http/conns.c). */
static bool is_address_or_cidr(const char *s)
{
        const char *slash = strchr(s, '/');
        char addr[INET6_ADDRSTRLEN + 1];
        unsigned char bin[sizeof(struct in6_addr)];
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        long long bits = -1;
        int family;

        if (n == 0 || n >= sizeof(addr))
                return false;
        memcpy(addr, s, n);
        addr[n] = '\0';
        family = strchr(addr, ':') ? AF_INET6 : AF_INET;
        if (inet_pton(family, addr, bin) != 1)
                return false;
        if (!slash)
                return true;
        return cfg_is_digit(slash[1]) && strlen(slash + 1) <= 3 && cfg_parse_ll(slash + 1, &bits) &&
               bits >= 0 && bits <= (family == AF_INET ? 32 : 128);
}

static int apply_trusted_proxies(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_list(L, kv, is_address_or_cidr,
                              "IP addresses or CIDR ranges (like 127.0.0.1, 10.0.0.0/8, ::1)",
                              (cw_strv *)cfg_field(obj, kv->key), false);
}

#define PUBLIC_URL_MAX 2048

/* public_url: where users reach the UI (through a reverse proxy): an
 * absolute http:// or https:// URL with a host. */
static int apply_public_url(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        const char *v = kv->text, *host;
        char q[CFG_QUOTE_MAX];

        if (strncasecmp(v, "http://", 7) == 0)
                host = v + 7;
        else if (strncasecmp(v, "https://", 8) == 0)
                host = v + 8;
        else
                return cw_config_error(L, kv->line,
                                       "public_url: expected an http:// or https:// URL, got %s",
                                       cw_config_quote(v, q));
        if (!host[0] || strchr("/?#:", host[0]))
                return cw_config_error(L, kv->line, "public_url: the URL has no host name, got %s",
                                       cw_config_quote(v, q));
        if (strlen(v) > PUBLIC_URL_MAX || cfg_has_control_or_space(v))
                return cw_config_error(
                        L, kv->line, "public_url: expected a URL without spaces, at most %d bytes",
                        PUBLIC_URL_MAX);
        return cfg_set_string(L, (char **)cfg_field(obj, kv->key), v);
}

static int apply_cookie_secure(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        static const char *const names[] = {[CW_COOKIE_SECURE_AUTO] = "auto",
                                            [CW_COOKIE_SECURE_YES] = "yes",
                                            [CW_COOKIE_SECURE_NO] = "no"};
        char q[CFG_QUOTE_MAX];

        for (size_t i = 0; i < CW_ARRAY_SIZE(names); i++)
                if (strcmp(kv->text, names[i]) == 0) {
                        ((cw_config *)obj)->admin_cookie_secure = (cw_cookie_secure)i;
                        return 0;
                }
        return cw_config_error(L, kv->line, "cookie_secure: expected auto, yes or no, got %s",
                               cw_config_quote(kv->text, q));
}

/* ---- [defaults] and [job NAME] -------------------------------------------- */

static int apply_nice(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        cw_job *job = obj;
        int r = cfg_parse_int_range(L, kv, &job->nice);

        if (r == 0)
                job->nice_set = true;
        return r;
}

static int apply_args(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_list(
                L, kv, cfg_is_identifier,
                "param names (letters, digits, '_' and '-', starting with a letter or '_')",
                (cw_strv *)cfg_field(obj, kv->key), false);
}

static int apply_after(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_list(L, kv, cw_jobspec_name_valid, "job names", &((cw_job *)obj)->after,
                              false);
}

static int apply_hosts(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_list(L, kv, cfg_is_node_name,
                              "node names (letters, digits, '_', '.' and '-')",
                              &((cw_job *)obj)->hosts, false);
}

static int apply_secret_env(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_list(L, kv, cfg_is_env_key, "environment variable names",
                              &((cw_job *)obj)->secret_env, true);
}

static int apply_lock_name(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(
                L, obj, kv, cw_jobspec_name_valid,
                "a lock name (like a job name: letters, digits, '_', '.' and '-')");
}

static int apply_function(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(
                L, obj, kv, cw_jobspec_name_valid,
                "a function name (like a job name: letters, digits, '_', '.' and '-')");
}

static int apply_run_as(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(L, obj, kv, cfg_is_user_name,
                                        "a user name (like www-data, at most 32 bytes)");
}

/* SCHEME://HOST... (one of the two schemes) with no spaces, at most
 * PING_MAX bytes; the only placeholder is {event} when `event` is set.
 * The key's name starts every message. */
static int check_url(cfg_loader *L, const cfg_kv *kv, const char *s1, const char *s2, bool event)
{
        const char *v = kv->text, *host, *name = kv->key->name;
        char q[CFG_QUOTE_MAX];

        if (strncasecmp(v, s1, strlen(s1)) == 0)
                host = v + strlen(s1);
        else if (strncasecmp(v, s2, strlen(s2)) == 0)
                host = v + strlen(s2);
        else
                return cw_config_error(L, kv->line, "%s: expected an %s or %s URL, got %s", name,
                                       s1, s2, cw_config_quote(v, q));
        if (!host[0] || strchr("/?#:", host[0]))
                return cw_config_error(L, kv->line, "%s: the URL has no host name, got %s", name,
                                       cw_config_quote(v, q));
        if (strlen(v) > PING_MAX)
                return cw_config_error(L, kv->line, "%s: URL is too long (at most %d bytes)", name,
                                       PING_MAX);
        if (cfg_has_control_or_space(v))
                return cw_config_error(L, kv->line,
                                       "%s: spaces are not allowed in a URL (write %%20), got %s",
                                       name, cw_config_quote(v, q));
        for (const char *p = v; *p; p++) {
                if (event && *p == '{' && strncmp(p, "{event}", 7) == 0) {
                        p += 6;
                        continue;
                }
                if (event && (*p == '{' || *p == '}'))
                        return cw_config_error(L, kv->line,
                                               "%s: the only placeholder is {event}, got %s", name,
                                               cw_config_quote(v, q));
        }
        return 0;
}

/* http(s)://HOST... with no spaces; the only placeholder is {event}. */
static int apply_ping(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        int r = check_url(L, kv, "http://", "https://", true);

        return r < 0 ? r : cfg_set_string(L, &((cw_job *)obj)->ping, kv->text);
}

/* Keys the file format reserves but cronwarden does not act on: a bad
 * value is reported as such, a good one is refused all the same, so a
 * config never seems to ask for something that does not happen. */
static int apply_unsupported(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        static const struct {
                const char *key, *what;
        } why[] = {
                {"jitter", "fires are never delayed"},
                {"priority", "starts are not ordered"},
                {"max_running", "runs are not capped"},
                {"max_load", "starts are not deferred by the load average"},
        };
        const char *name = kv->key->name, *what = "";
        int r;

        switch (kv->key->id) {
        case CFG_K_MAX_LOAD:
                r = apply_max_load(L, obj, kv);
                break;
        case CFG_K_JITTER:
                r = cfg_apply_duration(L, obj, kv);
                break;
        default:
                r = cfg_apply_int(L, obj, kv);
                break;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < CW_ARRAY_SIZE(why); i++)
                if (strcmp(why[i].key, name) == 0)
                        what = why[i].what;
        return cw_config_error(L, kv->line, "%s: %s is not supported yet (%s): remove the line",
                               name, name, what);
}

static int apply_webhook(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        int r = check_url(L, kv, "http://", "https://", false);

        return r < 0 ? r : cfg_set_string(L, &((cw_job *)obj)->webhook, kv->text);
}

/* https://KEY@HOST[/PREFIX]/PROJECT, as Sentry shows it: a key, then a
 * numeric project id as the last path segment. */
static int apply_sentry_dsn(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        const char *v = kv->text, *at, *slash;
        char q[CFG_QUOTE_MAX];
        int r = check_url(L, kv, "http://", "https://", false);

        if (r < 0)
                return r;
        at = strchr(v, '@');
        slash = at ? strrchr(at, '/') : NULL;
        if (!at || at[-1] == '/' || !slash || !slash[1] ||
            strspn(slash + 1, "0123456789") != strlen(slash + 1))
                return cw_config_error(
                        L, kv->line,
                        "sentry_dsn: expected https://KEY@HOST/PROJECT (the project's DSN), got %s",
                        cw_config_quote(v, q));
        return cfg_set_string(L, &((cw_job *)obj)->sentry_dsn, v);
}

static int apply_webhook_format(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        char q[CFG_QUOTE_MAX];

        if (strcmp(kv->text, "json") != 0 && strcmp(kv->text, "slack") != 0)
                return cw_config_error(L, kv->line,
                                       "webhook_format: expected json or slack, got %s",
                                       cw_config_quote(kv->text, q));
        ((cw_job *)obj)->webhook_slack = strcmp(kv->text, "slack") == 0;
        return 0;
}

/* LOCAL@DOMAIN: printable, no blanks, no angle brackets, quotes or commas,
 * one '@' with text on both sides, at most 254 bytes (RFC 5321). */
static bool is_address(const char *s)
{
        const char *at = strchr(s, '@');

        if (!at || at == s || !at[1] || strchr(at + 1, '@') || strlen(s) > 254)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
                    strchr("<>\"(),;:\\[]", *p))
                        return false;
        return true;
}

static int apply_email(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_list(L, kv, is_address, "email addresses (like ops@example.com)",
                              &((cw_job *)obj)->email, false);
}

static int apply_smtp_url(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        int r = check_url(L, kv, "smtp://", "smtps://", false);

        return r < 0 ? r : cfg_set_string(L, &((cw_config *)obj)->smtp_url, kv->text);
}

static int apply_smtp_from(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(L, obj, kv, is_address,
                                        "an email address (like cron@example.com)");
}

static bool is_smtp_user(const char *s)
{
        return s[0] && strlen(s) <= 255 && !cfg_has_control(s);
}

static int apply_smtp_user(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        return cfg_apply_checked_string(L, obj, kv, is_smtp_user,
                                        "a user name (at most 255 bytes)");
}

static int apply_timezone(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        const cw_tz *tz;
        int r = cw_config_zone_get(L, kv->text, kv->key->name, kv->line, &tz);

        if (r < 0)
                return r;
        ((cw_job *)obj)->tz = tz;
        return 0;
}

/* KEY=VALUE per line. A key given twice in one section is an error; a job
 * may replace a [defaults] entry, which keeps its position. */
static int apply_env(cfg_loader *L, void *obj, const cfg_kv *kv)
{
        cfg_env_seen *seen = cw_config_env_seen(L);
        cw_job *job = obj;
        char q[CFG_QUOTE_MAX];
        int r, ret = 0;

        /* The job's env is built in seen->entries (config_jobs.c stores it into
         * the job after the section), starting from what it inherited. */
        if (!seen->loaded) {
                seen->n_entries = 0;
                for (size_t i = 0; i < job->env.n; i++) {
                        if (cw_array_reserve((void **)&seen->entries, &seen->cap_entries,
                                             seen->n_entries + 1, sizeof(char *), 8) < 0)
                                return -ENOMEM;
                        seen->entries[seen->n_entries++] = job->env.v[i];
                }
                seen->loaded = true;
        }
        for (size_t p = 0; p < kv->n_parts; p++) {
                const cfg_part part_ = cfg_kv_part(kv, p), *part = &part_;
                const char *eq = strchr(part->text, '=');
                _cleanup_free_ char *key = NULL;
                long prev;
                size_t klen;
                char *entry;
                int *nl;
                bool replaced = false;

                if (!eq || eq == part->text) {
                        ret = cw_config_error(L, part->line, "env: expected KEY=VALUE, got %s",
                                              cw_config_quote(part->text, q));
                        continue;
                }
                klen = (size_t)(eq - part->text);
                key = strndup(part->text, klen);
                if (!key)
                        return -ENOMEM;
                if (!cfg_is_env_key(key)) {
                        ret = cw_config_error(
                                L, part->line,
                                "env: expected a variable name (letters, digits and '_', not starting with a digit), got %s",
                                cw_config_quote(key, q));
                        continue;
                }
                if (strncmp(key, "CRONWARDEN_", 11) == 0) {
                        ret = cw_config_error(
                                L, part->line,
                                "env: names starting with CRONWARDEN_ are set by cronwarden itself, got '%s'",
                                key);
                        continue;
                }
                if (cfg_has_control(eq + 1)) {
                        ret = cw_config_error(L, part->line,
                                              "env: control characters are not allowed in '%s'",
                                              key);
                        continue;
                }
                prev = cw_strv_find(&seen->keys, key);
                if (prev >= 0) {
                        ret = cw_config_error(L, part->line, "env: '%s' is already set on line %d",
                                              key, seen->lines[prev]);
                        continue;
                }
                nl = realloc(seen->lines, (seen->keys.n + 1) * sizeof(int));
                if (!nl)
                        return -ENOMEM;
                seen->lines = nl;
                r = cw_strv_push(&seen->keys, key);
                if (r < 0)
                        return r;
                seen->lines[seen->keys.n - 1] = part->line;

                entry = cw_config_strdup(L, part->text);
                if (!entry)
                        return -ENOMEM;
                for (size_t i = 0; i < seen->n_entries; i++)
                        if (strncmp(seen->entries[i], part->text, klen + 1) == 0) {
                                seen->entries[i] = entry;
                                replaced = true;
                                break;
                        }
                if (!replaced) {
                        if (cw_array_reserve((void **)&seen->entries, &seen->cap_entries,
                                             seen->n_entries + 1, sizeof(char *), 8) < 0)
                                return -ENOMEM;
                        seen->entries[seen->n_entries++] = entry;
                }
        }
        return ret;
}

/* ---- the table ------------------------------------------------------------- */

#define S(k) (1u << CFG_SEC_##k)
#define JOBS (S(JOB) | S(DEFAULTS))
#define G(f) offsetof(cw_config, f)
#define J(f) offsetof(cw_job, f)
#define KEY(id_, name_, sec_, flags_, apply_, off_, min_, max_)                                    \
        [CFG_K_##id_] = {CFG_K_##id_, name_, sec_, flags_, apply_, off_, min_, max_}

static const cfg_key keys[CFG_K__MAX] = {
        KEY(DATA_DIR, "data_dir", S(CRONWARDEN), 0, cfg_apply_path, G(data_dir), 0, 0),
        KEY(STORE, "store", S(CRONWARDEN), 0, apply_store, G(store), 0, 0),
        KEY(GLOBAL_TIMEZONE, "timezone", S(CRONWARDEN), 0, apply_global_timezone, 0, 0, 0),
        KEY(NODE, "node", S(CRONWARDEN), 0, apply_node, G(node), 0, 0),
        KEY(MAX_OUTPUT, "max_output", S(CRONWARDEN), 0, cfg_apply_size, G(max_output), 1024,
            1024LL * 1024 * 1024),
        KEY(KEEP_HISTORY, "keep_history", S(CRONWARDEN), 0, cfg_apply_duration, G(keep_history), 1,
            CW_DURATION_MAX),
        KEY(MAX_RUNNING, "max_running", S(CRONWARDEN), 0, apply_unsupported, G(max_running), 0,
            MAX_RUNNING_MAX),
        KEY(MAX_LOAD, "max_load", S(CRONWARDEN), 0, apply_unsupported, 0, 0, 0),
        KEY(DEAD_TIMEOUT, "dead_timeout", S(CRONWARDEN), 0, cfg_apply_duration, G(dead_timeout), 1,
            86400),

        KEY(LISTEN, "listen", S(ADMIN), 0, apply_listen, G(admin_listen), 0, 0),
        KEY(USER, "user", S(ADMIN), 0, apply_user, G(admin_user), 0, 0),
        KEY(PASSWORD_HASH, "password_hash", S(ADMIN), 0, apply_password_hash,
            G(admin_password_hash), 0, 0),
        KEY(ALLOW_UI_COMMANDS, "allow_ui_commands", S(ADMIN), 0, cfg_apply_bool,
            G(allow_ui_commands), 0, 0),
        KEY(API_TOKEN, "api_token", S(ADMIN), CFG_REPEATABLE, apply_api_token, G(admin_api_tokens),
            0, 0),
        KEY(TRUSTED_PROXIES, "trusted_proxies", S(ADMIN), 0, apply_trusted_proxies,
            G(admin_trusted_proxies), 0, 0),
        KEY(PUBLIC_URL, "public_url", S(ADMIN), 0, apply_public_url, G(admin_public_url), 0, 0),
        KEY(COOKIE_SECURE, "cookie_secure", S(ADMIN), 0, apply_cookie_secure, 0, 0, 0),
        KEY(METRICS_JOB_HISTOGRAMS, "metrics_job_histograms", S(ADMIN), 0, cfg_apply_bool,
            G(metrics_job_histograms), 0, 0),

        KEY(DESCRIPTION, "description", JOBS, CFG_JOB_ONLY, cfg_apply_text, J(description), 0, 0),
        KEY(COMMAND, "command", JOBS, CFG_JOB_ONLY, cfg_apply_command, J(command), 0, 0),
        KEY(FUNCTION, "function", JOBS, CFG_JOB_ONLY, apply_function, J(function), 0, 0),
        KEY(SHELL, "shell", JOBS, 0, cfg_apply_shell, 0, 0, 0),
        KEY(ARGS, "args", JOBS, CFG_JOB_ONLY, apply_args, J(args), 0, 0),
        KEY(OPTIONS, "options", JOBS, CFG_JOB_ONLY, apply_args, J(options), 0, 0),
        KEY(SCHEDULE, "schedule", JOBS, CFG_JOB_ONLY | CFG_REPEATABLE | CFG_DEFERRED, NULL, 0, 0,
            0),
        KEY(LOCK, "lock", JOBS, 0, cfg_apply_lock, 0, 0, 0),
        KEY(LOCK_NAME, "lock_name", JOBS, CFG_JOB_ONLY, apply_lock_name, J(lock_name), 0, 0),
        KEY(NICE, "nice", JOBS, 0, apply_nice, 0, -20, 19),
        KEY(IONICE, "ionice", JOBS, 0, cfg_apply_ionice, 0, 0, 0),
        KEY(TIMEOUT, "timeout", JOBS, 0, cfg_apply_duration, J(timeout), 0, CW_DURATION_MAX),
        KEY(KILL_GRACE, "kill_grace", JOBS, 0, cfg_apply_duration, J(kill_grace), 0,
            CW_DURATION_MAX),
        KEY(CONCURRENCY, "concurrency", JOBS, 0, cfg_apply_concurrency, 0, 0, 0),
        KEY(CATCH_UP, "catch_up", JOBS, 0, cfg_apply_catch_up, 0, 0, 0),
        KEY(RETRIES, "retries", JOBS, 0, cfg_apply_int, J(retries), 0, 100),
        KEY(RETRY_DELAY, "retry_delay", JOBS, 0, cfg_apply_duration, J(retry_delay), 1,
            CW_DURATION_MAX),
        KEY(CAN_RESUME, "can_resume", JOBS, 0, cfg_apply_can_resume, 0, 0, 0),
        KEY(AFTER, "after", JOBS, CFG_JOB_ONLY, apply_after, 0, 0, 0),
        KEY(HOSTS, "hosts", JOBS, 0, apply_hosts, 0, 0, 0),
        KEY(PING, "ping", JOBS, 0, apply_ping, 0, 0, 0),
        KEY(NOTIFY_AFTER_FAILURES, "notify_after_failures", JOBS, 0, cfg_apply_int,
            J(notify_after_failures), 1, FAILURES_MAX),
        KEY(RUN_AS, "run_as", JOBS, 0, apply_run_as, J(run_as), 0, 0),
        KEY(WORKDIR, "workdir", JOBS, 0, cfg_apply_path, J(workdir), 0, 0),
        KEY(ENV, "env", JOBS, CFG_REPEATABLE, apply_env, 0, 0, 0),
        KEY(SECRET_ENV, "secret_env", JOBS, 0, apply_secret_env, 0, 0, 0),
        KEY(ENV_FILE, "env_file", JOBS, 0, cfg_apply_path, J(env_file), 0, 0),
        KEY(TIMEZONE, "timezone", JOBS, 0, apply_timezone, 0, 0, 0),
        KEY(ENABLED, "enabled", JOBS, 0, cfg_apply_enabled, 0, 0, 0),
        KEY(JITTER, "jitter", JOBS, 0, apply_unsupported, J(jitter), 0, CW_DURATION_MAX),
        KEY(START_DEADLINE, "start_deadline", JOBS, 0, cfg_apply_duration, J(start_deadline), 0,
            CW_DURATION_MAX),
        KEY(MAX_RUNTIME, "max_runtime", JOBS, 0, cfg_apply_duration, J(max_runtime), 0,
            CW_DURATION_MAX),
        KEY(MIN_RUNTIME, "min_runtime", JOBS, 0, cfg_apply_duration, J(min_runtime), 0,
            CW_DURATION_MAX),
        KEY(DISABLE_AFTER_FAILURES, "disable_after_failures", JOBS, 0, cfg_apply_int,
            J(disable_after_failures), 0, FAILURES_MAX),
        KEY(PRIORITY, "priority", JOBS, 0, apply_unsupported, J(priority), -1000, 1000),
        KEY(LIMIT_NOFILE, "limit_nofile", JOBS, 0, cfg_apply_u64, J(limit_nofile), 1,
            LIMIT_NOFILE_MAX),
        KEY(LIMIT_MEMORY, "limit_memory", JOBS, 0, cfg_apply_size, J(limit_memory),
            LIMIT_MEMORY_MIN, (long long)CW_SIZE_MAX),
        KEY(LIMIT_CPU, "limit_cpu", JOBS, 0, cfg_apply_duration, J(limit_cpu), 1, CW_DURATION_MAX),
        KEY(WEBHOOK, "webhook", JOBS, 0, apply_webhook, 0, 0, 0),
        KEY(WEBHOOK_FORMAT, "webhook_format", JOBS, 0, apply_webhook_format, 0, 0, 0),
        KEY(EMAIL, "email", JOBS, 0, apply_email, 0, 0, 0),
        KEY(SENTRY_DSN, "sentry_dsn", JOBS, 0, apply_sentry_dsn, 0, 0, 0),
        KEY(DURING_MAINTENANCE, "during_maintenance", JOBS, 0, cfg_apply_during_maintenance, 0, 0,
            0),

        KEY(SMTP_URL, "url", S(SMTP), 0, apply_smtp_url, 0, 0, 0),
        KEY(SMTP_FROM, "from", S(SMTP), 0, apply_smtp_from, G(smtp_from), 0, 0),
        KEY(SMTP_USER, "user", S(SMTP), 0, apply_smtp_user, G(smtp_user), 0, 0),
        KEY(SMTP_PASSWORD_FILE, "password_file", S(SMTP), 0, cfg_apply_path, G(smtp_password_file),
            0, 0),
        KEY(SMTP_SUBJECT_PREFIX, "subject_prefix", S(SMTP), 0, cfg_apply_text,
            G(smtp_subject_prefix), 0, 0),

        KEY(RUN, "run", S(SCHEDULE), CFG_REPEATABLE | CFG_DEFERRED, NULL, 0, 0, 0),

        /* Read by config_maint.c once the jobs are known. */
        KEY(M_SCHEDULE, "schedule", S(MAINTENANCE), CFG_DEFERRED, NULL, 0, 0, 0),
        KEY(M_DURATION, "duration", S(MAINTENANCE), CFG_DEFERRED, NULL, 0, 0, 0),
        KEY(M_START, "start", S(MAINTENANCE), CFG_DEFERRED, NULL, 0, 0, 0),
        KEY(M_END, "end", S(MAINTENANCE), CFG_DEFERRED, NULL, 0, 0, 0),
        KEY(M_TIMEZONE, "timezone", S(MAINTENANCE), CFG_DEFERRED, NULL, 0, 0, 0),
        KEY(M_JOBS, "jobs", S(MAINTENANCE), CFG_DEFERRED, NULL, 0, 0, 0),
};

const cfg_key *cw_config_key_lookup(const char *name, cfg_section_kind kind)
{
        for (size_t i = 0; i < CW_ARRAY_SIZE(keys); i++)
                if ((keys[i].sections & (1u << kind)) && strcmp(keys[i].name, name) == 0)
                        return &keys[i];
        return NULL;
}

size_t cw_config_edit_distance(const char *a, const char *b, size_t cap)
{
        /* Optimal string alignment distance (a swap of neighbours counts
         * once: "retires" is one edit from "retries"), over short key
         * names only; longer inputs are simply "far". */
        enum { N = 40 };
        size_t d[N + 1][N + 1];
        size_t la = strlen(a), lb = strlen(b);

        if (la > N || lb > N)
                return cap + 1;
        if ((la > lb ? la - lb : lb - la) > cap)
                return cap + 1;
        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t v = d[i - 1][j] + 1;

                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (d[i - 1][j - 1] + cost < v)
                                v = d[i - 1][j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb] > cap ? cap + 1 : d[la][lb];
}

static const char *section_title(unsigned sections)
{
        if (sections & S(CRONWARDEN))
                return "[cronwarden]";
        if (sections & S(ADMIN))
                return "[admin]";
        if (sections & S(SCHEDULE))
                return "[schedule]";
        if (sections & S(SMTP))
                return "[smtp]";
        if (sections & S(MAINTENANCE))
                return "a [maintenance NAME] section";
        return "a [job NAME] section";
}

void cw_config_key_hint(const char *name, cfg_section_kind kind, char *buf, size_t size)
{
        size_t len = strlen(name), cap = len >= 5 ? 2 : len >= 3 ? 1 : 0, best = cap + 1;
        const cfg_key *match = NULL;

        buf[0] = '\0';
        for (size_t i = 0; i < CW_ARRAY_SIZE(keys); i++) {
                size_t d;

                if (!(keys[i].sections & (1u << kind)))
                        continue;
                if (kind == CFG_SEC_DEFAULTS && (keys[i].flags & CFG_JOB_ONLY))
                        continue;
                d = cw_config_edit_distance(name, keys[i].name, cap);
                if (d < best) {
                        best = d;
                        match = &keys[i];
                }
        }
        if (match) {
                snprintf(buf, size, " (did you mean '%s'?)", match->name);
                return;
        }
        for (size_t i = 0; i < CW_ARRAY_SIZE(keys); i++)
                if (strcmp(keys[i].name, name) == 0) {
                        snprintf(buf, size, " (it belongs in %s)", section_title(keys[i].sections));
                        return;
                }
}
