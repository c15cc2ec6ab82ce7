/* model.c - the read side of the admin UI and API (see model.h).
 *
 * The jobs overview is the one view that must scale (10 000 jobs, 1 000 000
 * runs): it reads the store a fixed number of times whatever the number of
 * jobs (the newest final run of every job through the job_stats aggregate,
 * active runs through their partial index, disabled flags in one query,
 * UI entries in one), maps rows to jobs through the config's name index,
 * and computes next fires only for the jobs on the requested page. */
#include "http/model.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/array.h"
#include "catalog/entries.h"
#include "report/json.h"
#include "sched/sched.h"
#include "worker/control.h"

/* What a model's entries and jobs borrow from: the UI entries compiled
 * for it, and the jobs created in the UI from command entries. A model
 * indexes jobs as cfg->jobs first, then ui[0..n_ui) (index n_jobs + k);
 * a compiled entry of a UI job has that index as .job. */
struct cw_model_owned {
        cw_schedule_entry *compiled;
        int64_t *ids; /* the UI entry id of each compiled entry */
        size_t n;
        cw_ui_job **ui;    /* by entry id */
        char **ui_why_not; /* why ui[k] does not run now, NULL when it does */
        size_t n_ui;
};

static void owned_free(struct cw_model_owned *o)
{
        if (!o)
                return;
        cw_schedule_entries_free(o->compiled, o->n);
        free(o->ids);
        for (size_t k = 0; k < o->n_ui; k++) {
                cw_ui_job_free(o->ui[k]);
                free(o->ui_why_not[k]);
        }
        free(o->ui);
        free(o->ui_why_not);
        free(o);
}

/* Jobs of the model: configured, then created in the UI. */
static size_t n_all_jobs(const cw_config *cfg, const struct cw_model_owned *own)
{
        return cfg->n_jobs + (own ? own->n_ui : 0);
}

static const cw_job *job_at(const cw_config *cfg, const struct cw_model_owned *own, size_t i)
{
        return i < cfg->n_jobs ? &cfg->jobs[i] : &own->ui[i - cfg->n_jobs]->job;
}

/* The model's index of the job called name, -1 when there is none. */
static ssize_t job_index(const cw_config *cfg, const struct cw_model_owned *own, const char *name)
{
        const cw_job *job = name ? cw_config_job(cfg, name) : NULL;
        int64_t id;

        if (job)
                return job - cfg->jobs;
        if (!own || !cw_ui_job_name_parse(name, &id))
                return -1;
        for (size_t k = 0; k < own->n_ui; k++)
                if (own->ui[k]->entry_id == id)
                        return (ssize_t)(cfg->n_jobs + k);
        return -1;
}

const char *cw_model_source_to_string(cw_model_source s)
{
        static const char *const names[] = {
                [CW_MODEL_SOURCE_CONFIG] = "config",
                [CW_MODEL_SOURCE_UI] = "ui",
        };

        return (unsigned)s < CW_ARRAY_SIZE(names) ? names[s] : NULL;
}

double cw_model_run_duration(const cw_run *r, int64_t now_us)
{
        return cw_json_run_duration(r, now_us);
}

double cw_model_run_percent(const cw_run *r)
{
        return cw_json_run_percent(r);
}

static bool scheduler_enabled(cw_store *s, int *ret_err)
{
        _cleanup_free_ char *v = NULL;
        int r = cw_store_state_get(s, "enabled", &v);

        *ret_err = r == -ENOENT ? 0 : r;
        return r == -ENOENT || (r == 0 && strcmp(v, "0") != 0);
}

/* ---- next fires ----------------------------------------------------------- */

/* The next fires of e (in tz) after now, at most max of them into fires;
 * returns how many. `every` entries continue from their last fire, kept
 * by the scheduler in the store (never fired: due at the next pass). */
