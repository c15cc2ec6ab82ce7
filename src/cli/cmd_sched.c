/* cmd_sched.c - the commands around the scheduler (docs/scheduling.md, Disable and enable, Requests;
 * the contract is docs/scheduling.md): `disable [JOB]` and
 * `enable [JOB]` (a flag in the store that passes read), `request JOBSPEC`
 * (a row the next pass takes) and `crontab show|install|remove` (the
 * user's crontab line that runs `tick` every minute).
 *
 * The crontab is edited as bytes, not parsed as cron: the marked block
 * per config file is built, found and replaced by src/crontab/ (block.c),
 * and everything else is copied through untouched. This file runs the
 * crontab program and prints. The crontab is read with `crontab -l` and written
 * with `crontab -` (the only portable interface: the spool file itself
 * belongs to cron and is not ours to open). Read-modify-write is not
 * atomic: a concurrent `crontab -e` between our read and write is lost,
 * as it would be between two `crontab -e`s. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/path.h"
#include "cli.h"
#include "crontab/crontab.h"
#include "daemon/daemon.h"
#include "catalog/catalog.h"
#include "worker/lock.h"
#include "jobspec/jobspec.h"

extern char **environ;

/* The scheduler_state key `disable`/`enable` set ("0" or "1"). */
#define STATE_ENABLED "enabled"
/* A crontab is user data: read at most this much of it. */
#define CRONTAB_MAX (4u * 1024 * 1024)
/* What crontab prints on failure: enough for its message. */
#define MESSAGES_MAX (16u * 1024)

/* Parses the options of a command that takes only --config and --help;
 * returns CW_EXIT_OK (with *help set when --help was printed) or an exit
 * code to return. Leaves optind at the first operand. */
static int parse_plain(cw_cli *cli, const cw_command *cmd, int argc, char **argv, bool *help)
{
        static const struct option options[] = {CLI_COMMON_OPTIONS, {0}};
        int o;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, help))
                        continue;
                return cli_usage_error(cli, cmd, "unknown or incomplete option '%s'",
                                       argv[optind - 1]);
        }
        if (*help)
                fputs(cmd->usage, cli->out);
        return CW_EXIT_OK;
}

/* The invoking user's name, for requests and crontab messages. A uid
 * without a passwd entry (containers) is named by its number. */
static void user_name(char *buf, size_t size)
{
        uid_t uid = getuid();
        const struct passwd *pw = getpwuid(uid);

        if (pw && pw->pw_name && pw->pw_name[0])
                snprintf(buf, size, "%s", pw->pw_name);
        else
                snprintf(buf, size, "%lu", (unsigned long)uid);
}

/* ---- disable, enable ---- */

static const char disable_usage[] =
        "Usage: cronwarden [--config FILE] disable [JOB]\n"
        "\n"
        "Pause the scheduler, or one job. Without JOB, neither 'tick' nor the\n"
        "daemon starts anything: every scheduled fire and request is recorded as\n"
        "skipped. With JOB, only that job's fires are skipped. 'run' still works;\n"
        "a disabled job needs 'run --force'. Kept in the store until 'enable'.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 unknown job, bad config or store error.\n";

static const char enable_usage[] =
        "Usage: cronwarden [--config FILE] enable [JOB]\n"
        "\n"
        "Undo 'disable': without JOB, the scheduler starts fires again; with JOB,\n"
        "that job's fires run again. A job with 'enabled = no' in the config stays\n"
        "disabled until the config changes.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 unknown job, bad config or store error.\n";

