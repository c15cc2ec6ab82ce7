/* test_crontab.c - the crontab module (src/crontab/): each conversion rule
 * of cw_crontab_convert, the helpers behind them (shell syntax, rewriting,
 * %, job names, the user column) and the marked block of `crontab`.
 *
 * Table-driven: a conversion case gives a crontab text, options, the
 * pieces the config must hold (in order), pieces it must not, how many
 * lines are skipped and noted, and the first report's line and words. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "crontab/crontab.h"
#include "crontab/crontab_internal.h"

/* 2027-03-27T11:00:00Z, as the integration tests' fake now. */
#define NOW 1806145200

enum {
        SYS = 1,       /* --system */
        SHELL_ALL = 2, /* --shell */
        PREFIX = 4,    /* --prefix cron_ */
};

/* A stand-in for getpwnam: the users of the tests' machine. */
static bool fake_user_known(const char *name, void *userdata)
{
        (void)userdata;
        return strcmp(name, "root") == 0 || strcmp(name, "alice") == 0 ||
               strcmp(name, "sync") == 0 || strcmp(name, "mail") == 0;
}

static int convert(const char *text, unsigned flags, cw_crontab_result *res)
{
        cw_crontab_opts opts = {
                .file = "tab",
                .prefix = flags & PREFIX ? "cron_" : "",
                .shell_all = flags & SHELL_ALL,
                .system = flags & SYS,
                .now = NOW,
                .user_known = fake_user_known,
        };
        FILE *in = fmemopen((void *)text, strlen(text), "r");
        int r;

        assert_non_null(in);
        r = cw_crontab_convert(in, &opts, res);
        fclose(in);
        return r;
}

typedef struct conv_case {
        const char *what;
        const char *input;
        unsigned flags;
        const char *want[8];   /* in the config, in this order */
        const char *absent[4]; /* nowhere in the config */
        size_t skipped, notes;
        int diag_line;    /* the first report's line (0: no report) */
        const char *diag; /* and words of its message */
} conv_case;

