/* test_lock.c - flock locks (lock.h) and the /proc helpers the worker,
 * `status` and `kill` use (cw_proc_* in worker.h).
 *
 * Real files in a private temporary directory and real processes: a
 * forked child holds or contends for a lock, and is SIGKILLed to show the
 * kernel frees its lock. Processes report readiness over pipes and are
 * waited for with waitpid, so nothing sleeps. This program makes itself a
 * child subreaper so it can reap grandchildren it orphans. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_tmpdir.h"

#include "base/hash.h"
#include "worker/lock.h"
#include "worker/worker.h"

typedef struct fixture {
        char dir[64];
        char locks[128];
} fixture;

static int setup(void **state)
{
        fixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/cw-test-lock-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        /* Two levels that do not exist yet: acquire creates them. */
        snprintf(f->locks, sizeof(f->locks), "%s/data/locks", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture *f = *state;

        test_remove_tree(f->dir);
        free(f);
        return 0;
}

static void read_full(int fd, void *buf, size_t n)
{
        size_t got = 0;

        while (got < n) {
                ssize_t k = read(fd, (char *)buf + got, n - got);

                if (k < 0 && errno == EINTR)
                        continue;
                assert_true(k > 0);
                got += (size_t)k;
        }
}

static void wait_exit(pid_t pid, int want_code)
{
        int st;

        assert_int_equal(waitpid(pid, &st, 0), pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != want_code)
                fail_msg("child %d: status 0x%x, want exit %d", (int)pid, st, want_code);
}

/* Regression: liveness must never take the lock to look at it (a `run`
 * starting at that instant would be told "already running"). held_by asks
 * /proc/locks and, failing that, the holder's open files. */
static void test_held_by(void **state)
{
        fixture *f = *state;
        cw_lock *l = NULL, *l2 = NULL;
        bool held = true;

        assert_false(cw_lock_held_by(f->locks, "class-H", getpid()));
        assert_int_equal(cw_lock_acquire(f->locks, "class-H", &l, NULL), 0);
        assert_true(cw_lock_held_by(f->locks, "class-H", getpid()));
        assert_false(cw_lock_held_by(f->locks, "class-H", getppid()));
        assert_false(cw_lock_held_by(f->locks, "class-H", 0));
        /* Probing a held lock leaves it held by us alone: a second acquire
         * from another open file description still fails. */
        assert_int_equal(cw_lock_probe(f->locks, "class-H", &held, NULL), 0);
        assert_true(held);
        assert_int_equal(cw_lock_acquire(f->locks, "class-H", &l2, NULL), -EBUSY);
        cw_lock_release(l);
        assert_false(cw_lock_held_by(f->locks, "class-H", getpid()));
        assert_int_equal(cw_lock_probe(f->locks, "class-H", &held, NULL), 0);
        assert_false(held);
}

/* Regression: a contender that finds the lock held with no run id in its
 * record (a holder starting up, or one releasing: release empties the
 * record just before unlocking) waits for the file to change; if the lock
 * is released meanwhile it must take it, not report it held. */
static void test_acquire_during_release(void **state)
{
        fixture *f = *state;
        cw_lock *l = NULL;
        int p[2];
        char c;
        pid_t pid;

        assert_int_equal(cw_lock_acquire(f->locks, "class-R", &l, NULL), 0);
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                cw_lock *cl = NULL;
                close(p[0]);
                (void)!write(p[1], "x", 1);
                /* Held, record empty: waits, then gets it once released. */
                _exit(cw_lock_acquire(f->locks, "class-R", &cl, NULL) == 0 ? 0 : 1);
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        usleep(100 * 1000);
        cw_lock_release(l);
        wait_exit(pid, 0);
}

/* ---- keys ------------------------------------------------------------------- */

