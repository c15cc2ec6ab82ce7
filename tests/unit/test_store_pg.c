/* test_store_pg.c - what the PostgreSQL backend promises beyond the
 * conformance suite (docs/store.md, "PostgreSQL"): URLs shown without
 * their password, clear errors when there is no server, and reconnecting
 * when the server cuts the session (pg_terminate_backend) or restarts
 * (tests/pg/pgserver.sh restart) while writes go on: none is lost or
 * made twice, and a batch whose session was lost reports it; a COMMIT
 * whose connection is lost (a test hook) is looked up, not replayed; and
 * processes migrating a fresh database at once all succeed; a store of
 * schema 1 gets migration 2 with its aggregates backfilled; a read-only
 * server's refusal says so.
 *
 * Run by tests/pg/with_pg.sh, which exports CW_TEST_POSTGRESQL_URL (and
 * CW_TEST_POSTGRESQL_DIR for the restart); without a URL only the
 * redaction test runs and the rest are skipped. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "base/macro.h"
#include "store/store.h"
#include "store/store_backend.h"

static const char *test_url(void)
{
        const char *url = getenv("CW_TEST_POSTGRESQL_URL");

        return url && *url ? url : NULL;
}

static void test_redact(void **state _unused_)
{
        static const struct {
                const char *in, *out;
        } t[] = {
                {"postgresql://cw:s3cret@db:5432/cron", "postgresql://cw:***@db:5432/cron"},
                {"postgres://cw@db/cron", "postgres://cw@db/cron"},
                {"postgresql://db/cron?sslmode=require&password=x&user=u",
                 "postgresql://db/cron?sslmode=require&password=***&user=u"},
                {"postgresql://a:b@h1,h2/d?password=", "postgresql://a:***@h1,h2/d?password=***"},
                {"postgresql://:@/", "postgresql://:***@/"},
                {"sqlite:/var/lib/cw.db", "sqlite:/var/lib/cw.db"},
                {NULL, "sqlite"},
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                char *got = NULL;

                assert_int_equal(cw_store_url_redact(t[i].in, &got), 0);
                assert_string_equal(got, t[i].out);
                free(got);
        }
}

/* No server on the port: a clear error, without the password. */
static void test_no_server(void **state _unused_)
{
        cw_store *s = NULL;
        cw_error e;
        int r;

        r = cw_store_open("postgresql://cw:topsecret@127.0.0.1:1/cron?connect_timeout=2", NULL, &s,
                          &e);
        assert_int_equal(r, -ECONNREFUSED);
        assert_null(s);
        assert_non_null(strstr(e.msg, "cannot connect to store 'postgresql://cw:***@127.0.0.1:1"));
        assert_null(strstr(e.msg, "topsecret"));
        /* The grammar's own complaint hides it too. */
        assert_int_equal(cw_store_open("mysql://cw:topsecret@db/x", NULL, &s, &e), -EINVAL);
        assert_null(strstr(e.msg, "topsecret"));
}

static cw_run new_run(const char *job)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (cw_run){
                .job = (char *)job,
                .spec = (char *)job,
                .node = (char *)"node1",
                .status = CW_RUN_RUNNING,
                .trigger = CW_TRIGGER_MANUAL,
                .attempt = 1,
                .started_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000,
                .exit_code = -1,
                .progress_done = -1,
                .progress_total = -1,
        };
}

