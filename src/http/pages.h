/* pages.h - what the HTML page modules share (pages.c, pages_jobs.c,
 * pages_runs.c, pages_admin.c). Private to them: the server sees only
 * cw_http_page_routes and the two renderers in http.h.
 *
 * Handlers read the model (model.h) for what they show and call the
 * actions (actions.h) for what they change; every state change is a POST
 * that ends in a 303 back to a page with a flash message (`?msg=` or
 * `?err=`, shown escaped by the layout), so a reload never repeats it. */
#ifndef CW_HTTP_PAGES_H
#define CW_HTTP_PAGES_H

#include "base/error.h"
#include "http/html.h"
#include "http/http.h"
#include "http/model.h"

/* The handlers, by module. */
int cw_page_jobs(const cw_http_req *req, cw_http_resp *resp);
int cw_page_job(const cw_http_req *req, cw_http_resp *resp);
int cw_page_job_run(const cw_http_req *req, cw_http_resp *resp);
int cw_page_job_enable(const cw_http_req *req, cw_http_resp *resp);
int cw_page_job_disable(const cw_http_req *req, cw_http_resp *resp);

int cw_page_runs(const cw_http_req *req, cw_http_resp *resp);
int cw_page_running(const cw_http_req *req, cw_http_resp *resp);
int cw_page_run(const cw_http_req *req, cw_http_resp *resp);
int cw_page_run_output(const cw_http_req *req, cw_http_resp *resp);
int cw_page_run_kill(const cw_http_req *req, cw_http_resp *resp);
/* /requests/ID?spec=S&at=T (the link of Run now's flash): redirects to
 * the run the scheduler started for the request, or says it waits. */
int cw_page_request(const cw_http_req *req, cw_http_resp *resp);

int cw_page_scheduler(const cw_http_req *req, cw_http_resp *resp);
int cw_page_scheduler_set(const cw_http_req *req, cw_http_resp *resp);
int cw_page_entries(const cw_http_req *req, cw_http_resp *resp);
int cw_page_entry_new(const cw_http_req *req, cw_http_resp *resp);
int cw_page_entry_edit(const cw_http_req *req, cw_http_resp *resp);
int cw_page_entry_create(const cw_http_req *req, cw_http_resp *resp);
int cw_page_entry_update(const cw_http_req *req, cw_http_resp *resp);
int cw_page_entry_delete(const cw_http_req *req, cw_http_resp *resp);
int cw_page_notifications(const cw_http_req *req, cw_http_resp *resp);
/* pages_nodes.c: the cluster's nodes (docs/cluster.md). */
int cw_page_nodes(const cw_http_req *req, cw_http_resp *resp);

/* ---- shared helpers (pages.c) ---- */

/* Answers a failed model call: -ENOENT 404, -EINVAL 400 (with err's
 * message), -ENOMEM and others: returned for the server's 500. */
int cw_page_fail(const cw_http_req *req, cw_http_resp *resp, int r, const cw_error *err);
/* Ends a page: 200, or the buffer's error (-E2BIG, -ENOMEM) for a 500. */
int cw_page_done(cw_http_resp *resp);
/* 303 to path with a flash message (kind "msg" or "err"). Returns 0 or -ENOMEM. */
int cw_page_redirect(cw_http_resp *resp, const char *path, const char *kind, const char *message);
/* Where a POST form asked to go back to (its `back` field) if that is a
 * local path, else fallback. */
const char *cw_page_back(const cw_http_req *req, const char *fallback);

/* <a href="/jobs/NAME">NAME</a> */
void cw_page_job_link(cw_buf *b, const char *name);
/* A schedule: its words, then the spec text and zone in small print. */
void cw_page_schedule(cw_buf *b, const char *when, const char *seed, const char *zone);
/* A run's duration cell text (running up to now). */
void cw_page_duration(const cw_http_req *req, cw_buf *b, const cw_run *r);
/* A table of runs (history, running, a job's history): columns id, job
 * (unless show_job is false), status, trigger, started, duration,
 * progress or exit, node; kill buttons for active runs when with_kill. */
void cw_page_runs_table(const cw_http_req *req, cw_buf *b, const cw_run *runs, size_t n,
                        bool show_job, bool with_kill);
/* A kill form for run id (a button, confirmed by app.js). */
void cw_page_kill_form(const cw_http_req *req, cw_buf *b, int64_t id, const char *back, bool small);
/* The Run now control of a job: a button, or a disclosure with a params
 * form when the job declares args or options. */
void cw_page_run_now(const cw_http_req *req, cw_buf *b, const cw_job *job, const char *back,
                     bool open);
/* The enable/disable switch of a job. */
void cw_page_enable_switch(const cw_http_req *req, cw_buf *b, const cw_model_job *mj,
                           const char *back);

#endif
