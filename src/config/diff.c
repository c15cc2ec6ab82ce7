/* diff.c - two config texts compared key by key (see diff.h).
 *
 * Each text is split into sections (title with its blanks collapsed), each
 * section into keys in the order first seen, each key's values (repeats
 * and continuation lines) kept one a line. Sections and keys match by
 * name; a key differs when its lines differ. The parse is deliberately
 * simpler than the loader's: it never fails, so a text that does not load
 * still shows what changed. */
#include "diff.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "base/hash.h"
#include "base/iso8601.h"
#include "base/macro.h"
#include "base/strv.h"
#include "timespec/timespec.h"

typedef struct dkey {
        char *name;
        cw_buf value; /* lines joined by '\n' */
} dkey;

typedef struct dsec {
        char *title;
        dkey *keys;
        size_t n_keys, cap_keys;
        bool matched;
} dsec;

typedef struct dtext {
        dsec *secs;
        size_t n, cap;
        cw_strv secrets; /* names listed in any secret_env */
} dtext;

static void dtext_release(dtext *t)
{
        for (size_t i = 0; i < t->n; i++) {
                for (size_t k = 0; k < t->secs[i].n_keys; k++) {
                        free(t->secs[i].keys[k].name);
                        cw_buf_release(&t->secs[i].keys[k].value);
                }
                free(t->secs[i].keys);
                free(t->secs[i].title);
        }
        free(t->secs);
        cw_strv_release(&t->secrets);
}

/* s..e with blanks trimmed at both ends and runs of blanks made one space. */
static char *squeeze(const char *s, const char *e)
{
        char *out = malloc((size_t)(e - s) + 1), *o = out;

        if (!out)
                return NULL;
        while (s < e && isspace((unsigned char)*s))
                s++;
        while (e > s && isspace((unsigned char)e[-1]))
                e--;
        for (; s < e; s++) {
                if (isspace((unsigned char)*s)) {
                        if (o > out && o[-1] != ' ')
                                *o++ = ' ';
                } else {
                        *o++ = *s;
                }
        }
        *o = '\0';
        return out;
}

static dsec *section_get(dtext *t, const char *title, bool create)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp(t->secs[i].title, title) == 0)
                        return &t->secs[i];
        if (!create || cw_array_reserve((void **)&t->secs, &t->cap, t->n + 1, sizeof(dsec), 8) < 0)
                return NULL;
        t->secs[t->n] = (dsec){.title = strdup(title)};
        if (!t->secs[t->n].title)
                return NULL;
        return &t->secs[t->n++];
}

static dkey *key_get(dsec *s, const char *name, bool create)
{
        for (size_t i = 0; i < s->n_keys; i++)
                if (strcmp(s->keys[i].name, name) == 0)
                        return &s->keys[i];
        if (!create ||
            cw_array_reserve((void **)&s->keys, &s->cap_keys, s->n_keys + 1, sizeof(dkey), 8) < 0)
                return NULL;
        s->keys[s->n_keys] = (dkey){.name = strdup(name), .value = CW_BUF_INIT(1 << 20)};
        if (!s->keys[s->n_keys].name)
                return NULL;
        return &s->keys[s->n_keys++];
}

/* Where an inline comment starts (';' after a blank), or e. */
static const char *comment_at(const char *s, const char *e)
{
        for (const char *p = s + 1; p < e; p++)
                if (*p == ';' && isspace((unsigned char)p[-1]))
                        return p;
        return e;
}

static int add_line(dkey *k, const char *s, const char *e)
{
        _cleanup_free_ char *v = squeeze(s, comment_at(s, e));

        if (!v)
                return -ENOMEM;
        if (k->value.len)
                cw_buf_putc(&k->value, '\n');
        cw_buf_puts(&k->value, v);
        return cw_buf_error(&k->value) == -ENOMEM ? -ENOMEM : 0;
}

static int add_secrets(dtext *t, const char *v)
{
        const char *p = v;

        while (*p) {
                size_t n = strcspn(p, ", \t\n");
                if (n) {
                        _cleanup_free_ char *name = strndup(p, n);
                        if (!name || cw_strv_push(&t->secrets, name) < 0)
                                return -ENOMEM;
                }
                p += n;
                p += strspn(p, ", \t\n");
        }
        return 0;
}