static size_t entry_fires(cw_store *s, const cw_schedule_entry *e, const cw_tz *tz, cw_time now,
                          cw_time *fires, size_t max)
{
        size_t n = 0;
        cw_time t = now;

        switch (cw_timespec_get_kind(e->when)) {
        case CW_TIMESPEC_REBOOT:
                return 0;
        case CW_TIMESPEC_EVERY: {
                _cleanup_free_ char *prev = NULL;
                cw_duration step = cw_timespec_interval(e->when);
                char *end;

                if (step <= 0)
                        return 0;
                if (cw_sched_every_get(s, e, false, &prev) == 0) {
                        t = strtoll(prev, &end, 10) + step;
                        if (*end || t < now)
                                t = now; /* overdue: the next pass fires it */
                }
                for (; n < max; n++, t += step)
                        fires[n] = t;
                return n;
        }
        case CW_TIMESPEC_CRON:
        case CW_TIMESPEC_AT:
                while (n < max && cw_timespec_next(e->when, tz, t, &t) == 0)
                        fires[n++] = t;
                return n;
        }
        return 0;
}

static void entry_fill(cw_store *s, cw_model_entry *m, const cw_schedule_entry *e,
                       const cw_job *job, cw_model_source src, int64_t ui_id, cw_time now,
                       bool all_fires)
{
        cw_time first;

        *m = (cw_model_entry){
                .source = src,
                .when = cw_timespec_text(e->when),
                .ts = e->when,
                .spec = e->spec_text,
                .zone = cw_tz_name(job->tz),
                .tz = job->tz,
                .line = src == CW_MODEL_SOURCE_CONFIG ? e->line : 0,
                .ui_id = ui_id,
                .reboot = cw_timespec_get_kind(e->when) == CW_TIMESPEC_REBOOT,
                .fixed_time = cw_timespec_is_fixed_time(e->when),
        };
        if (all_fires) {
                m->n_next = entry_fires(s, e, job->tz, now, m->next_fires, CW_MODEL_NEXT_FIRES);
                m->next = m->n_next > 0 ? m->next_fires[0] : 0;
        } else if (entry_fires(s, e, job->tz, now, &first, 1) == 1) {
                m->next = first;
        }
}

/* Adds the job of command entry e (even one that does not run now, to
 * show it); *ret_k is its place in o->ui, or SIZE_MAX when the command
 * cannot make a job at all (the entries page says why). */
static int owned_add_ui_job(const cw_config *cfg, struct cw_model_owned *o, const cw_ui_entry *e,
                            size_t *cap, size_t *ret_k)
{
        cw_ui_job *u = NULL;
        char *why = NULL;
        cw_error err;
        int r;

        *ret_k = SIZE_MAX;
        r = cw_ui_job_build_for_display(cfg, e, &u, &why, &err);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        if (*cap <= o->n_ui) {
                size_t c = *cap ? *cap * 2 : 8;
                cw_ui_job **ui = realloc(o->ui, c * sizeof(*ui));
                char **w = ui ? realloc(o->ui_why_not, c * sizeof(*w)) : NULL;

                if (ui)
                        o->ui = ui;
                if (w)
                        o->ui_why_not = w;
                if (!ui || !w) {
                        cw_ui_job_free(u);
                        free(why);
                        return -ENOMEM;
                }
                *cap = c;
        }
        o->ui[o->n_ui] = u;
        o->ui_why_not[o->n_ui] = why;
        *ret_k = o->n_ui++;
        return 0;
}

/* Compiles the store's enabled UI entries against cfg (the ones that
 * fire), and makes the jobs of its command entries. */
static int owned_load(const cw_config *cfg, cw_store *s, cw_time now, struct cw_model_owned **ret)
{
        struct cw_model_owned *o = calloc(1, sizeof(*o));
        cw_ui_entry *list = NULL;
        size_t n = 0, cap = 0, cap_ids = 0, cap_ui = 0;
        int r;

        if (!o)
                return -ENOMEM;
        r = cw_store_ui_entries_list(s, &list, &n);
        for (size_t i = 0; r == 0 && i < n; i++) {
                cw_schedule_entry e;
                size_t k = SIZE_MAX;
                cw_error err;

                if (list[i].command) {
                        r = owned_add_ui_job(cfg, o, &list[i], &cap_ui, &k);
                        if (r < 0 || k == SIZE_MAX || o->ui_why_not[k])
                                continue;
                }
                if (!list[i].enabled)
                        continue;
                r = cw_ui_entry_compile_stored(cfg, &list[i], now, &e, NULL, NULL, &err);
                if (r == -EINVAL || r == -EPERM || r == -EEXIST) {
                        r = 0;
                        continue;
                }
                if (r == 0 && k != SIZE_MAX)
                        e.job = cfg->n_jobs + k;
                if (r == 0)
                        r = cw_array_reserve((void **)&o->compiled, &cap, o->n + 1,
                                             sizeof(*o->compiled), 8);
                if (r == 0)
                        r = cw_array_reserve((void **)&o->ids, &cap_ids, o->n + 1, sizeof(*o->ids),
                                             8);
                if (r < 0) {
                        cw_schedule_entry_release(&e);
                        break;
                }
                o->ids[o->n] = list[i].id;
                o->compiled[o->n++] = e;
        }
        cw_ui_entries_free(list, n);
        if (r < 0) {
                owned_free(o);
                return r;
        }
        *ret = o;
        return 0;
}

