/* store_conformance.c - what every store backend must do (store.h), one
 * suite run against a backend by name: `store_conformance [BACKEND]`, or
 * CW_STORE_BACKEND=NAME; "sqlite" by default. A backend's entry in
 * backends[] says how to get a store URL for one test; nothing else here
 * knows which backend it talks to, so a new backend passes this suite
 * unchanged or is not done.
 *
 * Every test uses names of its own (job, spec, key: a tag made of the
 * test's name and the process id), and looks only at what it wrote, so
 * the suite also holds on a backend whose tests share one database.
 *
 * The operations are pinned one by one (results, errors, what is left
 * untouched), then the concurrency promises: two processes claiming the
 * same fires (one winner each), a writer holding a transaction while
 * another waits for it (bounded by CW_STORE_BUSY_MS) and succeeds, a
 * process killed with SIGKILL inside a transaction (nothing of it
 * remains), a process killed among a stream of writes (every run it left
 * is whole, and the aggregates agree with the runs), writers in
 * several processes at once (none lost), and senders in three processes
 * draining one notification outbox (each row claimed once). Processes are forked before the
 * parent opens its store (a connection must not cross a fork); each
 * child has an alarm so a hang ends as a failure. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
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

#include "base/macro.h"
#include "store/run.h"
#include "store/store.h"
#include "test_tmpdir.h"

#define CHILD_ALARM_S 100

/* ---- backends ------------------------------------------------------------- */

typedef struct backend {
        const char *name;
        /* The URL of the store one test uses, given that test's own empty
         * directory: 0, or -EAGAIN to skip the suite (not configured). */
        int (*url)(const char *dir, char *buf, size_t size);
        /* Writers wait for each other (one write lock for the whole
         * store), so the busy test can check that a write really waited. */
        bool one_writer;
        /* Outbox leases run by the store's own clock, shared by every
         * host, not by the claims' now_us. */
        bool db_clock;
} backend;

static int sqlite_url(const char *dir, char *buf, size_t size)
{
        snprintf(buf, size, "sqlite:%s/store/cw.db", dir);
        return 0;
}

/* PostgreSQL: the database named by CW_TEST_POSTGRESQL_URL (tests keep to
 * their own names, see the top of the file). */
static int postgresql_url(const char *dir, char *buf, size_t size)
{
        const char *url = getenv("CW_TEST_POSTGRESQL_URL");

        (void)dir;
        if (!url || !*url)
                return -EAGAIN;
        snprintf(buf, size, "%s", url);
        return 0;
}

static const backend backends[] = {
        {"sqlite", sqlite_url, true, false},
        {"postgresql", postgresql_url, false, true},
};

/* The backend under test, chosen in main (cmocka passes no arguments). */
static const backend *under_test;

/* ---- fixture -------------------------------------------------------------- */

typedef struct fixture {
        char dir[256];
        char url[1024];
        char tag[64]; /* unique per test: prefix of every name it uses */
        cw_store *s;
} fixture;

static int open_url(const char *url, cw_store **ret)
{
        cw_error e;
        int r = cw_store_open(url, NULL, ret, &e);

        if (r < 0)
                print_error("cannot open store '%s': %s (%d)\n", url, e.msg, r);
        return r;
}

static int setup(void **state)
{
        fixture *f = calloc(1, sizeof(*f));
        const char *base = getenv("TMPDIR");
        static unsigned seq;

        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "%s/cw-conformance-XXXXXX", base && *base ? base : "/tmp");
        assert_non_null(mkdtemp(f->dir));
        assert_int_equal(under_test->url(f->dir, f->url, sizeof(f->url)), 0);
        snprintf(f->tag, sizeof(f->tag), "t%d-%u-%lld", (int)getpid(), ++seq,
                 (long long)cw_instant_sec(cw_clock_real_us()));
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture *f = *state;

        cw_store_close(f->s);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

/* The fixture's store, opened on first use. */
static cw_store *store(fixture *f)
{
        if (!f->s)
                assert_int_equal(open_url(f->url, &f->s), 0);
        return f->s;
}

/* A name of this test's own: tag "-" what. */
static const char *name(fixture *f, const char *what, char *buf, size_t size)
{
        snprintf(buf, size, "%s-%s", f->tag, what);
        return buf;
}

static int64_t now_us(void)
{
        return cw_clock_real_us();
}

static int64_t mono_ms(void)
{
        return cw_clock_mono_us() / 1000;
}

/* A run as the worker records it at start; strings are the caller's. */
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

static int finish_at(cw_store *s, int64_t id, cw_run_status status, int64_t ended_us,
                     const char *out)
{
        cw_run r = {.id = id,
                    .status = status,
                    .exit_code = status == CW_RUN_SUCCEEDED ? 0 : 1,
                    .ended_us = ended_us,
                    .output_size = out ? strlen(out) : 0};

        return cw_store_run_finish(s, &r, out, out ? strlen(out) : 0);
}

static cw_run_status status_of(cw_store *s, int64_t id)
{
        cw_run r = {0};
        cw_run_status st;

        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        st = r.status;
        cw_run_release(&r);
        return st;
}

/* The runs of job (newest first). */
static size_t runs_of(cw_store *s, const char *job, cw_run **ret)
{
        cw_run_filter flt = CW_RUN_FILTER_INIT;
        size_t n = 0;

        flt.job = job;
        assert_int_equal(cw_store_runs_list(s, &flt, ret, &n), 0);
        return n;
}

/* ---- processes ------------------------------------------------------------ */

/* Forks a child that runs fn(f, fd, arg) with the write end of a pipe
 * (the parent gets the read end in *ret_fd) and exits with its result. */
static pid_t child(fixture *f, int (*fn)(fixture *, int, void *), void *arg, int *ret_fd)
{
        int p[2];
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                alarm(CHILD_ALARM_S);
                close(p[0]);
                f->s = NULL; /* the parent's connection, if any, is not ours */
                _exit(fn(f, p[1], arg));
        }
        close(p[1]);
        *ret_fd = p[0];
        return pid;
}

static int child_wait(pid_t pid)
{
        int st;

        assert_int_equal(waitpid(pid, &st, 0), pid);
        return st;
}

static void child_ok(pid_t pid)
{
        int st = child_wait(pid);

        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                fail_msg("child ended with status 0x%x", st);
}

/* Reads one byte from fd: 0 when one came, -1 at EOF or error. */
static int read_byte(int fd, char *c)
{
        ssize_t k;

        while ((k = read(fd, c, 1)) < 0 && errno == EINTR)
                ;
        return k == 1 ? 0 : -1;
}

static int write_byte(int fd, char c)
{
        ssize_t k;

        while ((k = write(fd, &c, 1)) < 0 && errno == EINTR)
                ;
        return k == 1 ? 0 : -1;
}

/* ---- the URL grammar ------------------------------------------------------ */

static void test_url_parse(void **state _unused_)
{
        static const struct {
                const char *url;
                int ret;
                cw_store_kind kind;
                const char *path; /* NULL: none */
        } t[] = {
                {"sqlite", 0, CW_STORE_SQLITE, NULL},
                {NULL, 0, CW_STORE_SQLITE, NULL},
                {"sqlite:/var/lib/cw.db", 0, CW_STORE_SQLITE, "/var/lib/cw.db"},
                {"sqlite:rel/a b.db", 0, CW_STORE_SQLITE, "rel/a b.db"},
                {"postgresql://cw@db/cron", 0, CW_STORE_POSTGRESQL, "postgresql://cw@db/cron"},
                {"postgres://db", 0, CW_STORE_POSTGRESQL, "postgres://db"},
                {"sqlite:", -EINVAL, 0, NULL},
                {"sqlite::memory:", -EINVAL, 0, NULL},
                {"SQLITE", -EINVAL, 0, NULL},
                {"", -EINVAL, 0, NULL},
                {"mysql://db", -EINVAL, 0, NULL},
                {"sqlite:/a\tb", -EINVAL, 0, NULL},
                {"postgresql://db/x y", -EINVAL, 0, NULL},
                {"postgresql://db/x\n", -EINVAL, 0, NULL},
        };

        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                cw_store_url u = {.kind = 99, .path = "untouched"};
                cw_error e;
                int r = cw_store_url_parse(t[i].url, &u, &e);

                if (r != t[i].ret)
                        fail_msg("'%s': got %d, want %d", t[i].url ? t[i].url : "(null)", r,
                                 t[i].ret);
                if (r < 0) {
                        assert_true(e.msg[0] != '\0');
                        assert_string_equal(u.path, "untouched");
                        continue;
                }
                assert_int_equal(u.kind, t[i].kind);
                if (t[i].path)
                        assert_string_equal(u.path, t[i].path);
                else
                        assert_null(u.path);
        }
        assert_int_equal(cw_store_url_parse("bad", &(cw_store_url){0}, NULL), -EINVAL);
}

/* ---- opening -------------------------------------------------------------- */

/* Two connections to one store see each other's writes; reopening keeps
 * them; the schema version is positive. */
/* cw_store_same_file: an open store is its own file (or, for a store that
 * is no file, the operation is not supported); a write it refuses for want
 * of permission never arises here, so its text is the plain one. */
static void test_same_file_and_error_text(void **state)
{
        fixture *f = *state;
        int r = cw_store_same_file(store(f));

        assert_true(r == 0 || r == -EOPNOTSUPP);
        assert_string_equal(cw_store_error_text(store(f), -EROFS), strerror(EROFS));
        assert_non_null(strstr(cw_store_error_text(store(f), -ETIMEDOUT), "the store is busy"));
        assert_non_null(strstr(cw_store_error_text(store(f), -EUCLEAN), "malformed"));
}

/* cw_store_release_memory: a backend with a cache gives it back and
 * reads what it held again afterwards (SQLite); one without says
 * -EOPNOTSUPP. Either way the store goes on working. */
static void test_release_memory(void **state)
{
        fixture *f = *state;
        char job[96];
        cw_run r = {0};
        int64_t id;
        int ret;

        snprintf(job, sizeof(job), "%s-mem", f->tag);
        id = insert(store(f), job, CW_RUN_RUNNING, 1000);
        ret = cw_store_release_memory(store(f));
        if (strncmp(f->url, "sqlite", 6) == 0)
                assert_int_equal(ret, 0);
        else
                assert_int_equal(ret, -EOPNOTSUPP);
        assert_int_equal(cw_store_run_get(store(f), id, &r), 0);
        assert_string_equal(r.job, job);
        cw_run_release(&r);
        assert_int_equal(cw_store_release_memory(NULL), -EINVAL);
}

static void test_open_shared(void **state)
{
        fixture *f = *state;
        cw_store *other = NULL;
        char job[96];
        cw_run r = {0};
        int64_t id;

        name(f, "J", job, sizeof(job));
        id = insert(store(f), job, CW_RUN_RUNNING, 1000);
        assert_true(cw_store_schema_version(store(f)) > 0);
        assert_int_equal(open_url(f->url, &other), 0);
        assert_int_equal(cw_store_run_get(other, id, &r), 0);
        assert_string_equal(r.job, job);
        cw_run_release(&r);
        assert_int_equal(finish_at(other, id, CW_RUN_SUCCEEDED, 2000, "out"), 0);
        assert_int_equal(status_of(store(f), id), CW_RUN_SUCCEEDED);
        cw_store_close(other);
        cw_store_close(f->s);
        f->s = NULL;
        assert_int_equal(status_of(store(f), id), CW_RUN_SUCCEEDED);
        assert_true(cw_store_exists(f->url, NULL));
}

