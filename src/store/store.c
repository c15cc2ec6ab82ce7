/* store.c - choosing a store backend and dispatching to it (see store.h).
 *
 * cw_store_open reads the store URL and hands the rest to the backend it
 * names; every other function checks what can be checked without the data
 * (NULL pointers, enum values in range, a missing output buffer) and then
 * calls the backend's operation through its ops table (store_backend.h).
 * Keeping these checks here means each backend trusts its arguments and a
 * second backend (PostgreSQL, a later issue) gets them for free.
 *
 * URLs follow one grammar (store.h, cw_store_url_parse), used by the
 * config's `store` key too: "sqlite" (or NULL) is DATA_DIR/cronwarden.db;
 * "sqlite:PATH" is the file PATH as given (relative to the working
 * directory; data_dir is then unused); the directories above the file
 * are created either way. postgresql:// and postgres:// URLs go to the
 * PostgreSQL backend (src/store/pg/) as they are, for libpq to read;
 * anything else is -EINVAL. A URL shown in a message has its password
 * hidden (cw_store_url_redact).
 *
 * Also here, because they are the same for every backend: the histogram
 * bounds of the per-job aggregates. */
#include "store/store.h"
#include "store/store_backend.h"

#include "base/clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Histogram buckets of the per-job aggregates (store.h). Every backend
 * buckets by these; the SQLite backend's migration 2 spells them out in
 * its backfill, so changing one needs a migration. */
const double cw_store_duration_bounds[CW_STORE_DURATION_BUCKETS] = {
        0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 86400,
};
const double cw_store_lateness_bounds[CW_STORE_LATENESS_BUCKETS] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60,
};
_Static_assert(CW_STORE_DURATION_BUCKETS <= CW_STORE_HIST_MAX, "too many duration buckets");
_Static_assert(CW_STORE_LATENESS_BUCKETS <= CW_STORE_HIST_MAX, "too many lateness buckets");

const char *cw_store_strerror(int r)
{
        if (r == -ETIMEDOUT)
                return "the store is busy (another process holds a write transaction for longer than 30s)";
        if (r == -EUCLEAN)
                return "the store is malformed (its file is damaged: run 'cronwarden store check' "
                       "to see what can be recovered)";
        return strerror(-r);
}

const char *cw_store_error_text(cw_store *s, int r)
{
        const char *why;

        if ((r == -EROFS || r == -EACCES) && s && s->ops && s->ops->readonly_reason &&
            (why = s->ops->readonly_reason(s)))
                return why;
        return cw_store_strerror(r);
}

static bool status_ok(int v)
{
        return v >= 0 && v < CW_RUN_STATUS_MAX;
}

static bool resume_ok(int v)
{
        return v >= 0 && v < CW_RESUME_MAX;
}

/* A character no store URL may hold: control characters anywhere (they
 * would garble messages and logs), and spaces in a URL of the network
 * kind (a conninfo URL has none; "key=value ..." strings are not URLs). */
static bool url_char_bad(unsigned char c, bool network)
{
        return c < 0x20 || c == 0x7f || (network && c == ' ');
}

int cw_store_url_parse(const char *url, cw_store_url *ret, cw_error *err)
{
        cw_store_url u = {0};
        bool network;

        cw_error_clear(err);
        if (!url || strcmp(url, "sqlite") == 0) {
                u.kind = CW_STORE_SQLITE;
                u.path = NULL;
        } else if (strncmp(url, "sqlite:", 7) == 0) {
                u.kind = CW_STORE_SQLITE;
                u.path = url + 7;
                if (!*u.path) {
                        cw_error_set(err, -1, 0, "store 'sqlite:' names no file");
                        return -EINVAL;
                }
                /* SQLite would quietly give a private in-memory database,
                 * which no other process (worker, status) could see. */
                if (strcmp(u.path, ":memory:") == 0) {
                        cw_error_set(
                                err, -1, 0,
                                "store 'sqlite::memory:' is not supported: processes must share the store");
                        return -EINVAL;
                }
        } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
                u.kind = CW_STORE_POSTGRESQL;
                u.path = url;
        } else {
                _cleanup_free_ char *shown = NULL;

                if (cw_store_url_redact(url, &shown) < 0)
                        return -ENOMEM;
                cw_error_set(err, -1, 0, "unknown store '%s': expected %s", shown,
                             CW_STORE_URL_EXPECTED);
                return -EINVAL;
        }
        network = u.kind != CW_STORE_SQLITE;
        for (const char *p = url ? url : ""; *p; p++)
                if (url_char_bad((unsigned char)*p, network)) {
                        cw_error_set(err, -1, 0, "store URL has a %s at byte %zu",
                                     *p == ' ' ? "space" : "control character",
                                     (size_t)(p - url) + 1);
                        return -EINVAL;
                }
        *ret = u;
        return 0;
}

