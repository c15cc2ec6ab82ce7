/* catalog.c - the job catalogue (see catalog.h): a name resolved to the
 * config's job, else to the job of a free command entry of the admin UI,
 * built from [defaults] the way a config `command =` line is split. */
#include "catalog/catalog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/argv.h"

static bool blank(const char *s)
{
        return !s || !*s;
}

void cw_ui_job_name(int64_t id, char buf[static CW_UI_JOB_NAME_MAX])
{
        snprintf(buf, CW_UI_JOB_NAME_MAX, CW_UI_JOB_PREFIX "%" PRId64, id);
}

bool cw_ui_job_name_parse(const char *name, int64_t *ret_id)
{
        const char *p;
        int64_t id = 0;

        if (!name || strncmp(name, CW_UI_JOB_PREFIX, strlen(CW_UI_JOB_PREFIX)) != 0)
                return false;
        p = name + strlen(CW_UI_JOB_PREFIX);
        if (*p < '1' || *p > '9' || strlen(p) > 18)
                return false;
        for (; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                id = id * 10 + (*p - '0');
        }
        if (ret_id)
                *ret_id = id;
        return true;
}

void cw_ui_job_free(cw_ui_job *u)
{
        if (!u)
                return;
        free(u->job.name);
        free(u->job.description);
        free(u->job.command);
        cw_strv_release(&u->job.argv);
        free(u);
}

/* Why the job of entry e (named name) may not run under cfg: -EPERM,
 * -EEXIST with err filled, or 0. */
static int ui_job_policy(const cw_config *cfg, const cw_ui_entry *e, const char *name,
                         cw_error *err)
{
        if (!cfg->allow_ui_commands)
                return cw_error_fail(
                        err, -EPERM,
                        "free commands are not allowed (allow_ui_commands is off in [admin]): "
                        "entry %" PRId64 " does not run",
                        e->id);
        if (cw_config_job(cfg, name))
                return cw_error_fail(
                        err, -EEXIST,
                        "the config defines a job named '%s' too: rename it (names ui-N belong to "
                        "the admin UI's command entries); entry %" PRId64 " does not run meanwhile",
                        name, e->id);
        return 0;
}

/* The job itself (no policy checks). */
static int ui_job_make(const cw_config *cfg, const cw_ui_entry *e, const char *name,
                       cw_ui_job **ret, cw_error *err)
{
        _cleanup_(cw_ui_job_freep) cw_ui_job *u = NULL;
        _cleanup_(cw_strv_release) cw_strv argv = {0};
        int r;

        if (blank(e->command))
                return cw_error_fail(err, -EINVAL,
                                     "entry %" PRId64 " fires the job spec '%s', not a command",
                                     e->id, e->spec ? e->spec : "");
        if (strlen(e->command) > CW_UI_COMMAND_MAX)
                return cw_error_set(err, -1, 0, "command longer than %d bytes", CW_UI_COMMAND_MAX);
        r = cw_argv_split(e->command, CW_ARGV_REJECT_SHELL_OPS, &argv, err);
        if (r < 0)
                return r;
        if (argv.n == 0)
                return cw_error_set(err, -1, 0, "the command is empty");
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        /* A shallow copy: what [defaults] gives stays the config's. */
        u->job = cfg->defaults;
        u->job.name = NULL;
        u->job.description = NULL;
        u->job.command = NULL;
        u->job.argv = (cw_strv){0};
        u->entry_id = e->id;
        u->job.name = strdup(name);
        u->job.description = strdup(e->description ? e->description : "");
        u->job.command = strdup(e->command);
        if (!u->job.name || !u->job.description || !u->job.command)
                return -ENOMEM;
        u->job.argv = argv;
        argv = (cw_strv){0};
        u->job.shell = false;
        u->job.args = u->job.options = u->job.after = (cw_strv){0};
        u->job.lock = CW_LOCK_CLASS;
        u->job.lock_name = NULL;
        u->job.concurrency = CW_CONCURRENCY_FORBID;
        u->job.can_resume = false;
        u->job.enabled = cfg->defaults.enabled && e->enabled;
        u->job.line = 0;
        if (!u->job.tz)
                u->job.tz = cfg->tz;
        *ret = CW_TAKE_PTR(u);
        return 0;
}