/* Arguments checked before the backend is called. */
static void test_arguments(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        cw_run r = new_run("J", CW_RUN_RUNNING, 1);
        cw_run_filter flt = CW_RUN_FILTER_INIT;
        cw_ui_entry both = {
                .schedule = (char *)"@daily", .spec = (char *)"J", .command = (char *)"true"};
        bool b;

        r.job = NULL;
        assert_int_equal(cw_store_run_insert(s, &r), -EINVAL);
        r = new_run("J", CW_RUN_STATUS_MAX, 1);
        assert_int_equal(cw_store_run_insert(s, &r), -EINVAL);
        assert_int_equal(cw_store_run_finish(s, NULL, NULL, 0), -EINVAL);
        r = new_run("J", CW_RUN_SUCCEEDED, 1);
        assert_int_equal(cw_store_run_finish(s, &r, NULL, 3), -EINVAL);
        assert_int_equal(cw_store_run_transition(s, 1, CW_RUN_STATUS_MAX, CW_RUN_LOST, NULL, 1),
                         -EINVAL);
        assert_int_equal(cw_store_run_set_resume(s, 1, CW_RESUME_MAX, CW_RESUME_NONE), -EINVAL);
        assert_int_equal(cw_store_run_get(s, 1, NULL), -EINVAL);
        flt.status = CW_RUN_STATUS_MAX;
        assert_int_equal(cw_store_runs_list(s, &flt, &(cw_run *){NULL}, &(size_t){0}), -EINVAL);
        assert_int_equal(cw_store_claim(s, NULL, 1, "n", &b), -EINVAL);
        assert_int_equal(cw_store_state_set(s, "k", NULL), -EINVAL);
        assert_int_equal(cw_store_job_enabled_get(s, NULL, &b), -EINVAL);
        assert_int_equal(cw_store_request_add(s, NULL, NULL, 1, NULL), -EINVAL);
        assert_int_equal(cw_store_ui_entry_add(s, &both), -EINVAL);
        assert_int_equal(cw_store_run_output_snapshot(s, 1, 1, false, NULL, 1), -EINVAL);
        assert_int_equal(cw_store_run_insert(NULL, &r), -EINVAL);
}

/* ---- runs ----------------------------------------------------------------- */

static void test_run_roundtrip(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_run in, out = {0};

        name(f, "J", job, sizeof(job));
        in = (cw_run){
                .job = job,
                .spec = (char *)"spec:J",
                .node = (char *)"node7",
                .status = CW_RUN_QUEUED,
                .trigger = CW_TRIGGER_SCHEDULE,
                .attempt = 3,
                .scheduled_at = 1700000000,
                .started_us = 1700000000123456,
                .worker_pid = 41,
                .pid = 42,
                .pid_start = UINT64_C(1) << 40,
                .exit_code = -1,
                .progress_done = 5,
                .progress_total = 100,
                .reason = (char *)"why",
                .lock_key = (char *)"lock",
                .resume = CW_RESUME_PENDING,
                .resumed_from = 7,
        };
        assert_int_equal(cw_store_run_insert(s, &in), 0);
        assert_true(in.id > 0);
        assert_int_equal(cw_store_run_get(s, in.id, &out), 0);
        assert_int_equal(out.id, in.id);
        assert_string_equal(out.job, job);
        assert_string_equal(out.spec, "spec:J");
        assert_string_equal(out.node, "node7");
        assert_int_equal(out.status, CW_RUN_QUEUED);
        assert_int_equal(out.trigger, CW_TRIGGER_SCHEDULE);
        assert_int_equal(out.attempt, 3);
        assert_int_equal(out.scheduled_at, 1700000000);
        assert_int_equal(out.started_us, 1700000000123456);
        assert_int_equal(out.worker_pid, 41);
        assert_int_equal(out.pid, 42);
        assert_int_equal(out.pid_start, UINT64_C(1) << 40);
        assert_int_equal(out.progress_done, 5);
        assert_int_equal(out.progress_total, 100);
        assert_string_equal(out.reason, "why");
        assert_string_equal(out.lock_key, "lock");
        assert_int_equal(out.resume, CW_RESUME_PENDING);
        assert_int_equal(out.resumed_from, 7);
        cw_run_release(&out);

        /* Ids only grow. */
        assert_true(insert(s, job, CW_RUN_RUNNING, 1) > in.id);

        /* Missing runs: untouched out-parameters. */
        out.id = -5;
        assert_int_equal(cw_store_run_get(s, in.id + 1000000, &out), -ENOENT);
        assert_int_equal(out.id, -5);
        assert_int_equal(cw_store_run_set_pid(s, in.id + 1000000, 1, 1), -ENOENT);
        assert_int_equal(cw_store_run_progress(s, in.id + 1000000, 1, 2), -ENOENT);

        assert_int_equal(cw_store_run_set_pid(s, in.id, 99, 1234), 0);
        assert_int_equal(cw_store_run_progress(s, in.id, 50, 100), 0);
        assert_int_equal(cw_store_run_get(s, in.id, &out), 0);
        assert_int_equal(out.pid, 99);
        assert_int_equal(out.pid_start, 1234);
        assert_int_equal(out.progress_done, 50);
        cw_run_release(&out);
}

/* queued -> running by run_started; also from running and lost; not from
 * another final status. */
static void test_run_started(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_run r = {0};
        int64_t id, done;

        name(f, "J", job, sizeof(job));
        id = insert(s, job, CW_RUN_QUEUED, 1000);
        assert_int_equal(cw_store_run_started(s, id, 10, 11, 12), 0);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.status, CW_RUN_RUNNING);
        assert_int_equal(r.worker_pid, 10);
        assert_int_equal(r.pid, 11);
        assert_int_equal(r.pid_start, 12);
        cw_run_release(&r);
        assert_int_equal(cw_store_run_transition(s, id, CW_RUN_RUNNING, CW_RUN_LOST, "gone", 5000),
                         0);
        assert_int_equal(cw_store_run_started(s, id, 10, 13, 14), 0);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.status, CW_RUN_RUNNING);
        assert_int_equal(r.ended_us, 0);
        cw_run_release(&r);
        done = insert(s, job, CW_RUN_RUNNING, 1000);
        assert_int_equal(finish_at(s, done, CW_RUN_SUCCEEDED, 2000, NULL), 0);
        assert_int_equal(cw_store_run_started(s, done, 1, 2, 3), -ESTALE);
        assert_int_equal(cw_store_run_started(s, id + 1000000, 1, 2, 3), -ENOENT);
}

/* run_requeued moves a queued run's started_us (a run held back by
 * max_running); nothing else, and only while it is queued. */
static void test_run_requeued(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_run r = {0};
        int64_t id;

        name(f, "Q", job, sizeof(job));
        id = insert(s, job, CW_RUN_QUEUED, 1000);
        assert_int_equal(cw_store_run_requeued(s, id, 9000), 0);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.status, CW_RUN_QUEUED);
        assert_int_equal(r.started_us, 9000);
        cw_run_release(&r);
        assert_int_equal(cw_store_run_started(s, id, 10, 11, 12), 0);
        assert_int_equal(cw_store_run_requeued(s, id, 20000), -ESTALE);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.started_us, 9000);
        cw_run_release(&r);
        assert_int_equal(cw_store_run_requeued(s, id + 1000000, 1), -ENOENT);
}

/* Finish stores the outcome and the output (binary-safe, NUL after it);
 * a later finish overwrites (the worker knows best). */
static void test_finish_and_output(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        static const char bin[] = {'a', '\0', 'b', '\n', (char)0xff};
        char job[96];
        cw_run r = {0};
        void *out = NULL;
        size_t len = 99;
        cw_run_output o = {0};
        int64_t id, empty;

        name(f, "J", job, sizeof(job));
        id = insert(s, job, CW_RUN_RUNNING, 1000);
        r = (cw_run){.id = id,
                     .status = CW_RUN_FAILED,
                     .exit_code = 3,
                     .signal = 0,
                     .ended_us = 4000,
                     .output_size = 70000,
                     .output_truncated = true,
                     .reason = (char *)"exit 3"};
        assert_int_equal(cw_store_run_finish(s, &r, bin, sizeof(bin)), 0);
        r = (cw_run){0};
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.status, CW_RUN_FAILED);
        assert_int_equal(r.exit_code, 3);
        assert_int_equal(r.ended_us, 4000);
        assert_int_equal(r.output_size, 70000);
        assert_true(r.output_truncated);
        assert_string_equal(r.reason, "exit 3");
        cw_run_release(&r);
        assert_int_equal(cw_store_run_output(s, id, &out, &len), 0);
        assert_int_equal(len, sizeof(bin));
        assert_memory_equal(out, bin, sizeof(bin));
        assert_int_equal(((char *)out)[len], '\0');
        free(out);
        assert_int_equal(cw_store_run_output_get(s, id, &o), 0);
        assert_int_equal(o.status, CW_RUN_FAILED);
        assert_int_equal(o.size, 70000);
        assert_true(o.truncated);
        assert_int_equal(o.len, sizeof(bin));
        assert_memory_equal(o.data, bin, sizeof(bin));
        cw_run_output_release(&o);
        cw_run_output_release(NULL);

        /* Corrected by a later finish, output replaced. */
        assert_int_equal(finish_at(s, id, CW_RUN_SUCCEEDED, 5000, "new"), 0);
        assert_int_equal(status_of(s, id), CW_RUN_SUCCEEDED);
        assert_int_equal(cw_store_run_output(s, id, &out, &len), 0);
        assert_int_equal(len, 3);
        assert_memory_equal(out, "new", 3);
        free(out);

        /* No output: NULL and 0. */
        empty = insert(s, job, CW_RUN_RUNNING, 1000);
        assert_int_equal(finish_at(s, empty, CW_RUN_SUCCEEDED, 2000, NULL), 0);
        out = (void *)1;
        assert_int_equal(cw_store_run_output(s, empty, &out, &len), 0);
        assert_null(out);
        assert_int_equal(len, 0);

        /* Missing runs. */
        assert_int_equal(finish_at(s, id + 1000000, CW_RUN_SUCCEEDED, 1, "x"), -ENOENT);
        out = (void *)1;
        assert_int_equal(cw_store_run_output(s, id + 1000000, &out, &len), -ENOENT);
        assert_ptr_equal(out, (void *)1);
        assert_int_equal(cw_store_run_output_get(s, id + 1000000, &o), -ENOENT);
}

/* Snapshots only while running; the final record replaces them. */
static void test_output_snapshot(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_run_output o = {0};
        int64_t id;

        name(f, "J", job, sizeof(job));
        id = insert(s, job, CW_RUN_RUNNING, 1000);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 10, false, "partial", 7), 0);
        assert_int_equal(cw_store_run_output_get(s, id, &o), 0);
        assert_int_equal(o.status, CW_RUN_RUNNING);
        assert_int_equal(o.size, 10);
        assert_false(o.truncated);
        assert_int_equal(o.len, 7);
        assert_memory_equal(o.data, "partial", 7);
        cw_run_output_release(&o);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 99, true, "more", 4), 0);
        assert_int_equal(finish_at(s, id, CW_RUN_SUCCEEDED, 2000, "final"), 0);
        assert_int_equal(cw_store_run_output_snapshot(s, id, 1, false, "late", 4), -ESTALE);
        assert_int_equal(cw_store_run_output_get(s, id, &o), 0);
        assert_int_equal(o.status, CW_RUN_SUCCEEDED);
        assert_int_equal(o.len, 5);
        assert_memory_equal(o.data, "final", 5);
        cw_run_output_release(&o);
        assert_int_equal(cw_store_run_output_snapshot(s, id + 1000000, 1, false, "x", 1), -ENOENT);
}

/* Compare-and-set of the status and of the resume state. */
static void test_transitions(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_run r = {0};
        int64_t id;

        name(f, "J", job, sizeof(job));
        id = insert(s, job, CW_RUN_RUNNING, 1000);
        assert_int_equal(cw_store_run_transition(s, id, CW_RUN_QUEUED, CW_RUN_LOST, "x", 9),
                         -ESTALE);
        assert_int_equal(
                cw_store_run_transition(s, id, CW_RUN_RUNNING, CW_RUN_KILLED, "by admin", 7000), 0);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.status, CW_RUN_KILLED);
        assert_int_equal(r.ended_us, 7000);
        assert_string_equal(r.reason, "by admin");
        cw_run_release(&r);
        /* A NULL reason keeps the one the run has. */
        assert_int_equal(cw_store_run_transition(s, id, CW_RUN_KILLED, CW_RUN_LOST, NULL, 8000), 0);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_string_equal(r.reason, "by admin");
        assert_int_equal(r.ended_us, 8000);
        cw_run_release(&r);
        /* An active status has no end. */
        assert_int_equal(cw_store_run_transition(s, id, CW_RUN_LOST, CW_RUN_RUNNING, NULL, 9000),
                         0);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.ended_us, 0);
        cw_run_release(&r);
        assert_int_equal(
                cw_store_run_transition(s, id + 1000000, CW_RUN_RUNNING, CW_RUN_LOST, NULL, 1),
                -ENOENT);

        assert_int_equal(cw_store_run_set_resume(s, id, CW_RESUME_PENDING, CW_RESUME_DONE),
                         -ESTALE);
        assert_int_equal(cw_store_run_set_resume(s, id, CW_RESUME_NONE, CW_RESUME_PENDING), 0);
        assert_int_equal(cw_store_run_set_resume(s, id, CW_RESUME_PENDING, CW_RESUME_DONE), 0);
        assert_int_equal(cw_store_run_get(s, id, &r), 0);
        assert_int_equal(r.resume, CW_RESUME_DONE);
        cw_run_release(&r);
        assert_int_equal(cw_store_run_set_resume(s, id + 1000000, CW_RESUME_NONE, CW_RESUME_DONE),
                         -ENOENT);
}

