/* entries.h - schedule entries created from the admin UI or API
 * (docs/scheduling.md), turned into the same cw_schedule_entry the config's
 * `run =` lines give, so the scheduler fires them by the same rules
 * (claims, catch_up, locks, enable flags).
 *
 * An entry is stored as text (store.h, cw_ui_entry) and compiled against
 * the config in force each time it is used: a job spec entry by the very
 * compile of a [schedule] `run =` line (cw_config_compile_entry: job spec
 * syntax, a configured job, its declared params, the time spec with the
 * canonical spec as the H seed, evaluated in the job's zone, firing at
 * least once). An entry that no longer compiles after a config change is
 * not fired (and the admin pages say why); it is never deleted behind the
 * user's back.
 *
 * A free command entry fires the job "ui-ID" of the job catalogue
 * (catalog/catalog.h), which says how that job is made. */
#ifndef CW_CATALOG_ENTRIES_H
#define CW_CATALOG_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "catalog/catalog.h"
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

#define CW_UI_DESCRIPTION_MAX 1024

/* Validates an entry's texts against cfg at instant now. Exactly one of
 * spec and command must be non-empty. On success returns 0 and, when ret
 * is non-NULL, fills *ret with a schedule entry owning its parts (line 0;
 * release with cw_schedule_entry_release, config.h) — for spec entries
 * only; and when ret_canonical is non-NULL sets it to the canonical spec text
 * (newly allocated; NULL for command entries). On failure returns -EINVAL
 * with err->msg saying what ("unknown job 'X'", "...") and err->col into
 * the offending field's text, *ret_field naming that field; -EPERM when a
 * command is given and cfg->allow_ui_commands is off; -ENOMEM. Outputs
 * are untouched on failure (but *ret_field). */
int cw_ui_entry_compile(const cw_config *cfg, const char *schedule, const char *spec,
                        const char *command, cw_time now, cw_schedule_entry *ret,
                        char **ret_canonical, cw_ui_field *ret_field, cw_error *err);

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
int cw_ui_entry_compile_stored(const cw_config *cfg, const cw_ui_entry *e, cw_time now,
                               cw_schedule_entry *ret, const cw_tz **ret_tz, cw_ui_field *ret_field,
                               cw_error *err);

/* The enabled UI entries of store s that compile against cfg (spec entries
 * and, with allow_ui_commands, command entries: CW_UI_ENTRY_JOB), as an
 * array of *ret_n entries (free with cw_schedule_entries_free).
 * *ret_invalid (may be NULL) counts enabled entries left out because they
 * no longer compile. Store errors are returned as a negative errno. */
int cw_ui_entries_load(const cw_config *cfg, cw_store *s, cw_time now, cw_schedule_entry **ret,
                       size_t *ret_n, size_t *ret_invalid);

#endif