static int set_scheduler(cw_cli *cli, cw_store *store, bool on)
{
        _cleanup_free_ char *old = NULL;
        bool was_on;
        int r;

        r = cw_store_state_get(store, STATE_ENABLED, &old);
        if (r < 0 && r != -ENOENT)
                return cli_fail(cli, "cannot read the scheduler state: %s", cw_store_strerror(r));
        /* Never set means enabled: a fresh store schedules. */
        was_on = r == -ENOENT || strcmp(old, "0") != 0;
        if (was_on == on) {
                fprintf(cli->out, "scheduler was already %s\n", on ? "enabled" : "disabled");
                return CW_EXIT_OK;
        }
        r = cw_store_state_set(store, STATE_ENABLED, on ? "1" : "0");
        if (r < 0)
                return cli_fail(cli, "cannot %s the scheduler: %s", on ? "enable" : "disable",
                                strerror(-r));
        if (on)
                fprintf(cli->out, "scheduler enabled\n");
        else
                fprintf(cli->out, "scheduler disabled (scheduled fires and requests are recorded "
                                  "as skipped; 'run' still works)\n");
        return CW_EXIT_OK;
}

static int set_job(cw_cli *cli, cw_store *store, const cw_job *job, bool on)
{
        bool was_on = true;
        int r;

        r = cw_store_job_enabled_get(store, job->name, &was_on);
        if (r < 0 && r != -ENOENT)
                return cli_fail(cli, "cannot read the state of job %s: %s", job->name,
                                strerror(-r));
        if (r == -ENOENT)
                was_on = true;
        if (was_on != on) {
                r = cw_store_job_enabled_set(store, job->name, on);
                if (r < 0)
                        return cli_fail(cli, "cannot %s job %s: %s", on ? "enable" : "disable",
                                        job->name, strerror(-r));
        }
        if (!on)
                fprintf(cli->out,
                        "job %s %s (scheduled fires are recorded as skipped; "
                        "'run --force' still runs it)\n",
                        job->name, was_on ? "disabled" : "was already disabled");
        else if (!job->enabled)
                /* The store flag cannot override the config: say so rather
                 * than let the user believe the job will run. */
                fprintf(cli->out,
                        "job %s %s here, but its config says 'enabled = no': it stays "
                        "disabled until the config changes\n",
                        job->name, was_on ? "was already enabled" : "enabled");
        else
                fprintf(cli->out, "job %s %s\n", job->name,
                        was_on ? "was already enabled" : "enabled");
        return CW_EXIT_OK;
}

static int toggle(cw_cli *cli, const cw_command *cmd, int argc, char **argv, bool on)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        const cw_job *job = NULL;
        const char *name;
        bool help = false;
        cw_error e;
        int r;

        r = parse_plain(cli, cmd, argc, argv, &help);
        if (r != CW_EXIT_OK || help)
                return r;
        if (argc - optind > 1)
                return cli_usage_error(cli, cmd, "unexpected argument '%s'", argv[optind + 1]);
        name = optind < argc ? argv[optind] : NULL;
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        /* A job the admin UI made is found in the store (catalog/catalog.h). */
        if (name && !cw_config_job(cfg, name) && cw_ui_job_name_parse(name, NULL)) {
                r = cli_open_store(cli, cfg, &store);
                if (r != CW_EXIT_OK)
                        return r;
        }
        if (name) {
                if (cw_job_resolve(cfg, store, name, &ref, &e) == 0)
                        job = ref.job;
                else if (cw_ui_job_name_parse(name, NULL))
                        return cli_fail(cli, "%s", e.msg);
                if (!job && strchr(name, ':'))
                        return cli_fail(cli,
                                        "'%s' is a job spec: a job is %s as a whole, by its "
                                        "name",
                                        name, on ? "enabled" : "disabled");
                if (!job)
                        return cli_fail(cli, "unknown job '%s' (see 'cronwarden jobs')", name);
        }
        if (!store) {
                r = cli_open_store(cli, cfg, &store);
                if (r != CW_EXIT_OK)
                        return r;
        }
        return job ? set_job(cli, store, job, on) : set_scheduler(cli, store, on);
}

static int cmd_disable(cw_cli *cli, int argc, char **argv)
{
        return toggle(cli, &cw_cmd_disable, argc, argv, false);
}