/* ---- jobs overview -------------------------------------------------------- */

static void model_job_release(cw_model_job *j)
{
        if (!j)
                return;
        free(j->entries);
        cw_run_release(&j->last);
        cw_run_release(&j->running);
        *j = (cw_model_job){0};
}

void cw_model_jobs_release(cw_model_jobs *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n; i++)
                model_job_release(&m->jobs[i]);
        free(m->jobs);
        owned_free(m->owned);
        *m = (cw_model_jobs){0};
}

static int name_cmp(const void *key, const void *elem)
{
        return strcmp(key, *(char *const *)elem);
}

/* The model's job i (see struct cw_model_owned) into *j. */
static void model_job_init(const cw_config *cfg, const struct cw_model_owned *own, size_t i,
                           cw_model_job *j)
{
        j->job = job_at(cfg, own, i);
        if (i >= cfg->n_jobs) {
                j->ui_entry = own->ui[i - cfg->n_jobs]->entry_id;
                j->ui_why_not = own->ui_why_not[i - cfg->n_jobs];
        }
}

/* The page's entries: config entries then UI ones, per job in that order. */
static int fill_entries(const cw_config *cfg, cw_store *s, const struct cw_model_owned *own,
                        cw_model_job *jobs, const ssize_t *pos, cw_time now, bool all_fires)
{
        size_t n_all = cfg->n_entries + own->n;

        for (size_t k = 0; k < n_all; k++) {
                const cw_schedule_entry *e =
                        k < cfg->n_entries ? &cfg->entries[k] : &own->compiled[k - cfg->n_entries];
                ssize_t p = pos[e->job];

                if (p >= 0)
                        jobs[p].n_entries++;
        }
        for (size_t k = 0; k < n_all; k++) {
                const cw_schedule_entry *e =
                        k < cfg->n_entries ? &cfg->entries[k] : &own->compiled[k - cfg->n_entries];
                bool ui = k >= cfg->n_entries;
                ssize_t p = pos[e->job];
                cw_model_job *j;
                cw_model_entry *m;

                if (p < 0)
                        continue;
                j = &jobs[p];
                if (!j->entries) {
                        j->entries = calloc(j->n_entries, sizeof(*j->entries));
                        if (!j->entries)
                                return -ENOMEM;
                        j->n_entries = 0;
                }
                m = &j->entries[j->n_entries++];
                entry_fill(s, m, e, j->job, ui ? CW_MODEL_SOURCE_UI : CW_MODEL_SOURCE_CONFIG,
                           ui ? own->ids[k - cfg->n_entries] : 0, now, all_fires);
                if (m->next && (j->next == 0 || m->next < j->next))
                        j->next = m->next;
        }
        return 0;
}

/* Asking for a page's jobs by name costs a lookup each; past this many,
 * one query for every job is cheaper. */
#define LAST_BY_NAME_MAX 1000

/* pos[i] of a job that matches the overview's filter but is on another
 * page (-1: does not match, >= 0: its place on the page). */
#define POS_OFF_PAGE ((ssize_t)-2)

bool cw_model_status_failing(cw_run_status s)
{
        return cw_run_status_is_failure(s);
}

/* The last runs of the jobs shown (pos[i] >= 0): by name for a page, so a
 * page of 200 does not read all 10 000 jobs' last runs. */