static void test_keys(void **state)
{
        cw_job job = {.name = "HelloWorld", .lock = CW_LOCK_CLASS};
        char buf[CW_LOCK_KEY_MAX + 1], want[64];
        const char *spec = "HelloWorld:\"big world\",sleep=5";

        (void)state;
        assert_int_equal(cw_lock_key(&job, "HelloWorld", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "class-HelloWorld");
        /* A shared lock_name makes jobs share the key. */
        job.lock_name = "Greeters";
        assert_int_equal(cw_lock_key(&job, "HelloWorld", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "class-Greeters");
        /* params: the job's own name (never lock_name) and the hash of
         * the canonical spec, 16 hex digits. */
        job.lock = CW_LOCK_PARAMS;
        assert_int_equal(cw_lock_key(&job, spec, buf, sizeof(buf)), 0);
        snprintf(want, sizeof(want), "params-HelloWorld-%016" PRIx64,
                 cw_hash_fnv1a(spec, strlen(spec)));
        assert_string_equal(buf, want);
        assert_int_equal(strlen(buf), strlen("params-HelloWorld-") + 16);
        /* Another spec, another key; the same spec, the same key. */
        assert_int_equal(cw_lock_key(&job, "HelloWorld:x", want, sizeof(want)), 0);
        assert_string_not_equal(buf, want);
        /* The known FNV-1a value of "" pins the hash. */
        assert_int_equal(cw_lock_key(&job, "", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "params-HelloWorld-cbf29ce484222325");

        job.lock = CW_LOCK_NONE;
        buf[0] = 'x';
        assert_int_equal(cw_lock_key(&job, spec, buf, sizeof(buf)), -ENOENT);
        assert_string_equal(buf, "");

        /* Too small a buffer is an error, never a cut key. */
        job.lock = CW_LOCK_CLASS;
        job.lock_name = NULL;
        assert_int_equal(cw_lock_key(&job, spec, buf, 8), -ENOBUFS);
        assert_string_equal(buf, "");
}

/* ---- acquire, holder, release ---------------------------------------------- */

static void test_acquire_release(void **state)
{
        fixture *f = *state;
        cw_lock_holder h = {
                .pid = 4242, .run_id = 12, .since_us = 1700000000123456, .node = "web-1"};
        cw_lock_holder got, prev;
        cw_lock *l = NULL, *l2 = NULL;
        char path[256], content[128];
        struct stat st;
        int fd;
        ssize_t n;

        memset(&prev, 0x55, sizeof(prev));
        assert_int_equal(cw_lock_acquire(f->locks, "class-A", &l, &prev), 0);
        assert_non_null(l);
        /* A fresh file: no previous holder. */
        assert_int_equal(prev.pid, 0);
        assert_int_equal(prev.run_id, 0);
        assert_int_equal(stat(f->locks, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);

        assert_int_equal(cw_lock_set_holder(l, &h), 0);
        snprintf(path, sizeof(path), "%s/class-A.lock", f->locks);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        n = read(fd, content, sizeof(content) - 1);
        close(fd);
        assert_true(n > 0);
        content[n] = '\0';
        assert_string_equal(content, "4242 12 1700000000123456 web-1\n");

        /* A second open file description conflicts even in this process. */
        memset(&got, 0, sizeof(got));
        assert_int_equal(cw_lock_acquire(f->locks, "class-A", &l2, &got), -EBUSY);
        assert_null(l2);
        assert_int_equal(got.pid, 4242);
        assert_int_equal(got.run_id, 12);
        assert_true(got.since_us == 1700000000123456);
        assert_string_equal(got.node, "web-1");

        /* A shorter record replaces a longer one completely. */
        h = (cw_lock_holder){.pid = 7, .run_id = 8, .since_us = 9};
        assert_int_equal(cw_lock_set_holder(l, &h), 0);
        assert_int_equal(cw_lock_acquire(f->locks, "class-A", &l2, &got), -EBUSY);
        assert_int_equal(got.pid, 7);
        assert_int_equal(got.run_id, 8);
        assert_string_equal(got.node, "-");

        /* Another key is another lock. */
        assert_int_equal(cw_lock_acquire(f->locks, "class-B", &l2, NULL), 0);
        cw_lock_release(l2);

        cw_lock_release(l);
        /* The file stays, emptied: the next holder finds no record. */
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 0);
        memset(&prev, 0x55, sizeof(prev));
        assert_int_equal(cw_lock_acquire(f->locks, "class-A", &l, &prev), 0);
        assert_int_equal(prev.pid, 0);
        assert_int_equal(prev.run_id, 0);
        cw_lock_release(l);
        cw_lock_release(NULL);
}

/* A child holds the lock: this process gets -EBUSY with the child's record;
 * once the child is SIGKILLed the lock is free, and the record the child
 * left names it as the previous (dead) holder. */
static void test_other_process(void **state)
{
        fixture *f = *state;
        int ready[2];
        cw_lock_holder got, prev;
        cw_lock *l = NULL;
        bool held;
        pid_t pid;
        char c;

        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                cw_lock_holder h = {.pid = getpid(), .run_id = 99, .since_us = 5, .node = "n1"};
                cw_lock *cl = NULL;

                if (cw_lock_acquire(f->locks, "params-J-0123456789abcdef", &cl, NULL) < 0 ||
                    cw_lock_set_holder(cl, &h) < 0)
                        _exit(1);
                (void)!write(ready[1], "r", 1);
                for (;;)
                        pause();
        }
        close(ready[1]);
        read_full(ready[0], &c, 1);
        close(ready[0]);

        memset(&got, 0, sizeof(got));
        assert_int_equal(cw_lock_acquire(f->locks, "params-J-0123456789abcdef", &l, &got), -EBUSY);
        assert_int_equal(got.pid, pid);
        assert_int_equal(got.run_id, 99);
        assert_string_equal(got.node, "n1");

        assert_int_equal(cw_lock_probe(f->locks, "params-J-0123456789abcdef", &held, &got), 0);
        assert_true(held);
        assert_int_equal(got.pid, pid);
        /* The probe did not take the lock away from the child. */
        assert_int_equal(cw_lock_acquire(f->locks, "params-J-0123456789abcdef", &l, NULL), -EBUSY);

        assert_int_equal(kill(pid, SIGKILL), 0);
        assert_int_equal(waitpid(pid, NULL, 0), pid);

        /* Not held any more, but the dead holder's record is still there. */
        assert_int_equal(cw_lock_probe(f->locks, "params-J-0123456789abcdef", &held, &got), 0);
        assert_false(held);
        assert_int_equal(got.pid, pid);
        assert_int_equal(got.run_id, 99);

        assert_int_equal(cw_lock_acquire(f->locks, "params-J-0123456789abcdef", &l, &prev), 0);
        assert_int_equal(prev.pid, pid);
        assert_int_equal(prev.run_id, 99);
        cw_lock_release(l);
}

/* The contender is a forked child this time: exit code 75 when it sees
 * -EBUSY with the right holder. */
static void test_contender_child(void **state)
{
        fixture *f = *state;
        cw_lock_holder h = {.pid = getpid(), .run_id = 31, .since_us = 77, .node = "me"};
        cw_lock *l = NULL;
        pid_t pid;

        assert_int_equal(cw_lock_acquire(f->locks, "class-C", &l, NULL), 0);
        assert_int_equal(cw_lock_set_holder(l, &h), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                cw_lock_holder g = {0};
                cw_lock *cl = NULL;
                int r = cw_lock_acquire(f->locks, "class-C", &cl, &g);

                _exit(r == -EBUSY && g.pid == getppid() && g.run_id == 31 && g.since_us == 77 &&
                                      strcmp(g.node, "me") == 0
                              ? 75
                              : 1);
        }
        wait_exit(pid, 75);
        cw_lock_release(l);

        /* Released: the child now gets it. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                cw_lock *cl = NULL;

                _exit(cw_lock_acquire(f->locks, "class-C", &cl, NULL) == 0 ? 0 : 1);
        }
        wait_exit(pid, 0);
}

static void test_probe(void **state)
{
        fixture *f = *state;
        cw_lock_holder got;
        char path[256];
        cw_lock *l = NULL;
        bool held = true;

        /* No directory, no file: not held, and nothing is created. */
        memset(&got, 0x55, sizeof(got));
        assert_int_equal(cw_lock_probe(f->locks, "class-P", &held, &got), 0);
        assert_false(held);
        assert_int_equal(got.pid, 0);
        snprintf(path, sizeof(path), "%s/class-P.lock", f->locks);
        assert_int_equal(access(path, F_OK), -1);

        assert_int_equal(cw_lock_acquire(f->locks, "class-P", &l, NULL), 0);
        /* Held but its record not written yet: zeroed holder. */
        assert_int_equal(cw_lock_probe(f->locks, "class-P", &held, &got), 0);
        assert_true(held);
        assert_int_equal(got.pid, 0);
        cw_lock_release(l);

        assert_int_equal(cw_lock_probe(f->locks, "class-P", &held, &got), 0);
        assert_false(held);
        assert_int_equal(got.run_id, 0);
        /* A probe never blocks a later acquire. */
        assert_int_equal(cw_lock_acquire(f->locks, "class-P", &l, NULL), 0);
        cw_lock_release(l);
}

/* Keys that could leave the directory are refused; garbage records read
 * as zeroed holders. */
static void test_bad_input(void **state)
{
        fixture *f = *state;
        cw_lock_holder got;
        char path[256];
        cw_lock *l = NULL;
        bool held;
        int fd;

        assert_int_equal(cw_lock_acquire(f->locks, "../escape", &l, NULL), -EINVAL);
        assert_int_equal(cw_lock_acquire(f->locks, "", &l, NULL), -EINVAL);
        assert_int_equal(cw_lock_acquire(f->locks, ".hidden", &l, NULL), -EINVAL);
        assert_int_equal(cw_lock_probe(f->locks, "a b", &held, &got), -EINVAL);
        assert_null(l);

        assert_int_equal(cw_lock_acquire(f->locks, "class-G", &l, NULL), 0);
        cw_lock_release(l);
        snprintf(path, sizeof(path), "%s/class-G.lock", f->locks);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "garbage here\n", 13), 13);
        close(fd);
        memset(&got, 0x55, sizeof(got));
        assert_int_equal(cw_lock_probe(f->locks, "class-G", &held, &got), 0);
        assert_false(held);
        assert_int_equal(got.pid, 0);
        assert_int_equal(got.run_id, 0);
        assert_string_equal(got.node, "");
}

