/* config.c - the loaded configuration (see config.h): its job table,
 * reference counting and lookups, and the load itself, which reads the
 * file (config_read.c, pass one) and builds the config from the stored
 * sections (config_jobs.c, pass two).
 *
 * Pass one stores every key's value lines per section (config_internal.h);
 * pass two validates them in a fixed order, so [defaults] may follow the
 * jobs and [schedule] may come first. A loaded config owns its zones and
 * an open-addressing table from job name to index, so lookups stay O(1)
 * with 100 000 jobs. */
#include "config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hash.h"

/* A config this large is a mistake (100 000 jobs take about 15 MiB). */
#define CFG_FILE_MAX ((size_t)256 << 20)

/* ---- the job name table ------------------------------------------------------ */

static uint32_t map_hash(const char *key)
{
        uint64_t h = cw_hash_fnv1a(key, strlen(key));

        return (uint32_t)(h ^ (h >> 32));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t map_probe(const cfg_map *m, const char *key, uint32_t h, cfg_name_fn name,
                        const void *ctx)
{
        size_t i = h & (m->cap - 1);

        while (m->slots[i].idx1 &&
               (m->slots[i].hash != h || strcmp(name(ctx, m->slots[i].idx1 - 1), key) != 0))
                i = (i + 1) & (m->cap - 1);
        return i;
}

bool cfg_map_get(const cfg_map *m, const char *key, cfg_name_fn name, const void *ctx, size_t *ret)
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
int cfg_map_put(cfg_map *m, const char *key, size_t value, cfg_name_fn name, const void *ctx)
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

void cfg_map_release(cfg_map *m)
{
        free(m->slots);
        *m = (cfg_map){0};
}

const char *cfg_job_name_at(const void *ctx, size_t idx)
{
        return ((const cw_job *)ctx)[idx].name;
}

/* ---- the loaded config ------------------------------------------------------- */

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
        for (size_t i = 0; i < c->n_maintenance; i++)
                cw_timespec_free(c->maintenance[i].when);
        free(c->maintenance);
        for (size_t i = 0; i < p->n_specs; i++)
                cw_timespec_free(p->specs[i]);
        free(p->specs);
        cfg_map_release(&p->jobs);
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

        if (!cfg_map_get(&priv_of(c)->jobs, name, cfg_job_name_at, c->jobs, &i))
                return NULL;
        return &c->jobs[i];
}

/* Writes "a, b, c" (cut to fit) into buf. */
void cfg_join_names(const cw_strv *sv, char *buf, size_t size)
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
                cfg_join_names(&job->args, names, sizeof(names));
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
                cfg_join_names(&job->options, names, sizeof(names));
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

/* ---- the load ------------------------------------------------------------------ */

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
        L.now = opts ? opts->now : cw_instant_sec(cw_clock_real_us());
        L.function = opts ? opts->function : NULL;
        L.function_userdata = opts ? opts->function_userdata : NULL;
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
        r = cfg_dir_of(&L, name, &L.cfg->pub.dir);
        if (r < 0) {
                char *msg = NULL;

                if (r != -ENOMEM && asprintf(&msg, "%s: cannot find the current directory: %s",
                                             name, strerrordesc_np(-r)) >= 0)
                        cfg_errs_add(errs, msg);
                goto out;
        }

        bad_line = cfg_read(&L);
        free(owned);
        owned = NULL;
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
        r = cfg_load_global(&L);
        if (r == 0)
                r = cfg_load_jobs(&L);
        if (r == 0)
                r = cfg_load_maintenance(&L);
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
        if (cfg_flush_errors(&L, errs) < 0 && r == 0)
                r = -ENOMEM;
        cfg_loader_release(&L);
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
                if (cfg_errs_add(errs, msg) < 0)
                        return -ENOMEM;
                return r;
        }
        return load(path, text, len, text, opts, ret, errs);
}