static int jobs_last(const cw_config *cfg, const struct cw_model_owned *own, cw_store *s,
                     const ssize_t *pos, cw_run **ret, size_t *ret_n)
{
        _cleanup_free_ const char **names = NULL;
        size_t n = 0, n_all = n_all_jobs(cfg, own);

        for (size_t i = 0; i < n_all; i++)
                n += pos[i] >= 0;
        if (n > LAST_BY_NAME_MAX)
                return cw_store_jobs_last(s, NULL, 0, ret, ret_n);
        names = calloc(n ? n : 1, sizeof(*names));
        if (!names)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < n_all; i++)
                if (pos[i] >= 0)
                        names[n++] = job_at(cfg, own, i)->name;
        return cw_store_jobs_last(s, names, n, ret, ret_n);
}

/* Flags, last and running runs of the jobs at pos (index in the model's
 * jobs -> place on the page, -1 when not on it); with ret_failing, the
 * number of jobs with pos[i] != -1 whose last run is failing. */
static int fill_runs(const cw_config *cfg, const struct cw_model_owned *own, cw_store *s,
                     cw_model_job *jobs, const ssize_t *pos, size_t *ret_running,
                     size_t *ret_failing)
{
        size_t n_all = n_all_jobs(cfg, own), n_failing = 0;
        char **disabled = NULL;
        size_t n_disabled = 0, n = 0;
        cw_run *runs = NULL;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        int r;

        r = cw_store_jobs_disabled(s, &disabled, &n_disabled);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_all; i++) {
                const cw_job *job = job_at(cfg, own, i);

                if (pos[i] < 0)
                        continue;
                jobs[pos[i]].enabled_config = job->enabled;
                /* bsearch wants a non-NULL base even for 0 elements. */
                jobs[pos[i]].enabled =
                        job->enabled && !(n_disabled && bsearch(job->name, disabled, n_disabled,
                                                                sizeof(char *), name_cmp));
        }
        cw_store_names_free(disabled, n_disabled);

        /* Failing jobs, on this page or another one of the same filter,
         * from the store's per-job aggregates (not every job's last run). */
        if (ret_failing) {
                char **failing = NULL;
                size_t n_f = 0;

                r = cw_store_jobs_failing(s, &failing, &n_f);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_f; i++) {
                        ssize_t x = job_index(cfg, own, failing[i]);

                        n_failing += x >= 0 && pos[x] != -1;
                }
                cw_store_names_free(failing, n_f);
        }
        r = jobs_last(cfg, own, s, pos, &runs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                ssize_t x = job_index(cfg, own, runs[i].job);
                ssize_t p = x >= 0 ? pos[x] : -1;

                if (p >= 0 && runs[i].id > jobs[p].last.id) {
                        cw_run_release(&jobs[p].last);
                        jobs[p].last = runs[i];
                        runs[i] = (cw_run){0};
                }
        }
        cw_runs_free(runs, n);

        f.active = true;
        r = cw_store_runs_list(s, &f, &runs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                ssize_t x = job_index(cfg, own, runs[i].job);
                ssize_t p = x >= 0 ? pos[x] : -1;

                if (p < 0)
                        continue;
                if (jobs[p].n_running++ == 0) { /* newest first */
                        jobs[p].running = runs[i];
                        runs[i] = (cw_run){0};
                }
        }
        if (ret_running)
                *ret_running = n;
        if (ret_failing)
                *ret_failing = n_failing;
        cw_runs_free(runs, n);
        return 0;
}