/* Appends n bytes of p to the string being built at *out. */
static void put(char **out, const char *p, size_t n)
{
        memcpy(*out, p, n);
        *out += n;
}

/* Copies the query part q (after '?') with each password= value hidden. */
static void redact_query(const char *q, char **out)
{
        while (*q) {
                size_t n = strcspn(q, "&");

                if (strncmp(q, "password=", 9) == 0) {
                        put(out, "password=***", 12);
                } else {
                        put(out, q, n);
                }
                q += n;
                if (*q == '&')
                        put(out, q++, 1);
        }
}

int cw_store_url_redact(const char *url, char **ret)
{
        const char *scheme = url ? strstr(url, "://") : NULL;
        const char *auth, *auth_end, *at = NULL, *colon = NULL, *query;
        char *buf, *out;

        if (!url)
                url = "sqlite";
        /* The longest it can get: each password replaced by "***". */
        buf = malloc(strlen(url) * 2 + 16);
        if (!buf)
                return -ENOMEM;
        out = buf;
        if (!scheme) {
                put(&out, url, strlen(url));
                *out = '\0';
                *ret = buf;
                return 0;
        }
        auth = scheme + 3;
        auth_end = auth + strcspn(auth, "/?#");
        for (const char *p = auth; p < auth_end; p++)
                if (*p == '@')
                        at = p;
        if (at)
                colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon) {
                put(&out, url, (size_t)(colon + 1 - url));
                put(&out, "***", 3);
                put(&out, at, (size_t)(auth_end - at));
        } else {
                put(&out, url, (size_t)(auth_end - url));
        }
        query = strchr(auth_end, '?');
        if (query) {
                put(&out, auth_end, (size_t)(query + 1 - auth_end));
                redact_query(query + 1, &out);
        } else {
                put(&out, auth_end, strlen(auth_end));
        }
        *out = '\0';
        *ret = buf;
        return 0;
}

/* The default SQLite file's path, DATA_DIR/cronwarden.db, newly allocated. */
static int default_path(const char *data_dir, char **ret, cw_error *err)
{
        char *path;
        size_t n;

        if (!data_dir || !*data_dir) {
                cw_error_set(err, -1, 0, "store 'sqlite' needs a data directory");
                return -EINVAL;
        }
        n = strlen(data_dir) + 1 + strlen(CW_STORE_FILE) + 1;
        path = malloc(n);
        if (!path)
                return -ENOMEM;
        /* A trailing slash on data_dir would give "//": harmless, but the
         * path appears in messages, so keep it tidy. */
        snprintf(path, n, "%s%s%s", data_dir, data_dir[strlen(data_dir) - 1] == '/' ? "" : "/",
                 CW_STORE_FILE);
        *ret = path;
        return 0;
}

static int open_sqlite_default(const char *data_dir, cw_store **ret, cw_error *err)
{
        _cleanup_free_ char *path = NULL;
        int r = default_path(data_dir, &path, err);

        if (r < 0)
                return r;
        return cw_store_sqlite_open(path, ret, err);
}