static const conv_case conv_cases[] = {
        /* entries */
        {"entry becomes a job",
         "30 2 * * * /usr/local/bin/backup.sh --full\n",
         0,
         {"; tab:1: 30 2 * * * /usr/local/bin/backup.sh --full\n", "[job backup]\n",
          "command = /usr/local/bin/backup.sh --full\n", "schedule = 30 2 * * *\n"},
         {"shell = yes"},
         0,
         0,
         0,
         NULL},
        {"fields joined by single spaces",
         "0\t5  * *  1-5   /bin/true\n",
         0,
         {"schedule = 0 5 * * 1-5\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"macro kept",
         "@daily /bin/true\n@reboot /bin/warmup\n",
         0,
         {"[job true]\n", "schedule = @daily\n", "[job warmup]\n", "schedule = @reboot\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"unknown macro skipped",
         "@fortnightly /bin/true\n",
         0,
         {"[cronwarden]\n"},
         {"[job"},
         1,
         0,
         1,
         "unknown macro '@fortnightly'"},
        {"bad field skipped",
         "61 * * * * /bin/true\n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "bad schedule '61 * * * *'"},
        {"schedule that never fires skipped",
         "0 0 30 2 * /bin/never\n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "never fires"},
        {"too few fields skipped",
         "* * * /bin/short\n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "expected 5 time fields"},
        {"missing command skipped",
         "0 5 * * *   \n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "missing command after the schedule '0 5 * * *'"},
        {"control characters skipped",
         "0 5 * * * /bin/echo \x1b[1m\n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "control characters"},
        {"other lines go on after a skipped one",
         "61 * * * * /bin/x\n0 8 * * * /bin/ok\n",
         0,
         {"[job ok]\n"},
         {"[job x]"},
         1,
         0,
         1,
         "bad schedule"},

        /* environment */
        {"env before the first entry is [defaults]",
         "PATH = /usr/bin:/bin\nAPP='production'\n0 1 * * * /bin/true\n",
         0,
         {"[defaults]\n", "env = PATH=/usr/bin:/bin\n", "env = APP=production\n", "[job true]\n"},
         {"[job true]\ncommand = /bin/true\nschedule = 0 1 * * *\nenv"},
         0,
         0,
         0,
         NULL},
        {"env after an entry is the job's",
         "0 1 * * * /bin/a\nLATE=1\n0 2 * * * /bin/b\n",
         0,
         {"[job a]\n", "[job b]\n", "schedule = 0 2 * * *\nenv = LATE=1\n"},
         {"[defaults]"},
         0,
         0,
         0,
         NULL},
        {"CRON_TZ is the timezone",
         "CRON_TZ=Europe/Warsaw\n0 1 * * * /bin/true\n",
         0,
         {"[defaults]\ntimezone = Europe/Warsaw\n"},
         {"env = CRON_TZ"},
         0,
         0,
         0,
         NULL},
        {"TZ is the timezone and an env line",
         "TZ=UTC\n0 1 * * * /bin/true\n",
         0,
         {"timezone = UTC\n", "env = TZ=UTC\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"a later zone is the job's",
         "0 1 * * * /bin/a\nCRON_TZ=UTC\n0 2 * * * /bin/b\n",
         0,
         {"[job b]\n", "timezone = UTC\n"},
         {"[defaults]"},
         0,
         0,
         0,
         NULL},
        {"unknown zone skipped",
         "CRON_TZ=Mars/Olympus\n",
         0,
         {NULL},
         {"timezone"},
         1,
         0,
         1,
         "unknown time zone 'Mars/Olympus'"},
        {"MAILTO is a comment",
         "MAILTO=\"ops@example.com\"\n0 1 * * * /bin/true\n",
         0,
         {"[defaults]\n; MAILTO=ops@example.com (crontab line 1)"},
         {"env = MAILTO"},
         0,
         0,
         0,
         NULL},
        {"SHELL is a comment and a note",
         "SHELL=/bin/bash\n0 1 * * * /bin/true\n",
         0,
         {"; SHELL=/bin/bash (crontab line 1)"},
         {"env = SHELL"},
         0,
         1,
         1,
         "SHELL=/bin/bash: commands will run with /bin/sh"},
        {"--shell keeps SHELL",
         "SHELL=/bin/bash\n0 1 * * * /bin/true\n",
         SHELL_ALL,
         {"env = SHELL=/bin/bash\n", "[job true]\ncommand = /bin/true\nshell = yes\n"},
         {NULL},
         0,
         1,
         1,
         "kept as an env line"},
        {"bad variable name skipped",
         "BAD-NAME=1\n",
         0,
         {NULL},
         {"env ="},
         1,
         0,
         1,
         "environment variable 'BAD-NAME'"},
        {"CRONWARDEN_ names skipped",
         "CRONWARDEN_JOB=x\n",
         0,
         {NULL},
         {"env ="},
         1,
         0,
         1,
         "set by cronwarden itself"},
        {"value with ' ;' skipped", "X=\"a ;b\"\n", 0, {NULL}, {"env ="}, 1, 0, 1, "has ' ;'"},

        /* comments */
        {"comment above is the description",
         "# m h  dom mon dow   command\n\n# Nightly backup\n0 2 * * * /bin/backup\n",
         0,
         {"[job backup]\ndescription = Nightly backup\n"},
         {"m h"},
         0,
         0,
         0,
         NULL},
        {"legend and commented-out entries are no descriptions",
         "# m h dom mon dow command\n0 1 * * * /bin/a\n#0 5 * * * /bin/old\n0 2 * * * /bin/b\n",
         0,
         {"[job a]\ncommand", "[job b]\ncommand"},
         {"description"},
         0,
         0,
         0,
         NULL},
        {"blank line parts a comment from its entry",
         "# About\n\n0 1 * * * /bin/a\n",
         0,
         {"[job a]\ncommand"},
         {"description"},
         0,
         0,
         0,
         NULL},
        {"description ' ;' closed up",
         "# one ; two\n0 1 * * * /bin/a\n",
         0,
         {"description = one; two\n"},
         {NULL},
         0,
         0,
         0,
         NULL},

        /* commands */
        {"shell syntax gets shell = yes",
         "@hourly /bin/stats | gzip > /tmp/s.gz\n",
         0,
         {"command = /bin/stats | gzip > /tmp/s.gz\nshell = yes\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"quoted glob needs no shell",
         "@daily find /tmp -name '*.tmp' -delete\n",
         0,
         {"command = find /tmp -name '*.tmp' -delete\nschedule"},
         {"shell = yes"},
         0,
         0,
         0,
         NULL},
        {"' ;' closed up",
         "@daily tar c /home ; echo done\n",
         0,
         {"command = tar c /home; echo done\nshell = yes\n"},
         {"command = tar c /home ;", "done #"},
         0,
         0,
         0,
         NULL},
        {"quoted ';' escaped between quotes",
         "@daily echo 'a ;b' \"c ;d\"\n",
         0,
         {"command = echo 'a '\\;'b' \"c \"\\;\"d\"\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"trailing ';' dropped",
         "@daily echo one; false ;\n",
         0,
         {"command = echo one; false\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"compound command kept as written",
         "@daily ( cd /tmp && pwd )\n",
         0,
         {"command = ( cd /tmp && pwd )\nshell = yes\n"},
         {" #"},
         0,
         0,
         0,
         NULL},
        {"fi and done kept as written",
         "@daily if true; then echo y; fi\n",
         0,
         {"command = if true; then echo y; fi\n"},
         {" #"},
         0,
         0,
         0,
         NULL},
        {"' ;' inside `...` in quotes skipped",
         "0 5 * * * echo \"`echo 'a ;b'`\"\n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "cannot convert the command"},
        {"unterminated quote skipped",
         "0 6 * * * echo 'open\n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "unterminated quote"},
        {"\\% is a literal %",
         "@daily date +\\%F\n",
         0,
         {"command = date +%F\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"% feeds stdin: kept without it, with a NOTE",
         "0 6 * * * mail -s \"Report\" ops@example.com%Hello,%bye%\n",
         0,
         {"; NOTE: cron fed the text after '%'", "The input was: Hello,%bye%\n",
          "command = mail -s \"Report\" ops@example.com\n"},
         {NULL},
         0,
         1,
         1,
         "'%' gives the command standard input"},
        {"empty before % skipped",
         "0 6 * * * %input\n",
         0,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "empty before its first '%'"},
        {"long command continued",
         "0 3 * * * /usr/bin/rsync -a --delete --exclude=cache "
         "--exclude=tmp /srv/app/shared/uploads/ "
         "backup@backup.example.com:/srv/backups/app/uploads/ "
         "--log-file=/var/log/rsync-uploads.log --bwlimit=5000 "
         "--timeout=600\n",
         0,
         {"command = /usr/bin/rsync -a", "\n    "},
         {NULL},
         0,
         0,
         0,
         NULL},

        /* names */
        {"names unique",
         "0 1 * * * /opt/backup.sh\n0 2 * * * /opt/backup.sh --again\n",
         0,
         {"[job backup]\n", "[job backup-2]\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"prefix",
         "0 1 * * * /opt/backup.sh\n",
         PREFIX,
         {"[job cron_backup]\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"digit first gets job_",
         "0 1 * * * /opt/7zip.sh\n",
         0,
         {"[job job_7zip]\n"},
         {NULL},
         0,
         0,
         0,
         NULL},

        /* system crontabs */
        {"--system: the user is run_as",
         "17 * * * * root cd / && run-parts /etc/cron.hourly\n",
         SYS,
         {"[job cron_hourly]\ncommand = cd / && run-parts /etc/cron.hourly\n", "run_as = root\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"--system: bad user skipped",
         "25 6 * * * 'bad user' /bin/true\n",
         SYS,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "--system: expected a user name in the 6th field"},
        {"--system: user without command skipped",
         "47 6 * * 7 www-data\n",
         SYS,
         {NULL},
         {"[job"},
         1,
         0,
         1,
         "missing command after the schedule '47 6 * * 7' and the user"},
        {"a user's name alone is a command",
         "0 1 * * * root\n",
         0,
         {"[job root]\ncommand = root\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"a user followed by an option is a command",
         "0 1 * * * alice -v\n",
         0,
         {"command = alice -v\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"a user named after a program is a command",
         "0 1 * * * mail ops@example.com\n",
         0,
         {"command = mail ops@example.com\n"},
         {NULL},
         0,
         0,
         0,
         NULL},
        {"not a user: a command",
         "0 1 * * * bob /srv/x\n",
         0,
         {"command = bob /srv/x\n"},
         {NULL},
         0,
         0,
         0,
         NULL},

        /* lines */
        {"byte-order mark and CRLF",
         "\xef\xbb\xbf"
         "0 1 * * * /bin/true\r\n",
         0,
         {"[job true]\ncommand = /bin/true\nschedule = 0 1 * * *\n"},
         {"\r"},
         0,
         0,
         0,
         NULL},
};

/* Whether each of want[] is in text, in order. */
static void assert_in_order(const char *what, const char *text, const char *const *want, size_t n)
{
        const char *at = text;

        for (size_t i = 0; i < n && want[i]; i++) {
                const char *hit = strstr(at, want[i]);

                if (!hit)
                        fail_msg("%s: '%s' missing (or out of order) in:\n%s", what, want[i], text);
                at = hit + strlen(want[i]);
        }
}

/* The converter's promise: what it writes, the config loader accepts. */
static void assert_loads(const char *what, const cw_crontab_result *res)
{
        cw_config_opts opts = {.now = NOW};
        cw_config_errors errs = {0};
        cw_config *c = NULL;

        if (cw_config_load_string("/nonexistent/tab.ini", res->text, res->len, &opts, &c, &errs) <
            0)
                fail_msg("%s: the config does not load: %s\n%s", what, errs.n ? errs.msgs[0] : "?",
                         res->text);
        assert_int_equal(c->n_jobs, res->n_jobs);
        cw_config_free(c);
        cw_config_errors_release(&errs);
}

static void test_conversion_rules(void **state)
{
        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(conv_cases); i++) {
                const conv_case *c = &conv_cases[i];
                cw_crontab_result res = {0};
                int r = convert(c->input, c->flags, &res);

                if (r != 0)
                        fail_msg("%s: returned %d", c->what, r);
                assert_in_order(c->what, res.text, c->want, CW_ARRAY_SIZE(c->want));
                assert_loads(c->what, &res);
                for (size_t k = 0; k < CW_ARRAY_SIZE(c->absent) && c->absent[k]; k++)
                        if (strstr(res.text, c->absent[k]))
                                fail_msg("%s: '%s' unexpected in:\n%s", c->what, c->absent[k],
                                         res.text);
                if (res.n_skipped != c->skipped || res.n_notes != c->notes)
                        fail_msg("%s: %zu skipped, %zu notes (expected %zu, %zu)", c->what,
                                 res.n_skipped, res.n_notes, c->skipped, c->notes);
                assert_int_equal(res.n_diags, c->skipped + c->notes);
                if (c->diag_line) {
                        assert_int_equal(res.diags[0].line, c->diag_line);
                        if (!strstr(res.diags[0].msg, c->diag))
                                fail_msg("%s: report '%s' lacks '%s'", c->what, res.diags[0].msg,
                                         c->diag);
                }
                cw_crontab_result_release(&res);
        }
}

/* The text around the sections: a header naming the file, [cronwarden],
 * and nothing else for an empty crontab. */
static void test_empty_crontab(void **state)
{
        cw_crontab_result res = {0};

        (void)state;
        assert_int_equal(convert("", 0, &res), 0);
        assert_string_equal(res.text,
                            "; Converted from the crontab tab by 'cronwarden import-crontab'.\n"
                            "; Check it with 'cronwarden --config FILE check' and read the "
                            "NOTE comments.\n"
                            "[cronwarden]\n\n");
        assert_int_equal(res.len, strlen(res.text));
        assert_int_equal(res.n_jobs, 0);
        cw_crontab_result_release(&res);
}

/* A system crontab read without --system stops at its first user column,
 * keeping the reports of the lines before it. */
static void test_user_column_refused(void **state)
{
        static const char *const tabs[] = {
                "61 * * * * /bin/x\n17 * * * * root test -e /x && echo y\n",
                "61 * * * * /bin/x\n@daily   alice  /srv/job\n",
        };

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(tabs); i++) {
                cw_crontab_result res = {0};

                assert_int_equal(convert(tabs[i], 0, &res), -EINVAL);
                assert_null(res.text);
                assert_int_equal(res.error_line, 2);
                assert_non_null(strstr(res.error, "user column of a system crontab"));
                assert_non_null(strstr(res.error, "--system"));
                assert_int_equal(res.n_skipped, 1);
                cw_crontab_result_release(&res);
        }
}

/* Lines longer than the limit, or with a NUL byte, are skipped. */
static void test_long_and_nul_lines(void **state)
{
        size_t n = CW_CRONTAB_LINE_MAX + 100;
        char *text = malloc(n + 64);
        cw_crontab_result res = {0};
        FILE *in;
        cw_crontab_opts opts = {.file = "tab", .now = NOW, .user_known = fake_user_known};

        (void)state;
        assert_non_null(text);
        memcpy(text, "0 1 * * * /bin/echo ", 20);
        memset(text + 20, 'x', n - 20);
        static const char tail[] = "\n0 2 * * * /bin/a\0b\n0 3 * * * /bin/ok\n";
        memcpy(text + n, tail, sizeof(tail) - 1);
        in = fmemopen(text, n + sizeof(tail) - 1, "r");
        assert_non_null(in);
        assert_int_equal(cw_crontab_convert(in, &opts, &res), 0);
        fclose(in);
        assert_int_equal(res.n_skipped, 2);
        assert_int_equal(res.diags[0].line, 1);
        assert_int_equal(res.diags[1].line, 2);
        assert_non_null(strstr(res.diags[0].msg, "NUL byte"));
        assert_int_equal(res.n_jobs, 1);
        assert_non_null(strstr(res.text, "[job ok]\n"));
        cw_crontab_result_release(&res);
        free(text);
}

/* Reports past CW_CRONTAB_DIAGS_MAX are counted, not kept. */
static void test_reports_bounded(void **state)
{
        size_t n = CW_CRONTAB_DIAGS_MAX + 5;
        char *text = malloc(n * 3 + 1);
        cw_crontab_result res = {0};

        (void)state;
        assert_non_null(text);
        for (size_t i = 0; i < n; i++)
                memcpy(text + 3 * i, "@x\n", 3);
        text[3 * n] = '\0';
        assert_int_equal(convert(text, 0, &res), 0);
        assert_int_equal(res.n_skipped, n);
        assert_int_equal(res.n_diags, CW_CRONTAB_DIAGS_MAX);
        assert_int_equal(res.n_dropped, 5);
        cw_crontab_result_release(&res);
        free(text);
}

static void test_prefix_valid(void **state)
{
        (void)state;
        assert_true(cw_crontab_prefix_valid("cron_"));
        assert_true(cw_crontab_prefix_valid("legacy-"));
        assert_true(cw_crontab_prefix_valid("_x"));
        assert_false(cw_crontab_prefix_valid("9bad"));
        assert_false(cw_crontab_prefix_valid("a.b"));
        assert_false(cw_crontab_prefix_valid("a b"));
        assert_false(cw_crontab_prefix_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

/* ---- the helpers, one rule each ---- */

static void test_needs_shell(void **state)
{
        static const struct {
                const char *cmd;
                bool shell;
        } t[] = {
                {"/bin/true", false},     {"/usr/bin/find /tmp -name '*.tmp'", false},
                {"echo \"a b\"", false},  {"a | b", true},
                {"a && b", true},         {"a > f", true},
                {"echo $HOME", true},     {"echo \"$HOME\"", true},
                {"echo `date`", true},    {"ls *.c", true},
                {"cd /srv", true},        {"FOO=1 prog", true},
                {"prog # comment", true}, {"prog a#b", false},
                {"echo 'open", true},     {"echo ~", true},
        };

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++)
                if (cw_crontab_needs_shell(t[i].cmd) != t[i].shell)
                        fail_msg("'%s': expected %s", t[i].cmd, t[i].shell ? "shell" : "none");
}

static void test_shell_rewrite(void **state)
{
        static const struct {
                const char *cmd, *want; /* want NULL: refused */
        } t[] = {
                {"a ; b", "a; b"},
                {"a\t;b", "a;b"},
                {"echo 'x ;y'", "echo 'x '\\;'y'"},
                {"echo \"x ;y\"", "echo \"x \"\\;\"y\""},
                {"echo x\\ ; echo y", "echo x\" \"; echo y"},
                {"echo $(echo 'a ;b')", "echo $(echo 'a '\\;'b')"},
                {"a;", "a"},
                {"a ;", "a"},
                {"case x in x) :;; esac", "case x in x) :;; esac"},
                {"( false )", "( false )"},
                {"{ a; }", "{ a; }"},
                {"while false; do :; done", "while false; do :; done"},
                {"echo trailing\\", "echo trailing\\\\"},
                {"echo x # a ;comment", "echo x # a;comment"},
                {"echo \"`echo 'a ;b'`\"", NULL},
                {"echo ${x:- ;}", NULL},
                {"echo $(date", NULL},
                {"echo 'open", NULL},
                {";", NULL},
        };

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                char *out = NULL;
                const char *why = NULL;
                int r = cw_crontab_shell_rewrite(t[i].cmd, &out, &why);

                if (!t[i].want) {
                        if (r != -EINVAL || !why)
                                fail_msg("'%s': expected a refusal, got %d '%s'", t[i].cmd, r,
                                         out ? out : "");
                        continue;
                }
                if (r != 0)
                        fail_msg("'%s': refused (%s)", t[i].cmd, why);
                if (strcmp(out, t[i].want) != 0)
                        fail_msg("'%s': got '%s', expected '%s'", t[i].cmd, out, t[i].want);
                free(out);
        }
}

static void test_split_percent(void **state)
{
        const char *in = NULL;
        char *cmd;

        (void)state;
        cmd = cw_crontab_split_percent("date +\\%F", &in);
        assert_string_equal(cmd, "date +%F");
        assert_null(in);
        free(cmd);
        cmd = cw_crontab_split_percent("mail x  %Hi%there", &in);
        assert_string_equal(cmd, "mail x");
        assert_string_equal(in, "Hi%there");
        free(cmd);
        cmd = cw_crontab_split_percent("%all input", &in);
        assert_string_equal(cmd, "");
        assert_string_equal(in, "all input");
        free(cmd);
}

static void test_derive_name(void **state)
{
        static const struct {
                const char *cmd, *prefix, *want;
        } t[] = {
                {"/usr/local/bin/backup.sh --full", "", "backup"},
                {"cd /srv/app && ./venv/bin/python manage.py clearsessions > /dev/null", "",
                 "clearsessions"},
                {"nice -n 19 flock /tmp/lock /srv/venv/bin/python3 /srv/manage.py send_mail", "",
                 "send_mail"},
                {"sleep 30; /usr/local/bin/report.py", "", "report"},
                {"FOO=bar /usr/bin/env python3 -m app.cleanup", "", "app_cleanup"},
                {"flock /tmp/lock /opt/sync-all", "", "sync-all"},
                {"sudo -u www-data php /srv/cron.php", "", "cron"},
                {"/opt/7zip-backup.sh", "", "job_7zip-backup"},
                {"/opt/7zip-backup.sh", "legacy_", "legacy_7zip-backup"},
                {"run-parts --report /etc/cron.hourly", "", "cron_hourly"},
                {"> /tmp/x", "", "job"},
                {"'/opt/weird name!.sh'", "", "weird_name"},
        };

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++) {
                char buf[200];

                cw_crontab_derive_name(t[i].cmd, t[i].prefix, buf, sizeof(buf));
                if (strcmp(buf, t[i].want) != 0)
                        fail_msg("'%s': got '%s', expected '%s'", t[i].cmd, buf, t[i].want);
        }
}

static void test_user_column(void **state)
{
        static const struct {
                const char *rest;
                bool column;
        } t[] = {
                {"root test -e /x", true},
                {"alice\t/srv/job", true},
                {"root", false},                 /* nothing after it */
                {"alice -v", false},             /* an option: alice is a command */
                {"mail ops@example.com", false}, /* a program Debian names a user after */
                {"sync now", false},
                {"bob /srv/x", false},      /* no such user */
                {"/usr/bin/root x", false}, /* a path */
                {"'root' x", false},
        };
        char word[64];

        (void)state;
        for (size_t i = 0; i < CW_ARRAY_SIZE(t); i++)
                if (cw_crontab_user_column(t[i].rest, NULL, fake_user_known, NULL, word,
                                           sizeof(word)) != t[i].column)
                        fail_msg("'%s': expected %s", t[i].rest,
                                 t[i].column ? "a user column" : "a command");
        /* The real lookup knows root; a program on the crontab's PATH is a
         * command whatever its name. */
        assert_true(cw_crontab_user_column("root x", NULL, NULL, NULL, word, sizeof(word)));
        assert_string_equal(word, "root");
        assert_true(cw_crontab_user_known("root", NULL));
        assert_false(cw_crontab_user_known("no-such-user-here", NULL));
        assert_false(cw_crontab_user_column("sh x", "/bin", NULL, NULL, word, sizeof(word)));
}

/* ---- the block of `crontab install` ---- */

#define CFG "/srv/app/cronwarden.ini"
#define BLOCK                                                                                      \
        "# BEGIN cronwarden " CFG "\n"                                                             \
        "* * * * * /usr/bin/cronwarden --config " CFG " tick --silent\n"                           \
        "# END cronwarden " CFG "\n"

static void test_block_make(void **state)
{
        cw_buf b = CW_BUF_INIT(0);

        (void)state;
        assert_int_equal(cw_crontab_block_make("/usr/bin/cronwarden", CFG, &b), 0);
        assert_string_equal(b.p, BLOCK);
        cw_buf_release(&b);
        /* Quoted for sh where needed; cron's % escaped. */
        assert_int_equal(cw_crontab_block_make("/opt/my bin/cw", "/etc/it's 100%.ini", &b), 0);
        assert_string_equal(b.p, "# BEGIN cronwarden /etc/it's 100%.ini\n"
                                 "* * * * * '/opt/my bin/cw' --config '/etc/it'\\''s 100\\%.ini' "
                                 "tick --silent\n"
                                 "# END cronwarden /etc/it's 100%.ini\n");
        cw_buf_release(&b);
        b = (cw_buf)CW_BUF_INIT(64);
        assert_int_equal(cw_crontab_block_make("/usr/bin/cronwarden", CFG, &b), -ENAMETOOLONG);
        cw_buf_release(&b);
}

static void test_blocks_find_and_edit(void **state)
{
        static const char other[] = "MAILTO=x\n0 3 * * * /usr/bin/backup\n";
        static const char text[] = "MAILTO=x\n" BLOCK "0 3 * * * /usr/bin/backup\n" BLOCK;
        static const char longer[] = "# BEGIN cronwarden " CFG ".old\nx";
        static const char unended[] = "a\n# BEGIN cronwarden " CFG "\nb\n";
        cw_crontab_blocks f;
        cw_buf b = CW_BUF_INIT(0);

        (void)state;
        /* Two blocks: found, not "the same", and edited into one, in place. */
        assert_int_equal(cw_crontab_blocks_find(text, strlen(text), CFG, &f), 0);
        assert_int_equal(f.n, 2);
        assert_int_equal(f.bad_line, 0);
        assert_int_equal(f.spans[0].begin, 9);
        assert_false(cw_crontab_blocks_same(text, &f, BLOCK, strlen(BLOCK)));
        assert_int_equal(cw_crontab_blocks_edit(text, strlen(text), &f, "NEW\n", 4, &b), 0);
        assert_string_equal(b.p, "MAILTO=x\nNEW\n0 3 * * * /usr/bin/backup\n");
        cw_buf_release(&b);
        /* Removal keeps every other byte. */
        assert_int_equal(cw_crontab_blocks_edit(text, strlen(text), &f, NULL, 0, &b), 0);
        assert_string_equal(b.p, other);
        cw_buf_release(&b);
        /* A longer path's block is not ours; the last line gets its newline. */
        assert_int_equal(cw_crontab_blocks_find(longer, strlen(longer), CFG, &f), 0);
        assert_int_equal(f.n, 0);
        assert_int_equal(cw_crontab_blocks_edit("x", 1, &f, BLOCK, strlen(BLOCK), &b), 0);
        assert_string_equal(b.p, "x\n" BLOCK);
        cw_buf_release(&b);
        /* One block equal to ours is "the same". */
        assert_int_equal(cw_crontab_blocks_find(BLOCK, strlen(BLOCK), CFG, &f), 0);
        assert_true(cw_crontab_blocks_same(BLOCK, &f, BLOCK, strlen(BLOCK)));
        /* A BEGIN without END is reported by its line. */
        assert_int_equal(cw_crontab_blocks_find(unended, strlen(unended), CFG, &f), 0);
        assert_int_equal(f.n, 0);
        assert_int_equal(f.bad_line, 2);
        /* Past the output's maximum. */
        b = (cw_buf)CW_BUF_INIT(8);
        assert_int_equal(cw_crontab_blocks_edit(text, strlen(text), &f, NULL, 0, &b), -EFBIG);
        cw_buf_release(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_conversion_rules),
                cmocka_unit_test(test_empty_crontab),
                cmocka_unit_test(test_user_column_refused),
                cmocka_unit_test(test_long_and_nul_lines),
                cmocka_unit_test(test_reports_bounded),
                cmocka_unit_test(test_prefix_valid),
                cmocka_unit_test(test_needs_shell),
                cmocka_unit_test(test_shell_rewrite),
                cmocka_unit_test(test_split_percent),
                cmocka_unit_test(test_derive_name),
                cmocka_unit_test(test_user_column),
                cmocka_unit_test(test_block_make),
                cmocka_unit_test(test_blocks_find_and_edit),
        };
        return cmocka_run_group_tests_name("crontab", tests, NULL, NULL);
}
