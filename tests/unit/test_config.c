/* test_config.c - loading and validating the configuration file, and the
 * shell-like command splitter it uses.
 *
 * Most cases are tables: a config text and either the values it must
 * yield or the exact list of diagnostics (each matched by a fragment, in
 * order, and no others: a spurious second error is a failure too). Texts
 * are loaded with cw_config_load_string under the name "test.ini", so
 * every message starts "test.ini:LINE:". A few tests write real files
 * (missing file, relative paths, cw_config_find) in a private temporary
 * directory, and one loads 100 000 generated jobs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/argv.h"
#include "config/config.h"

/* 2027-01-15T00:00:00Z: a fixed "now" for never-fires checks. */
#define NOW ((cw_time)1800000000)

static int load_text(const char *text, cw_config **ret, cw_config_errors *errs)
{
        cw_config_opts o = {.zoneinfo_dir = NULL, .now = NOW};

        return cw_config_load_string("test.ini", text, strlen(text), &o, ret, errs);
}

static void dump_errors(const char *what, const cw_config_errors *e)
{
        print_message("--- %s: %zu message(s)\n", what, e->n);
        for (size_t i = 0; i < e->n; i++)
                print_message("%s\n", e->msgs[i]);
}

/* Loads text that must be valid. */
static cw_config *load_ok(const char *text)
{
        cw_config_errors e = {0};
        cw_config *c = NULL;
        int r = load_text(text, &c, &e);

        if (r != 0 || e.n != 0) {
                dump_errors(text, &e);
                fail_msg("expected a valid config, got %d", r);
        }
        cw_config_errors_release(&e);
        return c;
}

/* ---- valid files ---------------------------------------------------------------- */

static char *read_data(const char *name)
{
        char path[1024];
        FILE *f;
        char *buf;
        long n;

        snprintf(path, sizeof(path), "%s/unit/data/config/%s", CW_TEST_SRCDIR, name);
        f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n >= 0);
        rewind(f);
        buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

/* A full configuration using most keys (see docs/config.md), plus the jobs it refers to. */
static void test_product_example(void **state)
{
        char *text = read_data("example.ini");
        cw_config *c = load_ok(text);
        const cw_job *j;
        char cwd[4096];

        (void)state;
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_string_equal(c->path, "test.ini");
        assert_string_equal(c->dir, cwd);
        assert_true(strncmp(c->data_dir, cwd, strlen(cwd)) == 0);
        assert_string_equal(c->data_dir + strlen(cwd), "/.cronwarden");
        assert_string_equal(c->store, "sqlite");
        assert_string_equal(cw_tz_name(c->tz), "Europe/Warsaw");
        assert_string_equal(c->node, "web-1");
        assert_int_equal(c->max_output, 1024 * 1024);
        assert_int_equal(c->keep_history, 90 * 86400);
        assert_string_equal(c->admin_listen, "127.0.0.1:8080");
        assert_string_equal(c->admin_user, "admin");
        assert_string_equal(c->admin_password_hash, "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA");
        assert_int_equal(c->n_jobs, 4);

        j = cw_config_job(c, "HelloWorld");
        assert_non_null(j);
        assert_string_equal(j->name, "HelloWorld");
        assert_string_equal(j->description, "Says hello");
        assert_string_equal(j->command, "/srv/venv/bin/python manage.py hello");
        assert_int_equal(j->argv.n, 3);
        assert_string_equal(j->argv.v[0], "/srv/venv/bin/python");
        assert_string_equal(j->argv.v[2], "hello");
        assert_int_equal(j->args.n, 1);
        assert_string_equal(j->args.v[0], "what");
        assert_int_equal(j->options.n, 1);
        assert_string_equal(j->options.v[0], "sleep");
        assert_int_equal(j->lock, CW_LOCK_CLASS);
        assert_string_equal(j->lock_name, "Greeters");
        assert_true(j->nice_set);
        assert_int_equal(j->nice, 19);
        assert_int_equal(j->ionice, CW_IONICE_IDLE);
        assert_int_equal(j->timeout, 600);
        assert_int_equal(j->kill_grace, 10);
        assert_int_equal(j->concurrency, CW_CONCURRENCY_FORBID);
        assert_int_equal(j->catch_up, CW_CATCH_UP_ONCE);
        assert_int_equal(j->retries, 3);
        assert_int_equal(j->retry_delay, 300);
        assert_true(j->can_resume);
        assert_int_equal(j->after.n, 1);
        assert_string_equal(j->after.v[0], "OtherJob");
        assert_int_equal(j->hosts.n, 2);
        assert_string_equal(j->hosts.v[1], "web-2");
        assert_string_equal(j->ping, "https://hc.example/abc/{event}");
        assert_int_equal(j->notify_after_failures, 3);
        assert_string_equal(j->run_as, "www-data");
        assert_string_equal(j->workdir, "/srv/app");
        assert_int_equal(j->env.n, 1);
        assert_string_equal(j->env.v[0], "DJANGO_SETTINGS_MODULE=app.settings");
        assert_ptr_equal(j->tz, c->tz);
        assert_true(j->enabled);

        /* [defaults] timeout applies where a job sets none. */
        j = cw_config_job(c, "Cleanup");
        assert_non_null(j);
        assert_int_equal(j->timeout, 3600);
        assert_string_equal(j->description, "");
        assert_null(cw_config_job(c, "Nope"));

        assert_int_equal(c->n_entries, 4);
        assert_string_equal(c->entries[0].spec_text, "OtherJob");
        assert_string_equal(cw_timespec_text(c->entries[0].when), "15 5 * * *");
        assert_string_equal(c->entries[1].spec_text, "HelloWorld:\"big world\",sleep=5");
        assert_string_equal(c->entries[1].spec->params[0].value, "big world");
        assert_string_equal(cw_timespec_text(c->entries[1].when), "*/10 * * * *");
        assert_int_equal(c->entries[1].job, (size_t)(cw_config_job(c, "HelloWorld") - c->jobs));
        assert_string_equal(cw_timespec_text(c->entries[2].when), "every 90m");
        assert_string_equal(cw_timespec_text(c->entries[3].when), "at 11:30, 14:00");
        assert_int_equal(cw_timespec_get_kind(c->entries[3].when), CW_TIMESPEC_AT);
        cw_config_free(c);
        free(text);
}

static void test_empty_and_defaults(void **state)
{
        static const char *const texts[] = {"", "\n\n", "; only a comment\n# another\n",
                                            "\xef\xbb\xbf"};

        (void)state;
        for (size_t t = 0; t < CW_ARRAY_SIZE(texts); t++) {
                cw_config *c = load_ok(texts[t]);

                assert_int_equal(c->n_jobs, 0);
                assert_int_equal(c->n_entries, 0);
                assert_string_equal(c->store, "sqlite");
                assert_string_equal(c->admin_listen, "127.0.0.1:8080");
                assert_null(c->admin_user);
                assert_null(c->admin_password_hash);
                assert_false(c->allow_ui_commands);
                assert_int_equal(c->max_output, 1024 * 1024);
                assert_int_equal(c->keep_history, 90 * 86400);
                assert_int_equal(c->max_running, 0);
                assert_true(c->max_load == 0);
                assert_non_null(c->tz);
                assert_non_null(c->node);
                assert_true(c->node[0] != '\0');
                assert_true(c->data_dir[0] == '/');
                cw_config_free(c);
        }
}

