/* cli_runs.c - run records for the CLI (see cli_runs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_runs.h"
#include "jobspec/jobspec.h"
#include "report/json.h"

const cw_tz *cli_run_zone(const cw_config *cfg, const cw_run *r)
{
        const cw_job *j = r->job ? cw_config_job(cfg, r->job) : NULL;

        return j ? j->tz : cfg->tz;
}

json_t *cli_run_json(const cw_run *r, int64_t now_us)
{
        return cw_json_run(r, now_us);
}

void cli_format_progress(const cw_run *r, char *buf, size_t size)
{
        if (r->progress_done < 0)
                snprintf(buf, size, "-");
        else if (r->progress_total == 100)
                snprintf(buf, size, "%lld%%", (long long)r->progress_done);
        else if (r->progress_total > 0)
                snprintf(buf, size, "%lld/%lld (%lld%%)", (long long)r->progress_done, (long long)r->progress_total,
                         (long long)(r->progress_done * 100 / r->progress_total));
        else
                snprintf(buf, size, "%lld", (long long)r->progress_done);
}

int cli_parse_run_selector(cw_cli *cli, const char *arg, char **ret_job, char **ret_spec)
{
        cw_jobspec *js = NULL;
        cw_error e;

        if (cw_jobspec_parse(arg, &js, &e) < 0) {
                cli_fail_caret(cli, "bad job spec", arg, &e);
                return -EINVAL;
        }
        *ret_job = strdup(js->name);
        *ret_spec = js->n_params ? cw_jobspec_format(js) : NULL;
        cw_jobspec_free(js);
        return 0;
}

bool cli_run_matches(const cw_run *r, const char *job, const char *spec)
{
        if (job && (!r->job || strcmp(r->job, job) != 0))
                return false;
        return !spec || (r->spec && strcmp(r->spec, spec) == 0);
}
