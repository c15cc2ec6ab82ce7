/* spawner_main.c - cronwarden-spawner, the daemon's spawner process
 * (daemon/spawner.h) as a program of its own.
 *
 * The spawner forks one worker per run. The cost of a fork, and of the
 * worker's exit, grows with the mappings the process carries, and the
 * cronwarden binary maps libraries a worker never uses (libmicrohttpd
 * with gnutls, zlib, libsodium; libsystemd under systemd; the curl module
 * once it sends a notification). This program links only what
 * cw_spawner_main() and the worker use, with the module loaders in place
 * of the backends (base/module.h): on a PostgreSQL store it loads
 * cronwarden-pg.so before its first fork (cw_spawner_main), so its
 * workers inherit libpq. The daemon starts it when it finds it
 * (cli_spawn_spawner); otherwise it starts `cronwarden daemon --spawner`,
 * which does the same with the full binary.
 *
 * Usage (internal, the daemon's only): cronwarden-spawner FULL CONFIG
 * SNAPSHOT PROTO, with the daemon's end of the socket pair on
 * CW_SPAWNER_FD. FULL is the cronwarden binary that started it: a PROTO
 * other than its own (cli_spawner_proto: a daemon of another version)
 * makes it exec FULL as `--config CONFIG daemon --spawner
 * --config-snapshot SNAPSHOT` instead, on the same descriptors and
 * environment. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_env.h"
#include "config/config.h"
#include "daemon/spawner.h"

#define PROG "cronwarden-spawner"

static cw_config *load_snapshot(const char *config_path, const char *snapshot, cw_instant now)
{
        cw_config_opts opts = {.zoneinfo_dir = cli_env_zoneinfo(), .now = cw_instant_sec(now)};
        cw_config_errors errs = {0};
        _cleanup_free_ char *text = NULL;
        cw_config *cfg = NULL;
        size_t len = 0;
        int r;

        r = cw_config_read_file(snapshot, &text, &len);
        if (r < 0) {
                fprintf(stderr, PROG ": cannot read the config snapshot '%s': %s\n", snapshot,
                        strerror(-r));
                return NULL;
        }
        r = cw_config_load_string(config_path, text, len, &opts, &cfg, &errs);
        for (size_t i = 0; i < errs.n; i++)
                fprintf(stderr, PROG ": %s\n", errs.msgs[i]);
        if (r < 0 && errs.n == 0)
                fprintf(stderr, PROG ": cannot load '%s': %s\n", config_path, strerror(-r));
        cw_config_errors_release(&errs);
        return r < 0 ? NULL : cfg;
}

/* A daemon of another version: the full binary takes over, as if the
 * daemon had started it. Returns only when exec fails. */
static int exec_full(const char *full, const char *config_path, const char *snapshot)
{
        char *const argv[] = {(char *)full, "--config",          (char *)config_path, "daemon",
                              "--spawner",  "--config-snapshot", (char *)snapshot,    NULL};

        execv(full, argv);
        fprintf(stderr, PROG ": cannot start '%s': %s\n", full, strerror(errno));
        return EXIT_FAILURE;
}

int main(int argc, char **argv)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        cw_instant now;
        cw_clock clock;
        cw_error e;
        int r;

        char proto[32];

        if (argc < 4 || argc > 5 || fcntl(CW_SPAWNER_FD, F_GETFD) < 0) {
                fprintf(stderr, PROG ": internal, started by 'cronwarden daemon' itself\n");
                return CW_EXIT_USAGE;
        }
        if (cli_env_clock(&clock, &now, &e) < 0) {
                fprintf(stderr, PROG ": %s\n", e.msg);
                return CW_EXIT_USAGE;
        }
        /* The daemon's requests would be misread: its own binary serves them. */
        cli_spawner_proto(proto, sizeof(proto));
        if (argc != 5 || strcmp(argv[4], proto) != 0)
                return exec_full(argv[1], argv[2], argv[3]);
        cfg = load_snapshot(argv[2], argv[3], now);
        if (!cfg)
                return CW_EXIT_USAGE;
        /* As `daemon --spawner` does (cmd_daemon.c): every symbol is bound
         * now; nothing started from here needs the setting. */
        if (getenv(CLI_SPAWNER_BIND_NOW)) {
                unsetenv("LD_BIND_NOW");
                unsetenv(CLI_SPAWNER_BIND_NOW);
        }
        r = cw_spawner_main(cfg, &clock, CW_SPAWNER_FD);
        if (r < 0) {
                fprintf(stderr, PROG ": %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return CW_EXIT_OK;
}
