/* actions.c - the write side of the admin UI and API (see actions.h).
 *
 * Every action follows one shape: validate against the request's config
 * (nothing touched yet), make the one store change, then audit and wake.
 * Audit details quote every user-supplied value with cw_http_logval, so a
 * job spec with spaces or '=' cannot forge log fields. */
#include "http/actions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec/jobspec.h"
#include "catalog/entries.h"
#include "worker/control.h"
#include "worker/remote.h"

int cw_action_http_status(int r)
{
        switch (r) {
        case 0:
                return 200;
        case -EINVAL:
                return 422;
        case -ENOENT:
                return 404;
        case -ESTALE:
                return 409;
        case -EPERM:
                return 403;
        case -ETIMEDOUT:
                return 504;
        default:
                return 500;
        }
}

static const char *who(const cw_http_req *req)
{
        return req->user ? req->user : "-";
}

static void wake(const cw_http_req *req)
{
        if (req->server)
                cw_http_wake(req->server);
}

/* A store failure as an action's error (the cause is the server's, not
 * the input's). */
static int store_fail(cw_error *err, int r, const char *what)
{
        return cw_error_fail(err, r, "cannot %s: store error: %s", what, strerror(-r));
}

/* The job called name (cw_job_resolve: configured, or made in the admin
 * UI from a command entry): -ENOENT "no job named 'X'" when there is none
 * (col/len from the caller), -EPERM when it is a UI job that may not run
 * (allow_ui_commands is off), -EINVAL for another reason it may not run. */
static int find_job(const cw_http_req *req, const char *name, cw_job_ref *ret, cw_error *err)
{
        int r = cw_job_resolve(req->cfg, req->store, name, ret, err);

        if (r == -ENOENT && !cw_ui_job_name_parse(name, NULL))
                return cw_error_fail(err, r, "no job named '%s'", name);
        if (r == -EEXIST)
                return -EINVAL;
        if (r == -ENOENT || r == -EPERM || r == -ENOMEM || r == 0)
                return r;
        return store_fail(err, r, "read the job");
}

/* Parsed, checked and canonical: what a request or an entry may fire. */
static int check_spec(const cw_http_req *req, const char *text, char **ret_canonical, cw_error *err)
{
        _cleanup_(cw_jobspec_freep) cw_jobspec *js = NULL;
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        char *canon;
        int r;

        if (!text || !*text)
                return cw_error_set(err, -1, 0,
                                    "a job spec is needed (like 'Backup' or 'Backup:full')");
        if (strlen(text) > CW_JOBSPEC_TEXT_MAX)
                return cw_error_set(err, -1, 0, "job spec longer than %d bytes",
                                    CW_JOBSPEC_TEXT_MAX);
        r = cw_jobspec_parse(text, &js, err);
        if (r < 0)
                return r;
        r = find_job(req, js->name, &ref, err);
        if (r == -ENOENT) {
                err->col = 0;
                err->len = (int)strlen(js->name);
                return -EINVAL;
        }
        if (r < 0)
                return r;
        r = cw_job_check_spec(req->cfg, ref.job, js, err);
        if (r < 0) {
                err->col = 0;
                err->len = (int)strlen(text);
                return r;
        }
        canon = cw_jobspec_format(js);
        if (!canon)
                return -ENOMEM;
        *ret_canonical = canon;
        return 0;
}

static int queue_request(const cw_http_req *req, const char *canon, int64_t *ret_id, cw_error *err)
{
        char q[CW_JOBSPEC_TEXT_MAX + 8];
        int64_t id = 0;
        int r = cw_store_request_add(req->store, canon, who(req), req->now_us, &id);

        if (r < 0)
                return store_fail(err, r, "queue the request");
        cw_http_audit(req, "request", "spec=%s id=%" PRId64, cw_http_logval(canon, q, sizeof(q)),
                      id);
        wake(req);
        if (ret_id)
                *ret_id = id;
        return 0;
}

