/* config.c - loading the configuration file (see config.h).
 *
 * The file is read into memory and handed to libinih through our own
 * reader (ini_parse_stream), one physical line per call. The reader is
 * where we know what inih does not tell a handler: the physical line
 * number, whether a line is an indented continuation of the previous key,
 * the full text of a [section] header (inih keeps only 49 bytes of it) and
 * whether a line fits inih's buffer. Debian builds inih with a 200-byte
 * line buffer and silently splits longer lines; the reader measures every
 * line first and turns an overlong one into a precise "line too long"
 * error, handing inih a harmless stand-in that keeps its state (current
 * key, for continuations) the same as the real line would have. Comments
 * and indentation are not handed over, so only a line's meaningful text
 * counts against the limit. Syntax errors (no '=', unterminated header)
 * are found by the reader too, so each is reported at its own line rather
 * than only the first one inih returns.
 *
 * The reader classifies lines exactly the way inih does (a comment after
 * white space + ';', start-of-line ';' and '#' comments, continuation =
 * indented non-blank line after a key in the same section), so the
 * handler only has to ask the reader what kind of line inih is reporting;
 * a throwaway differential fuzzer checked this against inih itself. Two
 * differences are deliberate: an inline comment is removed from a
 * continuation line too (inih 55 keeps it in the value, later versions do
 * not), and an indented "[section]" line is an error read as a header
 * rather than silently appended to the previous value.
 *
 * Pass one stores every key's value lines per section (config_internal.h);
 * pass two validates them in a fixed order, so [defaults] may follow the
 * jobs and [schedule] may come first. Problems are collected, not fatal:
 * up to CFG_MAX_ERRORS messages, sorted by line, each "FILE:LINE: ...". A
 * loaded config owns its zones (one cw_tz per distinct zone name) and an
 * open-addressing table from job name to index, so lookups stay O(1) with
 * 100 000 jobs. */
#include "config_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/array.h"
#include "base/hash.h"
#include "config/argv.h"

#define CFG_MAX_ERRORS 100
/* A config this large is a mistake (100 000 jobs take about 15 MiB). */
#define CFG_FILE_MAX ((size_t)256 << 20)
/* One value over all its continuation lines. */
#define CFG_VALUE_MAX 65536
/* Names shown in an `after` cycle message before it is cut. */
#define CYCLE_NAMES_MAX 32

/* ---- the job name table ------------------------------------------------------ */

/* Open addressing over indices: a slot holds index + 1 (0: empty) and the
 * name's hash, 8 bytes a slot; names are found through a callback (the
 * sections while reading, the jobs after), so the table holds no
 * pointers. The stored hash makes growing need no names and skips most
 * string comparisons. */
typedef struct cfg_map_slot {
        uint32_t idx1;
        uint32_t hash;
} cfg_map_slot;

typedef struct cfg_map {
        cfg_map_slot *slots;
        size_t cap, n; /* cap is 0 or a power of two, at least twice n */
} cfg_map;

typedef const char *(*cfg_name_fn)(const void *ctx, size_t idx);

static uint32_t map_hash(const char *key)
{
        uint64_t h = cw_hash_fnv1a(key, strlen(key));

        return (uint32_t)(h ^ (h >> 32));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t map_probe(const cfg_map *m, const char *key, uint32_t h, cfg_name_fn name, const void *ctx)
{
        size_t i = h & (m->cap - 1);

        while (m->slots[i].idx1 &&
               (m->slots[i].hash != h || strcmp(name(ctx, m->slots[i].idx1 - 1), key) != 0))
                i = (i + 1) & (m->cap - 1);
        return i;
}

static bool map_get(const cfg_map *m, const char *key, cfg_name_fn name, const void *ctx, size_t *ret)
{
        size_t i;

        if (m->cap == 0)
                return false;
        i = map_probe(m, key, map_hash(key), name, ctx);
        if (!m->slots[i].idx1)
                return false;
        *ret = m->slots[i].idx1 - 1;
        return true;
}

/* Adds key with value, which must be absent; name(ctx, value) must give
 * key from now on. */
static int map_put(cfg_map *m, const char *key, size_t value, cfg_name_fn name, const void *ctx)
{
        uint32_t h = map_hash(key);
        size_t i;

        if (value >= UINT32_MAX)
                return -ENOMEM;
        if ((m->n + 1) * 2 > m->cap) {
                cfg_map old = *m;
                size_t ncap = m->cap ? m->cap * 2 : 64;

                m->slots = calloc(ncap, sizeof(cfg_map_slot));
                if (!m->slots) {
                        *m = old;
                        return -ENOMEM;
                }
                m->cap = ncap;
                for (size_t k = 0; k < old.cap; k++) {
                        if (!old.slots[k].idx1)
                                continue;
                        i = old.slots[k].hash & (ncap - 1);
                        while (m->slots[i].idx1)
                                i = (i + 1) & (ncap - 1);
                        m->slots[i] = old.slots[k];
                }
                free(old.slots);
        }
        i = map_probe(m, key, h, name, ctx);
        m->slots[i] = (cfg_map_slot){(uint32_t)value + 1, h};
        m->n++;
        return 0;
}

static void map_release(cfg_map *m)
{
        free(m->slots);
        *m = (cfg_map){0};
}

static const char *job_name_at(const void *ctx, size_t idx)
{
        return ((const cw_job *)ctx)[idx].name;
}

/* ---- the loaded config ------------------------------------------------------- */

typedef struct cfg_zone {
        char *name;
        cw_tz *tz; /* NULL when loading failed */
        int r;
        cw_error err;
} cfg_zone;

/* What a cw_config really is: the public part first, so a cw_config
 * pointer is the private object. */
typedef struct cfg_priv {
        cw_config pub;
        /* References beyond the first (cw_config_ref); the config is freed
         * when cw_config_free is called once more than this. */
        _Atomic unsigned extra_refs;
        cw_arena arena; /* every string and string array of pub */
        cfg_map jobs;   /* job name -> index into pub.jobs */
        cfg_zone *zones;
        size_t n_zones;
        cw_timespec **specs; /* the distinct time specs the entries share */
        size_t n_specs, cap_specs;
} cfg_priv;

static cfg_priv *priv_of(const cw_config *c)
{
        return (cfg_priv *)(uintptr_t)c;
}

cw_config *cw_config_ref(const cw_config *c)
{
        cfg_priv *p = priv_of(c);

        atomic_fetch_add(&p->extra_refs, 1);
        return &p->pub;
}

void cw_config_free(cw_config *c)
{
        cfg_priv *p;
        unsigned refs;

        if (!c)
                return;
        p = priv_of(c);
        refs = atomic_load(&p->extra_refs);
        while (refs > 0)
                if (atomic_compare_exchange_weak(&p->extra_refs, &refs, refs - 1))
                        return;
        /* Strings, string arrays and job specs are all in the arena. */
        free(c->jobs);
        free(c->entries);
        for (size_t i = 0; i < p->n_specs; i++)
                cw_timespec_free(p->specs[i]);
        free(p->specs);
        map_release(&p->jobs);
        for (size_t i = 0; i < p->n_zones; i++) {
                free(p->zones[i].name);
                cw_tz_free(p->zones[i].tz);
        }
        free(p->zones);
        cw_arena_release(&p->arena);
        free(p);
}

void cw_config_errors_release(cw_config_errors *e)
{
        if (!e)
                return;
        for (size_t i = 0; i < e->n; i++)
                free(e->msgs[i]);
        free(e->msgs);
        e->msgs = NULL;
        e->n = 0;
}

const cw_job *cw_config_job(const cw_config *c, const char *name)
{
        size_t i;

        if (!map_get(&priv_of(c)->jobs, name, job_name_at, c->jobs, &i))
                return NULL;
        return &c->jobs[i];
}

/* Writes "a, b, c" (cut to fit) into buf. */
static void join_names(const cw_strv *sv, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < sv->n; i++) {
                int w = snprintf(buf + n, size - n, "%s%s", i ? ", " : "", sv->v[i]);

                if (w < 0 || (size_t)w >= size - n)
                        return;
                n += (size_t)w;
        }
}

