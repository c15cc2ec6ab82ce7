/* cronwarden.h - embedding cronwarden in a program of your own
 * (docs/embedding.md).
 *
 * A program registers *function jobs* (a name, a C function, a
 * description and declared params) in a registry, then hands its argv to
 * cronwarden_main(), which is the whole `cronwarden` command line: check,
 * jobs, run, tick, daemon, status, kill... A config job section names a
 * registered function with `function = NAME` instead of `command = ...`,
 * and such a job runs exactly like a command job: in a worker process of
 * its own, under the same lock, timeout, output capture and run record.
 * The worker starts the job by executing /proc/self/exe, that is this
 * program, which runs the function; so the program that registers the
 * functions must be the one that runs cronwarden (the daemon, tick, run).
 *
 * Errors are negative errno values (-EINVAL, -EEXIST, -ENOENT, -ENOMEM);
 * pointers returned stay owned by the library. Only the functions below
 * are exported by the shared library (libcronwarden.so.0); the static
 * library also holds cronwarden's internals (names starting with cw_). */
#ifndef CRONWARDEN_H
#define CRONWARDEN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CRONWARDEN_API __attribute__((visibility("default")))
#define CRONWARDEN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CRONWARDEN_API
#define CRONWARDEN_PRINTF(a, b)
#endif

#define CRONWARDEN_VERSION_MAJOR 0
#define CRONWARDEN_VERSION_MINOR 1

/* The version of the library the program runs with, e.g. "0.1.0". */
CRONWARDEN_API const char *cronwarden_version(void);

/* ---- what a running function sees ---------------------------------- */

/* One run of a function job, valid during the call of its run function. */
typedef struct cronwarden_ctx cronwarden_ctx;

/* The run's id in the store (as `cronwarden history` shows it). */
CRONWARDEN_API int64_t cronwarden_ctx_run_id(const cronwarden_ctx *ctx);
/* The job's name (the config section's, which may differ from the
 * function's). */
CRONWARDEN_API const char *cronwarden_ctx_job(const cronwarden_ctx *ctx);
/* The instant the run was scheduled for, in seconds since the epoch (UTC):
 * the fire's for a scheduled run (an idempotency key), its start for a
 * manual one (as CRONWARDEN_SCHEDULED_AT in docs/config.md). */
CRONWARDEN_API int64_t cronwarden_ctx_scheduled_at(const cronwarden_ctx *ctx);

/* A param by its declared name: a positional one (declared in args) or
 * a named one (declared in options). NULL when it is not declared, or is
 * a named one the run was not given. */
CRONWARDEN_API const char *cronwarden_ctx_param(const cronwarden_ctx *ctx, const char *name);
/* The same, with def when the run was not given it. */
CRONWARDEN_API const char *cronwarden_ctx_param_or(const cronwarden_ctx *ctx, const char *name,
                                                   const char *def);
/* How many positional params the run has, and the i-th (from 0), or NULL. */
CRONWARDEN_API size_t cronwarden_ctx_n_args(const cronwarden_ctx *ctx);
CRONWARDEN_API const char *cronwarden_ctx_arg(const cronwarden_ctx *ctx, size_t i);
/* Typed getters: 0 and *ret set; -ENOENT when the param is absent (*ret
 * then gets def); -EINVAL when its value is not a whole decimal number in
 * range (resp. yes/no/true/false/1/0/on/off), after logging into the run's
 * output which param and value were wrong. */
CRONWARDEN_API int cronwarden_ctx_param_int(const cronwarden_ctx *ctx, const char *name,
                                            int64_t def, int64_t *ret);
CRONWARDEN_API int cronwarden_ctx_param_bool(const cronwarden_ctx *ctx, const char *name, bool def,
                                             bool *ret);

/* Reports progress: done of total (total 0: unknown), shown by `status`,
 * the API and the admin UI. 0, or a negative errno when it could not be
 * written (the run goes on). */