int cw_model_jobs_get(const cw_config *cfg, cw_store *s, int64_t now_us,
                      const cw_model_jobs_opts *o, cw_model_jobs *ret, cw_error *err)
{
        static const cw_model_jobs_opts all = {0};
        cw_time now = cw_floordiv(now_us, 1000000);
        cw_model_jobs m = {0};
        _cleanup_free_ ssize_t *pos = NULL;
        size_t skipped = 0, n_all;
        int r, e;

        cw_error_clear(err);
        if (!cfg || !s || !ret)
                return -EINVAL;
        if (!o)
                o = &all;
        /* The UI's entries first: the jobs created there are listed too. */
        r = owned_load(cfg, s, now, &m.owned);
        if (r < 0)
                return cw_error_fail(err, r, "cannot read the jobs: %s", strerror(-r));
        n_all = n_all_jobs(cfg, m.owned);
        pos = malloc((n_all ? n_all : 1) * sizeof(*pos));
        if (!pos) {
                cw_model_jobs_release(&m);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_all; i++) {
                bool match = !o->name_contains || !*o->name_contains ||
                             strcasestr(job_at(cfg, m.owned, i)->name, o->name_contains);

                pos[i] = -1;
                if (!match)
                        continue;
                m.total++;
                pos[i] = POS_OFF_PAGE;
                if (skipped < o->offset) {
                        skipped++;
                        continue;
                }
                if (o->limit && m.n >= o->limit)
                        continue;
                pos[i] = (ssize_t)m.n++;
        }
        m.jobs = calloc(m.n ? m.n : 1, sizeof(*m.jobs));
        if (!m.jobs) {
                cw_model_jobs_release(&m);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_all; i++)
                if (pos[i] >= 0)
                        model_job_init(cfg, m.owned, i, &m.jobs[pos[i]]);
        m.scheduler_enabled = scheduler_enabled(s, &e);
        r = e;
        if (r == 0)
                r = fill_entries(cfg, s, m.owned, m.jobs, pos, now, false);
        if (r == 0)
                r = fill_runs(cfg, m.owned, s, m.jobs, pos, &m.n_running, &m.n_failing);
        if (r < 0) {
                cw_model_jobs_release(&m);
                return cw_error_fail(err, r, "cannot read the jobs: %s", strerror(-r));
        }
        *ret = m;
        return 0;
}

/* ---- one job -------------------------------------------------------------- */

void cw_model_job_detail_release(cw_model_job_detail *d)
{
        if (!d)
                return;
        model_job_release(&d->j);
        cw_runs_free(d->recent, d->n_recent);
        free(d->after);
        free(d->before);
        owned_free(d->owned);
        *d = (cw_model_job_detail){0};
}

static int dbl_cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values. */
static double percentile(const double *v, size_t n, double p)
{
        size_t rank = (size_t)ceil(p * (double)n);

        return v[rank > 0 ? rank - 1 : 0];
}

static void recent_stats(cw_model_job_detail *d)
{
        double durs[CW_MODEL_RECENT_RUNS];
        size_t n = 0, failed = 0;

        d->p50 = d->p95 = d->failure_rate = -1;
        for (size_t i = 0; i < d->n_recent && n < CW_MODEL_RECENT_RUNS; i++) {
                const cw_run *r = &d->recent[i];

                if (r->status != CW_RUN_SUCCEEDED && r->status != CW_RUN_FAILED &&
                    r->status != CW_RUN_TIMED_OUT && r->status != CW_RUN_LOST)
                        continue;
                durs[n++] = cw_model_run_duration(r, r->ended_us);
                if (r->status != CW_RUN_SUCCEEDED)
                        failed++;
        }
        if (n == 0)
                return;
        qsort(durs, n, sizeof(*durs), dbl_cmp);
        d->p50 = percentile(durs, n, 0.50);
        d->p95 = percentile(durs, n, 0.95);
        d->failure_rate = (double)failed / (double)n;
}

static int job_links(const cw_config *cfg, const cw_job *job, cw_model_job_detail *d)
{
        size_t cap = 0;

        d->after = calloc(job->after.n + 1, sizeof(*d->after));
        if (!d->after)
                return -ENOMEM;
        for (size_t i = 0; i < job->after.n; i++) {
                const cw_job *a = cw_config_job(cfg, job->after.v[i]);
                if (a)
                        d->after[d->n_after++] = a;
        }
        for (size_t i = 0; i < cfg->n_jobs; i++) {
                if (cw_strv_find(&cfg->jobs[i].after, job->name) < 0)
                        continue;
                if (cw_array_reserve((void **)&d->before, &cap, d->n_before + 1, sizeof(*d->before),
                                     4) < 0)
                        return -ENOMEM;
                d->before[d->n_before++] = &cfg->jobs[i];
        }
        return 0;
}

