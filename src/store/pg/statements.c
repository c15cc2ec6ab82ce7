/* statements.c - the PostgreSQL backend's statements: each one's name
 * and SQL (pg_internal.h, pg_stmt_name/pg_stmt_sql), prepared by conn.c
 * on each connection as first used. */
#include "store/pg/pg_internal.h"

typedef struct stmt_def {
        const char *name;
        const char *sql;
} stmt_def;

/* The database's clock and its server's start, in µs since the epoch. */
#define PG_DB_NOW_US "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
#define PG_PM_START_US "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint"
/* A cluster lock's row as locks.c reads it: times in the database's clock. */
#define LOCK_COLS                                                                                  \
        "lock_key, node, run_id, worker_pid, fence, "                                              \
        "(extract(epoch FROM acquired_at) * 1000000)::bigint, "                                    \
        "(extract(epoch FROM expires_at - clock_timestamp()) * 1000000)::bigint"

static const stmt_def stmts[PS_MAX] = {
        [PS_BEGIN] = {"cw_begin", "BEGIN"},
        [PS_COMMIT] = {"cw_commit", "COMMIT"},
        [PS_ROLLBACK] = {"cw_rollback", "ROLLBACK"},
        [PS_SAVEPOINT] = {"cw_savepoint", "SAVEPOINT w"},
        [PS_RELEASE] = {"cw_release", "RELEASE SAVEPOINT w"},
        [PS_ROLLBACK_TO] = {"cw_rollback_to", "ROLLBACK TO SAVEPOINT w"},
        /* Asked before COMMIT, so that a commit whose reply was lost can
         * be looked up after reconnecting. */
        [PS_TXID] = {"cw_txid", "SELECT txid_current()"},
        [PS_TXID_STATUS] = {"cw_txid_status", "SELECT txid_status($1)"},
        [PS_RUN_INSERT] =
                {"cw_run_insert",
                 "INSERT INTO runs (job, spec, node, status, trigger, attempt, scheduled_at, "
                 "started_us, ended_us, worker_pid, pid, pid_start, exit_code, signal, "
                 "progress_done, progress_total, output_size, output_truncated, reason, lock_key, "
                 "resume, resumed_from, fence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                 "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, "
                 "CASE WHEN $23::bigint < 0 THEN nextval('fence_tokens') ELSE $23::bigint END) "
                 "RETURNING id, fence"},
        [PS_RUN_SET_PID] = {"cw_run_set_pid",
                            "UPDATE runs SET pid = $2, pid_start = $3 WHERE id = $1"},
        [PS_RUN_STARTED] = {"cw_run_started",
                            "UPDATE runs SET status = 'running', ended_us = 0, worker_pid = $2, "
                            "pid = $3, pid_start = $4 WHERE id = $1 "
                            "AND status IN ('queued', 'running', 'lost')"},
        [PS_RUN_REQUEUED] = {"cw_run_requeued", "UPDATE runs SET started_us = $2 WHERE id = $1 "
                                                "AND status = 'queued'"},
        [PS_RUN_PROGRESS] = {"cw_run_progress", "UPDATE runs SET progress_done = $2, "
                                                "progress_total = $3 WHERE id = $1"},
        [PS_RUN_FINISH] = {"cw_run_finish",
                           "UPDATE runs SET status = $2, exit_code = $3, signal = $4, "
                           "ended_us = $5, output_size = $6, output_truncated = $7, reason = $8 "
                           "WHERE id = $1"},
        [PS_OUTPUT_SET] = {"cw_output_set",
                           "INSERT INTO run_output (run_id, output) VALUES ($1, $2) "
                           "ON CONFLICT (run_id) DO UPDATE SET output = excluded.output"},
        [PS_OUTPUT_DELETE] = {"cw_output_delete", "DELETE FROM run_output WHERE run_id = $1"},
        /* A NULL reason keeps the one the run has. */
        [PS_RUN_TRANSITION] = {"cw_run_transition",
                               "UPDATE runs SET status = $3, reason = coalesce($4, reason), "
                               "ended_us = $5 WHERE id = $1 AND status = $2"},
        [PS_RUN_SET_RESUME] = {"cw_run_set_resume",
                               "UPDATE runs SET resume = $3 WHERE id = $1 AND resume = $2"},
        [PS_RUN_EXISTS] = {"cw_run_exists", "SELECT 1 FROM runs WHERE id = $1"},
        [PS_RUN_GET] = {"cw_run_get", "SELECT " PG_RUN_COLS " FROM runs WHERE id = $1"},
        [PS_RUN_OUTPUT] = {"cw_run_output", "SELECT o.output FROM runs r LEFT JOIN run_output o "
                                            "ON o.run_id = r.id WHERE r.id = $1"},
        /* Live output never waits for a row another transaction holds. */
        [PS_RUN_LOCK_NOWAIT] = {"cw_run_lock_nowait",
                                "SELECT status FROM runs WHERE id = $1 FOR UPDATE NOWAIT"},
        [PS_RUN_OUTPUT_SNAPSHOT] = {"cw_run_output_snapshot",
                                    "UPDATE runs SET output_size = $2, output_truncated = $3 "
                                    "WHERE id = $1 AND status = 'running'"},
        [PS_RUN_OUTPUT_GET] = {"cw_run_output_get",
                               "SELECT r.status, r.output_size, r.output_truncated, o.output "
                               "FROM runs r LEFT JOIN run_output o ON o.run_id = r.id "
                               "WHERE r.id = $1"},
        /* By batches; run_output rows go by cascade. */
        [PS_PRUNE] = {"cw_prune", "DELETE FROM runs WHERE id IN (SELECT id FROM runs "
                                  "WHERE started_us < $1 AND status NOT IN ('queued', 'running') "
                                  "LIMIT $2)"},
        /* Claims of fires before $1 (seconds) and a day before the last
         * pass: no pass looks at them again (last_pass never moves back;
         * the day covers a slow pass that read an older one). */
        [PS_PRUNE_CLAIMS] =
                {"cw_prune_claims",
                 "DELETE FROM claims c USING (SELECT spec, scheduled_at FROM claims "
                 "WHERE scheduled_at < least($1::bigint, coalesce((SELECT CASE WHEN "
                 "value ~ '^-?[0-9]{1,18}$' THEN value::bigint END "
                 "FROM scheduler_state WHERE key = 'last_pass'), 0) - 86400) "
                 "LIMIT $2) d WHERE c.spec = d.spec AND c.scheduled_at = d.scheduled_at"},
        /* Requests already taken: their runs are in the history. */
        [PS_PRUNE_REQUESTS] = {"cw_prune_requests",
                               "DELETE FROM requests WHERE id IN (SELECT id FROM requests "
                               "WHERE taken = 1 AND requested_us < $1 LIMIT $2)"},
        /* A job's "enabled" row says what its absence says. */
        [PS_PRUNE_JOB_STATE] = {"cw_prune_job_state", "DELETE FROM job_state WHERE enabled = 1"},
        [PS_CLAIM] = {"cw_claim", "INSERT INTO claims (spec, scheduled_at, node, claimed_us) "
                                  "VALUES ($1, $2, $3, $4) "
                                  "ON CONFLICT (spec, scheduled_at) DO NOTHING"},
        [PS_STATE_GET] = {"cw_state_get", "SELECT value FROM scheduler_state WHERE key = $1"},
        [PS_STATE_SET] = {"cw_state_set",
                          "INSERT INTO scheduler_state (key, value) VALUES ($1, $2) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value"},
        [PS_JOB_GET] = {"cw_job_get", "SELECT enabled FROM job_state WHERE job = $1"},
        [PS_JOB_SET] = {"cw_job_set", "INSERT INTO job_state (job, enabled) VALUES ($1, $2) "
                                      "ON CONFLICT (job) DO UPDATE SET enabled = excluded.enabled"},
        [PS_REQUEST_ADD] = {"cw_request_add",
                            "INSERT INTO requests (spec, requested_by, requested_us) "
                            "VALUES ($1, $2, $3) RETURNING id"},
        [PS_REQUESTS_PENDING] = {"cw_requests_pending",
                                 "SELECT id, spec, requested_by, requested_us FROM requests "
                                 "WHERE taken = 0 ORDER BY id LIMIT $1"},
        /* Rows another taker holds are skipped, never taken twice. */
        [PS_REQUESTS_TAKE] = {"cw_requests_take",
                              "UPDATE requests SET taken = 1 WHERE id IN (SELECT id FROM requests "
                              "WHERE taken = 0 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) "
                              "RETURNING id, spec, requested_by, requested_us"},
        /* What pg_stats_change() needs to know about a run before changing
         * it; the lock keeps two changes of one run apart. */
        [PS_RUN_BRIEF] = {"cw_run_brief",
                          "SELECT job, status, started_us FROM runs WHERE id = $1 FOR UPDATE"},
        [PS_COUNT_ADD] = {"cw_count_add",
                          "INSERT INTO run_counts (job, status, n) VALUES ($1, $2, $3) "
                          "ON CONFLICT (job, status) DO UPDATE SET n = run_counts.n + excluded.n"},
        [PS_HIST_ADD] = {"cw_hist_add", "INSERT INTO histograms (metric, job, bucket, n) "
                                        "VALUES ($1, $2, $3, $4) ON CONFLICT (metric, job, bucket) "
                                        "DO UPDATE SET n = histograms.n + excluded.n"},
        [PS_HIST_SUM_ADD] = {"cw_hist_sum_add",
                             "INSERT INTO histogram_sums (metric, job, n, sum) "
                             "VALUES ($1, $2, $4, $3) ON CONFLICT (metric, job) DO UPDATE SET "
                             "n = histogram_sums.n + excluded.n, "
                             "sum = histogram_sums.sum + excluded.sum"},
        /* As the SQLite backend's: SET expressions see the old row (s);
         * last_status and last_duration_us ($6, -1 for a run that did not
         * run) follow the run that is (or stays) the newest; $5 is what the
         * change does to the failure streak (-1 resets it, 1 extends it, 0
         * leaves it); $7 is a failure's end, else 0. */
        [PS_JOB_STATS_NOTE] =
                {"cw_job_stats_note",
                 "INSERT INTO job_stats AS s (job, last_run_id, last_success_us, last_status, "
                 "last_failure_us, last_duration_us, consecutive_failures) "
                 "VALUES ($1, $2, $3, $4, $7::bigint, $6::bigint, greatest($5::bigint, 0)) "
                 "ON CONFLICT (job) DO UPDATE SET "
                 "last_run_id = greatest(s.last_run_id, excluded.last_run_id), "
                 "last_success_us = greatest(s.last_success_us, excluded.last_success_us), "
                 "last_status = CASE WHEN excluded.last_run_id >= s.last_run_id "
                 "THEN excluded.last_status ELSE s.last_status END, "
                 "last_failure_us = greatest(s.last_failure_us, excluded.last_failure_us), "
                 "last_duration_us = CASE WHEN $6::bigint >= 0 AND "
                 "excluded.last_run_id >= s.last_run_id THEN $6::bigint "
                 "ELSE s.last_duration_us END, "
                 "consecutive_failures = CASE WHEN $5::bigint < 0 THEN 0 "
                 "ELSE s.consecutive_failures + $5::bigint END"},
        [PS_STATS_JOBS] = {"cw_stats_jobs",
                           "SELECT " PG_STATS_COLS " FROM job_stats ORDER BY job COLLATE \"C\""},
        [PS_STATS_COUNTS] = {"cw_stats_counts", "SELECT job, status, n FROM run_counts"},
        [PS_STATS_HIST] = {"cw_stats_hist", "SELECT metric, job, bucket, n FROM histograms"},
        [PS_STATS_SUMS] = {"cw_stats_sums", "SELECT metric, job, n, sum FROM histogram_sums"},
        [PS_STATS_JOBS_ONE] = {"cw_stats_jobs_one",
                               "SELECT " PG_STATS_COLS " FROM job_stats WHERE job = $1"},
        [PS_STATS_COUNTS_ONE] = {"cw_stats_counts_one",
                                 "SELECT job, status, n FROM run_counts WHERE job = $1"},
        [PS_STATS_HIST_ONE] = {"cw_stats_hist_one", "SELECT metric, job, bucket, n FROM histograms "
                                                    "WHERE (metric = 'duration' AND job = $1) "
                                                    "OR (metric = 'lateness' AND job = '')"},
        [PS_STATS_SUMS_ONE] = {"cw_stats_sums_one",
                               "SELECT metric, job, n, sum FROM histogram_sums "
                               "WHERE (metric = 'duration' AND job = $1) "
                               "OR (metric = 'lateness' AND job = '')"},
        [PS_JOBS_LAST] = {"cw_jobs_last", "SELECT " PG_RUN_COLS " FROM runs "
                                          "WHERE id IN (SELECT last_run_id FROM job_stats)"},
        [PS_JOB_LAST] = {"cw_job_last",
                         "SELECT " PG_RUN_COLS " FROM runs "
                         "WHERE id = (SELECT last_run_id FROM job_stats WHERE job = $1)"},
        /* The statuses of cw_run_status_is_failure (run.h). */
        [PS_JOBS_FAILING] = {"cw_jobs_failing",
                             "SELECT job FROM job_stats "
                             "WHERE last_status IN ('failed', 'timed_out', 'lost') "
                             "ORDER BY job COLLATE \"C\""},
        [PS_JOBS_DISABLED] = {"cw_jobs_disabled", "SELECT job FROM job_state WHERE enabled = 0 "
                                                  "ORDER BY job COLLATE \"C\""},
        [PS_UI_ADD] =
                {"cw_ui_add",
                 "INSERT INTO ui_entries (schedule, spec, command, description, enabled, "
                 "created_by, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                 "RETURNING id"},
        [PS_UI_UPDATE] = {"cw_ui_update",
                          "UPDATE ui_entries SET schedule = $2, spec = $3, command = $4, "
                          "description = $5, enabled = $6, updated_us = $7 WHERE id = $1"},
        [PS_UI_DELETE] = {"cw_ui_delete", "DELETE FROM ui_entries WHERE id = $1"},
        [PS_UI_GET] = {"cw_ui_get",
                       "SELECT id, schedule, spec, command, description, enabled, created_by, "
                       "created_us, updated_us FROM ui_entries WHERE id = $1"},
        [PS_UI_LIST] = {"cw_ui_list",
                        "SELECT id, schedule, spec, command, description, enabled, created_by, "
                        "created_us, updated_us FROM ui_entries ORDER BY id"},
        /* The summary: no per-job histogram, the all-jobs ones (job ''). */
        [PS_STATS_HIST_ALL] = {"cw_stats_hist_all",
                               "SELECT metric, job, bucket, n FROM histograms WHERE job = ''"},
        [PS_STATS_SUMS_ALL] = {"cw_stats_sums_all",
                               "SELECT metric, job, n, sum FROM histogram_sums WHERE job = ''"},
#define NOTICE_COLS                                                                                \
        "id, run_id, job, event, channel, target, detail, state, attempts, created_us, next_us, "  \
        "lease_us, done_us, result"
        [PS_NOTICE_ADD] = {"cw_notice_add",
                           "INSERT INTO outbox (run_id, job, event, channel, target, detail, "
                           "created_us, next_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                           "RETURNING id"},
        /* Due by the caller's clock ($1, which wrote next_us), leased by
         * the database's: a lease ends at the same moment for every host,
         * however far their clocks are apart. Rows another claim holds
         * are skipped, and a row leased meanwhile is dropped when its lock
         * comes (the condition is checked again on the newest row), so no
         * two claims return one row. $4 = 0: any run. */
        [PS_NOTICES_CLAIM] = {"cw_notices_claim",
                              "WITH c AS (UPDATE outbox SET lease_us = " PG_DB_NOW_US
                              " + $3::bigint "
                              "WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' "
                              "AND next_us <= $1::bigint AND lease_us <= " PG_DB_NOW_US " "
                              "AND ($4::bigint = 0 OR run_id = $4::bigint) ORDER BY next_us, id "
                              "LIMIT $2::bigint FOR UPDATE SKIP LOCKED) RETURNING " NOTICE_COLS ") "
                              "SELECT " NOTICE_COLS " FROM c ORDER BY next_us, id"},
        [PS_NOTICE_UPDATE] = {"cw_notice_update",
                              "UPDATE outbox SET state = $2, attempts = $3, next_us = $4, "
                              "done_us = $5, result = $6, lease_us = 0 WHERE id = $1"},
        [PS_NOTICES_LIST] = {"cw_notices_list",
                             "SELECT " NOTICE_COLS " FROM outbox ORDER BY id DESC LIMIT $1"},
        [PS_NOTICES_PENDING] = {"cw_notices_pending",
                                "SELECT " NOTICE_COLS " FROM outbox WHERE state = 'pending' "
                                "ORDER BY id DESC LIMIT $1"},
        [PS_NOTICES_PRUNE] = {"cw_notices_prune",
                              "DELETE FROM outbox WHERE state <> 'pending' AND done_us < $1"},
#undef NOTICE_COLS

        /* cluster nodes: every time is the database's clock, in µs */
        [PS_DB_NOW] = {"cw_db_now", "SELECT " PG_DB_NOW_US},
        [PS_NODE_STATE_LOCK] = {"cw_node_state_lock",
                                "SELECT state FROM nodes WHERE name = $1 FOR UPDATE"},
        [PS_NODE_BEAT] = {"cw_node_beat",
                          "INSERT INTO nodes (name, pid, version, started_us, heartbeat_us, "
                          "clock_offset_us, state, claiming, reason, dead_us) "
                          "VALUES ($1, $2, $3, " PG_DB_NOW_US ", " PG_DB_NOW_US
                          ", $4, 'alive', $5, $6, 0) "
                          "ON CONFLICT (name) DO UPDATE SET pid = $2, version = $3, "
                          "started_us = CASE WHEN $7::int <> 0 THEN " PG_DB_NOW_US
                          " ELSE nodes.started_us END, heartbeat_us = " PG_DB_NOW_US
                          ", clock_offset_us = $4, state = 'alive', claiming = $5, reason = $6, "
                          "dead_us = 0"},
        [PS_NODE_LEAVE] = {"cw_node_leave", "UPDATE nodes SET state = 'left', claiming = 0, "
                                            "reason = 'its daemon stopped' WHERE name = $1"},
        /* A node's age counts from its heartbeat or the server's start,
         * whichever is later: a restarted server gives every node the
         * whole timeout to come back. */
        [PS_NODES_LIST] = {"cw_nodes_list",
                           "SELECT n.name, n.pid, n.version, n.state, n.started_us, "
                           "n.heartbeat_us, n.dead_us, " PG_DB_NOW_US " - n.heartbeat_us, "
                           "n.clock_offset_us, n.claiming, n.reason, "
                           "(n.state = 'alive' AND " PG_DB_NOW_US
                           " - greatest(n.heartbeat_us, " PG_PM_START_US ") > $1)::int, "
                           "(SELECT count(*) FROM runs r WHERE r.status IN ('queued', 'running') "
                           "AND r.node = n.name), "
                           "CASE WHEN n.jobs_digest <> '' THEN n.jobs_n ELSE "
                           "(SELECT count(*) FROM node_jobs j WHERE j.node = n.name) END, "
                           "n.jobs_digest "
                           "FROM nodes n ORDER BY n.name"},
        [PS_NODES_SWEEP] = {"cw_nodes_sweep",
                            "UPDATE nodes SET state = 'dead', claiming = 0, dead_us = " PG_DB_NOW_US
                            ", reason = 'no heartbeat for ' || round((" PG_DB_NOW_US
                            " - heartbeat_us) / 1000000.0, 1) || ' s (dead timeout ' || "
                            "round($1 / 1000000.0, 1) || ' s)' "
                            "WHERE state = 'alive' AND " PG_DB_NOW_US
                            " - greatest(heartbeat_us, " PG_PM_START_US ") > $1 RETURNING name"},
        [PS_NODE_JOBS_CLEAR] = {"cw_node_jobs_clear", "DELETE FROM node_jobs WHERE node = $1"},
        [PS_NODE_JOBS_DIGEST] = {"cw_node_jobs_digest",
                                 "UPDATE nodes SET jobs_n = s.n, jobs_digest = s.d FROM "
                                 "(SELECT count(*) AS n, 'md5:' || md5(coalesce(string_agg("
                                 "job || chr(1) || hash, chr(2) ORDER BY job COLLATE \"C\"), "
                                 "'')) AS d FROM node_jobs WHERE node = $1) s WHERE name = $1"},
        [PS_NODE_JOB_ADD] = {"cw_node_job_add",
                             "INSERT INTO node_jobs (node, job, hash) SELECT $1, j, h "
                             "FROM unnest($2::text[], $3::text[]) AS u(j, h)"},
        /* The majority's hash per job among alive, fresh nodes (a tie:
         * the smallest hash); the node's jobs whose hash is not it. */
        [PS_NODE_JOBS_DISAGREE] = {"cw_node_jobs_disagree",
                                   "WITH live AS (SELECT name FROM nodes WHERE state = 'alive' "
                                   "AND " PG_DB_NOW_US " - greatest(heartbeat_us, " PG_PM_START_US
                                   ") <= $2 OR name = $1), "
                                   "votes AS (SELECT j.job, j.hash, count(*) AS n FROM node_jobs j "
                                   "JOIN live l ON l.name = j.node GROUP BY j.job, j.hash), "
                                   "best AS (SELECT DISTINCT ON (job) job, hash FROM votes "
                                   "ORDER BY job, n DESC, hash) "
                                   "SELECT j.job FROM node_jobs j JOIN best b ON b.job = j.job "
                                   "WHERE j.node = $1 AND j.hash <> b.hash ORDER BY j.job"},
        /* Commands to a node (commands.c). Ages and times are the
         * database's (clock_timestamp()), never a node's own clock. */
        [PS_CMD_ADD] = {"cw_cmd_add",
                        "INSERT INTO node_commands (node, kind, run_id, signal, requested_by) "
                        "VALUES ($1, $2, $3, $4, $5) RETURNING id"},
        [PS_CMD_PRUNE] = {"cw_cmd_prune",
                          "DELETE FROM node_commands WHERE created_at < clock_timestamp() - "
                          "interval '1 day' AND state NOT IN ('pending', 'taken')"},
        [PS_CMD_ANY] = {"cw_cmd_any", "SELECT count(*) FROM node_commands "
                                      "WHERE node = $1 AND state = 'pending'"},
        /* Rows another taker holds are skipped, never taken twice. */
        [PS_CMD_TAKE] = {"cw_cmd_take",
                         "UPDATE node_commands SET state = 'taken', taken_at = clock_timestamp() "
                         "WHERE id IN (SELECT id FROM node_commands WHERE node = $1 AND "
                         "state = 'pending' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) "
                         "RETURNING " PG_CMD_COLS},
        [PS_CMD_FINISH] = {"cw_cmd_finish",
                           "UPDATE node_commands SET state = $3, result = $4, "
                           "done_at = clock_timestamp() WHERE id = $1 AND state = $2 "
                           "RETURNING run_id"},
        [PS_CMD_EXISTS] = {"cw_cmd_exists", "SELECT 1 FROM node_commands WHERE id = $1"},
        [PS_CMD_GET] = {"cw_cmd_get", "SELECT " PG_CMD_COLS " FROM node_commands WHERE id = $1"},
        [PS_CMD_RUN_REASON] = {"cw_cmd_run_reason",
                               "UPDATE runs SET reason = $2 WHERE id = $1 AND status = 'killed'"},
        /* A daemon names its listening connection (pg_listen). */
        [PS_NODE_ALIVE] = {"cw_node_alive",
                           "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND application_name = left($1, 63)"},
        [PS_NOTIFY] = {"cw_notify", "SELECT pg_notify('" PG_CHANNEL "', $1)"},
        [PS_SET_APPNAME] = {"cw_set_appname",
                            "SELECT set_config('application_name', left($1, 63), false)"},
        /* Cluster locks (locks.c): leases end at an instant of the
         * database's clock, compared with clock_timestamp(), never with a
         * node's clock. */
        [PS_LOCK_GET_FOR_UPDATE] = {"cw_lock_get_for_update",
                                    "SELECT " LOCK_COLS " FROM cluster_locks "
                                    "WHERE lock_key = $1 FOR UPDATE"},
        [PS_LOCK_INSERT] = {"cw_lock_insert",
                            "INSERT INTO cluster_locks (lock_key, node, run_id, worker_pid, fence, "
                            "acquired_at, expires_at) VALUES ($1, $2, $3, $4, "
                            "nextval('fence_tokens'), clock_timestamp(), "
                            "clock_timestamp() + $5::float8 * interval '1 microsecond') "
                            "ON CONFLICT (lock_key) DO NOTHING RETURNING fence"},
        [PS_LOCK_TAKEOVER] =
                {"cw_lock_takeover",
                 "UPDATE cluster_locks SET node = $2, run_id = $3, worker_pid = $4, "
                 "fence = nextval('fence_tokens'), acquired_at = clock_timestamp(), "
                 "expires_at = clock_timestamp() + $5::float8 * interval '1 microsecond', "
                 "revoked_by = NULL "
                 "WHERE lock_key = $1 AND fence = $6 "
                 "AND expires_at <= clock_timestamp() RETURNING fence"},
        [PS_LOCK_RENEW] =
                {"cw_lock_renew",
                 "UPDATE cluster_locks SET "
                 "expires_at = clock_timestamp() + $3::float8 * interval '1 microsecond', "
                 "run_id = CASE WHEN $4::bigint > 0 THEN $4::bigint ELSE run_id END, "
                 "worker_pid = CASE WHEN $5::int > 0 THEN $5::int ELSE worker_pid END "
                 "WHERE lock_key = $1 AND fence = $2 AND expires_at > clock_timestamp() "
                 "RETURNING revoked_by"},
        [PS_LOCK_REVOKE] = {"cw_lock_revoke",
                            "UPDATE cluster_locks SET revoked_by = $2 WHERE lock_key = $1 "
                            "AND expires_at > clock_timestamp()"},
        [PS_LOCK_RELEASE] = {"cw_lock_release",
                             "DELETE FROM cluster_locks WHERE lock_key = $1 AND fence = $2"},
        [PS_LOCK_HOLDER] = {"cw_lock_holder",
                            "SELECT " LOCK_COLS " FROM cluster_locks WHERE lock_key = $1 "
                            "AND expires_at > clock_timestamp()"},
        [PS_LOCKS_LIST] = {"cw_locks_list", "SELECT " LOCK_COLS " FROM cluster_locks "
                                            "ORDER BY lock_key COLLATE \"C\""},
        [PS_FENCE_NEXT] = {"cw_fence_next", "SELECT nextval('fence_tokens')"},
        /* The run of a lock taken over: lost, and its token kept on it, so
         * its worker's later writes (which carry that token) find it not
         * running. A run that already has another token is not touched. */
        [PS_RUN_LOSE_FENCED] = {"cw_run_lose_fenced",
                                "UPDATE runs SET status = 'lost', reason = $3, ended_us = $4, "
                                "fence = $2 WHERE id = $1 AND status IN ('queued', 'running') "
                                "AND fence IN (0, $2)"},
        /* Writes that carry a fencing token (cw_store_run_fence). */
        [PS_RUN_STARTED_F] = {"cw_run_started_f",
                              "UPDATE runs SET status = 'running', ended_us = 0, worker_pid = $2, "
                              "pid = $3, pid_start = $4, fence = $5 WHERE id = $1 "
                              "AND (status = 'queued' OR (status = 'running' AND fence = $5))"},
        [PS_RUN_SET_PID_F] = {"cw_run_set_pid_f",
                              "UPDATE runs SET pid = $2, pid_start = $3 WHERE id = $1 "
                              "AND fence = $4 AND status = 'running'"},
        [PS_RUN_PROGRESS_F] = {"cw_run_progress_f",
                               "UPDATE runs SET progress_done = $2, progress_total = $3 "
                               "WHERE id = $1 AND fence = $4 AND status = 'running'"},
        [PS_RUN_OUTPUT_SNAPSHOT_F] = {"cw_run_output_snapshot_f",
                                      "UPDATE runs SET output_size = $2, output_truncated = $3 "
                                      "WHERE id = $1 AND status = 'running' AND fence = $4"},
        [PS_RUN_FENCE_LOCK] = {"cw_run_fence_lock",
                               "SELECT 1 FROM runs WHERE id = $1 AND fence = $2 "
                               "AND status = 'running' FOR UPDATE"},
};

const char *pg_stmt_name(pg_stmt_id id)
{
        return id < PS_MAX ? stmts[id].name : NULL;
}

const char *pg_stmt_sql(pg_stmt_id id)
{
        return id < PS_MAX ? stmts[id].sql : NULL;
}