static void test_job_defaults(void **state)
{
        cw_config *c = load_ok("[job A]\ncommand = run\n");
        const cw_job *j = cw_config_job(c, "A");

        (void)state;
        assert_string_equal(j->description, "");
        assert_false(j->shell);
        assert_int_equal(j->args.n, 0);
        assert_int_equal(j->lock, CW_LOCK_CLASS);
        assert_null(j->lock_name);
        assert_false(j->nice_set);
        assert_int_equal(j->ionice, CW_IONICE_UNSET);
        assert_int_equal(j->timeout, 0);
        assert_int_equal(j->kill_grace, 10);
        assert_int_equal(j->concurrency, CW_CONCURRENCY_FORBID);
        assert_int_equal(j->catch_up, CW_CATCH_UP_ONCE);
        assert_int_equal(j->retries, 0);
        assert_int_equal(j->retry_delay, 60);
        assert_false(j->can_resume);
        assert_null(j->ping);
        assert_int_equal(j->notify_after_failures, 1);
        assert_null(j->run_as);
        assert_null(j->workdir);
        assert_null(j->env_file);
        assert_true(j->enabled);
        assert_int_equal(j->jitter, 0);
        assert_int_equal(j->disable_after_failures, 0);
        assert_int_equal(j->priority, 0);
        assert_int_equal(j->limit_nofile, 0);
        assert_int_equal(j->limit_memory, 0);
        assert_int_equal(j->limit_cpu, 0);
        assert_ptr_equal(j->tz, c->tz);
        assert_int_equal(j->line, 1);
        cw_config_free(c);
}

/* Every remaining key with a valid value, and what it becomes. */
static void test_all_keys(void **state)
{
        cw_config *c = load_ok("[cronwarden]\n"
                               "data_dir = /var/lib/cw/./x//y\n"
                               "store = postgresql://cw@db/cw\n"
                               "timezone = UTC\n"
                               "max_output = 512KiB\n"
                               "keep_history = 1w\n"
                               "[admin]\n"
                               "listen = [::1]:9090\n"
                               "allow_ui_commands = on\n"
                               "[job A]\n"
                               "command = sh -c 'echo \"$X\" | tr a b'\n"
                               "shell = no\n"
                               "lock = params\n"
                               "ionice = best-effort\n"
                               "kill_grace = 0s\n"
                               "concurrency = replace\n"
                               "catch_up = all\n"
                               "env_file = /etc/app.env\n"
                               "secret_env = TOKEN\n"
                               "timezone = America/New_York\n"
                               "enabled = false\n"
                               "start_deadline = 5m\n"
                               "timeout = 2h\n"
                               "max_runtime = 1h\n"
                               "min_runtime = 10s\n"
                               "disable_after_failures = 5\n"
                               "nice = -20\n"
                               "limit_nofile = 1048576\n"
                               "limit_memory = 512MiB\n"
                               "limit_cpu = 1h30m\n"
                               "[job B]\n"
                               "command = cd /x && make\n"
                               "shell = yes\n"
                               "ionice = realtime:0\n"
                               "timezone = America/New_York\n"
                               "workdir = sub/dir\n"
                               "lock = none\n");
        const cw_job *a = cw_config_job(c, "A"), *b = cw_config_job(c, "B");

        (void)state;
        assert_string_equal(c->data_dir, "/var/lib/cw/x/y");
        assert_string_equal(c->store, "postgresql://cw@db/cw");
        assert_int_equal(c->max_output, 512 * 1024);
        assert_int_equal(c->keep_history, 7 * 86400);
        assert_string_equal(c->admin_listen, "[::1]:9090");
        assert_true(c->allow_ui_commands);

        assert_int_equal(a->argv.n, 3);
        assert_string_equal(a->argv.v[2], "echo \"$X\" | tr a b");
        assert_int_equal(a->lock, CW_LOCK_PARAMS);
        assert_int_equal(a->ionice, CW_IONICE_BEST_EFFORT);
        assert_int_equal(a->ionice_level, 4);
        assert_int_equal(a->kill_grace, 0);
        assert_int_equal(a->concurrency, CW_CONCURRENCY_REPLACE);
        assert_int_equal(a->catch_up, CW_CATCH_UP_ALL);
        assert_string_equal(a->env_file, "/etc/app.env");
        /* With an env_file, secret_env names may come from that file. */
        assert_string_equal(a->secret_env.v[0], "TOKEN");
        assert_false(a->enabled);
        assert_int_equal(a->start_deadline, 300);
        assert_int_equal(a->max_runtime, 3600);
        assert_int_equal(a->min_runtime, 10);
        assert_int_equal(a->disable_after_failures, 5);
        assert_int_equal(a->nice, -20);
        assert_int_equal(a->limit_nofile, 1048576);
        assert_int_equal(a->limit_memory, 512 * 1024 * 1024);
        assert_int_equal(a->limit_cpu, 5400);
        assert_int_equal(b->limit_nofile, 0);
        assert_string_equal(cw_tz_name(a->tz), "America/New_York");
        /* One zone object per name, shared by the jobs using it. */
        assert_ptr_equal(a->tz, b->tz);
        assert_ptr_not_equal(a->tz, c->tz);

        /* shell = yes: the command is kept whole, never split. */
        assert_true(b->shell);
        assert_string_equal(b->command, "cd /x && make");
        assert_int_equal(b->argv.n, 0);
        assert_int_equal(b->ionice, CW_IONICE_REALTIME);
        assert_int_equal(b->ionice_level, 0);
        assert_string_equal(b->workdir + strlen(c->dir), "/sub/dir");
        cw_config_free(c);
}

static void test_inheritance(void **state)
{
        cw_config *c = load_ok("[job A]\n"
                               "command = a\n"
                               "env = B=job\n"
                               "env = C=3\n"
                               "hosts = h3\n"
                               "secret_env = C\n"
                               "ionice = none\n"
                               "[job B]\n"
                               "command = b\n"
                               "[defaults]\n"
                               "env = A=1\n"
                               "env = B=default\n"
                               "hosts = h1, h2\n"
                               "timezone = Asia/Tokyo\n"
                               "secret_env = A\n"
                               "ionice = idle\n"
                               "retries = 2\n"
                               "limit_nofile = 64\n"
                               "limit_cpu = 10m\n"
                               "[job C]\n"
                               "command = c\n"
                               "limit_nofile = 4096\n");
        const cw_job *a = cw_config_job(c, "A"), *b = cw_config_job(c, "B");

        (void)state;
        /* [defaults] may come after the jobs it applies to. */
        assert_int_equal(a->env.n, 3);
        assert_string_equal(a->env.v[0], "A=1");
        assert_string_equal(a->env.v[1], "B=job");
        assert_string_equal(a->env.v[2], "C=3");
        assert_int_equal(b->env.n, 2);
        assert_string_equal(b->env.v[1], "B=default");
        /* Lists other than env and secret_env replace the default. */
        assert_int_equal(a->hosts.n, 1);
        assert_string_equal(a->hosts.v[0], "h3");
        assert_int_equal(b->hosts.n, 2);
        assert_int_equal(a->secret_env.n, 2);
        assert_int_equal(b->secret_env.n, 1);
        assert_string_equal(cw_tz_name(a->tz), "Asia/Tokyo");
        assert_ptr_equal(a->tz, b->tz);
        assert_int_equal(a->ionice, CW_IONICE_UNSET);
        assert_int_equal(b->ionice, CW_IONICE_IDLE);
        assert_int_equal(a->retries, 2);
        /* rlimits are scalars: inherited, and replaced by a job's value. */
        assert_int_equal(a->limit_nofile, 64);
        assert_int_equal(a->limit_cpu, 600);
        assert_int_equal(cw_config_job(c, "C")->limit_nofile, 4096);
        assert_int_equal(cw_config_job(c, "C")->limit_cpu, 600);
        cw_config_free(c);
}

