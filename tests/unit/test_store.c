/* test_store.c - the store (src/store/) on its SQLite backend: opening,
 * creating and migrating the file, every operation's results and errors,
 * the list filters and the query plans behind them, and what must hold
 * when several processes share one file (one claim winner, no request
 * taken twice, no run lost among 50 concurrent writers). What any backend
 * must do is pinned again, backend-neutrally, by store_conformance.c; the
 * tests here may also look at the SQLite file itself.
 *
 * Each test works in its own temporary directory (the cmocka state),
 * removed afterwards. Tests that need several processes fork them before
 * any store is open in the parent (a SQLite connection must not cross a
 * fork), start them together through a pipe that the parent closes, and
 * collect their answers through another pipe; every child has an alarm so
 * a hang ends as a failure instead of a stuck test. The file is checked
 * behind the store's back with plain SQLite (integrity_check, row counts,
 * the journal mode). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "base/macro.h"
#include "store/run.h"
#include "store/store.h"
#include "store/store_backend.h"

/* The schema version a fresh or migrated store has (src/store/sqlite/). */
#define SCHEMA_LATEST 5

#define CHILD_ALARM_S 100

typedef struct fixture {
        char dir[256];
        char data_dir[300];
        char db[340];
} fixture;

/* ---- helpers -------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        remove(path);
        return 0;
}

static int setup(void **state)
{
        fixture *f = calloc(1, sizeof(*f));
        const char *base = getenv("TMPDIR");

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "%s/cw-test-store-XXXXXX", base && *base ? base : "/tmp");
        assert_non_null(mkdtemp(f->dir));
        /* A data directory that does not exist yet, two levels down. */
        snprintf(f->data_dir, sizeof(f->data_dir), "%s/data/dir", f->dir);
        snprintf(f->db, sizeof(f->db), "%s/%s", f->data_dir, CW_STORE_FILE);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture *f = *state;

        nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static cw_store *open_ok(const fixture *f)
{
        cw_store *s = NULL;
        cw_error e;
        int r = cw_store_open("sqlite", f->data_dir, &s, &e);

        if (r < 0)
                fail_msg("cannot open store: %d %s", r, e.msg);
        return s;
}

/* The first column of the first row of sql, run on the file directly. */
static int64_t raw_int(const char *db, const char *sql)
{
        sqlite3 *h = NULL;
        sqlite3_stmt *st = NULL;
        int64_t v = INT64_MIN;

        assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(h, 10000);
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(h));
        if (sqlite3_step(st) == SQLITE_ROW)
                v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(h);
        return v;
}

static void raw_text(const char *db, const char *sql, char *buf, size_t size)
{
        sqlite3 *h = NULL;
        sqlite3_stmt *st = NULL;

        assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        sqlite3_busy_timeout(h, 10000);
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(h));
        buf[0] = '\0';
        if (sqlite3_step(st) == SQLITE_ROW)
                snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(h);
}

static void raw_exec(const char *db, const char *sql)
{
        sqlite3 *h = NULL;

        assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                         SQLITE_OK);
        if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(h));
        sqlite3_close(h);
}

static void assert_integrity(const char *db)
{
        char res[256];

        raw_text(db, "PRAGMA integrity_check", res, sizeof(res));
        assert_string_equal(res, "ok");
        assert_int_equal(raw_int(db, "PRAGMA foreign_key_check"), INT64_MIN); /* no rows */
}

/* A run as the worker records it at start; strings are literals. */
static cw_run new_run(const char *job, cw_run_status status, int64_t started_us)
{
        return (cw_run){
                .job = (char *)job,
                .spec = (char *)job,
                .node = (char *)"node1",
                .status = status,
                .trigger = CW_TRIGGER_MANUAL,
                .attempt = 1,
                .started_us = started_us,
                .exit_code = -1,
                .progress_done = -1,
                .progress_total = -1,
        };
}

static int64_t insert(cw_store *s, const char *job, cw_run_status status, int64_t started_us)
{
        cw_run r = new_run(job, status, started_us);

        assert_int_equal(cw_store_run_insert(s, &r), 0);
        assert_true(r.id > 0);
        return r.id;
}

static void finish(cw_store *s, int64_t id, cw_run_status status, const void *out, size_t len)
{
        cw_run r = {.id = id,
                    .status = status,
                    .exit_code = status == CW_RUN_SUCCEEDED ? 0 : 1,
                    .ended_us = 2000,
                    .output_size = len};

        assert_int_equal(cw_store_run_finish(s, &r, out, len), 0);
}

/* ---- processes ------------------------------------------------------------ */

typedef struct gang {
        int start[2]; /* children block reading [0] until the parent closes [1] */
        int answer[2];
        pid_t pids[64];
        size_t n;
} gang;

static void gang_init(gang *g)
{
        memset(g, 0, sizeof(*g));
        assert_int_equal(pipe2(g->start, O_CLOEXEC), 0);
        assert_int_equal(pipe2(g->answer, O_CLOEXEC), 0);
}

/* Forks a child that waits for the start, runs fn(i, answer fd, arg) and
 * leaves with its result as exit status (0 ok). */
