/* entries.h - schedule entries created from the admin UI or API (PRODUCT.md
 * §9, chroniker style), turned into the same cw_schedule_entry the config's
 * `run =` lines give, so the scheduler fires them by the same rules
 * (claims, catch_up, locks, enable flags).
 *
 * An entry is stored as text (store.h, cw_ui_entry) and compiled against
 * the config in force each time it is used: exactly the checks of a
 * [schedule] `run =` line (job spec syntax, a configured job, its declared
 * params, the time spec with the canonical spec as the H seed, evaluated
 * in the job's zone, firing at least once). An entry that no longer
 * compiles after a config change is not fired (and the admin pages say
 * why); it is never deleted behind the user's back.
 *
 * UI jobs. A free command entry (only with [admin] allow_ui_commands =
 * yes) runs as a job of its own, named "ui-ID" after the entry's id and
 * made from the config's [defaults] (cw_config.defaults: env, env_file,
 * workdir, timeout, kill_grace, run_as, nice, retries, hosts, zone, ...)
 * plus: command = the entry's command, split exactly like a config
 * `command =` without a shell (shell operators are refused: write
 * `sh -c '...'` for a shell), no params, lock = class on its own name,
 * concurrency = forbid, can_resume = no, the entry's description, and
 * enabled only while the entry is. The job exists only while its entry
 * does, holds a command, and allow_ui_commands is on in the config of the
 * process resolving it: a config that turns it off stops every command
 * entry (the admin pages say why), and a config that defines a job with
 * the same name wins (the entry is then reported, never run). Runs are
 * recorded under the job's name, so a deleted entry's history stays.
 *
 * Every path that starts or resolves a job by name (a scheduler pass, the
 * daemon's spawner, `run`, `resume`, requests, the admin UI and API) looks
 * it up through cw_job_resolve(): the config's job, else the UI job of
 * that name from the store. A worker keeps the job it resolved: editing
 * or deleting the entry does not affect a run in progress. */
#ifndef CW_SCHED_ENTRIES_H
#define CW_SCHED_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "config/config.h"
#include "store/store.h"

/* Which field of an entry a validation error is about. */
typedef enum cw_ui_field {
        CW_UI_FIELD_NONE,
        CW_UI_FIELD_SCHEDULE,
        CW_UI_FIELD_SPEC,
        CW_UI_FIELD_COMMAND,
} cw_ui_field;

/* "", "schedule", "spec", "command": the one string table. */
const char *cw_ui_field_to_string(cw_ui_field f);

/* Longest free command line accepted. */
#define CW_UI_COMMAND_MAX 4096
#define CW_UI_DESCRIPTION_MAX 1024

/* Validates an entry's texts against cfg at instant now. Exactly one of
 * spec and command must be non-empty. On success returns 0 and, when ret
 * is non-NULL, fills *ret with a schedule entry owning its parts (line 0;
 * release with cw_schedule_entry_release) — for spec entries only; and
 * when ret_canonical is non-NULL sets it to the canonical spec text
 * (newly allocated; NULL for command entries). On failure returns -EINVAL
 * with err->msg saying what ("unknown job 'X'", "...") and err->col into
 * the offending field's text, *ret_field naming that field; -EPERM when a
 * command is given and cfg->allow_ui_commands is off; -ENOMEM. Outputs
 * are untouched on failure (but *ret_field). */
int cw_ui_entry_compile(const cw_config *cfg, const char *schedule, const char *spec, const char *command,
                        cw_time now, cw_schedule_entry *ret, char **ret_canonical, cw_ui_field *ret_field,
                        cw_error *err);

/* Frees what a compiled entry owns and zeroes it. Accepts NULL. */
void cw_schedule_entry_release(cw_schedule_entry *e);
void cw_schedule_entries_free(cw_schedule_entry *e, size_t n);

/* The .job of a compiled entry of a UI job: not an index into cfg->jobs;
 * its job is cw_job_resolve(cfg, store, entry.spec->name). */
#define CW_UI_ENTRY_JOB SIZE_MAX

/* Compiles stored entry e (either kind) against cfg at now. A spec entry
 * compiles as with cw_ui_entry_compile. A command entry also needs its UI
 * job (cw_ui_job_build: -EPERM, -EEXIST as there): it fires job spec
 * "ui-ID" (.job = CW_UI_ENTRY_JOB), the time spec seeded with that name
 * and evaluated in the UI job's zone. On success fills *ret (as
 * cw_ui_entry_compile) and, when ret_tz is non-NULL, the zone it is
 * evaluated in (owned by cfg). Same errors as cw_ui_entry_compile. */
int cw_ui_entry_compile_stored(const cw_config *cfg, const cw_ui_entry *e, cw_time now, cw_schedule_entry *ret,
                               const cw_tz **ret_tz, cw_ui_field *ret_field, cw_error *err);

/* The enabled UI entries of store s that compile against cfg (spec entries
 * and, with allow_ui_commands, command entries: CW_UI_ENTRY_JOB), as an
 * array of *ret_n entries (free with cw_schedule_entries_free).
 * *ret_invalid (may be NULL) counts enabled entries left out because they
 * no longer compile. Store errors are returned as a negative errno. */
int cw_ui_entries_load(const cw_config *cfg, cw_store *s, cw_time now, cw_schedule_entry **ret, size_t *ret_n,
                       size_t *ret_invalid);

/* ---- UI jobs ---- */

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
int cw_ui_job_build_for_display(const cw_config *cfg, const cw_ui_entry *e, cw_ui_job **ret, char **ret_why_not,
                                cw_error *err);

void cw_ui_job_free(cw_ui_job *u);
static inline void cw_ui_job_freep(cw_ui_job **u) { cw_ui_job_free(*u); }

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
int cw_job_resolve(const cw_config *cfg, cw_store *s, const char *name, cw_job_ref *ret, cw_error *err);
void cw_job_ref_release(cw_job_ref *r);

/* True when job is one of cfg's configured jobs (not a UI job). */
bool cw_job_is_configured(const cw_config *cfg, const cw_job *job);

/* Checks js (whose name is job's) against job's declared params, as
 * cw_config_check_jobspec does for configured jobs; a UI job takes none.
 * Returns 0 or -EINVAL with err filled. */
int cw_job_check_spec(const cw_config *cfg, const cw_job *job, const cw_jobspec *js, cw_error *err);

#endif
