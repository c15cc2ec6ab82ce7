/* cli.h - the command-line front: shared state and helpers for the
 * command implementations (cmd_*.c). This layer is the only one that
 * prints to the user or chooses an exit code (docs/cronwarden.1):
 * 0 ok, 1 job failed, 2 usage/config/spec error, 75 lock held. */
#ifndef CW_CLI_CLI_H
#define CW_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "base/civil.h"
#include "base/clock.h"
#include "base/error.h"
#include "config/config.h"
#include "sched/sched.h"
#include "store/store.h"

#define CW_EXIT_OK 0
#define CW_EXIT_JOB_FAILED 1
#define CW_EXIT_USAGE 2
#define CW_EXIT_LOCKED 75

typedef struct cw_cli {
        const char *prog;        /* "cronwarden" */
        const char *config_path; /* --config, or NULL */
        const char *config_env;  /* $CRONWARDEN_CONFIG, or NULL */
        const char *zoneinfo;    /* $TZDIR ($CRONWARDEN_ZONEINFO in tests), or NULL */
        const char
                *config_snapshot; /* run --config-snapshot: the text to load instead of the file */
        cw_clock clock;           /* the daemon's ($CRONWARDEN_FAKE_NOW for tests) */
        cw_instant now;           /* clock read once at start (exactly $CRONWARDEN_FAKE_NOW) */
        FILE *out;
        FILE *err;
        /* A program embedding cronwarden (cronwarden.h): its functions,
         * which config loads resolve `function = NAME` against; NULL in
         * the cronwarden binary itself. */
        const struct cw_cli_embed *embed;
} cw_cli;

/* What cronwarden_main (src/embed/) adds to the command line. */
typedef struct cw_cli_embed {
        cw_config_function_lookup function;
        const void *userdata;
        /* The internal command `run-function NAME` (the process of a
         * function job, started by its worker): runs it, returns the
         * exit status. argv[0] is "run-function". */
        int (*run_function)(const void *userdata, cw_cli *cli, int argc, char **argv);
} cw_cli_embed;

/* The whole command line (main.c): `cronwarden` passes embed NULL. */
int cw_cli_main(const cw_cli_embed *embed, int argc, char **argv);

typedef struct cw_command {
        const char *name;
        int (*run)(cw_cli *cli, int argc, char **argv);
        const char *summary;
        const char *usage; /* full --help text */
} cw_command;

extern const cw_command cw_cmd_check, cw_cmd_next, cw_cmd_jobs, cw_cmd_info;
extern const cw_command cw_cmd_run, cw_cmd_progress;
extern const cw_command cw_cmd_status, cw_cmd_kill, cw_cmd_resume, cw_cmd_clean, cw_cmd_suspend;
extern const cw_command cw_cmd_history, cw_cmd_logs, cw_cmd_prune;
extern const cw_command cw_cmd_tick, cw_cmd_daemon, cw_cmd_passwd, cw_cmd_store;
extern const cw_command cw_cmd_diff, cw_cmd_drain, cw_cmd_undrain;
extern const cw_command cw_cmd_disable, cw_cmd_enable, cw_cmd_request, cw_cmd_crontab,
        cw_cmd_import_crontab;
extern const cw_command cw_cmd_notify_test, cw_cmd_notifications;
extern const cw_command cw_cmd_nodes;

/* Prints "cronwarden: MESSAGE" on cli->err; returns CW_EXIT_USAGE. */
int cli_fail(cw_cli *cli, const char *fmt, ...) _printf_(2, 3);

/* Prints a parse error: "cronwarden: WHAT: MSG", then the text and a caret
 * line under the error's span. Returns CW_EXIT_USAGE. */
int cli_fail_caret(cw_cli *cli, const char *what, const char *text, const cw_error *e);

/* Finds and loads the config; on failure prints every diagnostic and
 * returns CW_EXIT_USAGE with *ret untouched. quiet_missing: when no config
 * file exists at all, return CW_EXIT_OK with *ret = NULL and print nothing
 * (for commands where a config is optional). */
int cli_load_config(cw_cli *cli, bool quiet_missing, cw_config **ret);

/* Handles the options every command takes (--config, --help) inside a
 * getopt loop: returns true if opt was one of them (help sets *help). */
bool cli_common_option(cw_cli *cli, int opt, const char *arg, bool *help);

/* What a detached worker is asked to run (see spawn.c). */
typedef struct cli_worker_req {
        const char *spec; /* canonical job spec */
        cw_trigger trigger;
        int attempt;
        cw_time scheduled_at;        /* 0: none */
        int64_t resumed_from;        /* 0: none */
        bool force;                  /* run even if disabled */
        bool ignore_lock;            /* concurrency = allow */
        const char *config_snapshot; /* load this copy of the config (daemon), or NULL */
} cli_worker_req;