static void expect_ids(cw_store *s, const cw_run_filter *flt, const int64_t *want, size_t n_want)
{
        cw_run *runs = NULL;
        size_t n = 0;

        assert_int_equal(cw_store_runs_list(s, flt, &runs, &n), 0);
        if (n != n_want)
                fail_msg("got %zu runs, want %zu", n, n_want);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(runs[i].id, want[i]);
        cw_runs_free(runs, n);
}

static void test_list_filters(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char a[96], b[96];
        cw_run_filter flt = CW_RUN_FILTER_INIT;
        int64_t a1, a2, a3, b1;

        name(f, "A", a, sizeof(a));
        name(f, "B", b, sizeof(b));
        a1 = insert(s, a, CW_RUN_RUNNING, 1000);
        a2 = insert(s, a, CW_RUN_RUNNING, 2000);
        b1 = insert(s, b, CW_RUN_QUEUED, 3000);
        a3 = insert(s, a, CW_RUN_RUNNING, 4000);
        assert_int_equal(finish_at(s, a1, CW_RUN_SUCCEEDED, 1500, NULL), 0);
        assert_int_equal(finish_at(s, a2, CW_RUN_FAILED, 2500, NULL), 0);
        assert_int_equal(cw_store_run_set_resume(s, a2, CW_RESUME_NONE, CW_RESUME_PENDING), 0);

        flt.job = a;
        expect_ids(s, &flt, (int64_t[]){a3, a2, a1}, 3);
        flt.status = CW_RUN_FAILED;
        expect_ids(s, &flt, (int64_t[]){a2}, 1);
        flt.status = -1;
        flt.active = true;
        expect_ids(s, &flt, (int64_t[]){a3}, 1);
        flt.active = false;
        flt.resume = CW_RESUME_PENDING;
        expect_ids(s, &flt, (int64_t[]){a2}, 1);
        flt.resume = CW_RESUME_NONE;
        expect_ids(s, &flt, (int64_t[]){a3, a1}, 2);
        flt.resume = -1;
        flt.before_id = a3;
        expect_ids(s, &flt, (int64_t[]){a2, a1}, 2);
        flt.before_id = 0;
        flt.limit = 2;
        expect_ids(s, &flt, (int64_t[]){a3, a2}, 2);
        flt = (cw_run_filter)CW_RUN_FILTER_INIT;
        flt.job = b;
        flt.active = true;
        expect_ids(s, &flt, (int64_t[]){b1}, 1);
        flt.job = "no such job";
        expect_ids(s, &flt, NULL, 0);
}

/* Prune deletes finished runs started before the bound, with their
 * output, never active ones. */
static void test_prune(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_run *runs = NULL;
        void *out = NULL;
        size_t len;
        uint64_t deleted = 0;
        int64_t old_done, old_active, young;

        name(f, "J", job, sizeof(job));
        old_done = insert(s, job, CW_RUN_RUNNING, 1000);
        old_active = insert(s, job, CW_RUN_RUNNING, 1000);
        young = insert(s, job, CW_RUN_RUNNING, 9000);
        assert_int_equal(finish_at(s, old_done, CW_RUN_SUCCEEDED, 1100, "bye"), 0);
        assert_int_equal(finish_at(s, young, CW_RUN_SUCCEEDED, 9100, "hi"), 0);
        assert_int_equal(cw_store_runs_prune(s, 5000, &deleted), 0);
        assert_true(deleted >= 1);
        assert_int_equal(runs_of(s, job, &runs), 2);
        assert_int_equal(runs[0].id, young);
        assert_int_equal(runs[1].id, old_active);
        cw_runs_free(runs, 2);
        assert_int_equal(cw_store_run_output(s, old_done, &out, &len), -ENOENT);
        assert_int_equal(cw_store_runs_prune(s, 5000, NULL), 0);
}

/* Prune also takes the claims of fires before its bound and a day before
 * the last pass: such a fire can be claimed again, a younger one not. */
static void test_prune_claims(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char spec[96];
        bool won = false;

        name(f, "spec", spec, sizeof(spec));
        assert_int_equal(cw_store_claim(s, spec, 1000, "n1", &won), 0);
        assert_true(won);
        assert_int_equal(cw_store_claim(s, spec, 1000005, "n1", &won), 0);
        assert_true(won);
        assert_int_equal(cw_store_state_set(s, "last_pass", "2000000000"), 0);
        assert_int_equal(cw_store_runs_prune(s, 1000000 * 1000000LL, NULL), 0);
        assert_int_equal(cw_store_claim(s, spec, 1000, "n2", &won), 0);
        assert_true(won);
        assert_int_equal(cw_store_claim(s, spec, 1000005, "n2", &won), 0);
        assert_false(won);
}

/* ---- batches -------------------------------------------------------------- */

static void test_batches(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_run *runs = NULL;
        int64_t kept, gone;
        bool won = false;
        int r;

        name(f, "J", job, sizeof(job));
        r = cw_store_batch_begin(s);
        if (r == -EOPNOTSUPP) {
                cw_store_batch_abort(s);
                skip();
        }
        assert_int_equal(r, 0);
        assert_int_equal(cw_store_batch_begin(s), -EALREADY);
        kept = insert(s, job, CW_RUN_QUEUED, 1000);
        /* A failing write leaves the batch as it was. */
        assert_int_equal(finish_at(s, kept + 1000000, CW_RUN_SUCCEEDED, 1, "x"), -ENOENT);
        assert_int_equal(cw_store_claim(s, job, 60, "n", &won), 0);
        assert_true(won);
        /* Reads see the batch's writes. */
        assert_int_equal(status_of(s, kept), CW_RUN_QUEUED);
        assert_int_equal(cw_store_batch_commit(s), 0);
        assert_int_equal(status_of(s, kept), CW_RUN_QUEUED);

        assert_int_equal(cw_store_batch_begin(s), 0);
        gone = insert(s, job, CW_RUN_QUEUED, 2000);
        cw_store_batch_abort(s);
        assert_int_equal(cw_store_run_get(s, gone, &(cw_run){0}), -ENOENT);
        assert_int_equal(runs_of(s, job, &runs), 1);
        cw_runs_free(runs, 1);
        cw_store_batch_abort(s); /* none open: harmless */
        assert_int_equal(cw_store_batch_commit(s), -EINVAL);
}

/* Reads said ahead in a batch answer as the reads themselves would: each
 * once, after the batch's own writes to what they read, and none of them
 * outlives the batch. A backend that does not read ahead passes as is. */
static bool has_name(char **names, size_t n, const char *want)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], want) == 0)
                        return true;
        return false;
}

static void expect_state(cw_store *s, const char *key, const char *want)
{
        char *v = NULL;

        assert_int_equal(cw_store_state_get(s, key, &v), 0);
        assert_string_equal(v, want);
        free(v);
}

static void test_read_ahead(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f), *other = NULL;
        char k1[96], k2[96], k3[96], job[96], lk[96];
        cw_store_ahead reads[6];
        cw_cluster_lock h = {0};
        cw_ui_entry *list = NULL;
        char **names = NULL, *v = NULL;
        int64_t fence = 0;
        size_t n = 0;
        bool won = false;
        int r;

        name(f, "a", k1, sizeof(k1));
        name(f, "b", k2, sizeof(k2));
        name(f, "absent", k3, sizeof(k3));
        name(f, "J", job, sizeof(job));
        name(f, "lock", lk, sizeof(lk));
        assert_int_equal(cw_store_state_set(s, k1, "1"), 0);
        assert_int_equal(cw_store_state_set(s, k2, "2"), 0);
        assert_int_equal(cw_store_job_enabled_set(s, job, false), 0);
        r = cw_store_batch_begin(s);
        if (r == -EOPNOTSUPP) {
                cw_store_batch_abort(s);
                skip();
        }
        assert_int_equal(r, 0);
        reads[0] = (cw_store_ahead){CW_AHEAD_STATE, k1};
        reads[1] = (cw_store_ahead){CW_AHEAD_STATE, k2};
        reads[2] = (cw_store_ahead){CW_AHEAD_STATE, k3};
        reads[3] = (cw_store_ahead){CW_AHEAD_JOBS_DISABLED, NULL};
        reads[4] = (cw_store_ahead){CW_AHEAD_UI_ENTRIES, NULL};
        reads[5] = (cw_store_ahead){CW_AHEAD_LOCK_HOLDER, lk};
        cw_store_read_ahead(s, reads, 6);
        expect_state(s, k1, "1");
        expect_state(s, k1, "1"); /* asked again: read again */
        /* The batch's own write to a key read ahead is what is seen. */
        assert_int_equal(cw_store_state_set(s, k2, "3"), 0);
        expect_state(s, k2, "3");
        assert_int_equal(cw_store_state_get(s, k3, &v), -ENOENT);
        assert_null(v);
        /* A write between the reads said ahead and theirs changes nothing. */
        assert_int_equal(cw_store_claim(s, job, 60, "n", &won), 0);
        assert_true(won);
        assert_int_equal(cw_store_jobs_disabled(s, &names, &n), 0);
        assert_true(has_name(names, n, job));
        cw_store_names_free(names, n);
        cw_store_read_ahead(s, &reads[3], 1);
        assert_int_equal(cw_store_job_enabled_set(s, job, true), 0);
        assert_int_equal(cw_store_jobs_disabled(s, &names, &n), 0);
        assert_false(has_name(names, n, job));
        cw_store_names_free(names, n);
        assert_int_equal(cw_store_ui_entries_list(s, &list, &n), 0);
        cw_ui_entries_free(list, n);
        r = cw_store_lock_holder(s, lk, &h);
        if (r != -EOPNOTSUPP) {
                assert_int_equal(r, -ENOENT);
                cw_store_read_ahead(s, &reads[5], 1);
                assert_int_equal(cw_store_lock_try(s, lk, "na", 7, 5000000, &fence), 0);
                assert_int_equal(cw_store_lock_holder(s, lk, &h), 0);
                assert_int_equal(h.run_id, 7);
                cw_cluster_lock_release(&h);
                assert_int_equal(cw_store_lock_release(s, lk, fence), 0);
        }
        /* Sent but not asked for by the commit: dropped with the batch,
         * so another process's later write is seen. */
        cw_store_read_ahead(s, reads, 2);
        expect_state(s, k2, "3");
        assert_int_equal(cw_store_batch_commit(s), 0);
        assert_int_equal(open_url(f->url, &other), 0);
        assert_int_equal(cw_store_state_set(other, k1, "9"), 0);
        expect_state(s, k1, "9");
        /* Outside a batch nothing is kept at all. */
        cw_store_read_ahead(s, reads, 1);
        assert_int_equal(cw_store_state_set(other, k1, "10"), 0);
        expect_state(s, k1, "10");
        cw_store_close(other);
}

static void lateness_now(cw_store *s, const char *job, cw_store_hist *ret)
{
        cw_job_stats *st = NULL;
        size_t n = 0;

        assert_int_equal(cw_store_stats_list(s, job, &st, &n, ret), 0);
        cw_job_stats_free(st, n);
}

static void insert_late(cw_store *s, const char *job, int64_t late_us)
{
        cw_run r = new_run(job, CW_RUN_QUEUED, INT64_C(1700000000) * 1000000 + late_us);

        r.trigger = CW_TRIGGER_SCHEDULE;
        r.scheduled_at = 1700000000;
        assert_int_equal(cw_store_run_insert(s, &r), 0);
}