static void gang_spawn(gang *g, size_t i, int (*fn)(size_t, int, void *), void *arg)
{
        pid_t pid;

        assert_true(g->n < CW_ARRAY_SIZE(g->pids));
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char c;
                alarm(CHILD_ALARM_S);
                close(g->start[1]);
                close(g->answer[0]);
                while (read(g->start[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(fn(i, g->answer[1], arg));
        }
        g->pids[g->n++] = pid;
}

/* Starts the children together, reads everything they write into *ret
 * (malloc'ed, *ret_len bytes) and checks each exited 0. */
static void gang_run(gang *g, char **ret, size_t *ret_len)
{
        char *buf = NULL;
        size_t n = 0, cap = 0;

        close(g->start[0]);
        close(g->start[1]);
        close(g->answer[1]);
        for (;;) {
                ssize_t k;
                if (cap - n < 4096) {
                        cap = cap ? cap * 2 : 65536;
                        buf = realloc(buf, cap);
                        assert_non_null(buf);
                }
                k = read(g->answer[0], buf + n, cap - n);
                if (k < 0 && errno == EINTR)
                        continue;
                assert_true(k >= 0);
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        close(g->answer[0]);
        for (size_t i = 0; i < g->n; i++) {
                int st;
                assert_int_equal(waitpid(g->pids[i], &st, 0), g->pids[i]);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        fail_msg("child %zu ended with status 0x%x", i, st);
        }
        *ret = buf;
        *ret_len = n;
}

static int child_open(const char *data_dir, cw_store **ret)
{
        cw_error e;
        int r = cw_store_open("sqlite", data_dir, ret, &e);

        if (r < 0) {
                /* The parent fails the test on the exit status; this says why. */
                print_error("child %d: cannot open store: %s (%d)\n", (int)getpid(), e.msg, r);
                return 10;
        }
        return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
        const char *c = p;

        while (n > 0) {
                ssize_t k = write(fd, c, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                c += k;
                n -= (size_t)k;
        }
        return 0;
}

/* ---- string tables -------------------------------------------------------- */

static void test_string_tables(void **state _unused_)
{
        static const struct {
                cw_run_status s;
                const char *name;
                bool final;
        } st[] = {
                {CW_RUN_QUEUED, "queued", false},      {CW_RUN_RUNNING, "running", false},
                {CW_RUN_SUCCEEDED, "succeeded", true}, {CW_RUN_FAILED, "failed", true},
                {CW_RUN_TIMED_OUT, "timed_out", true}, {CW_RUN_KILLED, "killed", true},
                {CW_RUN_LOST, "lost", true},           {CW_RUN_SKIPPED, "skipped", true},
                {CW_RUN_MISSED, "missed", true},
        };
        static const char *const triggers[] = {"schedule", "manual",     "request",
                                               "retry",    "dependency", "resume"};
        static const char *const resumes[] = {"none", "pending", "done", "cleaned"};

        assert_int_equal(CW_ARRAY_SIZE(st), CW_RUN_STATUS_MAX);
        for (size_t i = 0; i < CW_ARRAY_SIZE(st); i++) {
                cw_run_status s;
                assert_int_equal(st[i].s, (cw_run_status)i);
                assert_string_equal(cw_run_status_to_string(st[i].s), st[i].name);
                assert_int_equal(cw_run_status_from_string(st[i].name, &s), 0);
                assert_int_equal(s, st[i].s);
                assert_int_equal(cw_run_status_is_final(st[i].s), st[i].final);
        }
        assert_int_equal(CW_ARRAY_SIZE(triggers), CW_TRIGGER_MAX);
        for (size_t i = 0; i < CW_ARRAY_SIZE(triggers); i++) {
                cw_trigger t;
                assert_string_equal(cw_trigger_to_string((cw_trigger)i), triggers[i]);
                assert_int_equal(cw_trigger_from_string(triggers[i], &t), 0);
                assert_int_equal(t, (cw_trigger)i);
        }
        assert_int_equal(CW_ARRAY_SIZE(resumes), CW_RESUME_MAX);
        for (size_t i = 0; i < CW_ARRAY_SIZE(resumes); i++) {
                cw_resume_state r;
                assert_string_equal(cw_resume_state_to_string((cw_resume_state)i), resumes[i]);
                assert_int_equal(cw_resume_state_from_string(resumes[i], &r), 0);
                assert_int_equal(r, (cw_resume_state)i);
        }

        cw_run_status s = CW_RUN_LOST;
        cw_trigger t = CW_TRIGGER_RETRY;
        cw_resume_state r = CW_RESUME_DONE;
        assert_int_equal(cw_run_status_from_string("Running", &s), -EINVAL);
        assert_int_equal(cw_run_status_from_string("", &s), -EINVAL);
        assert_int_equal(cw_run_status_from_string(NULL, &s), -EINVAL);
        assert_int_equal(s, CW_RUN_LOST);
        assert_int_equal(cw_trigger_from_string("cron", &t), -EINVAL);
        assert_int_equal(t, CW_TRIGGER_RETRY);
        assert_int_equal(cw_resume_state_from_string("yes", &r), -EINVAL);
        assert_int_equal(r, CW_RESUME_DONE);
        assert_null(cw_run_status_to_string(CW_RUN_STATUS_MAX));
        assert_null(cw_run_status_to_string((cw_run_status)-1));
        assert_null(cw_trigger_to_string(CW_TRIGGER_MAX));
        assert_null(cw_resume_state_to_string(CW_RESUME_MAX));
        cw_run_release(NULL);
}

/* ---- open, create, migrate ------------------------------------------------ */

static void test_open_creates(void **state)
{
        fixture *f = *state;
        struct stat st;
        char mode[16];
        mode_t mask = umask(022);

        umask(mask);
        cw_store *s = open_ok(f);
        assert_int_equal(cw_store_schema_version(s), SCHEMA_LATEST);
        assert_int_equal(stat(f->data_dir, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0700 & ~mask);
        assert_int_equal(stat(f->db, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600 & ~mask);
        cw_store_close(s);

        raw_text(f->db, "PRAGMA journal_mode", mode, sizeof(mode));
        assert_string_equal(mode, "wal");
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM schema_version"), SCHEMA_LATEST);
        assert_int_equal(raw_int(f->db, "SELECT max(version) FROM schema_version"), SCHEMA_LATEST);
        /* Every table and index of migration 1. */
        static const char *const objects[] = {
                "runs",        "run_output",   "claims",      "scheduler_state",
                "job_state",   "requests",     "runs_job",    "runs_status",
                "runs_active", "runs_started", "runs_resume", "requests_pending",
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(objects); i++) {
                char sql[200];
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
                         objects[i]);
                if (raw_int(f->db, sql) != 1)
                        fail_msg("no %s in the schema", objects[i]);
        }
        assert_integrity(f->db);
}

static void test_reopen_keeps_data(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        int64_t id = insert(s, "Keep", CW_RUN_RUNNING, 1000);
        cw_run r;

        finish(s, id, CW_RUN_SUCCEEDED, "kept\n", 5);
        assert_int_equal(cw_store_state_set(s, "last_pass", "1234"), 0);
        cw_store_close(s);

        /* Opening again applies nothing and finds everything. */
        for (int i = 0; i < 3; i++) {
                void *out = NULL;
                size_t len = 0;
                char *v = NULL;

                s = open_ok(f);
                assert_int_equal(cw_store_schema_version(s), SCHEMA_LATEST);
                assert_int_equal(cw_store_run_get(s, id, &r), 0);
                assert_string_equal(r.job, "Keep");
                assert_int_equal(r.status, CW_RUN_SUCCEEDED);
                cw_run_release(&r);
                assert_int_equal(cw_store_run_output(s, id, &out, &len), 0);
                assert_int_equal(len, 5);
                assert_memory_equal(out, "kept\n", 5);
                free(out);
                assert_int_equal(cw_store_state_get(s, "last_pass", &v), 0);
                assert_string_equal(v, "1234");
                free(v);
                cw_store_close(s);
        }
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM schema_version"), SCHEMA_LATEST);
        /* New ids continue after the old ones. */
        s = open_ok(f);
        assert_true(insert(s, "Keep", CW_RUN_RUNNING, 1) > id);
        cw_store_close(s);
}

static void test_urls(void **state)
{
        fixture *f = *state;
        char path_url[400], nested_url[400];
        struct {
                const char *url;
                const char *data_dir;
                int ret;
                const char *msg; /* fragment of err.msg */
        } t[] = {
                {"sqlite", f->data_dir, 0, ""},
                {NULL, f->data_dir, 0, ""},
                {path_url, NULL, 0, ""},
                {nested_url, NULL, 0, ""},
                /* Nothing listens on port 1: the PostgreSQL backend says so,
                 * showing no password. */
                {"postgresql://cw@127.0.0.1:1/cron", f->data_dir, -ECONNREFUSED,
                 "cannot connect to store 'postgresql://cw@127.0.0.1:1/cron'"},
                {"postgres://cw:pw@127.0.0.1:1/cron", f->data_dir, -ECONNREFUSED,
                 "'postgres://cw:***@127.0.0.1:1/cron'"},
                {"mysql://db", f->data_dir, -EINVAL, "unknown store 'mysql://db'"},
                {"", f->data_dir, -EINVAL, "unknown store ''"},
                {"SQLITE", f->data_dir, -EINVAL, "unknown store"},
                {"sqlite:", f->data_dir, -EINVAL, "names no file"},
                {"sqlite::memory:", f->data_dir, -EINVAL, "processes must share"},
                {"sqlite", NULL, -EINVAL, "needs a data directory"},
                {"sqlite", "", -EINVAL, "needs a data directory"},
                {"sqlite:/tmp/a\nb.db", NULL, -EINVAL, "control character at byte 14"},
                {"postgresql://cw@db/cron x", NULL, -EINVAL, "space at byte 24"},
        };

        snprintf(path_url, sizeof(path_url), "sqlite:%s/other.db", f->dir);
        snprintf(nested_url, sizeof(nested_url), "sqlite:%s/x/y/z.db", f->dir);
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                cw_store *s = NULL;
                cw_error e;
                int r = cw_store_open(t[i].url, t[i].data_dir, &s, &e);

                if (r != t[i].ret || !strstr(e.msg, t[i].msg))
                        fail_msg("%s: got %d '%s', want %d '%s'", t[i].url ? t[i].url : "(null)", r,
                                 e.msg, t[i].ret, t[i].msg);
                if (r == 0) {
                        assert_non_null(s);
                        assert_int_equal(cw_store_schema_version(s), SCHEMA_LATEST);
                        cw_store_close(s);
                } else {
                        assert_null(s);
                }
        }
        char p[400];
        snprintf(p, sizeof(p), "%s/x/y/z.db", f->dir);
        assert_int_equal(access(p, R_OK | W_OK), 0);
        cw_store_close(NULL);
        assert_int_equal(cw_store_open("sqlite", f->data_dir, NULL, NULL), -EINVAL);
}

/* A backend whose table leaves operations out (store_backend.h) gets
 * -EOPNOTSUPP, not a call through NULL. */
static void test_dispatch(void **state _unused_)
{
        static const cw_store_ops empty_ops = {.name = "empty"};
        cw_store empty = {&empty_ops};
        cw_run run = new_run("J", CW_RUN_RUNNING, 1);
        cw_run_filter flt = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 0;
        char *plan = NULL;
        bool won;

        assert_int_equal(cw_store_run_insert(&empty, &run), -EOPNOTSUPP);
        assert_int_equal(cw_store_runs_list(&empty, &flt, &runs, &n), -EOPNOTSUPP);
        assert_int_equal(cw_store_claim(&empty, "J", 1, "n", &won), -EOPNOTSUPP);
        assert_int_equal(cw_store_schema_version(&empty), -EOPNOTSUPP);
        assert_int_equal(cw_store_sqlite_list_plan(&empty, &flt, &plan), -EOPNOTSUPP);
        {
                cw_run_output o = {0};

                assert_int_equal(cw_store_run_output_snapshot(&empty, 1, 1, false, "x", 1),
                                 -EOPNOTSUPP);
                assert_int_equal(cw_store_run_output_get(&empty, 1, &o), -EOPNOTSUPP);
        }
        cw_store_close(&empty);
        assert_int_equal(cw_store_run_insert(NULL, &run), -EINVAL);
        assert_int_equal(cw_store_schema_version(NULL), -EINVAL);
}

static int child_open_only(size_t i, int fd, void *arg)
{
        cw_store *s = NULL;
        int r = child_open(arg, &s);

        (void)i;
        (void)fd;
        if (r == 0 && cw_store_schema_version(s) != SCHEMA_LATEST)
                r = 11;
        if (r == 0 && cw_store_job_enabled_set(s, "J", true) < 0)
                r = 12;
        cw_store_close(s);
        return r;
}

/* Processes that open a fresh file at the same moment all succeed, and
 * the migration is applied once. */
static void test_migration_race(void **state)
{
        fixture *f = *state;
        gang g;
        char *out;
        size_t n;

        gang_init(&g);
        for (size_t i = 0; i < 12; i++)
                gang_spawn(&g, i, child_open_only, f->data_dir);
        gang_run(&g, &out, &n);
        free(out);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM schema_version"), SCHEMA_LATEST);
        assert_integrity(f->db);
}

/* ---- error mapping -------------------------------------------------------- */

typedef struct denied_case {
        const char *data_dir;
        int ret;
        char msg[320];
} denied_case;

/* As a user who may not write dir (nobody when we are root), tries to
 * open a store in dir itself and in a directory that would have to be
 * created inside it. */
static void test_error_unwritable(void **state)
{
        fixture *f = *state;
        char locked[300], below[340];
        denied_case res[2];
        int p[2], st;
        pid_t pid;

        snprintf(locked, sizeof(locked), "%s/locked", f->dir);
        snprintf(below, sizeof(below), "%s/locked/sub", f->dir);
        assert_int_equal(mkdir(locked, 0755), 0);
        /* mkdtemp's 0700 would stop the other user one level up. */
        assert_int_equal(chmod(f->dir, 0755), 0);
        if (geteuid() != 0)
                assert_int_equal(chmod(locked, 0555), 0);
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                const char *dirs[2] = {locked, below};
                close(p[0]);
                alarm(CHILD_ALARM_S);
                if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
                        _exit(3);
                for (int i = 0; i < 2; i++) {
                        cw_store *s = NULL;
                        cw_error e;
                        memset(&res[i], 0, sizeof(res[i]));
                        res[i].ret = cw_store_open("sqlite", dirs[i], &s, &e);
                        snprintf(res[i].msg, sizeof(res[i].msg), "%s", e.msg);
                        cw_store_close(s);
                }
                _exit(write_all(p[1], res, sizeof(res)) < 0 ? 4 : 0);
        }
        close(p[1]);
        assert_int_equal(read(p[0], res, sizeof(res)), (ssize_t)sizeof(res));
        close(p[0]);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        chmod(locked, 0755);

        assert_int_equal(res[0].ret, -EACCES);
        assert_non_null(strstr(res[0].msg, "cannot open store '"));
        assert_non_null(strstr(res[0].msg, "locked/cronwarden.db': Permission denied"));
        assert_int_equal(res[1].ret, -EACCES);
        assert_non_null(strstr(res[1].msg, "cannot create store directory '"));
        assert_non_null(strstr(res[1].msg, "locked/sub': Permission denied"));
}

static void write_file(const char *path, const void *data, size_t len)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, data, len), 0);
        close(fd);
}

static void test_error_files(void **state)
{
        fixture *f = *state;
        char text[4096], path[400];
        cw_store *s = NULL;
        cw_error e;

        snprintf(path, sizeof(path), "%s/data", f->dir);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(mkdir(f->data_dir, 0755), 0);

        /* A text file where the database should be. */
        for (size_t i = 0; i < sizeof(text); i++)
                text[i] = "this is not a database\n"[i % 23];
        write_file(f->db, text, sizeof(text));
        assert_int_equal(cw_store_open("sqlite", f->data_dir, &s, &e), -EIO);
        assert_null(s);
        assert_non_null(strstr(e.msg, "is not a cronwarden store"));
        assert_non_null(strstr(e.msg, "not a database"));
        assert_non_null(strstr(e.msg, f->db));

        /* Another program's SQLite database. */
        unlink(f->db);
        raw_exec(f->db, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)");
        assert_int_equal(cw_store_open("sqlite", f->data_dir, &s, &e), -EIO);
        assert_non_null(strstr(e.msg, "is not a cronwarden store"));
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master"), 1); /* untouched */

        /* A store written by a newer cronwarden. */
        unlink(f->db);
        s = open_ok(f);
        cw_store_close(s);
        s = NULL;
        raw_exec(f->db, "INSERT INTO schema_version VALUES (7, 0)");
        assert_int_equal(cw_store_open("sqlite", f->data_dir, &s, &e), -EPROTO);
        assert_non_null(strstr(e.msg, "schema version 7, newer than this cronwarden"));

        /* The database path is a directory. */
        snprintf(path, sizeof(path), "sqlite:%s", f->dir);
        assert_int_equal(cw_store_open(path, NULL, &s, &e), -EISDIR);
        assert_non_null(strstr(e.msg, "cannot open store"));

        /* A directory component is a file. */
        snprintf(path, sizeof(path), "sqlite:%s/cronwarden.db/x/y.db", f->data_dir);
        assert_int_equal(cw_store_open(path, NULL, &s, &e), -ENOTDIR);
        assert_non_null(strstr(e.msg, "cannot create store directory"));
        assert_null(s);
}

