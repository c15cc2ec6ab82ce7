/* limits.c - what max_running counts, and how a held start is said (see
 * limits.h). */
#include "limits.h"

#include <stdio.h>
#include <string.h>

bool cw_sched_limits_on(const cw_config *cfg)
{
        return cfg->max_running > 0 || cfg->max_load > 0;
}

int cw_sched_count_active(cw_store *s, const cw_config *cfg,
                          bool (*skip)(const void *userdata, int64_t run_id), const void *userdata,
                          long *ret)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;
        long active = 0;
        int r;

        f.active = true;
        r = cw_store_runs_list(s, &f, &runs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const cw_run *q = &runs[i];
                if (q->trigger == CW_TRIGGER_MANUAL || (skip && skip(userdata, q->id)))
                        continue;
                if (q->node && cfg->node && strcmp(q->node, cfg->node) != 0)
                        continue;
                active++;
        }
        cw_runs_free(runs, n);
        *ret = active;
        return 0;
}

void cw_sched_held_reason(const cw_config *cfg, bool load_high, double load, char *buf, size_t size)
{
        if (load_high)
                snprintf(buf, size, "the load average %.2f is above max_load = %g", load,
                         cfg->max_load);
        else
                snprintf(buf, size, "max_running = %d runs are running", cfg->max_running);
}