int cw_model_job_get(const cw_config *cfg, cw_store *s, int64_t now_us, const char *name,
                     cw_model_job_detail *ret, cw_error *err)
{
        cw_time now = cw_floordiv(now_us, 1000000);
        cw_model_job_detail d = {0};
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_job_stats *st = NULL;
        _cleanup_free_ ssize_t *pos = NULL;
        const cw_job *job;
        size_t n_st = 0, n_all;
        ssize_t idx;
        int r;

        cw_error_clear(err);
        if (!cfg || !s || !name || !ret)
                return -EINVAL;
        r = owned_load(cfg, s, now, &d.owned);
        if (r < 0)
                return cw_error_fail(err, r, "cannot read job '%s': %s", name, strerror(-r));
        idx = job_index(cfg, d.owned, name);
        if (idx < 0) {
                cw_model_job_detail_release(&d);
                return cw_error_fail(err, -ENOENT, "no job named '%s'", name);
        }
        n_all = n_all_jobs(cfg, d.owned);
        pos = malloc((n_all ? n_all : 1) * sizeof(*pos));
        if (!pos) {
                cw_model_job_detail_release(&d);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_all; i++)
                pos[i] = (ssize_t)i == idx ? 0 : -1;
        model_job_init(cfg, d.owned, (size_t)idx, &d.j);
        job = d.j.job;
        r = fill_entries(cfg, s, d.owned, &d.j, pos, now, true);
        if (r == 0)
                r = fill_runs(cfg, d.owned, s, &d.j, pos, NULL, NULL);
        if (r == 0) {
                f.job = job->name;
                f.limit = CW_MODEL_RECENT_RUNS;
                r = cw_store_runs_list(s, &f, &d.recent, &d.n_recent);
        }
        if (r == 0)
                r = job_links(cfg, job, &d);
        if (r == 0)
                r = cw_store_stats_list(s, job->name, &st, &n_st, NULL);
        if (r < 0) {
                cw_model_job_detail_release(&d);
                return cw_error_fail(err, r, "cannot read job '%s': %s", name, strerror(-r));
        }
        if (n_st > 0) {
                memcpy(d.counts, st[0].runs, sizeof(d.counts));
                d.last_success_us = st[0].last_success_us;
        }
        cw_job_stats_free(st, n_st);
        recent_stats(&d);
        *ret = d;
        return 0;
}

/* ---- runs ----------------------------------------------------------------- */

void cw_model_runs_release(cw_model_runs *m)
{
        if (!m)
                return;
        cw_runs_free(m->runs, m->n);
        *m = (cw_model_runs){0};
}

int cw_model_runs_list(const cw_config *cfg, cw_store *s, const cw_model_runs_filter *mf,
                       cw_model_runs *ret, cw_error *err)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_model_runs m = {0};
        size_t limit;
        int r;

        (void)cfg;
        cw_error_clear(err);
        if (!s || !mf || !ret)
                return -EINVAL;
        limit = mf->limit == 0                  ? CW_MODEL_RUNS_DEFAULT
                : mf->limit > CW_MODEL_RUNS_MAX ? CW_MODEL_RUNS_MAX
                                                : mf->limit;
        f.job = mf->job && *mf->job ? mf->job : NULL;
        f.status = mf->status;
        f.active = mf->active;
        f.before_id = mf->before_id;
        f.limit = limit + 1; /* one more says whether there is an older page */
        r = cw_store_runs_list(s, &f, &m.runs, &m.n);
        if (r < 0)
                return cw_error_fail(err, r, "cannot list runs: %s", strerror(-r));
        if (m.n > limit) {
                cw_run_release(&m.runs[limit]);
                m.n = limit;
                m.next_before = m.runs[limit - 1].id;
        }
        *ret = m;
        return 0;
}

int cw_model_parse_status(const char *value, cw_model_runs_filter *f, cw_error *err)
{
        cw_run_status st;
        char names[200] = "";
        size_t n = 0;

        if (!value || !*value)
                return 0;
        if (strcmp(value, "active") == 0) {
                f->active = true;
                return 0;
        }
        if (cw_run_status_from_string(value, &st) == 0) {
                f->status = (int)st;
                return 0;
        }
        for (int i = 0; i < CW_RUN_STATUS_MAX && n < sizeof(names); i++) {
                int w = snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
                                 cw_run_status_to_string((cw_run_status)i));
                if (w < 0)
                        break;
                n += (size_t)w;
        }
        return cw_error_set(err, -1, 0, "status: unknown status '%.64s%s' (expected active, %s)",
                            value, strlen(value) > 64 ? "..." : "", names);
}