/* The lock's descriptor is close-on-exec: a job never inherits it. */
static void test_cloexec(void **state)
{
        fixture *f = *state;
        cw_lock *l = NULL;
        DIR *d;
        struct dirent *de;
        int found = 0;

        assert_int_equal(cw_lock_acquire(f->locks, "class-X", &l, NULL), 0);
        d = opendir("/proc/self/fd");
        assert_non_null(d);
        while ((de = readdir(d))) {
                char link[300], target[512];
                ssize_t n;
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
                n = readlink(link, target, sizeof(target) - 1);
                if (n <= 0)
                        continue;
                target[n] = '\0';
                if (!strstr(target, "class-X.lock"))
                        continue;
                fd = (int)strtol(de->d_name, NULL, 10);
                assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
                found++;
        }
        closedir(d);
        assert_int_equal(found, 1);
        cw_lock_release(l);
}

/* ---- /proc helpers -------------------------------------------------------- */

/* A child that waits for its pipe to close. */
static pid_t spawn_waiter(int *ret_release_fd)
{
        int p[2];
        pid_t pid;
        char c;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[1]);
                (void)!read(p[0], &c, 1);
                _exit(0);
        }
        close(p[0]);
        *ret_release_fd = p[1];
        return pid;
}

static void test_proc_start_alive(void **state)
{
        uint64_t self = cw_proc_start_time(getpid()), start;
        int release;
        pid_t pid;

        (void)state;
        assert_true(self > 0);
        pid = spawn_waiter(&release);
        start = cw_proc_start_time(pid);
        assert_true(start >= self);
        assert_true(cw_proc_alive(pid, start));
        assert_true(cw_proc_alive(pid, 0));
        /* Same pid, another start time: another process. */
        assert_false(cw_proc_alive(pid, start + 1));
        assert_true(cw_proc_alive(getpid(), self));

        /* A zombie is not alive, but its start time is still readable. */
        close(release);
        {
                siginfo_t si = {0};

                assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
        }
        assert_false(cw_proc_alive(pid, start));
        assert_int_equal(cw_proc_start_time(pid), start);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_false(cw_proc_alive(pid, 0));
        assert_int_equal(cw_proc_start_time(pid), 0);

        assert_false(cw_proc_alive(0, 0));
        assert_false(cw_proc_alive(-1, 0));
        assert_int_equal(cw_proc_start_time(-5), 0);
}

