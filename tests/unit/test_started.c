/* test_started.c - start records of queued runs (worker/started.h).
 *
 * A private temporary data_dir and real processes: a forked child writes
 * a record and is killed (its record is then left behind), the calling
 * process writes records it keeps alive. Children report over pipes and
 * are waited for with waitpid; nothing sleeps. */
#include <errno.h>
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

#include "test_tmpdir.h"

#include "worker/started.h"

typedef struct fixture {
        char dir[64];
} fixture;

static int setup(void **state)
{
        fixture *f = calloc(1, sizeof(*f));

        snprintf(f->dir, sizeof(f->dir), "/tmp/cw-started-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
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

/* A child writes run_id's record and is SIGKILLed: the record is left. */
static void record_in_dead_child(const char *dir, int64_t run_id)
{
        int p[2], st;
        char c = 0;
        pid_t pid;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd;
                c = cw_started_create(dir, run_id, &fd) == 0 ? 'y' : 'n';
                (void)!write(p[1], &c, 1);
                pause();
                _exit(0);
        }
        close(p[1]);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        assert_int_equal(c, 'y');
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, &st, 0), pid);
}

static void no_file_no_record(void **state)
{
        fixture *f = *state;

        assert_int_equal(cw_started_probe(f->dir, 7), CW_STARTED_NONE);
}

static void live_worker_held_then_done(void **state)
{
        fixture *f = *state;
        int fd = -1, fd2 = -1;
        struct stat st;
        char path[128];

        assert_int_equal(cw_started_create(f->dir, 7, &fd), 0);
        assert_int_equal(cw_started_probe(f->dir, 7), CW_STARTED_HELD);
        assert_int_equal(cw_started_probe(f->dir, 8), CW_STARTED_NONE);
        /* Its worker lives: a second worker for the same run is refused. */
        assert_int_equal(cw_started_create(f->dir, 7, &fd2), -EEXIST);
        cw_started_done(fd, 7);
        assert_int_equal(cw_started_probe(f->dir, 7), CW_STARTED_NONE);
        snprintf(path, sizeof(path), "%s/%s", f->dir, CW_STARTED_FILE);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
}

static void dead_worker_left(void **state)
{
        fixture *f = *state;
        int fd = -1;

        record_in_dead_child(f->dir, 42);
        assert_int_equal(cw_started_probe(f->dir, 42), CW_STARTED_LEFT);
        /* A new worker for the same run id (a store made anew) takes it. */
        assert_int_equal(cw_started_create(f->dir, 42, &fd), 0);
        assert_int_equal(cw_started_probe(f->dir, 42), CW_STARTED_HELD);
        cw_started_done(fd, 42);
}

static void slot_shared_with_other_runs(void **state)
{
        fixture *f = *state;
        int64_t early = 5, late = 5 + CW_STARTED_SLOTS;
        int fd = -1, fd2 = -1;

        /* An earlier run's record: the later run never wrote one. */
        record_in_dead_child(f->dir, early);
        assert_int_equal(cw_started_probe(f->dir, late), CW_STARTED_NONE);
        /* A later run took the slot: the earlier run's fate is unknown. */
        assert_int_equal(cw_started_create(f->dir, late, &fd), 0);
        assert_int_equal(cw_started_probe(f->dir, early), CW_STARTED_OVERWRITTEN);
        assert_int_equal(cw_started_probe(f->dir, late), CW_STARTED_HELD);
        /* The earlier run, started late, does not take the later's slot. */
        assert_int_equal(cw_started_create(f->dir, early, &fd2), -ESTALE);
        /* Done marks only its own record. */
        cw_started_done(fd, late);
        assert_int_equal(cw_started_probe(f->dir, late), CW_STARTED_NONE);
        assert_int_equal(cw_started_probe(f->dir, early), CW_STARTED_OVERWRITTEN);
}

static void before_boot(void **state)
{
        struct timespec now;

        (void)state;
        clock_gettime(CLOCK_REALTIME, &now);
        assert_false(cw_started_before_boot((int64_t)now.tv_sec * 1000000));
        assert_true(cw_started_before_boot(1000000)); /* 1970 */
        assert_false(cw_started_before_boot(0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(no_file_no_record, setup, teardown),
                cmocka_unit_test_setup_teardown(live_worker_held_then_done, setup, teardown),
                cmocka_unit_test_setup_teardown(dead_worker_left, setup, teardown),
                cmocka_unit_test_setup_teardown(slot_shared_with_other_runs, setup, teardown),
                cmocka_unit_test(before_boot),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