/* A decimal integer in [min, max], nothing else (no sign, no spaces). */
static int parse_uint(const char *value, int64_t min, int64_t max, int64_t *ret)
{
        int64_t v = 0;

        if (!value || !*value || strlen(value) > 19)
                return -EINVAL;
        for (const char *p = value; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                v = v * 10 + (*p - '0');
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int cw_model_parse_before(const char *value, cw_model_runs_filter *f, cw_error *err)
{
        int64_t v;

        if (!value || !*value)
                return 0;
        if (parse_uint(value, 1, INT64_MAX, &v) < 0)
                return cw_error_set(
                        err, -1, 0,
                        "before: expected a run id (a positive whole number), got '%.64s%s'", value,
                        strlen(value) > 64 ? "..." : "");
        f->before_id = v;
        return 0;
}

int cw_model_parse_limit(const char *value, cw_model_runs_filter *f, cw_error *err)
{
        int64_t v;

        if (!value || !*value)
                return 0;
        if (parse_uint(value, 1, CW_MODEL_RUNS_MAX, &v) < 0)
                return cw_error_set(err, -1, 0,
                                    "limit: expected a number from 1 to %d, got '%.64s%s'",
                                    CW_MODEL_RUNS_MAX, value, strlen(value) > 64 ? "..." : "");
        f->limit = (size_t)v;
        return 0;
}

int cw_model_parse_id(const char *value, int64_t *ret, cw_error *err)
{
        int64_t v;

        if (parse_uint(value, 1, INT64_MAX, &v) < 0)
                return cw_error_set(err, -1, 0,
                                    "expected an id (a positive whole number), got '%.64s%s'",
                                    value ? value : "", value && strlen(value) > 64 ? "..." : "");
        *ret = v;
        return 0;
}

void cw_model_run_release(cw_model_run *m)
{
        if (!m)
                return;
        cw_run_release(&m->run);
        free(m->output);
        cw_ui_job_free(m->ui_job);
        *m = (cw_model_run){0};
}

int cw_model_run_get(const cw_config *cfg, cw_store *s, int64_t id, bool with_output,
                     cw_model_run *ret, cw_error *err)
{
        cw_model_run m = {0};
        int r;

        cw_error_clear(err);
        if (!cfg || !s || !ret)
                return -EINVAL;
        r = cw_store_run_get(s, id, &m.run);
        if (r == -ENOENT)
                return cw_error_fail(err, r, "no run %" PRId64, id);
        if (r == 0 && with_output)
                r = cw_store_run_output(s, id, &m.output, &m.output_len);
        if (r < 0) {
                cw_model_run_release(&m);
                return cw_error_fail(err, r, "cannot read run %" PRId64 ": %s", id, strerror(-r));
        }
        m.job = cw_config_job(cfg, m.run.job);
        if (!m.job && cw_ui_job_name_parse(m.run.job, NULL)) {
                /* A job created in the UI, while its entry is there. */
                cw_job_ref ref;
                if (cw_job_resolve(cfg, s, m.run.job, &ref, NULL) == 0) {
                        m.ui_job = ref.ui;
                        m.job = ref.job;
                }
        }
        if (!cw_run_status_is_final(m.run.status))
                m.alive = cw_control_is_alive(cfg, &m.run);
        *ret = m;
        return 0;
}

/* ---- scheduler ------------------------------------------------------------ */

void cw_model_scheduler_release(cw_model_scheduler *m)
{
        if (!m)
                return;
        cw_requests_free(m->pending, m->n_pending);
        *m = (cw_model_scheduler){0};
}

int cw_model_scheduler_get(const cw_config *cfg, cw_store *s, cw_model_scheduler *ret,
                           cw_error *err)
{
        cw_model_scheduler m = {0};
        cw_run_filter f = CW_RUN_FILTER_INIT;
        _cleanup_free_ char *last = NULL;
        cw_run *runs = NULL;
        size_t n = 0;
        int r;

        cw_error_clear(err);
        if (!cfg || !s || !ret)
                return -EINVAL;
        m.node = cfg->node;
        m.enabled = scheduler_enabled(s, &r);
        if (r == 0) {
                r = cw_store_state_get(s, "last_pass", &last);
                if (r == 0)
                        m.last_pass = strtoll(last, NULL, 10);
                if (r == -ENOENT)
                        r = 0;
        }
        if (r == 0)
                r = cw_store_requests_pending(s, CW_MODEL_REQUESTS_MAX, &m.pending, &m.n_pending);
        if (r == 0) {
                f.active = true;
                r = cw_store_runs_list(s, &f, &runs, &n);
                cw_runs_free(runs, n);
                m.n_running = n;
        }
        if (r < 0) {
                cw_model_scheduler_release(&m);
                return cw_error_fail(err, r, "cannot read the scheduler state: %s", strerror(-r));
        }
        *ret = m;
        return 0;
}

/* ---- UI entries ----------------------------------------------------------- */

void cw_model_ui_entry_release(cw_model_ui_entry *m)
{
        if (!m)
                return;
        cw_ui_entry_release(&m->e);
        free(m->error);
        *m = (cw_model_ui_entry){0};
}

void cw_model_ui_entries_release(cw_model_ui_entries *m)
{
        if (!m)
                return;
        for (size_t i = 0; i < m->n; i++)
                cw_model_ui_entry_release(&m->entries[i]);
        free(m->entries);
        *m = (cw_model_ui_entries){0};
}

/* Checks entry m->e against cfg and fills job/valid/error/zone/next. */
static int ui_entry_check(const cw_config *cfg, cw_store *s, cw_time now, cw_model_ui_entry *m)
{
        cw_schedule_entry e = {0};
        const cw_tz *tz = NULL;
        cw_ui_field field;
        cw_error err;
        char buf[400];
        int r;

        if (m->e.command)
                cw_ui_job_name(m->e.id, m->job);
        else
                snprintf(m->job, sizeof(m->job), "%.*s",
                         (int)strcspn(m->e.spec ? m->e.spec : "", ":"), m->e.spec ? m->e.spec : "");
        r = cw_ui_entry_compile_stored(cfg, &m->e, now, &e, &tz, &field, &err);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                snprintf(buf, sizeof(buf), "%s: %s", cw_ui_field_to_string(field), err.msg);
                m->error = strdup(buf);
                return m->error ? 0 : -ENOMEM;
        }
        m->valid = true;
        m->zone = cw_tz_name(tz);
        m->tz = tz;
        if (entry_fires(s, &e, tz, now, &m->next, 1) != 1)
                m->next = 0;
        cw_schedule_entry_release(&e);
        return 0;
}

int cw_model_ui_entries_list(const cw_config *cfg, cw_store *s, int64_t now_us,
                             cw_model_ui_entries *ret, cw_error *err)
{
        cw_model_ui_entries m = {0};
        cw_ui_entry *list = NULL;
        size_t n = 0;
        int r;

        cw_error_clear(err);
        if (!cfg || !s || !ret)
                return -EINVAL;
        m.allow_commands = cfg->allow_ui_commands;
        r = cw_store_ui_entries_list(s, &list, &n);
        if (r == 0 && n > 0) {
                m.entries = calloc(n, sizeof(*m.entries));
                if (!m.entries)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r == 0 && i < n; i++) {
                m.entries[i].e = list[i];
                list[i] = (cw_ui_entry){0};
                m.n++;
                r = ui_entry_check(cfg, s, cw_floordiv(now_us, 1000000), &m.entries[i]);
        }
        cw_ui_entries_free(list, n);
        if (r < 0) {
                cw_model_ui_entries_release(&m);
                return cw_error_fail(err, r, "cannot read the entries: %s", strerror(-r));
        }
        *ret = m;
        return 0;
}

int cw_model_ui_entry_get(const cw_config *cfg, cw_store *s, int64_t now_us, int64_t id,
                          cw_model_ui_entry *ret, cw_error *err)
{
        cw_model_ui_entry m = {0};
        int r;

        cw_error_clear(err);
        if (!cfg || !s || !ret)
                return -EINVAL;
        r = cw_store_ui_entry_get(s, id, &m.e);
        if (r == -ENOENT)
                return cw_error_fail(err, r, "no entry %" PRId64, id);
        if (r == 0)
                r = ui_entry_check(cfg, s, cw_floordiv(now_us, 1000000), &m);
        if (r < 0) {
                cw_model_ui_entry_release(&m);
                return cw_error_fail(err, r, "cannot read entry %" PRId64 ": %s", id, strerror(-r));
        }
        *ret = m;
        return 0;
}