int cw_config_check_jobspec(const cw_config *c, const cw_jobspec *js, cw_error *err)
{
        const cw_job *job = cw_config_job(c, js->name);
        char names[200];

        cw_error_clear(err);
        if (!job)
                return cw_error_set(err, -1, 0, "unknown job '%s'", js->name);
        if (js->n_positional != job->args.n) {
                if (job->args.n == 0)
                        return cw_error_set(err, -1, 0,
                                            "job '%s' takes no positional params, got %zu",
                                            job->name, js->n_positional);
                join_names(&job->args, names, sizeof(names));
                return cw_error_set(err, -1, 0,
                                    "job '%s' takes %zu positional param%s (%s), got %zu",
                                    job->name, job->args.n, job->args.n == 1 ? "" : "s", names,
                                    js->n_positional);
        }
        for (size_t k = js->n_positional; k < js->n_params; k++) {
                if (cw_strv_find(&job->options, js->params[k].key) >= 0)
                        continue;
                if (job->options.n == 0)
                        return cw_error_set(err, -1, 0,
                                            "job '%s' takes no key=value params, got '%s'",
                                            job->name, js->params[k].key);
                join_names(&job->options, names, sizeof(names));
                return cw_error_set(err, -1, 0, "job '%s' has no option '%s' (its options: %s)",
                                    job->name, js->params[k].key, names);
        }
        return 0;
}

const char *cw_config_find(const char *explicit_path, const char *env_value)
{
        if (explicit_path)
                return explicit_path;
        if (env_value && env_value[0])
                return env_value;
        if (access("cronwarden.ini", F_OK) == 0)
                return "cronwarden.ini";
        if (access("/etc/cronwarden/cronwarden.ini", F_OK) == 0)
                return "/etc/cronwarden/cronwarden.ini";
        return NULL;
}

/* ---- the loader -------------------------------------------------------------- */

typedef enum line_kind {
        LINE_SKIP, /* nothing for the handler (blank, comment, header, error) */
        LINE_KEY,
        LINE_CONT,
        LINE_LONG_KEY,  /* too long: the handler records a broken key */
        LINE_LONG_CONT, /* too long: the handler marks the current key broken */
} line_kind;

typedef struct cfg_section {
        char *name;   /* job name for [job NAME], in the config's arena */
        cfg_kv *kvs;  /* n_kvs values in one block (see section_close), or NULL */
        uint32_t n_kvs;
        uint32_t job; /* [job NAME]: index into cw_config.jobs */
        int line;
        cfg_section_kind kind;
} cfg_section;

/* A value of the section being read, until the section is closed: its
 * lines are parts first_part.. of open_parts, their text in open_text. */
typedef struct cfg_open_kv {
        const cfg_key *key;
        size_t first_part, n_parts;
        size_t len; /* of the joined value */
        int line;
        bool broken;
} cfg_open_kv;

typedef struct cfg_open_part {
        size_t off, len; /* in open_text */
        int line;
} cfg_open_part;

typedef struct cfg_msg {
        int line;
        size_t seq;
        char *text;
} cfg_msg;

struct cfg_loader {
        const char *file;
        const char *zoneinfo_dir;
        cw_time now;

        const char *text;
        size_t len, pos;
        int lineno;

        /* What the line just handed to inih is, for the handler. */
        line_kind kind;
        bool bom; /* line 1: hand inih a byte-order mark to remove */
        char *long_name;
        /* Mirrors inih's "previous key" (non-empty prev_name). */
        bool have_prev;
        /* Index of the key continuations extend in the current section, -1 none. */
        long prev_kv;

        cfg_section *sections;
        size_t n_sections, cap_sections;
        cfg_section_kind cur_kind;
        size_t cur;
        /* The values of sections[cur] while it is read (section_close). */
        bool open;
        cfg_open_kv *open_kvs;
        size_t n_open_kvs, cap_open_kvs;
        cfg_open_part *open_parts;
        size_t n_open_parts, cap_open_parts;
        char *open_text;
        size_t n_open_text, cap_open_text;
        size_t n_schedule_keys; /* schedule= and run= lines, to size the entries */
        int key_line[CFG_K__MAX];    /* in the current section */
        int kind_line[CFG_SEC__MAX]; /* first header of [cronwarden], [admin], [defaults] */
        cfg_map section_names;       /* job name -> section index, then job index */
        size_t n_job_sections;

        cfg_msg *msgs;
        size_t n_msgs, n_dropped, seq;
        bool enomem;

        cfg_env_seen env_seen;
        int *after_line; /* per job: line of its after= key */
        size_t cap_entries;
        cfg_map spec_set; /* distinct time specs: index into cfg->specs */
        char *empty;      /* "" in the arena, shared by every job's description */
        cfg_priv *cfg;
};

/* Frees a section's values once pass two no longer needs them. */
static void section_release_values(cfg_section *s)
{
        free(s->kvs);
        s->kvs = NULL;
        s->n_kvs = 0;
}

