/* config_loader.c - the state of one load (config_internal.h, cfg_loader):
 * its arena helpers, the diagnostics it collects and the paths and zones
 * it resolves.
 *
 * Problems are collected, not fatal: up to CFG_MAX_ERRORS messages,
 * sorted by line, each "FILE:LINE: ...". A loaded config owns its zones:
 * one cw_tz per distinct zone name, loaded once. */
#include "config_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFG_MAX_ERRORS 100

/* Frees a section's values once pass two no longer needs them. */
void cfg_section_release_values(cfg_section *s)
{
        free(s->kvs);
        s->kvs = NULL;
        s->n_kvs = 0;
}

void cfg_loader_release(cfg_loader *L)
{
        for (size_t i = 0; i < L->n_sections; i++)
                cfg_section_release_values(&L->sections[i]);
        free(L->sections);
        free(L->open_kvs);
        free(L->open_parts);
        free(L->open_text);
        cfg_map_release(&L->section_names);
        cfg_map_release(&L->spec_set);
        for (size_t i = 0; i < L->n_msgs; i++)
                free(L->msgs[i].text);
        free(L->msgs);
        free(L->long_name);
        cw_strv_release(&L->env_seen.keys);
        free(L->env_seen.lines);
        free(L->env_seen.entries);
        free(L->after_line);
        cw_config_free(L->cfg ? &L->cfg->pub : NULL);
}

cfg_env_seen *cw_config_env_seen(cfg_loader *L)
{
        return &L->env_seen;
}

void cfg_env_seen_reset(cfg_loader *L)
{
        cw_strv_release(&L->env_seen.keys);
        free(L->env_seen.lines);
        L->env_seen.lines = NULL;
        L->env_seen.n_entries = 0;
        L->env_seen.loaded = false;
}

cw_arena *cw_config_arena(cfg_loader *L)
{
        return &L->cfg->arena;
}

char *cw_config_strdup(cfg_loader *L, const char *s)
{
        return cw_arena_strdup(&L->cfg->arena, s);
}

int cw_config_strv_freeze(cfg_loader *L, char *const *v, size_t n, bool copy, cw_strv *ret)
{
        char **a;

        if (n == 0) {
                *ret = (cw_strv){0};
                return 0;
        }
        a = cw_arena_calloc(&L->cfg->arena, n + 1, sizeof(char *), alignof(char *));
        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                a[i] = copy ? cw_config_strdup(L, v[i]) : v[i];
                if (!a[i])
                        return -ENOMEM;
        }
        *ret = (cw_strv){a, n};
        return 0;
}

/* ---- diagnostics -------------------------------------------------------------- */

static void add_msg(cfg_loader *L, int line, char *text)
{
        cfg_msg *nm;

        if (!text) {
                L->enomem = true;
                return;
        }
        nm = realloc(L->msgs, (L->n_msgs + 1) * sizeof(cfg_msg));
        if (!nm) {
                free(text);
                L->enomem = true;
                return;
        }
        L->msgs = nm;
        L->msgs[L->n_msgs++] = (cfg_msg){line, L->seq++, text};
}

static char *format_msg(cfg_loader *L, int line, const char *fmt, va_list ap) _printf_(3, 0);
static char *format_msg(cfg_loader *L, int line, const char *fmt, va_list ap)
{
        char *body = NULL, *text = NULL;

        if (vasprintf(&body, fmt, ap) < 0)
                return NULL;
        if ((line > 0 ? asprintf(&text, "%s:%d: %s", L->file, line, body)
                      : asprintf(&text, "%s: %s", L->file, body)) < 0)
                text = NULL;
        free(body);
        return text;
}

int cw_config_error(cfg_loader *L, int line, const char *fmt, ...)
{
        va_list ap;

        if (L->n_msgs >= CFG_MAX_ERRORS) {
                L->n_dropped++;
                return -EINVAL;
        }
        va_start(ap, fmt);
        add_msg(L, line, format_msg(L, line, fmt, ap));
        va_end(ap);
        return -EINVAL;
}

