/* cmd_history.c - the run history: `history`, `logs RUN`, `prune`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/units.h"
#include "base/utf8.h"
#include "cli_runs.h"
#include "worker/capture.h"
#include "worker/control.h"
#include "worker/remote.h"

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
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok (also when there are no runs), 2 bad arguments, config or\n"
        "store error.\n";

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
        fprintf(cli->out, "%-7s %-*s %-10s %-10s %-25s %-9s %s\n", "RUN", ws, "JOB SPEC", "STATUS",
                "TRIGGER", "STARTED", "DURATION", "EXIT");
        for (size_t i = 0; i < n; i++) {
                char started[64], dur[32] = "-", ex[16];
                cli_format_local(cli_run_zone(cfg, &runs[i]), runs[i].started_us / 1000000, started,
                                 sizeof(started));
                if (runs[i].ended_us)
                        cli_format_elapsed(runs[i].ended_us - runs[i].started_us, dur, sizeof(dur));
                exit_text(&runs[i], ex, sizeof(ex));
                fprintf(cli->out, "%-7lld %-*s %-10s %-10s %-25s %-9s %s\n", (long long)runs[i].id,
                        ws, runs[i].spec, cw_run_status_to_string(runs[i].status),
                        cw_trigger_to_string(runs[i].trigger), started, dur, ex);
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
                                return cli_usage_error(cli, &cw_cmd_history,
                                                       "--limit: expected 1-%d, got '%s'",
                                                       HISTORY_MAX, optarg);
                        break;
                case CLI_OPT_STATUS:
                        if (cw_run_status_from_string(optarg, &st) < 0)
                                return cli_usage_error(
                                        cli, &cw_cmd_history,
                                        "--status: unknown status '%s' (queued running succeeded "
                                        "failed timed_out killed lost skipped missed)",
                                        optarg);
                        f.status = (int)st;
                        break;
                case CLI_OPT_JSON:
                        json = true;
                        break;
                default:
                        return cli_usage_error(cli, &cw_cmd_history,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (help) {
                fputs(history_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_history, "unexpected argument '%s'",
                                       argv[optind + 1]);
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        if (optind < argc) {
                f.job = argv[optind];
                if (!cw_config_job(cfg, f.job))
                        fprintf(cli->err,
                                "%s: note: no job named '%s' in %s; showing its recorded runs\n",
                                cli->prog, f.job, cfg->path);
        }
        r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        f.limit = (size_t)limit;
        r = cw_store_runs_list(store, &f, &runs, &n);
        if (r < 0)
                return cli_fail(cli, "cannot read the history: %s", cw_store_strerror(r));
        if (json) {
                json_t *a = json_array();
                for (size_t i = 0; i < n; i++)
                        json_array_append_new(a, cli_run_json(&runs[i], cli->now));
                json_dumpf(a, cli->out, JSON_INDENT(2));
                fputc('\n', cli->out);
                json_decref(a);
        } else if (n == 0) {
                fprintf(cli->out, "no runs recorded%s%s\n", f.job ? " for " : "",
                        f.job ? f.job : "");
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
        "Usage: cronwarden [--config FILE] logs RUN_ID [--follow | --json]\n"
        "\n"
        "Print a run's captured output (stdout and stderr, interleaved). On a\n"
        "terminal, bytes that are not printable UTF-8 are shown as \\xNN; to a\n"
        "pipe or file the stored bytes are written unchanged.\n"
        "\n"
        "While the run is running, its output so far is printed (its worker\n"
        "stores it about once a second) and a note on stderr says the run is\n"
        "still running.\n"
        "\n"
        "Options:\n"
        "  -f, --follow      keep printing new output, checking every second, until\n"
        "                    the run ends (or its worker, or for a run of another\n"
        "                    node that node's daemon, is found gone); when the\n"
        "                    output grew past max_output meanwhile, a line\n"
        "                    \"[... cronwarden: N bytes omitted ...]\" stands for the\n"
        "                    bytes no longer kept\n"
        "      --json        {\"run\": ID, \"status\": \"...\", \"output\": \"...\",\n"
        "                    \"truncated\": ..., \"size\": N} (invalid UTF-8 replaced\n"
        "                    by U+FFFD)\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 no such run, bad arguments, config or store error.\n";

/* Writes out[0..n) for a terminal: printable UTF-8, \n and \t as they are,
 * anything else (escape sequences included) as \xNN. */
