/* cli_runs.h - run records as JSON and as table cells, shared by status,
 * history and kill. */
#ifndef CW_CLI_RUNS_H
#define CW_CLI_RUNS_H

#include <jansson.h>

#include "cli.h"
#include "worker/control.h"

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
/* Who runs this command, for the history: "alice@NODE" (a uid without a
 * passwd entry by its number). */
void cli_who(const cw_config *cfg, char *buf, size_t size);

/* Queued runs left by dead workers (worker/control.h): whether no process
 * can start a queued run now (no daemon on data_dir, nobody holding the
 * spawners' hand-over lock), made sure of by holding that lock until
 * cli_starters_release(), so no spawner starts one meanwhile. Returns the
 * held lock's fd, or -1 when a daemon or a spawner is there (or the lock
 * cannot be had): then a queued run without a start record is STARTING. */
int cli_starters_hold(const cw_config *cfg);
void cli_starters_release(int fd); /* accepts -1 */
/* The fate of queued run r (starters_gone: cli_starters_hold succeeded). */
bool cli_queued_alive(const cw_config *cfg, const cw_run *r, bool starters_gone,
                      cw_queued_fate *ret_fate);

#endif