static void loader_release(cfg_loader *L)
{
        for (size_t i = 0; i < L->n_sections; i++)
                section_release_values(&L->sections[i]);
        free(L->sections);
        free(L->open_kvs);
        free(L->open_parts);
        free(L->open_text);
        map_release(&L->section_names);
        map_release(&L->spec_set);
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

static void env_seen_reset(cfg_loader *L)
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
static int flush_errors(cfg_loader *L, cw_config_errors *errs)
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

static int errs_add(cw_config_errors *errs, char *text)
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
static int dir_of(cfg_loader *L, const char *name, char **ret)
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
static int zone_adopt(cfg_loader *L, cw_tz *tz)
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

/* ---- pass one: the reader and the handler ------------------------------------------ */

static bool ini_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Where an inline comment starts (';' after white space), or e. */
static const char *find_comment(const char *s, const char *e)
{
        for (const char *p = s; p < e; p++)
                if (*p == ';' && p > s && ini_space(p[-1]))
                        return p;
        return e;
}

/* Copies what inih should see into its buffer (which holds num bytes and
 * has room for it: callers check the length first), after a byte-order
 * mark for inih to remove when L->bom is set. */
static char *feed(const cfg_loader *L, char *str, bool indent, const char *s, size_t n)
{
        size_t k = 0;

        if (L->bom) {
                memcpy(str, "\xef\xbb\xbf", 3);
                k = 3;
        }
        if (indent)
                str[k++] = ' ';
        memcpy(str + k, s, n);
        k += n;
        str[k++] = '\n';
        str[k] = '\0';
        return str;
}

/* Section words; the first four are whole headers, "job" takes a name. */
static const char *const section_names[] = {"cronwarden", "admin", "defaults", "schedule", "job"};
static const cfg_section_kind section_kinds[] = {CFG_SEC_CRONWARDEN, CFG_SEC_ADMIN,
                                                 CFG_SEC_DEFAULTS, CFG_SEC_SCHEDULE};

static const char *kind_name(cfg_section_kind k)
{
        switch (k) {
        case CFG_SEC_CRONWARDEN:
                return "cronwarden";
        case CFG_SEC_ADMIN:
                return "admin";
        case CFG_SEC_DEFAULTS:
                return "defaults";
        case CFG_SEC_SCHEDULE:
                return "schedule";
        default:
                return "job";
        }
}

/* Moves the values of the section being read into one block of their
 * own: the cfg_kv array, then the parts of values with several lines,
 * then every text. A job's block is freed as soon as the job is built
 * (load_jobs), so the raw values of all jobs are never held at once
 * beside the built ones, and one allocation per section keeps the
 * allocator's overhead small. */
static int section_close(cfg_loader *L)
{
        cfg_section *sec;
        size_t size, n_parts = 0, n_text = 0;
        cfg_part *parts;
        char *text;
        cfg_kv *kvs;

        if (!L->open)
                return 0;
        L->open = false;
        sec = &L->sections[L->cur];
        if (L->n_open_kvs == 0)
                return 0;
        for (size_t k = 0; k < L->n_open_kvs; k++) {
                const cfg_open_kv *o = &L->open_kvs[k];

                n_text += o->len + 1;
                if (o->n_parts > 1) {
                        n_parts += o->n_parts;
                        for (size_t p = 0; p < o->n_parts; p++)
                                n_text += L->open_parts[o->first_part + p].len + 1;
                }
        }
        size = L->n_open_kvs * sizeof(cfg_kv) + n_parts * sizeof(cfg_part) + n_text;
        kvs = malloc(size);
        if (!kvs)
                return -ENOMEM;
        parts = (cfg_part *)(kvs + L->n_open_kvs);
        text = (char *)(parts + n_parts);
        for (size_t k = 0; k < L->n_open_kvs; k++) {
                const cfg_open_kv *o = &L->open_kvs[k];
                const cfg_open_part *op = &L->open_parts[o->first_part];
                cfg_kv *kv = &kvs[k];

                *kv = (cfg_kv){.key = o->key, .text = text, .n_parts = (uint32_t)o->n_parts, .line = o->line,
                               .broken = o->broken};
                /* The joined value: the parts with single spaces. */
                for (size_t p = 0; p < o->n_parts; p++) {
                        if (p)
                                *text++ = ' ';
                        if (op[p].len)
                                memcpy(text, L->open_text + op[p].off, op[p].len);
                        text += op[p].len;
                }
                *text++ = '\0';
                if (o->n_parts > 1) {
                        kv->parts = parts;
                        for (size_t p = 0; p < o->n_parts; p++) {
                                *parts++ = (cfg_part){text, op[p].line};
                                if (op[p].len)
                                        memcpy(text, L->open_text + op[p].off, op[p].len);
                                text += op[p].len;
                                *text++ = '\0';
                        }
                }
        }
        sec->kvs = kvs;
        sec->n_kvs = (uint32_t)L->n_open_kvs;
        L->n_open_kvs = L->n_open_parts = L->n_open_text = 0;
        return 0;
}

static const char *section_name_at(const void *ctx, size_t idx)
{
        return ((const cfg_loader *)ctx)->sections[idx].name;
}

static int section_add(cfg_loader *L, cfg_section_kind kind, char *name)
{
        int r = section_close(L);

        if (r < 0)
                return r;
        if (L->n_sections >= UINT32_MAX ||
            cw_array_reserve((void **)&L->sections, &L->cap_sections, L->n_sections + 1, sizeof(cfg_section), 16) <
                    0)
                return -ENOMEM;
        L->sections[L->n_sections] = (cfg_section){.kind = kind, .name = name, .line = L->lineno};
        if (kind == CFG_SEC_JOB)
                L->sections[L->n_sections].job = (uint32_t)L->n_job_sections++;
        L->cur = L->n_sections++;
        L->cur_kind = kind;
        L->open = true;
        return 0;
}

/* A "[...]" line: s points at '[', e at the end of the trimmed line. */
static int on_section(cfg_loader *L, const char *s, const char *e)
{
        const char *close = memchr(s, ']', (size_t)(e - s)), *comment = find_comment(s, e);
        const char *a, *b, *after;
        _cleanup_free_ char *title = NULL;
        char q[CFG_QUOTE_MAX], hint[64] = "";
        size_t best;
        cfg_section_kind kind = CFG_SEC__MAX;

        if (!close || close > comment) {
                /* inih keeps the previous key for continuations here. */
                L->cur_kind = CFG_SEC_SKIP;
                L->prev_kv = -1;
                return cw_config_error(L, L->lineno,
                                       "unterminated section header: expected '[NAME]'");
        }
        L->have_prev = false;
        L->prev_kv = -1;
        memset(L->key_line, 0, sizeof(L->key_line));
        L->cur_kind = CFG_SEC_SKIP;

        title = strndup(s, (size_t)(close - s) + 1);
        if (!title)
                return -ENOMEM;
        for (after = close + 1; after < e && ini_space(*after); after++)
                ;
        if (after < e && *after != ';' && *after != '#')
                cw_config_error(L, L->lineno, "%s: unexpected text after ']'", title);

        a = s + 1;
        b = close;
        while (a < b && ini_space(*a))
                a++;
        while (b > a && ini_space(b[-1]))
                b--;
        for (size_t k = 0; k < CW_ARRAY_SIZE(section_kinds); k++)
                if ((size_t)(b - a) == strlen(section_names[k]) &&
                    memcmp(a, section_names[k], (size_t)(b - a)) == 0)
                        kind = section_kinds[k];
        if (kind == CFG_SEC_SCHEDULE)
                return section_add(L, kind, NULL);
        if (kind != CFG_SEC__MAX) {
                if (L->kind_line[kind])
                        return cw_config_error(
                                L, L->lineno,
                                "%s: section given twice (first on line %d): merge them", title,
                                L->kind_line[kind]);
                L->kind_line[kind] = L->lineno;
                return section_add(L, kind, NULL);
        }
        if ((size_t)(b - a) >= 3 && memcmp(a, "job", 3) == 0 && (a + 3 == b || ini_space(a[3]))) {
                char *name;
                size_t idx;
                int r;

                for (a += 3; a < b && ini_space(*a); a++)
                        ;
                if (a == b)
                        return cw_config_error(L, L->lineno,
                                               "%s: missing job name: write [job NAME]", title);
                /* In the config's arena: it becomes the job's name. */
                name = cw_arena_strndup(&L->cfg->arena, a, (size_t)(b - a));
                if (!name)
                        return -ENOMEM;
                if (!cw_jobspec_name_valid(name))
                        return cw_config_error(
                                L, L->lineno,
                                "%s: invalid job name %s: use letters, digits, '_', '.' and '-', starting with a letter or '_' (at most %d bytes)",
                                title, cw_config_quote(name, q), CW_JOBSPEC_NAME_MAX);
                if (map_get(&L->section_names, name, section_name_at, L, &idx))
                        return cw_config_error(L, L->lineno,
                                               "%s: job defined twice (first on line %d)", title,
                                               L->sections[idx].line);
                r = section_add(L, CFG_SEC_JOB, name);
                if (r < 0)
                        return r;
                return map_put(&L->section_names, name, L->cur, section_name_at, L);
        }
        {
                /* Compare the first word, so "[jbo X]" still gets a hint. */
                const char *we = a;
                _cleanup_free_ char *word = NULL;

                while (we < b && !ini_space(*we))
                        we++;
                word = strndup(a, (size_t)(we - a));
                if (!word)
                        return -ENOMEM;
                /* Short words are close to everything: be stricter. */
                best = strlen(word) >= 5 ? 3 : strlen(word) >= 3 ? 2 : 1;
                for (size_t k = 0; k < CW_ARRAY_SIZE(section_names); k++) {
                        size_t d = cw_config_edit_distance(word, section_names[k], 2);

                        if (d < best) {
                                best = d;
                                snprintf(hint, sizeof(hint), " (did you mean [%s%s]?)",
                                         section_names[k], k == 4 ? " NAME" : "");
                        }
                }
        }
        return cw_config_error(
                L, L->lineno,
                "%s: unknown section%s: expected [cronwarden], [admin], [defaults], [job NAME] or [schedule]",
                title, hint);
}

static char *read_line(char *str, int num, void *stream)
{
        cfg_loader *L = stream;
        const char *line, *nl, *s, *e, *cut, *sep;
        size_t n, limit, mlen;
        bool indented;

        L->kind = LINE_SKIP;
        if (L->pos >= L->len || L->enomem)
                return NULL;
        /* inih always asks for its whole buffer (200 bytes in Debian's
         * build); a tiny one is not something we can work with. */
        if (num < 8) {
                cw_config_error(L, 0, "libinih's line buffer is too small (%d bytes)", num);
                return NULL;
        }
        limit = (size_t)num - 2; /* room for '\n' and the NUL */
        line = L->text + L->pos;
        nl = memchr(line, '\n', L->len - L->pos);
        n = nl ? (size_t)(nl - line) : L->len - L->pos;
        L->pos += n + (nl ? 1 : 0);
        L->lineno++;
        L->bom = L->lineno == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0;
        if (L->bom) {
                line += 3;
                n -= 3;
        }
        if (memchr(line, '\0', n)) {
                cw_config_error(L, L->lineno, "line contains a NUL byte");
                return feed(L, str, false, "", 0);
        }
        e = line + n;
        while (e > line && ini_space(e[-1]))
                e--;
        s = line;
        while (s < e && ini_space(*s))
                s++;
        /* On line 1 inih drops a leading byte-order mark: give it one
         * whenever what we hand over starts with one (the file's own, or
         * one that is data after white space). */
        if (L->lineno == 1 && (L->bom || (e - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0))) {
                L->bom = true;
                limit -= 3;
        }
        if (s == e || *s == ';' || *s == '#')
                return feed(L, str, false, "", 0);
        indented = s > line;
        cut = find_comment(s, e);
        while (cut > s && ini_space(cut[-1]))
                cut--;

        if (L->have_prev && indented && *s == '[' && cut[-1] == ']') {
                /* inih would take this for more of the previous value,
                 * silently. It is surely meant as a header: say so, and
                 * read it as one so the keys below land where intended. */
                cw_config_error(
                        L, L->lineno,
                        "section header must start the line (an indented line continues the "
                        "previous value)");
                indented = false;
        }
        if (L->have_prev && indented) {
                mlen = (size_t)(cut - s) + 1;
                if (mlen > limit) {
                        cw_config_error(
                                L, L->lineno,
                                "line too long (%zu bytes, at most %zu): continue the value on more indented lines",
                                mlen - 1, limit - 1);
                        L->kind = LINE_LONG_CONT;
                        return feed(L, str, true, "x", 1);
                }
                L->kind = LINE_CONT;
                return feed(L, str, true, s, (size_t)(cut - s));
        }
        if (*s == '[') {
                const char *close = memchr(s, ']', (size_t)(e - s));

                if (close && (size_t)(close - s) + 1 > limit) {
                        cw_config_error(L, L->lineno, "line too long (%zu bytes, at most %zu)",
                                        (size_t)(close - s) + 1, limit);
                        L->have_prev = false;
                        L->prev_kv = -1;
                        L->cur_kind = CFG_SEC_SKIP;
                        return feed(L, str, false, "[]", 2);
                }
                if (on_section(L, s, e) == -ENOMEM)
                        L->enomem = true;
                /* An unterminated header changes nothing in inih either. */
                if (!close || close > find_comment(s, e))
                        return feed(L, str, false, "", 0);
                return feed(L, str, false, s, (size_t)(close - s) + 1);
        }
        for (sep = s; sep < cut && *sep != '=' && *sep != ':'; sep++)
                ;
        if (sep == cut) {
                char q[CFG_QUOTE_MAX];
                _cleanup_free_ char *t = strndup(s, (size_t)(cut - s));

                if (!t)
                        L->enomem = true;
                else
                        cw_config_error(L, L->lineno,
                                        "expected KEY = VALUE or a [section] header, got %s",
                                        cw_config_quote(t, q));
                return feed(L, str, false, "", 0);
        }
        {
                const char *ne = sep;

                while (ne > s && ini_space(ne[-1]))
                        ne--;
                L->have_prev = ne > s;
                mlen = (size_t)(cut - s);
                if (mlen > limit) {
                        cw_config_error(
                                L, L->lineno,
                                "line too long (%zu bytes, at most %zu): continue the value on indented lines",
                                mlen, limit);
                        free(L->long_name);
                        L->long_name = strndup(s, (size_t)(ne - s));
                        if (!L->long_name) {
                                L->enomem = true;
                                return feed(L, str, false, "", 0);
                        }
                        L->kind = LINE_LONG_KEY;
                        return ne > s ? feed(L, str, false, "x=", 2) : feed(L, str, false, "=", 1);
                }
        }
        L->kind = LINE_KEY;
        return feed(L, str, false, s, mlen);
}

static const char *current_title(cfg_loader *L, char *buf, size_t size)
{
        if (L->cur_kind == CFG_SEC_JOB)
                snprintf(buf, size, "[job %s]", L->sections[L->cur].name);
        else
                snprintf(buf, size, "[%s]", kind_name(L->cur_kind));
        return buf;
}


/* True when s has only printable ASCII (safe to show unquoted). */
static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
                        return false;
        return true;
}