/* The histograms a batch's runs add count once it commits (the PostgreSQL
 * backend makes them at the commit, merged), and not when it is aborted
 * or the write that made them failed. */
static void test_batch_stats(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        cw_store_hist before = {0}, after = {0}, aborted = {0};
        char job[96];
        int r;

        name(f, "J", job, sizeof(job));
        r = cw_store_batch_begin(s);
        cw_store_batch_abort(s);
        if (r == -EOPNOTSUPP)
                skip();
        lateness_now(s, job, &before);
        assert_int_equal(cw_store_batch_begin(s), 0);
        for (int i = 0; i < 3; i++)
                insert_late(s, job, 2000000); /* 2 s: bucket 8 (<= 2.5) */
        insert_late(s, job, 100000);          /* 0.1 s */
        assert_int_equal(finish_at(s, INT64_MAX / 2, CW_RUN_SUCCEEDED, 1, "x"), -ENOENT);
        assert_int_equal(cw_store_batch_commit(s), 0);
        lateness_now(s, job, &after);
        assert_int_equal(after.count, before.count + 4);
        assert_int_equal(after.counts[8], before.counts[8] + 3);
        assert_true(after.sum - before.sum > 6.09 && after.sum - before.sum < 6.11);

        assert_int_equal(cw_store_batch_begin(s), 0);
        insert_late(s, job, 2000000);
        cw_store_batch_abort(s);
        lateness_now(s, job, &aborted);
        assert_int_equal(aborted.count, after.count);
        assert_int_equal(aborted.counts[8], after.counts[8]);
}

/* ---- scheduler state ------------------------------------------------------ */

static void test_claims(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char spec[96];
        bool won = false;

        name(f, "spec", spec, sizeof(spec));
        assert_int_equal(cw_store_claim(s, spec, 100, "a", &won), 0);
        assert_true(won);
        assert_int_equal(cw_store_claim(s, spec, 100, "a", &won), 0);
        assert_false(won);
        assert_int_equal(cw_store_claim(s, spec, 100, "b", &won), 0);
        assert_false(won);
        assert_int_equal(cw_store_claim(s, spec, 160, "b", &won), 0);
        assert_true(won);
        assert_int_equal(cw_store_claim(s, "other-spec-not-mine", 100, "b", &won), 0);
}

static void test_state_and_flags(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char key[96], job[96], job2[96];
        char *v = (char *)"untouched", **names = NULL;
        bool en = true, found = false;
        size_t n = 0;

        name(f, "key", key, sizeof(key));
        assert_int_equal(cw_store_state_get(s, key, &v), -ENOENT);
        assert_string_equal(v, "untouched");
        assert_int_equal(cw_store_state_set(s, key, "1"), 0);
        assert_int_equal(cw_store_state_set(s, key, "two"), 0);
        assert_int_equal(cw_store_state_get(s, key, &v), 0);
        assert_string_equal(v, "two");
        free(v);

        name(f, "J", job, sizeof(job));
        name(f, "K", job2, sizeof(job2));
        assert_int_equal(cw_store_job_enabled_get(s, job, &en), -ENOENT);
        assert_true(en);
        assert_int_equal(cw_store_job_enabled_set(s, job, false), 0);
        assert_int_equal(cw_store_job_enabled_set(s, job2, true), 0);
        assert_int_equal(cw_store_job_enabled_get(s, job, &en), 0);
        assert_false(en);
        assert_int_equal(cw_store_jobs_disabled(s, &names, &n), 0);
        for (size_t i = 0; i < n; i++) {
                assert_string_not_equal(names[i], job2);
                if (strcmp(names[i], job) == 0)
                        found = true;
                if (i > 0)
                        assert_true(strcmp(names[i - 1], names[i]) < 0);
        }
        assert_true(found);
        cw_store_names_free(names, n);
        assert_int_equal(cw_store_job_enabled_set(s, job, true), 0);
        assert_int_equal(cw_store_job_enabled_get(s, job, &en), 0);
        assert_true(en);
}

/* Whether request id is among r[0..n). */
static bool has_request(const cw_request *r, size_t n, int64_t id)
{
        for (size_t i = 0; i < n; i++)
                if (r[i].id == id)
                        return true;
        return false;
}

