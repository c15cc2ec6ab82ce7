/* cmd_import.c - `cronwarden import-crontab FILE`: the front of the
 * crontab converter (src/crontab/crontab.h). It parses the options, opens
 * the file, prints the converted config on stdout and the converter's
 * reports on stderr as FILE:LINE, and chooses the exit status: 0 every
 * line converted, 1 some skipped, 2 usage error, unreadable FILE, or a
 * file that must not be converted as asked. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crontab/crontab.h"

enum {
        IMP_OPT_PREFIX = 0x2000,
        IMP_OPT_SHELL,
        IMP_OPT_SYSTEM,
};

static const char import_usage[] =
        "Usage: cronwarden import-crontab FILE [--prefix NAME] [--shell] [--system]\n"
        "\n"
        "Convert a crontab (FILE, or - for standard input) into config sections,\n"
        "printed on standard output: a [job NAME] per entry with its command and\n"
        "schedule, and a [defaults] section for the environment lines. Redirect it\n"
        "to a file and run 'cronwarden --config FILE check'.\n"
        "\n"
        "  - A job is named after its program (backup.sh -> backup), with -2, -3...\n"
        "    when several entries run the same program; a comment line right above\n"
        "    an entry becomes its description.\n"
        "  - Commands with shell syntax (| ; && > $ ` * ~ ...) get shell = yes, as cron\n"
        "    ran every command with /bin/sh; \\% becomes %. A command that uses % to\n"
        "    feed standard input is kept without that input and marked NOTE.\n"
        "  - NAME=value lines become env = lines; CRON_TZ and TZ set timezone;\n"
        "    MAILTO and SHELL become comments (SHELL an env line with --shell).\n"
        "  - Lines that cannot be converted (bad time fields, unknown @macros, a\n"
        "    missing command, a word too long for one config line...) are reported\n"
        "    on standard error as FILE:LINE and skipped.\n"
        "\n"
        "Options:\n"
        "      --prefix NAME put NAME in front of every job name (--prefix cron_\n"
        "                    gives cron_backup)\n"
        "      --shell       shell = yes for every command, and keep SHELL= lines\n"
        "      --system      the file is a system crontab (/etc/crontab,\n"
        "                    /etc/cron.d/*): the 6th field is a user, imported as\n"
        "                    run_as. Without it, a line whose 6th field is a user\n"
        "                    name followed by a command stops the conversion\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 every line converted, 1 some lines skipped (see standard\n"
        "error), 2 usage error, unreadable FILE, or a system crontab without\n"
        "--system.\n";

/* The converter's reports, in line order, then the summary line. */
static void print_diags(cw_cli *cli, const char *file, const cw_crontab_result *res)
{
        for (size_t i = 0; i < res->n_diags; i++) {
                const cw_crontab_diag *d = &res->diags[i];

                fprintf(cli->err, "%s: %s:%d: %s%s%s\n", cli->prog, file, d->line,
                        d->skipped ? "" : "note: ", d->msg, d->skipped ? " (line skipped)" : "");
        }
        if (res->n_dropped)
                fprintf(cli->err, "%s: %s: %zu more reports not shown\n", cli->prog, file,
                        res->n_dropped);
}

static void print_summary(cw_cli *cli, const char *file, const cw_crontab_result *res)
{
        fprintf(cli->err, "%s: %s: %zu job%s converted", cli->prog, file, res->n_jobs,
                res->n_jobs == 1 ? "" : "s");
        if (res->n_skipped)
                fprintf(cli->err, ", %zu line%s skipped", res->n_skipped,
                        res->n_skipped == 1 ? "" : "s");
        if (res->n_notes)
                fprintf(cli->err, ", %zu note%s", res->n_notes, res->n_notes == 1 ? "" : "s");
        fputc('\n', cli->err);
}

/* Converts in and prints; returns the exit status. */
static int import_run(cw_cli *cli, const cw_crontab_opts *opts, FILE *in, const char *path)
{
        _cleanup_(cw_crontab_result_release) cw_crontab_result res = {0};
        int r;

        r = cw_crontab_convert(in, opts, &res);
        print_diags(cli, opts->file, &res);
        if (r == -EINVAL)
                return cli_fail(cli, "%s:%d: %s", opts->file, res.error_line, res.error);
        if (r == -EIO)
                return cli_fail(cli, "cannot read '%s': read error", path);
        if (r == -EFBIG)
                return cli_fail(cli, "'%s': the converted config would be larger than %u bytes",
                                path, CW_CRONTAB_OUTPUT_MAX);
        if (r < 0)
                return cli_fail(cli, "%s", strerror(-r));
        fwrite(res.text, 1, res.len, cli->out);
        if (fflush(cli->out) != 0 || ferror(cli->out))
                return cli_fail(cli, "cannot write the output: %s", strerror(errno));
        print_summary(cli, opts->file, &res);
        return res.n_skipped ? 1 : CW_EXIT_OK;
}

static int cmd_import_crontab(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"prefix", required_argument, NULL, IMP_OPT_PREFIX},
                {"shell", no_argument, NULL, IMP_OPT_SHELL},
                {"system", no_argument, NULL, IMP_OPT_SYSTEM},
                {0},
        };
        cw_crontab_opts opts = {
                .prefix = "",
                .zoneinfo = cli->zoneinfo,
                .now = cw_instant_sec(cli->now),
        };
        bool help = false;
        const char *path;
        FILE *in;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                switch (o) {
                case IMP_OPT_PREFIX:
                        opts.prefix = optarg;
                        break;
                case IMP_OPT_SHELL:
                        opts.shell_all = true;
                        break;
                case IMP_OPT_SYSTEM:
                        opts.system = true;
                        break;
                default:
                        return cli_usage_error(cli, &cw_cmd_import_crontab,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (help) {
                fputs(import_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_import_crontab,
                                       "missing FILE (a crontab, or - for standard input)");
        if (optind + 1 < argc)
                return cli_usage_error(cli, &cw_cmd_import_crontab, "unexpected argument '%s'",
                                       argv[optind + 1]);
        if (opts.prefix[0] && !cw_crontab_prefix_valid(opts.prefix))
                return cli_usage_error(
                        cli, &cw_cmd_import_crontab,
                        "--prefix: expected letters, digits, '_' and '-', starting with a "
                        "letter or '_' (at most %d bytes), got '%s'",
                        CW_CRONTAB_PREFIX_MAX, opts.prefix);
        path = argv[optind];
        if (strcmp(path, "-") == 0) {
                in = stdin;
                opts.file = "<stdin>";
        } else {
                in = fopen(path, "re");
                if (!in)
                        return cli_fail(cli, "cannot read '%s': %s", path, strerror(errno));
                opts.file = path;
        }
        r = import_run(cli, &opts, in, path);
        if (in != stdin)
                fclose(in);
        return r;
}

const cw_command cw_cmd_import_crontab = {
        .name = "import-crontab",
        .run = cmd_import_crontab,
        .summary = "convert a crontab into config sections",
        .usage = import_usage,
};