static int parse(dtext *t, const char *text, size_t len)
{
        const char *p = text, *end = text + strnlen(text, len);
        dsec *sec = NULL;
        dkey *key = NULL;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end, *s = p;
                int r = 0;

                p = nl ? nl + 1 : end;
                if (e > s && e[-1] == '\r')
                        e--;
                if (s < e && isspace((unsigned char)*s) && key) {
                        while (s < e && isspace((unsigned char)*s))
                                s++;
                        if (s < e && *s != ';' && *s != '#')
                                r = add_line(key, s, e);
                } else {
                        key = NULL;
                        while (s < e && isspace((unsigned char)*s))
                                s++;
                        if (s == e || *s == ';' || *s == '#')
                                continue;
                        if (*s == '[') {
                                const char *c = memchr(s, ']', (size_t)(e - s));
                                _cleanup_free_ char *title = squeeze(s + 1, c ? c : e);
                                if (!title || !(sec = section_get(t, title, true)))
                                        return -ENOMEM;
                                continue;
                        }
                        const char *eq = memchr(s, '=', (size_t)(e - s));
                        _cleanup_free_ char *name = squeeze(s, eq ? eq : e);
                        if (!name)
                                return -ENOMEM;
                        if (!sec && !(sec = section_get(t, "", true)))
                                return -ENOMEM;
                        if (!(key = key_get(sec, name, true)))
                                return -ENOMEM;
                        r = add_line(key, eq ? eq + 1 : e, e);
                }
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < t->n; i++) {
                dkey *k = key_get(&t->secs[i], "secret_env", false);
                if (k && k->value.p && add_secrets(t, k->value.p) < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* A value as it may be shown: secrets replaced by "***". */
static char *shown(const char *key, const char *value, const cw_strv *s1, const cw_strv *s2)
{
        cw_buf b = CW_BUF_INIT(1 << 20);
        const char *p = value;

        if (!value)
                return NULL;
        if (strcmp(key, "password_hash") == 0 || strcmp(key, "api_token") == 0)
                return strdup("***");
        if (strcmp(key, "env") != 0)
                return strdup(value);
        while (*p) {
                size_t n = strcspn(p, "\n"), eq = strcspn(p, "=\n");
                _cleanup_free_ char *name = strndup(p, eq);
                const char *bare = name && strncmp(name, "export ", 7) == 0 ? name + 7 : name;

                if (b.len)
                        cw_buf_putc(&b, '\n');
                if (name && eq < n &&
                    (cw_strv_find(s1, bare) >= 0 || cw_strv_find(s2, bare) >= 0)) {
                        cw_buf_add(&b, p, eq);
                        cw_buf_puts(&b, "=***");
                } else {
                        cw_buf_add(&b, p, n);
                }
                p += n;
                if (*p)
                        p++;
        }
        if (cw_buf_error(&b) || !b.p) {
                cw_buf_release(&b);
                return strdup("");
        }
        return cw_buf_steal(&b, NULL);
}

static int item_add(cw_config_diff *d, cw_diff_kind kind, const char *section, const char *key,
                    const char *old_v, const char *new_v, const dtext *a, const dtext *b)
{
        cw_diff_item *it;

        if (cw_array_reserve((void **)&d->items, &d->cap, d->n + 1, sizeof(*it), 8) < 0)
                return -ENOMEM;
        it = &d->items[d->n];
        *it = (cw_diff_item){.kind = kind};
        it->section = strdup(section);
        it->key = key ? strdup(key) : NULL;
        it->old_value = key ? shown(key, old_v, &a->secrets, &b->secrets) : NULL;
        it->new_value = key ? shown(key, new_v, &a->secrets, &b->secrets) : NULL;
        d->n++;
        if (!it->section ||
            (key && (!it->key || (old_v && !it->old_value) || (new_v && !it->new_value))))
                return -ENOMEM;
        return 0;
}

static const char *val(const dkey *k)
{
        return k && k->value.p ? k->value.p : (k ? "" : NULL);
}

static int compare_section(cw_config_diff *d, dsec *o, const dsec *n, const dtext *a,
                           const dtext *b)
{
        int r = 0;

        for (size_t i = 0; i < n->n_keys && r == 0; i++) {
                const dkey *nk = &n->keys[i], *ok = key_get(o, nk->name, false);
                if (!ok)
                        r = item_add(d, CW_DIFF_ADDED, n->title, nk->name, NULL, val(nk), a, b);
                else if (strcmp(val(ok), val(nk)) != 0)
                        r = item_add(d, CW_DIFF_CHANGED, n->title, nk->name, val(ok), val(nk), a,
                                     b);
        }
        for (size_t i = 0; i < o->n_keys && r == 0; i++) {
                dsec *nn = (dsec *)n;
                if (!key_get(nn, o->keys[i].name, false))
                        r = item_add(d, CW_DIFF_REMOVED, o->title, o->keys[i].name,
                                     val(&o->keys[i]), NULL, a, b);
        }
        return r;
}

int cw_config_diff_texts(const char *old_text, size_t old_len, const char *new_text, size_t new_len,
                         cw_config_diff *d)
{
        dtext a = {0}, b = {0};
        int r;

        r = parse(&a, old_text ? old_text : "", old_text ? old_len : 0);
        if (r == 0)
                r = parse(&b, new_text ? new_text : "", new_text ? new_len : 0);
        for (size_t i = 0; r == 0 && i < b.n; i++) {
                dsec *o = section_get(&a, b.secs[i].title, false);
                if (!o) {
                        r = item_add(d, CW_DIFF_ADDED, b.secs[i].title, NULL, NULL, NULL, &a, &b);
                        continue;
                }
                o->matched = true;
                r = compare_section(d, o, &b.secs[i], &a, &b);
        }
        for (size_t i = 0; r == 0 && i < a.n; i++)
                if (!a.secs[i].matched)
                        r = item_add(d, CW_DIFF_REMOVED, a.secs[i].title, NULL, NULL, NULL, &a, &b);
        dtext_release(&a);
        dtext_release(&b);
        if (r < 0)
                cw_config_diff_release(d);
        return r;
}

char *cw_config_text_value(const char *text, size_t len, const char *section, const char *key)
{
        dtext t = {0};
        char *out = NULL;

        if (parse(&t, text, len) == 0) {
                dsec *s = section_get(&t, section, false);
                dkey *k = s ? key_get(s, key, false) : NULL;
                if (k)
                        out = strdup(val(k));
        }
        dtext_release(&t);
        return out;
}

/* The first CW_DIFF_FIRES fires after now of every entry of job `name`. */
static void next_fires(const cw_config *cfg, const char *name, cw_time now,
                       cw_time out[CW_DIFF_FIRES], const cw_tz **ret_tz)
{
        const cw_job *job = cw_config_job(cfg, name);

        memset(out, 0, sizeof(cw_time) * CW_DIFF_FIRES);
        *ret_tz = job ? job->tz : NULL;
        if (!job)
                return;
        for (size_t i = 0; i < cfg->n_entries; i++) {
                const cw_schedule_entry *e = &cfg->entries[i];
                cw_time t = now;
                if (e->job >= cfg->n_jobs || &cfg->jobs[e->job] != job)
                        continue;
                for (int k = 0; k < CW_DIFF_FIRES && cw_timespec_next(e->when, job->tz, t, &t) == 0;
                     k++) {
                        /* Insert t into the sorted list, dropping duplicates. */
                        int at = 0;
                        while (at < CW_DIFF_FIRES && out[at] && out[at] < t)
                                at++;
                        if (at == CW_DIFF_FIRES || out[at] == t)
                                continue;
                        memmove(&out[at + 1], &out[at],
                                sizeof(cw_time) * (size_t)(CW_DIFF_FIRES - at - 1));
                        out[at] = t;
                }
        }
}

void cw_config_diff_add_fires(cw_config_diff *d, const cw_config *old_cfg, const cw_config *new_cfg,
                              cw_time now)
{
        if (!old_cfg || !new_cfg)
                return;
        for (size_t i = 0; i < d->n; i++) {
                cw_diff_item *it = &d->items[i];
                if (it->kind != CW_DIFF_CHANGED || !it->key || strcmp(it->key, "schedule") != 0 ||
                    strncmp(it->section, "job ", 4) != 0)
                        continue;
                next_fires(old_cfg, it->section + 4, now, it->fires_old, &it->tz_old);
                next_fires(new_cfg, it->section + 4, now, it->fires_new, &it->tz_new);
                it->has_fires = true;
        }
}

const char *cw_diff_kind_to_string(cw_diff_kind k)
{
        static const char *const names[] = {
                [CW_DIFF_ADDED] = "added",
                [CW_DIFF_REMOVED] = "removed",
                [CW_DIFF_CHANGED] = "changed",
        };
        return (unsigned)k < CW_ARRAY_SIZE(names) ? names[k] : "?";
}

static void format_fires(cw_buf *out, const cw_time *f, const cw_tz *tz)
{
        char buf[64];

        if (!f[0])
                cw_buf_puts(out, "none");
        for (int k = 0; k < CW_DIFF_FIRES && f[k]; k++) {
                cw_iso8601_format(f[k], tz ? cw_tz_utoff(tz, f[k]) : 0, buf, sizeof(buf));
                cw_buf_printf(out, "%s%s", k ? ", " : "", buf);
        }
}

/* Lines of a that are not in b, each as "~ [SECTION] KEY: MARK LINE";
 * returns how many. */
static int format_lines(cw_buf *out, const cw_diff_item *it, const char *a, const char *b,
                        char mark)
{
        int n_out = 0;

        for (const char *p = a; p && *p;) {
                size_t n = strcspn(p, "\n");
                bool found = false;
                for (const char *q = b; q && *q && !found;) {
                        size_t m = strcspn(q, "\n");
                        found = m == n && memcmp(p, q, n) == 0;
                        q += m + (q[m] ? 1 : 0);
                }
                if (!found) {
                        cw_buf_printf(out, "~ [%s] %s: %c %.*s\n", it->section, it->key, mark,
                                      (int)n, p);
                        n_out++;
                }
                p += n + (p[n] ? 1 : 0);
        }
        return n_out;
}

int cw_config_diff_format(const cw_config_diff *d, cw_buf *out)
{
        for (size_t i = 0; i < d->n; i++) {
                const cw_diff_item *it = &d->items[i];
                const char *o = it->old_value ? it->old_value : "",
                           *n = it->new_value ? it->new_value : "";

                if (!it->key) {
                        cw_buf_printf(out, "%c [%s]\n", it->kind == CW_DIFF_ADDED ? '+' : '-',
                                      it->section);
                        continue;
                }
                if (it->kind == CW_DIFF_ADDED && !strchr(n, '\n'))
                        cw_buf_printf(out, "~ [%s] %s: (unset) -> %s\n", it->section, it->key, n);
                else if (it->kind == CW_DIFF_REMOVED && !strchr(o, '\n'))
                        cw_buf_printf(out, "~ [%s] %s: %s -> (unset)\n", it->section, it->key, o);
                else if (!strchr(o, '\n') && !strchr(n, '\n') && it->kind == CW_DIFF_CHANGED &&
                         strcmp(o, n) != 0)
                        cw_buf_printf(out, "~ [%s] %s: %s -> %s\n", it->section, it->key, o, n);
                else if (format_lines(out, it, o, n, '-') + format_lines(out, it, n, o, '+') == 0)
                        /* Only hidden parts differ. */
                        cw_buf_printf(out, "~ [%s] %s: a secret value changed\n", it->section,
                                      it->key);
                if (it->has_fires) {
                        cw_buf_puts(out, "    next fires before: ");
                        format_fires(out, it->fires_old, it->tz_old);
                        cw_buf_puts(out, "\n    next fires after:  ");
                        format_fires(out, it->fires_new, it->tz_new);
                        cw_buf_putc(out, '\n');
                }
        }
        return cw_buf_error(out);
}

void cw_config_diff_release(cw_config_diff *d)
{
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].section);
                free(d->items[i].key);
                free(d->items[i].old_value);
                free(d->items[i].new_value);
        }
        free(d->items);
        *d = (cw_config_diff)CW_CONFIG_DIFF_INIT;
}

void cw_config_version(const char *text, size_t len, char *buf)
{
        snprintf(buf, CW_CONFIG_VERSION_LEN + 1, "%016llx",
                 (unsigned long long)cw_hash_fnv1a(text, len));
}
