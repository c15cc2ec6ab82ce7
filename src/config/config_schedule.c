/* config_schedule.c - schedule entries: the `schedule =` lines of a job and
 * the `run = TIMESPEC JOBSPEC` lines of [schedule]. Equal time specs are
 * parsed once and shared, and an entry's job spec and canonical text live
 * in the config's arena.
 *
 * A `run =` line is compiled by cw_config_compile_entry (config.h), the
 * one compile the admin UI's entries (catalog/entries.h) go through too,
 * so both accept the same entries with the same messages; the loader only
 * adds the caret under the line and moves the result into the arena. */
#include "config_internal.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"

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
            cw_array_reserve((void **)&p->specs, &p->cap_specs, p->n_specs + 1,
                             sizeof(cw_timespec *), 64) < 0)
                return -ENOMEM;
        if ((m->n + 1) * 2 > m->cap) {
                size_t ncap = m->cap ? m->cap * 2 : 256;
                cfg_map_slot *ns = calloc(ncap, sizeof(cfg_map_slot));

                if (!ns)
                        return -ENOMEM;
                for (size_t k = 0; k < m->cap; k++) {
                        if (!m->slots[k].idx1)
                                continue;
                        for (i = m->slots[k].hash & (ncap - 1); ns[i].idx1;
                             i = (i + 1) & (ncap - 1))
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

/* Appends a schedule entry of job number job for js, whose canonical text
 * is spec_text (both in the arena, maybe shared with other entries),
 * firing at ts (taken: kept once among the config's specs). */
static int entry_append(cfg_loader *L, size_t job, cw_jobspec *js, char *spec_text, cw_timespec *ts,
                        int line)
{
        cw_config *c = &L->cfg->pub;
        int r;

        r = spec_intern(L, &ts);
        if (r < 0) {
                cw_timespec_free(ts);
                return r;
        }
        /* Usually sized once from the count of schedule lines (cfg_load_jobs). */
        if (cw_array_reserve((void **)&c->entries, &L->cap_entries, c->n_entries + 1,
                             sizeof(cw_schedule_entry), 16) < 0)
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

int cfg_add_entry(cfg_loader *L, size_t job, cw_jobspec *js, char *spec_text, const char *ts_text,
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
        return entry_append(L, job, js, spec_text, ts, line);
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
                if (js->params[i].key &&
                    !(d->params[i].key = cw_arena_strdup(a, js->params[i].key)))
                        return NULL;
                if (!(d->params[i].value = cw_arena_strdup(a, js->params[i].value)))
                        return NULL;
        }
        return d;
}

/* Splits "TIMESPEC JOBSPEC": the job spec is the last white-space
 * separated word, where double quotes (with \-escapes) may hold spaces. */
static bool split_run(const char *s, size_t *ret_ts_end, size_t *ret_js_start)
{
        size_t i = 0, words = 0, last_start = 0, last_end = 0, prev_end = 0;

        while (s[i]) {
                while (s[i] && cfg_ini_space(s[i]))
                        i++;
                if (!s[i])
                        break;
                prev_end = last_end;
                last_start = i;
                while (s[i] && !cfg_ini_space(s[i])) {
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

/* Records the error of compiling `run =` line kv, whose job spec starts
 * at js_start, with a caret under the part it is about. */
static int run_error(cfg_loader *L, const cfg_kv *kv, size_t js_start, cw_entry_part part,
                     cw_error *err)
{
        switch (part) {
        case CW_ENTRY_PART_JOBSPEC:
                if (err->col >= 0)
                        err->col += (int)js_start;
                return cw_config_error_caret(L, kv->line, err, kv->text, "run: bad job spec: %s",
                                             err->msg);
        case CW_ENTRY_PART_JOB:
                err->col += (int)js_start;
                return cw_config_error_caret(L, kv->line, err, kv->text, "run: %s", err->msg);
        case CW_ENTRY_PART_TIMESPEC:
                /* The time spec starts the line: its columns are the line's. */
                return cw_config_error_caret(L, kv->line, err, kv->text, "run: %s", err->msg);
        case CW_ENTRY_PART_NONE:
                break;
        }
        return -EINVAL;
}

int cfg_add_run(cfg_loader *L, const cfg_kv *kv)
{
        cw_config *c = &L->cfg->pub;
        _cleanup_(cw_schedule_entry_release) cw_schedule_entry e = {0};
        _cleanup_free_ char *ts_text = NULL;
        const char *text = kv->text;
        char q[CFG_QUOTE_MAX], *arena_text;
        cw_entry_part part;
        cw_jobspec *arena_js;
        size_t ts_end, js_start;
        cw_error err;
        int r;

        if (!split_run(text, &ts_end, &js_start))
                return cw_config_error(
                        L, kv->line,
                        "run: expected TIMESPEC JOBSPEC (like '*/10 * * * * Backup:full'), got %s",
                        cw_config_quote(text, q));
        ts_text = strndup(text, ts_end);
        if (!ts_text)
                return -ENOMEM;
        r = cw_config_compile_entry(c, ts_text, text + js_start, L->now, &e, &part, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return run_error(L, kv, js_start, part, &err);
        arena_text = cw_config_strdup(L, e.spec_text);
        arena_js = jobspec_to_arena(L, e.spec, c->jobs[e.job].name);
        if (!arena_text || !arena_js)
                return -ENOMEM;
        return entry_append(L, e.job, arena_js, arena_text, CW_TAKE_PTR(e.when), kv->line);
}

/* ---- one entry, for the config and the admin UI alike ---------------------------- */

static int part_fail(cw_entry_part *ret_part, cw_entry_part part, int r)
{
        if (ret_part)
                *ret_part = part;
        return r;
}

int cw_config_compile_entry(const cw_config *c, const char *timespec, const char *jobspec,
                            cw_time now, cw_schedule_entry *ret, cw_entry_part *ret_part,
                            cw_error *err)
{
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        _cleanup_free_ char *text = NULL;
        const cw_job *job;
        int r;

        cw_error_clear(err);
        if (ret_part)
                *ret_part = CW_ENTRY_PART_NONE;
        if (!c || !jobspec)
                return -EINVAL;
        r = cw_jobspec_parse(jobspec, &js, err);
        if (r < 0)
                return part_fail(ret_part, CW_ENTRY_PART_JOBSPEC, r);
        r = cw_config_check_jobspec(c, js, err);
        if (r < 0) {
                /* The whole spec is underlined: the params as a whole are wrong. */
                if (err) {
                        err->col = 0;
                        err->len = (int)strlen(jobspec);
                }
                return part_fail(ret_part, CW_ENTRY_PART_JOB, r);
        }
        job = cw_config_job(c, js->name);
        text = cw_jobspec_format(js);
        if (!job || !text)
                return !job ? -EINVAL : -ENOMEM;
        /* Never true of a `run =` line, whose time spec is at least a word. */
        if (!timespec || !*timespec)
                return part_fail(
                        ret_part, CW_ENTRY_PART_TIMESPEC,
                        cw_error_set(err, -1, 0,
                                     "a time spec is needed (like '*/10 * * * *' or 'every 1h')"));
        /* The canonical job spec seeds H, so equal entries spread alike. */
        r = cw_timespec_parse(timespec, text, &ts, err);
        if (r < 0)
                return part_fail(ret_part, CW_ENTRY_PART_TIMESPEC, r);
        r = cw_timespec_check_fires(ts, job->tz, now, err);
        if (r < 0)
                return part_fail(ret_part, CW_ENTRY_PART_TIMESPEC, r);
        if (ret)
                *ret = (cw_schedule_entry){
                        .job = (size_t)(job - c->jobs),
                        .spec = CW_TAKE_PTR(js),
                        .spec_text = CW_TAKE_PTR(text),
                        .when = CW_TAKE_PTR(ts),
                        .line = 0,
                };
        return 0;
}

void cw_schedule_entry_release(cw_schedule_entry *e)
{
        if (!e)
                return;
        cw_jobspec_free(e->spec);
        free(e->spec_text);
        cw_timespec_free(e->when);
        *e = (cw_schedule_entry){0};
}

void cw_schedule_entries_free(cw_schedule_entry *e, size_t n)
{
        if (!e)
                return;
        for (size_t i = 0; i < n; i++)
                cw_schedule_entry_release(&e[i]);
        free(e);
}
