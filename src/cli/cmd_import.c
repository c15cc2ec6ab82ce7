/* cmd_import.c - `cronwarden import-crontab FILE`: converts a crontab into
 * config sections (PRODUCT.md §3, §4, §5), printed on stdout.
 *
 * Each entry becomes a [job NAME] with `command` and `schedule`; the
 * environment lines before the first entry become [defaults] (`env`,
 * `timezone` from CRON_TZ or TZ), and later ones become per-job `env` or
 * `timezone` lines, since cron applies an assignment to the entries below
 * it only. The output is meant to pass `cronwarden check` unchanged, so
 * every value is written the way config.c reads it back:
 *
 *   - Physical lines stay far below libinih's 198-byte limit: a long value
 *     is cut at single spaces onto indented continuation lines (the parser
 *     joins them with single spaces), never where the next piece would
 *     read as a comment ('#', ';') or a section header ('[').
 *   - " ;" (white space, then ';') starts an inline comment, so no value
 *     may contain it. A command runs under /bin/sh, where the white space
 *     before an unquoted ';' means nothing and is dropped, and a quoted
 *     ';' is written \; between closed quotes ("a ;b" -> "a "\;"b").
 *     Quotes are followed into $( ... ), even inside double quotes; where
 *     they cannot be followed safely (`...` inside double quotes, inside
 *     ${...}) a line that needs this is skipped instead.
 *   - cron hands commands to /bin/sh. A command with no shell syntax is
 *     split the same by cronwarden's argv splitter and is written as is;
 *     anything else (or every command, with --shell) gets shell = yes.
 *     Such commands are run as `sh -c 'COMMAND "$@"'`, so one ending in a
 *     compound command (')', '}', fi, done, esac) gets " #" after it, and
 *     a trailing ';' is dropped: either would otherwise turn the appended
 *     "$@" into a syntax error or an empty command that hides the exit
 *     status.
 *   - cron turns \% into % and an unescaped % into the start of the
 *     command's standard input. The first is done here; the second cannot
 *     be (jobs have no stdin), so the job keeps the command before the %
 *     and a NOTE comment quotes the input for a human to review.
 *
 * Lines that cannot be converted are reported on stderr as FILE:LINE and
 * skipped; the exit status says whether any were (1) or not (0). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config/argv.h"
#include "jobspec/jobspec.h"
#include "timespec/timespec.h"
#include "tz/tz.h"

/* Crontab lines are user data: longer ones are skipped, not buffered. */
#define IMP_LINE_MAX 65536
/* Physical output lines are kept to this (config.c allows 198). */
#define IMP_OUT_MAX 160
#define IMP_INDENT "    "
/* Longest program-derived part of a job name, and of a --prefix. */
#define IMP_BASE_MAX 64
#define IMP_PREFIX_MAX 48
/* Nesting of $( ... ) followed when rewriting a command. */
#define SHELL_DEPTH_MAX 16

enum {
        IMP_OPT_PREFIX = 0x2000,
        IMP_OPT_SHELL,
        IMP_OPT_SYSTEM,
};

static const char import_usage[] =
        "Usage: cronwarden import-crontab FILE [--prefix NAME] [--shell] [--system]\n"
        "\n"
        "Convert a crontab (FILE, or - for standard input) into config sections,\n"
        "printed on standard output: a [job NAME] per entry with its command and\n"
        "schedule, and a [defaults] section for the environment lines. Redirect it\n"
        "to a file and run 'cronwarden --config FILE check'.\n"
        "\n"
        "  - A job is named after its program (backup.sh -> backup), with -2, -3...\n"
        "    when several entries run the same program; a comment line right above\n"
        "    an entry becomes its description.\n"
        "  - Commands with shell syntax (| ; && > $ ` * ~ ...) get shell = yes, as cron\n"
        "    ran every command with /bin/sh; \\% becomes %. A command that uses % to\n"
        "    feed standard input is kept without that input and marked NOTE.\n"
        "  - NAME=value lines become env = lines; CRON_TZ and TZ set timezone;\n"
        "    MAILTO and SHELL become comments (SHELL an env line with --shell).\n"
        "  - Lines that cannot be converted (bad time fields, unknown @macros, a\n"
        "    missing command, a word too long for one config line...) are reported\n"
        "    on standard error as FILE:LINE and skipped.\n"
        "\n"
        "Options:\n"
        "      --prefix NAME put NAME in front of every job name (--prefix cron_\n"
        "                    gives cron_backup)\n"
        "      --shell       shell = yes for every command, and keep SHELL= lines\n"
        "      --system      the file is a system crontab (/etc/crontab,\n"
        "                    /etc/cron.d/*): the 6th field is a user, imported as\n"
        "                    run_as\n"
        "      --help        show this help\n"
        "\n"
        "Exit status: 0 every line converted, 1 some lines skipped (see standard\n"
        "error), 2 usage error or unreadable FILE.\n";

/* ---- a small growable string ---- */