static void test_requests(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char spec[96];
        cw_request *r = NULL;
        size_t n = 0;
        int64_t id1 = 0, id2 = 0;

        name(f, "spec", spec, sizeof(spec));
        assert_int_equal(cw_store_request_add(s, spec, "alice", 1000, &id1), 0);
        assert_int_equal(cw_store_request_add(s, spec, NULL, 2000, &id2), 0);
        assert_true(id2 > id1);
        assert_int_equal(cw_store_request_add(s, spec, NULL, 3000, NULL), 0);

        assert_int_equal(cw_store_requests_pending(s, 0, &r, &n), 0);
        assert_true(has_request(r, n, id1) && has_request(r, n, id2));
        for (size_t i = 0; i < n; i++)
                if (r[i].id == id1) {
                        assert_string_equal(r[i].spec, spec);
                        assert_string_equal(r[i].by, "alice");
                        assert_int_equal(r[i].requested_us, 1000);
                }
        cw_requests_free(r, n);
        /* Pending is only a look. */
        assert_int_equal(cw_store_requests_pending(s, 0, &r, &n), 0);
        assert_true(has_request(r, n, id1));
        cw_requests_free(r, n);

        assert_int_equal(cw_store_requests_take(s, 0, &r, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(cw_store_requests_take(s, 1000, &r, &n), 0);
        assert_true(has_request(r, n, id1) && has_request(r, n, id2));
        for (size_t i = 1; i < n; i++)
                assert_true(r[i - 1].id < r[i].id);
        cw_requests_free(r, n);
        assert_int_equal(cw_store_requests_take(s, 1000, &r, &n), 0);
        assert_false(has_request(r, n, id1) || has_request(r, n, id2));
        cw_requests_free(r, n);
        cw_requests_free(NULL, 0);
}

/* ---- aggregates ----------------------------------------------------------- */

static void stats_of(cw_store *s, const char *job, cw_job_stats *ret, cw_store_hist *lateness)
{
        cw_job_stats *st = NULL;
        size_t n = 0;

        assert_int_equal(cw_store_stats_list(s, job, &st, &n, lateness), 0);
        assert_int_equal(n, 1);
        assert_string_equal(st[0].job, job);
        *ret = st[0];
        ret->job = NULL;
        cw_job_stats_free(st, n);
}

static uint64_t hist_total(const cw_store_hist *h, int n_bounds)
{
        uint64_t t = 0;

        for (int i = 0; i <= n_bounds; i++)
                t += h->counts[i];
        return t;
}

static void test_stats(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96], *one[1];
        cw_job_stats js;
        cw_store_hist late = {0}, late_before = {0};
        cw_run *runs = NULL, sched;
        char **names = NULL;
        size_t n = 0;
        int64_t a, b, c, q;
        bool failing = false;

        name(f, "J", job, sizeof(job));
        one[0] = job;
        a = insert(s, job, CW_RUN_RUNNING, 1000000);
        assert_int_equal(finish_at(s, a, CW_RUN_SUCCEEDED, 1200000, NULL), 0); /* 0.2 s */
        b = insert(s, job, CW_RUN_RUNNING, 2000000);
        assert_int_equal(finish_at(s, b, CW_RUN_FAILED, 5000000, NULL), 0); /* 3 s */
        c = insert(s, job, CW_RUN_SKIPPED, 6000000);
        q = insert(s, job, CW_RUN_RUNNING, 7000000);

        stats_of(s, job, &js, NULL);
        assert_int_equal(js.runs[CW_RUN_SUCCEEDED], 1);
        assert_int_equal(js.runs[CW_RUN_FAILED], 1);
        assert_int_equal(js.runs[CW_RUN_SKIPPED], 1);
        assert_int_equal(js.runs[CW_RUN_RUNNING], 0);
        assert_int_equal(js.duration.count, 2);
        assert_int_equal(hist_total(&js.duration, CW_STORE_DURATION_BUCKETS), 2);
        assert_int_equal(js.duration.counts[1], 1); /* 0.2 <= 0.5 */
        assert_int_equal(js.duration.counts[4], 1); /* 3 <= 5 */
        assert_true(js.duration.sum > 3.19 && js.duration.sum < 3.21);
        assert_int_equal(js.last_success_us, 1200000);
        assert_int_equal(js.last_run_id, c);

        /* Lost, then corrected to succeeded: the count moves. */
        assert_int_equal(
                cw_store_run_transition(s, q, CW_RUN_RUNNING, CW_RUN_LOST, "gone", 8000000), 0);
        stats_of(s, job, &js, NULL);
        assert_int_equal(js.runs[CW_RUN_LOST], 1);
        assert_int_equal(js.last_run_id, q);
        assert_int_equal(cw_store_jobs_failing(s, &names, &n), 0);
        for (size_t i = 0; i < n; i++)
                failing |= strcmp(names[i], job) == 0;
        assert_true(failing);
        cw_store_names_free(names, n);
        assert_int_equal(finish_at(s, q, CW_RUN_SUCCEEDED, 9000000, NULL), 0);
        stats_of(s, job, &js, NULL);
        assert_int_equal(js.runs[CW_RUN_LOST], 0);
        assert_int_equal(js.runs[CW_RUN_SUCCEEDED], 2);
        assert_int_equal(js.last_success_us, 9000000);
        assert_int_equal(cw_store_jobs_failing(s, &names, &n), 0);
        for (size_t i = 0; i < n; i++)
                assert_string_not_equal(names[i], job);
        cw_store_names_free(names, n);

        /* The newest final run, for named jobs and for all. */
        assert_int_equal(cw_store_jobs_last(s, (const char *const *)one, 1, &runs, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(runs[0].id, q);
        cw_runs_free(runs, n);
        assert_int_equal(cw_store_jobs_last(s, NULL, 0, &runs, &n), 0);
        assert_true(n >= 1);
        cw_runs_free(runs, n);
        one[0] = (char *)"no such job at all";
        assert_int_equal(cw_store_jobs_last(s, (const char *const *)one, 1, &runs, &n), 0);
        assert_int_equal(n, 0);
        cw_runs_free(runs, n);

        /* Lateness: a scheduled start 2 s after its instant. */
        {
                cw_job_stats *st = NULL;

                assert_int_equal(cw_store_stats_list(s, job, &st, &n, &late_before), 0);
                cw_job_stats_free(st, n);
        }
        cw_job_stats_free(NULL, 0);
        sched = new_run(job, CW_RUN_RUNNING, INT64_C(1700000002) * 1000000);
        sched.trigger = CW_TRIGGER_SCHEDULE;
        sched.scheduled_at = 1700000000;
        assert_int_equal(cw_store_run_insert(s, &sched), 0);
        {
                cw_job_stats *st = NULL;

                assert_int_equal(cw_store_stats_list(s, job, &st, &n, &late), 0);
                cw_job_stats_free(st, n);
        }
        assert_int_equal(late.count, late_before.count + 1);
        assert_int_equal(late.counts[8], late_before.counts[8] + 1); /* 2 <= 2.5 */
        assert_true(late.sum - late_before.sum > 1.99 && late.sum - late_before.sum < 2.01);

        /* Pruning keeps the aggregates. */
        assert_int_equal(cw_store_runs_prune(s, INT64_MAX, NULL), 0);
        stats_of(s, job, &js, NULL);
        assert_int_equal(js.runs[CW_RUN_SUCCEEDED], 2);
        assert_int_equal(js.runs[CW_RUN_FAILED], 1);
        assert_int_equal(js.duration.count, 3);
}

/* The one job's entry of the summary, copied out (no histogram: the
 * summary reads none per job); *ret_all gets the all-jobs durations.
 * -ENOENT when the job has no aggregates (no final run yet); -EOPNOTSUPP
 * from a backend without the summary. */
static int summary_of(cw_store *s, const char *job, cw_job_stats *ret, cw_store_hist *ret_all)
{
        cw_job_stats *st = NULL;
        size_t n = 0;
        bool found = false;
        int r = cw_store_stats_summary(s, &st, &n, NULL, ret_all);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strcmp(st[i].job, job) == 0) {
                        *ret = st[i];
                        ret->job = NULL;
                        found = true;
                }
        cw_job_stats_free(st, n);
        if (!found)
                return -ENOENT;
        assert_int_equal(ret->duration.count, 0);
        return 0;
}

/* What /metrics alerts on: last status, failure and duration, and the
 * failure streak, as runs become final (and are corrected); the summary
 * with the all-jobs duration histogram. A backend without the summary
 * keeps none of it yet, and skips. */
static void test_stats_alerting(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        cw_job_stats js;
        cw_store_hist all = {0}, all_before = {0};
        int64_t a, b, c, d;
        int r;

        name(f, "A", job, sizeof(job));
        a = insert(s, job, CW_RUN_RUNNING, 1000000);
        r = summary_of(s, job, &js, &all_before);
        if (r == -EOPNOTSUPP)
                skip();
        assert_int_equal(r, -ENOENT);                                       /* nothing final yet */
        assert_int_equal(finish_at(s, a, CW_RUN_FAILED, 2000000, NULL), 0); /* 1 s */
        b = insert(s, job, CW_RUN_RUNNING, 3000000);
        assert_int_equal(finish_at(s, b, CW_RUN_TIMED_OUT, 3500000, NULL), 0); /* 0.5 s */
        assert_int_equal(summary_of(s, job, &js, &all), 0);
        assert_int_equal(js.consecutive_failures, 2);
        assert_int_equal(js.last_failure_us, 3500000);
        assert_int_equal(js.last_duration_us, 500000);
        assert_int_equal(js.last_status, CW_RUN_TIMED_OUT);
        assert_int_equal(js.last_success_us, 0);
        assert_int_equal(all.count, all_before.count + 2);
        assert_int_equal(all.counts[2], all_before.counts[2] + 1); /* 1 s: (0.5, 1] */
        assert_int_equal(all.counts[1], all_before.counts[1] + 1); /* 0.5 s: (0.1, 0.5] */
        assert_true(all.sum - all_before.sum > 1.49 && all.sum - all_before.sum < 1.51);

        /* Skipped and killed runs leave the streak and the duration be. */
        c = insert(s, job, CW_RUN_SKIPPED, 4000000);
        assert_int_equal(summary_of(s, job, &js, &all), 0);
        assert_int_equal(js.consecutive_failures, 2);
        assert_int_equal(js.last_status, CW_RUN_SKIPPED);
        assert_int_equal(js.last_duration_us, 500000);
        (void)c;

        /* Lost extends it; corrected to succeeded, it ends it. */
        d = insert(s, job, CW_RUN_RUNNING, 5000000);
        assert_int_equal(
                cw_store_run_transition(s, d, CW_RUN_RUNNING, CW_RUN_LOST, "gone", 6000000), 0);
        assert_int_equal(summary_of(s, job, &js, &all), 0);
        assert_int_equal(js.consecutive_failures, 3);
        assert_int_equal(js.last_status, CW_RUN_LOST);
        assert_int_equal(finish_at(s, d, CW_RUN_FAILED, 7000000, NULL), 0);
        assert_int_equal(summary_of(s, job, &js, &all), 0);
        assert_int_equal(js.consecutive_failures, 3); /* lost -> failed: still one failure */
        assert_int_equal(finish_at(s, d, CW_RUN_SUCCEEDED, 7000000, NULL), 0);
        assert_int_equal(summary_of(s, job, &js, &all), 0);
        assert_int_equal(js.consecutive_failures, 0);
        assert_int_equal(js.last_success_us, 7000000);
        assert_int_equal(js.last_status, CW_RUN_SUCCEEDED);
        a = insert(s, job, CW_RUN_RUNNING, 8000000);
        assert_int_equal(finish_at(s, a, CW_RUN_KILLED, 8250000, NULL), 0);
        assert_int_equal(summary_of(s, job, &js, &all), 0);
        assert_int_equal(js.consecutive_failures, 0);
        assert_int_equal(js.last_status, CW_RUN_KILLED);
        assert_int_equal(js.last_duration_us, 250000);

        /* cw_store_stats_list gives the same fields. */
        stats_of(s, job, &js, NULL);
        assert_int_equal(js.last_status, CW_RUN_KILLED);
        assert_int_equal(js.last_failure_us >= 3500000, true);
        assert_int_equal(js.consecutive_failures, 0);
}

/* ---- UI entries ----------------------------------------------------------- */

static void test_ui_entries(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char sched[96];
        cw_ui_entry a = {.schedule = sched,
                         .spec = (char *)"J",
                         .description = (char *)"d",
                         .enabled = true,
                         .created_by = (char *)"alice",
                         .created_us = 10,
                         .updated_us = 10};
        cw_ui_entry b = {.schedule = sched,
                         .command = (char *)"echo hi",
                         .created_us = 20,
                         .updated_us = 20};
        cw_ui_entry got = {0}, *list = NULL;
        size_t n = 0;
        bool seen_a = false, seen_b = false;

        name(f, "@hourly", sched, sizeof(sched));
        assert_int_equal(cw_store_ui_entry_add(s, &a), 0);
        assert_int_equal(cw_store_ui_entry_add(s, &b), 0);
        assert_true(a.id > 0 && b.id > a.id);
        assert_int_equal(cw_store_ui_entry_get(s, a.id, &got), 0);
        assert_string_equal(got.schedule, sched);
        assert_string_equal(got.spec, "J");
        assert_null(got.command);
        assert_string_equal(got.description, "d");
        assert_true(got.enabled);
        assert_string_equal(got.created_by, "alice");
        assert_int_equal(got.created_us, 10);
        cw_ui_entry_release(&got);
        assert_int_equal(cw_store_ui_entry_get(s, b.id, &got), 0);
        assert_string_equal(got.description, ""); /* none given */
        assert_null(got.created_by);
        cw_ui_entry_release(&got);
        cw_ui_entry_release(NULL);

        b.spec = (char *)"K";
        b.command = NULL;
        b.enabled = false;
        b.updated_us = 30;
        assert_int_equal(cw_store_ui_entry_update(s, &b), 0);
        assert_int_equal(cw_store_ui_entry_get(s, b.id, &got), 0);
        assert_string_equal(got.spec, "K");
        assert_null(got.command);
        assert_false(got.enabled);
        assert_int_equal(got.updated_us, 30);
        assert_int_equal(got.created_us, 20);
        cw_ui_entry_release(&got);

        assert_int_equal(cw_store_ui_entries_list(s, &list, &n), 0);
        for (size_t i = 0; i < n; i++) {
                seen_a |= list[i].id == a.id;
                seen_b |= list[i].id == b.id;
                if (i > 0)
                        assert_true(list[i - 1].id < list[i].id);
        }
        assert_true(seen_a && seen_b);
        cw_ui_entries_free(list, n);

        assert_int_equal(cw_store_ui_entry_delete(s, a.id), 0);
        assert_int_equal(cw_store_ui_entry_delete(s, a.id), -ENOENT);
        assert_int_equal(cw_store_ui_entry_get(s, a.id, &got), -ENOENT);
        a.id = b.id + 1000000;
        assert_int_equal(cw_store_ui_entry_update(s, &a), -ENOENT);
        assert_int_equal(cw_store_ui_entry_get(s, 0, &got), -ENOENT);
}

/* ---- concurrency ---------------------------------------------------------- */

#define RACE_FIRES 200

typedef struct race {
        const char *node;
        int start[2]; /* children wait on [0] until the parent closes [1] */
} race;

/* Claims fires 1..RACE_FIRES of the test's spec as node r->node; writes
 * one byte per fire: '1' won, '0' lost. */
static int claimer(fixture *f, int fd, void *arg)
{
        race *r = arg;
        cw_store *s = NULL;
        char spec[96], go;
        char won[RACE_FIRES];

        close(r->start[1]);
        if (open_url(f->url, &s) < 0)
                return 10;
        name(f, "spec", spec, sizeof(spec));
        if (write_byte(fd, 'r') < 0)
                return 11;
        (void)read_byte(r->start[0], &go); /* EOF: go */
        for (int i = 0; i < RACE_FIRES; i++) {
                bool w = false;
                if (cw_store_claim(s, spec, i + 1, r->node, &w) < 0)
                        return 12;
                won[i] = w ? '1' : '0';
        }
        cw_store_close(s);
        for (int i = 0; i < RACE_FIRES; i++)
                if (write_byte(fd, won[i]) < 0)
                        return 13;
        return 0;
}

/* Two processes claim the same fires at the same moment: each fire has
 * exactly one winner. */
static void test_claim_race(void **state)
{
        fixture *f = *state;
        char got[2][RACE_FIRES], c;
        race r[2] = {{.node = "node-a"}, {.node = "node-b"}};
        int fds[2], start[2];
        pid_t pids[2];

        assert_true(cw_store_schema_version(store(f)) > 0); /* created before the race */
        cw_store_close(f->s);
        f->s = NULL;
        assert_int_equal(pipe2(start, O_CLOEXEC), 0);
        for (int k = 0; k < 2; k++) {
                memcpy(r[k].start, start, sizeof(start));
                pids[k] = child(f, claimer, &r[k], &fds[k]);
        }
        close(start[0]);
        for (int k = 0; k < 2; k++)
                assert_int_equal(read_byte(fds[k], &c), 0);
        close(start[1]); /* go */
        for (int k = 0; k < 2; k++) {
                for (int i = 0; i < RACE_FIRES; i++)
                        assert_int_equal(read_byte(fds[k], &got[k][i]), 0);
                close(fds[k]);
                child_ok(pids[k]);
        }
        for (int i = 0; i < RACE_FIRES; i++)
                if ((got[0][i] == '1') == (got[1][i] == '1'))
                        fail_msg("fire %d: node-a %c, node-b %c", i + 1, got[0][i], got[1][i]);
}

/* Holds a write transaction (a batch with one run in it) for arg ms after
 * telling the parent, then commits. */
static int holder(fixture *f, int fd, void *arg)
{
        cw_store *s = NULL;
        char job[96];
        cw_run r;
        struct timespec ts;
        int ms = *(const int *)arg;

        if (open_url(f->url, &s) < 0)
                return 10;
        name(f, "held", job, sizeof(job));
        r = new_run(job, CW_RUN_QUEUED, 1000);
        if (cw_store_batch_begin(s) < 0 || cw_store_run_insert(s, &r) < 0)
                return 11;
        if (write_byte(fd, 'h') < 0)
                return 12;
        ts = (struct timespec){ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
        if (cw_store_batch_commit(s) < 0)
                return 13;
        cw_store_close(s);
        return 0;
}

/* A writer meets another holding a transaction: it waits (within
 * CW_STORE_BUSY_MS) and its write is made, after the other's. */
static void test_busy_wait(void **state)
{
        fixture *f = *state;
        static const int hold_ms = 800;
        char job[96], held[96], c;
        cw_run *runs = NULL;
        int64_t t0, waited, id;
        int fd, r;
        pid_t pid;

        r = cw_store_batch_begin(store(f));
        cw_store_batch_abort(f->s);
        if (r == -EOPNOTSUPP)
                skip();
        cw_store_close(f->s);
        f->s = NULL;
        pid = child(f, holder, (void *)&hold_ms, &fd);
        assert_int_equal(read_byte(fd, &c), 0);
        name(f, "J", job, sizeof(job));
        t0 = mono_ms();
        id = insert(store(f), job, CW_RUN_RUNNING, 2000);
        waited = mono_ms() - t0;
        close(fd);
        child_ok(pid);
        if (under_test->one_writer && waited < hold_ms / 2)
                fail_msg("the write waited %" PRId64 " ms for a transaction held %d ms", waited,
                         hold_ms);
        assert_true(waited < CW_STORE_BUSY_MS);
        assert_int_equal(status_of(store(f), id), CW_RUN_RUNNING);
        name(f, "held", held, sizeof(held));
        assert_int_equal(runs_of(store(f), held, &runs), 1);
        cw_runs_free(runs, 1);
}

/* Inside one transaction (a batch): runs, a claim, a state key; tells the
 * parent and waits to be killed. */
static int crasher(fixture *f, int fd, void *arg)
{
        cw_store *s = NULL;
        char job[96], key[96];
        bool won;

        (void)arg;
        if (open_url(f->url, &s) < 0)
                return 10;
        name(f, "J", job, sizeof(job));
        name(f, "key", key, sizeof(key));
        if (cw_store_batch_begin(s) < 0)
                return 11;
        for (int i = 0; i < 20; i++) {
                cw_run r = new_run(job, CW_RUN_RUNNING, 1000 + i);
                if (cw_store_run_insert(s, &r) < 0 ||
                    finish_at(s, r.id, CW_RUN_SUCCEEDED, 2000 + i, "out") < 0)
                        return 12;
        }
        if (cw_store_claim(s, job, 60, "dead", &won) < 0 || cw_store_state_set(s, key, "half") < 0)
                return 13;
        if (write_byte(fd, 'k') < 0)
                return 14;
        for (;;)
                pause();
}

/* A process killed with SIGKILL inside a transaction leaves nothing of
 * it; the store works on (the fire it had claimed can be claimed). */
static void test_crash_in_transaction(void **state)
{
        fixture *f = *state;
        char job[96], key[96], *v = NULL, c;
        cw_run *runs = NULL;
        cw_job_stats *st = NULL;
        size_t n = 9;
        bool won = false;
        int fd, r, ws;
        pid_t pid;

        r = cw_store_batch_begin(store(f));
        cw_store_batch_abort(f->s);
        if (r == -EOPNOTSUPP)
                skip();
        cw_store_close(f->s);
        f->s = NULL;
        pid = child(f, crasher, NULL, &fd);
        assert_int_equal(read_byte(fd, &c), 0);
        assert_int_equal(kill(pid, SIGKILL), 0);
        ws = child_wait(pid);
        assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
        close(fd);

        name(f, "J", job, sizeof(job));
        name(f, "key", key, sizeof(key));
        assert_int_equal(runs_of(store(f), job, &runs), 0);
        cw_runs_free(runs, 0);
        assert_int_equal(cw_store_state_get(store(f), key, &v), -ENOENT);
        assert_int_equal(cw_store_stats_list(store(f), job, &st, &n, NULL), 0);
        assert_int_equal(n, 0);
        cw_job_stats_free(st, n);
        assert_int_equal(cw_store_claim(store(f), job, 60, "alive", &won), 0);
        assert_true(won);
        insert(store(f), job, CW_RUN_RUNNING, 1);
}

/* Records runs (insert, then finish with output "run N") until killed. */
static int streamer(fixture *f, int fd, void *arg)
{
        cw_store *s = NULL;
        char job[96], out[32];

        (void)arg;
        if (open_url(f->url, &s) < 0)
                return 10;
        name(f, "J", job, sizeof(job));
        for (int i = 0;; i++) {
                cw_run r = new_run(job, CW_RUN_RUNNING, now_us());
                if (cw_store_run_insert(s, &r) < 0)
                        return 11;
                snprintf(out, sizeof(out), "run %" PRId64, r.id);
                if (finish_at(s, r.id, CW_RUN_SUCCEEDED, now_us(), out) < 0)
                        return 12;
                if (i == 10 && write_byte(fd, 's') < 0)
                        return 13;
        }
}

/* A process killed at any moment among its writes leaves every run whole
 * (running without output, or finished with its output) and aggregates
 * that agree with the runs. */
static void test_crash_among_writes(void **state)
{
        fixture *f = *state;
        char job[96], c, want[32];
        cw_run *runs = NULL;
        cw_job_stats js;
        uint64_t finished = 0;
        size_t n;
        int fd;
        pid_t pid;

        assert_true(cw_store_schema_version(store(f)) > 0);
        cw_store_close(f->s);
        f->s = NULL;
        pid = child(f, streamer, NULL, &fd);
        assert_int_equal(read_byte(fd, &c), 0);
        usleep(200000);
        assert_int_equal(kill(pid, SIGKILL), 0);
        (void)child_wait(pid);
        close(fd);

        name(f, "J", job, sizeof(job));
        n = runs_of(store(f), job, &runs);
        assert_true(n >= 11);
        for (size_t i = 0; i < n; i++) {
                void *out = NULL;
                size_t len = 0;

                assert_int_equal(cw_store_run_output(store(f), runs[i].id, &out, &len), 0);
                if (runs[i].status == CW_RUN_RUNNING) {
                        assert_null(out);
                        continue;
                }
                assert_int_equal(runs[i].status, CW_RUN_SUCCEEDED);
                snprintf(want, sizeof(want), "run %" PRId64, runs[i].id);
                assert_int_equal(len, strlen(want));
                assert_memory_equal(out, want, len);
                free(out);
                finished++;
        }
        cw_runs_free(runs, n);
        stats_of(store(f), job, &js, NULL);
        assert_int_equal(js.runs[CW_RUN_SUCCEEDED], finished);
        assert_int_equal(js.duration.count, finished);
}

#define WRITERS 4
#define WRITES 50

/* Records WRITES runs of the test's job, each finished. */
static int writer(fixture *f, int fd, void *arg)
{
        cw_store *s = NULL;
        char job[96];

        (void)fd;
        (void)arg;
        if (open_url(f->url, &s) < 0)
                return 10;
        name(f, "J", job, sizeof(job));
        for (int i = 0; i < WRITES; i++) {
                cw_run r = new_run(job, CW_RUN_RUNNING, now_us());
                if (cw_store_run_insert(s, &r) < 0)
                        return 11;
                if (finish_at(s, r.id, CW_RUN_SUCCEEDED, now_us(), "ok") < 0)
                        return 12;
        }
        cw_store_close(s);
        return 0;
}

/* Writers in several processes at once: no run lost, none failed. */
static void test_concurrent_writers(void **state)
{
        fixture *f = *state;
        char job[96];
        cw_run *runs = NULL;
        cw_job_stats js;
        pid_t pids[WRITERS];
        int fds[WRITERS];
        size_t n;

        assert_true(cw_store_schema_version(store(f)) > 0);
        cw_store_close(f->s);
        f->s = NULL;
        for (int i = 0; i < WRITERS; i++)
                pids[i] = child(f, writer, NULL, &fds[i]);
        for (int i = 0; i < WRITERS; i++) {
                child_ok(pids[i]);
                close(fds[i]);
        }
        name(f, "J", job, sizeof(job));
        n = runs_of(store(f), job, &runs);
        assert_int_equal(n, WRITERS * WRITES);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(runs[i].status, CW_RUN_SUCCEEDED);
        cw_runs_free(runs, n);
        stats_of(store(f), job, &js, NULL);
        assert_int_equal(js.runs[CW_RUN_SUCCEEDED], WRITERS * WRITES);
}

/* ---- the notification outbox ------------------------------------------------ */

#define HOUR_US (3600 * 1000000LL)
/* Leases in the outbox tests: short, since the tests wait for them to end
 * (a backend may measure them by its own clock, not the claim's now_us),
 * yet long enough that a loaded machine makes the next claim within it. */
#define LEASE_US (1000 * 1000LL)

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* A run id of this test's own: the outbox is shared by every test of a
 * backend whose tests share one database, and claims filter by run. */
static int64_t own_run_id(int k)
{
        return ((int64_t)getpid() << 24) + (cw_clock_real_us() / 1000 % 100000) * 100 + k;
}

/* The rows of rows[0..n) whose job is job, copied (shallow) into out. */
static size_t notices_of(const cw_notice *rows, size_t n, const char *job, cw_notice *out,
                         size_t max)
{
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                if (strcmp(rows[i].job, job) == 0 && k < max)
                        out[k++] = rows[i];
        return k;
}

/* Claims with claim's arguments and returns how many of the rows are the
 * job's, their ids in ids (up to 4). */
static size_t claim_of(cw_store *s, const char *job, int64_t now, int64_t run_id, int64_t *ids)
{
        cw_notice *got = NULL, mine[4];
        size_t n = 0, k;

        assert_int_equal(cw_store_notices_claim(s, now, LEASE_US, run_id, 10, &got, &n), 0);
        k = notices_of(got, n, job, mine, 4);
        for (size_t i = 0; i < k; i++) {
                ids[i] = mine[i].id;
                assert_int_equal(mine[i].state, CW_NOTICE_PENDING);
                assert_true(mine[i].lease_us > 0);
        }
        cw_notices_free(got, n);
        return k;
}

/* The notification outbox: rows are added pending, a claim leases the
 * due ones (oldest first, one run's only when asked) so a second claim
 * does not return them until the lease ends, and an update records the
 * outcome, which the list shows newest first. The claims' now_us move
 * with the real clock and the test waits for leases to end, so a backend
 * measuring leases by its own clock passes too. */
static void test_outbox(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        int64_t base = now_us(), ids[4];
        cw_notice a = {.run_id = own_run_id(1),
                       .event = (char *)"failed",
                       .channel = (char *)"ping",
                       .target = (char *)"https://hc.example/x",
                       .created_us = base};
        cw_notice b = {.run_id = own_run_id(2),
                       .event = (char *)"started",
                       .channel = (char *)"email",
                       .target = (char *)"a@x",
                       .detail = (char *)"d",
                       .created_us = base,
                       .next_us = base + HOUR_US};
        cw_notice *got = NULL, mine[4];
        uint64_t deleted = 0;
        size_t n = 0;

        a.job = b.job = (char *)name(f, "J", job, sizeof(job));
        assert_int_equal(cw_store_notice_add(s, &a), 0);
        assert_int_equal(cw_store_notice_add(s, &b), 0);
        assert_true(a.id > 0 && b.id > a.id);
        /* Only a is due now; leased, a second claim does not get it. */
        assert_int_equal(claim_of(s, job, base, 0, ids), 1);
        assert_int_equal(ids[0], a.id);
        assert_int_equal(claim_of(s, job, base + 1, 0, ids), 0);
        /* The lease over (a sender died), b due too; run b's only. */
        sleep_ms(LEASE_US / 1000 + 100);
        assert_int_equal(claim_of(s, job, base + HOUR_US + 1000000, b.run_id, ids), 1);
        assert_int_equal(ids[0], b.id);
        assert_int_equal(
                cw_store_notice_update(s, a.id, CW_NOTICE_SENT, 1, 0, base + 100, "HTTP 200"), 0);
        assert_int_equal(cw_store_notice_update(s, INT64_MAX, CW_NOTICE_SENT, 1, 0, 1, NULL),
                         -ENOENT);
        sleep_ms(LEASE_US / 1000 + 100);
        /* b again: its lease ended; a is sent. */
        assert_int_equal(claim_of(s, job, base + HOUR_US + 3000000, 0, ids), 1);
        assert_int_equal(ids[0], b.id);
        assert_int_equal(cw_store_notices_list(s, false, 0, &got, &n), 0);
        assert_int_equal(notices_of(got, n, job, mine, 4), 2);
        assert_int_equal(mine[0].id, b.id);
        assert_string_equal(mine[0].detail, "d");
        assert_int_equal(mine[1].state, CW_NOTICE_SENT);
        assert_int_equal(mine[1].attempts, 1);
        assert_string_equal(mine[1].result, "HTTP 200");
        assert_int_equal(mine[1].done_us, base + 100);
        cw_notices_free(got, n);
        assert_int_equal(cw_store_notices_list(s, true, 0, &got, &n), 0);
        assert_int_equal(notices_of(got, n, job, mine, 4), 1);
        assert_int_equal(mine[0].id, b.id);
        cw_notices_free(got, n);
        /* Pruning takes what was done before the bound, never pending rows. */
        assert_int_equal(cw_store_notices_prune(s, base + 100, NULL), 0);
        assert_int_equal(cw_store_notices_list(s, false, 0, &got, &n), 0);
        assert_int_equal(notices_of(got, n, job, mine, 4), 2);
        cw_notices_free(got, n);
        assert_int_equal(cw_store_notices_prune(s, base + 101, &deleted), 0);
        assert_true(deleted >= 1);
        assert_int_equal(cw_store_notices_list(s, false, 0, &got, &n), 0);
        assert_int_equal(notices_of(got, n, job, mine, 4), 1);
        assert_int_equal(mine[0].id, b.id);
        cw_notices_free(got, n);
}

/* Whose clock a lease runs by. A host whose clock is an hour ahead claims
 * a row another host leased a moment ago: a backend shared by hosts
 * (db_clock) measures leases by its own clock, so the row stays leased;
 * a one-host backend takes the caller's word for the time. */
static void test_outbox_lease_clock(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96];
        int64_t base = now_us(), ids[4];
        cw_notice c = {.run_id = own_run_id(3),
                       .event = (char *)"failed",
                       .channel = (char *)"webhook",
                       .target = (char *)"http://127.0.0.1:1/",
                       .created_us = base};

        c.job = (char *)name(f, "J", job, sizeof(job));
        assert_int_equal(cw_store_notice_add(s, &c), 0);
        assert_int_equal(claim_of(s, job, base, c.run_id, ids), 1);
        assert_int_equal(claim_of(s, job, base + HOUR_US, c.run_id, ids),
                         under_test->db_clock ? 0 : 1);
        assert_int_equal(cw_store_notice_update(s, c.id, CW_NOTICE_SENT, 1, 0, base, NULL), 0);
}

#define OUTBOX_RACE_ROWS 120

typedef struct outbox_race {
        int64_t run_id;
        const int64_t *ids; /* the rows, OUTBOX_RACE_ROWS */
        int start[2];       /* children wait on [0] until the parent closes [1] */
} outbox_race;

/* Claims the race's rows a few at a time until none is left, marking each
 * sent; writes one byte per row claimed: its index in r->ids. */
static int outbox_claimer(fixture *f, int fd, void *arg)
{
        outbox_race *r = arg;
        cw_store *s = NULL;
        char go;

        close(r->start[1]);
        if (open_url(f->url, &s) < 0)
                return 10;
        if (write_byte(fd, 'r') < 0)
                return 11;
        (void)read_byte(r->start[0], &go); /* EOF: go */
        for (;;) {
                cw_notice *got = NULL;
                size_t n = 0;

                if (cw_store_notices_claim(s, now_us(), 60 * 1000000LL, r->run_id, 3, &got, &n) < 0)
                        return 12;
                if (n == 0)
                        break;
                for (size_t i = 0; i < n; i++) {
                        int k = 0;

                        while (k < OUTBOX_RACE_ROWS && r->ids[k] != got[i].id)
                                k++;
                        if (k == OUTBOX_RACE_ROWS || write_byte(fd, (char)k) < 0 ||
                            cw_store_notice_update(s, got[i].id, CW_NOTICE_SENT, 1, 0, now_us(),
                                                   NULL) < 0)
                                return 13;
                }
                cw_notices_free(got, n);
        }
        cw_store_close(s);
        return 0;
}

/* Three processes (a sender on each of three hosts) drain one outbox at
 * the same moment: every row is claimed, by exactly one of them. */
static void test_outbox_claim_race(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char job[96], c;
        int64_t ids[OUTBOX_RACE_ROWS];
        int claimed[OUTBOX_RACE_ROWS] = {0}, fds[3], start[2];
        outbox_race r = {.run_id = own_run_id(4), .ids = ids};
        pid_t pids[3];

        name(f, "J", job, sizeof(job));
        for (int i = 0; i < OUTBOX_RACE_ROWS; i++) {
                cw_notice n = {.run_id = r.run_id,
                               .job = job,
                               .event = (char *)"failed",
                               .channel = (char *)"ping",
                               .target = (char *)"https://hc.example/x",
                               .created_us = now_us()};

                assert_int_equal(cw_store_notice_add(s, &n), 0);
                ids[i] = n.id;
        }
        cw_store_close(f->s);
        f->s = NULL;
        assert_int_equal(pipe2(start, O_CLOEXEC), 0);
        memcpy(r.start, start, sizeof(start));
        for (int k = 0; k < 3; k++)
                pids[k] = child(f, outbox_claimer, &r, &fds[k]);
        close(start[0]);
        for (int k = 0; k < 3; k++)
                assert_int_equal(read_byte(fds[k], &c), 0);
        close(start[1]); /* go */
        for (int k = 0; k < 3; k++) {
                while (read_byte(fds[k], &c) == 0)
                        claimed[(unsigned char)c]++;
                close(fds[k]);
                child_ok(pids[k]);
        }
        for (int i = 0; i < OUTBOX_RACE_ROWS; i++)
                if (claimed[i] != 1)
                        fail_msg("row %d (id %" PRId64 ") claimed %d times", i, ids[i], claimed[i]);
}

/* ---- cluster nodes ------------------------------------------------------------ */

/* Our node named n in ns, or NULL (a shared database holds others'). */
static const cw_node *node_in(const cw_node *ns, size_t n, const char *name_)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(ns[i].name, name_) == 0)
                        return &ns[i];
        return NULL;
}