/* Pass two runs in a fixed order, so [cronwarden] may come last. */
static void test_section_order(void **state)
{
        cw_config *c = load_ok("[schedule]\nrun = 0 0 * * * A\n"
                               "[job A]\ncommand = a\nschedule = 0 12 * * *\n"
                               "[cronwarden]\ntimezone = Asia/Tokyo\n");

        (void)state;
        assert_string_equal(cw_tz_name(cw_config_job(c, "A")->tz), "Asia/Tokyo");
        assert_int_equal(c->n_entries, 2);
        /* Entries of jobs come first, then those of [schedule]. */
        assert_int_equal(c->entries[0].line, 5);
        assert_int_equal(c->entries[1].line, 2);
        cw_config_free(c);
}

static void test_syntax_variants(void **state)
{
        /* BOM, CRLF, ':' as separator, inline and full-line comments,
         * indented keys at the start of a section. */
        cw_config *c = load_ok(
                "\xef\xbb\xbf[cronwarden]\r\n"
                "  timezone: UTC   ; comment\r\n"
                "# comment\r\n"
                "[job A]\r\n"
                "command = echo 'a;b'\r\n"
                "description=x=y;z   ; ';' needs white space before it to start a comment\r\n");
        const cw_job *a = cw_config_job(c, "A");

        (void)state;
        assert_string_equal(cw_tz_name(c->tz), "UTC");
        assert_string_equal(a->command, "echo 'a;b'");
        assert_string_equal(a->argv.v[1], "a;b");
        assert_string_equal(a->description, "x=y;z");
        cw_config_free(c);
}

static void test_continuations(void **state)
{
        cw_config *c = load_ok("[job A]\n"
                               "description = a long\n"
                               "    description   ; with a comment\n"
                               "\n"
                               "  ; a comment line inside does not end the value\n"
                               "    here\n"
                               "command = /bin/echo\n"
                               "   \"hello world\"\n"
                               "    'x y'\n"
                               "hosts = h1,\n"
                               "   h2 h3,\n"
                               "   h4\n"
                               "env = X=1\n"
                               "   Y=a b\n"
                               "args = a\n"
                               "   b\n"
                               "[schedule]\n"
                               "run = */15\n"
                               "   * * * *\n"
                               "   A:1,2\n");
        const cw_job *a = cw_config_job(c, "A");

        (void)state;
        assert_string_equal(a->description, "a long description here");
        assert_string_equal(a->command, "/bin/echo \"hello world\" 'x y'");
        assert_int_equal(a->argv.n, 3);
        assert_string_equal(a->argv.v[1], "hello world");
        assert_string_equal(a->argv.v[2], "x y");
        assert_int_equal(a->hosts.n, 4);
        assert_string_equal(a->hosts.v[3], "h4");
        assert_int_equal(a->env.n, 2);
        assert_string_equal(a->env.v[1], "Y=a b");
        assert_int_equal(a->args.n, 2);
        assert_int_equal(c->n_entries, 1);
        assert_string_equal(c->entries[0].spec_text, "A:1,2");
        assert_string_equal(cw_timespec_text(c->entries[0].when), "*/15 * * * *");
        assert_int_equal(c->entries[0].line, 18);
        cw_config_free(c);
}

/* `H` is seeded by the canonical job spec, and the job spec in a run line
 * is its last word even when quoted params hold spaces. */
static void test_schedule_seeds(void **state)
{
        cw_config *c =
                load_ok("[cronwarden]\ntimezone = UTC\n"
                        "[job Job]\ncommand = x\noptions = k\nschedule = H H * * *\n"
                        "[job Other]\ncommand = x\nschedule = H H * * *\nschedule = @reboot\n"
                        "[schedule]\n"
                        "run = H H * * *   Job:k=\"a  b\"\n"
                        "run = H H * * * Job:k=\"x\"\n");
        const char *seeds[] = {"Job", "Other", NULL, "Job:k=\"a  b\"", "Job:k=x"};

        (void)state;
        assert_int_equal(c->n_entries, 5);
        for (size_t i = 0; i < c->n_entries; i++) {
                cw_timespec *ts = NULL;
                cw_time t1, t2;
                cw_error err;

                if (!seeds[i]) {
                        assert_int_equal(cw_timespec_get_kind(c->entries[i].when),
                                         CW_TIMESPEC_REBOOT);
                        continue;
                }
                assert_string_equal(c->entries[i].spec_text, seeds[i]);
                assert_int_equal(cw_timespec_parse("H H * * *", seeds[i], &ts, &err), 0);
                assert_int_equal(cw_timespec_next(ts, c->tz, NOW, &t1), 0);
                assert_int_equal(cw_timespec_next(c->entries[i].when, c->tz, NOW, &t2), 0);
                assert_int_equal(t1, t2);
                cw_timespec_free(ts);
        }
        assert_string_equal(c->entries[3].spec->params[0].value, "a  b");
        cw_config_free(c);
}

/* ---- invalid files --------------------------------------------------------------- */

typedef struct bad_case {
        const char *text;
        const char *errors[4]; /* fragments of each expected message, in order */
        size_t len;            /* of text, when it holds a NUL byte; else 0 */
} bad_case;

#define NUL_TEXT "[job A]\ncommand = x\0y\n"

#define J "[job A]\ncommand = x\n" /* a valid job on lines 1-2 */

