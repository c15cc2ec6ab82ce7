/* test_worker.c - running jobs for real: cw_worker_run against the SQLite
 * store in a private temporary directory, with real processes.
 *
 * Each test loads a small config (data_dir in the temporary directory),
 * runs one job spec through the worker in this process and checks what
 * the store recorded: status, exit code or signal, reason, output,
 * progress, and the process details. Jobs are tiny shell commands; the
 * timing tests use 1s timeouts and grace periods, and assert only
 * generous bounds on how long things took. env_file parsing is table
 * driven without any process. Tests that need root (run_as) skip
 * themselves otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_tmpdir.h"

#include "base/iso8601.h"
#include "store/store.h"
#include "worker/env.h"
#include "worker/lock.h"
#include "worker/worker.h"

/* 2026-11-21T05:00:00Z, a fixed "now" for the runs' start times. */
#define NOW_US ((int64_t)1795237200 * 1000000)

typedef struct fx {
        char dir[64];
        char data[128];
        cw_store *store;
        cw_config *cfg;
        int started_calls;
        int64_t started_id;
        int started_pid;
        const cw_clock *clock; /* the run's clock; NULL: the wall clock */
} fx;

static int setup(void **state)
{
        fx *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/cw-test-worker-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fx *f = *state;

        cw_store_close(f->store);
        cw_config_free(f->cfg);
        test_remove_tree(f->dir);
        free(f);
        return 0;
}

/* Loads "[cronwarden] ... [job J] job_text" (more sections may follow in
 * job_text) and opens the store. */
static void load(fx *f, const char *job_text, const char *max_output)
{
        char text[8192], name[256];
        cw_config_errors errs = {0};
        cw_config_opts o = {.now = NOW_US / 1000000};
        cw_error e;

        snprintf(text, sizeof(text),
                 "[cronwarden]\ndata_dir = %s\nnode = test-node\nmax_output = %s\n"
                 "timezone = UTC\n[job J]\n%s",
                 f->data, max_output ? max_output : "1MiB", job_text);
        snprintf(name, sizeof(name), "%s/test.ini", f->dir);
        cw_config_free(f->cfg);
        f->cfg = NULL;
        if (cw_config_load_string(name, text, strlen(text), &o, &f->cfg, &errs) < 0) {
                for (size_t i = 0; i < errs.n; i++)
                        print_message("%s\n", errs.msgs[i]);
                fail_msg("bad test config");
        }
        cw_config_errors_release(&errs);
        if (!f->store && cw_store_open("sqlite", f->data, &f->store, &e) < 0)
                fail_msg("cannot open the store: %s", e.msg);
}

static void on_started(void *userdata, int64_t run_id, int pid)
{
        fx *f = userdata;

        f->started_calls++;
        f->started_id = run_id;
        f->started_pid = pid;
}

typedef struct outcome {
        int r;
        cw_worker_result res;
        cw_run run;
        char *out;
        size_t len;
        int64_t took_us;
        cw_error err;
} outcome;

static void outcome_release(outcome *o)
{
        cw_run_release(&o->run);
        free(o->out);
}

/* Runs spec (against f->cfg) with the worker; fills o from the store. */
static void run_spec_opts(fx *f, const char *spec, int tee_fd, cw_time scheduled_at, outcome *o)
{
        cw_jobspec *js = NULL;
        cw_worker_opts opts = {0};
        char *text;
        cw_error e;
        int64_t t0;

        memset(o, 0, sizeof(*o));
        if (cw_jobspec_parse(spec, &js, &e) < 0 || cw_config_check_jobspec(f->cfg, js, &e) < 0)
                fail_msg("bad spec %s: %s", spec, e.msg);
        text = cw_jobspec_format(js);
        assert_non_null(text);
        opts.cfg = f->cfg;
        opts.job = cw_config_job(f->cfg, js->name);
        opts.spec = js;
        opts.spec_text = text;
        opts.trigger = CW_TRIGGER_MANUAL;
        opts.attempt = 1;
        opts.scheduled_at = scheduled_at;
        opts.now_us = NOW_US;
        opts.clock = f->clock;
        opts.tee_fd = tee_fd;
        opts.on_started = on_started;
        opts.userdata = f;
        f->started_calls = 0;
        t0 = cw_clock_mono_us();
        o->r = cw_worker_run(f->store, &opts, &o->res, &o->err);
        o->took_us = cw_clock_mono_us() - t0;
        if (o->r == 0) {
                void *out = NULL;

                assert_int_equal(cw_store_run_get(f->store, o->res.run_id, &o->run), 0);
                assert_int_equal(cw_store_run_output(f->store, o->res.run_id, &out, &o->len), 0);
                o->out = calloc(1, o->len + 1);
                assert_non_null(o->out);
                if (o->len)
                        memcpy(o->out, out, o->len);
                free(out);
                assert_int_equal(f->started_calls, 1);
                assert_int_equal(f->started_id, o->res.run_id);
        }
        free(text);
        cw_jobspec_free(js);
}

