/* catalog.h - the job catalogue: every job a name can start, found by
 * one lookup. A job is the config's [job NAME], else the job of a free
 * command entry of the admin UI (catalog/entries.h), named "ui-ID" after
 * the entry's id.
 *
 * UI jobs. A free command entry (only with [admin] allow_ui_commands =
 * yes) runs as a job of its own, made from the config's [defaults]
 * (cw_config.defaults: env, env_file, workdir, timeout, kill_grace,
 * run_as, nice, retries, hosts, zone, ...) plus: command = the entry's
 * command, split exactly like a config `command =` without a shell (shell
 * operators are refused: write `sh -c '...'` for a shell), no params,
 * lock = class on its own name, concurrency = forbid, can_resume = no,
 * the entry's description, and enabled only while the entry is. The job
 * exists only while its entry does, holds a command, and
 * allow_ui_commands is on in the config of the process resolving it: a
 * config that turns it off stops every command entry (the admin pages say
 * why), and a config that defines a job with the same name wins (the
 * entry is then reported, never run). Runs are recorded under the job's
 * name, so a deleted entry's history stays (docs/config.md).
 *
 * Every path that starts or resolves a job by name (a scheduler pass, the
 * daemon's spawner, `run`, `resume`, requests, the admin UI and API) looks
 * it up through cw_job_resolve(): the config's job, else the UI job of
 * that name from the store. A worker keeps the job it resolved: editing
 * or deleting the entry does not affect a run in progress. */
#ifndef CW_CATALOG_CATALOG_H
#define CW_CATALOG_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "config/config.h"
#include "store/store.h"

/* Longest free command line accepted. */
#define CW_UI_COMMAND_MAX 4096

#define CW_UI_JOB_PREFIX "ui-"
/* "ui-" and an int64 id, with the NUL. */
#define CW_UI_JOB_NAME_MAX 24

/* Writes entry id's job name ("ui-ID") into buf. */
void cw_ui_job_name(int64_t id, char buf[static CW_UI_JOB_NAME_MAX]);

/* True when name is "ui-" followed by a positive decimal id without a
 * leading zero (the name of a UI job); sets *ret_id (may be NULL). */
bool cw_ui_job_name_parse(const char *name, int64_t *ret_id);

/* The job of a command entry. `job` is a copy of cfg->defaults with the
 * fields above set; its name, description, command and argv are owned
 * here, everything else it points to (env, zone, ...) belongs to the
 * config it was built from, which must outlive it. */
typedef struct cw_ui_job {
        cw_job job;
        int64_t entry_id;
} cw_ui_job;

/* Builds the job of command entry e against cfg. Returns 0 with *ret (free
 * with cw_ui_job_free); -EPERM when cfg->allow_ui_commands is off; -EEXIST
 * when cfg defines a job of that name; -EINVAL when e holds no command or
 * the command does not split; -ENOMEM. err says why in each case. */
int cw_ui_job_build(const cw_config *cfg, const cw_ui_entry *e, cw_ui_job **ret, cw_error *err);

/* Same, but for showing the job of an entry that may not run now (never
 * for running it): -EPERM and -EEXIST still build the job, set *ret and
 * *ret_why_not (a new string saying why it does not run; NULL when it
 * does) and return 0. */
int cw_ui_job_build_for_display(const cw_config *cfg, const cw_ui_entry *e, cw_ui_job **ret,
                                char **ret_why_not, cw_error *err);

void cw_ui_job_free(cw_ui_job *u);
static inline void cw_ui_job_freep(cw_ui_job **u)
{
        cw_ui_job_free(*u);
}

/* A job found by name: cfg's (ui NULL) or a UI job (owned, ui == job's
 * container). */
typedef struct cw_job_ref {
        const cw_job *job;
        cw_ui_job *ui;
} cw_job_ref;

/* The one lookup of a job by name for every path that starts or resolves
 * a job: cfg's job of that name, else the UI job "ui-ID" of entry ID in
 * store s (s may be NULL: config jobs only). Returns 0 with *ret (release
 * with cw_job_ref_release); -ENOENT ("unknown job 'X'", saying why for a
 * UI job name: its entry was deleted, or fires a job spec); -EPERM and
 * -EEXIST (cw_ui_job_build); a store error; -ENOMEM. *ret is untouched on
 * failure. */
int cw_job_resolve(const cw_config *cfg, cw_store *s, const char *name, cw_job_ref *ret,
                   cw_error *err);
void cw_job_ref_release(cw_job_ref *r);

/* True when job is one of cfg's configured jobs (not a UI job). */
bool cw_job_is_configured(const cw_config *cfg, const cw_job *job);

/* Checks js (whose name is job's) against job's declared params, as
 * cw_config_check_jobspec does for configured jobs; a UI job takes none.
 * Returns 0 or -EINVAL with err filled. */
int cw_job_check_spec(const cw_config *cfg, const cw_job *job, const cw_jobspec *js, cw_error *err);

#endif
