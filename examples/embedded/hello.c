/* hello.c - a program that embeds cronwarden (docs/embedding.md) with two
 * function jobs, and is the whole cronwarden command line for them:
 *
 *   hello --config hello.ini run Greet:world,times=3
 *   hello --config hello.ini daemon
 *
 * Greet says hello to its positional param `who`, `times` times (a named
 * param, default 1), reporting progress. Count counts to `to` (default
 * 100), one step per `step_ms` milliseconds, and stops early, failing
 * with status 3, when the run is killed: a long, killable job. */
#include <cronwarden.h>
#include <errno.h>
#include <stdio.h>
#include <time.h>

static int greet(cronwarden_ctx *ctx, void *userdata)
{
        const char *greeting = userdata;
        const char *who = cronwarden_ctx_param(ctx, "who");
        int64_t times;

        if (cronwarden_ctx_param_int(ctx, "times", 1, &times) == -EINVAL)
                return 2;
        for (int64_t i = 0; i < times; i++) {
                cronwarden_ctx_log(ctx, "%s, %s! (run %lld)", greeting, who,
                                   (long long)cronwarden_ctx_run_id(ctx));
                cronwarden_ctx_progress(ctx, (uint64_t)i + 1, (uint64_t)times);
        }
        return 0;
}

static int count(cronwarden_ctx *ctx, void *userdata)
{
        int64_t to, step_ms, at = cronwarden_ctx_scheduled_at(ctx);
        struct timespec step;

        (void)userdata;
        if (cronwarden_ctx_param_int(ctx, "to", 100, &to) == -EINVAL ||
            cronwarden_ctx_param_int(ctx, "step_ms", 10, &step_ms) == -EINVAL)
                return 2;
        if (to < 0) {
                cronwarden_ctx_log(ctx, "to must not be negative");
                return 1;
        }
        step = (struct timespec){.tv_sec = step_ms / 1000, .tv_nsec = step_ms % 1000 * 1000000};
        cronwarden_ctx_log(ctx, "counting to %lld for job %s, scheduled at %lld", (long long)to,
                           cronwarden_ctx_job(ctx), (long long)at);
        for (int64_t i = 1; i <= to; i++) {
                if (cronwarden_ctx_kill_requested(ctx)) {
                        cronwarden_ctx_log(ctx, "kill requested: stopping at %lld", (long long)i);
                        return 3;
                }
                nanosleep(&step, NULL);
                cronwarden_ctx_progress(ctx, (uint64_t)i, (uint64_t)to);
        }
        cronwarden_ctx_log(ctx, "counted to %lld", (long long)to);
        return 0;
}

int main(int argc, char **argv)
{
        static const char *const greet_args[] = {"who", NULL};
        static const char *const greet_options[] = {"times", NULL};
        static const char *const count_options[] = {"to", "step_ms", NULL};
        const cronwarden_function functions[] = {
                {.name = "greet",
                 .run = greet,
                 .description = "Says hello to someone",
                 .args = greet_args,
                 .options = greet_options,
                 .userdata = "Hello"},
                {.name = "count",
                 .run = count,
                 .description = "Counts slowly; stops when killed",
                 .options = count_options},
        };
        int r;

        /* Into the process's registry (NULL), which cronwarden_main uses. */
        for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
                r = cronwarden_register(NULL, &functions[i]);
                if (r < 0) {
                        fprintf(stderr, "hello: cannot register %s: %d\n", functions[i].name, r);
                        return 70;
                }
        }
        return cronwarden_main(argc, argv);
}