static bool name_in(char **names, size_t n, const char *name_)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name_) == 0)
                        return true;
        return false;
}

static void test_nodes(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char a[96], b[96], j1[96], j2[96];
        const char *jobs[2] = {j1, j2}, *ha[2] = {"h1", "h2"}, *hb[2] = {"h1", "hX"};
        cw_node_beat beat = {.pid = 7, .version = "t", .first = true, .claiming = true};
        cw_node *ns = NULL;
        const cw_node *x;
        char **names = NULL;
        size_t n = 0;
        bool was_dead = true;
        int64_t db = 0;
        int r = cw_store_db_now(s, &db);

        if (r == -EOPNOTSUPP) { /* one node per store: callers act alone */
                assert_int_equal(cw_store_nodes_list(s, 1000000, &ns, &n), -EOPNOTSUPP);
                return;
        }
        assert_int_equal(r, 0);
        assert_true(db > now_us() - 60 * 1000000LL && db < now_us() + 60 * 1000000LL);
        name(f, "node-a", a, sizeof(a));
        name(f, "node-b", b, sizeof(b));
        name(f, "J1", j1, sizeof(j1));
        name(f, "J2", j2, sizeof(j2));
        beat.node = a;
        assert_int_equal(cw_store_node_beat(s, &beat, &was_dead), 0);
        assert_false(was_dead);
        beat.node = b;
        beat.claiming = false;
        beat.reason = "clock off";
        beat.clock_offset_us = 5000000;
        assert_int_equal(cw_store_node_beat(s, &beat, NULL), 0);
        assert_int_equal(cw_store_node_jobs_set(s, a, jobs, ha, 2), 0);
        assert_int_equal(cw_store_node_jobs_set(s, b, jobs, hb, 2), 0);

        /* A tie on J2 (one node each): the smallest hash is the cluster's. */
        assert_int_equal(cw_store_node_jobs_disagree(s, b, 60000000, &names, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(names[0], j2);
        cw_store_names_free(names, n);
        assert_int_equal(cw_store_node_jobs_disagree(s, a, 60000000, &names, &n), 0);
        assert_int_equal(n, 0);
        cw_store_names_free(names, n);

        assert_int_equal(cw_store_nodes_list(s, 60000000, &ns, &n), 0);
        x = node_in(ns, n, a);
        assert_non_null(x);
        assert_int_equal(x->state, CW_NODE_ALIVE);
        assert_false(x->expired);
        assert_true(x->claiming);
        assert_null(x->reason);
        assert_null(x->disagree);
        assert_int_equal(x->jobs, 2);
        assert_int_equal(x->pid, 7);
        assert_true(x->age_us >= 0 && x->age_us < 60000000);
        x = node_in(ns, n, b);
        assert_non_null(x);
        assert_false(x->claiming);
        assert_string_equal(x->reason, "clock off");
        assert_int_equal(x->clock_offset_us, 5000000);
        assert_string_equal(x->disagree, j2);
        /* Equal definitions have equal digests, different ones not. */
        assert_true(node_in(ns, n, a)->jobs_digest[0] != '\0');
        assert_string_not_equal(node_in(ns, n, a)->jobs_digest, node_in(ns, n, b)->jobs_digest);
        cw_nodes_free(ns, n);
        assert_int_equal(cw_store_node_jobs_set(s, b, jobs, ha, 2), 0);
        assert_int_equal(cw_store_nodes_list(s, 60000000, &ns, &n), 0);
        assert_string_equal(node_in(ns, n, a)->jobs_digest, node_in(ns, n, b)->jobs_digest);
        assert_null(node_in(ns, n, b)->disagree);
        assert_int_equal(node_in(ns, n, b)->jobs, 2);
        cw_nodes_free(ns, n);
        assert_int_equal(cw_store_node_jobs_set(s, b, jobs, hb, 2), 0);

        /* Fresh heartbeats: nobody dies of a 60 s timeout. */
        assert_int_equal(cw_store_nodes_sweep(s, 60000000, &names, &n), 0);
        assert_false(name_in(names, n, a) || name_in(names, n, b));
        cw_store_names_free(names, n);
        /* Past a 1 ms timeout both are dead, once, with the reason. */
        usleep(5000);
        assert_int_equal(cw_store_nodes_sweep(s, 1000, &names, &n), 0);
        assert_true(name_in(names, n, a) && name_in(names, n, b));
        cw_store_names_free(names, n);
        assert_int_equal(cw_store_nodes_sweep(s, 1000, &names, &n), 0);
        assert_false(name_in(names, n, a));
        cw_store_names_free(names, n);
        assert_int_equal(cw_store_nodes_list(s, 1000, &ns, &n), 0);
        x = node_in(ns, n, a);
        assert_non_null(x);
        assert_int_equal(x->state, CW_NODE_DEAD);
        assert_true(x->dead_us > 0);
        assert_non_null(strstr(x->reason, "no heartbeat for"));
        cw_nodes_free(ns, n);

        /* Its next heartbeat says so, and it is alive again; b leaves. */
        beat.node = a;
        beat.first = false;
        assert_int_equal(cw_store_node_beat(s, &beat, &was_dead), 0);
        assert_true(was_dead);
        assert_int_equal(cw_store_node_beat(s, &beat, &was_dead), 0);
        assert_false(was_dead);
        assert_int_equal(cw_store_node_leave(s, b), 0);
        assert_int_equal(cw_store_nodes_list(s, 60000000, &ns, &n), 0);
        assert_int_equal(node_in(ns, n, a)->state, CW_NODE_ALIVE);
        assert_int_equal(node_in(ns, n, b)->state, CW_NODE_LEFT);
        assert_false(node_in(ns, n, b)->claiming);
        cw_nodes_free(ns, n);
}

/* Commands to a node (store.h): taken once and by their node only,
 * finished by compare-and-set (a withdrawn one is never taken), the
 * kill's reason written to its killed run in the finishing transaction;
 * a listening connection is woken and names its node as alive. A store
 * of one node says "not supported" for each operation. */
static void test_node_commands(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f), *other = NULL;
        char node[96], nobody[96], job[96], by[] = "alice@n2";
        cw_node_cmd c = {.kind = (char *)"kill", .signal = 15, .by = by}, got = {0}, *t = NULL;
        struct pollfd p = {.events = POLLIN};
        unsigned bits = 0;
        bool alive = false;
        cw_run r = {0};
        size_t n = 0;
        int fd = -1;

        name(f, "node", node, sizeof(node));
        name(f, "nobody", nobody, sizeof(nobody));
        name(f, "J", job, sizeof(job));
        c.node = node;
        c.run_id = insert(s, job, CW_RUN_RUNNING, 1000);
        if (cw_store_node_cmd_add(s, &c) == -EOPNOTSUPP) {
                assert_int_equal(cw_store_node_cmds_take(s, node, 1, &t, &n), -EOPNOTSUPP);
                assert_int_equal(cw_store_listen(s, node, &fd), -EOPNOTSUPP);
                assert_int_equal(cw_store_node_alive(s, node, &alive), -EOPNOTSUPP);
                assert_int_equal(cw_store_wake(s), -EOPNOTSUPP);
                return;
        }
        assert_true(c.id > 0);
        /* The node's daemon listens on a connection of its own. */
        assert_int_equal(open_url(f->url, &other), 0);
        assert_int_equal(cw_store_listen(other, node, &fd), 0);
        assert_int_equal(cw_store_node_alive(s, node, &alive), 0);
        assert_true(alive);
        assert_int_equal(cw_store_node_alive(s, nobody, &alive), 0);
        assert_false(alive);
        assert_int_equal(cw_store_wake(s), 0);
        p.fd = fd;
        assert_int_equal(poll(&p, 1, 10000), 1);
        assert_int_equal(cw_store_wakeups(other, &bits), 0);
        assert_true(bits & CW_STORE_WOKE_PASS);

        /* Another node's taker gets nothing; its own takes it once. */
        assert_int_equal(cw_store_node_cmds_take(s, nobody, 8, &t, &n), 0);
        assert_int_equal(n, 0);
        cw_node_cmds_free(t, n);
        assert_int_equal(cw_store_node_cmds_take(other, node, 8, &t, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(t[0].id, c.id);
        assert_string_equal(t[0].kind, "kill");
        assert_string_equal(t[0].by, by);
        assert_int_equal(t[0].run_id, c.run_id);
        assert_int_equal(t[0].signal, 15);
        assert_int_equal(t[0].state, CW_NODE_CMD_TAKEN);
        assert_true(t[0].age_us >= 0);
        cw_node_cmds_free(t, n);
        assert_int_equal(cw_store_node_cmds_take(other, node, 8, &t, &n), 0);
        assert_int_equal(n, 0);
        cw_node_cmds_free(t, n);

        /* Finished once; the killed run names who asked. */
        assert_int_equal(cw_store_run_transition(s, c.run_id, CW_RUN_RUNNING, CW_RUN_KILLED,
                                                 "killed by signal from pid 1", 2000),
                         0);
        assert_int_equal(cw_store_node_cmd_finish(other, c.id, CW_NODE_CMD_TAKEN, CW_NODE_CMD_DONE,
                                                  "killed", "killed by alice"),
                         0);
        assert_int_equal(cw_store_node_cmd_finish(other, c.id, CW_NODE_CMD_TAKEN,
                                                  CW_NODE_CMD_FAILED, "again", NULL),
                         -ESTALE);
        assert_int_equal(cw_store_node_cmd_finish(other, INT64_MAX, CW_NODE_CMD_TAKEN,
                                                  CW_NODE_CMD_DONE, NULL, NULL),
                         -ENOENT);
        assert_int_equal(cw_store_run_get(s, c.run_id, &r), 0);
        assert_string_equal(r.reason, "killed by alice");
        cw_run_release(&r);
        assert_int_equal(cw_store_node_cmd_get(s, c.id, &got), 0);
        assert_int_equal(got.state, CW_NODE_CMD_DONE);
        assert_string_equal(got.result, "killed");
        cw_node_cmd_release(&got);

        /* A command withdrawn before it was taken is never taken. */
        assert_int_equal(cw_store_node_cmd_add(s, &c), 0);
        assert_int_equal(cw_store_node_cmd_finish(s, c.id, CW_NODE_CMD_PENDING, CW_NODE_CMD_EXPIRED,
                                                  "withdrawn", NULL),
                         0);
        assert_int_equal(cw_store_node_cmds_take(other, node, 8, &t, &n), 0);
        assert_int_equal(n, 0);
        cw_node_cmds_free(t, n);
        /* Its wake-up came (cmd for this node, then done). */
        (void)poll(&p, 1, 2000);
        assert_int_equal(cw_store_wakeups(other, &bits), 0);
        assert_true(bits & CW_STORE_WOKE_CMD);
        cw_store_unlisten(other);
        cw_store_close(other);
}

/* Cluster locks and fencing tokens (store.h): a backend several nodes
 * share keeps them; one that is a single host's (SQLite) says so for
 * every operation. */
static void test_cluster_locks(void **state)
{
        fixture *f = *state;
        cw_store *s = store(f);
        char key[128], key2[128], job[128];
        cw_cluster_lock h = {0}, *all = NULL;
        int64_t f1 = 0, f2 = 0, f3 = 0, t = 0, rid, rid2;
        cw_run r = {0};
        bool listed = false;
        size_t n = 0;
        int e;

        name(f, "lock", key, sizeof(key));
        name(f, "lock2", key2, sizeof(key2));
        name(f, "job", job, sizeof(job));
        e = cw_store_lock_acquire(s, key, "na", 0, 111, 5000000, &f1, &h);
        if (e == -EOPNOTSUPP) {
                assert_int_equal(cw_store_lock_holder(s, key, &h), -EOPNOTSUPP);
                assert_int_equal(cw_store_lock_revoke(s, key, "nb"), -EOPNOTSUPP);
                assert_int_equal(cw_store_locks_list(s, &all, &n), -EOPNOTSUPP);
                assert_int_equal(cw_store_fence_next(s, &t), -EOPNOTSUPP);
                assert_int_equal(cw_store_lock_try(s, key, "na", 0, 5000000, &t), -EOPNOTSUPP);
                skip();
        }
        assert_int_equal(e, 0);
        assert_true(f1 > 0);
        /* Held: the holder is named, whoever asks. */
        assert_int_equal(cw_store_lock_acquire(s, key, "nb", 0, 222, 5000000, &f2, &h), -EBUSY);
        assert_string_equal(h.node, "na");
        assert_int_equal(h.fence, f1);
        assert_int_equal(h.worker_pid, 111);
        cw_cluster_lock_release(&h);
        assert_int_equal(cw_store_lock_holder(s, key, &h), 0);
        assert_string_equal(h.key, key);
        assert_true(h.left_us > 0 && h.left_us <= 5000000);
        cw_cluster_lock_release(&h);
        /* Renewal with the token (naming the run), not with another. */
        assert_int_equal(cw_store_lock_renew(s, key, f1, 42, 0, 5000000), 0);
        assert_int_equal(cw_store_lock_holder(s, key, &h), 0);
        assert_int_equal(h.run_id, 42);
        cw_cluster_lock_release(&h);
        assert_int_equal(cw_store_lock_renew(s, key, f1 + 1000, 0, 0, 5000000), -ESTALE);
        /* Revoked: still renewed, but the holder is told to stop. */
        assert_int_equal(cw_store_lock_revoke(s, key, "nb"), 0);
        assert_int_equal(cw_store_lock_renew(s, key, f1, 0, 0, 5000000), -ECANCELED);
        assert_int_equal(cw_store_lock_holder(s, key, &h), 0);
        assert_string_equal(h.node, "na");
        cw_cluster_lock_release(&h);
        /* Released only with its token; then free. */
        assert_int_equal(cw_store_lock_release(s, key, f1 + 1000), -ESTALE);
        assert_int_equal(cw_store_lock_release(s, key, f1), 0);
        assert_int_equal(cw_store_lock_holder(s, key, &h), -ENOENT);
        assert_int_equal(cw_store_lock_revoke(s, key, "nb"), -ENOENT);
        /* Taken by a starter before its worker exists (no pid), then named
         * by the worker's renewal; a second try finds the row. */
        assert_int_equal(cw_store_lock_try(s, key, "na", 7, 5000000, &f2), 0);
        assert_true(f2 > f1);
        assert_int_equal(cw_store_lock_try(s, key, "nb", 8, 5000000, &t), -EBUSY);
        assert_int_equal(cw_store_lock_holder(s, key, &h), 0);
        assert_int_equal(h.worker_pid, 0);
        assert_int_equal(h.run_id, 7);
        cw_cluster_lock_release(&h);
        assert_int_equal(cw_store_lock_renew(s, key, f2, 0, 4242, 5000000), 0);
        assert_int_equal(cw_store_lock_holder(s, key, &h), 0);
        assert_int_equal(h.worker_pid, 4242);
        assert_int_equal(h.run_id, 7);
        cw_cluster_lock_release(&h);
        assert_int_equal(cw_store_lock_release(s, key, f2), 0);

        /* A lease that ended: the lock is free, the next acquirer takes it
         * over with a larger token and the old holder's run is lost. */
        rid = insert(s, job, CW_RUN_RUNNING, now_us());
        assert_int_equal(cw_store_lock_acquire(s, key2, "na", rid, 111, 1000, &f1, NULL), 0);
        usleep(50000);
        assert_int_equal(cw_store_lock_holder(s, key2, &h), -ENOENT);
        assert_int_equal(cw_store_locks_list(s, &all, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (strcmp(all[i].key, key2) == 0) {
                        listed = true;
                        assert_true(all[i].left_us <= 0);
                        assert_int_equal(all[i].run_id, rid);
                }
        cw_cluster_locks_free(all, n);
        assert_true(listed);
        assert_int_equal(cw_store_lock_acquire(s, key2, "nb", 0, 222, 5000000, &f2, NULL), 0);
        assert_true(f2 > f1);
        assert_int_equal(cw_store_run_get(s, rid, &r), 0);
        assert_int_equal(r.status, CW_RUN_LOST);
        assert_int_equal(r.fence, f1);
        assert_non_null(r.reason);
        assert_non_null(strstr(r.reason, "taken over by node nb"));
        cw_run_release(&r);
        /* Its worker's writes carry the old token: refused, nothing written. */
        assert_int_equal(cw_store_run_fence(s, rid, f1), 0);
        assert_int_equal(cw_store_run_progress(s, rid, 1, 2), -ESTALE);
        assert_int_equal(cw_store_run_get(s, rid, &r), 0);
        assert_int_equal(r.progress_done, -1);
        cw_run_release(&r);
        /* A run with the current token writes. */
        rid2 = insert(s, job, CW_RUN_QUEUED, now_us());
        assert_int_equal(cw_store_run_fence(s, rid2, f2), 0);
        assert_int_equal(cw_store_run_started(s, rid2, 222, 333, 0), 0);
        assert_int_equal(cw_store_run_progress(s, rid2, 1, 2), 0);
        assert_int_equal(cw_store_run_get(s, rid2, &r), 0);
        assert_int_equal(r.fence, f2);
        assert_int_equal(r.progress_done, 1);
        cw_run_release(&r);
        assert_int_equal(cw_store_run_fence(s, rid2, 0), 0);
        /* Tokens only grow. */
        assert_int_equal(cw_store_fence_next(s, &f3), 0);
        assert_true(f3 > f2);
        /* A run inserted asking for one (fence < 0) gets the next. */
        {
                cw_run q = new_run(job, CW_RUN_QUEUED, now_us());

                q.fence = -1;
                assert_int_equal(cw_store_run_insert(s, &q), 0);
                assert_true(q.fence > f3);
                assert_int_equal(cw_store_run_get(s, q.id, &r), 0);
                assert_int_equal(r.fence, q.fence);
                cw_run_release(&r);
        }
        assert_int_equal(cw_store_lock_release(s, key2, f2), 0);
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
        const char *want = argc > 1 ? argv[1] : getenv("CW_STORE_BACKEND");
        char url[1024];
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_url_parse),
                T(test_open_shared),
                T(test_same_file_and_error_text),
                T(test_release_memory),
                T(test_arguments),
                T(test_run_roundtrip),
                T(test_run_started),
                T(test_run_requeued),
                T(test_finish_and_output),
                T(test_output_snapshot),
                T(test_transitions),
                T(test_list_filters),
                T(test_prune),
                T(test_prune_claims),
                T(test_batches),
                T(test_read_ahead),
                T(test_claims),
                T(test_state_and_flags),
                T(test_requests),
                T(test_stats),
                T(test_batch_stats),
                T(test_stats_alerting),
                T(test_ui_entries),
                T(test_outbox),
                T(test_outbox_lease_clock),
                T(test_outbox_claim_race),
                T(test_node_commands),
                T(test_cluster_locks),
                T(test_claim_race),
                T(test_busy_wait),
                T(test_crash_in_transaction),
                T(test_crash_among_writes),
                T(test_concurrent_writers),
                T(test_nodes),
        };
#undef T

        if (!want || !*want)
                want = "sqlite";
        for (size_t i = 0; i < CW_ARRAY_SIZE(backends); i++)
                if (strcmp(backends[i].name, want) == 0)
                        under_test = &backends[i];
        if (!under_test) {
                fprintf(stderr, "store_conformance: unknown backend '%s'\n", want);
                return 2;
        }
        if (under_test->url("/nonexistent", url, sizeof(url)) == -EAGAIN) {
                fprintf(stderr, "store_conformance: backend '%s' is not configured; skipped\n",
                        want);
                return 77; /* meson's "skipped" */
        }
        return cmocka_run_group_tests_name(under_test->name, tests, NULL, NULL);
}
