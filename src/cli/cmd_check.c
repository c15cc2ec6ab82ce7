/* cmd_check.c - `cronwarden check`: validate the config without running
 * anything (docs/config.md). Every problem is printed, not just the first. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const char check_usage[] =
        "Usage: cronwarden [--config FILE] check\n"
        "\n"
        "Validate the config file: every key, time spec, job spec, zone and\n"
        "reference between jobs. Prints 'FILE: ok, N jobs, M schedule entries', or\n"
        "every problem as FILE:LINE: KEY: message (with a caret under bad specs).\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 valid, 2 invalid or unreadable.\n";

static int cmd_check(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {CLI_COMMON_OPTIONS, {0}};
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        bool help = false;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1)
                if (!cli_common_option(cli, o, optarg, &help))
                        return cli_usage_error(cli, &cw_cmd_check,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        if (help) {
                fputs(check_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_check, "unexpected argument '%s'",
                                       argv[optind]);
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        fprintf(cli->out, "%s: ok, %zu job%s, %zu schedule entr%s\n", cfg->path, cfg->n_jobs,
                cfg->n_jobs == 1 ? "" : "s", cfg->n_entries, cfg->n_entries == 1 ? "y" : "ies");
        return CW_EXIT_OK;
}

const cw_command cw_cmd_check = {
        .name = "check",
        .run = cmd_check,
        .summary = "validate the config file",
        .usage = check_usage,
};