static int cmd_enable(cw_cli *cli, int argc, char **argv)
{
        return toggle(cli, &cw_cmd_enable, argc, argv, true);
}

const cw_command cw_cmd_disable = {
        .name = "disable",
        .run = cmd_disable,
        .summary = "pause the scheduler, or one job",
        .usage = disable_usage,
};

const cw_command cw_cmd_enable = {
        .name = "enable",
        .run = cmd_enable,
        .summary = "unpause the scheduler, or one job",
        .usage = enable_usage,
};

/* ---- request ---- */

static const char request_usage[] =
        "Usage: cronwarden [--config FILE] request JOBSPEC\n"
        "\n"
        "Queue a run of JOBSPEC (NAME or NAME:params) for the scheduler: the next\n"
        "'tick' starts it in the background, whatever the schedule. A disabled\n"
        "scheduler or job records it as skipped instead.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 queued, 2 bad job spec, bad config or store error.\n";

/* Why a queued request would be recorded as skipped, or NULL. */
static const char *request_blocker(cw_store *store, const cw_job *job)
{
        _cleanup_free_ char *v = NULL;
        bool on;

        if (cw_store_state_get(store, STATE_ENABLED, &v) == 0 && strcmp(v, "0") == 0)
                return "the scheduler is disabled";
        if (!job->enabled || (cw_store_job_enabled_get(store, job->name, &on) == 0 && !on))
                return "its job is disabled";
        return NULL;
}

/* A running daemon (the process holding DATA_DIR/daemon.pid's lock) is
 * told about the request at once, so it starts within a second instead
 * of at its next planned wake-up. Without a daemon, the next tick takes it
 * (or, on a store several nodes share, any node's daemon). */
static void wake_daemon(const cw_config *cfg)
{
        char path[4096];
        int pid;

        if (cw_path_join(path, sizeof(path), cfg->data_dir, CW_DAEMON_PID_FILE) < 0)
                return; /* no daemon can run there */
        pid = cw_lock_file_owner(path);
        if (pid > 0)
                (void)kill(pid, SIGUSR1);
}

static int cmd_request(cw_cli *cli, int argc, char **argv)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        _cleanup_(cw_store_closep) cw_store *store = NULL;
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        _cleanup_free_ char *spec_text = NULL;
        const char *spec, *blocker;
        char user[256], by[512];
        bool help = false;
        int64_t id = 0;
        cw_error e;
        int r;

        r = parse_plain(cli, &cw_cmd_request, argc, argv, &help);
        if (r != CW_EXIT_OK || help)
                return r;
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_request,
                                       "missing JOBSPEC (e.g. cronwarden request Backup)");
        if (optind + 1 < argc)
                return cli_usage_error(cli, &cw_cmd_request,
                                       "unexpected argument '%s' (quote a job spec with spaces)",
                                       argv[optind + 1]);
        spec = argv[optind];
        r = cli_load_config(cli, false, &cfg);
        if (r != CW_EXIT_OK)
                return r;
        /* The same checks as `run`, so a request that is queued can start. */
        cw_error_clear(&e);
        if (cw_jobspec_parse(spec, &js, &e) < 0)
                return cli_fail_caret(cli, "bad job spec", spec, &e);
        /* A job the admin UI made is found in the store (catalog/catalog.h). */
        if (!cw_config_job(cfg, js->name) && cw_ui_job_name_parse(js->name, NULL)) {
                r = cli_open_store(cli, cfg, &store);
                if (r != CW_EXIT_OK)
                        return r;
        }
        if (cw_job_resolve(cfg, store, js->name, &ref, &e) < 0 ||
            cw_job_check_spec(cfg, ref.job, js, &e) < 0)
                return cli_fail(cli, "%s", e.msg);
        spec_text = cw_jobspec_format(js);
        if (!spec_text)
                return cli_fail(cli, "out of memory");
        /* "alice@node1": who asked, for the history. */
        user_name(user, sizeof(user));
        snprintf(by, sizeof(by), "%s@%s", user, cfg->node);
        if (!store) {
                r = cli_open_store(cli, cfg, &store);
                if (r != CW_EXIT_OK)
                        return r;
        }
        r = cw_store_request_add(store, spec_text, by, cli->now, &id);
        if (r < 0)
                return cli_fail(cli, "cannot queue the request: %s", cw_store_strerror(r));
        fprintf(cli->out, "request %lld queued for %s\n", (long long)id, spec_text);
        wake_daemon(cfg);
        /* Daemons on other nodes of a shared store too (a hint: they also
         * look now and then); -EOPNOTSUPP on a store of one node. */
        (void)cw_store_wake(store);
        /* Queued all the same (it may be enabled before the next pass),
         * but a request that will only be skipped deserves a word. */
        blocker = request_blocker(store, ref.job);
        if (blocker)
                fprintf(cli->err, "%s: note: %s, so the next pass records it as skipped\n",
                        cli->prog, blocker);
        return CW_EXIT_OK;
}