static void run_spec(fx *f, const char *spec, outcome *o)
{
        run_spec_opts(f, spec, -1, 0, o);
}

/* Runs job J with command `command` (and extra keys) and spec "J". */
static void run_job(fx *f, const char *job_text, outcome *o)
{
        load(f, job_text, NULL);
        run_spec(f, "J", o);
}

static void expect_status(const outcome *o, cw_run_status st, int exit_code, int sig)
{
        if (o->r != 0)
                fail_msg("cw_worker_run: %d (%s)", o->r, o->err.msg);
        if (o->res.status != st || o->run.status != st || o->res.exit_code != exit_code ||
            o->run.exit_code != exit_code || o->res.signal != sig || o->run.signal != sig)
                fail_msg("got %s/%s exit %d/%d signal %d/%d (reason %s), want %s exit %d signal %d",
                         cw_run_status_to_string(o->res.status),
                         cw_run_status_to_string(o->run.status), o->res.exit_code, o->run.exit_code,
                         o->res.signal, o->run.signal, o->run.reason ? o->run.reason : "-",
                         cw_run_status_to_string(st), exit_code, sig);
}

/* ---- outcomes ------------------------------------------------------------------ */

static void test_success(void **state)
{
        fx *f = *state;
        outcome o;

        run_job(f, "command = /bin/echo hello world\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "hello world\n");
        assert_int_equal(o.run.output_size, 12);
        assert_false(o.run.output_truncated);
        assert_null(o.run.reason);
        assert_string_equal(o.run.job, "J");
        assert_string_equal(o.run.spec, "J");
        assert_string_equal(o.run.node, "test-node");
        assert_int_equal(o.run.trigger, CW_TRIGGER_MANUAL);
        assert_int_equal(o.run.attempt, 1);
        assert_true(o.run.started_us == NOW_US);
        assert_true(o.run.ended_us > 0);
        assert_int_equal(o.run.worker_pid, getpid());
        assert_true(o.run.pid > 0);
        assert_int_equal(o.run.pid, f->started_pid);
        assert_true(o.run.pid_start > 0);
        assert_string_equal(o.run.lock_key, "class-J");
        assert_true(o.run.progress_done == -1 && o.run.progress_total == -1);
        outcome_release(&o);

        /* The lock was released: the next run takes it again. */
        run_spec(f, "J", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        outcome_release(&o);
}

/* A run's end is read on the clock its start came from (a test clock
 * here), not on the wall clock. */
static void test_clock(void **state)
{
        fx *f = *state;
        cw_clock c;
        outcome o;

        cw_clock_init_fixed(&c, NOW_US + 5 * CW_US_PER_SEC);
        f->clock = &c;
        run_job(f, "command = /bin/true\n", &o);
        f->clock = NULL;
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_true(o.run.started_us == NOW_US);
        assert_true(o.run.ended_us == NOW_US + 5 * CW_US_PER_SEC);
        outcome_release(&o);
}

static void test_failures(void **state)
{
        fx *f = *state;
        outcome o;

        run_job(f, "command = sh -c 'echo out; echo err >&2; exit 3'\n", &o);
        expect_status(&o, CW_RUN_FAILED, 3, 0);
        /* stdout and stderr interleave into one capture. */
        assert_string_equal(o.out, "out\nerr\n");
        outcome_release(&o);

        run_job(f, "command = sh -c 'kill -KILL $$'\n", &o);
        expect_status(&o, CW_RUN_FAILED, -1, SIGKILL);
        outcome_release(&o);

        /* Could not execute: exit code 127 and why. */
        run_job(f, "command = /bin/xx\n", &o);
        expect_status(&o, CW_RUN_FAILED, 127, 0);
        assert_string_equal(o.run.reason, "cannot execute '/bin/xx': No such file or directory");
        outcome_release(&o);

        run_job(f, "command = no-such-cronwarden-command --flag\n", &o);
        expect_status(&o, CW_RUN_FAILED, 127, 0);
        assert_string_equal(
                o.run.reason,
                "cannot execute 'no-such-cronwarden-command': No such file or directory");
        outcome_release(&o);

        /* Found on PATH but not executable. */
        {
                char path[256], job[512];
                FILE *fp;

                snprintf(path, sizeof(path), "%s/noexec", f->dir);
                fp = fopen(path, "w");
                assert_non_null(fp);
                fputs("#!/bin/sh\necho hi\n", fp);
                fclose(fp);
                chmod(path, 0644);
                snprintf(job, sizeof(job), "command = %s\n", path);
                run_job(f, job, &o);
                expect_status(&o, CW_RUN_FAILED, 127, 0);
                assert_non_null(strstr(o.run.reason, "Permission denied"));
                outcome_release(&o);
        }

        run_job(f, "command = /bin/true\nworkdir = /no/such/dir\n", &o);
        expect_status(&o, CW_RUN_FAILED, 127, 0);
        assert_string_equal(o.run.reason,
                            "cannot change to directory '/no/such/dir': No such file or directory");
        outcome_release(&o);
}

/* ---- what the job sees ------------------------------------------------------------ */

static void test_environment(void **state)
{
        fx *f = *state;
        struct passwd *pw = getpwuid(geteuid());
        char job[1024], envfile[256], want[4096], when[CW_ISO8601_MAX];
        FILE *fp;
        outcome o;

        assert_non_null(pw);
        snprintf(envfile, sizeof(envfile), "%s/app.env", f->dir);
        fp = fopen(envfile, "w");
        assert_non_null(fp);
        fputs("# deployed settings\n\nF=file\nexport Q = \"quoted value\"  \r\nX=from-file\n"
              "S='single # not a comment'\n",
              fp);
        fclose(fp);
        snprintf(job, sizeof(job),
                 "command = sh -c 'tr \"\\\\0\" \"\\\\n\" < /proc/$$/environ'\n"
                 "args = a b\noptions = mode dry-run\n"
                 "env = LANG=en_US.UTF-8\nenv = X=job\nenv_file = %s\n"
                 "[defaults]\nenv = D=default\nenv = X=default\n",
                 envfile);
        load(f, job, NULL);
        run_spec(f, "J:one,\"two words\",mode=fast,dry-run=1", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        cw_iso8601_format(NOW_US / 1000000, 0, when, sizeof(when));
        /* Exactly these, in this order (the environment the shell was
         * started with): a later setting replaces an earlier one in place
         * (LANG, X). */
        snprintf(want, sizeof(want),
                 "PATH=/usr/local/bin:/usr/bin:/bin\nHOME=%s\nUSER=%s\nLOGNAME=%s\nSHELL=%s\n"
                 "LANG=en_US.UTF-8\nD=default\nX=from-file\nF=file\nQ=quoted value\n"
                 "S=single # not a comment\n"
                 "CRONWARDEN_ARG_1=one\nCRONWARDEN_ARG_2=two words\nCRONWARDEN_OPT_MODE=fast\n"
                 "CRONWARDEN_OPT_DRY_RUN=1\nCRONWARDEN_RUN_ID=%" PRId64 "\nCRONWARDEN_JOB=J\n"
                 "CRONWARDEN_PROGRESS_FD=3\nCRONWARDEN_SCHEDULED_AT=%s\n",
                 pw->pw_dir, pw->pw_name, pw->pw_name, pw->pw_shell, o.res.run_id, when);
        assert_string_equal(o.out, want);
        outcome_release(&o);
}

static void test_scheduled_at(void **state)
{
        fx *f = *state;
        outcome o;

        load(f,
             "command = sh -c 'printf %s \"$CRONWARDEN_SCHEDULED_AT\"'\n"
             "timezone = Europe/Warsaw\n",
             NULL);
        /* 2027-01-15T08:00:00Z, in winter: +01:00. */
        run_spec_opts(f, "J", -1, 1800000000, &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "2027-01-15T09:00:00+01:00");
        assert_int_equal(o.run.scheduled_at, 1800000000);
        outcome_release(&o);
}

static void test_argv(void **state)
{
        fx *f = *state;
        outcome o;

        load(f, "command = printf '[%s]' a\nargs = x y\noptions = k\n", NULL);
        run_spec(f, "J:p1,\"p 2\",k=v", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "[a][p1][p 2][--k=v]");
        outcome_release(&o);

        /* shell = yes: /bin/sh -c 'COMMAND "$@"' cronwarden PARAMS... */
        load(f, "command = printf '<%s>' \"$0\"\nshell = yes\nargs = x y\noptions = k\n", NULL);
        run_spec(f, "J:p1,\"p 2\",k=v", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "<cronwarden><p1><p 2><--k=v>");
        outcome_release(&o);
}

/* stdin is /dev/null, only fds 0-3 are open, the job leads its own group,
 * no signal is blocked or ignored, and workdir applies. */
static void test_process_setup(void **state)
{
        fx *f = *state;
        char want[256];
        outcome o;

        /* cat would wait for input on anything but /dev/null. */
        run_job(f, "command = cat\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "");
        outcome_release(&o);

        run_job(f,
                "command = sh -c 'for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do "
                "[ -e /proc/$$/fd/$i ] && printf \"%s \" $i; done; readlink /proc/$$/fd/0'\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "0 1 2 3 /dev/null\n");
        outcome_release(&o);

        /* pgid (field 5) = pid; SigBlk and SigIgn empty. Read by the
         * job's own process: a shell would show its own masks. */
        run_job(f, "command = cut -d\" \" -f1,5 /proc/self/stat\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        snprintf(want, sizeof(want), "%d %d\n", o.run.pid, o.run.pid);
        assert_string_equal(o.out, want);
        outcome_release(&o);

        run_job(f, "command = grep -E \"^Sig(Blk|Ign)\" /proc/self/status\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
        outcome_release(&o);

        /* No workdir: the config file's directory. */
        run_job(f, "command = pwd\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        snprintf(want, sizeof(want), "%s\n", f->dir);
        assert_string_equal(o.out, want);
        outcome_release(&o);

        run_job(f, "command = pwd\nworkdir = /usr\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "/usr\n");
        outcome_release(&o);
}

static void test_priorities_and_limits(void **state)
{
        fx *f = *state;
        outcome o;

        run_job(f,
                "command = sh -c 'cut -d\" \" -f19 /proc/$$/stat; ionice -p $$; ulimit -n; "
                "ulimit -v; ulimit -t; ulimit -H -t'\n"
                "nice = 7\nionice = best-effort:3\nlimit_nofile = 77\n"
                "limit_memory = 256MiB\nlimit_cpu = 1m\nkill_grace = 5s\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "7\nbest-effort: prio 3\n77\n262144\n60\n65\n");
        outcome_release(&o);

        run_job(f, "command = ionice -p 0\nionice = idle\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "idle\n");
        outcome_release(&o);
}

static void test_run_as(void **state)
{
        fx *f = *state;
        outcome o;

        if (geteuid() != 0) {
                /* Not root: another user is refused and recorded as such. */
                run_job(f, "command = id\nrun_as = root\n", &o);
                expect_status(&o, CW_RUN_FAILED, -1, 0);
                assert_non_null(strstr(o.run.reason, "needs cronwarden to run as root"));
                assert_int_equal(o.run.pid, 0);
                outcome_release(&o);
                skip();
        }
        run_job(f,
                "command = sh -c 'id -un; id -gn; echo $HOME $USER $LOGNAME $SHELL'\n"
                "run_as = nobody\nworkdir = /\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out,
                            "nobody\nnogroup\n/nonexistent nobody nobody /usr/sbin/nologin\n");
        outcome_release(&o);

        run_job(f, "command = id\nrun_as = no-such-user-cw\n", &o);
        expect_status(&o, CW_RUN_FAILED, -1, 0);
        assert_string_equal(o.run.reason, "unknown user 'no-such-user-cw'");
        assert_int_equal(o.run.pid, 0);
        /* The caller heard about the run, with no job pid. */
        assert_int_equal(f->started_calls, 1);
        assert_int_equal(f->started_pid, 0);
        outcome_release(&o);
}

/* ---- progress ---------------------------------------------------------------------- */

static void test_progress(void **state)
{
        fx *f = *state;
        outcome o;

        run_job(f,
                "command = sh -c 'echo 13/77 >&$CRONWARDEN_PROGRESS_FD; echo \"5/10 step two\" >&3; "
                "echo garbage >&3; echo 7/0 >&3; echo 150%% >&3; printf 42%% >&3'\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        /* The last valid value wins, even without its newline. */
        assert_true(o.run.progress_done == 42 && o.run.progress_total == 100);
        /* Progress is not output. */
        assert_string_equal(o.out, "");
        outcome_release(&o);

        run_job(f,
                "command = sh -c 'i=0; while [ $i -lt 500 ]; do i=$((i+1)); echo $i/500; done >&3; "
                "echo 80/77 >&3'\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        /* Past the total counts as done. */
        assert_true(o.run.progress_done == 77 && o.run.progress_total == 77);
        outcome_release(&o);

        /* A bare count has no total; an overlong line is ignored whole. */
        run_job(f,
                "command = sh -c 'echo 12 >&3; head -c 5000 /dev/zero | tr \"\\\\0\" 9 >&3; "
                "echo >&3'\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_true(o.run.progress_done == 12 && o.run.progress_total == -1);
        outcome_release(&o);
}

/* ---- timeouts, kills, leftovers --------------------------------------------------------- */

static void expect_group_gone(const outcome *o)
{
        assert_int_equal(cw_proc_kill_group(o->run.pid, o->run.pid_start, 0), 0);
}

static void test_timeout(void **state)
{
        fx *f = *state;
        outcome o;

        /* Ignores SIGTERM: SIGKILL after the grace. */
        run_job(f,
                "command = sh -c 'trap \"\" TERM; echo started; sleep 30; echo never'\n"
                "timeout = 1s\nkill_grace = 1s\n",
                &o);
        expect_status(&o, CW_RUN_TIMED_OUT, -1, SIGKILL);
        assert_string_equal(o.run.reason, "timed out after 1s");
        assert_string_equal(o.out, "started\n");
        assert_true(o.took_us >= 1900000 && o.took_us < 10000000);
        expect_group_gone(&o);
        outcome_release(&o);

        /* Handles SIGTERM and exits 0: still timed out. */
        run_job(f,
                "command = sh -c 'trap \"echo bye; exit 0\" TERM; sleep 30 & wait'\n"
                "timeout = 1s\nkill_grace = 10s\n",
                &o);
        expect_status(&o, CW_RUN_TIMED_OUT, 0, 0);
        assert_string_equal(o.out, "bye\n");
        assert_true(o.took_us >= 900000 && o.took_us < 5000000);
        expect_group_gone(&o);
        outcome_release(&o);

        /* kill_grace = 0: SIGKILL at once. */
        run_job(f, "command = sleep 30\ntimeout = 1s\nkill_grace = 0s\n", &o);
        expect_status(&o, CW_RUN_TIMED_OUT, -1, SIGKILL);
        assert_true(o.took_us < 5000000);
        outcome_release(&o);
}

/* The job exits but leaves a background process holding its stdout that
 * ignores SIGTERM: it is killed after the grace, and the run ends. (The
 * shell ignores TERM before it forks, so the leftover ignores it from its
 * first instant: a trap set in the subshell could come after the SIGTERM
 * on a loaded machine.) */
static void test_leftovers(void **state)
{
        fx *f = *state;
        outcome o;

        run_job(f,
                "command = sh -c 'trap \"\" TERM; sleep 30 & echo started'\n"
                "kill_grace = 1s\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "started\n");
        assert_true(o.took_us >= 900000 && o.took_us < 10000000);
        expect_group_gone(&o);
        outcome_release(&o);

        /* A leftover that closed the pipe and dies of SIGTERM: noticed at
         * once (no waiting for the 10s grace). */
        run_job(f, "command = sh -c 'sleep 30 >/dev/null 2>&1 & echo ok'\nkill_grace = 10s\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "ok\n");
        assert_true(o.took_us < 5000000);
        expect_group_gone(&o);
        outcome_release(&o);

        /* A grandchild of a grandchild, orphaned twice. */
        run_job(f,
                "command = sh -c '(sh -c \"trap \\\"\\\" TERM; sleep 30\" &); echo x'\n"
                "kill_grace = 1s\n",
                &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_true(o.took_us < 10000000);
        expect_group_gone(&o);
        outcome_release(&o);
}

/* SIGTERM to the worker (here sent by the job to its parent) stops the
 * job and records it as killed, naming the sender. */
static void test_killed(void **state)
{
        fx *f = *state;
        sigset_t before, after, pending;
        char want[64];
        int sub = -1;
        outcome o;

        sigprocmask(SIG_SETMASK, NULL, &before);
        run_job(f, "command = sh -c 'echo $$; kill -TERM $PPID; exec sleep 30'\nkill_grace = 5s\n",
                &o);
        expect_status(&o, CW_RUN_KILLED, -1, SIGTERM);
        snprintf(want, sizeof(want), "killed by signal from pid %d", o.run.pid);
        assert_string_equal(o.run.reason, want);
        assert_true(o.took_us < 5000000);
        expect_group_gone(&o);
        outcome_release(&o);

        /* The caller's signal mask and subreaper flag are back, and the
         * SIGTERM was the worker's: nothing is left pending. */
        sigprocmask(SIG_SETMASK, NULL, &after);
        for (int s = 1; s < NSIG; s++)
                assert_int_equal(sigismember(&before, s), sigismember(&after, s));
        sigpending(&pending);
        assert_false(sigismember(&pending, SIGTERM));
        assert_false(sigismember(&pending, SIGCHLD));
        prctl(PR_GET_CHILD_SUBREAPER, &sub);
        assert_int_equal(sub, 0);

        /* A caller ignoring SIGCHLD (which makes the kernel reap
         * children) still gets the job's exit status, and its
         * disposition back. */
        {
                struct sigaction ign = {.sa_handler = SIG_IGN}, now;

                sigaction(SIGCHLD, &ign, NULL);
                run_job(f, "command = sh -c 'exit 4'\n", &o);
                sigaction(SIGCHLD, NULL, &now);
                assert_true(now.sa_handler == SIG_IGN);
                now.sa_handler = SIG_DFL;
                sigaction(SIGCHLD, &now, NULL);
                expect_status(&o, CW_RUN_FAILED, 4, 0);
                outcome_release(&o);
        }

        /* SIGHUP is ignored. */
        run_job(f, "command = sh -c 'kill -HUP $PPID; echo still here'\n", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.out, "still here\n");
        outcome_release(&o);
}

/* ---- locks ------------------------------------------------------------------------------- */

static void test_lock_busy(void **state)
{
        fx *f = *state;
        char locks[256];
        cw_lock_holder h = {.pid = getpid(), .run_id = 4242, .since_us = 123, .node = "n"};
        cw_run_filter filter = CW_RUN_FILTER_INIT;
        cw_run *runs = NULL;
        size_t n = 99;
        cw_lock *l = NULL;
        outcome o;

        load(f,
             "command = /bin/true\nlock_name = Shared\n[job K]\ncommand = /bin/true\n"
             "lock_name = Shared\n[job P]\ncommand = /bin/true\nlock = params\noptions = x\n"
             "[job N]\ncommand = /bin/true\nlock = none\n",
             NULL);
        snprintf(locks, sizeof(locks), "%s/locks", f->data);
        assert_int_equal(cw_lock_acquire(locks, "class-Shared", &l, NULL), 0);
        assert_int_equal(cw_lock_set_holder(l, &h), 0);

        run_spec(f, "J", &o);
        assert_int_equal(o.r, -EBUSY);
        assert_int_equal(o.res.holder.pid, getpid());
        assert_int_equal(o.res.holder.run_id, 4242);
        assert_int_equal(f->started_calls, 0);
        /* Jobs sharing lock_name exclude each other. */
        run_spec(f, "K", &o);
        assert_int_equal(o.r, -EBUSY);
        assert_int_equal(cw_store_runs_list(f->store, &filter, &runs, &n), 0);
        assert_int_equal(n, 0);
        cw_runs_free(runs, n);

        /* Other keys are free. */
        run_spec(f, "P:x=1", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_non_null(strstr(o.run.lock_key, "params-P-"));
        outcome_release(&o);
        run_spec(f, "N", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_null(o.run.lock_key);
        outcome_release(&o);
        cw_lock_release(l);

        run_spec(f, "J", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_string_equal(o.run.lock_key, "class-Shared");
        outcome_release(&o);
}

/* The previous holder died with the lock (its record is still in the
 * file) and its run is still "running" with a leftover process group: the
 * next run kills the group and records the old run as lost. */
static void test_dead_holder(void **state)
{
        fx *f = *state;
        char locks[256], c;
        int ready[2], st;
        cw_run old = {0}, got = {0};
        pid_t sleeper, holder;
        outcome o;

        load(f, "command = /bin/true\n", NULL);
        snprintf(locks, sizeof(locks), "%s/locks", f->data);

        sleeper = fork();
        assert_true(sleeper >= 0);
        if (sleeper == 0) {
                setpgid(0, 0);
                for (;;)
                        pause();
        }
        setpgid(sleeper, sleeper);
        old.job = "J";
        old.spec = "J";
        old.node = "test-node";
        old.status = CW_RUN_RUNNING;
        old.trigger = CW_TRIGGER_MANUAL;
        old.attempt = 1;
        old.started_us = NOW_US - 1000000;
        old.worker_pid = 999999;
        old.pid = sleeper;
        old.pid_start = cw_proc_start_time(sleeper);
        old.exit_code = -1;
        old.progress_done = old.progress_total = -1;
        old.lock_key = "class-J";
        assert_true(old.pid_start > 0);
        assert_int_equal(cw_store_run_insert(f->store, &old), 0);

        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        holder = fork();
        assert_true(holder >= 0);
        if (holder == 0) {
                cw_lock_holder h = {.pid = getpid(), .run_id = old.id, .since_us = 1, .node = "x"};
                cw_lock *l = NULL;

                if (cw_lock_acquire(locks, "class-J", &l, NULL) < 0 ||
                    cw_lock_set_holder(l, &h) < 0)
                        _exit(1);
                (void)!write(ready[1], "r", 1);
                for (;;)
                        pause();
        }
        close(ready[1]);
        assert_int_equal(read(ready[0], &c, 1), 1);
        close(ready[0]);
        kill(holder, SIGKILL);
        assert_int_equal(waitpid(holder, NULL, 0), holder);

        run_spec(f, "J", &o);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        outcome_release(&o);
        assert_int_equal(waitpid(sleeper, &st, 0), sleeper);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        assert_int_equal(cw_store_run_get(f->store, old.id, &got), 0);
        assert_int_equal(got.status, CW_RUN_LOST);
        assert_string_equal(got.reason, "worker vanished");
        cw_run_release(&got);
}

/* ---- output ------------------------------------------------------------------------------------ */

static off_t file_size(const char *path)
{
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return st.st_size;
}

static void test_flood(void **state)
{
        fx *f = *state;
        char tee_path[256];
        const size_t total = 40u * 1024 * 1024;
        int tee;
        outcome o;

        load(f, "command = sh -c 'echo first; head -c 41943028 /dev/zero; printf \"\\nlast\\n\"'\n",
             "1KiB");
        snprintf(tee_path, sizeof(tee_path), "%s/tee.out", f->dir);
        tee = open(tee_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(tee >= 0);
        run_spec_opts(f, "J", tee, 0, &o);
        close(tee);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_true(o.run.output_size == total);
        assert_true(o.run.output_truncated);
        assert_true(o.len < 1024 + 100);
        assert_memory_equal(o.out, "first\n", 6);
        assert_memory_equal(o.out + o.len - 6, "\nlast\n", 6);
        assert_non_null(strstr(o.out + 512, "[... cronwarden: 41942016 bytes omitted ...]\n"));
        /* The tee got every byte. */
        assert_true((size_t)file_size(tee_path) == total);
        outcome_release(&o);
}

/* A tee whose reader left: the copy stops, the run does not. */
static void test_tee_epipe(void **state)
{
        fx *f = *state;
        int p[2];
        outcome o;

        load(f, "command = sh -c 'echo a; head -c 300000 /dev/zero; echo b'\n", NULL);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        close(p[0]);
        run_spec_opts(f, "J", p[1], 0, &o);
        close(p[1]);
        expect_status(&o, CW_RUN_SUCCEEDED, 0, 0);
        assert_true(o.run.output_size == 300004);
        assert_false(o.run.output_truncated);
        outcome_release(&o);
}

/* A job whose env_file is broken or missing fails, saying where. */
static void test_env_file_errors(void **state)
{
        fx *f = *state;
        char path[256], job[512];
        FILE *fp;
        outcome o;

        snprintf(path, sizeof(path), "%s/bad.env", f->dir);
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs("A=1\noops\n", fp);
        fclose(fp);
        snprintf(job, sizeof(job), "command = /bin/true\nenv_file = %s\n", path);
        run_job(f, job, &o);
        expect_status(&o, CW_RUN_FAILED, -1, 0);
        assert_non_null(strstr(o.run.reason, "bad.env:2: expected KEY=value, got 'oops'"));
        assert_int_equal(o.run.pid, 0);
        outcome_release(&o);

        snprintf(job, sizeof(job), "command = /bin/true\nenv_file = %s/missing.env\n", f->dir);
        run_job(f, job, &o);
        expect_status(&o, CW_RUN_FAILED, -1, 0);
        assert_non_null(strstr(o.run.reason, "missing.env': No such file or directory"));
        outcome_release(&o);
}

/* ---- env_file syntax (no processes) ------------------------------------------------------ */

static void test_env_file_parse(void **state)
{
        static const struct {
                const char *text;
                const char *want; /* entries joined by '|', or NULL for an error */
                const char *error;
                size_t len; /* of text when it holds a NUL byte, else 0 */
        } cases[] = {
                {"", "", NULL},
                {"\n\n# c\n   # indented comment\n", "", NULL},
                {"A=1\nB=two words\n", "A=1|B=two words", NULL},
                {"A=1\r\nB=2\r\n", "A=1|B=2", NULL},
                {"export A=1\n", "A=1", NULL},
                {"  A = spaced  \n", "A=spaced", NULL},
                {"A=\"q\"\nB='s'\nC=\"\"\n", "A=q|B=s|C=", NULL},
                {"A=\"keeps 'inner' and # hash\"  # comment\n", "A=keeps 'inner' and # hash", NULL},
                {"A=x # not a comment\n", "A=x # not a comment", NULL},
                {"A=a=b=c\n", "A=a=b=c", NULL},
                {"A=\"unbalanced'\n", NULL, "test.env:1: A: missing closing \" quote"},
                {"A=1\nA=2\n", "A=2", NULL},
                {"A=\"x\" y\n", NULL, "test.env:1: A: unexpected text after the closing quote: y"},
                {"A=1\nno equals\n", NULL, "test.env:2: expected KEY=value, got 'no equals'"},
                {"=1\n", NULL, "test.env:1: expected KEY=value, got '=1'"},
                {"1A=1\n", NULL, "test.env:1: expected KEY=value"},
                {"A-B=1\n", NULL, "test.env:1: expected KEY=value"},
                {"export\n", NULL, "test.env:1: expected KEY=value, got 'export'"},
                {"CRONWARDEN_RUN_ID=7\n", NULL,
                 "test.env:1: names starting with CRONWARDEN_ are set by cronwarden itself"},
                {"A=1\nB=\0\n", NULL, "test.env:2: line contains a NUL byte", 8},
                {"LAST=no newline", "LAST=no newline", NULL},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                cw_strv env = {0};
                cw_error e;
                size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
                char joined[512] = "";
                int r;

                cw_error_clear(&e);
                r = cw_env_file_parse("test.env", cases[i].text, len, &env, &e);
                for (size_t j = 0; j < env.n; j++) {
                        size_t k = strlen(joined);

                        snprintf(joined + k, sizeof(joined) - k, "%s%s", j ? "|" : "", env.v[j]);
                }
                if (cases[i].want) {
                        if (r != 0 || strcmp(joined, cases[i].want) != 0)
                                fail_msg("case %zu: got %d '%s' (%s), want '%s'", i, r, joined,
                                         e.msg, cases[i].want);
                } else if (r != -EINVAL || !strstr(e.msg, cases[i].error)) {
                        fail_msg("case %zu: got %d '%s', want error '%s'", i, r, e.msg,
                                 cases[i].error);
                }
                cw_strv_release(&env);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_env_file_parse),
                cmocka_unit_test_setup_teardown(test_success, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clock, setup, teardown),
                cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
                cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scheduled_at, setup, teardown),
                cmocka_unit_test_setup_teardown(test_argv, setup, teardown),
                cmocka_unit_test_setup_teardown(test_process_setup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_priorities_and_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_run_as, setup, teardown),
                cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
                cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_killed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lock_busy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dead_holder, setup, teardown),
                cmocka_unit_test_setup_teardown(test_flood, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tee_epipe, setup, teardown),
                cmocka_unit_test_setup_teardown(test_env_file_errors, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
