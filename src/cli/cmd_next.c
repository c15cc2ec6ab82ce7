/* cmd_next.c - `cronwarden next SPEC`: preview a time spec's fire instants
 * (docs/timespec.md), so anyone can check a schedule before deploying it. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base/iso8601.h"
#include "cli.h"
#include "jobspec/jobspec.h"
#include "base/units.h"
#include "sched/jitter.h"
#include "sched/maint.h"
#include "timespec/timespec.h"

#define NEXT_COUNT_MAX 1000000

static const char next_usage[] =
        "Usage: cronwarden next SPEC [--count N] [--from TIME] [--tz ZONE] [--job JOBSPEC] [--json]\n"
        "\n"
        "Print the next fire instants of a time spec, one per line, as ISO 8601\n"
        "with the local UTC offset (2027-03-28T03:00:00+02:00).\n"
        "\n"
        "SPEC is a cron expression (5 fields, or 6 with seconds first), a macro\n"
        "(@daily, @hourly, ... @reboot), 'every DURATION' or 'at HH:MM[, HH:MM...]'.\n"
        "Quote it, or pass its fields as separate arguments.\n"
        "\n"
        "Options:\n"
        "  -n, --count N     how many instants (1-1000000, default 5)\n"
        "      --from TIME   start strictly after TIME (ISO 8601; with Z or an offset,\n"
        "                    else local time in the zone; default: now). For\n"
        "                    'every', TIME is the previous fire.\n"
        "      --tz ZONE     time zone (default: the job's zone with --job, else the\n"
        "                    config's timezone, else the system zone)\n"
        "      --job JOBSPEC job spec whose hash seeds H (e.g. --job Backup); with a\n"
        "                    config, a fire that a maintenance window of the job\n"
        "                    skips or defers says so after the instant, and so\n"
        "                    does the job's jitter ('jitter +17s: due TIME')\n"
        "      --json        print a JSON array of strings\n"
        "      --config FILE config file consulted for zones (optional)\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 bad spec, zone, time or option (a spec that never\n"
        "fires, like '0 0 30 2 *', is an error).\n";

typedef struct next_args {
        const char *spec;
        long count;
        const char *from;
        const char *tz;
        const char *job;
        bool json;
} next_args;

static int parse_count(const char *s, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < 1 || v > NEXT_COUNT_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Joins argv[first..argc) with spaces into a new string. */
static char *join_args(int argc, char **argv, int first)
{
        size_t n = 1;
        char *s, *p;

        for (int i = first; i < argc; i++)
                n += strlen(argv[i]) + 1;
        s = malloc(n);
        if (!s)
                return NULL;
        p = s;
        for (int i = first; i < argc; i++) {
                size_t l = strlen(argv[i]);
                if (i > first)
                        *p++ = ' ';
                memcpy(p, argv[i], l);
                p += l;
        }
        *p = '\0';
        return s;
}

/* Picks the zone: --tz, else the job's or the config's, else the system's.
 * *owned receives a zone the caller must free (NULL when borrowed). */
static int pick_zone(cw_cli *cli, const next_args *a, const cw_config *cfg, const cw_jobspec *js,
                     cw_tz **owned, const cw_tz **ret)
{
        char origin[64];
        cw_error e;
        int r;

        if (a->tz) {
                r = cw_tz_load(a->tz, cli->zoneinfo, owned, &e);
                if (r < 0)
                        return cli_fail(cli, "--tz: %s", r == -ENOMEM ? "out of memory" : e.msg);
                *ret = *owned;
                /* Which rules these are, on stderr: stdout's format is fixed. */
                fprintf(cli->err, "%s: %s: %s%s%s%s\n", cli->prog, cw_tz_name(*ret),
                        cw_tz_origin(*ret, origin, sizeof(origin)), cw_tz_source(*ret) ? " (" : "",
                        cw_tz_source(*ret) ? cw_tz_source(*ret) : "",
                        cw_tz_source(*ret) ? ")" : "");
                return 0;
        }
        if (cfg) {
                const cw_job *j = js ? cw_config_job(cfg, js->name) : NULL;
                *ret = j ? j->tz : cfg->tz;
                return 0;
        }
        r = cw_tz_load_system(owned, &e);
        if (r < 0)
                return cli_fail(cli, "cannot load the system time zone: %s", e.msg);
        *ret = *owned;
        return 0;
}

static int parse_from(cw_cli *cli, const char *from, const cw_tz *tz, cw_time *ret)
{
        cw_time inst[2];
        cw_error e;
        int64_t v;
        bool has_off;

        if (!from) {
                *ret = cw_instant_sec(cli->now);
                return 0;
        }
        if (cw_iso8601_parse(from, &v, &has_off, &e) < 0)
                return cli_fail_caret(cli, "--from", from, &e);
        if (has_off) {
                *ret = v;
                return 0;
        }
        /* A local reading: the first occurrence when repeated, the end of
         * the gap when skipped (the same rule fixed-time fires follow). */
        cw_tz_resolve(tz, v, inst);
        *ret = inst[0];
        return 0;
}

/* After a fire of a job with maintenance windows (text output only):
 * what a window does to it. */
static void print_maint(cw_cli *cli, const cw_config *cfg, const cw_job *job, const cw_tz *tz,
                        cw_time t)
{
        cw_maint_effect fx;
        char buf[64];

        if (!job || !cfg->n_maintenance)
                return;
        fx = cw_maint_effect_of(cfg, job, t);
        if (!fx.window)
                return;
        if (fx.deferred) {
                cli_format_instant(tz, fx.to, buf, sizeof(buf));
                fprintf(cli->out, "  deferred to %s: maintenance window %s", buf, fx.window->name);
        } else {
                fprintf(cli->out, "  skipped: maintenance window %s", fx.window->name);
        }
}