int cw_config_error_caret(cfg_loader *L, int line, const cw_error *e, const char *text,
                          const char *fmt, ...)
{
        _cleanup_free_ char *head = NULL, *caret = NULL;
        size_t size = 2 * strlen(text) + (e && e->len > 0 ? (size_t)e->len : 1) + 32;
        char *full = NULL;
        va_list ap;

        if (L->n_msgs >= CFG_MAX_ERRORS) {
                L->n_dropped++;
                return -EINVAL;
        }
        va_start(ap, fmt);
        head = format_msg(L, line, fmt, ap);
        va_end(ap);
        caret = malloc(size);
        if (!head || !caret) {
                L->enomem = true;
                return -EINVAL;
        }
        cw_error_caret(e, text, "    ", caret, size);
        if (asprintf(&full, "%s\n%s", head, caret) < 0)
                full = NULL;
        add_msg(L, line, full);
        return -EINVAL;
}

const char *cw_config_quote(const char *s, char buf[static CFG_QUOTE_MAX])
{
        size_t n = 0, i;

        buf[n++] = '\'';
        for (i = 0; s[i] && n + 8 < CFG_QUOTE_MAX; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c < 0x20 || c == 0x7f)
                        n += (size_t)snprintf(buf + n, CFG_QUOTE_MAX - n, "\\x%02x", c);
                else
                        buf[n++] = (char)c;
        }
        if (s[i]) {
                /* Do not leave half a UTF-8 sequence before the ellipsis. */
                while (n > 1 && ((unsigned char)buf[n - 1] & 0xc0) == 0x80)
                        n--;
                if (n > 1 && (unsigned char)buf[n - 1] >= 0xc0)
                        n--;
                memcpy(buf + n, "...", 3);
                n += 3;
        }
        buf[n++] = '\'';
        buf[n] = '\0';
        return buf;
}