static const bad_case bad_cases[] = {
        /* syntax */
        {J "no equals here\n",
         {"test.ini:3: expected KEY = VALUE or a [section] header, got 'no equals here'"}},
        {"[job A\ncommand = x\n", {"test.ini:1: unterminated section header"}},
        {"[job A ; comment]\n", {"test.ini:1: unterminated section header"}},
        {"[job A] x\ncommand = y\n", {"test.ini:1: [job A]: unexpected text after ']'"}},
        {J "  [job B]\ncommand = y\n", {"test.ini:3: section header must start the line"}},
        /* Regression: inih removes one byte-order mark on line 1, and must
         * not be handed a second one (data) to remove. */
        {"\xef\xbb\xbf\xef\xbb\xbf[job A]\ncommand = x\n",
         {"test.ini:1: expected KEY = VALUE", "test.ini:2: command: key outside any section"}},
        {"\t\xef\xbb\xbfk = v\n", {"test.ini:1: \xef\xbb\xbfk: key outside any section"}},
        {J "= value\n", {"test.ini:3: missing key name before '='"}},
        {"a = b\n", {"test.ini:1: a: key outside any section"}},
        {J "a = \x01\n", {"test.ini:3: a: unknown key"}},
        {NUL_TEXT,
         {"test.ini:1: [job A]: missing command", "test.ini:2: line contains a NUL byte"},
         sizeof(NUL_TEXT) - 1},
        /* sections */
        {"[jobs]\n", {"test.ini:1: [jobs]: unknown section (did you mean [job NAME]?)"}},
        {"[Cronwarden]\n", {"(did you mean [cronwarden]?)"}},
        {"[foo]\nkey = ignored\n",
         {"test.ini:1: [foo]: unknown section: expected [cronwarden], [admin]"}},
        {"[job]\n", {"test.ini:1: [job]: missing job name: write [job NAME]"}},
        {"[job 9x]\n", {"test.ini:1: [job 9x]: invalid job name '9x'"}},
        {"[job a b]\n", {"test.ini:1: [job a b]: invalid job name 'a b'"}},
        {J "[job A]\ncommand = y\n", {"test.ini:3: [job A]: job defined twice (first on line 1)"}},
        {"[admin]\n[admin]\nuser = x\n",
         {"test.ini:2: [admin]: section given twice (first on line 1)"}},
        /* keys */
        {J "timout = 5m\n",
         {"test.ini:3: timout: unknown key in [job A] (did you mean 'timeout'?)"}},
        {J "retires = 5\n", {"(did you mean 'retries'?)"}},
        {J "listen = x\n", {"test.ini:3: listen: unknown key in [job A] (it belongs in [admin])"}},
        {"[defaults]\nnode = x\n",
         {"node: unknown key in [defaults] (it belongs in [cronwarden])"}},
        {J "frobnicate = 1\n", {"test.ini:3: frobnicate: unknown key in [job A]"}},
        {J "command = y\n", {"test.ini:3: command: set twice in [job A] (first set on line 2)"}},
        {"[defaults]\ndescription = x\nschedule = @daily\n",
         {"test.ini:2: description: not allowed in [defaults]",
          "test.ini:3: schedule: not allowed in [defaults]"}},
        {"[job A]\ndescription = x\n",
         {"test.ini:1: [job A]: missing command = ... (what the job runs)"}},
        /* values */
        {J "shell = maybe\n",
         {"test.ini:3: shell: expected yes or no (or true/false, on/off, 1/0), got 'maybe'"}},
        {J "nice = 20\n", {"test.ini:3: nice: expected a whole number from -20 to 19, got '20'"}},
        {J "nice = -21\n", {"nice: expected a whole number from -20 to 19, got '-21'"}},
        {J "retries = 101\n", {"retries: expected a whole number from 0 to 100, got '101'"}},
        {J "retries = 1.5\n", {"retries: expected a whole number"}},
        {J "retries = 0x10\n", {"retries: expected a whole number"}},
        {J "retries = \n", {"retries: expected a whole number from 0 to 100, got ''"}},
        {J "priority = 99999999999999999999\n",
         {"priority: expected a whole number from -1000 to 1000"}},
        {J "notify_after_failures = 0\n",
         {"notify_after_failures: expected a whole number from 1 to"}},
        {J "disable_after_failures = -1\n",
         {"disable_after_failures: expected a whole number from 0 to"}},
        {J "timeout = 10 minutes\n", {"in duration '10 minutes'"}},
        {J "timeout = 5\n", {"timeout: duration '5' needs a unit"}},
        {J "retry_delay = 0s\n", {"retry_delay: expected a duration of at least 1s, got '0s'"}},
        {J "jitter = -5s\n", {"jitter: unexpected '-' in duration"}},
        {J "jitter = 8d\n", {"test.ini:3: jitter: expected a duration of at most"}},
        {J "priority = 1001\n", {"priority: expected a whole number from -1000 to 1000"}},
        {"[cronwarden]\nmax_output = 512\n",
         {"test.ini:2: max_output: expected a size from 1KiB to 1GiB, got '512'"}},
        {"[cronwarden]\nmax_output = 2GiB\n",
         {"max_output: expected a size from 1KiB to 1GiB, got '2GiB'"}},
        {"[cronwarden]\nmax_output = 1 MiB\n", {"max_output: unknown unit"}},
        {"[cronwarden]\nkeep_history = 0s\n", {"keep_history: expected a duration of at least 1s"}},
        {"[cronwarden]\nmax_running = -1\n",
         {"max_running: expected a whole number from 0 to 1000000"}},
        {"[cronwarden]\nmax_load = 0\n", {"max_load: expected a load average above 0"}},
        {"[cronwarden]\nmax_load = 1e3\n",
         {"max_load: expected a load average above 0 (like 4 or 2.5), got '1e3'"}},
        {"[cronwarden]\nmax_load = 1.\n", {"max_load: expected a load average"}},
        {"[cronwarden]\nstore = mysql://db\n",
         {"store: expected 'sqlite', 'sqlite:PATH' or a postgresql:// URL, got 'mysql://db'"}},
        {"[cronwarden]\nnode = web 1\n", {"node: expected a node name"}},
        {"[cronwarden]\ntimezone = Europe/Warsw\n",
         {"test.ini:2: timezone: unknown time zone 'Europe/Warsw'"}},
        {"[cronwarden]\ntimezone = ../etc/passwd\n",
         {"test.ini:2: timezone: bad time zone '../etc/passwd'"}},
        {"[cronwarden]\ndata_dir =\n", {"data_dir: expected a path"}},
        {J "lock = always\n", {"test.ini:3: lock: expected none, class or params, got 'always'"}},
        {J "concurrency = queue\n",
         {"concurrency: expected forbid, allow or replace, got 'queue'"}},
        {J "catch_up = some\n", {"catch_up: expected none, once or all, got 'some'"}},
        {J "ionice = idle:3\n", {"ionice: the idle class has no level, got 'idle:3'"}},
        {J "ionice = realtime:8\n",
         {"ionice: expected a level from 0 to 7 after 'realtime:', got 'realtime:8'"}},
        {J "ionice = best-effort:\n", {"ionice: expected a level from 0 to 7"}},
        {J "ionice = fast\n", {"ionice: expected idle, best-effort:N or realtime:N"}},
        {"[admin]\nlisten = localhost\n",
         {"test.ini:2: listen: expected HOST:PORT or [IPV6]:PORT"}},
        {"[admin]\nlisten = 127.0.0.1:0\n",
         {"listen: expected a port from 1 to 65535 after ':', got '127.0.0.1:0'"}},
        {"[admin]\nlisten = 127.0.0.1:65536\n", {"listen: expected a port from 1 to 65535"}},
        {"[admin]\nlisten = 127.0.0.1:80x\n", {"listen: expected a port from 1 to 65535"}},
        {"[admin]\nlisten = [::1]8080\n", {"listen: expected HOST:PORT or [IPV6]:PORT"}},
        {"[admin]\nlisten = [zz::1]:80\n", {"listen: 'zz::1' is not an IPv6 address"}},
        {"[admin]\nlisten = ::1:80\n", {"listen: write an IPv6 address in brackets"}},
        {"[admin]\nlisten = :80\n", {"listen: expected HOST:PORT"}},
        {"[admin]\nuser = a b\n", {"user: expected a user name"}},
        {"[admin]\npassword_hash = hunter2\n",
         {"password_hash: expected an argon2id hash starting with '$argon2id$'"}},
        {"[admin]\npassword_hash = $argon2i$v=19$x\n",
         {"password_hash: expected an argon2id hash"}},
        {"[admin]\nallow_ui_commands = please\n", {"allow_ui_commands: expected yes or no"}},
        {J "ping = ftp://x/y\n", {"ping: expected an http:// or https:// URL, got 'ftp://x/y'"}},
        {J "ping = https:///x\n", {"ping: the URL has no host name"}},
        {J "ping = https://x/{evt}\n", {"ping: the only placeholder is {event}"}},
        {J "ping = https://x/a b\n", {"ping: spaces are not allowed in a URL"}},
        {J "run_as = bad user\n", {"run_as: expected a user name"}},
        {J "run_as = -x\n", {"run_as: expected a user name"}},
        {J "lock_name = a/b\n", {"lock_name: expected a lock name"}},
        {J "workdir =\n", {"workdir: expected a path"}},
        {J "env = NOEQUALS\n", {"test.ini:3: env: expected KEY=VALUE, got 'NOEQUALS'"}},
        {J "env = =x\n", {"env: expected KEY=VALUE"}},
        {J "env = 1X=2\n", {"env: expected a variable name"}},
        {J "env = CRONWARDEN_JOB=x\n",
         {"env: names starting with CRONWARDEN_ are set by cronwarden itself"}},
        {J "env = X=1\nenv = X=2\n", {"test.ini:4: env: 'X' is already set on line 3"}},
        {J "env = X=1\n  X=2\n", {"test.ini:4: env: 'X' is already set on line 3"}},
        {J "secret_env = PASSWORD\n", {"test.ini:3: secret_env: 'PASSWORD' is not set by env"}},
        {J "secret_env = 1X\n", {"secret_env: expected environment variable names, got '1X'"}},
        {J "args = a,,b\n", {"test.ini:3: args: empty item in list 'a,,b'"}},
        {J "args = a,b,\n", {"args: list 'a,b,' ends with ','"}},
        {J "args = ,a\n", {"args: empty item"}},
        {J "args = a a\n", {"args: 'a' is listed twice"}},
        {J "args = 9x\n", {"args: expected param names"}},
        {J "options = k.v\n", {"options: expected param names"}},
        {J "args = x\noptions = x\n", {"test.ini:4: options: 'x' is also declared in args"}},
        {J "hosts = web/1\n", {"hosts: expected node names"}},
        {J "after = A\n", {"test.ini:3: after: job 'A' cannot run after itself"}},
        {J "after = B\n", {"test.ini:3: after: unknown job 'B'"}},
        {J "after = 9\n", {"after: expected job names, got '9'"}},
        {J "timeout = 1h\nmax_runtime = 1h\n",
         {"test.ini:4: max_runtime: expected less than timeout"}},
        {"[defaults]\ntimeout = 1h\n" J "max_runtime = 2h\n",
         {"test.ini:5: max_runtime: expected less than timeout"}},
        {J "max_runtime = 1h\nmin_runtime = 2h\n",
         {"test.ini:4: min_runtime: expected less than max_runtime"}},
        {J "description = a\x02"
           "b\n",
         {"description: control characters are not allowed"}},
        {J "timezone = Mars/Olympus\n", {"test.ini:3: timezone: unknown time zone 'Mars/Olympus'"}},
        /* commands */
        {"[job A]\ncommand =\n", {"test.ini:2: command: expected a command line, got ''"}},
        {"[job A]\ncommand = a | b\n",
         {"test.ini:2: command: '|' would need a shell, but the command runs without one: "
          "set shell = yes, or quote it to pass it literally\n    a | b\n      ^"}},
        {"[job A]\ncommand = echo $HOME\n", {"command: '$' would need a shell"}},
        {"[job A]\ncommand = a 'b\n",
         {"test.ini:2: command: unterminated single quote\n    a 'b\n      ^"}},
        {"[job A]\ncommand = a \"b\n", {"command: unterminated double quote"}},
        {"[job A]\ncommand = a b\\\n", {"command: backslash at the end of the command"}},
        /* schedules */
        {J "schedule = 61 * * * *\n",
         {"test.ini:3: schedule: bad minute field: 61 is out of range 0-59\n    61 * * * *\n    ^^"}},
        {J "schedule = 0 0 30 2 *\n", {"test.ini:3: schedule: never fires"}},
        {J "schedule =\n", {"test.ini:3: schedule: empty time spec"}},
        {"[job A]\ncommand = x\nargs = what\nschedule = @daily\n",
         {"test.ini:4: schedule: job 'A' needs positional params (what)"}},
        {J "[schedule]\nrun = A\n", {"test.ini:4: run: expected TIMESPEC JOBSPEC"}},
        {J "[schedule]\nrun = */5 * * * * B\n",
         {"test.ini:4: run: unknown job 'B'\n    */5 * * * * B\n                ^"}},
        {J "[schedule]\nrun = */5 * * * * A:x\n",
         {"run: job 'A' takes no positional params, got 1"}},
        {J "[schedule]\nrun = */5 * * * * A:k=1\n",
         {"run: job 'A' takes no key=value params, got 'k'"}},
        {J "[schedule]\nrun = */5 * * * * A:\"x y\n",
         {"run: bad job spec: unterminated quote: a value opened with '\"' needs a closing '\"'\n"
          "    */5 * * * * A:\"x y\n                  ^^^^"}},
        {J "[schedule]\nrun = */5 * * * * A,\n", {"run: bad job spec: unexpected ','"}},
        {J "[schedule]\nrun = 0 0 31 4 * A\n", {"test.ini:4: run: never fires"}},
        {J "[schedule]\nrun = 1 2 3 4 5 6 7 A\n", {"test.ini:4: run:"}},
        {J "[schedule]\nrun = */5 * * * *\n", {"run: bad job spec"}},
        {J "[schedule]\nruns = x A\n",
         {"test.ini:4: runs: unknown key in [schedule] (did you mean 'run'?)"}},
        /* several problems, reported in line order */
        {"[job A]\ncommand = x\nafter = B\n[job B]\ncommand = y\nafter = C\n[job C]\ncommand = z\nafter = A\n",
         {"test.ini:9: after: dependency cycle A -> B -> C -> A"}},
        {J "limit_nofile = 0\n",
         {"test.ini:3: limit_nofile: expected a whole number from 1 to 1048576, got '0'"}},
        {J "limit_nofile = 1048577\n", {"limit_nofile: expected a whole number from 1 to 1048576"}},
        {J "limit_nofile = 1k\n", {"limit_nofile: expected a whole number"}},
        {J "limit_memory = 512KiB\n",
         {"test.ini:3: limit_memory: expected a size from 1MiB to 1TiB, got '512KiB'"}},
        {J "limit_memory = lots\n", {"limit_memory:"}},
        {J "limit_cpu = 0s\n", {"limit_cpu: expected a duration of at least 1s, got '0s'"}},
        {J "limit_cpu = 60\n", {"limit_cpu: duration '60' needs a unit"}},
        {"[defaults]\nlimit_cpu = -1s\n", {"test.ini:2: limit_cpu:"}},
        {"[job B]\ncommand = x\nafter = A\nnice = 99\n[job A]\ncommand = x\nafter = B\nnice = x\n",
         {"test.ini:4: nice:", "test.ini:7: after: dependency cycle B -> A -> B",
          "test.ini:8: nice:"}},
};

