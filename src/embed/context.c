/* context.c - a function job's process (cronwarden.h): the internal
 * command `run-function NAME`, which the job's worker executes as the
 * job's command, builds a cronwarden_ctx from the job environment the
 * worker made (docs/running.md: CRONWARDEN_RUN_ID, CRONWARDEN_JOB,
 * CRONWARDEN_SCHEDULED_AT, CRONWARDEN_PROGRESS_FD, CRONWARDEN_ARG_n,
 * CRONWARDEN_OPT_KEY) and calls the function. Its stdout and stderr are
 * the run's captured output, so the logger writes there.
 *
 * A kill request is SIGTERM to the job's process group: it is blocked
 * here and read from a signalfd when the function asks, so a function
 * stops between steps instead of dying mid-write; the worker's SIGKILL
 * after kill_grace still ends one that never asks. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/iso8601.h"
#include "embed/embed_internal.h"

struct cronwarden_ctx {
        const cronwarden_function *fn;
        int64_t run_id, scheduled_at;
        const char *job;
        int progress_fd; /* -1: none */
        int sig_fd;      /* SIGTERM, blocked; -1: could not be made */
        bool killed;
};

int64_t cronwarden_ctx_run_id(const cronwarden_ctx *ctx)
{
        return ctx->run_id;
}

const char *cronwarden_ctx_job(const cronwarden_ctx *ctx)
{
        return ctx->job;
}

int64_t cronwarden_ctx_scheduled_at(const cronwarden_ctx *ctx)
{
        return ctx->scheduled_at;
}

/* The index of name in a NULL-terminated list, or -1. */
static ssize_t name_index(const char *const *list, const char *name)
{
        for (size_t i = 0; list && list[i]; i++)
                if (strcmp(list[i], name) == 0)
                        return (ssize_t)i;
        return -1;
}

const char *cronwarden_ctx_arg(const cronwarden_ctx *ctx, size_t i)
{
        char key[40];

        (void)ctx;
        snprintf(key, sizeof(key), "CRONWARDEN_ARG_%zu", i + 1);
        return getenv(key);
}

size_t cronwarden_ctx_n_args(const cronwarden_ctx *ctx)
{
        size_t n = 0;

        while (cronwarden_ctx_arg(ctx, n))
                n++;
        return n;
}

/* A named param's value: CRONWARDEN_OPT_ then the name upper-cased with
 * '-' as '_' (as the worker sets it). */
static const char *option_value(const char *name)
{
        char key[160];
        size_t n = strlen("CRONWARDEN_OPT_"), j;

        memcpy(key, "CRONWARDEN_OPT_", n);
        for (j = 0; name[j] && n + j + 1 < sizeof(key); j++) {
                char c = name[j];

                key[n + j] = c == '-' ? '_' : c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
        }
        key[n + j] = '\0';
        return getenv(key);
}

const char *cronwarden_ctx_param(const cronwarden_ctx *ctx, const char *name)
{
        ssize_t i;

        if (!name)
                return NULL;
        i = name_index(ctx->fn->args, name);
        if (i >= 0)
                return cronwarden_ctx_arg(ctx, (size_t)i);
        return name_index(ctx->fn->options, name) >= 0 ? option_value(name) : NULL;
}

const char *cronwarden_ctx_param_or(const cronwarden_ctx *ctx, const char *name, const char *def)
{
        const char *v = cronwarden_ctx_param(ctx, name);

        return v ? v : def;
}

int cronwarden_ctx_param_int(const cronwarden_ctx *ctx, const char *name, int64_t def, int64_t *ret)
{
        const char *v = cronwarden_ctx_param(ctx, name);
        char *end;
        long long n;

        *ret = def;
        if (!v)
                return -ENOENT;
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0') {
                cronwarden_ctx_log((cronwarden_ctx *)ctx,
                                   "cronwarden: param '%s': expected a whole number, got '%s'",
                                   name, v);
                return -EINVAL;
        }
        *ret = n;
        return 0;
}