int cw_ui_job_build(const cw_config *cfg, const cw_ui_entry *e, cw_ui_job **ret, cw_error *err)
{
        char name[CW_UI_JOB_NAME_MAX];
        int r;

        cw_error_clear(err);
        if (!cfg || !e || !ret)
                return -EINVAL;
        cw_ui_job_name(e->id, name);
        r = ui_job_policy(cfg, e, name, err);
        if (r < 0)
                return r;
        return ui_job_make(cfg, e, name, ret, err);
}

int cw_ui_job_build_for_display(const cw_config *cfg, const cw_ui_entry *e, cw_ui_job **ret,
                                char **ret_why_not, cw_error *err)
{
        _cleanup_(cw_ui_job_freep) cw_ui_job *u = NULL;
        char name[CW_UI_JOB_NAME_MAX];
        cw_error why;
        char *w = NULL;
        int r, policy;

        cw_error_clear(err);
        if (!cfg || !e || !ret || !ret_why_not)
                return -EINVAL;
        cw_ui_job_name(e->id, name);
        r = ui_job_make(cfg, e, name, &u, err);
        if (r < 0)
                return r;
        cw_error_clear(&why);
        policy = ui_job_policy(cfg, e, name, &why);
        if (policy < 0 && !(w = strdup(why.msg)))
                return -ENOMEM;
        *ret = CW_TAKE_PTR(u);
        *ret_why_not = w;
        return 0;
}

void cw_job_ref_release(cw_job_ref *r)
{
        if (!r)
                return;
        cw_ui_job_free(r->ui);
        *r = (cw_job_ref){0};
}

int cw_job_resolve(const cw_config *cfg, cw_store *s, const char *name, cw_job_ref *ret,
                   cw_error *err)
{
        _cleanup_(cw_ui_entry_release) cw_ui_entry e = {0};
        cw_ui_job *u = NULL;
        const cw_job *job;
        int64_t id;
        int r;

        cw_error_clear(err);
        if (!cfg || !ret)
                return -EINVAL;
        job = name ? cw_config_job(cfg, name) : NULL;
        if (job) {
                *ret = (cw_job_ref){.job = job};
                return 0;
        }
        if (!name || !s || !cw_ui_job_name_parse(name, &id))
                return cw_error_fail(err, -ENOENT, "unknown job '%s'", name ? name : "");
        r = cw_store_ui_entry_get(s, id, &e);
        if (r == -ENOENT)
                return cw_error_fail(err, r,
                                     "unknown job '%s' (entry %" PRId64
                                     " of the admin UI, which ran it, was deleted)",
                                     name, id);
        if (r < 0)
                return cw_error_fail(err, r, "cannot read entry %" PRId64 " of the admin UI: %s",
                                     id, strerror(-r));
        if (!e.command)
                return cw_error_fail(err, -ENOENT,
                                     "unknown job '%s' (entry %" PRId64
                                     " of the admin UI fires the job spec '%s', not a command)",
                                     name, id, e.spec ? e.spec : "");
        r = cw_ui_job_build(cfg, &e, &u, err);
        if (r < 0)
                return r;
        *ret = (cw_job_ref){.job = &u->job, .ui = u};
        return 0;
}

bool cw_job_is_configured(const cw_config *cfg, const cw_job *job)
{
        return cfg && job && job->name && cw_config_job(cfg, job->name) == job;
}

int cw_job_check_spec(const cw_config *cfg, const cw_job *job, const cw_jobspec *js, cw_error *err)
{
        cw_error_clear(err);
        if (!job || !js || strcmp(js->name, job->name) != 0)
                return cw_error_set(err, -1, 0, "unknown job '%s'", js ? js->name : "");
        if (cw_job_is_configured(cfg, job))
                return cw_config_check_jobspec(cfg, js, err);
        if (js->n_params > 0)
                return cw_error_set(
                        err, -1, 0,
                        "job '%s' takes no params (it runs a command created in the admin UI), got %zu",
                        job->name, js->n_params);
        return 0;
}