CRONWARDEN_API int cronwarden_ctx_progress(cronwarden_ctx *ctx, uint64_t done, uint64_t total);
/* Writes one line into the run's captured output (what `cronwarden logs`
 * shows), with a newline added. */
CRONWARDEN_API void cronwarden_ctx_log(cronwarden_ctx *ctx, const char *fmt, ...)
        CRONWARDEN_PRINTF(2, 3);
CRONWARDEN_API void cronwarden_ctx_vlog(cronwarden_ctx *ctx, const char *fmt, va_list ap)
        CRONWARDEN_PRINTF(2, 0);
/* Whether the run was asked to stop (`cronwarden kill`, a timeout, the
 * admin UI): a long function checks this between steps and returns. The
 * request is SIGTERM, which the function's process holds back; if the
 * function has not returned after the job's kill_grace, it is killed. */
CRONWARDEN_API bool cronwarden_ctx_kill_requested(cronwarden_ctx *ctx);

/* ---- registering function jobs -------------------------------------- */

/* A run function returns the run's exit status: 0 succeeded, anything
 * else (1 to 255) failed. */
typedef int (*cronwarden_run_fn)(cronwarden_ctx *ctx, void *userdata);

typedef struct cronwarden_function {
        const char *name;        /* [A-Za-z0-9_.-]+, as `function = NAME` says it */
        cronwarden_run_fn run;   /* required */
        const char *description; /* the job's when its section sets none; may be NULL */
        /* Declared params (NULL-terminated lists, or NULL), used when the
         * job's section declares none: positional ones (all required)
         * and named ones (all optional), as args and options are. */
        const char *const *args;
        const char *const *options;
        void *userdata; /* passed to run */
} cronwarden_function;

typedef struct cronwarden_registry cronwarden_registry;

/* The process's registry, the one cronwarden_main(argc, argv) runs with.
 * Every registry function below takes NULL for it, so a program may
 * register into it without ever naming it. It is never freed. */
CRONWARDEN_API cronwarden_registry *cronwarden_default_registry(void);

/* A new, empty registry, or NULL when out of memory. */
CRONWARDEN_API cronwarden_registry *cronwarden_registry_new(void);
/* Frees it (NULL is fine; the process's registry is never freed). */
CRONWARDEN_API void cronwarden_registry_free(cronwarden_registry *reg);

/* Adds a function job; *fn is copied (its strings too). Returns 0;
 * -EINVAL for a bad name, no run function or a bad param name; -EEXIST
 * when the name is taken; -ENOMEM. */
CRONWARDEN_API int cronwarden_register(cronwarden_registry *reg, const cronwarden_function *fn);
/* The function job of that name, or NULL. */
CRONWARDEN_API const cronwarden_function *cronwarden_lookup(const cronwarden_registry *reg,
                                                            const char *name);
/* Removes it: 0, or -ENOENT when there is none of that name. */
CRONWARDEN_API int cronwarden_unregister(cronwarden_registry *reg, const char *name);
/* How many there are, and the i-th in registration order (NULL past the end). */
CRONWARDEN_API size_t cronwarden_registry_size(const cronwarden_registry *reg);
CRONWARDEN_API const cronwarden_function *cronwarden_registry_at(const cronwarden_registry *reg,
                                                                 size_t i);

/* ---- the command line ----------------------------------------------- */

/* Runs the cronwarden command line (`PROG [--config FILE] COMMAND ...`,
 * as cronwarden(1) describes) with the function jobs of the process's
 * registry, and returns its exit status: return it from main(). Config
 * jobs with `function = NAME` must name a registered function, or the
 * config is refused (exit 2). */
CRONWARDEN_API int cronwarden_main(int argc, char **argv);

/* The same with reg's function jobs (NULL: the process's registry). reg
 * must stay alive until it returns. */
CRONWARDEN_API int cronwarden_main_with(const cronwarden_registry *reg, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