int cw_store_open(const char *url, const char *data_dir, cw_store **ret, cw_error *err)
{
        cw_store_url u;
        int r;

        cw_error_clear(err);
        if (!ret)
                return -EINVAL;
        r = cw_store_url_parse(url, &u, err);
        if (r < 0)
                return r;
        switch (u.kind) {
        case CW_STORE_SQLITE:
                return u.path ? cw_store_sqlite_open(u.path, ret, err)
                              : open_sqlite_default(data_dir, ret, err);
        case CW_STORE_POSTGRESQL:
                return cw_store_pg_open(u.path, ret, err);
        }
        return -EINVAL;
}

int cw_store_check(const char *url, const char *data_dir, const char *recover_to,
                   cw_store_check_result *ret, cw_error *err)
{
        _cleanup_free_ char *path = NULL;
        cw_store_url u;
        int r;

        cw_error_clear(err);
        if (!ret)
                return -EINVAL;
        r = cw_store_url_parse(url, &u, err);
        if (r < 0)
                return r;
        if (u.kind != CW_STORE_SQLITE) {
                _cleanup_free_ char *shown = NULL;

                if (cw_store_url_redact(url, &shown) < 0)
                        return -ENOMEM;
                cw_error_set(err, -1, 0, "only a SQLite store can be checked here (store = %s)",
                             shown);
                return -EOPNOTSUPP;
        }
        if (!u.path) {
                r = default_path(data_dir, &path, err);
                if (r < 0)
                        return r;
        }
        return cw_store_sqlite_check(u.path ? u.path : path, recover_to, ret, err);
}

bool cw_store_exists(const char *url, const char *data_dir)
{
        _cleanup_free_ char *path = NULL;
        cw_store_url u;

        /* A bad URL "exists": let the open say what is wrong. */
        if (cw_store_url_parse(url, &u, NULL) < 0 || u.kind != CW_STORE_SQLITE)
                return true;
        if (u.path)
                return access(u.path, F_OK) == 0;
        if (asprintf(&path, "%s/%s", data_dir, CW_STORE_FILE) < 0)
                return true; /* let the open say what is wrong */
        return access(path, F_OK) == 0;
}

void cw_store_set_clock(cw_store *s, const cw_clock *clock)
{
        if (s)
                s->clock = clock;
}

void cw_store_watch_link(cw_store *s, cw_store_link_fn fn, void *userdata)
{
        if (!s)
                return;
        s->on_link = fn;
        s->link_userdata = userdata;
}

void cw_store_link_news(cw_store *s, bool up, const char *why)
{
        if (s->link_down == !up)
                return;
        s->link_down = !up;
        if (s->on_link)
                s->on_link(s->link_userdata, up, why ? why : "");
}

void cw_store_close(cw_store *s)
{
        if (s && s->ops && s->ops->close)
                s->ops->close(s);
}

int cw_store_schema_version(cw_store *s)
{
        OP_OR_RETURN(s, schema_version);
        return s->ops->schema_version(s);
}

int cw_store_run_insert(cw_store *s, cw_run *run)
{
        OP_OR_RETURN(s, run_insert);
        if (!run || !run->job || !run->spec || !status_ok((int)run->status) ||
            (int)run->trigger < 0 || (int)run->trigger >= CW_TRIGGER_MAX ||
            !resume_ok((int)run->resume))
                return -EINVAL;
        return s->ops->run_insert(s, run);
}

int cw_store_run_started(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start)
{
        OP_OR_RETURN(s, run_started);
        return s->ops->run_started(s, id, worker_pid, pid, pid_start);
}

int cw_store_run_requeued(cw_store *s, int64_t id, int64_t started_us)
{
        OP_OR_RETURN(s, run_requeued);
        return s->ops->run_requeued(s, id, started_us);
}

int cw_store_batch_begin(cw_store *s)
{
        OP_OR_RETURN(s, batch_begin);
        return s->ops->batch_begin(s);
}

int cw_store_batch_commit(cw_store *s)
{
        OP_OR_RETURN(s, batch_commit);
        return s->ops->batch_commit(s);
}

void cw_store_batch_abort(cw_store *s)
{
        if (s && s->ops && s->ops->batch_abort)
                s->ops->batch_abort(s);
}

bool cw_store_reads_ahead(const cw_store *s)
{
        return s && s->ops && s->ops->read_ahead;
}

