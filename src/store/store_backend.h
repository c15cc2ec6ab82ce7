/* store_backend.h - private to src/store/: what a store backend provides.
 *
 * A backend is a table of function pointers, in the manner of SQLite's
 * sqlite3_io_methods. Every backend lives in this tree and is built with
 * it, so the table carries no version: an operation added here is added
 * to every backend at once. A backend may leave a pointer NULL for an
 * operation it cannot offer (store.c then answers -EOPNOTSUPP), which is
 * how cw_store_batch_begin says "no batches here".
 *
 * Each backend embeds `struct cw_store` as the first member of its own
 * state, so a cw_store * converts to the backend's type by a cast; store.c
 * sees nothing but the ops. Every operation has the meaning and the
 * returns of the public function of the same name in store.h; store.c
 * has already checked the arguments that can be checked without the data
 * (NULL pointers, enums in range), so backends may assume them. */
#ifndef CW_STORE_STORE_BACKEND_H
#define CW_STORE_STORE_BACKEND_H

#include "base/module.h"
#include "store/store.h"

typedef struct cw_store_ops cw_store_ops;

struct cw_store {
        const cw_store_ops *ops;
        const cw_clock *clock; /* cw_store_set_clock; NULL: the wall clock */
        /* cw_store_watch_link; link_down: the last connection attempt failed. */
        cw_store_link_fn on_link;
        void *link_userdata;
        bool link_down;
        int64_t patience_us; /* cw_store_set_patience; 0: CW_STORE_BUSY_MS */
};

/* A backend's news of its connection to a server: down (why says why)
 * when an attempt to connect fails, up when one succeeds. Tells the
 * watcher (cw_store_watch_link) only of changes, so an outage is one
 * "down" and one "up" however many attempts it took. */
void cw_store_link_news(cw_store *s, bool up, const char *why);

/* A busy operation's deadline, for a backend's retries: s's patience
 * (cw_store_set_patience; s NULL: CW_STORE_BUSY_MS) from init (monotonic
 * clock). wait pauses before the next attempt, the pause doubling from
 * min_us up to max_us; false once the deadline has passed (give up). */
typedef struct cw_store_deadline {
        int64_t end_us; /* cw_clock_mono_us() */
        int64_t delay_us, max_us;
} cw_store_deadline;
void cw_store_deadline_init(cw_store_deadline *d, const cw_store *s, int64_t min_us,
                            int64_t max_us);
bool cw_store_deadline_wait(cw_store_deadline *d);

/* The instant by the store's clock, for what a backend stamps itself. */
static inline cw_instant cw_store_now(const cw_store *s)
{
        return s->clock ? cw_clock_now(s->clock) : cw_clock_real_us();
}

struct cw_store_ops {
        const char *name;

        void (*close)(cw_store *s);
        int (*schema_version)(cw_store *s);
        int (*run_insert)(cw_store *s, cw_run *run);
        int (*run_set_pid)(cw_store *s, int64_t id, int pid, uint64_t pid_start);
        int (*run_progress)(cw_store *s, int64_t id, int64_t done, int64_t total);
        int (*run_finish)(cw_store *s, const cw_run *run, const void *output, size_t len);
        int (*run_transition)(cw_store *s, int64_t id, cw_run_status from, cw_run_status to,
                              const char *reason, int64_t now_us);
        int (*run_set_resume)(cw_store *s, int64_t id, cw_resume_state from, cw_resume_state to);
        int (*run_get)(cw_store *s, int64_t id, cw_run *ret);
        int (*run_output)(cw_store *s, int64_t id, void **ret, size_t *ret_len);
        int (*runs_list)(cw_store *s, const cw_run_filter *f, cw_run **ret, size_t *ret_n);
        int (*runs_prune)(cw_store *s, int64_t before_us, uint64_t *ret_deleted);
        int (*claim)(cw_store *s, const char *spec, cw_time scheduled_at, const char *node,
                     bool *ret_won);
        int (*state_get)(cw_store *s, const char *key, char **ret);
        int (*state_set)(cw_store *s, const char *key, const char *value);
        int (*job_enabled_get)(cw_store *s, const char *job, bool *ret);
        int (*job_enabled_set)(cw_store *s, const char *job, bool enabled);
        int (*request_add)(cw_store *s, const char *spec, const char *by, int64_t now_us,
                           int64_t *ret_id);
        int (*requests_take)(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);