static void test_bad(void **state)
{
        size_t failures = 0;

        (void)state;
        for (size_t t = 0; t < CW_ARRAY_SIZE(bad_cases); t++) {
                const bad_case *b = &bad_cases[t];
                cw_config_errors e = {0};
                cw_config *c = NULL;
                size_t want = 0, len = b->len ? b->len : strlen(b->text);
                cw_config_opts o = {.now = NOW};
                bool ok;
                int r;

                while (want < CW_ARRAY_SIZE(b->errors) && b->errors[want])
                        want++;
                r = cw_config_load_string("test.ini", b->text, len, &o, &c, &e);
                ok = r == -EINVAL && e.n == want && !c;
                for (size_t i = 0; ok && i < want; i++) {
                        ok = strstr(e.msgs[i], b->errors[i]) != NULL;
                        /* Nothing is close to "frobnicate": no hint. */
                        if (strstr(b->text, "frobnicate") && strchr(e.msgs[i], '('))
                                ok = false;
                }
                if (!ok) {
                        print_message("case %zu: expected -EINVAL and:\n", t);
                        for (size_t i = 0; i < want; i++)
                                print_message("  %s\n", b->errors[i]);
                        dump_errors(b->text, &e);
                        failures++;
                }
                cw_config_free(c);
                cw_config_errors_release(&e);
        }
        assert_int_equal(failures, 0);
}

/* Lines longer than inih's buffer are errors at their own line, and the
 * lines after them are read normally (no split, no cascade). */