void cw_store_read_ahead(cw_store *s, const cw_store_ahead *reads, size_t n)
{
        if (cw_store_reads_ahead(s) && reads && n)
                s->ops->read_ahead(s, reads, n);
}

int cw_store_run_set_pid(cw_store *s, int64_t id, int pid, uint64_t pid_start)
{
        OP_OR_RETURN(s, run_set_pid);
        return s->ops->run_set_pid(s, id, pid, pid_start);
}

int cw_store_run_progress(cw_store *s, int64_t id, int64_t done, int64_t total)
{
        OP_OR_RETURN(s, run_progress);
        return s->ops->run_progress(s, id, done, total);
}

int cw_store_run_finish(cw_store *s, const cw_run *run, const void *output, size_t len)
{
        OP_OR_RETURN(s, run_finish);
        if (!run || !status_ok((int)run->status) || (!output && len > 0))
                return -EINVAL;
        return s->ops->run_finish(s, run, output, len);
}

int cw_store_run_transition(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                            const char *reason, int64_t now_us)
{
        OP_OR_RETURN(s, run_transition);
        if (!status_ok((int)from) || !status_ok((int)to))
                return -EINVAL;
        return s->ops->run_transition(s, id, from, to, reason, now_us);
}

int cw_store_run_set_resume(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to)
{
        OP_OR_RETURN(s, run_set_resume);
        if (!resume_ok((int)from) || !resume_ok((int)to))
                return -EINVAL;
        return s->ops->run_set_resume(s, id, from, to);
}

int cw_store_run_get(cw_store *s, int64_t id, cw_run *ret)
{
        OP_OR_RETURN(s, run_get);
        if (!ret)
                return -EINVAL;
        return s->ops->run_get(s, id, ret);
}

int cw_store_run_output(cw_store *s, int64_t id, void **ret, size_t *ret_len)
{
        OP_OR_RETURN(s, run_output);
        if (!ret || !ret_len)
                return -EINVAL;
        return s->ops->run_output(s, id, ret, ret_len);
}

int cw_store_run_output_snapshot(cw_store *s, int64_t id, uint64_t size, bool truncated,
                                 const void *output, size_t len)
{
        OP_OR_RETURN(s, run_output_snapshot);
        if (!output && len > 0)
                return -EINVAL;
        return s->ops->run_output_snapshot(s, id, size, truncated, output, len);
}

int cw_store_run_output_get(cw_store *s, int64_t id, cw_run_output *ret)
{
        OP_OR_RETURN(s, run_output_get);
        if (!ret)
                return -EINVAL;
        return s->ops->run_output_get(s, id, ret);
}

void cw_run_output_release(cw_run_output *o)
{
        if (!o)
                return;
        free(o->data);
        *o = (cw_run_output){0};
}

int cw_store_runs_list(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n)
{
        static const cw_run_filter all = CW_RUN_FILTER_INIT;

        if (!f)
                f = &all;
        OP_OR_RETURN(s, runs_list);
        if (!ret || !ret_n || (f->status != -1 && !status_ok(f->status)) ||
            (f->resume != -1 && !resume_ok(f->resume)) || f->before_id < 0)
                return -EINVAL;
        return s->ops->runs_list(s, f, ret, ret_n);
}

void cw_runs_free(cw_run *runs, size_t n)
{
        if (!runs)
                return;
        for (size_t i = 0; i < n; i++)
                cw_run_release(&runs[i]);
        free(runs);
}

int cw_store_runs_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted)
{
        OP_OR_RETURN(s, runs_prune);
        return s->ops->runs_prune(s, before_us, ret_deleted);
}

int cw_store_claim(cw_store *s, const char *spec, cw_time scheduled_at, const char *node,
                   bool *ret_won)
{
        OP_OR_RETURN(s, claim);
        if (!spec || !node || !ret_won)
                return -EINVAL;
        return s->ops->claim(s, spec, scheduled_at, node, ret_won);
}