/* Appends one line of a value to the section being read. */
static int open_part_add(cfg_loader *L, const char *value)
{
        size_t n = strlen(value);

        if (cw_array_reserve((void **)&L->open_parts, &L->cap_open_parts, L->n_open_parts + 1,
                             sizeof(cfg_open_part), 16) < 0 ||
            cw_array_reserve((void **)&L->open_text, &L->cap_open_text, L->n_open_text + n, 1, 1024) < 0)
                return -ENOMEM;
        if (n)
                memcpy(L->open_text + L->n_open_text, value, n);
        L->open_parts[L->n_open_parts++] = (cfg_open_part){L->n_open_text, n, L->lineno};
        L->n_open_text += n;
        return 0;
}

static int on_key(cfg_loader *L, const char *name, const char *value, bool broken)
{
        char title[CW_JOBSPEC_NAME_MAX + 8], hint[96], q[CFG_QUOTE_MAX];
        const cfg_key *key;
        int r;

        L->prev_kv = -1;
        if (!name[0])
                return cw_config_error(L, L->lineno, "missing key name before '='");
        if (L->cur_kind == CFG_SEC_SKIP)
                return 0;
        if (L->cur_kind == CFG_SEC_NONE)
                return cw_config_error(
                        L, L->lineno,
                        "%s: key outside any section: put it under a header such as [cronwarden] or [job NAME]",
                        name);
        current_title(L, title, sizeof(title));
        key = cw_config_key_lookup(name, L->cur_kind);
        if (!key) {
                cw_config_key_hint(name, L->cur_kind, hint, sizeof(hint));
                /* "FILE:LINE: KEY: ..." like every other diagnostic; a key
                 * with control characters is shown quoted and escaped. */
                return cw_config_error(L, L->lineno, "%s: unknown key in %s%s",
                                       printable(name) ? name : cw_config_quote(name, q), title, hint);
        }
        if (L->cur_kind == CFG_SEC_DEFAULTS && (key->flags & CFG_JOB_ONLY))
                return cw_config_error(
                        L, L->lineno,
                        "%s: not allowed in [defaults]: it only makes sense in a [job NAME] section",
                        name);
        if (!(key->flags & CFG_REPEATABLE) && L->key_line[key->id])
                return cw_config_error(L, L->lineno, "%s: set twice in %s (first set on line %d)",
                                       name, title, L->key_line[key->id]);
        L->key_line[key->id] = L->lineno;

        if (key->id == CFG_K_SCHEDULE || key->id == CFG_K_RUN)
                L->n_schedule_keys++;
        if (cw_array_reserve((void **)&L->open_kvs, &L->cap_open_kvs, L->n_open_kvs + 1, sizeof(cfg_open_kv), 16) <
            0)
                return -ENOMEM;
        r = open_part_add(L, value);
        if (r < 0)
                return r;
        L->open_kvs[L->n_open_kvs] = (cfg_open_kv){.key = key,
                                                   .first_part = L->n_open_parts - 1,
                                                   .n_parts = 1,
                                                   .len = strlen(value),
                                                   .line = L->lineno,
                                                   .broken = broken};
        L->prev_kv = (long)L->n_open_kvs++;
        return 0;
}