        /* the admin UI's reads, aggregates and UI entries */
        int (*requests_pending)(cw_store *s, size_t max, cw_request **ret, size_t *ret_n);
        int (*stats_list)(cw_store *s, const char *job, cw_job_stats **ret, size_t *ret_n,
                          cw_store_hist *ret_lateness);
        int (*stats_summary)(cw_store *s, cw_job_stats **ret, size_t *ret_n,
                             cw_store_hist *ret_lateness, cw_store_hist *ret_duration);
        int (*jobs_last)(cw_store *s, const char *const *jobs, size_t n_jobs, cw_run **ret,
                         size_t *ret_n);
        int (*jobs_disabled)(cw_store *s, char ***ret, size_t *ret_n);
        int (*ui_entry_add)(cw_store *s, cw_ui_entry *e);
        int (*ui_entry_update)(cw_store *s, const cw_ui_entry *e);
        int (*ui_entry_delete)(cw_store *s, int64_t id);
        int (*ui_entry_get)(cw_store *s, int64_t id, cw_ui_entry *ret);
        int (*ui_entries_list)(cw_store *s, cw_ui_entry **ret, size_t *ret_n);
        /* the daemon records a pass's runs in one batch */
        int (*run_started)(cw_store *s, int64_t id, int worker_pid, int pid, uint64_t pid_start);
        int (*batch_begin)(cw_store *s);
        int (*batch_commit)(cw_store *s);
        void (*batch_abort)(cw_store *s);
        void (*read_ahead)(cw_store *s, const cw_store_ahead *reads, size_t n);

        /* live output of running runs */
        int (*run_output_snapshot)(cw_store *s, int64_t id, uint64_t size, bool truncated,
                                   const void *output, size_t len);
        int (*run_output_get)(cw_store *s, int64_t id, cw_run_output *ret);
        /* the jobs page's count of failing jobs */
        int (*jobs_failing)(cw_store *s, char ***ret, size_t *ret_n);
        /* the notification outbox */
        int (*notice_add)(cw_store *s, cw_notice *n);
        int (*notices_claim)(cw_store *s, int64_t now_us, int64_t lease_us, int64_t run_id,
                             size_t max, cw_notice **ret, size_t *ret_n);
        int (*notice_update)(cw_store *s, int64_t id, cw_notice_state state, int attempts,
                             int64_t next_us, int64_t done_us, const char *result);
        int (*notices_list)(cw_store *s, bool pending_only, size_t limit, cw_notice **ret,
                            size_t *ret_n);
        int (*notices_prune)(cw_store *s, int64_t before_us, uint64_t *ret_deleted);
        /* whether the store's file is still the one it opened */
        int (*same_file)(cw_store *s);
        /* why the store cannot be written, NULL when it can (or unknown) */
        const char *(*readonly_reason)(cw_store *s);
        /* max_running / max_load: a held-back run starts counting its time */
        int (*run_requeued)(cw_store *s, int64_t id, int64_t started_us);

        /* cluster nodes (store.h, "cluster nodes") */
        int (*db_now)(cw_store *s, int64_t *ret_us);
        int (*node_beat)(cw_store *s, const cw_node_beat *b, bool *ret_was_dead);
        int (*node_leave)(cw_store *s, const char *node);
        int (*nodes_list)(cw_store *s, int64_t dead_after_us, cw_node **ret, size_t *ret_n);
        int (*nodes_sweep)(cw_store *s, int64_t dead_after_us, char ***ret, size_t *ret_n);
        int (*node_jobs_set)(cw_store *s, const char *node, const char *const *jobs,
                             const char *const *hashes, size_t n);
        int (*node_jobs_disagree)(cw_store *s, const char *node, int64_t dead_after_us, char ***ret,
                                  size_t *ret_n);
        /* commands to a node and the wake-up channel (cluster remote control) */
        int (*node_cmd_add)(cw_store *s, cw_node_cmd *c);
        int (*node_cmds_take)(cw_store *s, const char *node, size_t max, cw_node_cmd **ret,
                              size_t *ret_n);
        int (*node_cmd_finish)(cw_store *s, int64_t id, cw_node_cmd_state from,
                               cw_node_cmd_state to, const char *result, const char *run_reason);
        int (*node_cmd_get)(cw_store *s, int64_t id, cw_node_cmd *ret);
        int (*node_alive)(cw_store *s, const char *node, bool *ret);
        int (*wake)(cw_store *s);
        int (*listen)(cw_store *s, const char *node, int *ret_fd);
        void (*unlisten)(cw_store *s);
        int (*wakeups)(cw_store *s, unsigned *ret);
        /* cluster locks and fencing tokens */
        int (*lock_acquire)(cw_store *s, const char *key, const char *node, int64_t run_id,
                            int worker_pid, int64_t lease_us, int64_t *ret_fence,
                            cw_cluster_lock *ret_holder);
        int (*lock_renew)(cw_store *s, const char *key, int64_t fence, int64_t run_id,
                          int worker_pid, int64_t lease_us);
        int (*lock_release)(cw_store *s, const char *key, int64_t fence);
        int (*lock_revoke)(cw_store *s, const char *key, const char *by);
        int (*lock_holder)(cw_store *s, const char *key, cw_cluster_lock *ret);
        int (*locks_list)(cw_store *s, cw_cluster_lock **ret, size_t *ret_n);
        int (*fence_next)(cw_store *s, int64_t *ret_fence);
        int (*run_fence)(cw_store *s, int64_t run_id, int64_t fence);
        int (*lock_try)(cw_store *s, const char *key, const char *node, int64_t run_id,
                        int64_t lease_us, int64_t *ret_fence);