/* Starts a detached worker for cfg and waits only until it has recorded
 * its run. Returns 0 with *ret_run_id; -EBUSY when the job's lock is held
 * (msg names the holder); another negative errno with msg saying why. */
int cli_spawn_worker(const cw_config *cfg, const cli_worker_req *w, int64_t *ret_run_id, char *msg,
                     size_t msgsize);

/* cli_spawn_worker for a scheduler action (tick, daemon): err->msg says why on failure. */
int cli_spawn_for_action(const cw_config *cfg, const cw_sched_action *a,
                         const char *config_snapshot, int64_t *ret_run_id, cw_error *err);

/* Starts the daemon's spawner (daemon/spawner.h): the lean spawner
 * program CLI_LEAN_SPAWNER (spawner_main.c) when `lean` and it is found
 * beside this binary or installed with it, else this binary re-executed
 * as `--config CONFIG daemon --spawner --config-snapshot SNAPSHOT`; lean
 * is for the cronwarden program only (a program embedding cronwarden has
 * function jobs the lean one does not know). Either way with
 * fd as its CW_SPAWNER_FD, stdin and stdout on /dev/null, stderr shared
 * (the daemon's log), signals as at exec, and LD_BIND_NOW=1 plus
 * CLI_SPAWNER_BIND_NOW=1 added to the environment unless LD_BIND_NOW is
 * set (the spawner removes both at once). Returns its pid, or a negative
 * errno with err->msg saying why. */
#define CLI_SPAWNER_BIND_NOW "CRONWARDEN_SPAWNER_BIND_NOW"
#define CLI_LEAN_SPAWNER "cronwarden-spawner"
/* The spawner protocol the daemon and its lean spawner must share
 * (CW_SPAWNER_PROTO and the request's size), as text. */
void cli_spawner_proto(char *buf, size_t size);
int cli_spawn_spawner(const char *config_path, const char *snapshot, bool lean, int fd,
                      cw_error *err);

/* Opens the config's store; on failure prints why and returns
 * CW_EXIT_USAGE with *ret untouched. */
int cli_open_store(cw_cli *cli, const cw_config *cfg, struct cw_store **ret);

/* The end of a command's arguments, for a command with no operands that
 * needs the config's store: with help prints usage; refuses an operand
 * left at argv[optind]; loads the config and opens its store. Returns
 * CLI_GO with *ret_cfg and *ret_store set, else the exit status the
 * command returns (said already). */
#define CLI_GO (-1)
int cli_store_command(cw_cli *cli, const cw_command *cmd, const char *usage, bool help, int argc,
                      char **argv, cw_config **ret_cfg, struct cw_store **ret_store);

/* "1.2s", "3m4s", "2h5m" from microseconds. */
void cli_format_elapsed(int64_t us, char *buf, size_t size);

/* Parses a whole non-negative decimal number (at most max); -EINVAL otherwise. */
int cli_parse_uint(const char *s, int64_t max, int64_t *ret);

/* Writes instant t in zone tz as ISO 8601 with offset into buf (size >= 40). */
void cli_format_instant(const cw_tz *tz, cw_time t, char *buf, size_t size);
/* "2026-11-22 05:15:00 CET" */
void cli_format_local(const cw_tz *tz, cw_time t, char *buf, size_t size);
/* "in 3h 5m", "in 45s" */
void cli_format_relative(cw_time now, cw_time t, char *buf, size_t size);

/* Prints a usage error for the command plus a hint to --help. */
int cli_usage_error(cw_cli *cli, const cw_command *cmd, const char *fmt, ...) _printf_(3, 4);

/* Option codes shared by the getopt tables of all commands. */
enum {
        CLI_OPT_CONFIG = 0x1000,
        CLI_OPT_HELP,
        CLI_OPT_JSON,
        CLI_OPT_COUNT,
        CLI_OPT_FROM,
        CLI_OPT_TZ,
        CLI_OPT_JOB,
        CLI_OPT_FORCE,
        CLI_OPT_DETACH,
        CLI_OPT_QUIET,
        CLI_OPT_LIMIT,
        CLI_OPT_STATUS,
        CLI_OPT_OLDER,
        CLI_OPT_RUN,
        CLI_OPT_PID,
        CLI_OPT_REPORT_FD,
        CLI_OPT_TRIGGER,
        CLI_OPT_ATTEMPT,
        CLI_OPT_SCHEDULED_AT,
        CLI_OPT_RESUMED_FROM,
        CLI_OPT_IGNORE_LOCK,
        CLI_OPT_SILENT,
        CLI_OPT_CONFIG_SNAPSHOT,
        CLI_OPT_TOKEN,
        CLI_OPT_SPAWNER,
        CLI_OPT_TIMEOUT,
};
#define CLI_COMMON_OPTIONS                                                                         \
        {"config", required_argument, NULL, CLI_OPT_CONFIG},                                       \
        {                                                                                          \
                "help", no_argument, NULL, CLI_OPT_HELP                                            \
        }

#endif