static int on_continuation(cfg_loader *L, const char *value, bool broken)
{
        size_t add;
        cfg_open_kv *kv;
        int r;

        if (L->prev_kv < 0)
                return 0;
        kv = &L->open_kvs[L->prev_kv];
        if (broken)
                kv->broken = true;
        if (kv->broken)
                return 0;
        add = strlen(value);
        if (kv->len + 1 + add > CFG_VALUE_MAX) {
                kv->broken = true;
                return cw_config_error(L, L->lineno,
                                       "%s: value too long (at most %d bytes over all its lines)",
                                       kv->key->name, CFG_VALUE_MAX);
        }
        /* Continuations only ever extend the last key, so its parts stay
         * together at the end of open_parts. */
        r = open_part_add(L, value);
        if (r < 0)
                return r;
        kv->n_parts++;
        kv->len += 1 + add;
        return 0;
}

static int on_ini_value(void *user, const char *section, const char *name, const char *value)
{
        cfg_loader *L = user;
        int r = 0;

        (void)section; /* ours is complete; inih's is cut at 49 bytes */
        switch (L->kind) {
        case LINE_KEY:
                r = on_key(L, name, value, false);
                break;
        case LINE_LONG_KEY:
                r = on_key(L, L->long_name, "", true);
                break;
        case LINE_CONT:
                r = on_continuation(L, value, false);
                break;
        case LINE_LONG_CONT:
                r = on_continuation(L, "", true);
                break;
        case LINE_SKIP:
                /* The reader and inih disagree about this line; say so
                 * rather than guess. */
                cw_config_error(L, L->lineno, "cannot parse this line");
                break;
        }
        L->kind = LINE_SKIP;
        if (r == -ENOMEM)
                L->enomem = true;
        /* Problems are recorded by us; inih's return value then only
         * reports lines it could not parse at all. */
        return 1;
}

/* ---- pass two ------------------------------------------------------------------- */

/* Closes the last section. The name table stays: load_jobs turns it into
 * the jobs' table. */
static int finish_pass_one(cfg_loader *L)
{
        return section_close(L);
}

static int apply_section(cfg_loader *L, const cfg_section *sec, void *obj, int *lines)
{
        env_seen_reset(L);
        for (size_t k = 0; k < sec->n_kvs; k++) {
                const cfg_kv *kv = &sec->kvs[k];
                int r;

                if (lines)
                        lines[kv->key->id] = kv->line;
                if (kv->broken || (kv->key->flags & CFG_DEFERRED))
                        continue;
                r = kv->key->apply(L, obj, kv);
                if (r == -ENOMEM)
                        return r;
        }
        /* env= lines (only in [defaults] and jobs) built the env aside. */
        if (L->env_seen.loaded)
                return cw_config_strv_freeze(L, L->env_seen.entries, L->env_seen.n_entries, false,
                                             &((cw_job *)obj)->env);
        return 0;
}

/* The built-in defaults, under [defaults]. Strings are in the arena:
 * every job starts as a shallow copy of the template and shares them. */
static int job_init_defaults(cfg_loader *L, cw_job *j)
{
        *j = (cw_job){0};
        j->lock = CW_LOCK_CLASS;
        j->ionice = CW_IONICE_UNSET;
        j->kill_grace = 10;
        j->concurrency = CW_CONCURRENCY_FORBID;
        j->catch_up = CW_CATCH_UP_ONCE;
        j->retry_delay = 60;
        j->notify_after_failures = 1;
        j->enabled = true;
        j->description = L->empty;
        return 0;
}

static bool env_has_key(const cw_strv *env, const char *key)
{
        size_t n = strlen(key);

        for (size_t i = 0; i < env->n; i++)
                if (strncmp(env->v[i], key, n) == 0 && env->v[i][n] == '=')
                        return true;
        return false;
}

static const cfg_kv *section_kv(const cfg_section *sec, cfg_key_id id)
{
        for (size_t k = 0; k < sec->n_kvs; k++)
                if (sec->kvs[k].key->id == id)
                        return &sec->kvs[k];
        return NULL;
}

/* The config's copy of a spec equal to *ts (cw_timespec_equal): with
 * 100 000 jobs most specs repeat ("0 * * * *", "@daily"), so each
 * distinct one is kept once. Takes ownership of *ts and replaces it with
 * the shared copy. */
static int spec_intern(cfg_loader *L, cw_timespec **ts)
{
        cfg_priv *p = L->cfg;
        cfg_map *m = &L->spec_set;
        uint64_t h64 = cw_timespec_hash(*ts);
        uint32_t h = (uint32_t)(h64 ^ (h64 >> 32));
        size_t i;

        if (m->cap) {
                for (i = h & (m->cap - 1); m->slots[i].idx1; i = (i + 1) & (m->cap - 1)) {
                        cw_timespec *o = p->specs[m->slots[i].idx1 - 1];

                        if (m->slots[i].hash == h && cw_timespec_equal(o, *ts)) {
                                cw_timespec_free(*ts);
                                *ts = o;
                                return 0;
                        }
                }
        }
        if (p->n_specs >= UINT32_MAX - 1 ||
            cw_array_reserve((void **)&p->specs, &p->cap_specs, p->n_specs + 1, sizeof(cw_timespec *), 64) < 0)
                return -ENOMEM;
        if ((m->n + 1) * 2 > m->cap) {
                size_t ncap = m->cap ? m->cap * 2 : 256;
                cfg_map_slot *ns = calloc(ncap, sizeof(cfg_map_slot));

                if (!ns)
                        return -ENOMEM;
                for (size_t k = 0; k < m->cap; k++) {
                        if (!m->slots[k].idx1)
                                continue;
                        for (i = m->slots[k].hash & (ncap - 1); ns[i].idx1; i = (i + 1) & (ncap - 1))
                                ;
                        ns[i] = m->slots[k];
                }
                free(m->slots);
                m->slots = ns;
                m->cap = ncap;
        }
        for (i = h & (m->cap - 1); m->slots[i].idx1; i = (i + 1) & (m->cap - 1))
                ;
        p->specs[p->n_specs++] = *ts;
        m->slots[i] = (cfg_map_slot){(uint32_t)p->n_specs, h};
        m->n++;
        return 0;
}

/* Parses a time spec for job `job` and appends a schedule entry for the
 * job spec js whose canonical text is spec_text (both in the arena, maybe
 * shared with other entries). ts_off is where ts_text starts inside
 * full_text (the value shown under error carets). */