/* ---- runs ----------------------------------------------------------------- */

static void test_run_roundtrip(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        cw_run in =
                       {
                               .job = (char *)"Report",
                               .spec = (char *)"Report:\"big world\",sleep=5",
                               .node = (char *)"node-7",
                               .status = CW_RUN_RUNNING,
                               .trigger = CW_TRIGGER_SCHEDULE,
                               .attempt = 3,
                               .scheduled_at = 1800000000,
                               .started_us = 1800000000123456,
                               .worker_pid = 4321,
                               .pid = 4322,
                               .pid_start = 987654321,
                               .exit_code = -1,
                               .progress_done = -1,
                               .progress_total = -1,
                               .reason = (char *)"retry after \"failure\"",
                               .lock_key = (char *)"Report",
                               .resume = CW_RESUME_NONE,
                               .resumed_from = 12,
                       },
               got;

        assert_int_equal(cw_store_run_insert(s, &in), 0);
        assert_int_equal(in.id, 1);
        assert_int_equal(cw_store_run_get(s, in.id, &got), 0);
        assert_int_equal(got.id, in.id);
        assert_string_equal(got.job, in.job);
        assert_string_equal(got.spec, in.spec);
        assert_string_equal(got.node, in.node);
        assert_int_equal(got.status, in.status);
        assert_int_equal(got.trigger, in.trigger);
        assert_int_equal(got.attempt, 3);
        assert_int_equal(got.scheduled_at, in.scheduled_at);
        assert_int_equal(got.started_us, in.started_us);
        assert_int_equal(got.ended_us, 0);
        assert_int_equal(got.worker_pid, 4321);
        assert_int_equal(got.pid, 4322);
        assert_int_equal(got.pid_start, 987654321);
        assert_int_equal(got.exit_code, -1);
        assert_int_equal(got.signal, 0);
        assert_int_equal(got.progress_done, -1);
        assert_int_equal(got.progress_total, -1);
        assert_int_equal(got.output_size, 0);
        assert_false(got.output_truncated);
        assert_string_equal(got.reason, in.reason);
        assert_string_equal(got.lock_key, in.lock_key);
        assert_int_equal(got.resume, CW_RESUME_NONE);
        assert_int_equal(got.resumed_from, 12);
        cw_run_release(&got);
        assert_null(got.job);

        /* NULL strings stay NULL. */
        cw_run bare = new_run("Bare", CW_RUN_SKIPPED, 5);
        bare.node = NULL;
        assert_int_equal(cw_store_run_insert(s, &bare), 0);
        assert_int_equal(bare.id, 2);
        assert_int_equal(cw_store_run_get(s, bare.id, &got), 0);
        assert_null(got.node);
        assert_null(got.reason);
        assert_null(got.lock_key);
        assert_int_equal(got.status, CW_RUN_SKIPPED);
        cw_run_release(&got);

        /* pid, progress, then the outcome. */
        assert_int_equal(cw_store_run_set_pid(s, in.id, 777, 4242), 0);
        assert_int_equal(cw_store_run_progress(s, in.id, 13, 77), 0);
        assert_int_equal(cw_store_run_get(s, in.id, &got), 0);
        assert_int_equal(got.pid, 777);
        assert_int_equal(got.pid_start, 4242);
        assert_int_equal(got.progress_done, 13);
        assert_int_equal(got.progress_total, 77);
        cw_run_release(&got);

        cw_run out = {.id = in.id,
                      .status = CW_RUN_TIMED_OUT,
                      .exit_code = -1,
                      .signal = 9,
                      .ended_us = 1800000010000000,
                      .output_size = 3u << 30,
                      .output_truncated = true,
                      .reason = (char *)"timed out after 10s"};
        assert_int_equal(cw_store_run_finish(s, &out, "x", 1), 0);
        assert_int_equal(cw_store_run_get(s, in.id, &got), 0);
        assert_int_equal(got.status, CW_RUN_TIMED_OUT);
        assert_int_equal(got.exit_code, -1);
        assert_int_equal(got.signal, 9);
        assert_int_equal(got.ended_us, out.ended_us);
        assert_int_equal(got.output_size, 3u << 30);
        assert_true(got.output_truncated);
        assert_string_equal(got.reason, "timed out after 10s");
        assert_int_equal(got.progress_done, 13); /* kept */
        assert_string_equal(got.spec, in.spec);
        cw_run_release(&got);

        /* Missing runs. */
        cw_run missing = {.id = 99, .status = CW_RUN_FAILED};
        void *o = (void *)1;
        size_t len = 7;
        got.id = 555;
        assert_int_equal(cw_store_run_get(s, 99, &got), -ENOENT);
        assert_int_equal(got.id, 555); /* untouched */
        assert_int_equal(cw_store_run_finish(s, &missing, "x", 1), -ENOENT);
        assert_int_equal(cw_store_run_set_pid(s, 99, 1, 1), -ENOENT);
        assert_int_equal(cw_store_run_progress(s, 99, 1, 2), -ENOENT);
        assert_int_equal(cw_store_run_output(s, 99, &o, &len), -ENOENT);
        assert_ptr_equal(o, (void *)1);
        assert_int_equal(len, 7);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM run_output WHERE run_id = 99"), 0);

        /* Arguments the store refuses before touching the file. */
        cw_run bad = new_run("Bad", CW_RUN_STATUS_MAX, 1);
        assert_int_equal(cw_store_run_insert(s, &bad), -EINVAL);
        bad = new_run(NULL, CW_RUN_RUNNING, 1);
        assert_int_equal(cw_store_run_insert(s, &bad), -EINVAL);
        bad = new_run("Bad", CW_RUN_RUNNING, 1);
        bad.trigger = CW_TRIGGER_MAX;
        assert_int_equal(cw_store_run_insert(s, &bad), -EINVAL);
        assert_int_equal(cw_store_run_finish(s, &out, NULL, 5), -EINVAL);
        assert_int_equal(cw_store_run_insert(NULL, &in), -EINVAL);
        cw_store_close(s);
        assert_integrity(f->db);
}

static void test_output(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        size_t big_len = 3u << 20;
        unsigned char *big = malloc(big_len);
        struct {
                const void *data;
                size_t len;
        } t[] = {
#define BYTES(lit) {lit, sizeof(lit) - 1}
                BYTES("hello\n"),
                BYTES(""),
                BYTES("a\0b\0\0c"),
                BYTES("\0"),
                BYTES("\xff\xfe\x80\xc3\x28 invalid utf-8"),
                {NULL, 0},
                {big, big_len},
                BYTES("after big"),
#undef BYTES
        };
        int64_t id = insert(s, "Out", CW_RUN_RUNNING, 1);
        uint32_t x = 2463534242u;

        assert_non_null(big);
        for (size_t i = 0; i < big_len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                big[i] = (unsigned char)x;
        }
        /* Never finished: no output yet. */
        void *o = (void *)1;
        size_t len = 1;
        assert_int_equal(cw_store_run_output(s, id, &o, &len), 0);
        assert_null(o);
        assert_int_equal(len, 0);

        /* Each finish replaces the output (the worker knows best). */
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                finish(s, id, CW_RUN_SUCCEEDED, t[i].data, t[i].len);
                o = (void *)1;
                assert_int_equal(cw_store_run_output(s, id, &o, &len), 0);
                assert_int_equal(len, t[i].len);
                if (t[i].len == 0) {
                        assert_null(o);
                        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM run_output"), 0);
                } else {
                        assert_non_null(o);
                        assert_memory_equal(o, t[i].data, t[i].len);
                        assert_int_equal(((char *)o)[len], '\0');
                }
                free(o);
        }
        free(big);
        cw_store_close(s);
}

/* Live output: snapshots replace each other while the run runs, are read
 * back with the size and status of the same moment, never wait for a
 * busy database, and cannot touch a run that has ended. */
static void test_output_snapshot(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f), *other = open_ok(f);
        int64_t id = insert(s, "Live", CW_RUN_RUNNING, 1),
                queued = insert(s, "Live", CW_RUN_QUEUED, 1);
        cw_run_output o = {0};
        cw_run run = {0};

        /* Nothing stored yet. */
        assert_int_equal(cw_store_run_output_get(s, id, &o), 0);
        assert_int_equal(o.status, CW_RUN_RUNNING);
        assert_true(o.size == 0 && !o.truncated && !o.data && o.len == 0);
        assert_int_equal(cw_store_run_output_get(s, id + 100, &o), -ENOENT);

        assert_int_equal(cw_store_run_output_snapshot(s, id, 6, false, "line1\n", 6), 0);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 12, false, "line1\nline2\n", 12), 0);
        assert_int_equal(cw_store_run_output_get(other, id, &o), 0);
        assert_int_equal(o.status, CW_RUN_RUNNING);
        assert_true(o.size == 12 && !o.truncated && o.len == 12);
        assert_memory_equal(o.data, "line1\nline2\n", 12);
        assert_int_equal(((char *)o.data)[o.len], '\0');
        cw_run_output_release(&o);
        assert_null(o.data);
        cw_run_output_release(NULL);
        assert_int_equal(cw_store_run_get(s, id, &run), 0);
        assert_true(run.output_size == 12 && run.status == CW_RUN_RUNNING && run.ended_us == 0);
        cw_run_release(&run);
        /* Truncated, binary, then empty again (no row). */
        assert_int_equal(cw_store_run_output_snapshot(s, id, 1000, true, "a\0b", 3), 0);
        assert_int_equal(cw_store_run_output_get(s, id, &o), 0);
        assert_true(o.size == 1000 && o.truncated && o.len == 3);
        assert_memory_equal(o.data, "a\0b", 3);
        cw_run_output_release(&o);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 0, false, NULL, 0), 0);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM run_output"), 0);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 0, false, NULL, 1), -EINVAL);

        /* Busy: another connection holds the write lock. The snapshot
         * answers at once (a waiting one would take CW_STORE_BUSY_MS) and
         * writes nothing; once the lock is free it goes in. */
        assert_int_equal(cw_store_batch_begin(other), 0);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 4, false, "busy", 4), -EBUSY);
        cw_store_batch_abort(other);
        assert_int_equal(cw_store_run_output_get(s, id, &o), 0);
        assert_true(o.size == 0 && o.len == 0);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 4, false, "free", 4), 0);
        /* The busy handler is back for every other write. */
        assert_int_equal(cw_store_run_progress(s, id, 1, 2), 0);
        assert_int_equal(raw_int(f->db, "SELECT progress_done FROM runs WHERE id = 1"), 1);

        /* Not running: queued, finished, missing. The final record stays. */
        assert_int_equal(cw_store_run_output_snapshot(s, queued, 4, false, "nope", 4), -ESTALE);
        finish(s, id, CW_RUN_SUCCEEDED, "final\n", 6);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 99, false, "late", 4), -ESTALE);
        assert_int_equal(cw_store_run_output_snapshot(s, id + 100, 4, false, "none", 4), -ENOENT);
        assert_int_equal(cw_store_run_output_get(s, id, &o), 0);
        assert_int_equal(o.status, CW_RUN_SUCCEEDED);
        assert_true(o.size == 6 && !o.truncated && o.len == 6);
        assert_memory_equal(o.data, "final\n", 6);
        cw_run_output_release(&o);
        assert_integrity(f->db);
        cw_store_close(other);
        cw_store_close(s);
}