const cw_command cw_cmd_request = {
        .name = "request",
        .run = cmd_request,
        .summary = "queue a run for the scheduler's next pass",
        .usage = request_usage,
};

/* ---- crontab ---- */

static const char crontab_usage[] =
        "Usage: cronwarden [--config FILE] crontab show|install|remove\n"
        "\n"
        "Manage the line of your crontab that runs 'cronwarden tick' every minute\n"
        "for this config file, kept in a marked block:\n"
        "\n"
        "    # BEGIN cronwarden /abs/path/cronwarden.ini\n"
        "    * * * * * /abs/path/cronwarden --config /abs/path/cronwarden.ini tick --silent\n"
        "    # END cronwarden /abs/path/cronwarden.ini\n"
        "\n"
        "  show      print the block and whether it is installed (the block also\n"
        "            where cron is not installed, to add it by hand)\n"
        "  install   add the block, or replace this config's block (writes nothing\n"
        "            when it is already installed)\n"
        "  remove    delete this config's block\n"
        "\n"
        "Paths are absolute: this binary, and the config file resolved. Other\n"
        "lines, and the blocks of other config files, are kept byte for byte. The\n"
        "crontab is read with 'crontab -l' and written with 'crontab -'.\n"
        "\n"
        "Options:\n"
        "      --config FILE config file\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 ok, 2 bad config, no crontab command (install, remove),\n"
        "or crontab failed.\n"
        "Test hook: CRONWARDEN_CRONTAB_CMD=PROGRAM runs PROGRAM -l / PROGRAM - instead of crontab.\n";

/* How to reach the crontab program, and who we are for messages. */
typedef struct crontab_ctx {
        const char *prog; /* "crontab", or the test hook */
        bool hook;        /* prog came from CRONWARDEN_CRONTAB_CMD */
        char user[256];
} crontab_ctx;

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

/* Reads what is ready on *fd into b (closing *fd at end of file or on an
 * error). Bytes beyond b's maximum are read and dropped (b keeps -E2BIG),
 * so the child is never left blocked on a full pipe. */
