/* cmd_history.c - the run history: `history`, `logs RUN`, `prune`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/units.h"
#include "cli_runs.h"

#define HISTORY_DEFAULT 20
#define HISTORY_MAX 100000

static const char history_usage[] =
        "Usage: cronwarden [--config FILE] history [JOB] [--limit N] [--status S] [--json]\n"
        "\n"
        "Past and current runs, newest first: id, job spec, status, trigger, start,\n"
        "duration, exit code (or signal).\n"
        "\n"
        "Options:\n"
        "      --limit N     at most N runs (1-100000, default 20)\n"
        "      --status S    only runs with status S: queued running succeeded failed\n"
        "                    timed_out killed lost skipped missed\n"
        "      --json        print a JSON array with every field\n"
        "      --config FILE config file\n"
        "      --help        show this help\n";

static void exit_text(const cw_run *r, char *buf, size_t size)
{
        if (r->signal)
                snprintf(buf, size, "SIG%d", r->signal);
        else if (r->exit_code >= 0)
                snprintf(buf, size, "%d", r->exit_code);
        else
                snprintf(buf, size, "-");
}

static void print_history(cw_cli *cli, const cw_config *cfg, const cw_run *runs, size_t n)
{
        int ws = 8;

        for (size_t i = 0; i < n; i++)
                if ((int)strlen(runs[i].spec) > ws)
                        ws = (int)strlen(runs[i].spec);
        fprintf(cli->out, "%-7s %-*s %-10s %-10s %-25s %-9s %s\n", "RUN", ws, "JOB SPEC", "STATUS", "TRIGGER",
                "STARTED", "DURATION", "EXIT");
        for (size_t i = 0; i < n; i++) {
                char started[64], dur[32] = "-", ex[16];
                cli_format_local(cli_run_zone(cfg, &runs[i]), runs[i].started_us / 1000000, started, sizeof(started));
                if (runs[i].ended_us)
                        cli_format_elapsed(runs[i].ended_us - runs[i].started_us, dur, sizeof(dur));
                exit_text(&runs[i], ex, sizeof(ex));
                fprintf(cli->out, "%-7lld %-*s %-10s %-10s %-25s %-9s %s\n", (long long)runs[i].id, ws, runs[i].spec,
                        cw_run_status_to_string(runs[i].status), cw_trigger_to_string(runs[i].trigger), started, dur,
                        ex);
        }
}

static int cmd_history(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"limit", required_argument, NULL, CLI_OPT_LIMIT},
                {"status", required_argument, NULL, CLI_OPT_STATUS},
                {"json", no_argument, NULL, CLI_OPT_JSON},
                {0},
        };
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        cw_run_filter f = CW_RUN_FILTER_INIT;
        bool json = false, help = false;
        int64_t limit = HISTORY_DEFAULT;
        cw_run_status st;
        cw_run *runs = NULL;
        size_t n = 0;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "n:", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                switch (o) {
                case 'n':
                case CLI_OPT_LIMIT:
                        if (cli_parse_uint(optarg, HISTORY_MAX, &limit) < 0 || limit < 1)
                                return cli_usage_error(cli, &cw_cmd_history, "--limit: expected 1-%d, got '%s'",
                                                       HISTORY_MAX, optarg);
                        break;
                case CLI_OPT_STATUS:
                        if (cw_run_status_from_string(optarg, &st) < 0)
                                return cli_usage_error(cli, &cw_cmd_history,
                                                       "--status: unknown status '%s' (queued running succeeded "
                                                       "failed timed_out killed lost skipped missed)",
                                                       optarg);
                        f.status = (int)st;
                        break;
                case CLI_OPT_JSON: json = true; break;
                default:
                        return cli_usage_error(cli, &cw_cmd_history, "unknown or incomplete option '%s'", argv[optind - 1]);
                }
        }
        if (help) {
                fputs(history_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_history, "unexpected argument '%s'", argv[optind + 1]);
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        if (optind < argc) {
                f.job = argv[optind];
                if (!cw_config_job(cfg, f.job))
                        fprintf(cli->err, "%s: note: no job named '%s' in %s; showing its recorded runs\n", cli->prog,
                                f.job, cfg->path);
        }
        r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        f.limit = (size_t)limit;
        r = cw_store_runs_list(store, &f, &runs, &n);
        if (r < 0)
                return cli_fail(cli, "cannot read the history: %s", strerror(-r));
        if (json) {
                json_t *a = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, cli_run_json(&runs[i], cli_run_zone(cfg, &runs[i])));
                json_dumpf(a, cli->out, JSON_INDENT(2));
                fputc('\n', cli->out);
                json_decref(a);
        } else if (n == 0) {
                fprintf(cli->out, "no runs recorded%s%s\n", f.job ? " for " : "", f.job ? f.job : "");
        } else {
                print_history(cli, cfg, runs, n);
        }
        cw_runs_free(runs, n);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_history = {
        .name = "history",
        .run = cmd_history,
        .summary = "list past runs (newest first)",
        .usage = history_usage,
};

/* ---- logs ---- */

