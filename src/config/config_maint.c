/* config_maint.c - [maintenance NAME] sections (docs/config.md,
 * "[maintenance NAME]"): windows in which the named jobs' fires are
 * skipped or deferred (sched/maint.h applies them). Read after the jobs,
 * whose names `jobs` lists; every problem is recorded, as for any key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/iso8601.h"
#include "base/units.h"
#include "config_internal.h"

/* The raw values of one section, by key. */
typedef struct mvals {
        const cfg_kv *schedule, *duration, *start, *end, *timezone, *jobs;
} mvals;

static mvals values_of(const cfg_section *sec)
{
        mvals v = {0};

        for (size_t k = 0; k < sec->n_kvs; k++) {
                const cfg_kv *kv = &sec->kvs[k];
                if (kv->broken)
                        continue;
                switch (kv->key->id) {
                case CFG_K_M_SCHEDULE:
                        v.schedule = kv;
                        break;
                case CFG_K_M_DURATION:
                        v.duration = kv;
                        break;
                case CFG_K_M_START:
                        v.start = kv;
                        break;
                case CFG_K_M_END:
                        v.end = kv;
                        break;
                case CFG_K_M_TIMEZONE:
                        v.timezone = kv;
                        break;
                case CFG_K_M_JOBS:
                        v.jobs = kv;
                        break;
                default:
                        break;
                }
        }
        return v;
}

/* An instant with an offset, or a wall-clock time in the window's zone. */
static int instant(cfg_loader *L, const cfg_kv *kv, const cw_tz *tz, cw_time *ret)
{
        cw_time two[2];
        int64_t t;
        bool has_offset;
        cw_error e;
        int n;

        if (cw_iso8601_parse(kv->text, &t, &has_offset, &e) < 0)
                return cw_config_error(L, kv->line, "%s: %s", kv->key->name, e.msg);
        if (has_offset) {
                *ret = t;
                return 0;
        }
        n = cw_tz_resolve(tz, t, two);
        if (n <= 0)
                return cw_config_error(L, kv->line,
                                       "%s: '%s' does not exist in %s (a DST gap): give an offset",
                                       kv->key->name, kv->text, cw_tz_name(tz));
        *ret = two[0];
        return 0;
}

static int parse_schedule(cfg_loader *L, cw_maintenance *m, const mvals *v)
{
        cw_timespec *ts = NULL;
        int64_t d = 0;
        cw_error e;
        int r;

        if (!v->duration)
                return cw_config_error(L, v->schedule->line,
                                       "schedule: needs a duration (how long the window lasts)");
        if (cw_duration_parse(v->duration->text, &d, &e) < 0)
                return cw_config_error(L, v->duration->line, "duration: %s", e.msg);
        if (d <= 0)
                return cw_config_error(L, v->duration->line, "duration: must be more than 0");
        r = cw_timespec_parse(v->schedule->text, m->name, &ts, &e);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return cw_config_error_caret(L, v->schedule->line, &e, v->schedule->text,
                                             "schedule: %s", e.msg);
        if (cw_timespec_get_kind(ts) == CW_TIMESPEC_EVERY ||
            cw_timespec_get_kind(ts) == CW_TIMESPEC_REBOOT) {
                cw_timespec_free(ts);
                return cw_config_error(
                        L, v->schedule->line,
                        "schedule: a window opens at calendar instants: use a cron, @daily-style or 'at' spec");
        }
        if (cw_timespec_check_fires(ts, m->tz, L->now, &e) < 0) {
                cw_timespec_free(ts);
                return cw_config_error(L, v->schedule->line, "schedule: %s", e.msg);
        }
        m->when = ts;
        m->duration = d;
        return 0;
}

static int parse_jobs(cfg_loader *L, cw_maintenance *m, const cfg_kv *kv)
{
        cw_strv names = {0};
        const char *p = kv->text;
        int r = 0;

        if (strcmp(kv->text, "all") == 0) {
                m->all = true;
                return 0;
        }
        while (*p && r == 0) {
                size_t n = strcspn(p, ", \t");
                if (n) {
                        char *name = strndup(p, n);
                        if (!name) {
                                r = -ENOMEM;
                                break;
                        }
                        if (!cw_config_job(&L->cfg->pub, name))
                                r = cw_config_error(L, kv->line,
                                                    "jobs: no job called '%s' (or write 'all')",
                                                    name);
                        if (r == 0)
                                r = cw_strv_consume(&names, name);
                        else
                                free(name);
                }
                p += n;
                p += strspn(p, ", \t");
        }
        if (r == 0 && names.n == 0)
                r = cw_config_error(L, kv->line, "jobs: list job names, or write 'all'");
        if (r == 0)
                r = cw_config_strv_freeze(L, names.v, names.n, true, &m->jobs);
        cw_strv_release(&names);
        return r;
}

static int load_one(cfg_loader *L, const cfg_section *sec, cw_maintenance *m)
{
        mvals v = values_of(sec);
        char title[96];
        int r = 0;

        snprintf(title, sizeof(title), "[maintenance %s]", sec->name);
        *m = (cw_maintenance){.name = sec->name, .tz = L->cfg->pub.tz, .line = sec->line};
        if (v.timezone &&
            (r = cw_config_zone_get(L, v.timezone->text, "timezone", v.timezone->line, &m->tz)) < 0)
                return r;
        if (!v.jobs)
                return cw_config_error(L, sec->line, "%s: needs jobs = NAME, ... (or all)", title);
        r = parse_jobs(L, m, v.jobs);
        if (r < 0)
                return r;
        if (v.schedule && (v.start || v.end))
                return cw_config_error(L, v.schedule->line,
                                       "%s: give schedule and duration, or start and end, not both",
                                       title);
        if (v.schedule)
                return parse_schedule(L, m, &v);
        if (!v.start || !v.end)
                return cw_config_error(L, sec->line,
                                       "%s: needs schedule and duration, or start and end", title);
        if (v.duration)
                return cw_config_error(
                        L, v.duration->line,
                        "duration: only with schedule (start and end give the window)");
        r = instant(L, v.start, m->tz, &m->start);
        if (r == 0)
                r = instant(L, v.end, m->tz, &m->end);
        if (r == 0 && m->end <= m->start)
                r = cw_config_error(L, v.end->line, "end: must be after start");
        return r;
}

int cfg_load_maintenance(cfg_loader *L)
{
        cw_config *c = &L->cfg->pub;
        size_t n = 0;

        for (size_t i = 0; i < L->n_sections; i++)
                n += L->sections[i].kind == CFG_SEC_MAINTENANCE;
        if (n == 0)
                return 0;
        c->maintenance = calloc(n, sizeof(cw_maintenance));
        if (!c->maintenance)
                return -ENOMEM;
        for (size_t i = 0; i < L->n_sections; i++) {
                cw_maintenance m;
                int r;

                if (L->sections[i].kind != CFG_SEC_MAINTENANCE)
                        continue;
                r = load_one(L, &L->sections[i], &m);
                if (r == -ENOMEM) {
                        cw_timespec_free(m.when);
                        return r;
                }
                if (r < 0) {
                        cw_timespec_free(m.when);
                        continue;
                }
                c->maintenance[c->n_maintenance++] = m;
        }
        return 0;
}