static int add_entry(cfg_loader *L, size_t job, cw_jobspec *js, char *spec_text, const char *ts_text,
                     size_t ts_off, const char *full_text, const char *key, int line)
{
        cw_timespec *ts = NULL;
        cw_config *c = &L->cfg->pub;
        cw_error err;
        int r;

        r = cw_timespec_parse(ts_text, spec_text, &ts, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.col >= 0)
                        err.col += (int)ts_off;
                return cw_config_error_caret(L, line, &err, full_text, "%s: %s", key, err.msg);
        }
        r = cw_timespec_check_fires(ts, c->jobs[job].tz, L->now, &err);
        if (r < 0) {
                cw_timespec_free(ts);
                if (r == -ENOMEM)
                        return r;
                if (err.col >= 0)
                        err.col += (int)ts_off;
                return cw_config_error_caret(L, line, &err, full_text, "%s: %s", key, err.msg);
        }
        r = spec_intern(L, &ts);
        if (r < 0) {
                cw_timespec_free(ts);
                return r;
        }
        /* Usually sized once from the count of schedule lines (load_jobs). */
        if (cw_array_reserve((void **)&c->entries, &L->cap_entries, c->n_entries + 1, sizeof(cw_schedule_entry),
                             16) < 0)
                return -ENOMEM;
        c->entries[c->n_entries++] = (cw_schedule_entry){
                .job = job,
                .spec = js,
                .spec_text = spec_text,
                .when = ts,
                .line = line,
        };
        return 0;
}

/* A copy of js in the arena (the config's entries point to it). */
static cw_jobspec *jobspec_to_arena(cfg_loader *L, const cw_jobspec *js, char *name)
{
        cw_arena *a = &L->cfg->arena;
        cw_jobspec *d = cw_arena_zalloc(a, sizeof(*d), alignof(cw_jobspec));

        if (!d)
                return NULL;
        d->name = name;
        d->n_params = js->n_params;
        d->n_positional = js->n_positional;
        if (js->n_params == 0)
                return d;
        d->params = cw_arena_calloc(a, js->n_params, sizeof(cw_param), alignof(cw_param));
        if (!d->params)
                return NULL;
        for (size_t i = 0; i < js->n_params; i++) {
                if (js->params[i].key && !(d->params[i].key = cw_arena_strdup(a, js->params[i].key)))
                        return NULL;
                if (!(d->params[i].value = cw_arena_strdup(a, js->params[i].value)))
                        return NULL;
        }
        return d;
}