static int msg_cmp(const void *a, const void *b)
{
        const cfg_msg *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Moves the messages, sorted by line, to the end of errs. */
int cfg_flush_errors(cfg_loader *L, cw_config_errors *errs)
{
        char **nm;

        if (L->n_dropped > 0) {
                char *text = NULL;

                if (asprintf(&text, "%s: %zu more problem%s not shown", L->file, L->n_dropped,
                             L->n_dropped == 1 ? "" : "s") < 0)
                        text = NULL;
                add_msg(L, INT_MAX, text);
        }
        if (L->n_msgs == 0)
                return 0;
        qsort(L->msgs, L->n_msgs, sizeof(cfg_msg), msg_cmp);
        if (!errs)
                return 0;
        nm = realloc(errs->msgs, (errs->n + L->n_msgs) * sizeof(char *));
        if (!nm)
                return -ENOMEM;
        errs->msgs = nm;
        for (size_t i = 0; i < L->n_msgs; i++) {
                errs->msgs[errs->n++] = L->msgs[i].text;
                L->msgs[i].text = NULL;
        }
        return 0;
}

int cfg_errs_add(cw_config_errors *errs, char *text)
{
        char **nm;

        if (!text)
                return -ENOMEM;
        if (!errs) {
                free(text);
                return 0;
        }
        nm = realloc(errs->msgs, (errs->n + 1) * sizeof(char *));
        if (!nm) {
                free(text);
                return -ENOMEM;
        }
        errs->msgs = nm;
        errs->msgs[errs->n++] = text;
        return 0;
}

/* ---- paths and zones -------------------------------------------------------------- */

/* Joins base and rel ('/'-separated) and drops "." components and
 * repeated slashes. ".." is kept as written: resolving it lexically could
 * name a different directory when symlinks are involved. */
static char *path_normalize(const char *base, const char *rel)
{
        size_t cap = (base ? strlen(base) : 0) + strlen(rel) + 3, n = 0;
        char *out = malloc(cap);
        const char *parts[2] = {base, rel};

        if (!out)
                return NULL;
        for (size_t k = 0; k < 2; k++) {
                const char *p = parts[k];

                if (!p)
                        continue;
                while (*p) {
                        const char *e;
                        size_t len;

                        while (*p == '/')
                                p++;
                        e = strchrnul(p, '/');
                        len = (size_t)(e - p);
                        if (len > 0 && !(len == 1 && p[0] == '.')) {
                                out[n++] = '/';
                                memcpy(out + n, p, len);
                                n += len;
                        }
                        p = e;
                }
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = '\0';
        return out;
}

char *cw_config_path_absolute(cfg_loader *L, const char *path)
{
        _cleanup_free_ char *p = path_normalize(path[0] == '/' ? NULL : L->cfg->pub.dir, path);

        return p ? cw_config_strdup(L, p) : NULL;
}

/* The absolute directory of the file called name, in the arena. */
int cfg_dir_of(cfg_loader *L, const char *name, char **ret)
{
        const char *slash = strrchr(name, '/');
        _cleanup_free_ char *base = NULL, *cwd = NULL, *dir = NULL;

        base = slash ? strndup(name, (size_t)(slash - name)) : strdup(".");
        if (!base)
                return -ENOMEM;
        if (name[0] == '/') {
                dir = path_normalize(NULL, slash == name ? "/" : base);
        } else {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
                dir = path_normalize(cwd, base);
        }
        if (!dir || !(*ret = cw_config_strdup(L, dir)))
                return -ENOMEM;
        return 0;
}

int cw_config_zone_get(cfg_loader *L, const char *name, const char *key, int line,
                       const cw_tz **ret)
{
        cfg_priv *p = L->cfg;
        cfg_zone *z = NULL, *nz;
        char q[CFG_QUOTE_MAX];

        for (size_t i = 0; i < p->n_zones; i++)
                if (strcmp(p->zones[i].name, name) == 0) {
                        z = &p->zones[i];
                        break;
                }
        if (!z) {
                nz = realloc(p->zones, (p->n_zones + 1) * sizeof(cfg_zone));
                if (!nz)
                        return -ENOMEM;
                p->zones = nz;
                z = &p->zones[p->n_zones];
                *z = (cfg_zone){0};
                z->name = strdup(name);
                if (!z->name)
                        return -ENOMEM;
                cw_error_clear(&z->err);
                z->r = name[0] ? cw_tz_load(name, L->zoneinfo_dir, &z->tz, &z->err) : -EINVAL;
                if (z->r == -ENOMEM) {
                        free(z->name);
                        return -ENOMEM;
                }
                p->n_zones++;
        }
        if (z->tz) {
                *ret = z->tz;
                return 0;
        }
        if (z->r == -ENOENT)
                return cw_config_error(
                        L, line,
                        "%s: unknown time zone %s (expected a name from %s, like Europe/Warsaw or UTC)",
                        key, cw_config_quote(name, q),
                        L->zoneinfo_dir ? L->zoneinfo_dir : CW_TZ_DIR);
        if (!name[0])
                return cw_config_error(
                        L, line, "%s: expected a time zone name like Europe/Warsaw or UTC, got ''",
                        key);
        return cw_config_error(L, line, "%s: bad time zone %s: %s", key, cw_config_quote(name, q),
                               z->err.msg);
}

/* Adds an already loaded zone (the system's) to the cache. */
int cfg_zone_adopt(cfg_loader *L, cw_tz *tz)
{
        cfg_priv *p = L->cfg;
        cfg_zone *nz = realloc(p->zones, (p->n_zones + 1) * sizeof(cfg_zone));

        if (!nz) {
                cw_tz_free(tz);
                return -ENOMEM;
        }
        p->zones = nz;
        nz[p->n_zones] = (cfg_zone){.name = strdup(cw_tz_name(tz)), .tz = tz};
        if (!nz[p->n_zones].name) {
                cw_tz_free(tz);
                return -ENOMEM;
        }
        p->n_zones++;
        return 0;
}