/* Compare-and-set of the status and of the resume state. */
static void test_transition(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        int64_t a = insert(s, "T", CW_RUN_QUEUED, 1), missing = a + 100;
        static const struct {
                cw_run_status from, to;
                const char *reason;
                int ret;
                cw_run_status after;
                int64_t ended_us;
                const char *reason_after;
        } t[] = {
                {CW_RUN_RUNNING, CW_RUN_LOST, "gone", -ESTALE, CW_RUN_QUEUED, 0, NULL},
                {CW_RUN_QUEUED, CW_RUN_RUNNING, NULL, 0, CW_RUN_RUNNING, 0, NULL},
                {CW_RUN_QUEUED, CW_RUN_RUNNING, NULL, -ESTALE, CW_RUN_RUNNING, 0, NULL},
                {CW_RUN_RUNNING, CW_RUN_KILLED, "killed by cronwarden kill", 0, CW_RUN_KILLED, 5000,
                 "killed by cronwarden kill"},
                {CW_RUN_RUNNING, CW_RUN_LOST, "worker gone", -ESTALE, CW_RUN_KILLED, 5000,
                 "killed by cronwarden kill"},
                /* NULL keeps the reason. */
                {CW_RUN_KILLED, CW_RUN_LOST, NULL, 0, CW_RUN_LOST, 5000,
                 "killed by cronwarden kill"},
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                cw_run got;
                int r = cw_store_run_transition(s, a, t[i].from, t[i].to, t[i].reason, 5000);
                if (r != t[i].ret)
                        fail_msg("step %zu: got %d, want %d", i, r, t[i].ret);
                assert_int_equal(cw_store_run_get(s, a, &got), 0);
                assert_int_equal(got.status, t[i].after);
                assert_int_equal(got.ended_us, t[i].ended_us);
                if (t[i].reason_after)
                        assert_string_equal(got.reason, t[i].reason_after);
                else
                        assert_null(got.reason);
                cw_run_release(&got);
        }
        assert_int_equal(cw_store_run_transition(s, missing, CW_RUN_RUNNING, CW_RUN_LOST, "x", 1),
                         -ENOENT);
        assert_int_equal(cw_store_run_transition(s, a, CW_RUN_STATUS_MAX, CW_RUN_LOST, "x", 1),
                         -EINVAL);

        static const struct {
                cw_resume_state from, to;
                int ret;
                cw_resume_state after;
        } rs[] = {
                {CW_RESUME_PENDING, CW_RESUME_DONE, -ESTALE, CW_RESUME_NONE},
                {CW_RESUME_NONE, CW_RESUME_PENDING, 0, CW_RESUME_PENDING},
                {CW_RESUME_NONE, CW_RESUME_PENDING, -ESTALE, CW_RESUME_PENDING},
                {CW_RESUME_PENDING, CW_RESUME_CLEANED, 0, CW_RESUME_CLEANED},
                {CW_RESUME_PENDING, CW_RESUME_DONE, -ESTALE, CW_RESUME_CLEANED},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(rs); i++) {
                cw_run got;
                int r = cw_store_run_set_resume(s, a, rs[i].from, rs[i].to);
                if (r != rs[i].ret)
                        fail_msg("resume step %zu: got %d, want %d", i, r, rs[i].ret);
                assert_int_equal(cw_store_run_get(s, a, &got), 0);
                assert_int_equal(got.resume, rs[i].after);
                cw_run_release(&got);
        }
        assert_int_equal(cw_store_run_set_resume(s, missing, CW_RESUME_NONE, CW_RESUME_PENDING),
                         -ENOENT);
        assert_int_equal(cw_store_run_set_resume(s, a, CW_RESUME_NONE, CW_RESUME_MAX), -EINVAL);
        cw_store_close(s);
}

/* ---- listing -------------------------------------------------------------- */

#define IDS(...) ((const int64_t[]){__VA_ARGS__, 0})

static void expect_list(cw_store *s, const cw_run_filter *flt, const int64_t *want,
                        const char *what)
{
        cw_run *runs = NULL;
        size_t n = 0, nwant = 0;

        while (want[nwant])
                nwant++;
        assert_int_equal(cw_store_runs_list(s, flt, &runs, &n), 0);
        if (n != nwant)
                fail_msg("%s: %zu runs, want %zu", what, n, nwant);
        for (size_t i = 0; i < n; i++) {
                if (runs[i].id != want[i])
                        fail_msg("%s: run %zu is %" PRId64 ", want %" PRId64, what, i, runs[i].id,
                                 want[i]);
                assert_non_null(runs[i].job);
        }
        cw_runs_free(runs, n);
}