int cw_store_state_get(cw_store *s, const char *key, char **ret)
{
        OP_OR_RETURN(s, state_get);
        if (!key || !ret)
                return -EINVAL;
        return s->ops->state_get(s, key, ret);
}

int cw_store_state_set(cw_store *s, const char *key, const char *value)
{
        OP_OR_RETURN(s, state_set);
        if (!key || !value)
                return -EINVAL;
        return s->ops->state_set(s, key, value);
}

int cw_store_job_enabled_get(cw_store *s, const char *job, bool *ret)
{
        OP_OR_RETURN(s, job_enabled_get);
        if (!job || !ret)
                return -EINVAL;
        return s->ops->job_enabled_get(s, job, ret);
}

int cw_store_job_enabled_set(cw_store *s, const char *job, bool enabled)
{
        OP_OR_RETURN(s, job_enabled_set);
        if (!job)
                return -EINVAL;
        return s->ops->job_enabled_set(s, job, enabled);
}

int cw_store_request_add(cw_store *s, const char *spec, const char *by, int64_t now_us,
                         int64_t *ret_id)
{
        OP_OR_RETURN(s, request_add);
        if (!spec)
                return -EINVAL;
        return s->ops->request_add(s, spec, by, now_us, ret_id);
}

int cw_store_requests_take(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        OP_OR_RETURN(s, requests_take);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->requests_take(s, max, ret, ret_n);
}

void cw_requests_free(cw_request *r, size_t n)
{
        if (!r)
                return;
        for (size_t i = 0; i < n; i++) {
                free(r[i].spec);
                free(r[i].by);
        }
        free(r);
}

int cw_store_requests_pending(cw_store *s, size_t max, cw_request **ret, size_t *ret_n)
{
        OP_OR_RETURN(s, requests_pending);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->requests_pending(s, max, ret, ret_n);
}

int cw_store_stats_list(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                        cw_store_hist *ret_lateness)
{
        OP_OR_RETURN(s, stats_list);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->stats_list(s, job, ret, ret_n, ret_lateness);
}

int cw_store_stats_summary(cw_store *s, cw_job_stats **ret, size_t *ret_n,
                           cw_store_hist *ret_lateness, cw_store_hist *ret_duration)
{
        OP_OR_RETURN(s, stats_summary);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->stats_summary(s, ret, ret_n, ret_lateness, ret_duration);
}

void cw_job_stats_free(cw_job_stats *st, size_t n)
{
        if (!st)
                return;
        for (size_t i = 0; i < n; i++)
                free(st[i].job);
        free(st);
}

int cw_store_jobs_last(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret,
                       size_t *ret_n)
{
        OP_OR_RETURN(s, jobs_last);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->jobs_last(s, jobs, n_jobs, ret, ret_n);
}

int cw_store_jobs_disabled(cw_store *s, char ***ret, size_t *ret_n)
{
        OP_OR_RETURN(s, jobs_disabled);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->jobs_disabled(s, ret, ret_n);
}

int cw_store_jobs_failing(cw_store *s, char ***ret, size_t *ret_n)
{
        OP_OR_RETURN(s, jobs_failing);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->jobs_failing(s, ret, ret_n);
}

int cw_store_same_file(cw_store *s)
{
        OP_OR_RETURN(s, same_file);
        return s->ops->same_file(s);
}