typedef struct sbuf {
        char *s;
        size_t n, cap;
        bool enomem;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
        if (b->enomem)
                return;
        if (b->n + n + 1 > b->cap) {
                size_t ncap = b->cap ? b->cap : 64;
                char *ns;

                while (b->n + n + 1 > ncap)
                        ncap *= 2;
                ns = realloc(b->s, ncap);
                if (!ns) {
                        b->enomem = true;
                        return;
                }
                b->s = ns;
                b->cap = ncap;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
}

static void sb_putc(sbuf *b, char c)
{
        sb_putn(b, &c, 1);
}

static void sb_puts(sbuf *b, const char *s)
{
        sb_putn(b, s, strlen(s));
}

/* Hands the text over (never NULL unless out of memory). */
static char *sb_take(sbuf *b)
{
        if (b->enomem) {
                free(b->s);
                *b = (sbuf){0};
                return NULL;
        }
        if (!b->s)
                return strdup("");
        b->cap = b->n = 0;
        return CW_TAKE_PTR(b->s);
}

static void sb_release(sbuf *b)
{
        free(b->s);
        *b = (sbuf){0};
}

/* ---- character classes ---- */

/* White space as libinih sees it (its inline comments start after any). */
static bool ini_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Blanks between crontab fields. */
static bool blank(char c)
{
        return c == ' ' || c == '\t';
}

static bool is_alpha(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool has_control(const char *s)
{
        for (; *s; s++)
                if (((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f)
                        return true;
        return false;
}

/* A variable name env = accepts: letters, digits and '_', no digit first. */
static bool env_key_valid(const char *s)
{
        if (!is_alpha(s[0]) && s[0] != '_')
                return false;
        for (s++; *s; s++)
                if (!is_alpha(*s) && !is_digit(*s) && *s != '_')
                        return false;
        return true;
}

/* A value config.c reads back as written on one `key = value` line. */
static bool value_fits_line(const char *v)
{
        size_t n = strlen(v);

        if (n == 0 || v[0] == ';' || ini_ws(v[0]) || ini_ws(v[n - 1]) || has_control(v))
                return false;
        for (size_t i = 1; i < n; i++)
                if (v[i] == ';' && ini_ws(v[i - 1]))
                        return false;
        return true;
}

/* ---- long values ---- */

/* Where a value may be cut: a single space between two non-blank bytes,
 * with nothing after it that the parser would read as a comment or a
 * section header at the start of a continuation line. */
static bool split_point(const char *v, size_t i)
{
        return v[i] == ' ' && i > 0 && !ini_ws(v[i - 1]) && v[i + 1] && !ini_ws(v[i + 1]) &&
               v[i + 1] != '#' && v[i + 1] != ';' && v[i + 1] != '[';
}

/* Checks that value can be written as `key = value` within IMP_OUT_MAX
 * bytes per physical line; returns 0, or -E2BIG (with *ret_word, the
 * length of the piece that cannot be cut) when it cannot. */
static int value_layout(const char *key, const char *v, FILE *out, size_t *ret_word)
{
        size_t n = strlen(v), start = 0, budget = IMP_OUT_MAX - strlen(key) - 3;

        while (n - start > budget) {
                size_t cut = 0;

                for (size_t i = start + budget; i > start; i--)
                        if (split_point(v, i)) {
                                cut = i;
                                break;
                        }
                if (cut == 0) {
                        size_t e = start + budget;

                        while (e < n && !split_point(v, e))
                                e++;
                        if (ret_word)
                                *ret_word = e - start;
                        return -E2BIG;
                }
                if (out)
                        fprintf(out, "%s%s%.*s\n", start == 0 ? key : IMP_INDENT,
                                start == 0 ? " = " : "", (int)(cut - start), v + start);
                start = cut + 1;
                budget = IMP_OUT_MAX - strlen(IMP_INDENT);
        }
        if (out)
                fprintf(out, "%s%s%s\n", start == 0 ? key : IMP_INDENT, start == 0 ? " = " : "",
                        v + start);
        return 0;
}

/* A comment line's text: control bytes (a file name with a newline, an
 * escape sequence) are shown as '?'. */
static void put_comment_text(FILE *out, const char *s)
{
        for (; *s; s++)
                fputc(((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f ? '?' : *s, out);
}

/* ---- commands ---- */

typedef enum quote {
        Q_NONE,
        Q_SINGLE,
        Q_DOUBLE,
} quote;

/* Words that are shell built-ins or keywords (no program of that name to
 * run without a shell). */
static const char *const shell_words[] = {
        ".",        ":",      "[[",       "alias",  "break",    "case",    "cd",      "command",
        "continue", "do",     "done",     "elif",   "else",     "esac",    "eval",    "exec",
        "exit",     "export", "fi",       "for",    "function", "getopts", "hash",    "if",
        "local",    "read",   "readonly", "return", "select",   "set",     "shift",   "source",
        "then",     "times",  "trap",     "type",   "ulimit",   "umask",   "unalias", "unset",
        "until",    "wait",   "while",    "{",      "}",        "!",
};

/* True when cron's /bin/sh could read cmd differently from cronwarden's
 * argv splitter (config/argv.h): operators, expansions, globs, comments,
 * assignments, built-ins. Errs towards yes: a shell gives cron's meaning
 * either way. */
static bool needs_shell(const char *cmd)
{
        quote q = Q_NONE;
        bool word_start = true, first_word = true;
        size_t fw = 0;

        while (cmd[fw] && !ini_ws(cmd[fw]))
                fw++;
        for (size_t k = 0; k < CW_ARRAY_SIZE(shell_words); k++)
                if (strlen(shell_words[k]) == fw && memcmp(cmd, shell_words[k], fw) == 0)
                        return true;
        for (const char *p = cmd; *p; p++) {
                char c = *p;
                bool at_start;

                if (q == Q_SINGLE) {
                        if (c == '\'')
                                q = Q_NONE;
                        continue;
                }
                if (q == Q_DOUBLE) {
                        if (c == '\\' && p[1])
                                p++;
                        else if (c == '"')
                                q = Q_NONE;
                        else if (c == '$' || c == '`')
                                return true;
                        continue;
                }
                if (ini_ws(c)) {
                        if (!word_start)
                                first_word = false;
                        word_start = true;
                        continue;
                }
                at_start = word_start;
                word_start = false;
                if (c == '\\') {
                        if (!p[1])
                                return true;
                        p++;
                } else if (c == '\'') {
                        q = Q_SINGLE;
                } else if (c == '"') {
                        q = Q_DOUBLE;
                } else if (strchr("|&;<>()$`*?[]{}~!", c)) {
                        return true;
                } else if ((c == '#' && at_start) || (c == '=' && first_word)) {
                        return true;
                }
        }
        return q != Q_NONE;
}

/* True when the byte at b->s[i] is escaped by an odd run of backslashes. */
static bool escaped_at(const sbuf *b, size_t i)
{
        size_t k = 0;

        while (k < i && b->s[i - 1 - k] == '\\')
                k++;
        return k % 2 == 1;
}

/* Rewrites a command for `shell = yes` so that no ';' follows white space
 * (see the top of the file), drops a trailing ';' and ends a command that
 * ends in a compound command with " #". Returns 0 with a new string in
 * *ret; -EINVAL with *ret_why when the quoting cannot be followed; -ENOMEM. */
static int shell_rewrite(const char *cmd, char **ret, const char **ret_why)
{
        _cleanup_(sb_release) sbuf b = {0};
        /* One frame per open $( ... ), whose inside is quoted afresh. */
        struct {
                quote q;
                bool subst;      /* a $( frame; frame 0 is the command */
                unsigned parens; /* open plain '(' in this frame */
        } st[SHELL_DEPTH_MAX] = {{Q_NONE, false, 0}};
        size_t top = 0, len;
        bool word_start = true, comment = false, unsure = false;
        int braces = 0; /* open ${ ... } */

        for (const char *p = cmd; *p; p++) {
                char c = *p;

                if (c == ';' && b.n > 0 && ini_ws(b.s[b.n - 1])) {
                        if (unsure || braces > 0) {
                                *ret_why = "it has ' ;' where its quoting cannot be followed "
                                           "(inside ${...}, after `...` in double quotes, or "
                                           "too deeply nested), and the config file would "
                                           "read ' ;' as a comment";
                                return -EINVAL;
                        }
                        if (st[top].q == Q_SINGLE && !comment) {
                                sb_puts(&b, "'\\;'");
                                continue;
                        }
                        if (st[top].q == Q_DOUBLE && !comment) {
                                sb_puts(&b, "\"\\;\"");
                                continue;
                        }
                        /* Unquoted (or in a comment): the blanks mean nothing,
                         * except an escaped one, which is data: quote it. */
                        while (b.n > 0 && ini_ws(b.s[b.n - 1])) {
                                if (!comment && escaped_at(&b, b.n - 1)) {
                                        char ws = b.s[b.n - 1];

                                        b.n -= 2;
                                        sb_putc(&b, '"');
                                        sb_putc(&b, ws);
                                        sb_putc(&b, '"');
                                        break;
                                }
                                b.n--;
                        }
                        if (b.s)
                                b.s[b.n] = '\0';
                }
                sb_putc(&b, c);
                if (comment)
                        continue;
                if (st[top].q == Q_SINGLE) {
                        if (c == '\'')
                                st[top].q = Q_NONE;
                        continue;
                }
                if (c == '$' && p[1] == '(') {
                        sb_putc(&b, *++p);
                        if (top + 1 < SHELL_DEPTH_MAX) {
                                top++;
                                st[top].q = Q_NONE;
                                st[top].subst = true;
                                st[top].parens = 0;
                        } else {
                                unsure = true;
                                st[top].parens++;
                        }
                        word_start = true;
                        continue;
                }
                if (c == '$' && p[1] == '{') {
                        sb_putc(&b, *++p);
                        braces++;
                        word_start = false;
                        continue;
                }
                if (c == '}' && braces > 0)
                        braces--;
                if (st[top].q == Q_DOUBLE) {
                        if (c == '\\' && p[1])
                                sb_putc(&b, *++p);
                        else if (c == '"')
                                st[top].q = Q_NONE;
                        else if (c == '`')
                                unsure = true;
                        continue;
                }
                if (ini_ws(c)) {
                        word_start = true;
                        continue;
                }
                if (c == '#' && word_start) {
                        comment = true;
                        continue;
                }
                word_start = strchr(";&|()<>", c) != NULL;
                if (c == '\\' && p[1]) {
                        sb_putc(&b, *++p);
                } else if (c == '\'') {
                        st[top].q = Q_SINGLE;
                } else if (c == '"') {
                        st[top].q = Q_DOUBLE;
                } else if (c == '(') {
                        st[top].parens++;
                } else if (c == ')' && st[top].parens > 0) {
                        st[top].parens--;
                } else if (c == ')' && st[top].subst) {
                        /* The end of $( ... ) is the middle of a word. */
                        top--;
                        word_start = false;
                }
        }
        if (b.enomem)
                return -ENOMEM;
        if (top > 0 || st[0].q != Q_NONE) {
                *ret_why = top > 0 ? "it has an unterminated $(" : "it has an unterminated quote";
                return -EINVAL;
        }
        if (!comment && b.n > 0) {
                /* A last lone backslash is a literal one to sh; before the
                 * appended "$@" it would escape the space. */
                if (escaped_at(&b, b.n))
                        sb_putc(&b, '\\');
                len = b.n;
                if (b.s[len - 1] == ';' && !escaped_at(&b, len - 1) &&
                    (len < 2 || b.s[len - 2] != ';' || escaped_at(&b, len - 2))) {
                        len--;
                        while (len > 0 && ini_ws(b.s[len - 1]))
                                len--;
                        b.n = len;
                        b.s[len] = '\0';
                }
                if (len > 0) {
                        size_t w = len;

                        while (w > 0 && !ini_ws(b.s[w - 1]) && !strchr(";&|", b.s[w - 1]))
                                w--;
                        if (((b.s[len - 1] == ')' || b.s[len - 1] == '}') &&
                             !escaped_at(&b, len - 1)) ||
                            strcmp(b.s + w, "fi") == 0 || strcmp(b.s + w, "done") == 0 ||
                            strcmp(b.s + w, "esac") == 0)
                                sb_puts(&b, " #");
                }
        }
        if (b.n == 0) {
                *ret_why = "its command is empty";
                return -EINVAL;
        }
        *ret = sb_take(&b);
        return *ret ? 0 : -ENOMEM;
}

/* cron's % handling: \% is a literal %, the first unescaped % ends the
 * command and starts its standard input. Returns the command (new
 * string) and points *ret_stdin into cmd after the %, or at NULL. */
static char *split_percent(const char *cmd, const char **ret_stdin)
{
        sbuf b = {0};
        const char *p;

        *ret_stdin = NULL;
        for (p = cmd; *p; p++) {
                if (p[0] == '\\' && p[1] == '%') {
                        sb_putc(&b, '%');
                        p++;
                } else if (p[0] == '%') {
                        *ret_stdin = p + 1;
                        break;
                } else {
                        sb_putc(&b, *p);
                }
        }
        while (b.n > 0 && ini_ws(b.s[b.n - 1]))
                b.s[--b.n] = '\0';
        return sb_take(&b);
}

/* ---- job names ---- */

/* Splits cmd roughly into words (quotes removed) and operators, enough to
 * find the program an entry is about. */
static int rough_words(const char *cmd, cw_strv *ret)
{
        _cleanup_(sb_release) sbuf w = {0};
        bool in_word = false;
        quote q = Q_NONE;
        int r;

        for (const char *p = cmd;; p++) {
                char c = *p;
                bool op = q == Q_NONE && c && strchr(";&|()<>", c);

                if (c && q == Q_SINGLE) {
                        if (c == '\'')
                                q = Q_NONE;
                        else
                                sb_putc(&w, c);
                        continue;
                }
                if (c && q == Q_DOUBLE) {
                        if (c == '"')
                                q = Q_NONE;
                        else
                                sb_putc(&w, c);
                        continue;
                }
                if (!c || ini_ws(c) || op) {
                        if (in_word) {
                                r = cw_strv_consume(ret, sb_take(&w));
                                if (r < 0)
                                        return r;
                                in_word = false;
                        }
                        if (op) {
                                char o[2] = {c, '\0'};

                                if (cw_strv_push(ret, o) < 0)
                                        return -ENOMEM;
                        }
                        if (!c)
                                return 0;
                        continue;
                }
                in_word = true;
                if (c == '\'')
                        q = Q_SINGLE;
                else if (c == '"')
                        q = Q_DOUBLE;
                else if (c == '\\' && p[1])
                        sb_putc(&w, *++p);
                else
                        sb_putc(&w, c);
        }
}

static bool word_in(const char *w, const char *const *list, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(w, list[i]) == 0)
                        return true;
        return false;
}

static bool is_operator(const char *w)
{
        return w[0] && !w[1] && strchr(";&|()<>", w[0]);
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');

        return s && s[1] ? s + 1 : path;
}

/* Whether w is an assignment (NAME=...), as at the start of a command. */
static bool is_assignment(const char *w)
{
        const char *eq = strchr(w, '=');

        if (!eq || eq == w || (!is_alpha(w[0]) && w[0] != '_'))
                return false;
        for (const char *p = w; p < eq; p++)
                if (!is_alpha(*p) && !is_digit(*p) && *p != '_')
                        return false;
        return true;
}

/* The word of cmd that names what the entry does: past assignments,
 * set-up steps (cd DIR &&, sleep N;, test ... &&), wrappers (nice, flock
 * LOCK, timeout 1h, ...) and interpreters (python3 -m mod, php script.php,
 * manage.py COMMAND). Returns a pointer into words, or NULL. */
static const char *program_word(const cw_strv *words)
{
        static const char *const setup[] = {"cd",    "sleep",  "test",   "[", "true", ":",
                                            "umask", "export", "source", ".", "set",  "ulimit"};
        static const char *const wrappers[] = {
                "nice",    "ionice", "nohup",   "env",         "exec",      "time",
                "chronic", "cronic", "timeout", "flock",       "setlock",   "sudo",
                "run-one", "setsid", "chpst",   "systemd-cat", "caffeinate"};
        static const char *const keywords[] = {"{",    "!",     "if",    "then", "else",
                                               "elif", "while", "until", "do"};
        static const char *const with_arg[] = {"flock", "setlock", "timeout"};
        static const char *const interpreters[] = {
                "sh",   "bash", "dash", "zsh",  "ksh",    "python",  "python2", "python3",
                "perl", "ruby", "php",  "node", "nodejs", "Rscript", "lua"};
        size_t i = 0, n = words->n;

        while (i < n) {
                const char *w = words->v[i];
                const char *b = base_name(w);

                if (is_operator(w) || is_assignment(w) ||
                    word_in(w, keywords, CW_ARRAY_SIZE(keywords))) {
                        /* A redirection's target is no program either. */
                        if ((w[0] == '<' || w[0] == '>') && i + 1 < n &&
                            !is_operator(words->v[i + 1]))
                                i++;
                        i++;
                        continue;
                }
                if (word_in(b, setup, CW_ARRAY_SIZE(setup))) {
                        size_t k = i + 1;

                        while (k < n &&
                               !(is_operator(words->v[k]) && strchr(";&|", words->v[k][0])))
                                k++;
                        if (k < n) {
                                i = k + 1;
                                continue;
                        }
                        return w;
                }
                if (word_in(b, wrappers, CW_ARRAY_SIZE(wrappers))) {
                        bool arg = word_in(b, with_arg, CW_ARRAY_SIZE(with_arg));

                        for (i++; i < n; i++) {
                                const char *o = words->v[i];

                                if (o[0] == '-') {
                                        /* sudo -u USER, nice -n 5, ionice -c 3 */
                                        if (!o[2] && strchr("ugnc", o[1]) && i + 1 < n)
                                                i++;
                                } else if (is_digit(o[0]) || is_assignment(o)) {
                                        continue;
                                } else if (arg) {
                                        arg = false;
                                } else {
                                        break;
                                }
                        }
                        continue;
                }
                if (strcmp(b, "run-parts") == 0 ||
                    word_in(b, interpreters, CW_ARRAY_SIZE(interpreters)) ||
                    (strncmp(b, "python", 6) == 0 && is_digit(b[6]))) {
                        size_t k;

                        for (k = i + 1; k < n && words->v[k][0] == '-'; k++)
                                if (strcmp(words->v[k], "-m") == 0 && k + 1 < n)
                                        return words->v[k + 1];
                        if (k >= n || is_operator(words->v[k]))
                                return w;
                        i = k;
                        w = words->v[i];
                        b = base_name(w);
                }
                if ((strcmp(b, "manage.py") == 0 || strcmp(b, "django-admin") == 0) && i + 1 < n &&
                    !is_operator(words->v[i + 1]) && words->v[i + 1][0] != '-')
                        return words->v[i + 1];
                return w;
        }
        return NULL;
}

/* Writes a job name derived from cmd into buf: the program's base name
 * without its extension, other bytes than [A-Za-z0-9_-] made '_', prefixed
 * by prefix, starting with a letter or '_'. */
static void derive_name(const char *cmd, const char *prefix, char *buf, size_t size)
{
        _cleanup_(cw_strv_release) cw_strv words = {0};
        const char *prog = NULL, *b, *dot;
        size_t n = 0, blen;

        if (rough_words(cmd, &words) == 0)
                prog = program_word(&words);
        b = prog ? base_name(prog) : "job";
        blen = strlen(b);
        dot = strrchr(b, '.');
        if (dot && dot > b && strlen(dot) >= 2 && strlen(dot) <= 5)
                blen = (size_t)(dot - b);
        n = (size_t)snprintf(buf, size, "%s", prefix);
        if (n >= size)
                n = size - 1;
        if (n == 0 && blen > 0 && !is_alpha(b[0]) && b[0] != '_')
                n = (size_t)snprintf(buf, size, "job_");
        for (size_t i = 0; i < blen && i < IMP_BASE_MAX && n + 1 < size; i++) {
                char c = b[i];

                if (!is_alpha(c) && !is_digit(c) && c != '-')
                        c = '_';
                if (c == '_' && n > 0 && buf[n - 1] == '_')
                        continue;
                buf[n++] = c;
        }
        while (n > strlen(prefix) && (buf[n - 1] == '_' || buf[n - 1] == '-'))
                n--;
        if (n == strlen(prefix))
                n += (size_t)snprintf(buf + n, size - n, "job");
        buf[n] = '\0';
}

/* ---- the converter ---- */

typedef struct importer {
        cw_cli *cli;
        const char *file; /* shown in messages */
        const char *prefix;
        bool shell_all, system;

        FILE *body;      /* the job sections, in memory */
        cw_strv env;     /* current KEY=VALUE assignments, in order */
        char *tz;        /* current CRON_TZ/TZ zone, or NULL */
        cw_strv def_env; /* the assignments the first entry saw */
        char *def_tz;
        bool seen_entry;
        cw_strv def_comments; /* comments for [defaults] */
        cw_strv names;        /* job names used */
        char *pending;        /* the comment line right above, or NULL */
        size_t n_jobs, n_skipped, n_notes;
        cw_tz *utc;
} importer;

static void importer_release(importer *im)
{
        cw_strv_release(&im->env);
        free(im->tz);
        cw_strv_release(&im->def_env);
        free(im->def_tz);
        cw_strv_release(&im->def_comments);
        cw_strv_release(&im->names);
        free(im->pending);
        cw_tz_free(im->utc);
}

static void warn(importer *im, int line, bool skipped, const char *fmt, ...) _printf_(4, 5);
static void warn(importer *im, int line, bool skipped, const char *fmt, ...)
{
        va_list ap;

        fprintf(im->cli->err, "%s: %s:%d: %s", im->cli->prog, im->file, line,
                skipped ? "" : "note: ");
        va_start(ap, fmt);
        vfprintf(im->cli->err, fmt, ap);
        va_end(ap);
        fputs(skipped ? " (line skipped)\n" : "\n", im->cli->err);
        if (skipped)
                im->n_skipped++;
        else
                im->n_notes++;
}

/* The value of key in an env list of KEY=VALUE, or NULL. */
static const char *env_get(const cw_strv *env, const char *key)
{
        size_t n = strlen(key);

        for (size_t i = 0; i < env->n; i++)
                if (strncmp(env->v[i], key, n) == 0 && env->v[i][n] == '=')
                        return env->v[i] + n + 1;
        return NULL;
}

static int env_set(cw_strv *env, const char *key, const char *value)
{
        size_t n = strlen(key);
        char *entry = NULL;

        if (asprintf(&entry, "%s=%s", key, value) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < env->n; i++)
                if (strncmp(env->v[i], key, n) == 0 && env->v[i][n] == '=') {
                        free(env->v[i]);
                        env->v[i] = entry;
                        return 0;
                }
        return cw_strv_consume(env, entry);
}

static int set_string(char **dst, const char *s)
{
        char *c = s ? strdup(s) : NULL;

        if (s && !c)
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

/* A comment for [defaults] before the first entry, else in place. */
static int add_comment(importer *im, const char *text)
{
        if (im->seen_entry) {
                fputs("; ", im->body);
                put_comment_text(im->body, text);
                fputs("\n\n", im->body);
                return 0;
        }
        return cw_strv_push(&im->def_comments, text);
}

/* Parses `NAME = VALUE` the way cron does (either may be quoted; blanks
 * around '=' and the value are dropped; matching quotes around the value
 * are removed). Returns false when the line is not an assignment. */
static bool parse_env_line(const char *s, char **ret_key, char **ret_value)
{
        const char *k = s, *ke, *v, *ve;

        if (*k == '"' || *k == '\'') {
                ke = strchr(k + 1, *k);
                if (!ke)
                        return false;
                k++;
                s = ke + 1;
        } else {
                while (*s && !blank(*s) && *s != '=')
                        s++;
                ke = s;
        }
        if (ke == k)
                return false;
        while (blank(*s))
                s++;
        if (*s != '=')
                return false;
        for (v = s + 1; blank(*v); v++)
                ;
        ve = v + strlen(v);
        while (ve > v && blank(ve[-1]))
                ve--;
        if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) {
                v++;
                ve--;
        }
        *ret_key = strndup(k, (size_t)(ke - k));
        *ret_value = strndup(v, (size_t)(ve - v));
        if (!*ret_key || !*ret_value) {
                free(*ret_key);
                free(*ret_value);
                *ret_key = *ret_value = NULL;
        }
        return true;
}

static int on_env(importer *im, int line, const char *key, const char *value)
{
        cw_error err;
        char *text = NULL;
        int r;

        if (strcmp(key, "CRON_TZ") == 0 || strcmp(key, "TZ") == 0) {
                _cleanup_(cw_tz_freep) cw_tz *tz = NULL;

                r = cw_tz_load(value, im->cli->zoneinfo, &tz, &err);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        warn(im, line, true, "%s: unknown time zone '%s'", key, value);
                        return 0;
                }
                r = set_string(&im->tz, value);
                /* TZ also reached the commands' environment under cron. */
                if (r == 0 && strcmp(key, "TZ") == 0)
                        r = env_set(&im->env, key, value);
                return r;
        }
        if (strcmp(key, "MAILTO") == 0 || strcmp(key, "MAILFROM") == 0) {
                if (asprintf(&text,
                             "%s=%s (crontab line %d): cron mailed job output; cronwarden keeps "
                             "every run's output in its history and notifies differently (ping, "
                             "notify_after_failures): not imported",
                             key, value, line) < 0)
                        return -ENOMEM;
                r = add_comment(im, text);
                free(text);
                return r;
        }
        if (strcmp(key, "SHELL") == 0 && !im->shell_all) {
                if (asprintf(&text,
                             "SHELL=%s (crontab line %d): cronwarden runs shell = yes commands "
                             "with /bin/sh: not imported (--shell keeps it as an env line)",
                             value, line) < 0)
                        return -ENOMEM;
                r = add_comment(im, text);
                free(text);
                if (r == 0 && strcmp(value, "/bin/sh") != 0)
                        warn(im, line, false,
                             "SHELL=%s: commands will run with /bin/sh, check any written for %s",
                             value, base_name(value));
                return r;
        }
        if (!env_key_valid(key)) {
                warn(im, line, true,
                     "environment variable '%s': expected letters, digits and '_', not "
                     "starting with a digit",
                     key);
                return 0;
        }
        if (strncmp(key, "CRONWARDEN_", 11) == 0) {
                warn(im, line, true,
                     "environment variable '%s': CRONWARDEN_ names are set by "
                     "cronwarden itself",
                     key);
                return 0;
        }
        if (asprintf(&text, "%s=%s", key, value) < 0)
                return -ENOMEM;
        if (!value_fits_line(text) || strlen(text) + 6 > IMP_OUT_MAX) {
                warn(im, line, true,
                     "environment variable '%s': its value %s cannot be written in an "
                     "env = line",
                     key,
                     has_control(value)                             ? "has control characters and"
                     : strlen(text) + 6 > IMP_OUT_MAX               ? "is too long and"
                     : value[0] && ini_ws(value[strlen(value) - 1]) ? "ends in white space and"
                                                                    : "has ' ;' and");
                free(text);
                return 0;
        }
        free(text);
        if (strcmp(key, "SHELL") == 0 && strcmp(value, "/bin/sh") != 0)
                warn(im, line, false,
                     "SHELL=%s: kept as an env line, but commands run with /bin/sh", value);
        return env_set(&im->env, key, value);
}

/* Writes `description = TEXT` (continued as needed) for a comment's text:
 * blanks folded, control bytes dropped, " ;" closed up. A text with no
 * space to cut at stays a comment. */
static void put_description(FILE *out, const char *text)
{
        _cleanup_(sb_release) sbuf b = {0};
        _cleanup_free_ char *v = NULL;

        for (const char *p = text; *p; p++) {
                char c = *p;

                if (((unsigned char)c < ' ' && c != '\t') || c == 0x7f)
                        continue;
                if (ini_ws(c)) {
                        if (b.n > 0 && b.s[b.n - 1] != ' ')
                                sb_putc(&b, ' ');
                        continue;
                }
                if (c == ';' && b.n > 0 && b.s[b.n - 1] == ' ')
                        b.s[--b.n] = '\0';
                if (c == ';' && b.n == 0)
                        continue;
                sb_putc(&b, c);
        }
        while (b.n > 0 && b.s[b.n - 1] == ' ')
                b.s[--b.n] = '\0';
        v = sb_take(&b);
        if (!v || !v[0])
                return;
        /* A text without spaces to cut at stays a comment. */
        if (value_layout("description", v, NULL, NULL) == 0) {
                value_layout("description", v, out, NULL);
        } else {
                fputs("; description: ", out);
                put_comment_text(out, v);
                fputc('\n', out);
        }
}

/* A comment that is cron's column legend, not a description. */
static bool is_legend(const char *s)
{
        static const char *const words[] = {"m", "h", "dom", "mon", "dow"};
        const char *p = s;

        for (size_t i = 0; i < CW_ARRAY_SIZE(words); i++) {
                size_t n = strlen(words[i]);

                while (blank(*p))
                        p++;
                if (strncmp(p, words[i], n) != 0 || (p[n] && !blank(p[n])))
                        return false;
                p += n;
        }
        return true;
}

/* A comment that is a commented-out entry or assignment, not prose:
 * "#0 5 * * * backup", "#@daily backup", "#PATH=/bin". */
static bool looks_like_entry(const char *s)
{
        _cleanup_(sb_release) sbuf b = {0};
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        _cleanup_free_ char *spec = NULL;
        char *k = NULL, *v = NULL;
        const char *p = s;
        cw_error err;
        bool env;

        if (*s == '@')
                return true;
        env = parse_env_line(s, &k, &v) && k && !strchr(k, ' ');
        free(k);
        free(v);
        if (env)
                return true;
        for (int f = 0; f < 5; f++) {
                const char *e;

                while (blank(*p))
                        p++;
                for (e = p; *e && !blank(*e); e++)
                        ;
                if (e == p)
                        return false;
                if (f > 0)
                        sb_putc(&b, ' ');
                sb_putn(&b, p, (size_t)(e - p));
                p = e;
        }
        spec = sb_take(&b);
        return spec && cw_timespec_parse(spec, NULL, &ts, &err) == 0;
}

static int make_name(importer *im, const char *cmd, char *name, size_t size)
{
        char base[CW_JOBSPEC_NAME_MAX + 1];

        derive_name(cmd, im->prefix, base, sizeof(base));
        snprintf(name, size, "%s", base);
        for (unsigned k = 2;
             k < 1000000 && (cw_strv_find(&im->names, name) >= 0 || !cw_jobspec_name_valid(name));
             k++)
                snprintf(name, size, "%s-%u", base, k);
        return cw_strv_push(&im->names, name);
}

static int on_entry(importer *im, int line, const char *raw, const char *s)
{
        static const char *const macros[] = {"@reboot", "@yearly", "@annually", "@monthly",
                                             "@weekly", "@daily",  "@midnight", "@hourly"};
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        _cleanup_free_ char *spec = NULL, *user = NULL, *cmd = NULL, *final = NULL;
        char name[CW_JOBSPEC_NAME_MAX + 16];
        const char *p = s, *stdin_text = NULL, *why = NULL;
        sbuf sb = {0};
        size_t word = 0;
        bool shell;
        cw_error err;
        int r;

        if (*p == '@') {
                const char *e = p;

                while (*e && !blank(*e))
                        e++;
                spec = strndup(p, (size_t)(e - p));
                if (!spec)
                        return -ENOMEM;
                if (!word_in(spec, macros, CW_ARRAY_SIZE(macros))) {
                        warn(im, line, true,
                             "unknown macro '%s' (expected @reboot, @yearly, @annually, "
                             "@monthly, @weekly, @daily, @midnight or @hourly)",
                             spec);
                        return 0;
                }
                p = e;
        } else {
                for (int f = 0; f < 5; f++) {
                        const char *e;

                        while (blank(*p))
                                p++;
                        if (!*p) {
                                warn(im, line, true,
                                     "expected 5 time fields and a command, got %d field%s", f,
                                     f == 1 ? "" : "s");
                                sb_release(&sb);
                                return 0;
                        }
                        for (e = p; *e && !blank(*e); e++)
                                ;
                        if (f > 0)
                                sb_putc(&sb, ' ');
                        sb_putn(&sb, p, (size_t)(e - p));
                        p = e;
                }
                spec = sb_take(&sb);
                if (!spec)
                        return -ENOMEM;
        }
        while (blank(*p))
                p++;
        if (im->system && *p) {
                const char *e = p;

                while (*e && !blank(*e))
                        e++;
                user = strndup(p, (size_t)(e - p));
                if (!user)
                        return -ENOMEM;
                p = e;
                while (blank(*p))
                        p++;
        }
        if (!*p) {
                warn(im, line, true, "missing command after the schedule '%s'%s", spec,
                     im->system ? " and the user" : "");
                return 0;
        }
        if (user) {
                bool ok = is_alpha(user[0]) || user[0] == '_';

                for (const char *u = user; *u && ok; u++)
                        ok = is_alpha(*u) || is_digit(*u) || *u == '_' || *u == '.' || *u == '-';
                if (!ok || strlen(user) > 32) {
                        warn(im, line, true,
                             "--system: expected a user name in the 6th field, got '%s'", user);
                        return 0;
                }
        }

        r = cw_timespec_parse(spec, NULL, &ts, &err);
        if (r == -ENOMEM)
                return r;
        if (r == 0) {
                r = cw_timespec_check_fires(ts, im->utc, im->cli->now, &err);
                if (r == -ENOMEM)
                        return r;
        }
        if (r < 0) {
                warn(im, line, true, "bad schedule '%s': %s", spec, err.msg);
                return 0;
        }

        cmd = split_percent(p, &stdin_text);
        if (!cmd)
                return -ENOMEM;
        if (!cmd[0]) {
                warn(im, line, true,
                     "the command is empty before its first '%%' (cron's "
                     "standard input)");
                return 0;
        }
        if (has_control(cmd)) {
                warn(im, line, true, "the command contains control characters");
                return 0;
        }
        shell = im->shell_all || needs_shell(cmd);
        for (size_t i = 1; cmd[i] && !shell; i++)
                if (cmd[i] == ';' && ini_ws(cmd[i - 1]))
                        shell = true; /* a quoted " ;": sh reads the same words */
        if (!shell) {
                _cleanup_(cw_strv_release) cw_strv words = {0};

                /* needs_shell() errs towards a shell; this is the check the
                 * config loader makes, so a disagreement cannot reach the
                 * output. */
                r = cw_argv_split(cmd, CW_ARGV_REJECT_SHELL_OPS, &words, &err);
                if (r == -ENOMEM)
                        return r;
                shell = r < 0 || words.n == 0;
        }
        if (shell) {
                r = shell_rewrite(cmd, &final, &why);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        warn(im, line, true, "cannot convert the command: %s", why);
                        return 0;
                }
        } else {
                final = CW_TAKE_PTR(cmd);
        }
        if (final[0] == ';') {
                warn(im, line, true, "the command starts with ';'");
                return 0;
        }
        if (value_layout("command", final, NULL, &word) < 0) {
                warn(im, line, true,
                     "the command has %zu bytes without a space to cut at: too long for a "
                     "config line (at most %d bytes here), even continued",
                     word, IMP_OUT_MAX);
                return 0;
        }

        if (!im->seen_entry) {
                im->seen_entry = true;
                for (size_t i = 0; i < im->env.n; i++)
                        if (cw_strv_push(&im->def_env, im->env.v[i]) < 0)
                                return -ENOMEM;
                if (set_string(&im->def_tz, im->tz) < 0)
                        return -ENOMEM;
        }
        r = make_name(im, final, name, sizeof(name));
        if (r < 0)
                return r;

        fputs("; ", im->body);
        fprintf(im->body, "%s:%d: ", im->file, line);
        put_comment_text(im->body, raw);
        fputc('\n', im->body);
        if (stdin_text) {
                fputs("; NOTE: cron fed the text after '%' to this command's standard input "
                      "('%' = newline);\n"
                      ";       cronwarden gives jobs no stdin: REVIEW this job. The input was: ",
                      im->body);
                put_comment_text(im->body, stdin_text);
                fputc('\n', im->body);
                warn(im, line, false,
                     "'%%' gives the command standard input, which cronwarden jobs do not "
                     "have: job %s kept without it, review it",
                     name);
        }
        fprintf(im->body, "[job %s]\n", name);
        if (im->pending) {
                put_description(im->body, im->pending);
                free(im->pending);
                im->pending = NULL;
        }
        value_layout("command", final, im->body, NULL);
        if (shell)
                fputs("shell = yes\n", im->body);
        fprintf(im->body, "schedule = %s\n", spec);
        if (user)
                fprintf(im->body, "run_as = %s\n", user);
        if (im->tz && (!im->def_tz || strcmp(im->tz, im->def_tz) != 0))
                fprintf(im->body, "timezone = %s\n", im->tz);
        for (size_t i = 0; i < im->env.n; i++) {
                const char *eq = strchr(im->env.v[i], '=');
                _cleanup_free_ char *key = strndup(im->env.v[i], (size_t)(eq - im->env.v[i]));
                const char *dv;

                if (!key)
                        return -ENOMEM;
                dv = env_get(&im->def_env, key);
                if (!dv || strcmp(dv, eq + 1) != 0)
                        fprintf(im->body, "env = %s\n", im->env.v[i]);
        }
        fputc('\n', im->body);
        im->n_jobs++;
        return 0;
}

static int on_line(importer *im, int line, const char *raw)
{
        const char *s = raw;
        char *key = NULL, *value = NULL;
        int r;

        while (blank(*s))
                s++;
        if (!*s) {
                free(im->pending);
                im->pending = NULL;
                return 0;
        }
        if (*s == '#') {
                free(im->pending);
                im->pending = NULL;
                for (s++; blank(*s) || *s == '#'; s++)
                        ;
                if (*s && !is_legend(s) && !looks_like_entry(s) && !(im->pending = strdup(s)))
                        return -ENOMEM;
                return 0;
        }
        if (parse_env_line(s, &key, &value)) {
                free(im->pending);
                im->pending = NULL;
                if (!key)
                        return -ENOMEM;
                r = on_env(im, line, key, value);
                free(key);
                free(value);
                return r;
        }
        r = on_entry(im, line, raw, s);
        free(im->pending);
        im->pending = NULL;
        return r;
}

/* Reads one line into b (without its newline; a trailing CR dropped).
 * Returns 1, 0 at end of file, or -E2BIG for a line longer than
 * IMP_LINE_MAX (consumed and dropped) or one with a NUL byte. */
static int read_line(FILE *f, sbuf *b)
{
        bool any = false, toolong = false, nul = false;
        int c;

        b->n = 0;
        if (b->s)
                b->s[0] = '\0';
        while ((c = getc(f)) != EOF) {
                any = true;
                if (c == '\n')
                        break;
                if (c == '\0')
                        nul = true;
                else if (b->n < IMP_LINE_MAX)
                        sb_putc(b, (char)c);
                else
                        toolong = true;
        }
        if (!any)
                return 0;
        if (b->n > 0 && b->s[b->n - 1] == '\r')
                b->s[--b->n] = '\0';
        if (!b->s)
                sb_puts(b, "");
        return toolong || nul ? -E2BIG : 1;
}

static int convert(importer *im, FILE *in)
{
        _cleanup_(sb_release) sbuf b = {0};
        int line = 0, r;

        for (;;) {
                r = read_line(in, &b);
                if (b.enomem)
                        return -ENOMEM;
                if (r == 0)
                        break;
                line++;
                if (r < 0) {
                        warn(im, line, true, "line longer than %d bytes or with a NUL byte",
                             IMP_LINE_MAX);
                        continue;
                }
                /* A byte-order mark is not part of the first line. */
                r = on_line(im, line,
                            line == 1 && strncmp(b.s, "\xef\xbb\xbf", 3) == 0 ? b.s + 3 : b.s);
                if (r < 0)
                        return r;
        }
        return ferror(in) ? -EIO : 0;
}

static void print_output(importer *im, FILE *out, const char *body, size_t body_len)
{
        const cw_strv *env = im->seen_entry ? &im->def_env : &im->env;
        const char *tz = im->seen_entry ? im->def_tz : im->tz;

        fputs("; Converted from the crontab ", out);
        put_comment_text(out, im->file);
        fputs(" by 'cronwarden import-crontab'.\n"
              "; Check it with 'cronwarden --config FILE check' and read the NOTE comments.\n"
              "[cronwarden]\n\n",
              out);
        if (env->n > 0 || tz || im->def_comments.n > 0) {
                fputs("[defaults]\n", out);
                for (size_t i = 0; i < im->def_comments.n; i++) {
                        fputs("; ", out);
                        put_comment_text(out, im->def_comments.v[i]);
                        fputc('\n', out);
                }
                if (tz)
                        fprintf(out, "timezone = %s\n", tz);
                for (size_t i = 0; i < env->n; i++)
                        fprintf(out, "env = %s\n", env->v[i]);
                fputc('\n', out);
        }
        fwrite(body, 1, body_len, out);
}

static int cmd_import_crontab(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"prefix", required_argument, NULL, IMP_OPT_PREFIX},
                {"shell", no_argument, NULL, IMP_OPT_SHELL},
                {"system", no_argument, NULL, IMP_OPT_SYSTEM},
                {0},
        };
        _cleanup_(importer_release) importer im = {.cli = cli, .prefix = ""};
        _cleanup_free_ char *body = NULL;
        size_t body_len = 0;
        bool help = false;
        const char *path;
        FILE *in;
        int o, r;

        optind = 0;
        opterr = 0;
        while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (cli_common_option(cli, o, optarg, &help))
                        continue;
                switch (o) {
                case IMP_OPT_PREFIX:
                        im.prefix = optarg;
                        break;
                case IMP_OPT_SHELL:
                        im.shell_all = true;
                        break;
                case IMP_OPT_SYSTEM:
                        im.system = true;
                        break;
                default:
                        return cli_usage_error(cli, &cw_cmd_import_crontab,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (help) {
                fputs(import_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind >= argc)
                return cli_usage_error(cli, &cw_cmd_import_crontab,
                                       "missing FILE (a crontab, or - for standard input)");
        if (optind + 1 < argc)
                return cli_usage_error(cli, &cw_cmd_import_crontab, "unexpected argument '%s'",
                                       argv[optind + 1]);
        if (im.prefix[0]) {
                char probe[IMP_PREFIX_MAX + 2];

                snprintf(probe, sizeof(probe), "%sx", im.prefix);
                if (strlen(im.prefix) > IMP_PREFIX_MAX || !cw_jobspec_name_valid(probe) ||
                    strchr(im.prefix, '.'))
                        return cli_usage_error(
                                cli, &cw_cmd_import_crontab,
                                "--prefix: expected letters, digits, '_' and '-', starting with a "
                                "letter or '_' (at most %d bytes), got '%s'",
                                IMP_PREFIX_MAX, im.prefix);
        }
        path = argv[optind];
        im.utc = cw_tz_utc();
        if (!im.utc)
                return cli_fail(cli, "out of memory");
        if (strcmp(path, "-") == 0) {
                in = stdin;
                im.file = "<stdin>";
        } else {
                in = fopen(path, "re");
                if (!in)
                        return cli_fail(cli, "cannot read '%s': %s", path, strerror(errno));
                im.file = path;
        }
        im.body = open_memstream(&body, &body_len);
        if (!im.body) {
                if (in != stdin)
                        fclose(in);
                return cli_fail(cli, "out of memory");
        }
        r = convert(&im, in);
        if (in != stdin)
                fclose(in);
        if (fclose(im.body) != 0 && r == 0)
                r = -ENOMEM;
        im.body = NULL;
        if (r == -EIO)
                return cli_fail(cli, "cannot read '%s': read error", path);
        if (r < 0)
                return cli_fail(cli, "%s", strerror(-r));
        print_output(&im, cli->out, body, body_len);
        if (fflush(cli->out) != 0 || ferror(cli->out))
                return cli_fail(cli, "cannot write the output: %s", strerror(errno));
        fprintf(cli->err, "%s: %s: %zu job%s converted", cli->prog, im.file, im.n_jobs,
                im.n_jobs == 1 ? "" : "s");
        if (im.n_skipped)
                fprintf(cli->err, ", %zu line%s skipped", im.n_skipped,
                        im.n_skipped == 1 ? "" : "s");
        if (im.n_notes)
                fprintf(cli->err, ", %zu note%s", im.n_notes, im.n_notes == 1 ? "" : "s");
        fputc('\n', cli->err);
        return im.n_skipped ? 1 : CW_EXIT_OK;
}

const cw_command cw_cmd_import_crontab = {
        .name = "import-crontab",
        .run = cmd_import_crontab,
        .summary = "convert a crontab into config sections",
        .usage = import_usage,
};