static void test_list_filters(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        /* id: job, status, resume */
        static const struct {
                const char *job;
                cw_run_status status;
                cw_resume_state resume;
        } rows[] = {
                {"A", CW_RUN_SUCCEEDED, CW_RESUME_NONE}, /* 1 */
                {"B", CW_RUN_FAILED, CW_RESUME_NONE},    /* 2 */
                {"A", CW_RUN_KILLED, CW_RESUME_PENDING}, /* 3 */
                {"A", CW_RUN_RUNNING, CW_RESUME_NONE},   /* 4 */
                {"B", CW_RUN_QUEUED, CW_RESUME_NONE},    /* 5 */
                {"B", CW_RUN_KILLED, CW_RESUME_DONE},    /* 6 */
                {"A", CW_RUN_FAILED, CW_RESUME_NONE},    /* 7 */
                {"C", CW_RUN_RUNNING, CW_RESUME_NONE},   /* 8 */
                {"B", CW_RUN_KILLED, CW_RESUME_PENDING}, /* 9 */
                {"A", CW_RUN_SUCCEEDED, CW_RESUME_NONE}, /* 10 */
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(rows); i++) {
                cw_run r = new_run(rows[i].job, rows[i].status, (int64_t)i);
                r.resume = rows[i].resume;
                assert_int_equal(cw_store_run_insert(s, &r), 0);
                assert_int_equal(r.id, (int64_t)i + 1);
        }

        /* FL(job, status, active, resume, before_id, limit); ANY is -1. */
#define ANY (-1)
#define FL(j, st, act, res, before, lim)                                                           \
        ((cw_run_filter){.job = (j),                                                               \
                         .status = (st),                                                           \
                         .active = (act),                                                          \
                         .resume = (res),                                                          \
                         .before_id = (before),                                                    \
                         .limit = (lim)})
        static const int64_t none[] = {0};
        const struct {
                cw_run_filter f;
                const int64_t *want;
                const char *what;
        } t[] = {
                {FL(NULL, ANY, false, ANY, 0, 0), IDS(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), "all"},
                {FL(NULL, ANY, false, ANY, 0, 3), IDS(10, 9, 8), "limit"},
                {FL("A", ANY, false, ANY, 0, 0), IDS(10, 7, 4, 3, 1), "job A"},
                {FL("A", ANY, false, ANY, 0, 2), IDS(10, 7), "job A, limit"},
                {FL("Z", ANY, false, ANY, 0, 0), none, "unknown job"},
                {FL(NULL, CW_RUN_KILLED, false, ANY, 0, 0), IDS(9, 6, 3), "killed"},
                {FL(NULL, CW_RUN_MISSED, false, ANY, 0, 0), none, "missed"},
                {FL("B", CW_RUN_KILLED, false, ANY, 0, 0), IDS(9, 6), "job B killed"},
                {FL(NULL, ANY, true, ANY, 0, 0), IDS(8, 5, 4), "active"},
                {FL("A", ANY, true, ANY, 0, 0), IDS(4), "active A"},
                {FL(NULL, CW_RUN_QUEUED, true, ANY, 0, 0), IDS(5), "active queued"},
                {FL(NULL, CW_RUN_FAILED, true, ANY, 0, 0), none, "active failed"},
                {FL(NULL, ANY, false, CW_RESUME_PENDING, 0, 0), IDS(9, 3), "resumable"},
                {FL("A", ANY, false, CW_RESUME_PENDING, 0, 0), IDS(3), "resumable A"},
                {FL(NULL, ANY, false, CW_RESUME_DONE, 0, 0), IDS(6), "resumed"},
                {FL("B", ANY, false, CW_RESUME_NONE, 0, 0), IDS(5, 2), "B not resumable"},
                {FL(NULL, ANY, false, ANY, 6, 0), IDS(5, 4, 3, 2, 1), "before 6"},
                {FL(NULL, ANY, false, ANY, 6, 2), IDS(5, 4), "before 6, limit"},
                {FL(NULL, ANY, false, ANY, 1, 0), none, "before 1"},
                {FL("A", ANY, false, ANY, 8, 2), IDS(7, 4), "A before 8"},
                {FL(NULL, ANY, true, ANY, 9, 0), IDS(8, 5, 4), "active before 9"},
                {FL(NULL, ANY, false, CW_RESUME_PENDING, 9, 0), IDS(3), "resumable before 9"},
                {FL(NULL, ANY, false, ANY, 100, 0), IDS(10, 9, 8, 7, 6, 5, 4, 3, 2, 1),
                 "before beyond"},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++)
                expect_list(s, &t[i].f, t[i].want, t[i].what);
        expect_list(s, NULL, IDS(10, 9, 8, 7, 6, 5, 4, 3, 2, 1), "NULL filter");

        /* Paging by before_id visits every run once, newest first. */
        int64_t next = 10, before = 0;
        for (;;) {
                cw_run_filter pf = FL(NULL, ANY, false, ANY, before, 3);
                cw_run *runs = NULL;
                size_t n = 0;
                assert_int_equal(cw_store_runs_list(s, &pf, &runs, &n), 0);
                for (size_t i = 0; i < n; i++)
                        assert_int_equal(runs[i].id, next--);
                before = n ? runs[n - 1].id : 0;
                cw_runs_free(runs, n);
                if (n < 3)
                        break;
        }
        assert_int_equal(next, 0);

        /* Listed runs carry their fields. */
        cw_run *runs = NULL;
        size_t n = 0;
        cw_run_filter one = FL("C", ANY, false, ANY, 0, 0);
        assert_int_equal(cw_store_runs_list(s, &one, &runs, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(runs[0].job, "C");
        assert_string_equal(runs[0].node, "node1");
        assert_int_equal(runs[0].status, CW_RUN_RUNNING);
        assert_int_equal(runs[0].trigger, CW_TRIGGER_MANUAL);
        assert_int_equal(runs[0].started_us, 7);
        cw_runs_free(runs, n);
        cw_runs_free(NULL, 0);

        /* Bad filters, and the out-parameters untouched. */
        runs = (cw_run *)1;
        n = 42;
        cw_run_filter bad = FL(NULL, CW_RUN_STATUS_MAX, false, ANY, 0, 0);
        assert_int_equal(cw_store_runs_list(s, &bad, &runs, &n), -EINVAL);
        bad = FL(NULL, ANY, false, 9, 0, 0);
        assert_int_equal(cw_store_runs_list(s, &bad, &runs, &n), -EINVAL);
        bad = FL(NULL, ANY, false, ANY, -1, 0);
        assert_int_equal(cw_store_runs_list(s, &bad, &runs, &n), -EINVAL);
        assert_ptr_equal(runs, (cw_run *)1);
        assert_int_equal(n, 42);
        cw_store_close(s);
}

/* Every combination of filters runs from an index or in id order, never
 * by a full scan of a large table followed by a sort: history must stay
 * fast with a million runs. Plans are fixed without ANALYZE statistics
 * (the store never gathers any), so an empty file shows the real plan. */
static void test_list_plans(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        static const int resumes[] = {-1, CW_RESUME_PENDING, CW_RESUME_DONE};

        for (unsigned m = 0; m < 16; m++) {
                for (size_t ri = 0; ri < CW_ARRAY_SIZE(resumes); ri++) {
                        cw_run_filter flt = {
                                .job = m & 1 ? "A" : NULL,
                                .status = m & 2 ? CW_RUN_RUNNING : -1,
                                .active = (m & 4) != 0,
                                .resume = resumes[ri],
                                .before_id = m & 8 ? 100 : 0,
                                .limit = 20,
                        };
                        char *plan = NULL;
                        bool filtered = flt.job || flt.status >= 0 || flt.active ||
                                        flt.resume == CW_RESUME_PENDING || flt.before_id;

                        assert_int_equal(cw_store_sqlite_list_plan(s, &flt, &plan), 0);
                        if (strstr(plan, "TEMP B-TREE"))
                                fail_msg("filter %u/%zu sorts:\n%s", m, ri, plan);
                        /* "SCAN runs" alone is the whole table; a scan of a
                         * partial index reads only its few rows. Without a
                         * selective filter the newest-first walk stops at
                         * the limit, which is fine. A filter on a resume
                         * state other than pending (nothing asks for one)
                         * is the one slow case left. */
                        if (filtered && strstr(plan, "SCAN runs\n"))
                                fail_msg("filter %u/%zu scans the table:\n%s", m, ri, plan);
                        if (flt.active && !strstr(plan, "runs_active"))
                                fail_msg("active filter %u/%zu misses runs_active:\n%s", m, ri,
                                         plan);
                        if (!flt.active && flt.resume == CW_RESUME_PENDING &&
                            !strstr(plan, "runs_resume"))
                                fail_msg("resume filter %u/%zu misses runs_resume:\n%s", m, ri,
                                         plan);
                        if (!flt.active && flt.resume != CW_RESUME_PENDING && flt.job &&
                            !strstr(plan, "runs_job") && !strstr(plan, "runs_status"))
                                fail_msg("job filter %u/%zu uses no index:\n%s", m, ri, plan);
                        free(plan);
                }
        }
        cw_store_close(s);
}

/* ---- prune ---------------------------------------------------------------- */

/* The file deleted, or replaced by another, under an open store. */
static void test_same_file(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f), *again;
        char wal[400];

        assert_int_equal(cw_store_same_file(s), 0);
        assert_int_equal(unlink(f->db), 0);
        assert_int_equal(cw_store_same_file(s), -ESTALE);
        snprintf(wal, sizeof(wal), "%s-wal", f->db);
        (void)unlink(wal);
        again = open_ok(f); /* a new file at the same path */
        assert_int_equal(cw_store_same_file(s), -ESTALE);
        assert_int_equal(cw_store_same_file(again), 0);
        cw_store_close(again);
        cw_store_close(s);
}

static int64_t max64(int64_t a, int64_t b)
{
        return a > b ? a : b;
}

/* A million per-second fires, each claimed and recorded (as the pass does:
 * claim, then a run, in the pass's batch), with a request now and then and
 * a prune keeping an hour after every simulated ~6 hours: the store's rows
 * stay bounded by what an hour and a batch hold, never by the million. */
static void test_prune_bounded_growth(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        const int64_t base = 1700000000, n = 1000000, chunk = 20000, keep = 3600;
        int64_t max_claims = 0, max_runs = 0, max_requests = 0;

        assert_int_equal(cw_store_job_enabled_set(s, "Every", true), 0);
        for (int64_t t0 = 0; t0 < n; t0 += chunk) {
                char now[32];

                assert_int_equal(cw_store_batch_begin(s), 0);
                for (int64_t t = base + t0; t < base + t0 + chunk; t++) {
                        bool won = false;

                        assert_int_equal(cw_store_claim(s, "Every", t, "n", &won), 0);
                        assert_true(won);
                        /* A run for every tenth (the runs' own pruning is
                         * test_prune's): the million is the claims'. */
                        if (t % 10 == 0) {
                                cw_run r = new_run("Every", CW_RUN_SKIPPED, t * 1000000);
                                assert_int_equal(cw_store_run_insert(s, &r), 0);
                        }
                        if (t % 1000 == 0) {
                                cw_request *req = NULL;
                                size_t k = 0;

                                assert_int_equal(
                                        cw_store_request_add(s, "Every", "t", t * 1000000, NULL),
                                        0);
                                assert_int_equal(cw_store_requests_take(s, 10, &req, &k), 0);
                                cw_requests_free(req, k);
                        }
                }
                snprintf(now, sizeof(now), "%" PRId64, base + t0 + chunk);
                assert_int_equal(cw_store_state_set(s, "last_pass", now), 0);
                assert_int_equal(cw_store_batch_commit(s), 0);
                assert_int_equal(cw_store_runs_prune(s, (base + t0 + chunk - keep) * 1000000, NULL),
                                 0);
                max_claims = max64(max_claims, raw_int(f->db, "SELECT count(*) FROM claims"));
                max_runs = max64(max_runs, raw_int(f->db, "SELECT count(*) FROM runs"));
                max_requests = max64(max_requests, raw_int(f->db, "SELECT count(*) FROM requests"));
        }
        /* Runs and requests: the hour kept. Claims: also the day before the
         * last pass that no pass can meet again only after it. */
        assert_true(max_runs <= keep / 10 + 1);
        assert_true(max_requests <= keep / 1000 + 1);
        assert_true(max_claims <= 86400 + chunk);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM job_state"), 0);
        cw_store_close(s);
}

static void test_prune(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        const int64_t cut = 1000000;
        int64_t old_done[4], old_active[2], young;
        uint64_t deleted = 99;
        cw_run got;

        old_done[0] = insert(s, "P", CW_RUN_RUNNING, 10);
        finish(s, old_done[0], CW_RUN_SUCCEEDED, "out0", 4);
        old_done[1] = insert(s, "P", CW_RUN_RUNNING, 20);
        finish(s, old_done[1], CW_RUN_FAILED, "out1", 4);
        old_done[2] = insert(s, "P", CW_RUN_SKIPPED, 30);
        old_done[3] = insert(s, "P", CW_RUN_RUNNING, 40);
        assert_int_equal(
                cw_store_run_transition(s, old_done[3], CW_RUN_RUNNING, CW_RUN_LOST, "x", 50), 0);
        old_active[0] = insert(s, "P", CW_RUN_RUNNING, 11);
        old_active[1] = insert(s, "P", CW_RUN_QUEUED, 12);
        young = insert(s, "P", CW_RUN_RUNNING, cut + 1);
        finish(s, young, CW_RUN_SUCCEEDED, "young", 5);
        int64_t edge = insert(s, "P", CW_RUN_RUNNING, cut); /* not before cut */
        finish(s, edge, CW_RUN_SUCCEEDED, "edge", 4);

        assert_int_equal(cw_store_runs_prune(s, cut, &deleted), 0);
        assert_int_equal(deleted, 4);
        for (size_t i = 0; i < 4; i++)
                assert_int_equal(cw_store_run_get(s, old_done[i], &got), -ENOENT);
        for (size_t i = 0; i < 2; i++) {
                assert_int_equal(cw_store_run_get(s, old_active[i], &got), 0);
                cw_run_release(&got);
        }
        assert_int_equal(cw_store_run_get(s, young, &got), 0);
        cw_run_release(&got);
        assert_int_equal(cw_store_run_get(s, edge, &got), 0);
        cw_run_release(&got);
        /* Their output went with them. */
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM run_output"), 2);
        assert_int_equal(cw_store_runs_prune(s, cut, &deleted), 0);
        assert_int_equal(deleted, 0);
        /* Everything, even "now": active runs stay. */
        assert_int_equal(cw_store_runs_prune(s, INT64_MAX, NULL), 0);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM runs"), 2);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM run_output"), 0);

        /* More than one batch. */
        for (int i = 0; i < 4500; i++) {
                int64_t id = insert(s, "Many", CW_RUN_RUNNING, 100 + i);
                finish(s, id, CW_RUN_SUCCEEDED, "o", 1);
        }
        assert_int_equal(cw_store_runs_prune(s, 100 + 4321, &deleted), 0);
        assert_int_equal(deleted, 4321);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM runs WHERE job = 'Many'"),
                         4500 - 4321);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM run_output"), 4500 - 4321);
        /* Ids are not reused after the newest runs were pruned. */
        assert_int_equal(cw_store_runs_prune(s, INT64_MAX, NULL), 0);
        assert_true(insert(s, "P", CW_RUN_RUNNING, 1) > young + 4500);
        cw_store_close(s);
        assert_integrity(f->db);
}

/* ---- scheduler state ------------------------------------------------------ */

static void test_claims(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        static const struct {
                const char *spec;
                cw_time at;
                const char *node;
                bool won;
        } t[] = {
                {"A", 1800000000, "n1", true},   {"A", 1800000000, "n1", false},
                {"A", 1800000000, "n2", false},  {"A", 1800000060, "n2", true},
                {"A:x", 1800000000, "n1", true}, {"B", 1800000000, "n2", true},
                {"B", -1, "n2", true},           {"B", -1, "n1", false},
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                bool won = !t[i].won;
                assert_int_equal(cw_store_claim(s, t[i].spec, t[i].at, t[i].node, &won), 0);
                if (won != t[i].won)
                        fail_msg("claim %zu: won %d", i, won);
        }
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM claims"), 5);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM claims WHERE spec = 'A' AND "
                                        "scheduled_at = 1800000000 AND node = 'n1'"),
                         1);
        bool won;
        assert_int_equal(cw_store_claim(s, NULL, 1, "n", &won), -EINVAL);
        assert_int_equal(cw_store_claim(s, "A", 1, NULL, &won), -EINVAL);
        cw_store_close(s);
}

