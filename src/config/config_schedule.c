/* config_schedule.c - the schedule entries of a config: `schedule =` lines
 * of a job and `run = TIMESPEC JOBSPEC` lines of [schedule]. Equal time
 * specs are parsed once and shared, and an entry's job spec and canonical
 * text live in the config's arena. */
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
        r = spec_intern(L, &ts);
        if (r < 0) {
                cw_timespec_free(ts);
                return r;
        }
        /* Usually sized once from the count of schedule lines (cfg_load_jobs). */
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

int cfg_add_run(cfg_loader *L, const cfg_kv *kv)
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
        if (!cfg_map_get(&L->cfg->jobs, js->name, cfg_job_name_at, c->jobs, &job))
                return -EINVAL;
        ts_text = strndup(text, ts_end);
        spec_text = cw_jobspec_format(js);
        if (!ts_text || !spec_text)
                return -ENOMEM;
        arena_text = cw_config_strdup(L, spec_text);
        arena_js = jobspec_to_arena(L, js, c->jobs[job].name);
        if (!arena_text || !arena_js)
                return -ENOMEM;
        return cfg_add_entry(L, job, arena_js, arena_text, ts_text, 0, text, "run", kv->line);
}