/* Cuts every cronwarden session off (they name themselves "cronwarden"). */
static void terminate_sessions(void)
{
        PGconn *c = PQconnectdb(test_url());
        PGresult *res;

        assert_int_equal(PQstatus(c), CONNECTION_OK);
        res = PQexec(c, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'cronwarden' AND pid <> pg_backend_pid()");
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        PQclear(res);
        PQfinish(c);
}

static size_t count_runs(cw_store *s, const char *job)
{
        cw_run_filter f = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;

        f.job = job;
        assert_int_equal(cw_store_runs_list(s, &f, &runs, &n), 0);
        cw_runs_free(runs, n);
        return n;
}

static void job_name(char *buf, size_t size, const char *what)
{
        snprintf(buf, size, "pg-%s-%d-%lld", what, (int)getpid(), (long long)time(NULL));
}

/* The session is cut between operations: the next one reconnects, with
 * its prepared statements made again, and is made once. */
static void test_reconnect_after_terminate(void **state _unused_)
{
        cw_store *s = NULL;
        cw_error e;
        char job[96];
        cw_run r;
        cw_run got = {0};

        if (!test_url())
                skip();
        job_name(job, sizeof(job), "term");
        assert_int_equal(cw_store_open(test_url(), NULL, &s, &e), 0);
        r = new_run(job);
        assert_int_equal(cw_store_run_insert(s, &r), 0);
        terminate_sessions();
        assert_int_equal(cw_store_run_get(s, r.id, &got), 0); /* a read */
        cw_run_release(&got);
        terminate_sessions();
        r = new_run(job);
        assert_int_equal(cw_store_run_insert(s, &r), 0); /* a write */
        assert_int_equal(count_runs(s, job), 2);
        cw_store_close(s);
}

/* A batch whose session is cut is lost as a whole, and says so; the
 * store goes on working afterwards. */
static void test_batch_lost(void **state _unused_)
{
        cw_store *s = NULL;
        cw_error e;
        char job[96];
        cw_run r;
        int w;

        if (!test_url())
                skip();
        job_name(job, sizeof(job), "batch");
        assert_int_equal(cw_store_open(test_url(), NULL, &s, &e), 0);
        assert_int_equal(cw_store_batch_begin(s), 0);
        r = new_run(job);
        assert_int_equal(cw_store_run_insert(s, &r), 0);
        terminate_sessions();
        r = new_run(job);
        w = cw_store_run_insert(s, &r);
        assert_true(w == -ECONNRESET || w == -ECANCELED);
        assert_int_equal(cw_store_run_insert(s, &r), -ECANCELED);
        assert_int_equal(cw_store_batch_commit(s), -ECANCELED);
        assert_int_equal(count_runs(s, job), 0);
        r = new_run(job);
        assert_int_equal(cw_store_run_insert(s, &r), 0);
        assert_int_equal(count_runs(s, job), 1);
        cw_store_close(s);
}

/* Runs one statement on a connection of its own to the test server. */
static void admin_exec(const char *sql)
{
        PGconn *c = PQconnectdb(test_url());
        PGresult *res;

        assert_int_equal(PQstatus(c), CONNECTION_OK);
        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
                fail_msg("%s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
        PQfinish(c);
}

/* Processes opening a fresh database at the same moment all migrate it
 * safely (one does, the others wait for its advisory lock and find it
 * done) and all see the latest schema. */
static void test_concurrent_migration(void **state _unused_)
{
        char db[64], sql[128], url[1024];
        const char *base = test_url(), *path;
        pid_t pids[6];

        if (!base)
                skip();
        path = strchr(strstr(base, "://") + 3, '/');
        assert_non_null(path);
        snprintf(db, sizeof(db), "cw_migrate_%d_%lld", (int)getpid(), (long long)time(NULL));
        snprintf(url, sizeof(url), "%.*s/%s", (int)(path - base), base, db);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
        admin_exec(sql);
        for (size_t i = 0; i < CW_ARRAY_SIZE(pids); i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        cw_store *s = NULL;
                        cw_error e;
                        int ok;

                        alarm(60);
                        ok = cw_store_open(url, NULL, &s, &e) == 0 &&
                             cw_store_schema_version(s) >= 1;
                        cw_store_close(s);
                        _exit(ok ? 0 : 1);
                }
        }
        for (size_t i = 0; i < CW_ARRAY_SIZE(pids); i++) {
                int st;

                assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        snprintf(sql, sizeof(sql), "DROP DATABASE %s", db);
        admin_exec(sql);
}

/* The connection is lost at COMMIT: after sending it (the write was
 * made: it is looked up, not made again) or before (it was not: it is
 * made again). Either way the write is made exactly once. */
static void test_lost_commit(void **state _unused_)
{
        static const int faults[] = {CW_STORE_PG_FAULT_LOSE_COMMIT_REPLY,
                                     CW_STORE_PG_FAULT_LOSE_BEFORE_COMMIT};
        cw_store *s = NULL;
        cw_error e;
        char job[96];
        bool won = true;

        if (!test_url())
                skip();
        job_name(job, sizeof(job), "commit");
        assert_int_equal(cw_store_open(test_url(), NULL, &s, &e), 0);
        for (size_t i = 0; i < CW_ARRAY_SIZE(faults); i++) {
                cw_run r = new_run(job);
                cw_run got = {0};

                assert_int_equal(cw_store_pg_fault(s, faults[i]), 0);
                assert_int_equal(cw_store_run_insert(s, &r), 0);
                assert_int_equal(count_runs(s, job), i + 1);
                assert_int_equal(cw_store_run_get(s, r.id, &got), 0);
                assert_string_equal(got.job, job);
                cw_run_release(&got);
                /* A claim made under a lost reply is still this caller's. */
                assert_int_equal(cw_store_pg_fault(s, faults[i]), 0);
                assert_int_equal(cw_store_claim(s, job, (cw_time)i + 1, "n", &won), 0);
                assert_true(won);
                assert_int_equal(cw_store_claim(s, job, (cw_time)i + 1, "n", &won), 0);
                assert_false(won);
        }
        cw_store_close(s);
}

/* The server restarts while a process keeps writing: every write waits
 * for it (within CW_STORE_BUSY_MS) and is made exactly once. */
static void test_server_restart(void **state _unused_)
{
        const char *dir = getenv("CW_TEST_POSTGRESQL_DIR");
        char script[1024], job[96];
        cw_store *s = NULL;
        cw_error e;
        int made = 0, st;
        pid_t pid;

        if (!test_url() || !dir || !*dir)
                skip();
        job_name(job, sizeof(job), "restart");
        assert_int_equal(cw_store_open(test_url(), NULL, &s, &e), 0);
        snprintf(script, sizeof(script), "%s/pg/pgserver.sh", CW_TEST_SRCDIR);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                usleep(100000);
                execl(script, script, "restart", dir, (char *)NULL);
                _exit(127);
        }
        for (;;) {
                cw_run r = new_run(job);
                assert_int_equal(cw_store_run_insert(s, &r), 0);
                assert_int_equal(
                        cw_store_run_transition(s, r.id, CW_RUN_RUNNING, CW_RUN_LOST, "x", 1), 0);
                made++;
                if (waitpid(pid, &st, WNOHANG) == pid)
                        break;
                usleep(20000);
        }
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(count_runs(s, job), (size_t)made);
        cw_store_close(s);
}

/* Runs sql on the database at url (not the suite's). */
static void db_exec(const char *url, const char *sql)
{
        PGconn *c = PQconnectdb(url);
        PGresult *res;

        assert_int_equal(PQstatus(c), CONNECTION_OK);
        res = PQexec(c, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
                fail_msg("%s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
        PQfinish(c);
}

/* What migrations 2 and later added, taken away again: a store of schema
 * 1 (a migration is applied when it is above the newest one recorded). */
#define UNDO_MIGRATION_2                                                                           \
        "DROP TABLE node_commands; DROP TABLE node_jobs; DROP TABLE nodes; "                       \
        "DROP INDEX runs_node_active; DROP TABLE cluster_locks; DROP SEQUENCE fence_tokens; "      \
        "ALTER TABLE runs DROP COLUMN fence; "                                                     \
        "ALTER TABLE job_stats DROP COLUMN last_failure_us, DROP COLUMN last_duration_us, "        \
        "DROP COLUMN consecutive_failures; DROP TABLE outbox; "                                    \
        "DELETE FROM histograms WHERE metric = 'duration' AND job = ''; "                          \
        "DELETE FROM histogram_sums WHERE metric = 'duration' AND job = ''; "                      \
        "DELETE FROM schema_version WHERE version >= 2"

/* A store of schema 1 with history gets migration 2: the alerting columns
 * (last failure, last duration, the failure streak) and the all-jobs
 * duration histogram backfilled from its runs, and an empty outbox. */
static void test_migration_2(void **state _unused_)
{
        static const cw_run_status ends[] = {CW_RUN_SUCCEEDED, CW_RUN_FAILED, CW_RUN_TIMED_OUT};
        char db[64], sql[128], url[1024], job[96];
        const char *base = test_url(), *path;
        cw_job_stats *st = NULL, *js = NULL;
        cw_store_hist all = {0};
        cw_notice *notes = NULL;
        cw_store *s = NULL;
        int64_t last_end = 0;
        int latest;
        cw_error e;
        size_t n = 0;

        if (!base)
                skip();
        path = strchr(strstr(base, "://") + 3, '/');
        assert_non_null(path);
        snprintf(db, sizeof(db), "cw_migrate2_%d_%lld", (int)getpid(), (long long)time(NULL));
        snprintf(url, sizeof(url), "%.*s/%s", (int)(path - base), base, db);
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
        admin_exec(sql);
        job_name(job, sizeof(job), "migrate2");
        assert_int_equal(cw_store_open(url, NULL, &s, &e), 0);
        latest = cw_store_schema_version(s);
        for (size_t i = 0; i < CW_ARRAY_SIZE(ends); i++) {
                cw_run r = new_run(job);

                r.started_us = (int64_t)(i + 1) * 10000000;
                assert_int_equal(cw_store_run_insert(s, &r), 0);
                r.status = ends[i];
                r.ended_us = last_end = r.started_us + (int64_t)(i + 1) * 1000000;
                assert_int_equal(cw_store_run_finish(s, &r, NULL, 0), 0);
        }
        cw_store_close(s);
        db_exec(url, UNDO_MIGRATION_2);

        assert_int_equal(cw_store_open(url, NULL, &s, &e), 0);
        assert_int_equal(cw_store_schema_version(s), latest);
        assert_int_equal(cw_store_stats_summary(s, &st, &n, NULL, &all), 0);
        for (size_t i = 0; i < n; i++)
                if (strcmp(st[i].job, job) == 0)
                        js = &st[i];
        assert_non_null(js);
        assert_int_equal(js->last_status, CW_RUN_TIMED_OUT);
        assert_int_equal(js->last_failure_us, last_end);
        assert_int_equal(js->last_duration_us, 3000000);
        assert_int_equal(js->consecutive_failures, 2);
        assert_int_equal(all.count, 3);
        cw_job_stats_free(st, n);
        assert_int_equal(cw_store_notices_list(s, false, 0, &notes, &n), 0);
        assert_int_equal(n, 0);
        cw_notices_free(notes, n);
        cw_store_close(s);
        snprintf(sql, sizeof(sql), "DROP DATABASE %s", db);
        admin_exec(sql);
}

/* A write the server refuses as read-only (a standby, or here a session
 * with default_transaction_read_only) is -EROFS, and the store's error
 * text says which store and what the server said. */
static void test_readonly_reason(void **state _unused_)
{
        const char *base = test_url();
        char url[1024], key[96];
        cw_store *s = NULL;
        cw_error e;
        const char *text;
        int r;

        if (!base)
                skip();
        snprintf(url, sizeof(url), "%s%soptions=-c%%20default_transaction_read_only%%3Don", base,
                 strchr(base, '?') ? "&" : "?");
        assert_int_equal(cw_store_open(base, NULL, &s, &e), 0); /* migrated before */
        cw_store_close(s);
        assert_int_equal(cw_store_open(url, NULL, &s, &e), 0);
        assert_null(strstr(cw_store_error_text(s, -EROFS), "refused"));
        job_name(key, sizeof(key), "readonly");
        r = cw_store_state_set(s, key, "v");
        assert_int_equal(r, -EROFS);
        text = cw_store_error_text(s, r);
        assert_non_null(strstr(text, "refused the write"));
        assert_non_null(strstr(text, "read-only"));
        cw_store_close(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_redact),
                cmocka_unit_test(test_no_server),
                cmocka_unit_test(test_reconnect_after_terminate),
                cmocka_unit_test(test_batch_lost),
                cmocka_unit_test(test_lost_commit),
                cmocka_unit_test(test_concurrent_migration),
                cmocka_unit_test(test_server_restart),
                cmocka_unit_test(test_migration_2),
                cmocka_unit_test(test_readonly_reason),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
