/* cmd_store.c - `cronwarden store check [--recover DEST]`: what is wrong
 * with a store the other commands call malformed, and a copy of what can
 * still be read. The work is the store's (store.h, cw_store_check); this
 * file parses, prints and chooses the exit status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/store.h"

enum { OPT_RECOVER = 1000 };

static const char store_usage[] =
        "Usage: cronwarden [--config FILE] store check [--recover DEST]\n"
        "\n"
        "Check the store's file with SQLite's integrity check and print what it\n"
        "finds ('ok', or one problem a line, the first 20). Use it when a command\n"
        "says the store is malformed. Stop the daemon first. The store itself is\n"
        "never written.\n"
        "\n"
        "Options:\n"
        "      --recover DEST  also copy every row that can still be read into the\n"
        "                      new SQLite file DEST (it must not exist); then stop\n"
        "                      the daemon, move the damaged file away and put DEST\n"
        "                      in its place. When even that fails, the sqlite3\n"
        "                      shell's '.recover' may save more.\n"
        "      --config FILE   config file\n"
        "      --help          show this help\n"
        "\n"
        "Exit status: 0 the store is sound (and DEST written, if asked), 1 it is\n"
        "damaged or DEST could not be written, 2 usage, config or no store.\n";

static int print_check(cw_cli *cli, const char *recover_to, const cw_store_check_result *res)
{
        if (res->ok) {
                fprintf(cli->out, "store: ok\n");
        } else {
                fprintf(cli->out, "store: malformed; SQLite's integrity check says:\n%s",
                        res->problems ? res->problems : "");
                if (res->n_problems > CW_STORE_CHECK_MAX_LINES)
                        fprintf(cli->out, "(and %zu more)\n",
                                res->n_problems - CW_STORE_CHECK_MAX_LINES);
        }
        if (recover_to && res->recovered)
                fprintf(cli->out, "recovered what could be read into '%s'\n", recover_to);
        if (recover_to && !res->recovered) {
                fprintf(cli->err,
                        "%s: cannot recover into '%s': %s (try: sqlite3 STORE .recover | sqlite3 '%s')\n",
                        cli->prog, recover_to, res->recover_error, recover_to);
                return CW_EXIT_JOB_FAILED;
        }
        if (!res->ok && !recover_to)
                fprintf(cli->out,
                        "to save what can be read: cronwarden store check --recover NEW_FILE\n");
        return res->ok ? CW_EXIT_OK : CW_EXIT_JOB_FAILED;
}

static int cmd_store(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"recover", required_argument, NULL, OPT_RECOVER},
                {0},
        };
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        cw_store_check_result res = {0};
        const char *recover_to = NULL;
        bool help = false;
        cw_error e;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o == OPT_RECOVER && optarg && *optarg) {
                        recover_to = optarg;
                        continue;
                }
                return cli_usage_error(cli, &cw_cmd_store, "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
        if (help) {
                fputs(store_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_store, "missing action: check");
        if (strcmp(argv[optind], "check") != 0)
                return cli_usage_error(cli, &cw_cmd_store, "unknown action '%s' (expected check)",
                                       argv[optind]);
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_store, "unexpected argument '%s'",
                                       argv[optind + 1]);
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        r = cw_store_check(cfg->store, cfg->data_dir, recover_to, &res, &e);
        if (r < 0)
                return cli_fail(cli, "%s", e.msg[0] ? e.msg : cw_store_strerror(r));
        r = print_check(cli, recover_to, &res);
        free(res.problems);
        return r;
}

const cw_command cw_cmd_store = {
        .name = "store",
        .run = cmd_store,
        .summary = "check a damaged store and recover what can be read",
        .usage = store_usage,
};