static void test_long_lines(void **state)
{
        char text[4096], value[300];
        cw_config_errors e = {0};
        cw_config *c = NULL;

        (void)state;
        /* "description = " is 14 bytes: a value of 184 makes 198, the limit. */
        memset(value, 'v', 184);
        value[184] = '\0';
        snprintf(text, sizeof(text), "[job A]\ncommand = x\ndescription = %s\n", value);
        c = load_ok(text);
        assert_int_equal(strlen(cw_config_job(c, "A")->description), 184);
        cw_config_free(c);

        /* A long comment, or comments and indentation that make a line
         * long, cost nothing: they never reach inih. */
        memset(value, 'c', 290);
        value[290] = '\0';
        snprintf(text, sizeof(text), "; %s\n[job A]\ncommand = x ; %s\n        %s\n", value, value,
                 "; x");
        c = load_ok(text);
        assert_string_equal(cw_config_job(c, "A")->command, "x");
        cw_config_free(c);

        /* One byte more is an error naming the line. */
        memset(value, 'v', 185);
        value[185] = '\0';
        snprintf(text, sizeof(text), "[job A]\ncommand = x\ndescription = %s\nnice = 5\nnice = 6\n",
                 value);
        assert_int_equal(load_text(text, &c, &e), -EINVAL);
        if (e.n != 2) {
                dump_errors(text, &e);
                fail();
        }
        assert_non_null(strstr(
                e.msgs[0],
                "test.ini:3: line too long (199 bytes, at most 198): continue the value on indented lines"));
        assert_non_null(
                strstr(e.msgs[1], "test.ini:5: nice: set twice in [job A] (first set on line 4)"));
        cw_config_errors_release(&e);

        /* A long continuation line: the value is not used, nothing else
         * is reported, the next key still works. */
        memset(value, 'w', 250);
        value[250] = '\0';
        snprintf(text, sizeof(text), "[job A]\ncommand = x\n  %s\n  y\nretries = many\n", value);
        assert_int_equal(load_text(text, &c, &e), -EINVAL);
        if (e.n != 2) {
                dump_errors(text, &e);
                fail();
        }
        assert_non_null(strstr(e.msgs[0], "test.ini:3: line too long (250 bytes, at most 197)"));
        assert_non_null(strstr(e.msgs[1], "test.ini:5: retries:"));
        cw_config_errors_release(&e);

        /* A long key line still counts as the key being set (no "missing
         * command") and its continuations are ignored. */
        snprintf(text, sizeof(text), "[job A]\ncommand = %s\n  more\n[job B]\ncommand = y\n",
                 value);
        assert_int_equal(load_text(text, &c, &e), -EINVAL);
        assert_int_equal(e.n, 1);
        assert_non_null(strstr(e.msgs[0], "test.ini:2: line too long (260 bytes, at most 198)"));
        cw_config_errors_release(&e);

        /* A long section header. */
        memset(value, 'J', 250);
        value[250] = '\0';
        snprintf(text, sizeof(text), "[job %s]\ncommand = x\n[job B]\ncommand = y\n", value);
        assert_int_equal(load_text(text, &c, &e), -EINVAL);
        assert_int_equal(e.n, 1);
        assert_non_null(strstr(e.msgs[0], "test.ini:1: line too long"));
        cw_config_errors_release(&e);

        /* A job name of the maximum length fits in a header. */
        memset(value, 'J', CW_JOBSPEC_NAME_MAX);
        value[CW_JOBSPEC_NAME_MAX] = '\0';
        snprintf(text, sizeof(text), "[job %s]\ncommand = x\nschedule = H * * * *\n", value);
        c = load_ok(text);
        assert_non_null(cw_config_job(c, value));
        assert_string_equal(c->entries[0].spec_text, value);
        cw_config_free(c);
}

static void test_error_cap(void **state)
{
        char *text = malloc(64 * 1024);
        cw_config_errors e = {0};
        cw_config *c = NULL;
        size_t n;

        (void)state;
        n = (size_t)snprintf(text, 64 * 1024, "[job A]\ncommand = x\n");
        for (int i = 0; i < 150; i++)
                n += (size_t)snprintf(text + n, 64 * 1024 - n, "bad%d = 1\n", i);
        assert_int_equal(load_text(text, &c, &e), -EINVAL);
        assert_int_equal(e.n, 101);
        assert_non_null(strstr(e.msgs[0], "test.ini:3: bad0: unknown key"));
        assert_non_null(strstr(e.msgs[99], "test.ini:102: bad99: unknown key"));
        assert_string_equal(e.msgs[100], "test.ini: 50 more problems not shown");
        cw_config_errors_release(&e);
        free(text);
}

/* Messages already in errs are kept; new ones are appended. */
static void test_errors_append(void **state)
{
        cw_config_errors e = {0};
        cw_config *c = NULL;

        (void)state;
        assert_int_equal(load_text("x\n", &c, &e), -EINVAL);
        assert_int_equal(load_text("y\n", &c, &e), -EINVAL);
        assert_int_equal(e.n, 2);
        assert_non_null(strstr(e.msgs[1], "got 'y'"));
        cw_config_errors_release(&e);
        cw_config_errors_release(&e);
        cw_config_errors_release(NULL);
        /* errs may be NULL when the caller only wants the status. */
        assert_int_equal(load_text("x\n", &c, NULL), -EINVAL);
}

/* ---- files on disk ---------------------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_files(void **state)
{
        char dir[] = "/tmp/cw-test-config-XXXXXX", path[512], old[4096];
        cw_config_opts o = {.now = NOW};
        cw_config_errors e = {0};
        cw_config *c = NULL;

        (void)state;
        assert_non_null(mkdtemp(dir));

        snprintf(path, sizeof(path), "%s/missing.ini", dir);
        assert_int_equal(cw_config_load(path, &o, &c, &e), -ENOENT);
        assert_null(c);
        assert_int_equal(e.n, 1);
        assert_true(strstr(e.msgs[0], "cannot read '") == e.msgs[0]);
        assert_non_null(strstr(e.msgs[0], "missing.ini': No such file or directory"));
        cw_config_errors_release(&e);

        assert_int_equal(cw_config_load(dir, &o, &c, &e), -EISDIR);
        cw_config_errors_release(&e);

        /* Relative paths are relative to the file's directory. */
        snprintf(path, sizeof(path), "%s/cw.ini", dir);
        write_file(
                path,
                "[cronwarden]\ndata_dir = state\n[job A]\ncommand = x\nworkdir = ./w/../v\nenv_file = .env\n"
                "[job B]\ncommand = x\nworkdir = /abs\n");
        assert_int_equal(cw_config_load(path, &o, &c, &e), 0);
        assert_string_equal(c->dir, dir);
        snprintf(old, sizeof(old), "%s/state", dir);
        assert_string_equal(c->data_dir, old);
        snprintf(old, sizeof(old), "%s/w/../v", dir);
        assert_string_equal(cw_config_job(c, "A")->workdir, old);
        snprintf(old, sizeof(old), "%s/.env", dir);
        assert_string_equal(cw_config_job(c, "A")->env_file, old);
        assert_string_equal(cw_config_job(c, "B")->workdir, "/abs");
        cw_config_free(c);
        c = NULL;

        /* Messages name the file as given, relative or not. */
        assert_non_null(getcwd(old, sizeof(old)));
        assert_int_equal(chdir(dir), 0);
        write_file("bad.ini", "[job A]\n");
        assert_int_equal(cw_config_load("./bad.ini", &o, &c, &e), -EINVAL);
        assert_int_equal(e.n, 1);
        assert_true(strncmp(e.msgs[0], "./bad.ini:1: ", 13) == 0);
        cw_config_errors_release(&e);

        /* cw_config_find: explicit, then the environment, then ./cronwarden.ini. */
        assert_string_equal(cw_config_find("x.ini", "y.ini"), "x.ini");
        assert_string_equal(cw_config_find(NULL, "y.ini"), "y.ini");
        if (access("/etc/cronwarden/cronwarden.ini", F_OK) != 0)
                assert_null(cw_config_find(NULL, ""));
        write_file("cronwarden.ini", "");
        assert_string_equal(cw_config_find(NULL, NULL), "cronwarden.ini");
        assert_string_equal(cw_config_find(NULL, ""), "cronwarden.ini");
        unlink("cronwarden.ini");
        unlink("bad.ini");
        assert_int_equal(chdir(old), 0);

        unlink(path);
        rmdir(dir);
}

/* ---- the API beyond loading ------------------------------------------------------------- */