        /* an idle process's RSS (store.h, cw_store_release_memory) */
        int (*release_memory)(cw_store *s);
};

/* Returns from the calling function unless store s has the operation at
 * `member`: -EINVAL for no store, -EOPNOTSUPP when its backend leaves the
 * operation out (above). */
#define OP_OR_RETURN(s, member)                                                                    \
        do {                                                                                       \
                if (!(s) || !(s)->ops)                                                             \
                        return -EINVAL;                                                            \
                if (!(s)->ops->member)                                                             \
                        return -EOPNOTSUPP;                                                        \
        } while (0)

/* The SQLite backend (src/store/sqlite/): opens (creating when missing, with
 * its directory) the database file at `path` and brings its schema up to
 * date. Errors as cw_store_open, with err saying what and where. */
int cw_store_sqlite_open(const char *path, cw_store **ret, cw_error *err);

/* The PostgreSQL backend (src/store/pg/): connects to the database named
 * by the postgresql:// URL `url` and brings its schema up to date. Errors
 * as cw_store_open, with err saying what (the URL shown without its
 * password). */
int cw_store_pg_open(const char *url, cw_store **ret, cw_error *err);

/* The PostgreSQL backend as a module (base/module.h): the cronwarden
 * program links neither src/store/pg/ nor libpq; its cw_store_pg_open
 * (pg_load.c) loads CW_STORE_PG_MODULE, built from src/store/pg/ and
 * pg/module.c, and calls the table's open, which is the backend's
 * cw_store_pg_open. The public library and the tests link the backend
 * itself. Both sides share the store's structs, whence the layout. */
#define CW_STORE_PG_MODULE "cronwarden-pg.so"
/* cw_store_load for PostgreSQL: loads the module (pg_load.c, in the
 * cronwarden program and its spawner); 0 where the backend is linked in
 * (pg/schema.c). */
int cw_store_pg_load(cw_error *err);
typedef struct cw_store_pg_module {
        int (*open)(const char *url, cw_store **ret, cw_error *err);
} cw_store_pg_module;
#define CW_STORE_PG_LAYOUT                                                                         \
        CW_MODULE_LAYOUT(sizeof(cw_store_pg_module), sizeof(cw_store_ops), sizeof(struct cw_store))

/* For tests: makes the next COMMIT of PostgreSQL store s lose its
 * connection, after sending it (LOSE_COMMIT_REPLY: the outcome is
 * unknown to the client) or instead (LOSE_BEFORE_COMMIT), so the tests
 * reach the recovery of both cases. -EOPNOTSUPP for another backend. */
enum {
        CW_STORE_PG_FAULT_NONE,
        CW_STORE_PG_FAULT_LOSE_COMMIT_REPLY,
        CW_STORE_PG_FAULT_LOSE_BEFORE_COMMIT,
};
int cw_store_pg_fault(cw_store *s, int fault);
/* The SQLite backend's store check (store.h, cw_store_check) of the file
 * at `path`, which must exist. */
int cw_store_sqlite_check(const char *path, const char *recover_to, cw_store_check_result *ret,
                          cw_error *err);

/* For tests: the query plan (EXPLAIN QUERY PLAN, one step per line) that
 * cw_store_runs_list would use for f, newly allocated in *ret. Only the
 * SQLite backend has one; -EOPNOTSUPP for others. */
int cw_store_sqlite_list_plan(cw_store *s, const cw_run_filter *f, char **ret);

#endif