int cw_action_request(const cw_http_req *req, const char *spec_text, int64_t *ret_request_id,
                      char **ret_canonical, cw_error *err)
{
        _cleanup_free_ char *canon = NULL;
        int r;

        cw_error_clear(err);
        r = check_spec(req, spec_text, &canon, err);
        if (r < 0)
                return r;
        r = queue_request(req, canon, ret_request_id, err);
        if (r == 0 && ret_canonical)
                *ret_canonical = CW_TAKE_PTR(canon);
        return r;
}

/* True when p is `key=value` with a valid option key before the '='. */
static bool is_option(const char *p, size_t *ret_keylen)
{
        const char *eq = strchr(p, '=');
        size_t n;

        if (!eq || eq == p)
                return false;
        n = (size_t)(eq - p);
        if (!((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z') || p[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++) {
                char c = p[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-'))
                        return false;
        }
        *ret_keylen = n;
        return true;
}

int cw_action_request_params(const cw_http_req *req, const char *job, const char *const *params,
                             size_t n_params, int64_t *ret_request_id, cw_error *err)
{
        cw_param ps[CW_JOBSPEC_PARAMS_MAX];
        cw_jobspec js = {0};
        _cleanup_free_ char *canon = NULL;
        _cleanup_(cw_jobspec_freep) cw_jobspec *back = NULL;
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        bool seen_option = false;
        size_t n = 0;
        int r = 0;

        cw_error_clear(err);
        if (!job || !*job)
                return cw_error_set(err, -1, 0, "job: a job name is needed");
        if (!cw_jobspec_name_valid(job))
                return cw_error_set(err, -1, 0, "job: '%.128s' is not a valid job name", job);
        r = find_job(req, job, &ref, err);
        if (r == -ENOENT) {
                char why[sizeof(err->msg)];
                snprintf(why, sizeof(why), "%s", err->msg);
                return cw_error_set(err, -1, 0, "job: %s", why);
        }
        if (r < 0)
                return r;
        if (n_params > CW_JOBSPEC_PARAMS_MAX)
                return cw_error_set(err, -1, 0, "params: at most %d params, got %zu",
                                    CW_JOBSPEC_PARAMS_MAX, n_params);
        for (size_t i = 0; i < n_params; i++) {
                size_t klen;

                if (!params[i])
                        return cw_error_set(err, -1, 0, "params[%zu]: expected a string", i);
                if (is_option(params[i], &klen)) {
                        ps[n].key = strndup(params[i], klen);
                        ps[n].value = strdup(params[i] + klen + 1);
                        seen_option = true;
                } else if (seen_option) {
                        r = cw_error_set(
                                err, -1, 0,
                                "params[%zu]: positional value '%.64s' after a key=value param "
                                "(positional params come first)",
                                i, params[i]);
                        break;
                } else {
                        ps[n].key = NULL;
                        ps[n].value = strdup(params[i]);
                        js.n_positional++;
                }
                n++;
                if (!ps[n - 1].value || (seen_option && !ps[n - 1].key)) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r == 0) {
                js.name = (char *)job;
                js.params = ps;
                js.n_params = n;
                canon = cw_jobspec_format(&js);
                if (!canon)
                        r = -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                free(ps[i].key);
                free(ps[i].value);
        }
        if (r < 0)
                return r;
        /* Parse the canonical text back: it checks each value and key the
         * same way a typed spec is checked (lengths, duplicates). */
        r = cw_jobspec_parse(canon, &back, err);
        if (r == 0)
                r = cw_job_check_spec(req->cfg, ref.job, back, err);
        if (r < 0)
                return r;
        return queue_request(req, canon, ret_request_id, err);
}

/* Stops run here, or through its node's daemon (worker/remote.h),
 * recorded as killed by the admin user (through the UI or the API); *ret_said when the other node
 * could not and err says why (-ETIMEDOUT: down or no answer). */
static int kill_run(const cw_http_req *req, const cw_run *run, cw_run_status *ret, bool *ret_said,
                    cw_error *err)
{
        const char *via = req->via_token ? "API" : "admin UI";
        char by[512], why[512];
        int r;

        if (!cw_remote_is_other(req->cfg, run)) {
                snprintf(by, sizeof(by), "%s (%s)", who(req), via);
                return cw_control_kill_by(req->store, req->cfg, run, by, req->now_us, ret);
        }
        snprintf(by, sizeof(by), "%s@%s (%s)", who(req), req->cfg->node, via);
        r = cw_remote_kill(req->store, req->cfg, run, by, ret, why, sizeof(why));
        if (r < 0 && r != -ESTALE) {
                *ret_said = true;
                return cw_error_fail(err, r == -EHOSTDOWN || r == -ETIMEDOUT ? -ETIMEDOUT : -EIO,
                                     "cannot kill run %" PRId64 " on node %s: %s", run->id,
                                     run->node, why);
        }
        return r;
}

int cw_action_kill(const cw_http_req *req, int64_t run_id, cw_run_status *ret_status, cw_error *err)
{
        _cleanup_(cw_run_release) cw_run run = {0};
        cw_run_status final = CW_RUN_KILLED;
        bool said = false;
        char q[160];
        int r;

        cw_error_clear(err);
        r = cw_store_run_get(req->store, run_id, &run);
        if (r == -ENOENT)
                return cw_error_fail(err, r, "no run %" PRId64, run_id);
        if (r < 0)
                return store_fail(err, r, "read the run");
        if (run.status != CW_RUN_RUNNING)
                return cw_error_fail(err, -ESTALE, "run %" PRId64 " is not running (it is %s)",
                                     run_id, cw_run_status_to_string(run.status));
        r = kill_run(req, &run, &final, &said, err);
        if (said)
                return r;
        if (r == -ESTALE) {
                _cleanup_(cw_run_release) cw_run now = {0};
                if (cw_store_run_get(req->store, run_id, &now) == 0)
                        return cw_error_fail(err, r, "run %" PRId64 " is not running (it is %s)",
                                             run_id, cw_run_status_to_string(now.status));
                return cw_error_fail(err, r, "run %" PRId64 " already ended", run_id);
        }
        if (r == -ETIMEDOUT)
                return cw_error_fail(err, r, "run %" PRId64 " did not end within its grace period",
                                     run_id);
        if (r < 0)
                return cw_error_fail(err, r, "cannot kill run %" PRId64 ": %s", run_id,
                                     strerror(-r));
        cw_http_audit(req, "kill", "run=%" PRId64 " job=%s status=%s", run_id,
                      cw_http_logval(run.job, q, sizeof(q)), cw_run_status_to_string(final));
        if (ret_status)
                *ret_status = final;
        return 0;
}

int cw_action_job_enable(const cw_http_req *req, const char *job, bool enabled, cw_error *err)
{
        _cleanup_(cw_job_ref_release) cw_job_ref ref = {0};
        const cw_job *j;
        char q[160];
        int r;

        cw_error_clear(err);
        if (!job)
                return cw_error_fail(err, -ENOENT, "no job named ''");
        /* A UI job that may not run now can still be switched on or off. */
        r = find_job(req, job, &ref, err);
        if (r == -EPERM || r == -EINVAL)
                r = cw_error_fail(err, -ENOENT, "no job named '%s' that can run now: %s", job,
                                  err->msg);
        if (r < 0)
                return r;
        j = ref.job;
        r = cw_store_job_enabled_set(req->store, j->name, enabled);
        if (r < 0)
                return store_fail(err, r, enabled ? "enable the job" : "disable the job");
        cw_http_audit(req, enabled ? "enable" : "disable", "job=%s",
                      cw_http_logval(j->name, q, sizeof(q)));
        wake(req);
        return 0;
}

int cw_action_scheduler_enable(const cw_http_req *req, bool enabled, cw_error *err)
{
        int r;

        cw_error_clear(err);
        r = cw_store_state_set(req->store, "enabled", enabled ? "1" : "0");
        if (r < 0)
                return store_fail(err, r,
                                  enabled ? "enable the scheduler" : "disable the scheduler");
        cw_http_audit(req, enabled ? "scheduler_enable" : "scheduler_disable", "%s", "");
        wake(req);
        return 0;
}

/* Validates in and fills *ret with owned copies (id, created_* untouched). */
static int entry_from_input(const cw_http_req *req, const cw_action_entry *in, cw_ui_entry *ret,
                            cw_error *err)
{
        _cleanup_free_ char *canon = NULL;
        const char *spec = in->spec && *in->spec ? in->spec : NULL;
        const char *command = in->command && *in->command ? in->command : NULL;
        cw_ui_field field = CW_UI_FIELD_NONE;
        cw_error e;
        int r;

        if (in->description && strlen(in->description) > CW_UI_DESCRIPTION_MAX)
                return cw_error_set(err, -1, 0, "description: longer than %d bytes",
                                    CW_UI_DESCRIPTION_MAX);
        r = cw_ui_entry_compile(req->cfg, in->schedule, spec, command,
                                cw_floordiv(req->now_us, 1000000), NULL, &canon, &field, &e);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                *err = e;
                /* An unknown job is a validation error here (the body is
                 * wrong, not the URL): keep -EINVAL for it. */
                snprintf(err->msg, sizeof(err->msg), "%s: %.300s", cw_ui_field_to_string(field),
                         e.msg);
                return r == -EPERM ? -EPERM : -EINVAL;
        }
        ret->schedule = strdup(in->schedule);
        ret->spec = canon ? CW_TAKE_PTR(canon) : NULL;
        ret->command = command ? strdup(command) : NULL;
        ret->description = strdup(in->description ? in->description : "");
        ret->enabled = in->enabled;
        if (!ret->schedule || !ret->description || (command && !ret->command))
                return -ENOMEM;
        return 0;
}

static void audit_entry(const cw_http_req *req, const char *action, const cw_ui_entry *u)
{
        char q1[CW_TIMESPEC_TEXT_MAX + 8], q2[CW_JOBSPEC_TEXT_MAX + 8];

        cw_http_audit(req, action, "id=%" PRId64 " schedule=%s %s=%s enabled=%s", u->id,
                      cw_http_logval(u->schedule, q1, sizeof(q1)), u->spec ? "spec" : "command",
                      cw_http_logval(u->spec ? u->spec : u->command, q2, sizeof(q2)),
                      u->enabled ? "yes" : "no");
}

int cw_action_entry_create(const cw_http_req *req, const cw_action_entry *in, int64_t *ret_id,
                           cw_error *err)
{
        _cleanup_(cw_ui_entry_release) cw_ui_entry u = {0};
        int r;

        cw_error_clear(err);
        if (!in)
                return -EINVAL;
        r = entry_from_input(req, in, &u, err);
        if (r < 0)
                return r;
        u.created_by = req->user ? strdup(req->user) : NULL;
        if (req->user && !u.created_by)
                return -ENOMEM;
        u.created_us = u.updated_us = req->now_us;
        r = cw_store_ui_entry_add(req->store, &u);
        if (r < 0)
                return store_fail(err, r, "save the entry");
        audit_entry(req, "entry_create", &u);
        wake(req);
        if (ret_id)
                *ret_id = u.id;
        return 0;
}

int cw_action_entry_update(const cw_http_req *req, int64_t id, const cw_action_entry *in,
                           cw_error *err)
{
        _cleanup_(cw_ui_entry_release) cw_ui_entry u = {0};
        int r;

        cw_error_clear(err);
        if (!in)
                return -EINVAL;
        r = entry_from_input(req, in, &u, err);
        if (r < 0)
                return r;
        u.id = id;
        u.updated_us = req->now_us;
        r = cw_store_ui_entry_update(req->store, &u);
        if (r == -ENOENT)
                return cw_error_fail(err, r, "no entry %" PRId64, id);
        if (r < 0)
                return store_fail(err, r, "save the entry");
        audit_entry(req, "entry_update", &u);
        wake(req);
        return 0;
}

int cw_action_entry_delete(const cw_http_req *req, int64_t id, cw_error *err)
{
        int r;

        cw_error_clear(err);
        r = cw_store_ui_entry_delete(req->store, id);
        if (r == -ENOENT)
                return cw_error_fail(err, r, "no entry %" PRId64, id);
        if (r < 0)
                return store_fail(err, r, "delete the entry");
        cw_http_audit(req, "entry_delete", "id=%" PRId64, id);
        wake(req);
        return 0;
}