/* What the store stamps by itself (a claim's claimed_us) comes from the
 * clock its opener set; without one, from the wall clock. */
static void test_clock(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        cw_instant before = cw_clock_real_us();
        cw_clock c;
        bool won;

        assert_int_equal(cw_store_claim(s, "A", 1800000000, "n", &won), 0);
        assert_true(raw_int(f->db, "SELECT claimed_us FROM claims WHERE spec = 'A'") >= before);
        cw_clock_init_fixed(&c, INT64_C(1800000000123456));
        cw_store_set_clock(s, &c);
        assert_int_equal(cw_store_claim(s, "B", 1800000000, "n", &won), 0);
        assert_true(raw_int(f->db, "SELECT claimed_us FROM claims WHERE spec = 'B'") ==
                    INT64_C(1800000000123456));
        cw_store_close(s);
}

#define RACE_INSTANTS 25

static int child_claim(size_t i, int fd, void *arg)
{
        cw_store *s = NULL;
        char node[32], won[RACE_INSTANTS];
        int r = child_open(arg, &s);

        if (r)
                return r;
        snprintf(node, sizeof(node), "node-%zu", i);
        for (int k = 0; k < RACE_INSTANTS; k++) {
                bool w = false;
                if (cw_store_claim(s, "Race:1", 1800000000 + 60 * k, node, &w) < 0)
                        return 20;
                won[k] = w;
        }
        cw_store_close(s);
        return write_all(fd, won, sizeof(won)) < 0 ? 21 : 0;
}

/* N processes race to claim the same instants: each has one winner. */
static void test_claims_race(void **state)
{
        fixture *f = *state;
        const size_t procs = 16;
        int winners[RACE_INSTANTS] = {0};
        gang g;
        char *out;
        size_t n;

        gang_init(&g);
        for (size_t i = 0; i < procs; i++)
                gang_spawn(&g, i, child_claim, f->data_dir);
        gang_run(&g, &out, &n);
        assert_int_equal(n, procs * RACE_INSTANTS);
        for (size_t i = 0; i < n; i++)
                winners[i % RACE_INSTANTS] += out[i];
        for (int k = 0; k < RACE_INSTANTS; k++)
                if (winners[k] != 1)
                        fail_msg("instant %d has %d winners", k, winners[k]);
        free(out);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM claims"), RACE_INSTANTS);
}

static void test_state_and_jobs(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        char *v = (char *)1;
        bool en = true;

        assert_int_equal(cw_store_state_get(s, "last_pass", &v), -ENOENT);
        assert_ptr_equal(v, (char *)1);
        static const struct {
                const char *key, *value;
        } kv[] = {
                {"last_pass", "1800000000"}, {"enabled", "yes"},
                {"last_pass", "1800000060"}, {"empty", ""},
                {"enabled", "no"},
        };
        for (size_t i = 0; i < CW_ARRAY_SIZE(kv); i++) {
                assert_int_equal(cw_store_state_set(s, kv[i].key, kv[i].value), 0);
                assert_int_equal(cw_store_state_get(s, kv[i].key, &v), 0);
                assert_string_equal(v, kv[i].value);
                free(v);
        }
        assert_int_equal(cw_store_state_get(s, "last_pass", &v), 0);
        assert_string_equal(v, "1800000060");
        free(v);
        assert_int_equal(cw_store_state_set(s, "k", NULL), -EINVAL);

        assert_int_equal(cw_store_job_enabled_get(s, "HelloWorld", &en), -ENOENT);
        assert_true(en);
        static const struct {
                const char *job;
                bool enabled;
        } jobs[] = {{"HelloWorld", false}, {"Other", true}, {"HelloWorld", true}, {"Other", false}};
        for (size_t i = 0; i < CW_ARRAY_SIZE(jobs); i++) {
                assert_int_equal(cw_store_job_enabled_set(s, jobs[i].job, jobs[i].enabled), 0);
                assert_int_equal(cw_store_job_enabled_get(s, jobs[i].job, &en), 0);
                assert_int_equal(en, jobs[i].enabled);
        }
        assert_int_equal(cw_store_job_enabled_get(s, "HelloWorld", &en), 0);
        assert_true(en);
        cw_store_close(s);
}

