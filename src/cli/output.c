/* output.c - helpers shared by the CLI commands: error printing, config
 * loading with diagnostics, time formatting. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/iso8601.h"
#include "cli.h"
#include "worker/journal.h"

int cli_fail(cw_cli *cli, const char *fmt, ...)
{
        va_list ap;

        fprintf(cli->err, "%s: ", cli->prog);
        va_start(ap, fmt);
        vfprintf(cli->err, fmt, ap);
        va_end(ap);
        fputc('\n', cli->err);
        return CW_EXIT_USAGE;
}

int cli_usage_error(cw_cli *cli, const cw_command *cmd, const char *fmt, ...)
{
        va_list ap;

        fprintf(cli->err, "%s %s: ", cli->prog, cmd->name);
        va_start(ap, fmt);
        vfprintf(cli->err, fmt, ap);
        va_end(ap);
        fprintf(cli->err, "\nTry '%s %s --help'.\n", cli->prog, cmd->name);
        return CW_EXIT_USAGE;
}

int cli_fail_caret(cw_cli *cli, const char *what, const char *text, const cw_error *e)
{
        char buf[2 * CW_TIMESPEC_TEXT_MAX + 64];

        fprintf(cli->err, "%s: %s: %s\n", cli->prog, what, e->msg);
        if (e->col >= 0) {
                cw_error_caret(e, text, "    ", buf, sizeof(buf));
                fprintf(cli->err, "%s\n", buf);
        }
        return CW_EXIT_USAGE;
}

bool cli_common_option(cw_cli *cli, int opt, const char *arg, bool *help)
{
        switch (opt) {
        case CLI_OPT_CONFIG:
                cli->config_path = arg;
                return true;
        case CLI_OPT_HELP:
                *help = true;
                return true;
        default:
                return false;
        }
}

int cli_load_config(cw_cli *cli, bool quiet_missing, cw_config **ret)
{
        cw_config_opts opts = {.zoneinfo_dir = cli->zoneinfo,
                               .now = cw_instant_sec(cli->now),
                               .function = cli->embed ? cli->embed->function : NULL,
                               .function_userdata = cli->embed ? cli->embed->userdata : NULL};
        cw_config_errors errs = {0};
        cw_config *c = NULL;
        const char *path;
        int r;

        path = cw_config_find(cli->config_path, cli->config_env);
        if (!path) {
                if (quiet_missing) {
                        *ret = NULL;
                        return CW_EXIT_OK;
                }
                return cli_fail(
                        cli,
                        "no config file: looked for ./cronwarden.ini and "
                        "/etc/cronwarden/cronwarden.ini (use --config FILE or CRONWARDEN_CONFIG)");
        }
        if (cli->config_snapshot) {
                /* A daemon's worker: the text the daemon accepted, under the
                 * config's own name (relative paths resolve the same way). */
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                r = cw_config_read_file(cli->config_snapshot, &text, &len);
                if (r < 0)
                        return cli_fail(cli, "cannot read the config snapshot '%s': %s",
                                        cli->config_snapshot, strerror(-r));
                r = cw_config_load_string(path, text, len, &opts, &c, &errs);
        } else {
                r = cw_config_load(path, &opts, &c, &errs);
        }
        if (r < 0) {
                for (size_t i = 0; i < errs.n; i++)
                        fprintf(cli->err, "%s\n", errs.msgs[i]);
                if (errs.n == 0)
                        fprintf(cli->err, "%s: cannot load '%s': %s\n", cli->prog, path,
                                strerror(-r));
                else if (r == -EINVAL)
                        fprintf(cli->err, "%s: %zu error%s\n", path, errs.n,
                                errs.n == 1 ? "" : "s");
                cw_config_errors_release(&errs);
                return CW_EXIT_USAGE;
        }
        cw_config_errors_release(&errs);
        *ret = c;
        return CW_EXIT_OK;
}

void cli_format_instant(const cw_tz *tz, cw_time t, char *buf, size_t size)
{
        if (cw_iso8601_format(t, cw_tz_utoff(tz, t), buf, size) < 0)
                snprintf(buf, size, "@%lld", (long long)t);
}

void cli_format_local(const cw_tz *tz, cw_time t, char *buf, size_t size)
{
        cw_tz_period p;
        cw_civil c;

        cw_tz_lookup(tz, t, &p);
        cw_secs_to_civil(t + p.utoff, &c);
        snprintf(buf, size, "%04lld-%02d-%02d %02d:%02d:%02d %s", (long long)c.year, c.mon, c.day,
                 c.hour, c.min, c.sec, p.abbr);
}

void cli_format_relative(cw_time now, cw_time t, char *buf, size_t size)
{
        int64_t d = t >= now ? t - now : now - t;
        char amount[48];

        if (d < 60)
                snprintf(amount, sizeof(amount), "%llds", (long long)d);
        else if (d < 3600)
                snprintf(amount, sizeof(amount), "%lldm", (long long)(d / 60));
        else if (d < 86400)
                snprintf(amount, sizeof(amount), "%lldh %lldm", (long long)(d / 3600),
                         (long long)(d / 60 % 60));
        else
                snprintf(amount, sizeof(amount), "%lldd %lldh", (long long)(d / 86400),
                         (long long)(d / 3600 % 24));
        if (t >= now)
                snprintf(buf, size, "in %s", amount);
        else
                snprintf(buf, size, "%s ago", amount);
}

int cli_open_store(cw_cli *cli, const cw_config *cfg, cw_store **ret)
{
        cw_error e;
        int r;

        cw_error_clear(&e);
        r = cw_store_open(cfg->store, cfg->data_dir, ret, &e);
        if (r < 0)
                return cli_fail(cli, "cannot open the store: %s",
                                e.msg[0] ? e.msg : cw_store_strerror(r));
        cw_store_set_clock(*ret, &cli->clock);
        /* Outcomes a worker could not record (a full disk) go in first, so
         * nothing below takes their runs for lost. Best effort: an entry
         * that cannot be recorded yet stays for the next process. */
        (void)cw_journal_replay(*ret, cfg->data_dir, NULL);
        return CW_EXIT_OK;
}

int cli_store_command(cw_cli *cli, const cw_command *cmd, const char *usage, bool help, int argc,
                      char **argv, cw_config **ret_cfg, cw_store **ret_store)
{
        int r;

        if (help) {
                fputs(usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[optind]);
        r = cli_load_config(cli, false, ret_cfg);
        if (r == CW_EXIT_OK)
                r = cli_open_store(cli, *ret_cfg, ret_store);
        return r == CW_EXIT_OK ? CLI_GO : r;
}

void cli_format_elapsed(int64_t us, char *buf, size_t size)
{
        int64_t s = us / 1000000;

        if (us < 0)
                us = 0;
        if (us < 60 * 1000000LL)
                snprintf(buf, size, "%.1fs", (double)us / 1e6);
        else if (s < 3600)
                snprintf(buf, size, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
        else
                snprintf(buf, size, "%lldh%lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
}

int cli_parse_uint(const char *s, int64_t max, int64_t *ret)
{
        char *end;
        long long v;

        if (!s[0] || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end || v < 0 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}
