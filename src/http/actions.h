/* actions.h - the write side of the admin UI and the JSON API: every state
 * change an operator can make, validated and audited in one place so a
 * form POST (pages) and an API call do exactly the same thing.
 *
 * Each action takes the request (for its config, store, clock, who is
 * asking, and the server to wake), validates its input against the
 * request's config, makes the change in the store, records one audit line
 * (cw_http_audit: "event=admin user=U client=C action=ACTION DETAIL") and,
 * when the scheduler should notice at once, wakes it (cw_http_wake). Both
 * are skipped when req->server is NULL (unit tests).
 *
 * Returns 0, or a negative errno with err saying what and where, in plain
 * words fit to show the user (for -EINVAL, err->col points into the text
 * that was parsed when there is one). cw_action_http_status() maps the
 * returns to HTTP statuses; nothing is changed on failure. */
#ifndef CW_HTTP_ACTIONS_H
#define CW_HTTP_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "http/http.h"
#include "store/store.h"

/* The HTTP status for an action's return:
 *   0          200
 *   -EINVAL    422 (validation: bad spec, params, schedule, ...)
 *   -ENOENT    404 (no such job, run or entry)
 *   -ESTALE    409 (the run already ended; the state changed meanwhile)
 *   -EPERM     403 (free commands without allow_ui_commands)
 *   -ETIMEDOUT 504 (a killed run did not end in time)
 *   other      500 */
int cw_action_http_status(int r);

/* Run now: queues a request for the job spec text (e.g. `Name:a,k=v`).
 * The spec is parsed (-EINVAL, err->col into text), the job must be
 * configured and the params must match its declared args and options
 * (-EINVAL for all of these: the input is invalid, not the URL). A disabled job may be requested: the scheduler then
 * records the request as skipped, as for `cronwarden request`. Sets
 * *ret_request_id and, when ret_canonical is not NULL, *ret_canonical to
 * the canonical spec queued (the run's `spec`; caller frees); wakes the
 * scheduler. Audit: action=request spec=... id=N. */
int cw_action_request(const cw_http_req *req, const char *spec_text, int64_t *ret_request_id,
                      char **ret_canonical, cw_error *err);

/* Same, from a job name and a list of params, each either a positional
 * value or `key=value` (a '=' after a valid key name makes an option;
 * anything else is positional, quoting is not needed: values are taken
 * as they are). Positional params must come first (-EINVAL naming the
 * param). */
int cw_action_request_params(const cw_http_req *req, const char *job, const char *const *params,
                             size_t n_params, int64_t *ret_request_id, cw_error *err);

/* Kills a running run (cw_control_kill: TERM, grace, KILL; waits at most
 * kill_grace + 5 s). -ENOENT: no such run; -ESTALE: it is not running
 * (already finished, or queued); -ETIMEDOUT: it did not end in time.
 * *ret_status (may be NULL) is the run's final status. Audit: action=kill
 * run=N job=J. */
int cw_action_kill(const cw_http_req *req, int64_t run_id, cw_run_status *ret_status,
                   cw_error *err);

/* Enables or disables one configured job (the store's flag; a job with
 * `enabled = no` in the config stays off whatever this says). -ENOENT
 * for an unknown job. Wakes the scheduler. Audit: action=enable|disable
 * job=J. */
int cw_action_job_enable(const cw_http_req *req, const char *job, bool enabled, cw_error *err);

/* Turns the whole scheduler on or off. Wakes it. Audit:
 * action=scheduler_enable|scheduler_disable. */
int cw_action_scheduler_enable(const cw_http_req *req, bool enabled, cw_error *err);

/* A UI entry as submitted (docs/api.md, chroniker style). Exactly one
 * of spec and command is set (non-NULL and non-empty):
 *   schedule     a time spec, as in a [schedule] `run =` line (evaluated in
 *                the job's zone, or the config's default zone for commands)
 *   spec         job spec of a configured job, checked like a `run =` line
 *   command      free command line: only with [admin] allow_ui_commands
 *                (-EPERM otherwise)
 *   description  free text, may be NULL
 * Errors name the field: "schedule: unknown field 'x' at column 3",
 * "spec: no job named 'X'", ... (err->col points into that field). */
typedef struct cw_action_entry {
        const char *schedule;
        const char *spec;
        const char *command;
        const char *description;
        bool enabled;
} cw_action_entry;

/* Validates and stores a new entry; sets *ret_id. Wakes the scheduler.
 * Audit: action=entry_create id=N schedule=... spec=... */
int cw_action_entry_create(const cw_http_req *req, const cw_action_entry *in, int64_t *ret_id,
                           cw_error *err);
/* Replaces entry id's fields with in (created_by/created kept). -ENOENT
 * when there is no such entry. Audit: action=entry_update id=N ... */
int cw_action_entry_update(const cw_http_req *req, int64_t id, const cw_action_entry *in,
                           cw_error *err);
/* Deletes entry id. -ENOENT when there is none. Audit: action=entry_delete id=N */
int cw_action_entry_delete(const cw_http_req *req, int64_t id, cw_error *err);

#endif
