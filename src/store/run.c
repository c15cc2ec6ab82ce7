/* run.c - the string tables of a run's enums (see run.h) and releasing a
 * run's strings.
 *
 * Each enum has exactly one table, indexed by the enum value, read both
 * to print a value and to parse it back (docs/hacking.md, Conventions). The names are what the
 * store keeps in its TEXT columns, what the CLI prints and what the API
 * sends, so they never change once released: a rename would need a store
 * migration. Unknown values print as NULL and unknown names parse as
 * -EINVAL; nothing here allocates. */
#include "store/run.h"
#include "base/macro.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {
        [CW_RUN_QUEUED] = "queued",       [CW_RUN_RUNNING] = "running",
        [CW_RUN_SUCCEEDED] = "succeeded", [CW_RUN_FAILED] = "failed",
        [CW_RUN_TIMED_OUT] = "timed_out", [CW_RUN_KILLED] = "killed",
        [CW_RUN_LOST] = "lost",           [CW_RUN_SKIPPED] = "skipped",
        [CW_RUN_MISSED] = "missed",
};
static const char *const trigger_names[] = {
        [CW_TRIGGER_SCHEDULE] = "schedule",     [CW_TRIGGER_MANUAL] = "manual",
        [CW_TRIGGER_REQUEST] = "request",       [CW_TRIGGER_RETRY] = "retry",
        [CW_TRIGGER_DEPENDENCY] = "dependency", [CW_TRIGGER_RESUME] = "resume",
};
static const char *const resume_names[] = {
        [CW_RESUME_NONE] = "none",
        [CW_RESUME_PENDING] = "pending",
        [CW_RESUME_DONE] = "done",
        [CW_RESUME_CLEANED] = "cleaned",
};

/* A table that misses a value would print NULL for it: catch that here. */
_Static_assert(CW_ARRAY_SIZE(status_names) == CW_RUN_STATUS_MAX, "status table incomplete");
_Static_assert(CW_ARRAY_SIZE(trigger_names) == CW_TRIGGER_MAX, "trigger table incomplete");
_Static_assert(CW_ARRAY_SIZE(resume_names) == CW_RESUME_MAX, "resume table incomplete");

static const char *name_of(const char *const *table, size_t n, int v)
{
        return v >= 0 && (size_t)v < n ? table[v] : NULL;
}

static int lookup(const char *const *table, size_t n, const char *name, int *ret)
{
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (strcmp(table[i], name) == 0) {
                        *ret = (int)i;
                        return 0;
                }
        return -EINVAL;
}

const char *cw_run_status_to_string(cw_run_status s)
{
        return name_of(status_names, CW_ARRAY_SIZE(status_names), (int)s);
}

int cw_run_status_from_string(const char *name, cw_run_status *ret)
{
        int v, r = lookup(status_names, CW_ARRAY_SIZE(status_names), name, &v);

        if (r < 0)
                return r;
        *ret = (cw_run_status)v;
        return 0;
}

bool cw_run_status_is_final(cw_run_status s)
{
        return s != CW_RUN_QUEUED && s != CW_RUN_RUNNING;
}

bool cw_run_status_is_failure(cw_run_status s)
{
        return s == CW_RUN_FAILED || s == CW_RUN_TIMED_OUT || s == CW_RUN_LOST;
}

const char *cw_trigger_to_string(cw_trigger t)
{
        return name_of(trigger_names, CW_ARRAY_SIZE(trigger_names), (int)t);
}

int cw_trigger_from_string(const char *name, cw_trigger *ret)
{
        int v, r = lookup(trigger_names, CW_ARRAY_SIZE(trigger_names), name, &v);

        if (r < 0)
                return r;
        *ret = (cw_trigger)v;
        return 0;
}

const char *cw_resume_state_to_string(cw_resume_state r)
{
        return name_of(resume_names, CW_ARRAY_SIZE(resume_names), (int)r);
}

int cw_resume_state_from_string(const char *name, cw_resume_state *ret)
{
        int v, r = lookup(resume_names, CW_ARRAY_SIZE(resume_names), name, &v);

        if (r < 0)
                return r;
        *ret = (cw_resume_state)v;
        return 0;
}

void cw_run_release(cw_run *r)
{
        if (!r)
                return;
        free(r->job);
        free(r->spec);
        free(r->node);
        free(r->reason);
        free(r->lock_key);
        memset(r, 0, sizeof(*r));
}