static void test_check_jobspec(void **state)
{
        static const struct {
                const char *spec;
                const char *msg; /* NULL: valid */
        } cases[] = {
                {"A:1,2", NULL},
                {"A:1,2,k=v", NULL},
                {"A:1,2,k=v,l=w", NULL},
                {"A:1", "job 'A' takes 2 positional params (x, y), got 1"},
                {"A:1,2,3", "job 'A' takes 2 positional params (x, y), got 3"},
                {"A:1,2,m=1", "job 'A' has no option 'm' (its options: k, l)"},
                {"B", NULL},
                {"B:1", "job 'B' takes no positional params, got 1"},
                {"B:k=1", "job 'B' takes no key=value params, got 'k'"},
                {"C", "unknown job 'C'"},
        };
        cw_config *c =
                load_ok("[job A]\ncommand = x\nargs = x y\noptions = k, l\n[job B]\ncommand = y\n");

        (void)state;
        for (size_t t = 0; t < CW_ARRAY_SIZE(cases); t++) {
                cw_jobspec *js = NULL;
                cw_error err;
                int r;

                assert_int_equal(cw_jobspec_parse(cases[t].spec, &js, &err), 0);
                r = cw_config_check_jobspec(c, js, &err);
                if (!cases[t].msg) {
                        assert_int_equal(r, 0);
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_string_equal(err.msg, cases[t].msg);
                        assert_int_equal(err.col, -1);
                }
                cw_jobspec_free(js);
        }
        cw_config_free(c);
        cw_config_free(NULL);
}

static void test_enum_strings(void **state)
{
        (void)state;
        assert_string_equal(cw_lock_mode_to_string(CW_LOCK_NONE), "none");
        assert_string_equal(cw_lock_mode_to_string(CW_LOCK_CLASS), "class");
        assert_string_equal(cw_lock_mode_to_string(CW_LOCK_PARAMS), "params");
        assert_string_equal(cw_concurrency_to_string(CW_CONCURRENCY_FORBID), "forbid");
        assert_string_equal(cw_concurrency_to_string(CW_CONCURRENCY_ALLOW), "allow");
        assert_string_equal(cw_concurrency_to_string(CW_CONCURRENCY_REPLACE), "replace");
        assert_string_equal(cw_catch_up_to_string(CW_CATCH_UP_NONE), "none");
        assert_string_equal(cw_catch_up_to_string(CW_CATCH_UP_ONCE), "once");
        assert_string_equal(cw_catch_up_to_string(CW_CATCH_UP_ALL), "all");
        assert_string_equal(cw_ionice_class_to_string(CW_IONICE_UNSET), "none");
        assert_string_equal(cw_ionice_class_to_string(CW_IONICE_IDLE), "idle");
        assert_string_equal(cw_ionice_class_to_string(CW_IONICE_BEST_EFFORT), "best-effort");
        assert_string_equal(cw_ionice_class_to_string(CW_IONICE_REALTIME), "realtime");
        assert_null(cw_lock_mode_to_string((cw_lock_mode)42));
}

/* 100 000 jobs (docs/hacking.md, Quality targets): correctness only, no timing. Every job has
 * an H schedule, every tenth depends on the previous one, and a
 * [schedule] line calls every hundredth with params. */
static void test_many_jobs(void **state)
{
        enum { N = 100000 };
        size_t cap = (size_t)N * 96, n = 0;
        char *text = malloc(cap), name[32];
        cw_config *c;

        (void)state;
        assert_non_null(text);
        n += (size_t)snprintf(text + n, cap - n,
                              "[cronwarden]\ntimezone = UTC\n[defaults]\ntimeout = 1h\n");
        for (int i = 0; i < N; i++) {
                n += (size_t)snprintf(text + n, cap - n,
                                      "[job J%d]\ncommand = /bin/job %d\nschedule = H H * * *\n", i,
                                      i);
                if (i % 10 == 1)
                        n += (size_t)snprintf(text + n, cap - n, "after = J%d\n", i - 1);
                if (i % 100 == 0)
                        n += (size_t)snprintf(text + n, cap - n, "options = k\n");
        }
        n += (size_t)snprintf(text + n, cap - n, "[schedule]\n");
        for (int i = 0; i < N; i += 100)
                n += (size_t)snprintf(text + n, cap - n, "run = @hourly J%d:k=%d\n", i, i);
        assert_true(n < cap - 1);

        c = load_ok(text);
        assert_int_equal(c->n_jobs, N);
        assert_int_equal(c->n_entries, N + N / 100);
        for (int i = 0; i < N; i += 997) {
                const cw_job *j;

                snprintf(name, sizeof(name), "J%d", i);
                j = cw_config_job(c, name);
                assert_non_null(j);
                assert_string_equal(j->name, name);
                assert_int_equal(j - c->jobs, i);
                assert_int_equal(j->timeout, 3600);
                assert_ptr_equal(j->tz, c->tz);
        }
        assert_null(cw_config_job(c, "J100000"));
        assert_string_equal(c->entries[N].spec_text, "J0:k=0");
        cw_config_free(c);
        free(text);
}

/* ---- the command splitter ----------------------------------------------------------------- */

static void test_argv(void **state)
{
        static const struct {
                const char *in;
                const char *words[5]; /* NULL-terminated */
        } good[] = {
                {"", {NULL}},
                {"   \t ", {NULL}},
                {"a", {"a", NULL}},
                {"  a  b\tc ", {"a", "b", "c", NULL}},
                {"'a b' c", {"a b", "c", NULL}},
                {"\"a b\" c", {"a b", "c", NULL}},
                {"''", {"", NULL}},
                {"\"\" x", {"", "x", NULL}},
                {"a\"b c\"'d'e", {"ab cde", NULL}},
                {"'\\n $x \"'", {"\\n $x \"", NULL}},
                {"\"\\\" \\\\ \\$ \\` \\n\"", {"\" \\ $ ` \\n", NULL}},
                {"a\\ b \\'c", {"a b", "'c", NULL}},
                {"a\\\nb", {"ab", NULL}},
                {"*.log ~ #x", {"*.log", "~", "#x", NULL}},
                {"'a|b' \"c;d\" e\\&f \"$HOME\"", {"a|b", "c;d", "e&f", "$HOME", NULL}},
        };
        static const struct {
                const char *in;
                int col;
                const char *msg;
        } bad[] = {
                {"'abc", 0, "unterminated single quote"},
                {"a \"bc", 2, "unterminated double quote"},
                {"a \\", 2, "backslash at the end"},
                {"a | b", 2, "'|' would need a shell"},
                {"a&&b", 1, "'&' would need a shell"},
                {"a > f", 2, "'>'"},
                {"a < f", 2, "'<'"},
                {"a;b", 1, "';'"},
                {"$(x)", 0, "'$'"},
                {"`x`", 0, "'`'"},
                {"(a)", 0, "'('"},
        };

        (void)state;
        for (size_t t = 0; t < CW_ARRAY_SIZE(good); t++) {
                cw_strv sv = {0};
                cw_error err;
                size_t n = 0;

                if (cw_argv_split(good[t].in, CW_ARGV_REJECT_SHELL_OPS, &sv, &err) != 0)
                        fail_msg("'%s': %s", good[t].in, err.msg);
                while (good[t].words[n])
                        n++;
                assert_int_equal(sv.n, n);
                for (size_t i = 0; i < n; i++)
                        assert_string_equal(sv.v[i], good[t].words[i]);
                cw_strv_release(&sv);
        }
        for (size_t t = 0; t < CW_ARRAY_SIZE(bad); t++) {
                cw_strv sv = {0};
                cw_error err;

                assert_int_equal(cw_argv_split("keep", 0, &sv, &err), 0);
                if (cw_argv_split(bad[t].in, CW_ARGV_REJECT_SHELL_OPS, &sv, &err) != -EINVAL)
                        fail_msg("'%s' should fail", bad[t].in);
                assert_int_equal(err.col, bad[t].col);
                assert_non_null(strstr(err.msg, bad[t].msg));
                /* Unchanged on failure. */
                assert_int_equal(sv.n, 1);
                assert_string_equal(sv.v[0], "keep");
                cw_strv_release(&sv);
        }
        {
                /* Without the flag, operators are plain bytes; words append. */
                cw_strv sv = {0};
                cw_error err;

                assert_int_equal(cw_argv_split("a", 0, &sv, &err), 0);
                assert_int_equal(cw_argv_split("x | y", 0, &sv, &err), 0);
                assert_int_equal(sv.n, 4);
                assert_string_equal(sv.v[2], "|");
                cw_strv_release(&sv);
        }
}