static const char logs_usage[] =
        "Usage: cronwarden [--config FILE] logs RUN_ID [--json]\n"
        "\n"
        "Print a run's captured output (stdout and stderr, interleaved). On a\n"
        "terminal, bytes that are not printable UTF-8 are shown as \\xNN; to a\n"
        "pipe or file the stored bytes are written unchanged.\n"
        "\n"
        "Options:\n"
        "      --json        {\"run\": ID, \"output\": \"...\", \"truncated\": ..., \"size\": N}\n"
        "                    (invalid UTF-8 replaced by U+FFFD)\n";

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        size_t len;
        uint32_t cp;

        if (p[0] < 0x80)
                return 1;
        if ((p[0] & 0xe0) == 0xc0) {
                len = 2;
                cp = p[0] & 0x1f;
        } else if ((p[0] & 0xf0) == 0xe0) {
                len = 3;
                cp = p[0] & 0x0f;
        } else if ((p[0] & 0xf8) == 0xf0) {
                len = 4;
                cp = p[0] & 0x07;
        } else {
                return 0;
        }
        if (len > n)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return len;
}

/* Writes out[0..n) for a terminal: printable UTF-8, \n and \t as they are,
 * anything else (escape sequences included) as \xNN. */
static void write_safe(FILE *f, const unsigned char *p, size_t n)
{
        for (size_t i = 0; i < n;) {
                size_t l = utf8_len(p + i, n - i);
                if (l == 1 && (p[i] == '\n' || p[i] == '\t' || (p[i] >= 0x20 && p[i] < 0x7f))) {
                        fputc(p[i], f);
                } else if (l > 1) {
                        fwrite(p + i, 1, l, f);
                } else {
                        fprintf(f, "\\x%02x", p[i]);
                        l = 1;
                }
                i += l;
        }
}

/* A copy of p[0..n) with invalid UTF-8 bytes replaced by U+FFFD. */
static char *to_valid_utf8(const unsigned char *p, size_t n, size_t *ret_len)
{
        char *out = malloc(n * 3 + 1);
        size_t o = 0;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n;) {
                size_t l = utf8_len(p + i, n - i);
                if (l == 0) {
                        memcpy(out + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                } else {
                        memcpy(out + o, p + i, l);
                        o += l;
                        i += l;
                }
        }
        out[o] = '\0';
        *ret_len = o;
        return out;
}