/* Cross-key checks of one job, after all its keys and the defaults. */
static int job_finish(cfg_loader *L, const cfg_section *sec, cw_job *job, const int *lines)
{
        char q[CFG_QUOTE_MAX];
        cw_error err;
        int r;

        /* Function jobs (PRODUCT §11) will not need one; for now every job
         * runs a command. A command line that was rejected has already
         * been reported, so only a truly absent key is. */
        if (!lines[CFG_K_COMMAND])
                cw_config_error(L, sec->line, "[job %s]: missing command = ... (what the job runs)",
                                job->name);
        /* Without a shell, operators like '|' or '&&' would silently become
         * arguments: the classic crontab-migration mistake, so reject them. */
        if (job->command && !job->shell) {
                const cfg_kv *kv = section_kv(sec, CFG_K_COMMAND);

                _cleanup_(cw_strv_release) cw_strv argv = {0};

                r = cw_argv_split(job->command, CW_ARGV_REJECT_SHELL_OPS, &argv, &err);
                if (r == -ENOMEM)
                        return r;
                if (r == 0) {
                        r = cw_config_strv_freeze(L, argv.v, argv.n, true, &job->argv);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        cw_config_error_caret(L, kv ? kv->line : sec->line, &err, job->command,
                                              "command: %s", err.msg);
                else if (job->argv.n == 0)
                        cw_config_error(L, kv ? kv->line : sec->line,
                                        "command: expected a command line, got only spaces");
        }
        for (size_t i = 0; i < job->options.n; i++)
                if (cw_strv_find(&job->args, job->options.v[i]) >= 0)
                        cw_config_error(L, lines[CFG_K_OPTIONS],
                                        "options: '%s' is also declared in args",
                                        job->options.v[i]);
        /* Secrets usually live in an env_file deployed next to the app,
         * which need not exist where the config is checked: only without
         * one can a missing name be known to be a mistake. */
        if (!job->env_file)
                for (size_t i = 0; i < job->secret_env.n; i++)
                        if (!env_has_key(&job->env, job->secret_env.v[i]))
                                cw_config_error(
                                        L, lines[CFG_K_SECRET_ENV],
                                        "secret_env: %s is not set by env (or an env_file) of job '%s'",
                                        cw_config_quote(job->secret_env.v[i], q), job->name);
        /* The liveness bounds (§14) only make sense in this order. */
        if (job->timeout > 0 && job->max_runtime >= job->timeout)
                cw_config_error(
                        L, lines[CFG_K_MAX_RUNTIME],
                        "max_runtime: expected less than timeout (a warning that comes after the kill never shows) in job '%s'",
                        job->name);
        if (job->max_runtime > 0 && job->min_runtime >= job->max_runtime)
                cw_config_error(L, lines[CFG_K_MIN_RUNTIME],
                                "min_runtime: expected less than max_runtime in job '%s'",
                                job->name);
        return 0;
}

static int build_job(cfg_loader *L, const cfg_section *sec, const cw_job *tmpl,
                     const int *tmpl_lines, size_t idx)
{
        cw_config *c = &L->cfg->pub;
        cw_job *job = &c->jobs[idx];
        cw_jobspec *js = NULL; /* the job's own spec, shared by its schedule lines */
        int lines[CFG_K__MAX];
        int r;

        /* A shallow copy: what the job does not set stays shared with
         * [defaults]. */
        *job = *tmpl;
        job->name = sec->name;
        job->line = sec->line;
        memcpy(lines, tmpl_lines, sizeof(lines));
        r = apply_section(L, sec, job, lines);
        if (r < 0)
                return r;
        if (!job->tz)
                job->tz = c->tz;
        L->after_line[idx] = lines[CFG_K_AFTER];
        r = job_finish(L, sec, job, lines);
        if (r < 0)
                return r;

        for (size_t k = 0; k < sec->n_kvs; k++) {
                const cfg_kv *kv = &sec->kvs[k];
                char names[200];

                if (kv->key->id != CFG_K_SCHEDULE || kv->broken)
                        continue;
                if (job->args.n > 0) {
                        join_names(&job->args, names, sizeof(names));
                        cw_config_error(
                                L, kv->line,
                                "schedule: job '%s' needs positional params (%s), which a schedule = line cannot give: "
                                "use run = SPEC %s:... in [schedule]",
                                job->name, names, job->name);
                        continue;
                }
                /* The canonical text of a spec without params is the
                 * job's name (a valid job name), so both are shared. */
                if (!js) {
                        js = cw_arena_zalloc(&L->cfg->arena, sizeof(*js), alignof(cw_jobspec));
                        if (!js)
                                return -ENOMEM;
                        js->name = job->name;
                }
                r = add_entry(L, idx, js, job->name, kv->text, 0, kv->text, "schedule", kv->line);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

/* Splits "TIMESPEC JOBSPEC": the job spec is the last white-space
 * separated word, where double quotes (with \-escapes) may hold spaces. */
static bool split_run(const char *s, size_t *ret_ts_end, size_t *ret_js_start)
{
        size_t i = 0, words = 0, last_start = 0, last_end = 0, prev_end = 0;

        while (s[i]) {
                while (s[i] && ini_space(s[i]))
                        i++;
                if (!s[i])
                        break;
                prev_end = last_end;
                last_start = i;
                while (s[i] && !ini_space(s[i])) {
                        if (s[i] == '"') {
                                for (i++; s[i] && s[i] != '"'; i++)
                                        if (s[i] == '\\' && s[i + 1])
                                                i++;
                                if (s[i])
                                        i++;
                        } else {
                                i++;
                        }
                }
                last_end = i;
                words++;
        }
        if (words < 2)
                return false;
        *ret_ts_end = prev_end;
        *ret_js_start = last_start;
        return true;
}

static int add_run(cfg_loader *L, const cfg_kv *kv)
{
        cw_config *c = &L->cfg->pub;
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        _cleanup_free_ char *ts_text = NULL, *spec_text = NULL;
        const char *text = kv->text;
        char q[CFG_QUOTE_MAX], *arena_text;
        cw_jobspec *arena_js;
        size_t ts_end, js_start, job;
        cw_error err;
        int r;

        if (!split_run(text, &ts_end, &js_start))
                return cw_config_error(
                        L, kv->line,
                        "run: expected TIMESPEC JOBSPEC (like '*/10 * * * * Backup:full'), got %s",
                        cw_config_quote(text, q));
        r = cw_jobspec_parse(text + js_start, &js, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (err.col >= 0)
                        err.col += (int)js_start;
                return cw_config_error_caret(L, kv->line, &err, text, "run: bad job spec: %s",
                                             err.msg);
        }
        r = cw_config_check_jobspec(c, js, &err);
        if (r < 0) {
                err.col = (int)js_start;
                err.len = (int)(strlen(text) - js_start);
                return cw_config_error_caret(L, kv->line, &err, text, "run: %s", err.msg);
        }
        if (!map_get(&L->cfg->jobs, js->name, job_name_at, c->jobs, &job))
                return -EINVAL;
        ts_text = strndup(text, ts_end);
        spec_text = cw_jobspec_format(js);
        if (!ts_text || !spec_text)
                return -ENOMEM;
        arena_text = cw_config_strdup(L, spec_text);
        arena_js = jobspec_to_arena(L, js, c->jobs[job].name);
        if (!arena_text || !arena_js)
                return -ENOMEM;
        return add_entry(L, job, arena_js, arena_text, ts_text, 0, text, "run", kv->line);
}

/* Appends "name -> " pieces of a cycle to a bounded message buffer. */
static void cycle_append(char *buf, size_t size, size_t *n, const char *name, bool arrow)
{
        int w;

        if (*n >= size)
                return;
        w = snprintf(buf + *n, size - *n, "%s%s", arrow ? " -> " : "", name);
        if (w < 0 || (size_t)w >= size - *n)
                *n = size;
        else
                *n += (size_t)w;
}

/* Resolves after= names and reports unknown jobs and cycles. The walk is
 * iterative: a chain of 100 000 jobs must not exhaust the C stack. */
static int check_after(cfg_loader *L)
{
        cw_config *c = &L->cfg->pub;
        size_t n = c->n_jobs, total = 0, top = 0;
        _cleanup_free_ size_t *off = NULL, *adj = NULL, *stack = NULL, *next = NULL, *pos = NULL;
        _cleanup_free_ unsigned char *color = NULL;

        for (size_t i = 0; i < n; i++)
                total += c->jobs[i].after.n;
        if (total == 0)
                return 0;
        off = calloc(n + 1, sizeof(size_t));
        adj = calloc(total, sizeof(size_t));
        stack = calloc(n, sizeof(size_t));
        next = calloc(n, sizeof(size_t));
        pos = calloc(n, sizeof(size_t));
        color = calloc(n, 1);
        if (!off || !adj || !stack || !next || !pos || !color)
                return -ENOMEM;
        total = 0;
        for (size_t i = 0; i < n; i++) {
                const cw_job *job = &c->jobs[i];

                off[i] = total;
                for (size_t k = 0; k < job->after.n; k++) {
                        size_t t;

                        if (!map_get(&L->cfg->jobs, job->after.v[k], job_name_at, c->jobs, &t))
                                cw_config_error(L, L->after_line[i], "after: unknown job '%s'",
                                                job->after.v[k]);
                        else if (t == i)
                                cw_config_error(L, L->after_line[i],
                                                "after: job '%s' cannot run after itself",
                                                job->name);
                        else
                                adj[total++] = t;
                }
        }
        off[n] = total;

        /* color: 0 unvisited, 1 on the stack, 2 done. */
        for (size_t s = 0; s < n; s++) {
                if (color[s])
                        continue;
                stack[top++] = s;
                color[s] = 1;
                next[s] = off[s];
                pos[s] = 0;
                while (top > 0) {
                        size_t u = stack[top - 1], v;

                        if (next[u] == off[u + 1]) {
                                color[u] = 2;
                                top--;
                                continue;
                        }
                        v = adj[next[u]++];
                        if (color[v] == 0) {
                                color[v] = 1;
                                next[v] = off[v];
                                pos[v] = top;
                                stack[top++] = v;
                        } else if (color[v] == 1) {
                                char msg[1024];
                                size_t m = 0, shown = 0;

                                for (size_t k = pos[v]; k < top; k++, shown++) {
                                        if (shown == CYCLE_NAMES_MAX) {
                                                cycle_append(msg, sizeof(msg), &m, "...", true);
                                                break;
                                        }
                                        cycle_append(msg, sizeof(msg), &m, c->jobs[stack[k]].name,
                                                     k > pos[v]);
                                }
                                cycle_append(msg, sizeof(msg), &m, c->jobs[v].name, true);
                                cw_config_error(L, L->after_line[u], "after: dependency cycle %s",
                                                msg);
                        }
                }
        }
        return 0;
}

static int load_global(cfg_loader *L)
{
        cw_config *c = &L->cfg->pub;
        cw_error err;
        int r;

        c->max_output = 1024 * 1024;
        c->keep_history = 90 * CW_SECS_PER_DAY;
        c->store = cw_config_strdup(L, "sqlite");
        c->admin_listen = cw_config_strdup(L, "127.0.0.1:8080");
        if (!c->store || !c->admin_listen)
                return -ENOMEM;
        for (size_t i = 0; i < L->n_sections; i++) {
                cfg_section_kind k = L->sections[i].kind;

                if (k == CFG_SEC_CRONWARDEN || k == CFG_SEC_ADMIN) {
                        r = apply_section(L, &L->sections[i], c, NULL);
                        if (r < 0)
                                return r;
                }
        }
        if (!c->data_dir && !(c->data_dir = cw_config_path_absolute(L, ".cronwarden")))
                return -ENOMEM;
        if (!c->node) {
                char host[HOST_NAME_MAX + 1];

                if (gethostname(host, sizeof(host)) < 0 || !host[0])
                        snprintf(host, sizeof(host), "localhost");
                host[HOST_NAME_MAX] = '\0';
                c->node = cw_config_strdup(L, host);
                if (!c->node)
                        return -ENOMEM;
        }
        if (!c->tz) {
                bool wanted = false;

                for (size_t i = 0; i < L->n_sections; i++)
                        if (L->sections[i].kind == CFG_SEC_CRONWARDEN &&
                            section_kv(&L->sections[i], CFG_K_GLOBAL_TIMEZONE))
                                wanted = true;
                if (!wanted) {
                        cw_tz *tz = NULL;

                        r = cw_tz_load_system(&tz, &err);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                cw_config_error(
                                        L, 0,
                                        "cannot load the system time zone (%s): set timezone in [cronwarden]",
                                        err.msg);
                        else {
                                r = zone_adopt(L, tz);
                                if (r < 0)
                                        return r;
                                c->tz = tz;
                        }
                }
                if (!c->tz) {
                        /* An error is already recorded; carry on in UTC so the
                         * rest of the file is still checked. */
                        cw_tz *utc = cw_tz_utc();

                        if (!utc)
                                return -ENOMEM;
                        r = zone_adopt(L, utc);
                        if (r < 0)
                                return r;
                        c->tz = utc;
                }
        }
        return 0;
}

static int load_jobs(cfg_loader *L)
{
        cw_config *c = &L->cfg->pub;
        cfg_map *names = &L->section_names;
        int tmpl_lines[CFG_K__MAX] = {0};
        size_t built = 0;
        cw_job tmpl;
        int r = 0;

        r = job_init_defaults(L, &tmpl);
        for (size_t i = 0; i < L->n_sections && r == 0; i++)
                if (L->sections[i].kind == CFG_SEC_DEFAULTS)
                        r = apply_section(L, &L->sections[i], &tmpl, tmpl_lines);
        if (r < 0)
                return r;
        c->defaults = tmpl;
        if (!c->defaults.tz)
                c->defaults.tz = c->tz;

        c->jobs = calloc(L->n_job_sections ? L->n_job_sections : 1, sizeof(cw_job));
        L->after_line = calloc(L->n_job_sections ? L->n_job_sections : 1, sizeof(int));
        c->entries = calloc(L->n_schedule_keys ? L->n_schedule_keys : 1, sizeof(cw_schedule_entry));
        if (!c->jobs || !L->after_line || !c->entries)
                return -ENOMEM;
        L->cap_entries = L->n_schedule_keys ? L->n_schedule_keys : 1;
        /* Every job is known before any is built: `after` and `run` may
         * name jobs further down. The table of section names becomes the
         * table of jobs, in place. */
        for (size_t i = 0; i < L->n_sections; i++)
                if (L->sections[i].kind == CFG_SEC_JOB)
                        c->jobs[L->sections[i].job].name = L->sections[i].name;
        for (size_t k = 0; k < names->cap; k++)
                if (names->slots[k].idx1)
                        names->slots[k].idx1 = L->sections[names->slots[k].idx1 - 1].job + 1;
        L->cfg->jobs = *names;
        *names = (cfg_map){0};
        c->n_jobs = L->n_job_sections;

        for (size_t i = 0; i < L->n_sections; i++) {
                if (L->sections[i].kind != CFG_SEC_JOB)
                        continue;
                r = build_job(L, &L->sections[i], &tmpl, tmpl_lines, L->sections[i].job);
                if (r < 0)
                        return r;
                /* Keeps the peak low with many jobs: raw values and the
                 * built job are never both held for every job. */
                section_release_values(&L->sections[i]);
#ifdef __GLIBC__
                /* glibc keeps freed memory in the middle of its heap
                 * resident; the section blocks freed so far are dead
                 * weight, as the built jobs live elsewhere (the jobs
                 * array, the arena's large blocks). Give their pages
                 * back now and then. */
                if (++built % 4096 == 0)
                        malloc_trim(0);
#else
                built++;
#endif
        }
        r = check_after(L);
        if (r < 0)
                return r;
        for (size_t i = 0; i < L->n_sections; i++) {
                const cfg_section *sec = &L->sections[i];

                if (sec->kind != CFG_SEC_SCHEDULE)
                        continue;
                for (size_t k = 0; k < sec->n_kvs; k++) {
                        if (sec->kvs[k].broken)
                                continue;
                        r = add_run(L, &sec->kvs[k]);
                        if (r == -ENOMEM)
                                return r;
                }
        }
        return 0;
}

/* Loads text; when owned is non-NULL it is the buffer holding text, and
 * it is freed as soon as pass one no longer needs it. */
static int load(const char *name, const char *text, size_t len, char *owned,
                const cw_config_opts *opts, cw_config **ret, cw_config_errors *errs)
{
        cfg_loader L = {
                .file = name,
                .text = text,
                .len = len,
                .prev_kv = -1,
                .cur_kind = CFG_SEC_NONE,
        };
        int r, bad_line;

        L.zoneinfo_dir = opts ? opts->zoneinfo_dir : NULL;
        L.now = opts ? opts->now : (cw_time)time(NULL);
        L.cfg = calloc(1, sizeof(cfg_priv));
        if (!L.cfg) {
                free(owned);
                return -ENOMEM;
        }
        L.cfg->pub.path = cw_config_strdup(&L, name);
        L.empty = cw_config_strdup(&L, "");
        if (!L.cfg->pub.path || !L.empty) {
                r = -ENOMEM;
                goto out;
        }
        r = dir_of(&L, name, &L.cfg->pub.dir);
        if (r < 0) {
                char *msg = NULL;

                if (r != -ENOMEM && asprintf(&msg, "%s: cannot find the current directory: %s",
                                             name, strerrordesc_np(-r)) >= 0)
                        errs_add(errs, msg);
                goto out;
        }

        bad_line = ini_parse_stream(read_line, &L, on_ini_value, &L);
        free(owned);
        owned = NULL;
        if (finish_pass_one(&L) < 0)
                L.enomem = true;
        if (L.enomem) {
                r = -ENOMEM;
                goto out;
        }
        if (bad_line > 0) {
                bool known = false;

                for (size_t i = 0; i < L.n_msgs && !known; i++)
                        known = L.msgs[i].line == bad_line;
                if (!known)
                        cw_config_error(&L, bad_line, "cannot parse this line");
        }
        r = load_global(&L);
        if (r == 0)
                r = load_jobs(&L);
        if (r == 0 && L.enomem)
                r = -ENOMEM;
        if (r < 0)
                goto out;
        if (L.n_msgs > 0 || L.n_dropped > 0) {
                r = -EINVAL;
                goto out;
        }
        *ret = &CW_TAKE_PTR(L.cfg)->pub;
        r = 0;
out:
        free(owned);
        if (flush_errors(&L, errs) < 0 && r == 0)
                r = -ENOMEM;
        loader_release(&L);
        return r;
}

int cw_config_load_string(const char *name, const char *text, size_t len,
                          const cw_config_opts *opts, cw_config **ret, cw_config_errors *errs)
{
        return load(name, text, len, NULL, opts, ret, errs);
}

/* Reads the whole file, at most CFG_FILE_MAX bytes. */
int cw_config_read_file(const char *path, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, cap = 0;
        struct stat st;
        int fd, r = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto out;
        }
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                goto out;
        }
        cap = S_ISREG(st.st_mode) && st.st_size > 0 && (size_t)st.st_size < CFG_FILE_MAX
                      ? (size_t)st.st_size + 1
                      : 4096;
        buf = malloc(cap);
        if (!buf) {
                r = -ENOMEM;
                goto out;
        }
        for (;;) {
                ssize_t k;

                if (n == cap) {
                        char *nb;

                        if (cap >= CFG_FILE_MAX) {
                                r = -EFBIG;
                                goto out;
                        }
                        cap = cap * 2 > CFG_FILE_MAX ? CFG_FILE_MAX : cap * 2;
                        nb = realloc(buf, cap);
                        if (!nb) {
                                r = -ENOMEM;
                                goto out;
                        }
                        buf = nb;
                }
                k = read(fd, buf + n, cap - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto out;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        *ret = CW_TAKE_PTR(buf);
        *ret_len = n;
out:
        close(fd);
        return r;
}

int cw_config_load(const char *path, const cw_config_opts *opts, cw_config **ret,
                   cw_config_errors *errs)
{
        char *text = NULL;
        size_t len = 0;
        int r;

        r = cw_config_read_file(path, &text, &len);
        if (r < 0) {
                char *msg = NULL;
                const char *why =
                        r == -EFBIG ? "file is too large (at most 256MiB)" : strerrordesc_np(-r);

                if (asprintf(&msg, "cannot read '%s': %s", path, why ? why : "unknown error") < 0)
                        return -ENOMEM;
                if (errs_add(errs, msg) < 0)
                        return -ENOMEM;
                return r;
        }
        return load(path, text, len, text, opts, ret, errs);
}