static void write_safe(FILE *f, const unsigned char *p, size_t n)
{
        for (size_t i = 0; i < n;) {
                size_t l = cw_utf8_seq(p + i, n - i, NULL);
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
                size_t l = cw_utf8_seq(p + i, n - i, NULL);
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

/* How many bytes at the end of p[0..n) are the start of a UTF-8 sequence
 * that the next bytes may complete (0-3): held back by --follow on a
 * terminal, so a character split between two snapshots is not shown as
 * \xNN escapes. */
static size_t utf8_partial(const unsigned char *p, size_t n)
{
        for (size_t k = 1; k <= 3 && k <= n; k++) {
                unsigned char c = p[n - k];
                size_t need;

                if ((c & 0xc0) == 0x80)
                        continue; /* a continuation byte: look further back */
                need = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
                return need > k ? k : 0;
        }
        return 0;
}

/* Where `logs` writes: the output as text (a terminal) or bytes, and what
 * it wrote last, for --follow. */
typedef struct logs_out {
        cw_cli *cli;
        bool tty;
        bool line_start; /* nothing written yet, or the last byte was '\n' */
        uint64_t shown;  /* --follow: stream bytes shown (or skipped) so far */
} logs_out;

static void logs_write(logs_out *o, const void *p, size_t n)
{
        if (n == 0)
                return;
        if (o->tty)
                write_safe(o->cli->out, p, n);
        else
                fwrite(p, 1, n, o->cli->out);
        o->line_start = ((const char *)p)[n - 1] == '\n';
}

/* --follow: prints what the stored output holds past what was shown, as
 * far as its head + tail shape tells (worker/capture.h): new bytes of the
 * tail, or a marker for bytes dropped meanwhile. Returns false when the
 * stored output cannot be read that way (size and output of different
 * moments, or a store that does not keep the shape): nothing printed. */
static bool logs_follow_print(logs_out *o, const cw_run_output *ro, bool final)
{
        cw_capture_view v;
        cw_capture_rest rest;
        char marker[CW_CAPTURE_MARKER_MAX];
        size_t hold = 0;
        int m;

        if (cw_capture_view_parse(ro->data, ro->len, ro->size, ro->truncated, &v) < 0 ||
            cw_capture_view_rest(&v, o->shown, &rest) < 0)
                return false;
        if (o->tty && !final) {
                /* Hold back a character cut by the snapshot. */
                if (rest.b_len > 0)
                        hold = utf8_partial((const unsigned char *)rest.b, rest.b_len);
                else
                        hold = utf8_partial((const unsigned char *)rest.a, rest.a_len);
        }
        if (rest.b_len == 0)
                rest.a_len -= hold;
        logs_write(o, rest.a, rest.a_len);
        if (rest.omitted > 0) {
                m = cw_capture_marker(marker, sizeof(marker), rest.omitted, !o->line_start);
                if (m > 0)
                        logs_write(o, marker, (size_t)m);
        }
        logs_write(o, rest.b, rest.b_len - (rest.b_len > 0 ? hold : 0));
        o->shown = ro->size - hold;
        return true;
}

static void sleep_1s(void)
{
        struct timespec ts = {1, 0};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* --follow after the first print: every second, the new output, until the
 * run has a final status (its worker stores the full output then) or its
 * worker is gone. */
static int logs_follow(logs_out *o, cw_store *store, const cw_config *cfg, int64_t id,
                       cw_run_output *ro)
{
        cw_cli *cli = o->cli;
        int dead = 0, r;

        while (!cw_run_status_is_final(ro->status)) {
                cw_run run = {0};

                if (fflush(cli->out) != 0 || ferror(cli->out))
                        return cli_fail(cli, "cannot write the output: %s", strerror(errno));
                sleep_1s();
                cw_run_output_release(ro);
                r = cw_store_run_output_get(store, id, ro);
                if (r < 0)
                        return cli_fail(cli, "cannot read run %lld: %s", (long long)id,
                                        cw_store_strerror(r));
                bool final = cw_run_status_is_final(ro->status);
                if (!logs_follow_print(o, ro, final) && final) {
                        /* The final record is not of the head + tail shape
                         * (or shrank): show it again whole rather than guess. */
                        fprintf(cli->err,
                                "%s: note: run %lld's final output differs from what was shown; "
                                "printing it in full\n",
                                cli->prog, (long long)id);
                        if (!o->line_start)
                                logs_write(o, "\n", 1);
                        logs_write(o, ro->data ? ro->data : "", ro->len);
                }
                if (final || ro->status == CW_RUN_QUEUED)
                        continue;
                /* A worker gone without recording the outcome never will:
                 * twice in a row, so a run finishing right now is not
                 * mistaken for one. */
                if (cw_store_run_get(store, id, &run) == 0 && run.status == CW_RUN_RUNNING &&
                    !cw_remote_run_alive(store, cfg, &run))
                        dead++;
                else
                        dead = 0;
                cw_run_release(&run);
                if (dead >= 2) {
                        fflush(cli->out);
                        fprintf(cli->err, "%s: run %lld's worker is gone; stopped following\n",
                                cli->prog, (long long)id);
                        return CW_EXIT_JOB_FAILED;
                }
        }
        fflush(cli->out);
        fprintf(cli->err, "%s: run %lld ended: %s\n", cli->prog, (long long)id,
                cw_run_status_to_string(ro->status));
        return CW_EXIT_OK;
}

static int cmd_logs(cw_cli *cli, int argc, char **argv)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        _cleanup_(cw_run_output_release) cw_run_output ro = {0};
        bool json = false, help = false, follow = false;
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"json", no_argument, NULL, CLI_OPT_JSON},
                {"follow", no_argument, NULL, 'f'},
                {0},
        };
        logs_out lo = {.cli = cli, .line_start = true};
        int64_t id;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "f", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                if (o == CLI_OPT_JSON)
                        json = true;
                else if (o == 'f')
                        follow = true;
                else
                        return cli_usage_error(cli, &cw_cmd_logs,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        }
        if (help) {
                fputs(logs_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (json && follow)
                return cli_usage_error(cli, &cw_cmd_logs,
                                       "--json and --follow cannot be used together");
        if (argc - optind != 1)
                return cli_usage_error(cli, &cw_cmd_logs, "expected one RUN_ID");
        if (cli_parse_uint(argv[optind], INT64_MAX, &id) < 0 || id < 1)
                return cli_usage_error(cli, &cw_cmd_logs, "RUN_ID: expected a run number, got '%s'",
                                       argv[optind]);
        r = cli_load_config(cli, false, &cfg);
        if (r == CW_EXIT_OK)
                r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        /* Output, size and status of one moment: a snapshot being stored
         * meanwhile cannot make them disagree. */
        r = cw_store_run_output_get(store, id, &ro);
        if (r == -ENOENT)
                return cli_fail(cli, "no run %lld (see 'cronwarden history')", (long long)id);
        if (r < 0)
                return cli_fail(cli, "cannot read run %lld: %s", (long long)id,
                                cw_store_strerror(r));
        if (!cw_run_status_is_final(ro.status))
                fprintf(cli->err, "%s: note: run %lld is still %s: %s (%llu bytes so far)\n",
                        cli->prog, (long long)id, cw_run_status_to_string(ro.status),
                        follow ? "following its output until it ends" : "this is its output so far",
                        (unsigned long long)ro.size);
        if (json) {
                size_t vl = 0;
                _cleanup_free_ char *valid = to_valid_utf8(ro.data ? ro.data : "", ro.len, &vl);
                json_t *obj = json_object();
                json_object_set_new(obj, "run", json_integer(id));
                json_object_set_new(obj, "status", json_string(cw_run_status_to_string(ro.status)));
                json_object_set_new(obj, "output", valid ? json_stringn(valid, vl) : json_null());
                json_object_set_new(obj, "truncated", json_boolean(ro.truncated));
                json_object_set_new(obj, "size", json_integer((json_int_t)ro.size));
                json_dumpf(obj, cli->out, JSON_COMPACT);
                fputc('\n', cli->out);
                json_decref(obj);
                return fflush(cli->out) == 0 ? CW_EXIT_OK
                                             : cli_fail(cli, "cannot write the output");
        }
        lo.tty = isatty(fileno(cli->out));
        if (!follow || !logs_follow_print(&lo, &ro, cw_run_status_is_final(ro.status))) {
                /* Not of the head + tail shape: printed as stored, and
                 * --follow goes on from its size. */
                logs_write(&lo, ro.data ? ro.data : "", ro.len);
                lo.shown = ro.size;
        }
        if (follow && (r = logs_follow(&lo, store, cfg, id, &ro)) != CW_EXIT_OK)
                return r;
        if (fflush(cli->out) != 0 || ferror(cli->out))
                return cli_fail(cli, "cannot write the output: %s", strerror(errno));
        return CW_EXIT_OK;
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
        "progress are never deleted.\n"
        "\n"
        "Options:\n"
        "      --older-than DURATION  delete runs that started longer ago than this\n"
        "                    (90s, 10m, 1h30m, 7d, 2w)\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok (also when nothing was old enough), 2 bad arguments,\n"
        "config or store error.\n";

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
                        return cli_usage_error(cli, &cw_cmd_prune,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                older = optarg;
        }
        if (help) {
                fputs(prune_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_prune, "unexpected argument '%s'",
                                       argv[optind]);
        if (older && cw_duration_parse(older, &d, &e) < 0)
                return cli_fail_caret(cli, "--older-than", older, &e);
        r = cli_load_config(cli, false, &cfg);
        if (r == CW_EXIT_OK)
                r = cli_open_store(cli, cfg, &store);
        if (r != CW_EXIT_OK)
                return r;
        if (!older)
                d = cfg->keep_history;
        r = cw_store_runs_prune(store, cli->now - d * 1000000, &deleted);
        if (r < 0)
                return cli_fail(cli, "cannot prune: %s", cw_store_strerror(r));
        /* Delivered notifications of the same age go too (a store without
         * an outbox has none). */
        r = cw_store_notices_prune(store, cli->now - d * 1000000, NULL);
        if (r < 0 && r != -EOPNOTSUPP)
                return cli_fail(cli, "cannot prune notifications: %s", strerror(-r));
        cli_format_instant(cfg->tz, cw_instant_sec(cli->now) - d, when, sizeof(when));
        cw_duration_format(d, dtext, sizeof(dtext));
        fprintf(cli->out, "pruned %llu run%s that started before %s (older than %s)\n",
                (unsigned long long)deleted, deleted == 1 ? "" : "s", when, dtext);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_prune = {
        .name = "prune",
        .run = cmd_prune,
        .summary = "delete old finished runs",
        .usage = prune_usage,
};
