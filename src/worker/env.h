/* env.h - the job's environment and argv, exactly as
 * docs/config.md ("The environment a job sees") fixes them. Private to
 * src/worker/: worker.c builds everything here before it forks, so the
 * child only has to exec what it is handed.
 *
 * The environment is built from nothing (never the worker's own): PATH,
 * HOME, USER, LOGNAME, SHELL of the target user, LANG=C.UTF-8, then the
 * job's env lines ([defaults] first), then env_file, then CRONWARDEN_*.
 * A later entry for a key replaces the earlier one in place, so the
 * result never holds a key twice. */
#ifndef CW_WORKER_ENV_H
#define CW_WORKER_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/strv.h"
#include "config/config.h"
#include "jobspec/jobspec.h"

/* Largest env_file accepted: a deployed .env, not a data file. */
#define CW_ENV_FILE_MAX (1024 * 1024)

/* Who the job runs as, resolved from the passwd and group databases
 * before the fork (NSS must not run in the child). */
typedef struct cw_env_user {
        uid_t uid;
        gid_t gid;
        char *name;
        char *home;    /* "/" when the entry has none */
        char *shell;   /* "/bin/sh" when the entry has none */
        gid_t *groups; /* supplementary groups (getgrouplist), for setgroups() */
        int n_groups;
} cw_env_user;

/* Looks up user `name`, or the process's effective user when name is
 * NULL (a uid without a passwd entry then gets its number as name, "/"
 * and "/bin/sh"). Returns 0 with *ret filled (release it), -ENOENT for an
 * unknown user, -ENOMEM or -EIO; err says what. *ret untouched on failure. */
int cw_env_user_lookup(const char *name, cw_env_user *ret, cw_error *err);
void cw_env_user_release(cw_env_user *u);

/* Sets key=value in env, replacing an entry for key in place. 0 or -ENOMEM. */
int cw_env_set(cw_strv *env, const char *key, const char *value);
/* The value of key in env, or NULL. */
const char *cw_env_get(const cw_strv *env, const char *key);

/* Parses env_file text (len bytes, named `name` in messages) and sets
 * each variable into env. Lines: KEY=value, optionally preceded by
 * "export ", with spaces allowed around '='; blank lines and lines
 * starting with '#' are skipped; a value wholly in matching '...' or "..."
 * loses the quotes (no escapes inside); an unquoted value loses trailing
 * spaces; CRLF line ends are accepted. Returns 0, -EINVAL with err
 * "NAME:LINE: problem", or -ENOMEM. env may be partly updated on failure. */
int cw_env_file_parse(const char *name, const char *text, size_t len, cw_strv *env, cw_error *err);
/* Reads path (at most CW_ENV_FILE_MAX bytes) and parses it as above.
 * Returns 0, -EINVAL, -ENOENT/-EACCES/-EFBIG/... with err filled. */
int cw_env_file_load(const char *path, cw_strv *env, cw_error *err);

typedef struct cw_env_vars {
        const cw_job *job;
        const cw_jobspec *spec; /* its params become CRONWARDEN_ARG_n / _OPT_KEY */
        const cw_env_user *user;
        int64_t run_id;
        int progress_fd;
        const char *scheduled_at; /* ISO 8601 with offset */
        /* The run's fencing token (a cluster), exported as
         * CRONWARDEN_FENCE_TOKEN; 0: none, not exported. */
        int64_t fence;
} cw_env_vars;

/* Builds the job's environment into *ret (a new vector, NULL-terminated
 * for execve). Returns 0; -EINVAL etc. from env_file with err filled;
 * -ENOMEM. *ret untouched on failure. */
int cw_env_build(const cw_env_vars *v, cw_strv *ret, cw_error *err);

/* Builds the job's argv into *ret: the split command (or /bin/sh -c
 * 'COMMAND "$@"' cronwarden when shell = yes), then the positional
 * values, then --key=value per named param. 0, -EINVAL (no command) or
 * -ENOMEM; *ret untouched on failure. */
int cw_env_argv(const cw_job *job, const cw_jobspec *spec, cw_strv *ret);

#endif