/* After a fire of a job with a jitter (text output only): when it comes
 * due (sched/jitter.h; seed: the canonical job spec). */
static void print_jitter(cw_cli *cli, const cw_job *job, const char *seed, const cw_tz *tz,
                         cw_time t)
{
        cw_duration d;
        char buf[64], dur[32];

        if (!job || job->jitter <= 0)
                return;
        d = cw_jitter_delay(seed, t, job->jitter);
        cw_duration_format(d, dur, sizeof(dur));
        cli_format_instant(tz, t + d, buf, sizeof(buf));
        fprintf(cli->out, "  jitter +%s: due %s", dur, buf);
}

static int print_fires(cw_cli *cli, const next_args *a, const cw_timespec *ts, const cw_tz *tz,
                       cw_time t, const cw_config *cfg, const cw_job *job, const char *seed)
{
        char buf[64];
        long i;

        if (a->json)
                fputc('[', cli->out);
        for (i = 0; i < a->count; i++) {
                if (cw_timespec_next(ts, tz, t, &t) < 0)
                        break;
                cli_format_instant(tz, t, buf, sizeof(buf));
                if (a->json) {
                        fprintf(cli->out, "%s\"%s\"", i ? "," : "", buf);
                        continue;
                }
                fputs(buf, cli->out);
                print_maint(cli, cfg, job, tz, t);
                print_jitter(cli, job, seed, tz, t);
                fputc('\n', cli->out);
        }
        if (a->json)
                fputs("]\n", cli->out);
        if (i < a->count)
                fprintf(cli->err, "%s: no more fires before the year %d\n", cli->prog,
                        CW_TIMESPEC_MAX_YEAR + 1);
        return fflush(cli->out) == 0 ? CW_EXIT_OK
                                     : cli_fail(cli, "cannot write output: %s", strerror(errno));
}

static int next_main(cw_cli *cli, next_args *a)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        _cleanup_(cw_tz_freep) cw_tz *owned = NULL;
        _cleanup_free_ char *seed = NULL;
        const cw_tz *tz = NULL;
        cw_error e;
        cw_time from = 0;
        int r;

        if (a->job) {
                r = cw_jobspec_parse(a->job, &js, &e);
                if (r < 0)
                        return r == -ENOMEM ? cli_fail(cli, "out of memory")
                                            : cli_fail_caret(cli, "--job", a->job, &e);
                seed = cw_jobspec_format(js);
                if (!seed)
                        return cli_fail(cli, "out of memory");
        }
        /* The config is only consulted for zones, and only when no --tz. */
        if (!a->tz) {
                r = cli_load_config(cli, true, &cfg);
                if (r != CW_EXIT_OK)
                        return r;
        }
        r = pick_zone(cli, a, cfg, js, &owned, &tz);
        if (r != 0)
                return r;
        r = cw_timespec_parse(a->spec, seed, &ts, &e);
        if (r < 0)
                return r == -ENOMEM ? cli_fail(cli, "out of memory")
                                    : cli_fail_caret(cli, "bad time spec", a->spec, &e);
        r = parse_from(cli, a->from, tz, &from);
        if (r != 0)
                return r;
        if (cw_timespec_check_fires(ts, tz, from, &e) < 0)
                return cli_fail_caret(cli, "bad time spec", a->spec, &e);
        if (cw_timespec_uses_hash(ts) && !a->job)
                fprintf(cli->err,
                        "%s: note: H is hashed from an empty job spec; pass --job JOBSPEC to see a job's times\n",
                        cli->prog);
        if (cw_timespec_get_kind(ts) == CW_TIMESPEC_REBOOT) {
                fprintf(cli->err,
                        "%s: @reboot fires once each time the daemon starts; it has no fixed instants\n",
                        cli->prog);
                if (a->json)
                        fputs("[]\n", cli->out);
                return CW_EXIT_OK;
        }
        return print_fires(cli, a, ts, tz, from, cfg,
                           cfg && js ? cw_config_job(cfg, js->name) : NULL, seed);
}

static int cmd_next(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"count", required_argument, NULL, 'n'},
                {"from", required_argument, NULL, CLI_OPT_FROM},
                {"tz", required_argument, NULL, CLI_OPT_TZ},
                {"job", required_argument, NULL, CLI_OPT_JOB},
                {"json", no_argument, NULL, CLI_OPT_JSON},
                {0},
        };
        next_args a = {.count = 5};
        _cleanup_free_ char *spec = NULL;
        bool help = false;
        int o;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "n:", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                switch (o) {
                case 'n':
                        if (parse_count(optarg, &a.count) < 0)
                                return cli_usage_error(
                                        cli, &cw_cmd_next,
                                        "--count: expected a number from 1 to %d, got '%s'",
                                        NEXT_COUNT_MAX, optarg);
                        break;
                case CLI_OPT_FROM:
                        a.from = optarg;
                        break;
                case CLI_OPT_TZ:
                        a.tz = optarg;
                        break;
                case CLI_OPT_JOB:
                        a.job = optarg;
                        break;
                case CLI_OPT_JSON:
                        a.json = true;
                        break;
                default:
                        return cli_usage_error(cli, &cw_cmd_next,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (help) {
                fputs(next_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_next,
                                       "missing SPEC (e.g. cronwarden next '*/5 * * * *')");
        spec = join_args(argc, argv, optind);
        if (!spec)
                return cli_fail(cli, "out of memory");
        a.spec = spec;
        return next_main(cli, &a);
}

const cw_command cw_cmd_next = {
        .name = "next",
        .run = cmd_next,
        .summary = "preview a time spec's next fire instants",
        .usage = next_usage,
};