int cronwarden_ctx_param_bool(const cronwarden_ctx *ctx, const char *name, bool def, bool *ret)
{
        static const char *const yes[] = {"yes", "true", "1", "on", NULL};
        static const char *const no[] = {"no", "false", "0", "off", NULL};
        const char *v = cronwarden_ctx_param(ctx, name);

        *ret = def;
        if (!v)
                return -ENOENT;
        for (size_t i = 0; yes[i]; i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return *ret = true, 0;
        for (size_t i = 0; no[i]; i++)
                if (strcasecmp(v, no[i]) == 0)
                        return *ret = false, 0;
        cronwarden_ctx_log((cronwarden_ctx *)ctx,
                           "cronwarden: param '%s': expected yes or no, got '%s'", name, v);
        return -EINVAL;
}

int cronwarden_ctx_progress(cronwarden_ctx *ctx, uint64_t done, uint64_t total)
{
        char line[64];
        int n;

        if (ctx->progress_fd < 0)
                return -EBADF;
        if (total == 0)
                return -EINVAL;
        n = snprintf(line, sizeof(line), "%" PRIu64 "/%" PRIu64 "\n", done, total);
        /* One line in one write: a pipe keeps it whole (under PIPE_BUF). */
        return write(ctx->progress_fd, line, (size_t)n) == n ? 0 : -errno;
}

void cronwarden_ctx_vlog(cronwarden_ctx *ctx, const char *fmt, va_list ap)
{
        (void)ctx;
        vfprintf(stdout, fmt, ap);
        fputc('\n', stdout);
        fflush(stdout);
}

void cronwarden_ctx_log(cronwarden_ctx *ctx, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cronwarden_ctx_vlog(ctx, fmt, ap);
        va_end(ap);
}

bool cronwarden_ctx_kill_requested(cronwarden_ctx *ctx)
{
        struct signalfd_siginfo si;

        while (!ctx->killed && ctx->sig_fd >= 0 &&
               read(ctx->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ctx->killed = true;
        return ctx->killed;
}

/* An environment variable as a whole number, or def. */
static int64_t env_int(const char *key, int64_t def)
{
        const char *v = getenv(key);
        char *end;
        long long n;

        if (!v || !*v)
                return def;
        errno = 0;
        n = strtoll(v, &end, 10);
        return errno == 0 && *end == '\0' ? n : def;
}

static void ctx_init(cronwarden_ctx *ctx, const cronwarden_function *fn)
{
        const char *at = getenv("CRONWARDEN_SCHEDULED_AT");
        sigset_t term;
        int64_t t;
        bool off;
        cw_error e;

        *ctx = (cronwarden_ctx){.fn = fn, .job = getenv("CRONWARDEN_JOB")};
        ctx->run_id = env_int("CRONWARDEN_RUN_ID", 0);
        ctx->progress_fd = (int)env_int("CRONWARDEN_PROGRESS_FD", -1);
        if (at && *at && cw_iso8601_parse(at, &t, &off, &e) == 0)
                ctx->scheduled_at = t;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigprocmask(SIG_BLOCK, &term, NULL);
        ctx->sig_fd = signalfd(-1, &term, SFD_NONBLOCK | SFD_CLOEXEC);
}

int cw_embed_run_function(const void *registry, cw_cli *cli, int argc, char **argv)
{
        const cronwarden_function *fn;
        cronwarden_ctx ctx;
        int r;

        if (argc < 2)
                return cli_fail(cli, "run-function: which function?");
        fn = cronwarden_lookup(registry, argv[1]);
        if (!fn)
                return cli_fail(cli, "run-function: '%s' is not registered by this program",
                                argv[1]);
        if (!getenv("CRONWARDEN_RUN_ID"))
                return cli_fail(cli, "run-function: not inside a cronwarden job");
        ctx_init(&ctx, fn);
        r = fn->run(&ctx, fn->userdata);
        fflush(stdout);
        fflush(stderr);
        if (ctx.sig_fd >= 0)
                close(ctx.sig_fd);
        return r >= 0 && r <= 255 ? r : 1;
}
