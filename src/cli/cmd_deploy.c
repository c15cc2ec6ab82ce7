/* cmd_deploy.c - deploys: `diff` (what a reload would change), `drain`
 * and `undrain` (docs/running.md, "Deploys"). The comparison itself is
 * config/diff.h; the daemon records the text it runs as its snapshot
 * (daemon/daemon.h, CW_DAEMON_SNAPSHOT), which is what `diff` compares
 * against by default. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/diff.h"
#include "daemon/daemon.h"

/* ---- diff ---- */

static const char diff_usage[] =
        "Usage: cronwarden [--config FILE] diff [NEWFILE]\n"
        "\n"
        "Show what a reload would change: the config file (or NEWFILE) against\n"
        "the config the daemon runs (DATA_DIR/config.snapshot.ini, written at\n"
        "each start and reload). One line per change: '+ [job D]' added,\n"
        "'- [job X]' removed, '~ [job A] KEY: OLD -> NEW' changed (repeated\n"
        "keys as '- VALUE' and '+ VALUE' lines); a changed job schedule is\n"
        "followed by its next fires before and after. Secrets are shown as ***.\n"
        "Then every problem that would make the new config fail 'check'.\n"
        "With NEWFILE and no daemon snapshot, NEWFILE is compared against the\n"
        "config file.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file (also gives data_dir)\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 no change, 1 changes, 2 the new config would fail check,\n"
        "or nothing to compare against, or a usage error.\n";

typedef struct side {
        char *path;
        char *text;
        size_t len;
        cw_config *cfg;
        cw_config_errors errs;
} side;

static void side_release(side *s)
{
        free(s->path);
        free(s->text);
        cw_config_free(s->cfg);
        cw_config_errors_release(&s->errs);
}

/* Reads path (shown under name: relative paths in the text resolve
 * against name's directory) and loads it; a text that does not load
 * keeps its errors. Returns 0 or the read's negative errno. */
static int side_read(cw_cli *cli, side *s, const char *path, const char *name)
{
        cw_config_opts opts = {.zoneinfo_dir = cli->zoneinfo, .now = cli->now};
        int r;

        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        r = cw_config_read_file(path, &s->text, &s->len);
        if (r < 0)
                return r;
        (void)cw_config_load_string(name, s->text, s->len, &opts, &s->cfg, &s->errs);
        return 0;
}

static int diff_print(cw_cli *cli, const side *old, const side *new)
{
        cw_config_diff d = CW_CONFIG_DIFF_INIT;
        cw_buf out = CW_BUF_INIT(64 * 1024 * 1024);
        char v_old[CW_CONFIG_VERSION_LEN + 1], v_new[CW_CONFIG_VERSION_LEN + 1];
        int r;

        r = cw_config_diff_texts(old->text, old->len, new->text, new->len, &d);
        if (r < 0)
                return cli_fail(cli, "diff: %s", strerror(-r));
        cw_config_diff_add_fires(&d, old->cfg, new->cfg, cli->now);
        cw_config_version(old->text, old->len, v_old);
        cw_config_version(new->text, new->len, v_new);
        fprintf(cli->out, "--- %s (version %s)\n+++ %s (version %s)\n", old->path, v_old, new->path, v_new);
        r = cw_config_diff_format(&d, &out);
        if (r == 0 && out.len)
                fputs(out.p, cli->out);
        else if (r == 0)
                fputs("no changes\n", cli->out);
        cw_buf_release(&out);
        if (new->errs.n) {
                fprintf(cli->out, "the new config would fail check (%zu problem%s); a reload would keep the old one:\n",
                        new->errs.n, new->errs.n == 1 ? "" : "s");
                for (size_t i = 0; i < new->errs.n; i++)
                        fprintf(cli->out, "%s\n", new->errs.msgs[i]);
                r = CW_EXIT_USAGE;
        } else if (r == 0) {
                r = d.n ? 1 : CW_EXIT_OK;
        } else {
                r = cli_fail(cli, "diff: %s", strerror(-r));
        }
        cw_config_diff_release(&d);
        return r;
}

/* data_dir as written in a config that does not load, made absolute
 * against the file's directory; NULL when it has none. */
static char *text_data_dir(const side *s)
{
        _cleanup_free_ char *v = cw_config_text_value(s->text, s->len, "cronwarden", "data_dir");
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(s->path, '/');
        char *out = NULL;

        if (!v || !*v)
                return NULL;
        if (v[0] == '/')
                return CW_TAKE_PTR(v);
        dir = slash ? strndup(s->path, (size_t)(slash - s->path)) : strdup(".");
        if (!dir || asprintf(&out, "%s/%s", dir, v) < 0)
                return NULL;
        return out;
}

static int cmd_diff(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {CLI_COMMON_OPTIONS, {0}};
        const char *cfg_path = cw_config_find(cli->config_path, cli->config_env);
        side cur = {0}, snap = {0}, neu = {0};
        const side *old = &snap, *new = &cur;
        _cleanup_free_ char *raw_dir = NULL;
        const char *data_dir;
        char path[4096];
        bool help = false;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1)
                if (!cli_common_option(cli, o, optarg, &help))
                        return cli_usage_error(cli, &cw_cmd_diff, "unknown or incomplete option '%s'", argv[optind - 1]);
        if (help) {
                fputs(diff_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_diff, "unexpected argument '%s'", argv[optind + 1]);
        if (!cfg_path)
                return cli_fail(cli, "no config file: give --config FILE");
        r = side_read(cli, &cur, cfg_path, cfg_path);
        if (r < 0) {
                r = cli_fail(cli, "cannot read '%s': %s", cfg_path, strerror(-r));
                goto done;
        }
        if (optind < argc) {
                r = side_read(cli, &neu, argv[optind], argv[optind]);
                if (r < 0) {
                        r = cli_fail(cli, "cannot read '%s': %s", argv[optind], strerror(-r));
                        goto done;
                }
                new = &neu;
        }
        /* data_dir: the config file's, else the new text's. */
        data_dir = cur.cfg ? cur.cfg->data_dir : neu.cfg ? neu.cfg->data_dir : NULL;
        if (!data_dir)
                data_dir = raw_dir = text_data_dir(&cur);
        if (!data_dir) {
                r = cli_fail(cli, "'%s' does not load (run 'cronwarden check'): cannot find data_dir", cfg_path);
                goto done;
        }
        snprintf(path, sizeof(path), "%s/%s", data_dir, CW_DAEMON_SNAPSHOT);
        r = side_read(cli, &snap, path, cfg_path);
        if (r == -ENOENT && new == &neu) {
                old = &cur;
        } else if (r < 0) {
                r = cli_fail(cli, "no config the daemon runs to compare against: cannot read '%s': %s", path,
                             strerror(-r));
                goto done;
        }
        r = diff_print(cli, old, new);
done:
        side_release(&cur);
        side_release(&snap);
        side_release(&neu);
        return r;
}

const cw_command cw_cmd_diff = {
        .name = "diff",
        .run = cmd_diff,
        .summary = "show what a reload would change",
        .usage = diff_usage,
};