static void test_requests(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        cw_request *r = NULL;
        size_t n = 0;
        int64_t id = 0;

        for (int i = 1; i <= 5; i++) {
                char spec[32];
                snprintf(spec, sizeof(spec), "Job:%d", i);
                assert_int_equal(
                        cw_store_request_add(s, spec, i == 2 ? NULL : "admin", 100 + i, &id), 0);
                assert_int_equal(id, i);
        }
        assert_int_equal(cw_store_requests_take(s, 0, &r, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(cw_store_requests_take(s, 2, &r, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(r[0].id, 1);
        assert_string_equal(r[0].spec, "Job:1");
        assert_string_equal(r[0].by, "admin");
        assert_int_equal(r[0].requested_us, 101);
        assert_int_equal(r[1].id, 2);
        assert_null(r[1].by);
        cw_requests_free(r, n);
        assert_int_equal(cw_store_requests_take(s, 100, &r, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(r[0].id, 3);
        assert_int_equal(r[2].id, 5);
        cw_requests_free(r, n);
        assert_int_equal(cw_store_requests_take(s, 100, &r, &n), 0);
        assert_int_equal(n, 0);
        cw_requests_free(r, n);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM requests WHERE taken = 1"), 5);
        cw_requests_free(NULL, 0);
        assert_int_equal(cw_store_request_add(s, NULL, "x", 1, NULL), -EINVAL);
        cw_store_close(s);
}

#define TAKE_REQUESTS 400

static int child_take(size_t i, int fd, void *arg)
{
        cw_store *s = NULL;
        int r = child_open(arg, &s);

        (void)i;
        if (r)
                return r;
        for (;;) {
                cw_request *req = NULL;
                size_t n = 0;
                if (cw_store_requests_take(s, 3, &req, &n) < 0)
                        return 30;
                for (size_t k = 0; k < n; k++)
                        if (write_all(fd, &req[k].id, sizeof(req[k].id)) < 0)
                                return 31;
                cw_requests_free(req, n);
                if (n == 0)
                        break;
        }
        cw_store_close(s);
        return 0;
}

/* Takers in several processes never take the same request twice. */
static void test_requests_race(void **state)
{
        fixture *f = *state;
        static unsigned char seen[TAKE_REQUESTS + 1];
        cw_store *s = open_ok(f);
        gang g;
        char *out;
        size_t n;

        for (int i = 0; i < TAKE_REQUESTS; i++)
                assert_int_equal(cw_store_request_add(s, "J", "t", i, NULL), 0);
        cw_store_close(s);
        memset(seen, 0, sizeof(seen));
        gang_init(&g);
        for (size_t i = 0; i < 4; i++)
                gang_spawn(&g, i, child_take, f->data_dir);
        gang_run(&g, &out, &n);
        assert_int_equal(n, TAKE_REQUESTS * sizeof(int64_t));
        for (size_t i = 0; i < n; i += sizeof(int64_t)) {
                int64_t id;
                memcpy(&id, out + i, sizeof(id));
                assert_true(id >= 1 && id <= TAKE_REQUESTS);
                if (seen[id]++)
                        fail_msg("request %" PRId64 " taken twice", id);
        }
        free(out);
}

/* ---- busy database ---------------------------------------------------------- */

#define HOLD_MS 300

static double mono_s(void)
{
        return (double)cw_clock_mono_us() / 1e6;
}

/* Another process holds the write lock for HOLD_MS: a write waits for it
 * and is made, it neither fails nor is lost. */
static void test_busy_waits(void **state)
{
        fixture *f = *state;
        int p[2], st;
        char c;
        pid_t pid;

        cw_store_close(open_ok(f));
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                sqlite3 *h = NULL;
                struct timespec hold = {0, HOLD_MS * 1000000L};
                close(p[0]);
                alarm(CHILD_ALARM_S);
                if (sqlite3_open_v2(f->db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
                    sqlite3_exec(
                            h, "BEGIN IMMEDIATE; INSERT INTO scheduler_state VALUES ('held', 'x')",
                            NULL, NULL, NULL) != SQLITE_OK)
                        _exit(1);
                if (write(p[1], "l", 1) != 1)
                        _exit(2);
                nanosleep(&hold, NULL);
                _exit(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0 : 3);
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1); /* the lock is held now */
        close(p[0]);

        cw_store *s = open_ok(f);
        double t0 = mono_s();
        char *v = NULL;
        assert_int_equal(cw_store_state_set(s, "mine", "y"), 0);
        assert_true(mono_s() - t0 >= HOLD_MS / 1000.0 * 0.5);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(cw_store_state_get(s, "held", &v), 0);
        assert_string_equal(v, "x");
        free(v);
        assert_int_equal(cw_store_state_get(s, "mine", &v), 0);
        assert_string_equal(v, "y");
        free(v);
        cw_store_close(s);
}

/* ---- concurrent writers --------------------------------------------------- */

#define WRITERS 50
#define WRITER_RUNS 40

static int child_writer(size_t i, int fd, void *arg)
{
        cw_store *s = NULL;
        char out[256], job[32];
        int r = child_open(arg, &s);

        (void)fd;
        if (r)
                return r;
        snprintf(job, sizeof(job), "W%zu", i);
        for (int k = 0; k < WRITER_RUNS; k++) {
                cw_run run = new_run(job, CW_RUN_RUNNING, (int64_t)k);
                int len = snprintf(out, sizeof(out), "writer %zu run %d\n", i, k);
                if (cw_store_run_insert(s, &run) < 0)
                        return 40;
                if (cw_store_run_progress(s, run.id, k, WRITER_RUNS) < 0)
                        return 41;
                run.status = CW_RUN_SUCCEEDED;
                run.exit_code = 0;
                run.ended_us = k + 1;
                run.output_size = (uint64_t)len;
                if (cw_store_run_finish(s, &run, out, (size_t)len) < 0)
                        return 42;
        }
        cw_store_close(s);
        return 0;
}

/* 50 processes record 40 runs each at once: all 2000 are there, finished,
 * with their output, and the file is sound. */
static void test_concurrent_writers(void **state)
{
        fixture *f = *state;
        gang g;
        char *out;
        size_t n;

        gang_init(&g);
        for (size_t i = 0; i < WRITERS; i++)
                gang_spawn(&g, i, child_writer, f->data_dir);
        gang_run(&g, &out, &n);
        free(out);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM runs"), WRITERS * WRITER_RUNS);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM runs WHERE status = 'succeeded' "
                                        "AND progress_total = 40"),
                         WRITERS * WRITER_RUNS);
        assert_int_equal(raw_int(f->db, "SELECT count(DISTINCT job) FROM runs"), WRITERS);
        assert_int_equal(raw_int(f->db,
                                 "SELECT count(*) FROM run_output o JOIN runs r "
                                 "ON r.id = o.run_id WHERE length(o.output) = r.output_size"),
                         WRITERS * WRITER_RUNS);
        assert_integrity(f->db);

        /* And the store reads them back. */
        cw_store *s = open_ok(f);
        cw_run_filter flt = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        flt.job = "W7";
        assert_int_equal(cw_store_runs_list(s, &flt, &runs, &n), 0);
        assert_int_equal(n, WRITER_RUNS);
        for (size_t i = 0; i < n; i++) {
                void *o = NULL;
                size_t len = 0;
                char want[64];
                snprintf(want, sizeof(want), "writer 7 run %zu\n", WRITER_RUNS - 1 - i);
                assert_int_equal(runs[i].started_us, (int64_t)(WRITER_RUNS - 1 - i));
                assert_int_equal(cw_store_run_output(s, runs[i].id, &o, &len), 0);
                assert_int_equal(len, strlen(want));
                assert_memory_equal(o, want, len);
                free(o);
        }
        cw_runs_free(runs, n);
        cw_store_close(s);
}

/* ---- aggregates, UI entries, admin reads (schema 2) ------------------------ */

static cw_job_stats *stats_of(cw_job_stats *st, size_t n, const char *job)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(st[i].job, job) == 0)
                        return &st[i];
        return NULL;
}

static void finish_at(cw_store *s, int64_t id, cw_run_status status, int64_t ended_us)
{
        cw_run r = {.id = id,
                    .status = status,
                    .exit_code = status == CW_RUN_SUCCEEDED ? 0 : 1,
                    .ended_us = ended_us};

        assert_int_equal(cw_store_run_finish(s, &r, NULL, 0), 0);
}

/* cw_store_exists: false until the store is first opened (which creates
 * it), for the default file and for sqlite:PATH; other kinds count as
 * existing. */
static void test_exists(void **state)
{
        fixture *f = *state;
        char url[400];
        cw_store *s;

        assert_false(cw_store_exists("sqlite", f->data_dir));
        assert_false(cw_store_exists(NULL, f->data_dir));
        s = open_ok(f);
        cw_store_close(s);
        assert_true(cw_store_exists("sqlite", f->data_dir));
        snprintf(url, sizeof(url), "sqlite:%s/other.db", f->dir);
        assert_false(cw_store_exists(url, f->data_dir));
        /* A bad URL "exists": opening it says what is wrong. */
        assert_true(cw_store_exists("sqlite:", f->data_dir));
        snprintf(url, sizeof(url), "sqlite:%s", f->db);
        assert_true(cw_store_exists(url, f->data_dir));
        assert_true(cw_store_exists("postgresql://db/x", f->data_dir));
}

/* Every way a run reaches a final status is counted once: finish, an
 * insert that is final at once (skipped), a transition (lost), and a
 * finish that corrects a lost run moves its count. Pruning keeps them. */
static void test_stats(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        cw_job_stats *st = NULL, *a, *b;
        cw_store_hist late;
        cw_run r;
        size_t n = 0;
        int64_t id1, id2, id3, id4;
        uint64_t deleted = 0;

        /* A, scheduled: 0.3 s late, runs 2 s, succeeds. */
        r = new_run("A", CW_RUN_RUNNING, 100300000);
        r.trigger = CW_TRIGGER_SCHEDULE;
        r.scheduled_at = 100;
        assert_int_equal(cw_store_run_insert(s, &r), 0);
        id1 = r.id;
        finish_at(s, id1, CW_RUN_SUCCEEDED, 102300000);
        /* A again: fails after 40 s. */
        id2 = insert(s, "A", CW_RUN_RUNNING, 200000000);
        finish_at(s, id2, CW_RUN_FAILED, 240000000);
        /* B: skipped (final at insert, no duration). */
        r = new_run("B", CW_RUN_SKIPPED, 300000000);
        r.ended_us = 300000000;
        assert_int_equal(cw_store_run_insert(s, &r), 0);
        id3 = r.id;
        /* B: marked lost, then its worker reports success after all. */
        id4 = insert(s, "B", CW_RUN_RUNNING, 400000000);
        assert_int_equal(
                cw_store_run_transition(s, id4, CW_RUN_RUNNING, CW_RUN_LOST, "gone", 401000000), 0);
        finish_at(s, id4, CW_RUN_SUCCEEDED, 402000000);

        assert_int_equal(cw_store_stats_list(s, NULL, &st, &n, &late), 0);
        assert_int_equal(n, 2);
        a = stats_of(st, n, "A");
        b = stats_of(st, n, "B");
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(a->runs[CW_RUN_SUCCEEDED], 1);
        assert_int_equal(a->runs[CW_RUN_FAILED], 1);
        assert_int_equal(a->last_run_id, id2);
        assert_int_equal(a->last_success_us, 102300000);
        assert_int_equal(a->duration.count, 2);
        assert_true(a->duration.sum > 41.99 && a->duration.sum < 42.01);
        assert_int_equal(a->duration.counts[3], 1); /* 2 s: (1, 2.5] */
        assert_int_equal(a->duration.counts[7], 1); /* 40 s: (30, 60] */
        assert_int_equal(b->runs[CW_RUN_SKIPPED], 1);
        assert_int_equal(b->runs[CW_RUN_LOST], 0);
        assert_int_equal(b->runs[CW_RUN_SUCCEEDED], 1);
        assert_int_equal(b->last_run_id, id4);
        assert_int_equal(b->last_success_us, 402000000);
        assert_int_equal(b->duration.count, 1); /* lost observed once; the correction adds none */
        assert_int_equal(late.count, 1);
        assert_int_equal(late.counts[6], 1); /* 0.3 s: (0.25, 0.5] */
        assert_true(late.sum > 0.29 && late.sum < 0.31);
        cw_job_stats_free(st, n);

        /* One job only. */
        assert_int_equal(cw_store_stats_list(s, "B", &st, &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_string_equal(st[0].job, "B");
        cw_job_stats_free(st, n);
        assert_int_equal(cw_store_stats_list(s, "'; DROP TABLE runs; --", &st, &n, NULL), 0);
        assert_int_equal(n, 0);
        cw_job_stats_free(st, n);

        /* The newest final run of every job, in one query. */
        {
                cw_run *runs = NULL;
                size_t nr = 0;
                bool seen2 = false, seen4 = false;

                const char *const some[] = {"B", "nope", "it's; --"};

                assert_int_equal(cw_store_jobs_last(s, NULL, 0, &runs, &nr), 0);
                assert_int_equal(nr, 2);
                for (size_t i = 0; i < nr; i++) {
                        seen2 |= runs[i].id == id2 && runs[i].status == CW_RUN_FAILED;
                        seen4 |= runs[i].id == id4 && runs[i].status == CW_RUN_SUCCEEDED;
                }
                assert_true(seen2 && seen4);
                cw_runs_free(runs, nr);
                /* Only the jobs asked for; unknown names give nothing. */
                assert_int_equal(cw_store_jobs_last(s, some, CW_ARRAY_SIZE(some), &runs, &nr), 0);
                assert_int_equal(nr, 1);
                assert_int_equal(runs[0].id, id4);
                cw_runs_free(runs, nr);
                assert_int_equal(cw_store_jobs_last(s, some, 0, &runs, &nr), 0);
                assert_int_equal(nr, 0);
                cw_runs_free(runs, nr);
        }
        {
                /* A's last run failed, B's (lost, then corrected) succeeded. */
                char **names = NULL;
                size_t nn = 0;

                assert_int_equal(cw_store_jobs_failing(s, &names, &nn), 0);
                assert_int_equal(nn, 1);
                assert_string_equal(names[0], "A");
                cw_store_names_free(names, nn);
        }

        /* Pruning everything keeps the counts. */
        assert_int_equal(cw_store_runs_prune(s, INT64_MAX, &deleted), 0);
        assert_int_equal(deleted, 4);
        assert_int_equal(cw_store_stats_list(s, NULL, &st, &n, NULL), 0);
        assert_int_equal(n, 2);
        assert_int_equal(stats_of(st, n, "A")->runs[CW_RUN_SUCCEEDED], 1);
        assert_int_equal(stats_of(st, n, "A")->duration.count, 2);
        cw_job_stats_free(st, n);
        (void)id3;
        cw_store_close(s);
        assert_integrity(f->db);
}

/* A store at schema 1 with history gets the aggregates backfilled. */
static void test_migration_backfill(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        cw_job_stats *st = NULL;
        cw_store_hist late;
        size_t n = 0;
        int64_t id;

        id = insert(s, "Old", CW_RUN_RUNNING, 1000000);
        finish_at(s, id, CW_RUN_SUCCEEDED, 1500000); /* 0.5 s */
        insert(s, "Old", CW_RUN_RUNNING, 2000000);   /* still running: not counted */
        id = insert(s, "Old2", CW_RUN_RUNNING, 1000000);
        finish_at(s, id, CW_RUN_FAILED, 100000000); /* 99 s */
        cw_store_close(s);
        /* Back to schema 1, as an older cronwarden left it. */
        raw_exec(
                f->db,
                "DROP TABLE job_stats; DROP TABLE run_counts; DROP TABLE histograms; DROP INDEX runs_job_status;"
                "DROP TABLE histogram_sums; DROP TABLE ui_entries; DROP TABLE outbox;"
                "DELETE FROM schema_version WHERE version >= 2;"
                "UPDATE runs SET trigger = 'schedule', scheduled_at = 1 WHERE job = 'Old2'");
        s = open_ok(f);
        assert_int_equal(cw_store_schema_version(s), SCHEMA_LATEST);
        assert_int_equal(cw_store_stats_list(s, NULL, &st, &n, &late), 0);
        assert_int_equal(n, 2);
        assert_int_equal(stats_of(st, n, "Old")->runs[CW_RUN_SUCCEEDED], 1);
        assert_int_equal(stats_of(st, n, "Old")->last_success_us, 1500000);
        assert_int_equal(stats_of(st, n, "Old")->duration.counts[1], 1); /* (0.1, 0.5] */
        assert_int_equal(stats_of(st, n, "Old2")->runs[CW_RUN_FAILED], 1);
        assert_int_equal(stats_of(st, n, "Old2")->duration.counts[8], 1); /* (60, 300] */
        assert_int_equal(stats_of(st, n, "Old2")->last_run_id, id);
        assert_int_equal(late.count, 1);
        assert_int_equal(late.counts[CW_STORE_LATENESS_BUCKETS], 0);
        cw_job_stats_free(st, n);
        cw_store_close(s);
        assert_integrity(f->db);
}

/* Takes a store of schema 5 back to schema 4, as a cronwarden before
 * migration 5 (the notification outbox) left it. */
#define UNDO_MIGRATION_5                                                                           \
        "DROP TABLE outbox;"                                                                       \
        "DELETE FROM schema_version WHERE version >= 5;"

/* A store of schema 4 gets migration 5: the notification outbox, empty,
 * and keeps its runs. */
static void test_migration_5(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        int64_t id;

        id = insert(s, "Kept", CW_RUN_RUNNING, 1000000);
        finish_at(s, id, CW_RUN_SUCCEEDED, 2000000);
        cw_store_close(s);
        raw_exec(f->db, UNDO_MIGRATION_5);
        s = open_ok(f);
        assert_int_equal(cw_store_schema_version(s), SCHEMA_LATEST);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"),
                         1);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM outbox"), 0);
        assert_int_equal(raw_int(f->db, "SELECT count(*) FROM runs WHERE job = 'Kept'"), 1);
        cw_store_close(s);
        assert_integrity(f->db);
}

/* Takes a store of the latest schema back to schema 3, as a cronwarden
 * before migration 4 left it (its data kept). */
#define UNDO_MIGRATION_4                                                                           \
        "ALTER TABLE job_stats DROP COLUMN last_failure_us;"                                       \
        "ALTER TABLE job_stats DROP COLUMN last_duration_us;"                                      \
        "ALTER TABLE job_stats DROP COLUMN consecutive_failures;"                                  \
        "DELETE FROM histograms WHERE metric = 'duration' AND job = '';"                           \
        "DELETE FROM histogram_sums WHERE metric = 'duration' AND job = '';"                       \
        "DELETE FROM schema_version WHERE version >= 4;"

/* A store of schema 3 gets migration 4: the alerting columns and the
 * all-jobs duration histogram backfilled from the runs. */
static void test_migration_4(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        cw_job_stats *st = NULL;
        cw_store_hist late, dur;
        size_t n = 0;
        int64_t id;

        id = insert(s, "Flaky", CW_RUN_RUNNING, 1000000);
        finish_at(s, id, CW_RUN_FAILED, 2000000);
        id = insert(s, "Flaky", CW_RUN_RUNNING, 3000000);
        finish_at(s, id, CW_RUN_SUCCEEDED, 3500000);
        id = insert(s, "Flaky", CW_RUN_RUNNING, 4000000);
        finish_at(s, id, CW_RUN_FAILED, 7000000);
        id = insert(s, "Flaky", CW_RUN_RUNNING, 8000000);
        finish_at(s, id, CW_RUN_TIMED_OUT, 9000000);
        id = insert(s, "Never", CW_RUN_SKIPPED, 1000000);
        cw_store_close(s);
        raw_exec(f->db, UNDO_MIGRATION_5 UNDO_MIGRATION_4);
        s = open_ok(f);
        assert_int_equal(cw_store_schema_version(s), SCHEMA_LATEST);
        assert_int_equal(cw_store_stats_summary(s, &st, &n, &late, &dur), 0);
        assert_int_equal(n, 2);
        assert_int_equal(stats_of(st, n, "Flaky")->consecutive_failures, 2);
        assert_int_equal(stats_of(st, n, "Flaky")->last_failure_us, 9000000);
        assert_int_equal(stats_of(st, n, "Flaky")->last_duration_us, 1000000);
        assert_int_equal(stats_of(st, n, "Flaky")->last_status, CW_RUN_TIMED_OUT);
        assert_int_equal(stats_of(st, n, "Flaky")->duration.count, 0); /* not read */
        assert_int_equal(stats_of(st, n, "Never")->last_duration_us, -1);
        assert_int_equal(stats_of(st, n, "Never")->consecutive_failures, 0);
        assert_int_equal(stats_of(st, n, "Never")->last_status, CW_RUN_SKIPPED);
        assert_int_equal(dur.count, 4);
        assert_int_equal(dur.counts[2], 2); /* the two 1 s runs: (0.5, 1] */
        cw_job_stats_free(st, n);
        cw_store_close(s);
        assert_integrity(f->db);
}

/* A store of schema 2 gets migration 3 (an index) and keeps its data. */
static void test_migration_3(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        char **names = NULL;
        size_t n = 0;
        int64_t id;

        id = insert(s, "Bad", CW_RUN_RUNNING, 1000000);
        finish_at(s, id, CW_RUN_FAILED, 2000000);
        id = insert(s, "Good", CW_RUN_RUNNING, 1000000);
        finish_at(s, id, CW_RUN_SUCCEEDED, 2000000);
        cw_store_close(s);
        raw_exec(f->db, UNDO_MIGRATION_5 UNDO_MIGRATION_4
                 "DROP INDEX job_stats_status; DELETE FROM schema_version WHERE version = 3;");
        s = open_ok(f);
        assert_int_equal(cw_store_schema_version(s), SCHEMA_LATEST);
        assert_int_equal(
                raw_int(f->db,
                        "SELECT count(*) FROM sqlite_master WHERE name = 'job_stats_status'"),
                1);
        assert_int_equal(cw_store_jobs_failing(s, &names, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], "Bad");
        cw_store_names_free(names, n);
        cw_store_close(s);
        assert_integrity(f->db);
}

static void test_ui_entries(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        const char *evil = "x'; DROP TABLE ui_entries; -- %_\"";
        cw_ui_entry e = {.schedule = (char *)"*/5 * * * *",
                         .spec = (char *)"Job:a,b=\"c d\"",
                         .description = (char *)evil,
                         .enabled = true,
                         .created_by = (char *)"admin",
                         .created_us = 10,
                         .updated_us = 10};
        cw_ui_entry got = {0}, *list = NULL;
        size_t n = 0;
        int64_t id1;

        assert_int_equal(cw_store_ui_entry_add(s, &e), 0);
        id1 = e.id;
        assert_true(id1 > 0);
        e.spec = NULL;
        e.command = (char *)"/bin/echo 'hi there'";
        e.enabled = false;
        assert_int_equal(cw_store_ui_entry_add(s, &e), 0);
        assert_true(e.id > id1);
        /* Both or neither of spec and command: refused. */
        e.spec = (char *)"Job";
        assert_int_equal(cw_store_ui_entry_add(s, &e), -EINVAL);
        e.spec = e.command = NULL;
        assert_int_equal(cw_store_ui_entry_add(s, &e), -EINVAL);

        assert_int_equal(cw_store_ui_entry_get(s, id1, &got), 0);
        assert_string_equal(got.schedule, "*/5 * * * *");
        assert_string_equal(got.spec, "Job:a,b=\"c d\"");
        assert_null(got.command);
        assert_string_equal(got.description, evil);
        assert_true(got.enabled);
        assert_string_equal(got.created_by, "admin");
        assert_int_equal(got.created_us, 10);
        cw_ui_entry_release(&got);

        got = (cw_ui_entry){.id = id1,
                            .schedule = (char *)"every 1h",
                            .spec = (char *)"Other",
                            .description = (char *)"",
                            .enabled = false,
                            .updated_us = 20};
        assert_int_equal(cw_store_ui_entry_update(s, &got), 0);
        got.id = 999;
        assert_int_equal(cw_store_ui_entry_update(s, &got), -ENOENT);
        got = (cw_ui_entry){0};

        assert_int_equal(cw_store_ui_entries_list(s, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].id, id1);
        assert_string_equal(list[0].schedule, "every 1h");
        assert_string_equal(list[0].spec, "Other");
        assert_false(list[0].enabled);
        assert_int_equal(list[0].created_us, 10);
        assert_int_equal(list[0].updated_us, 20);
        assert_string_equal(list[1].command, "/bin/echo 'hi there'");
        assert_null(list[1].spec);
        cw_ui_entries_free(list, n);

        assert_int_equal(cw_store_ui_entry_delete(s, id1), 0);
        assert_int_equal(cw_store_ui_entry_delete(s, id1), -ENOENT);
        assert_int_equal(cw_store_ui_entry_get(s, id1, &got), -ENOENT);
        assert_int_equal(cw_store_ui_entry_get(s, -1, &got), -ENOENT);
        assert_int_equal(cw_store_ui_entries_list(s, &list, &n), 0);
        assert_int_equal(n, 1);
        cw_ui_entries_free(list, n);
        cw_store_close(s);
        assert_integrity(f->db);
}

static void test_admin_reads(void **state)
{
        fixture *f = *state;
        cw_store *s = open_ok(f);
        cw_request *reqs = NULL;
        char **names = NULL;
        size_t n = 0;

        assert_int_equal(cw_store_request_add(s, "A", "u", 1, NULL), 0);
        assert_int_equal(cw_store_request_add(s, "B:x", "u", 2, NULL), 0);
        assert_int_equal(cw_store_request_add(s, "C", NULL, 3, NULL), 0);
        assert_int_equal(cw_store_requests_pending(s, 0, &reqs, &n), 0);
        assert_int_equal(n, 3);
        assert_string_equal(reqs[1].spec, "B:x");
        assert_null(reqs[2].by);
        cw_requests_free(reqs, n);
        /* Looking did not take them. */
        assert_int_equal(cw_store_requests_take(s, 2, &reqs, &n), 0);
        assert_int_equal(n, 2);
        cw_requests_free(reqs, n);
        assert_int_equal(cw_store_requests_pending(s, 10, &reqs, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(reqs[0].spec, "C");
        cw_requests_free(reqs, n);

        assert_int_equal(cw_store_jobs_disabled(s, &names, &n), 0);
        assert_int_equal(n, 0);
        cw_store_names_free(names, n);
        assert_int_equal(cw_store_job_enabled_set(s, "Zed", false), 0);
        assert_int_equal(cw_store_job_enabled_set(s, "Alpha", false), 0);
        assert_int_equal(cw_store_job_enabled_set(s, "Mid", true), 0);
        assert_int_equal(cw_store_jobs_disabled(s, &names, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "Alpha");
        assert_string_equal(names[1], "Zed");
        cw_store_names_free(names, n);
        cw_store_close(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
                cmocka_unit_test(test_string_tables),
                cmocka_unit_test(test_dispatch),
                T(test_open_creates),
                T(test_reopen_keeps_data),
                T(test_urls),
                T(test_migration_race),
                T(test_error_unwritable),
                T(test_error_files),
                T(test_run_roundtrip),
                T(test_output),
                T(test_output_snapshot),
                T(test_transition),
                T(test_list_filters),
                T(test_list_plans),
                T(test_prune),
                T(test_prune_bounded_growth),
                T(test_same_file),
                T(test_claims),
                T(test_clock),
                T(test_claims_race),
                T(test_state_and_jobs),
                T(test_requests),
                T(test_requests_race),
                T(test_busy_waits),
                T(test_concurrent_writers),
                T(test_stats),
                T(test_exists),
                T(test_migration_backfill),
                T(test_migration_3),
                T(test_migration_4),
                T(test_migration_5),
                T(test_ui_entries),
                T(test_admin_reads),
#undef T
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
