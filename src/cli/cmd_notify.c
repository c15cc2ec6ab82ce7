/* cmd_notify.c - `cronwarden notify-test JOB` (one test notification
 * through each of a job's channels, sent at once, with what each endpoint
 * answered) and `cronwarden notifications` (the outbox: recent deliveries,
 * failures, what is pending). URLs are shown as their endpoint only:
 * tokens often live in a URL's path or query (docs/notifications.md). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#include "cli.h"
#include "notify/notify.h"
#include "report/json.h"

static const char notify_test_usage[] =
        "Usage: cronwarden [--config FILE] notify-test JOB\n"
        "\n"
        "Sends a test notification through every channel JOB has (ping, sentry_dsn,\n"
        "webhook, email) and prints what each endpoint answered. The test goes\n"
        "through the outbox like any notification, and is delivered by this command\n"
        "at once.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 every channel accepted the test, 1 one did not, 2 bad\n"
        "config, unknown job, a job without channels, or a store error.\n";

static int cmd_notify_test(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {CLI_COMMON_OPTIONS, {0}};
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        cw_notice *rows = NULL;
        size_t n_rows = 0, n = 0;
        int64_t tag = 0;
        const cw_job *job;
        bool help = false, all_ok = true;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                return cli_usage_error(cli, &cw_cmd_notify_test,
                                       "unknown or incomplete option '%s'", argv[optind - 1]);
        }
        if (help) {
                fputs(notify_test_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind + 1 != argc)
                return cli_usage_error(cli, &cw_cmd_notify_test, "expected one job name");
        r = cli_load_config(cli, false, &cfg);
        if (r == CW_EXIT_OK)
                r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        job = cw_config_job(cfg, argv[optind]);
        if (!job)
                return cli_fail(cli, "notify-test: unknown job '%s'", argv[optind]);
        r = cw_notify_test(store, cfg, job, cli->now, &tag, &n);
        if (r == -ENOENT)
                return cli_fail(cli,
                                "notify-test: job '%s' has no ping, sentry_dsn, webhook or email",
                                job->name);
        if (r < 0)
                return cli_fail(cli, "notify-test: cannot queue the test: %s", strerror(-r));
        /* Only the test's rows: other rows wait for their own sender. */
        cw_notify_deliver_run(store, cfg, job, tag, 4 * CW_NOTIFY_TOTAL_TIMEOUT_MS * 1000LL);
        r = cw_store_notices_list(store, false, 0, &rows, &n_rows);
        if (r < 0)
                return cli_fail(cli, "notify-test: cannot read the outbox: %s", strerror(-r));
        for (size_t i = 0; i < n_rows; i++) {
                char target[600];

                if (rows[i].run_id != tag)
                        continue;
                cw_notify_shown_target(&rows[i], target, sizeof(target));
                fprintf(cli->out, "%-8s %s: %s%s%s\n", rows[i].channel, target,
                        rows[i].state == CW_NOTICE_SENT ? "ok" : "FAILED",
                        rows[i].result ? ", " : "", rows[i].result ? rows[i].result : "");
                if (rows[i].state != CW_NOTICE_SENT)
                        all_ok = false;
        }
        cw_notices_free(rows, n_rows);
        return all_ok ? CW_EXIT_OK : CW_EXIT_JOB_FAILED;
}

const cw_command cw_cmd_notify_test = {
        .name = "notify-test",
        .run = cmd_notify_test,
        .summary = "send a test through every notification channel of a job",
        .usage = notify_test_usage,
};

static const char notifications_usage[] =
        "Usage: cronwarden [--config FILE] notifications [--pending] [--count N] [--json]\n"
        "\n"
        "Shows the newest notifications of the outbox, newest first: when each was\n"
        "queued, its job, event and channel, the endpoint (never a whole URL, which\n"
        "may hold a token), its state (pending, sent, failed), attempts and what\n"
        "the endpoint last answered.\n"
        "\n"
        "Options:\n"
        "      --pending     only what is still to be delivered\n"
        "      --count N     at most N rows (default 50)\n"
        "      --json        print a JSON array instead of lines\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 shown, 2 bad config, bad option or store error.\n";

/* The same object as GET /api/v1/notifications (report/json.h). */
static json_t *notice_json(const cw_notice *n)
{
        char target[600];

        cw_notify_shown_target(n, target, sizeof(target));
        return cw_json_notice(n, target);
}

static int cmd_notifications(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"json", no_argument, NULL, CLI_OPT_JSON},
                {"pending", no_argument, NULL, CLI_OPT_FORCE},
                {"count", required_argument, NULL, CLI_OPT_COUNT},
                {0},
        };
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        bool help = false, json = false, pending = false;
        cw_notice *rows = NULL;
        int64_t count = 50;
        size_t n = 0;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o == CLI_OPT_JSON)
                        json = true;
                else if (o == CLI_OPT_FORCE)
                        pending = true;
                else if (o == CLI_OPT_COUNT && cli_parse_uint(optarg, 100000, &count) == 0 &&
                         count > 0)
                        continue;
                else
                        return cli_usage_error(cli, &cw_cmd_notifications,
                                               "unknown, incomplete or bad option '%s'",
                                               argv[optind - 1]);
        }
        r = cli_store_command(cli, &cw_cmd_notifications, notifications_usage, help, argc, argv,
                              &cfg, &store);
        if (r != CLI_GO)
                return r;
        r = cw_store_notices_list(store, pending, (size_t)count, &rows, &n);
        if (r < 0)
                return cli_fail(cli, "notifications: cannot read the outbox: %s", strerror(-r));
        if (json) {
                json_t *a = json_array();

                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, notice_json(&rows[i]));
                json_dumpf(a, cli->out, JSON_INDENT(2));
                fputc('\n', cli->out);
                json_decref(a);
        } else {
                if (n == 0)
                        fprintf(cli->out, "no notifications\n");
                for (size_t i = 0; i < n; i++) {
                        char target[600], when[64];

                        cw_notify_shown_target(&rows[i], target, sizeof(target));
                        cli_format_instant(cfg->tz, rows[i].created_us / 1000000, when,
                                           sizeof(when));
                        fprintf(cli->out, "%lld %s %s %s %s %s %s attempts=%d%s%s\n",
                                (long long)rows[i].id, when, rows[i].job, rows[i].event,
                                rows[i].channel, target, cw_notice_state_to_string(rows[i].state),
                                rows[i].attempts, rows[i].result ? " " : "",
                                rows[i].result ? rows[i].result : "");
                }
        }
        cw_notices_free(rows, n);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_notifications = {
        .name = "notifications",
        .run = cmd_notifications,
        .summary = "show recent notifications, failures and what is pending",
        .usage = notifications_usage,
};