/* A command name with spaces and parentheses does not confuse the parser:
 * the start time read before and after the rename agrees, and the
 * process is found in its group. */
static void test_proc_odd_name(void **state)
{
        int up[2], down[2];
        uint64_t before, after;
        pid_t pid;
        char c;

        (void)state;
        assert_int_equal(pipe2(up, O_CLOEXEC), 0);
        assert_int_equal(pipe2(down, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(up[0]);
                close(down[1]);
                setpgid(0, 0);
                (void)!write(up[1], "a", 1);
                (void)!read(down[0], &c, 1);
                prctl(PR_SET_NAME, ") 1 2 (x) 3 ");
                (void)!write(up[1], "b", 1);
                for (;;)
                        pause();
        }
        close(up[1]);
        close(down[0]);
        setpgid(pid, pid);
        read_full(up[0], &c, 1);
        before = cw_proc_start_time(pid);
        assert_true(before > 0);
        assert_int_equal(write(down[1], "g", 1), 1);
        read_full(up[0], &c, 1);
        after = cw_proc_start_time(pid);
        assert_true(after == before);
        assert_true(cw_proc_alive(pid, before));
        assert_int_equal(cw_proc_kill_group(pid, before, 0), 1);
        assert_int_equal(cw_proc_kill_group(pid, before, SIGKILL), 1);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        close(up[0]);
        close(down[1]);
}

/* A group of a child and a grandchild that ignores SIGTERM: counted,
 * protected by the start-time check, and killed to the last process. */
static void test_proc_kill_group(void **state)
{
        int ready[2], st;
        uint64_t start;
        pid_t pid, gc = 0;
        char c[2];

        (void)state;
        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                pid_t g;

                close(ready[0]);
                setpgid(0, 0);
                g = fork();
                if (g == 0) {
                        signal(SIGTERM, SIG_IGN);
                        (void)!write(ready[1], "g", 1);
                        for (;;)
                                pause();
                }
                (void)!write(ready[1], "c", 1);
                for (;;)
                        pause();
        }
        close(ready[1]);
        setpgid(pid, pid);
        read_full(ready[0], c, 2);
        close(ready[0]);
        start = cw_proc_start_time(pid);
        assert_true(start > 0);

        /* Signal 0 only counts. */
        assert_int_equal(cw_proc_kill_group(pid, start, 0), 2);
        assert_int_equal(cw_proc_kill_group(pid, 0, 0), 2);
        /* Wrong start time: a different group that reused the id. */
        assert_int_equal(cw_proc_kill_group(pid, start + 1, SIGKILL), 0);
        assert_int_equal(cw_proc_kill_group(pid, start, 0), 2);
        /* Never our own group or init's. */
        assert_int_equal(cw_proc_kill_group(1, 0, 0), 0);
        assert_int_equal(cw_proc_kill_group(0, 0, 0), 0);

        /* SIGTERM reaches both; the child dies, the grandchild does not. */
        assert_int_equal(cw_proc_kill_group(pid, start, SIGTERM), 2);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
        /* The leader is gone; the orphan lives on in its group, and is
         * re-parented to this process (a subreaper). */
        assert_int_equal(cw_proc_kill_group(pid, start, 0), 1);
        assert_int_equal(cw_proc_kill_group(pid, start, SIGKILL), 1);
        gc = waitpid(-pid, &st, 0);
        assert_true(gc > 0 && gc != pid);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        assert_int_equal(cw_proc_kill_group(pid, start, 0), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_keys),
                cmocka_unit_test_setup_teardown(test_acquire_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_held_by, setup, teardown),
                cmocka_unit_test_setup_teardown(test_acquire_during_release, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_process, setup, teardown),
                cmocka_unit_test_setup_teardown(test_contender_child, setup, teardown),
                cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cloexec, setup, teardown),
                cmocka_unit_test(test_proc_start_alive),
                cmocka_unit_test(test_proc_odd_name),
                cmocka_unit_test(test_proc_kill_group),
        };

        /* Orphaned grandchildren come back to this process to be reaped. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
