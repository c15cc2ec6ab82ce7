/* cmd_nodes.c - `cronwarden nodes [--json]`: the nodes of the cluster
 * sharing this config's store (docs/cluster.md), each with its status,
 * heartbeat age and clock offset (both by the database's clock), whether
 * it claims fires and why not, its running runs and whether its job
 * definitions agree with the cluster's. A store without nodes (SQLite)
 * has one node: this host, said so. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report/nodes.h"

static const char nodes_usage[] =
        "Usage: cronwarden [--config FILE] nodes [--json]\n"
        "\n"
        "Shows the nodes of the cluster: every daemon on the config's PostgreSQL\n"
        "store, with its status (alive, silent: no heartbeat for dead_timeout yet not\n"
        "declared dead, dead, left: stopped cleanly), the age of its last heartbeat\n"
        "and its clock's offset from the database's, whether it claims fires (and\n"
        "why not), its queued and running runs, and the jobs whose definition on it\n"
        "differs from the cluster's. With the SQLite store there is one node.\n"
        "\n"
        "Options:\n"
        "      --json        print a JSON array instead of lines\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 shown, 2 bad config, bad option or store error.\n";

static void print_node(cw_cli *cli, const cw_node *n)
{
        char age[32], off[32];

        cli_format_elapsed(n->age_us > 0 ? n->age_us : 0, age, sizeof(age));
        snprintf(off, sizeof(off), "%+.3fs", (double)n->clock_offset_us / 1e6);
        fprintf(cli->out,
                "%-16s %-6s heartbeat %s ago  offset %s  claiming %s%s%s  running %llu  "
                "config %s%s\n",
                n->name, cw_report_node_status(n), age, off, n->claiming ? "yes" : "no",
                n->reason ? ": " : "", n->reason ? n->reason : "", (unsigned long long)n->running,
                n->disagree ? "differs: " : "agrees", n->disagree ? n->disagree : "");
}

static int cmd_nodes(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"json", no_argument, NULL, CLI_OPT_JSON},
                {0},
        };
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        bool help = false, json = false;
        cw_node *nodes = NULL;
        size_t n = 0;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o == CLI_OPT_JSON)
                        json = true;
                else
                        return cli_usage_error(cli, &cw_cmd_nodes,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        }
        r = cli_store_command(cli, &cw_cmd_nodes, nodes_usage, help, argc, argv, &cfg, &store);
        if (r != CLI_GO)
                return r;
        r = cw_store_nodes_list(store, cfg->dead_timeout * CW_US_PER_SEC, &nodes, &n);
        if (r == -EOPNOTSUPP) {
                if (json)
                        fprintf(cli->out, "[]\n");
                else
                        fprintf(cli->out, "one node: %s (the store '%s' is not shared)\n",
                                cfg->node ? cfg->node : "-", cfg->store);
                return CW_EXIT_OK;
        }
        if (r < 0)
                return cli_fail(cli, "nodes: cannot read the nodes: %s", cw_store_strerror(r));
        if (json) {
                json_t *a = cw_report_nodes_json(nodes, n);

                json_dumpf(a, cli->out, JSON_INDENT(2));
                fputc('\n', cli->out);
                json_decref(a);
        } else if (n == 0) {
                fprintf(cli->out, "no nodes yet: no daemon has run on this store\n");
        }
        for (size_t i = 0; !json && i < n; i++)
                print_node(cli, &nodes[i]);
        cw_nodes_free(nodes, n);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_nodes = {
        .name = "nodes",
        .run = cmd_nodes,
        .summary = "show the cluster's nodes: heartbeats, clock offsets, config agreement",
        .usage = nodes_usage,
};