static int drain(int *fd, cw_buf *b)
{
        char chunk[4096];
        ssize_t k = read(*fd, chunk, sizeof(chunk));

        if (k < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (k <= 0) {
                close_fd(fd);
                return 0;
        }
        k = cw_buf_add(b, chunk, (size_t)k);
        return k == -E2BIG ? 0 : (int)k;
}

/* Runs `PROG ARG` with `in` on its stdin (NULL: /dev/null), its stdout
 * into out and its stderr into err (err may be out: both go to one
 * buffer). Returns 0 with the wait status in *ret_status, or a negative
 * errno when it could not be started (-ENOENT: no such program) or its
 * output could not be stored (-ENOMEM). The caller ignores SIGPIPE. */
static int crontab_exec(const crontab_ctx *ct, const char *arg, const cw_buf *in, cw_buf *out,
                        cw_buf *err, int *ret_status)
{
        char *argv[] = {(char *)ct->prog, (char *)arg, NULL};
        int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, pipe_set;
        size_t written = 0;
        int r = 0, status;
        pid_t pid;

        if ((in && pipe2(pin, O_CLOEXEC) < 0) || pipe2(pout, O_CLOEXEC) < 0 ||
            (err != out && pipe2(perr, O_CLOEXEC) < 0)) {
                r = -errno;
                goto out;
        }
        posix_spawn_file_actions_init(&fa);
        if (in)
                posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
        else
                posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err != out ? perr[1] : pout[1], 2);
        /* The child gets a clean signal state: SIGPIPE is ignored here only
         * for our own writes. */
        posix_spawnattr_init(&attr);
        sigemptyset(&none);
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &pipe_set);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        r = -posix_spawnp(&pid, ct->prog, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close_fd(&pin[0]);
        close_fd(&pout[1]);
        close_fd(&perr[1]);
        if (r < 0)
                goto out;

        /* Feed stdin and read both outputs at once: crontab may write a
         * lot before it reads, or stop reading early. */
        if (pin[1] >= 0 && (in->len == 0 || fcntl(pin[1], F_SETFL, O_NONBLOCK) < 0))
                close_fd(&pin[1]);
        while (pin[1] >= 0 || pout[0] >= 0 || perr[0] >= 0) {
                struct pollfd fds[3] = {
                        {.fd = pin[1], .events = POLLOUT},
                        {.fd = pout[0], .events = POLLIN},
                        {.fd = perr[0], .events = POLLIN},
                };
                int k;

                if (poll(fds, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (fds[0].revents) {
                        ssize_t w = write(pin[1], in->p + written, in->len - written);
                        if (w > 0)
                                written += (size_t)w;
                        /* EPIPE: it stopped reading; its exit status says why. */
                        if ((w < 0 && errno != EINTR && errno != EAGAIN) || written == in->len)
                                close_fd(&pin[1]);
                }
                if (fds[1].revents && (k = drain(&pout[0], out)) < 0 && r == 0)
                        r = k;
                if (fds[2].revents && (k = drain(&perr[0], err)) < 0 && r == 0)
                        r = k;
        }
        close_fd(&pin[1]);
        close_fd(&pout[0]);
        close_fd(&perr[0]);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return r < 0 ? r : -errno;
        if (r == 0)
                *ret_status = status;
        return r;

out:
        close_fd(&pin[0]);
        close_fd(&pin[1]);
        close_fd(&pout[0]);
        close_fd(&pout[1]);
        close_fd(&perr[0]);
        close_fd(&perr[1]);
        return r;
}

/* Prints why PROG could not run or failed. msgs is what it printed. */
static int crontab_fail(cw_cli *cli, const crontab_ctx *ct, const char *arg, int r, int status,
                        cw_buf *msgs)
{
        if (r == -ENOENT && !ct->hook)
                return cli_fail(cli, "the crontab command is not installed (apt-get install cron)");
        if (r < 0)
                return cli_fail(cli, "cannot run '%s %s'%s: %s", ct->prog, arg,
                                ct->hook ? " (CRONWARDEN_CRONTAB_CMD)" : "", strerror(-r));
        while (cw_buf_last(msgs) == '\n' || cw_buf_last(msgs) == ' ')
                cw_buf_truncate(msgs, msgs->len - 1);
        if (WIFEXITED(status))
                return cli_fail(cli, "'%s %s' failed with exit status %d%s%s", ct->prog, arg,
                                WEXITSTATUS(status), msgs->len ? ": " : "",
                                msgs->len ? msgs->p : "");
        return cli_fail(cli, "'%s %s' was killed by signal %d", ct->prog, arg,
                        WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The user's crontab into *ret (empty when there is none). When there is
 * no crontab program (and no test hook) and missing_ok, sets *ret_missing
 * and returns CW_EXIT_OK without printing. */
static int crontab_read(cw_cli *cli, const crontab_ctx *ct, bool missing_ok, bool *ret_missing,
                        cw_buf *ret)
{
        _cleanup_(cw_buf_release) cw_buf out = CW_BUF_INIT(CRONTAB_MAX);
        _cleanup_(cw_buf_release) cw_buf msgs = CW_BUF_INIT(MESSAGES_MAX);
        bool none;
        int r, status = 0;

        r = crontab_exec(ct, "-l", NULL, &out, &msgs, &status);
        if (r == -ENOENT && !ct->hook && missing_ok) {
                *ret_missing = true;
                return CW_EXIT_OK;
        }
        /* Vixie cron and cronie both say "no crontab for USER". */
        none = r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 1 && msgs.p &&
               strstr(msgs.p, "no crontab for");
        if (none)
                cw_buf_reset(&out);
        if ((r != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) && !none)
                return crontab_fail(cli, ct, "-l", r, status, &msgs);
        if (cw_buf_error(&out) == -E2BIG)
                return cli_fail(cli, "the crontab of %s is larger than %u bytes", ct->user,
                                CRONTAB_MAX);
        /* Allocated even when empty, so callers may index it. */
        if (cw_buf_add(&out, "", 0) < 0)
                return cli_fail(cli, "out of memory");
        *ret = out;
        out = (cw_buf)CW_BUF_INIT(0);
        return CW_EXIT_OK;
}

static int crontab_write(cw_cli *cli, const crontab_ctx *ct, const cw_buf *text)
{
        _cleanup_(cw_buf_release) cw_buf msgs = CW_BUF_INIT(MESSAGES_MAX);
        int r, status = 0;

        r = crontab_exec(ct, "-", text, &msgs, &msgs, &status);
        if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return crontab_fail(cli, ct, "-", r, status, &msgs);
        return CW_EXIT_OK;
}

typedef enum crontab_action {
        CRONTAB_SHOW,
        CRONTAB_INSTALL,
        CRONTAB_REMOVE,
} crontab_action;

/* The absolute, resolved config path. remove works even when the config
 * file is gone (its block is then found by the path made absolute). */
static int config_abspath(cw_cli *cli, crontab_action action, char *buf, size_t size)
{
        _cleanup_(cw_config_freep) cw_config *cfg = NULL;
        char resolved[PATH_MAX], cwd[PATH_MAX];
        const char *path;
        int r;

        if (action == CRONTAB_REMOVE) {
                path = cw_config_find(cli->config_path, cli->config_env);
                if (!path)
                        return cli_fail(cli, "no config file: looked for ./cronwarden.ini and "
                                             "/etc/cronwarden/cronwarden.ini (use --config FILE)");
        } else {
                /* A line that runs a broken config every minute helps no
                 * one: show and install want a config that loads. */
                r = cli_load_config(cli, false, &cfg);
                if (r != CW_EXIT_OK)
                        return r;
                path = cfg->path;
        }
        if (realpath(path, resolved)) {
                snprintf(buf, size, "%s", resolved);
        } else if (action == CRONTAB_REMOVE && errno == ENOENT && path[0] == '/') {
                snprintf(buf, size, "%s", path);
        } else if (action == CRONTAB_REMOVE && errno == ENOENT && getcwd(cwd, sizeof(cwd))) {
                if ((size_t)snprintf(buf, size, "%s/%s", cwd, path) >= size)
                        return cli_fail(cli, "the path of '%s' is too long", path);
        } else {
                return cli_fail(cli, "cannot resolve '%s': %s", path, strerror(errno));
        }
        if (strpbrk(buf, "\n\r"))
                return cli_fail(cli, "'%s': a config path with a line break cannot go in a crontab",
                                buf);
        return CW_EXIT_OK;
}

static int self_path(cw_cli *cli, char *buf, size_t size)
{
        static const char deleted[] = " (deleted)";
        ssize_t len = readlink("/proc/self/exe", buf, size - 1);

        if (len < 0)
                return cli_fail(cli, "cannot find the cronwarden binary: %s", strerror(errno));
        if ((size_t)len >= size - 1)
                return cli_fail(cli, "the path of the cronwarden binary is too long");
        buf[len] = '\0';
        /* A binary replaced while running (an upgrade) would put a dead path
         * in the crontab. */
        if ((size_t)len > sizeof(deleted) - 1 &&
            strcmp(buf + len - (sizeof(deleted) - 1), deleted) == 0)
                return cli_fail(cli, "this cronwarden binary was deleted or replaced; run the "
                                     "installed one");
        if (strpbrk(buf, "\n\r"))
                return cli_fail(cli, "a binary path with a line break cannot go in a crontab");
        return CW_EXIT_OK;
}

/* What show prints under the block: whether and how it is installed. */
static void show_state(cw_cli *cli, const crontab_ctx *ct, const cw_crontab_blocks *found,
                       bool same)
{
        if (found->bad_line)
                fprintf(cli->out,
                        "broken in the crontab of %s: line %zu begins the block "
                        "but it never ends (fix it with 'crontab -e')\n",
                        ct->user, found->bad_line);
        else if (same)
                fprintf(cli->out, "installed in the crontab of %s\n", ct->user);
        else if (found->n)
                fprintf(cli->out,
                        "installed in the crontab of %s, but different from the "
                        "above: 'cronwarden crontab install' replaces it\n",
                        ct->user);
        else
                fprintf(cli->out,
                        "not installed in the crontab of %s: 'cronwarden "
                        "crontab install' adds it\n",
                        ct->user);
}

/* Writes text with this config's blocks replaced by block (NULL: cut). */
static int crontab_edit(cw_cli *cli, const crontab_ctx *ct, const cw_buf *text,
                        const cw_crontab_blocks *found, const cw_buf *block)
{
        _cleanup_(cw_buf_release) cw_buf edited = CW_BUF_INIT(CRONTAB_MAX);
        int r;

        r = cw_crontab_blocks_edit(text->p, text->len, found, block ? block->p : NULL,
                                   block ? block->len : 0, &edited);
        if (r < 0)
                return cli_fail(cli, "cannot edit the crontab: %s", strerror(-r));
        return crontab_write(cli, ct, &edited);
}

static int crontab_do(cw_cli *cli, const crontab_ctx *ct, crontab_action action,
                      const char *cfgpath, const cw_buf *block)
{
        _cleanup_(cw_buf_release) cw_buf text = CW_BUF_INIT(CRONTAB_MAX);
        cw_crontab_blocks found;
        bool same, missing = false;
        int r, code;

        code = crontab_read(cli, ct, action == CRONTAB_SHOW, &missing, &text);
        if (code != CW_EXIT_OK)
                return code;
        if (missing) {
                /* show is also how one sees the line to install by hand, or
                 * before installing cron. */
                fwrite(block->p, 1, block->len, cli->out);
                fprintf(cli->out, "not installed: this system has no crontab command "
                                  "(apt-get install cron)\n");
                return CW_EXIT_OK;
        }
        r = cw_crontab_blocks_find(text.p, text.len, cfgpath, &found);
        if (r < 0)
                return cli_fail(cli, "the crontab of %s has more than %d blocks for '%s'", ct->user,
                                CW_CRONTAB_BLOCKS_MAX, cfgpath);
        if (found.bad_line && action != CRONTAB_SHOW)
                /* Guessing where the block ends could delete the user's lines. */
                return cli_fail(cli,
                                "line %zu of the crontab of %s begins a cronwarden block for "
                                "'%s' that never ends ('%s%s' is missing): fix it with "
                                "'crontab -e'",
                                found.bad_line, ct->user, cfgpath, CW_CRONTAB_MARK_END, cfgpath);
        same = cw_crontab_blocks_same(text.p, &found, block->p, block->len);

        switch (action) {
        case CRONTAB_SHOW:
                fwrite(block->p, 1, block->len, cli->out);
                show_state(cli, ct, &found, same);
                break;
        case CRONTAB_INSTALL:
                if (same) {
                        fprintf(cli->out,
                                "the cronwarden block for %s is already installed in the "
                                "crontab of %s\n",
                                cfgpath, ct->user);
                        break;
                }
                code = crontab_edit(cli, ct, &text, &found, block);
                if (code == CW_EXIT_OK)
                        fprintf(cli->out,
                                "%s the cronwarden block for %s in the crontab of %s: "
                                "'tick' runs every minute\n",
                                found.n ? "replaced" : "installed", cfgpath, ct->user);
                break;
        case CRONTAB_REMOVE:
                if (found.n == 0) {
                        fprintf(cli->out,
                                "no cronwarden block for %s in the crontab of %s: "
                                "nothing to remove\n",
                                cfgpath, ct->user);
                        break;
                }
                code = crontab_edit(cli, ct, &text, &found, NULL);
                if (code == CW_EXIT_OK)
                        fprintf(cli->out,
                                "removed the cronwarden block for %s from the crontab "
                                "of %s\n",
                                cfgpath, ct->user);
                break;
        }
        return code;
}

static int cmd_crontab(cw_cli *cli, int argc, char **argv)
{
        static const char *const actions[] = {
                [CRONTAB_SHOW] = "show",
                [CRONTAB_INSTALL] = "install",
                [CRONTAB_REMOVE] = "remove",
        };
        char self[PATH_MAX], cfgpath[PATH_MAX];
        _cleanup_(cw_buf_release) cw_buf block = CW_BUF_INIT(8 * PATH_MAX);
        crontab_action action = CRONTAB_SHOW;
        struct sigaction ign = {.sa_handler = SIG_IGN}, old;
        crontab_ctx ct = {.prog = "crontab"};
        const char *hook = getenv("CRONWARDEN_CRONTAB_CMD");
        bool help = false, known = false;
        int r;

        r = parse_plain(cli, &cw_cmd_crontab, argc, argv, &help);
        if (r != CW_EXIT_OK || help)
                return r;
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_crontab,
                                       "missing action: show, install or remove");
        if (argc - optind > 1)
                return cli_usage_error(cli, &cw_cmd_crontab, "unexpected argument '%s'",
                                       argv[optind + 1]);
        for (size_t i = 0; i < CW_ARRAY_SIZE(actions); i++)
                if (strcmp(argv[optind], actions[i]) == 0) {
                        action = (crontab_action)i;
                        known = true;
                }
        if (!known)
                return cli_usage_error(cli, &cw_cmd_crontab,
                                       "unknown action '%s' (expected show, install or remove)",
                                       argv[optind]);
        if (hook && *hook) {
                ct.prog = hook;
                ct.hook = true;
        }
        user_name(ct.user, sizeof(ct.user));
        r = config_abspath(cli, action, cfgpath, sizeof(cfgpath));
        if (r == CW_EXIT_OK)
                r = self_path(cli, self, sizeof(self));
        if (r != CW_EXIT_OK)
                return r;
        r = cw_crontab_block_make(self, cfgpath, &block);
        if (r < 0)
                return cli_fail(cli, "cannot make the crontab block: %s", strerror(-r));
        /* A crontab that exits before reading all of its stdin must give
         * us EPIPE, not kill us: its exit status then says what went wrong. */
        sigaction(SIGPIPE, &ign, &old);
        fflush(cli->out);
        r = crontab_do(cli, &ct, action, cfgpath, &block);
        sigaction(SIGPIPE, &old, NULL);
        return r;
}

const cw_command cw_cmd_crontab = {
        .name = "crontab",
        .run = cmd_crontab,
        .summary = "show, install or remove the crontab line that runs 'tick'",
        .usage = crontab_usage,
};