static int cmd_logs(cw_cli *cli, int argc, char **argv)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        _cleanup_free_ void *out = NULL;
        bool json = false, help = false;
        static const struct option options[] = {CLI_COMMON_OPTIONS, {"json", no_argument, NULL, CLI_OPT_JSON}, {0}};
        cw_run run = {0};
        int64_t id;
        size_t len = 0;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o != CLI_OPT_JSON)
                        return cli_usage_error(cli, &cw_cmd_logs, "unknown or incomplete option '%s'", argv[optind - 1]);
                json = true;
        }
        if (help) {
                fputs(logs_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (argc - optind != 1)
                return cli_usage_error(cli, &cw_cmd_logs, "expected one RUN_ID");
        if (cli_parse_uint(argv[optind], INT64_MAX, &id) < 0 || id < 1)
                return cli_usage_error(cli, &cw_cmd_logs, "RUN_ID: expected a run number, got '%s'", argv[optind]);
        r = cli_load_config(cli, false, &cfg);
        if (r == CW_EXIT_OK)
                r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        r = cw_store_run_get(store, id, &run);
        if (r == -ENOENT)
                return cli_fail(cli, "no run %lld (see 'cronwarden history')", (long long)id);
        if (r == 0)
                r = cw_store_run_output(store, id, &out, &len);
        if (r < 0) {
                cw_run_release(&run);
                return cli_fail(cli, "cannot read run %lld: %s", (long long)id, strerror(-r));
        }
        if (json) {
                size_t vl = 0;
                _cleanup_free_ char *valid = to_valid_utf8(out ? out : "", len, &vl);
                json_t *obj = json_object();
                json_object_set_new(obj, "run", json_integer(id));
                json_object_set_new(obj, "output", valid ? json_stringn(valid, vl) : json_null());
                json_object_set_new(obj, "truncated", json_boolean(run.output_truncated));
                json_object_set_new(obj, "size", json_integer((json_int_t)run.output_size));
                json_dumpf(obj, cli->out, JSON_COMPACT);
                fputc('\n', cli->out);
                json_decref(obj);
        } else if (isatty(fileno(cli->out))) {
                write_safe(cli->out, out ? out : (void *)"", len);
        } else if (len && fwrite(out, 1, len, cli->out) != len) {
                cw_run_release(&run);
                return cli_fail(cli, "cannot write the output: %s", strerror(errno));
        }
        cw_run_release(&run);
        return fflush(cli->out) == 0 ? CW_EXIT_OK : cli_fail(cli, "cannot write the output");
}

const cw_command cw_cmd_logs = {
        .name = "logs",
        .run = cmd_logs,
        .summary = "print a run's captured output",
        .usage = logs_usage,
};

/* ---- prune ---- */

static const char prune_usage[] =
        "Usage: cronwarden [--config FILE] prune [--older-than DURATION]\n"
        "\n"
        "Delete finished runs (and their output) that started more than DURATION\n"
        "ago (default: keep_history from the config, 90d unless set). Runs in\n"
        "progress are never deleted.\n";

static int cmd_prune(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"older-than", required_argument, NULL, CLI_OPT_OLDER},
                {0},
        };
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        const char *older = NULL;
        bool help = false;
        uint64_t deleted = 0;
        int64_t d;
        char when[64], dtext[32];
        cw_error e;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o != CLI_OPT_OLDER)
                        return cli_usage_error(cli, &cw_cmd_prune, "unknown or incomplete option '%s'", argv[optind - 1]);
                older = optarg;
        }
        if (help) {
                fputs(prune_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_prune, "unexpected argument '%s'", argv[optind]);
        if (older && cw_duration_parse(older, &d, &e) < 0)
                return cli_fail_caret(cli, "--older-than", older, &e);
        r = cli_load_config(cli, false, &cfg);
        if (r == CW_EXIT_OK)
                r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        if (!older)
                d = cfg->keep_history;
        r = cw_store_runs_prune(store, cli->now_us - d * 1000000, &deleted);
        if (r < 0)
                return cli_fail(cli, "cannot prune: %s", strerror(-r));
        cli_format_instant(cfg->tz, cli->now - d, when, sizeof(when));
        cw_duration_format(d, dtext, sizeof(dtext));
        fprintf(cli->out, "pruned %llu run%s that started before %s (older than %s)\n", (unsigned long long)deleted,
                deleted == 1 ? "" : "s", when, dtext);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_prune = {
        .name = "prune",
        .run = cmd_prune,
        .summary = "delete old finished runs",
        .usage = prune_usage,
};