/* ---- memory layout (config.h): arena, sharing, references ------------------- */

/* What a job does not set is shared with [defaults], not copied; what it
 * sets is its own, and [defaults] is not changed through it. */
static void test_shared_defaults(void **state)
{
        const char *text =
                "[cronwarden]\ntimezone = UTC\n"
                "[defaults]\nhosts = a, b\nenv = X=1\n  Y=2\nworkdir = /srv\nping = https://h/{event}\n"
                "[job A]\ncommand = /bin/a\nschedule = 0 * * * *\n"
                "[job B]\ncommand = /bin/b\nschedule = 0 * * * *\nschedule = H * * * *\n"
                "[job C]\ncommand = /bin/c\nenv = Y=3\n  Z=4\nhosts = c\nsecret_env = Z\n"
                "schedule = 0 * * * *\nschedule = H * * * *\n";
        cw_config *c;
        const cw_job *a, *b, *cj;

        (void)state;
        c = load_ok(text);
        a = cw_config_job(c, "A");
        b = cw_config_job(c, "B");
        cj = cw_config_job(c, "C");
        assert_non_null(a);
        assert_non_null(b);
        assert_non_null(cj);
        /* Inherited arrays and strings: one copy for all. */
        assert_ptr_equal(a->hosts.v, b->hosts.v);
        assert_ptr_equal(a->env.v, b->env.v);
        assert_ptr_equal(a->workdir, b->workdir);
        assert_ptr_equal(a->ping, b->ping);
        assert_ptr_equal(a->description, b->description);
        assert_string_equal(a->description, "");
        assert_int_equal(a->env.n, 2);
        assert_null(a->env.v[2]);
        /* C's own values; the default's X stays first, Y is replaced in place. */
        assert_int_equal(cj->env.n, 3);
        assert_string_equal(cj->env.v[0], "X=1");
        assert_string_equal(cj->env.v[1], "Y=3");
        assert_string_equal(cj->env.v[2], "Z=4");
        assert_null(cj->env.v[3]);
        assert_string_equal(a->env.v[1], "Y=2");
        assert_int_equal(cj->hosts.n, 1);
        assert_string_equal(cj->hosts.v[0], "c");
        assert_int_equal(a->hosts.n, 2);
        assert_int_equal(cj->secret_env.n, 1);
        assert_int_equal(a->secret_env.n, 0);
        assert_null(a->secret_env.v);
        assert_int_equal(a->argv.n, 1);
        assert_string_equal(a->argv.v[0], "/bin/a");
        assert_null(a->argv.v[1]);
        /* Bit-fields keep their values. */
        assert_true(a->enabled);
        assert_false(a->shell);
        assert_int_equal(a->lock, CW_LOCK_CLASS);
        assert_int_equal(a->catch_up, CW_CATCH_UP_ONCE);

        /* Equal specs are parsed once; H specs differ by job (seed). The
         * plain spec text is the job's own name. */
        assert_int_equal(c->n_entries, 5);
        assert_ptr_equal(c->entries[0].when, c->entries[1].when);
        assert_ptr_equal(c->entries[0].when, c->entries[3].when);
        assert_true(cw_timespec_equal(c->entries[2].when, c->entries[2].when));
        assert_ptr_equal(c->entries[1].spec_text, b->name);
        assert_ptr_equal(c->entries[1].spec, c->entries[2].spec);
        assert_string_equal(c->entries[2].spec->name, "B");
        assert_int_equal(c->entries[2].spec->n_params, 0);
        assert_string_equal(cw_timespec_text(c->entries[4].when), "H * * * *");
        if (!cw_timespec_uses_hash(c->entries[2].when) ||
            cw_timespec_equal(c->entries[2].when, c->entries[4].when))
                assert_ptr_equal(c->entries[2].when, c->entries[4].when);
        else
                assert_ptr_not_equal(c->entries[2].when, c->entries[4].when);
        cw_config_free(c);
}

/* run = entries with params: the job spec and its text are the config's. */
static void test_run_spec_copy(void **state)
{
        const char *text = "[cronwarden]\ntimezone = UTC\n"
                           "[job P]\ncommand = /bin/p\nargs = x\noptions = k\n"
                           "[schedule]\nrun = @daily P:1,k=\"a b\"\nrun = @daily P:2\n";
        cw_config *c;

        (void)state;
        c = load_ok(text);
        assert_int_equal(c->n_entries, 2);
        assert_string_equal(c->entries[0].spec_text, "P:1,k=\"a b\"");
        assert_string_equal(c->entries[0].spec->name, "P");
        assert_int_equal(c->entries[0].spec->n_params, 2);
        assert_int_equal(c->entries[0].spec->n_positional, 1);
        assert_null(c->entries[0].spec->params[0].key);
        assert_string_equal(c->entries[0].spec->params[0].value, "1");
        assert_string_equal(c->entries[0].spec->params[1].key, "k");
        assert_string_equal(c->entries[0].spec->params[1].value, "a b");
        assert_string_equal(cw_jobspec_get(c->entries[0].spec, "k"), "a b");
        assert_ptr_equal(c->entries[0].when, c->entries[1].when);
        assert_string_equal(c->entries[1].spec_text, "P:2");
        cw_config_free(c);
}

/* cw_config_ref: each reference is dropped by one cw_config_free; the
 * config stays usable until the last (ASan/valgrind check the rest). */
static void test_config_ref(void **state)
{
        cw_config *c, *r1, *r2;

        (void)state;
        c = load_ok(
                "[cronwarden]\ntimezone = UTC\n[job A]\ncommand = /bin/a\nschedule = @hourly\n");
        r1 = cw_config_ref(c);
        r2 = cw_config_ref(c);
        assert_ptr_equal(r1, c);
        assert_ptr_equal(r2, c);
        cw_config_free(r1);
        assert_string_equal(cw_config_job(c, "A")->command, "/bin/a");
        cw_config_free(c);
        assert_string_equal(cw_config_job(r2, "A")->argv.v[0], "/bin/a");
        cw_config_free(r2);
        cw_config_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_product_example), cmocka_unit_test(test_empty_and_defaults),
                cmocka_unit_test(test_job_defaults),    cmocka_unit_test(test_all_keys),
                cmocka_unit_test(test_inheritance),     cmocka_unit_test(test_section_order),
                cmocka_unit_test(test_syntax_variants), cmocka_unit_test(test_continuations),
                cmocka_unit_test(test_schedule_seeds),  cmocka_unit_test(test_bad),
                cmocka_unit_test(test_long_lines),      cmocka_unit_test(test_error_cap),
                cmocka_unit_test(test_errors_append),   cmocka_unit_test(test_files),
                cmocka_unit_test(test_check_jobspec),   cmocka_unit_test(test_enum_strings),
                cmocka_unit_test(test_many_jobs),       cmocka_unit_test(test_argv),
                cmocka_unit_test(test_shared_defaults), cmocka_unit_test(test_run_spec_copy),
                cmocka_unit_test(test_config_ref),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
