/* cli_runs.h - run records as JSON and as table cells, shared by status,
 * history and kill. */
#ifndef CW_CLI_RUNS_H
#define CW_CLI_RUNS_H

#include <jansson.h>

#include "cli.h"

/* Every field of r in the shape the API shares (report/json.h). */
json_t *cli_run_json(const cw_run *r, int64_t now_us);
/* The zone to show a run's times in: its job's, else the config's. */
const cw_tz *cli_run_zone(const cw_config *cfg, const cw_run *r);
/* "13/77 (16%)", "42%", "-" */
void cli_format_progress(const cw_run *r, char *buf, size_t size);
/* Runs selected by a job spec argument: "Name" matches every run of the
 * job, "Name:params" only that canonical spec. -EINVAL (message printed)
 * for a bad spec. *ret_job and *ret_spec are owned by the caller. */
int cli_parse_run_selector(cw_cli *cli, const char *arg, char **ret_job, char **ret_spec);
bool cli_run_matches(const cw_run *r, const char *job, const char *spec);

#endif
