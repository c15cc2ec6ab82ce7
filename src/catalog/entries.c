/* entries.c - UI-created schedule entries compiled against the config
 * (see entries.h). A job spec entry is compiled by cw_config_compile_entry,
 * the compile a config `run =` line goes through, so an entry the UI
 * accepts is one the config file would accept too, and for the same
 * reasons. The UI only bounds its fields first and says which field an
 * error is about. A free command is split as a config `command =` is
 * (cw_argv_split, shell operators refused). */
#include "catalog/entries.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/array.h"
#include "config/argv.h"

const char *cw_ui_field_to_string(cw_ui_field f)
{
        static const char *const names[] = {
                [CW_UI_FIELD_NONE] = "",
                [CW_UI_FIELD_SCHEDULE] = "schedule",
                [CW_UI_FIELD_SPEC] = "spec",
                [CW_UI_FIELD_COMMAND] = "command",
        };

        return (unsigned)f < CW_ARRAY_SIZE(names) ? names[f] : NULL;
}

static bool blank(const char *s)
{
        return !s || !*s;
}

static int fail(cw_ui_field *ret_field, cw_ui_field f, int r)
{
        if (ret_field)
                *ret_field = f;
        return r;
}

/* The time spec: parsed with seed, and firing at least once in tz. */
static int compile_when(const char *schedule, const char *seed, const cw_tz *tz, cw_time now,
                        cw_timespec **ret, cw_error *err)
{
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        int r;

        if (blank(schedule))
                return cw_error_set(err, -1, 0,
                                    "a time spec is needed (like '*/10 * * * *' or 'every 1h')");
        if (strlen(schedule) > CW_TIMESPEC_TEXT_MAX)
                return cw_error_set(err, -1, 0, "time spec longer than %d bytes",
                                    CW_TIMESPEC_TEXT_MAX);
        r = cw_timespec_parse(schedule, seed, &ts, err);
        if (r < 0)
                return r;
        r = cw_timespec_check_fires(ts, tz, now, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = CW_TAKE_PTR(ts);
        return 0;
}

static int compile_command(const cw_config *cfg, const char *schedule, const char *command,
                           cw_time now, cw_ui_field *ret_field, cw_error *err)
{
        _cleanup_(cw_strv_release) cw_strv words = {0};
        int r;

        if (!cfg->allow_ui_commands)
                return fail(
                        ret_field, CW_UI_FIELD_COMMAND,
                        cw_error_fail(
                                err, -EPERM,
                                "free commands are not allowed (set allow_ui_commands = yes in [admin]); "
                                "give the job spec of a configured job instead"));
        if (strlen(command) > CW_UI_COMMAND_MAX)
                return fail(ret_field, CW_UI_FIELD_COMMAND,
                            cw_error_set(err, -1, 0, "command longer than %d bytes",
                                         CW_UI_COMMAND_MAX));
        /* Split as a config `command =` is: no shell, so shell operators
         * would silently become arguments; refuse them. */
        r = cw_argv_split(command, CW_ARGV_REJECT_SHELL_OPS, &words, err);
        if (r < 0)
                return fail(ret_field, CW_UI_FIELD_COMMAND, r);
        if (words.n == 0)
                return fail(ret_field, CW_UI_FIELD_COMMAND,
                            cw_error_set(err, -1, 0, "the command is empty"));
        r = compile_when(schedule, command, cfg->tz, now, NULL, err);
        return r < 0 ? fail(ret_field, CW_UI_FIELD_SCHEDULE, r) : 0;
}

/* The field of an entry a compile error is about. */
static cw_ui_field field_of(cw_entry_part part)
{
        switch (part) {
        case CW_ENTRY_PART_JOBSPEC:
        case CW_ENTRY_PART_JOB:
                return CW_UI_FIELD_SPEC;
        case CW_ENTRY_PART_TIMESPEC:
                return CW_UI_FIELD_SCHEDULE;
        case CW_ENTRY_PART_NONE:
                break;
        }
        return CW_UI_FIELD_NONE;
}

int cw_ui_entry_compile(const cw_config *cfg, const char *schedule, const char *spec,
                        const char *command, cw_time now, cw_schedule_entry *ret,
                        char **ret_canonical, cw_ui_field *ret_field, cw_error *err)
{
        cw_schedule_entry out;
        cw_entry_part part;
        int r;

        cw_error_clear(err);
        if (ret_field)
                *ret_field = CW_UI_FIELD_NONE;
        if (!cfg)
                return -EINVAL;
        if (!blank(spec) && !blank(command))
                return fail(
                        ret_field, CW_UI_FIELD_COMMAND,
                        cw_error_set(err, -1, 0, "give either a job spec or a command, not both"));
        if (blank(spec) && blank(command))
                return fail(ret_field, CW_UI_FIELD_SPEC,
                            cw_error_set(err, -1, 0,
                                         "a job spec is needed (like 'Backup' or 'Backup:full')"));
        if (!blank(command)) {
                r = compile_command(cfg, schedule, command, now, ret_field, err);
                if (r == 0 && ret_canonical)
                        *ret_canonical = NULL;
                return r;
        }
        /* The fields are bounded before they are parsed. */
        if (strlen(spec) > CW_JOBSPEC_TEXT_MAX)
                return fail(ret_field, CW_UI_FIELD_SPEC,
                            cw_error_set(err, -1, 0, "job spec longer than %d bytes",
                                         CW_JOBSPEC_TEXT_MAX));
        if (!blank(schedule) && strlen(schedule) > CW_TIMESPEC_TEXT_MAX)
                return fail(ret_field, CW_UI_FIELD_SCHEDULE,
                            cw_error_set(err, -1, 0, "time spec longer than %d bytes",
                                         CW_TIMESPEC_TEXT_MAX));
        r = cw_config_compile_entry(cfg, schedule, spec, now, &out, &part, err);
        if (r < 0)
                return part == CW_ENTRY_PART_NONE ? r : fail(ret_field, field_of(part), r);
        if (ret_canonical) {
                *ret_canonical = strdup(out.spec_text);
                if (!*ret_canonical) {
                        cw_schedule_entry_release(&out);
                        return -ENOMEM;
                }
        }
        if (ret)
                *ret = out;
        else
                cw_schedule_entry_release(&out);
        return 0;
}

int cw_ui_entry_compile_stored(const cw_config *cfg, const cw_ui_entry *e, cw_time now,
                               cw_schedule_entry *ret, const cw_tz **ret_tz, cw_ui_field *ret_field,
                               cw_error *err)
{
        _cleanup_(cw_ui_job_freep) cw_ui_job *u = NULL;
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        _cleanup_free_ char *text = NULL;
        cw_schedule_entry out;
        int r;

        if (!e->command) {
                r = cw_ui_entry_compile(cfg, e->schedule, e->spec, NULL, now, &out, NULL, ret_field,
                                        err);
                if (r < 0)
                        return r;
                if (ret_tz)
                        *ret_tz = cfg->jobs[out.job].tz;
                if (ret)
                        *ret = out;
                else
                        cw_schedule_entry_release(&out);
                return 0;
        }
        r = cw_ui_entry_compile(cfg, e->schedule, NULL, e->command, now, NULL, NULL, ret_field,
                                err);
        if (r < 0)
                return r;
        r = cw_ui_job_build(cfg, e, &u, err);
        if (r < 0)
                return fail(ret_field, CW_UI_FIELD_COMMAND, r);
        /* Seeded with the job's name, as a config `schedule =` line is. */
        r = compile_when(e->schedule, u->job.name, u->job.tz, now, &ts, err);
        if (r < 0)
                return fail(ret_field, CW_UI_FIELD_SCHEDULE, r);
        js = calloc(1, sizeof(*js));
        text = strdup(u->job.name);
        if (!js || !text || !(js->name = strdup(u->job.name)))
                return -ENOMEM;
        if (ret_tz)
                *ret_tz = u->job.tz;
        if (ret)
                *ret = (cw_schedule_entry){
                        .job = CW_UI_ENTRY_JOB,
                        .spec = CW_TAKE_PTR(js),
                        .spec_text = CW_TAKE_PTR(text),
                        .when = CW_TAKE_PTR(ts),
                        .line = 0,
                };
        return 0;
}

int cw_ui_entries_load(const cw_config *cfg, cw_store *s, cw_time now, cw_schedule_entry **ret,
                       size_t *ret_n, size_t *ret_invalid)
{
        cw_ui_entry *list = NULL;
        cw_schedule_entry *out = NULL;
        size_t n = 0, n_out = 0, cap = 0, invalid = 0;
        int r;

        r = cw_store_ui_entries_list(s, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                cw_schedule_entry e;
                cw_error err;

                if (!list[i].enabled)
                        continue;
                r = cw_ui_entry_compile_stored(cfg, &list[i], now, &e, NULL, NULL, &err);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        invalid++;
                        r = 0;
                        continue;
                }
                r = cw_array_reserve((void **)&out, &cap, n_out + 1, sizeof(*out), 8);
                if (r < 0) {
                        cw_schedule_entry_release(&e);
                        break;
                }
                e.changed_at = list[i].updated_us / 1000000;
                out[n_out++] = e;
        }
        cw_ui_entries_free(list, n);
        if (r < 0) {
                cw_schedule_entries_free(out, n_out);
                return r;
        }
        *ret = out;
        *ret_n = n_out;
        if (ret_invalid)
                *ret_invalid = invalid;
        return 0;
}