void cw_store_names_free(char **names, size_t n)
{
        if (!names)
                return;
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

void cw_ui_entry_release(cw_ui_entry *e)
{
        if (!e)
                return;
        free(e->schedule);
        free(e->spec);
        free(e->command);
        free(e->description);
        free(e->created_by);
        *e = (cw_ui_entry){0};
}

void cw_ui_entries_free(cw_ui_entry *e, size_t n)
{
        if (!e)
                return;
        for (size_t i = 0; i < n; i++)
                cw_ui_entry_release(&e[i]);
        free(e);
}

/* Exactly one of spec and command, and a schedule. */
static bool ui_entry_ok(const cw_ui_entry *e)
{
        return e && e->schedule && (e->spec == NULL) != (e->command == NULL);
}

int cw_store_ui_entry_add(cw_store *s, cw_ui_entry *e)
{
        OP_OR_RETURN(s, ui_entry_add);
        if (!ui_entry_ok(e))
                return -EINVAL;
        return s->ops->ui_entry_add(s, e);
}

int cw_store_ui_entry_update(cw_store *s, const cw_ui_entry *e)
{
        OP_OR_RETURN(s, ui_entry_update);
        if (!ui_entry_ok(e))
                return -EINVAL;
        return s->ops->ui_entry_update(s, e);
}

int cw_store_ui_entry_delete(cw_store *s, int64_t id)
{
        OP_OR_RETURN(s, ui_entry_delete);
        return s->ops->ui_entry_delete(s, id);
}

int cw_store_ui_entry_get(cw_store *s, int64_t id, cw_ui_entry *ret)
{
        OP_OR_RETURN(s, ui_entry_get);
        if (!ret)
                return -EINVAL;
        return s->ops->ui_entry_get(s, id, ret);
}

int cw_store_ui_entries_list(cw_store *s, cw_ui_entry **ret, size_t *ret_n)
{
        OP_OR_RETURN(s, ui_entries_list);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->ui_entries_list(s, ret, ret_n);
}

/* ---- the notification outbox ---- */

static const char *const notice_states[CW_NOTICE_STATE_MAX] = {"pending", "sent", "failed"};

const char *cw_notice_state_to_string(cw_notice_state st)
{
        return (unsigned)st < CW_NOTICE_STATE_MAX ? notice_states[st] : "unknown";
}

void cw_notice_release(cw_notice *n)
{
        if (!n)
                return;
        free(n->job);
        free(n->event);
        free(n->channel);
        free(n->target);
        free(n->detail);
        free(n->result);
        *n = (cw_notice){0};
}

void cw_notices_free(cw_notice *n, size_t count)
{
        if (!n)
                return;
        for (size_t i = 0; i < count; i++)
                cw_notice_release(&n[i]);
        free(n);
}

int cw_store_notice_add(cw_store *s, cw_notice *n)
{
        OP_OR_RETURN(s, notice_add);
        if (!n || !n->job || !n->event || !n->channel || !n->target)
                return -EINVAL;
        return s->ops->notice_add(s, n);
}

int cw_store_notices_claim(cw_store *s, int64_t now_us, int64_t lease_us, int64_t run_id,
                           size_t max, cw_notice **ret, size_t *ret_n)
{
        OP_OR_RETURN(s, notices_claim);
        if (!ret || !ret_n || lease_us <= 0)
                return -EINVAL;
        if (max == 0) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        return s->ops->notices_claim(s, now_us, lease_us, run_id, max, ret, ret_n);
}

int cw_store_notice_update(cw_store *s, int64_t id, cw_notice_state state, int attempts,
                           int64_t next_us, int64_t done_us, const char *result)
{
        OP_OR_RETURN(s, notice_update);
        if ((unsigned)state >= CW_NOTICE_STATE_MAX)
                return -EINVAL;
        return s->ops->notice_update(s, id, state, attempts, next_us, done_us, result);
}

int cw_store_notices_list(cw_store *s, bool pending_only, size_t limit, cw_notice **ret,
                          size_t *ret_n)
{
        OP_OR_RETURN(s, notices_list);
        if (!ret || !ret_n)
                return -EINVAL;
        return s->ops->notices_list(s, pending_only, limit ? limit : 100, ret, ret_n);
}

int cw_store_notices_prune(cw_store *s, int64_t before_us, uint64_t *ret_deleted)
{
        OP_OR_RETURN(s, notices_prune);
        return s->ops->notices_prune(s, before_us, ret_deleted);
}

void cw_store_set_patience(cw_store *s, int64_t ms)
{
        if (s)
                s->patience_us = ms > 0 && ms < CW_STORE_BUSY_MS ? ms * 1000 : 0;
}

void cw_store_deadline_init(cw_store_deadline *d, const cw_store *s, int64_t min_us, int64_t max_us)
{
        int64_t budget_us = s && s->patience_us ? s->patience_us : (int64_t)CW_STORE_BUSY_MS * 1000;

        d->end_us = cw_clock_mono_us() + budget_us;
        d->delay_us = min_us;
        d->max_us = max_us;
}

bool cw_store_deadline_wait(cw_store_deadline *d)
{
        int64_t left_us = d->end_us - cw_clock_mono_us();
        int64_t us = d->delay_us < left_us ? d->delay_us : left_us;
        struct timespec ts;

        if (left_us <= 0)
                return false;
        ts.tv_sec = us / 1000000;
        ts.tv_nsec = (us % 1000000) * 1000;
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        if (d->delay_us < d->max_us)
                d->delay_us *= 2;
        return true;
}

/* ---- commands to a node ---- */

static const char *const node_cmd_states[CW_NODE_CMD_STATE_MAX] = {
        [CW_NODE_CMD_PENDING] = "pending", [CW_NODE_CMD_TAKEN] = "taken",
        [CW_NODE_CMD_DONE] = "done",       [CW_NODE_CMD_FAILED] = "failed",
        [CW_NODE_CMD_EXPIRED] = "expired",
};

const char *cw_node_cmd_state_to_string(cw_node_cmd_state st)
{
        return (unsigned)st < CW_NODE_CMD_STATE_MAX ? node_cmd_states[st] : "unknown";
}

void cw_node_cmd_release(cw_node_cmd *c)
{
        if (!c)
                return;
        free(c->node);
        free(c->kind);
        free(c->by);
        free(c->result);
        *c = (cw_node_cmd){0};
}

void cw_node_cmds_free(cw_node_cmd *c, size_t n)
{
        if (!c)
                return;
        for (size_t i = 0; i < n; i++)
                cw_node_cmd_release(&c[i]);
        free(c);
}

int cw_store_node_cmd_add(cw_store *s, cw_node_cmd *c)
{
        OP_OR_RETURN(s, node_cmd_add);
        if (!c || !c->node || !c->kind)
                return -EINVAL;
        return s->ops->node_cmd_add(s, c);
}

int cw_store_node_cmds_take(cw_store *s, const char *node, size_t max, cw_node_cmd **ret,
                            size_t *ret_n)
{
        OP_OR_RETURN(s, node_cmds_take);
        if (!node || !ret || !ret_n)
                return -EINVAL;
        return s->ops->node_cmds_take(s, node, max, ret, ret_n);
}

int cw_store_node_cmd_finish(cw_store *s, int64_t id, cw_node_cmd_state from, cw_node_cmd_state to,
                             const char *result, const char *run_reason)
{
        OP_OR_RETURN(s, node_cmd_finish);
        if ((unsigned)from >= CW_NODE_CMD_STATE_MAX || (unsigned)to >= CW_NODE_CMD_STATE_MAX)
                return -EINVAL;
        return s->ops->node_cmd_finish(s, id, from, to, result, run_reason);
}

int cw_store_node_cmd_get(cw_store *s, int64_t id, cw_node_cmd *ret)
{
        OP_OR_RETURN(s, node_cmd_get);
        if (!ret)
                return -EINVAL;
        return s->ops->node_cmd_get(s, id, ret);
}

int cw_store_node_alive(cw_store *s, const char *node, bool *ret)
{
        OP_OR_RETURN(s, node_alive);
        if (!node || !ret)
                return -EINVAL;
        return s->ops->node_alive(s, node, ret);
}

int cw_store_wake(cw_store *s)
{
        OP_OR_RETURN(s, wake);
        return s->ops->wake(s);
}

int cw_store_listen(cw_store *s, const char *node, int *ret_fd)
{
        OP_OR_RETURN(s, listen);
        if (!ret_fd)
                return -EINVAL;
        return s->ops->listen(s, node, ret_fd);
}

void cw_store_unlisten(cw_store *s)
{
        if (s && s->ops && s->ops->unlisten)
                s->ops->unlisten(s);
}

int cw_store_wakeups(cw_store *s, unsigned *ret)
{
        OP_OR_RETURN(s, wakeups);
        if (!ret)
                return -EINVAL;
        return s->ops->wakeups(s, ret);
}
