/* shell.c - a crontab command as cronwarden will run it (crontab.h,
 * crontab_internal.h).
 *
 * cron hands every command to /bin/sh. A command with no shell syntax is
 * split the same by cronwarden's argv splitter (config/argv.h) and is
 * written as is; anything else gets shell = yes and is rewritten for the
 * config file, where " ;" (white space, then ';') starts an inline
 * comment: the white space before an unquoted ';' means nothing to sh and
 * is dropped, and a quoted ';' is written \; between closed quotes
 * ("a ;b" -> "a "\;"b"). Quotes are followed into $( ... ), even inside
 * double quotes; where they cannot be followed safely (`...` inside double
 * quotes, inside ${...}) a command that needs this is refused instead. A
 * trailing ';' is dropped.
 *
 * cron turns \% into % and an unescaped % into the start of the command's
 * standard input; cw_crontab_split_percent() does the first and cuts the
 * second off for the converter to report. */
#include "crontab/crontab_internal.h"

#include <errno.h>
#include <string.h>

#include "base/buf.h"

/* Nesting of $( ... ) followed when rewriting a command. */
#define SHELL_DEPTH_MAX 16

bool cw_crontab_has_control(const char *s)
{
        for (; *s; s++)
                if (((unsigned char)*s < ' ' && *s != '\t') || *s == 0x7f)
                        return true;
        return false;
}

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

/* Errs towards yes: a shell gives cron's meaning either way. */
bool cw_crontab_needs_shell(const char *cmd)
{
        ct_quote q = Q_NONE;
        bool word_start = true, first_word = true;
        size_t fw = 0;

        while (cmd[fw] && !ct_ini_ws(cmd[fw]))
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
                if (ct_ini_ws(c)) {
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

/* True when the byte at b->p[i] is escaped by an odd run of backslashes. */
static bool escaped_at(const cw_buf *b, size_t i)
{
        size_t k = 0;

        while (k < i && b->p[i - 1 - k] == '\\')
                k++;
        return k % 2 == 1;
}

/* See the top of the file. A command ending in a compound command (')',
 * '}', fi, done, esac) is kept as it is: the " #" once put after it only
 * stopped the "$@" the worker used to append to every shell command from
 * breaking it. The worker appends "$@" only when a run has params
 * (src/worker/env.c), and an imported job declares none (no args or
 * options), so a run with params is refused before any shell sees it. */
int cw_crontab_shell_rewrite(const char *cmd, char **ret, const char **ret_why)
{
        /* Bounded by the crontab line it comes from (CW_CRONTAB_LINE_MAX). */
        _cleanup_(cw_buf_release) cw_buf b = CW_BUF_INIT(0);
        /* One frame per open $( ... ), whose inside is quoted afresh. */
        struct {
                ct_quote q;
                bool subst;      /* a $( frame; frame 0 is the command */
                unsigned parens; /* open plain '(' in this frame */
        } st[SHELL_DEPTH_MAX] = {{Q_NONE, false, 0}};
        size_t top = 0, len;
        bool word_start = true, comment = false, unsure = false;
        int braces = 0; /* open ${ ... } */

        for (const char *p = cmd; *p; p++) {
                char c = *p;

                if (c == ';' && ct_ini_ws(cw_buf_last(&b))) {
                        if (unsure || braces > 0) {
                                *ret_why = "it has ' ;' where its quoting cannot be followed "
                                           "(inside ${...}, after `...` in double quotes, or "
                                           "too deeply nested), and the config file would "
                                           "read ' ;' as a comment";
                                return -EINVAL;
                        }
                        if (st[top].q == Q_SINGLE && !comment) {
                                cw_buf_puts(&b, "'\\;'");
                                continue;
                        }
                        if (st[top].q == Q_DOUBLE && !comment) {
                                cw_buf_puts(&b, "\"\\;\"");
                                continue;
                        }
                        /* Unquoted (or in a comment): the blanks mean nothing,
                         * except an escaped one, which is data: quote it. */
                        while (ct_ini_ws(cw_buf_last(&b))) {
                                if (!comment && escaped_at(&b, b.len - 1)) {
                                        char ws = cw_buf_last(&b);

                                        cw_buf_truncate(&b, b.len - 2);
                                        cw_buf_putc(&b, '"');
                                        cw_buf_putc(&b, ws);
                                        cw_buf_putc(&b, '"');
                                        break;
                                }
                                cw_buf_truncate(&b, b.len - 1);
                        }
                }
                cw_buf_putc(&b, c);
                if (comment)
                        continue;
                if (st[top].q == Q_SINGLE) {
                        if (c == '\'')
                                st[top].q = Q_NONE;
                        continue;
                }
                if (c == '$' && p[1] == '(') {
                        cw_buf_putc(&b, *++p);
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
                        cw_buf_putc(&b, *++p);
                        braces++;
                        word_start = false;
                        continue;
                }
                if (c == '}' && braces > 0)
                        braces--;
                if (st[top].q == Q_DOUBLE) {
                        if (c == '\\' && p[1])
                                cw_buf_putc(&b, *++p);
                        else if (c == '"')
                                st[top].q = Q_NONE;
                        else if (c == '`')
                                unsure = true;
                        continue;
                }
                if (ct_ini_ws(c)) {
                        word_start = true;
                        continue;
                }
                if (c == '#' && word_start) {
                        comment = true;
                        continue;
                }
                word_start = strchr(";&|()<>", c) != NULL;
                if (c == '\\' && p[1]) {
                        cw_buf_putc(&b, *++p);
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
        if (cw_buf_error(&b) < 0)
                return cw_buf_error(&b);
        if (top > 0 || st[0].q != Q_NONE) {
                *ret_why = top > 0 ? "it has an unterminated $(" : "it has an unterminated quote";
                return -EINVAL;
        }
        if (!comment && b.len > 0) {
                /* A last lone backslash is a literal one to sh; before the
                 * appended "$@" it would escape the space. */
                if (escaped_at(&b, b.len))
                        cw_buf_putc(&b, '\\');
                len = b.len;
                if (b.p[len - 1] == ';' && !escaped_at(&b, len - 1) &&
                    (len < 2 || b.p[len - 2] != ';' || escaped_at(&b, len - 2))) {
                        len--;
                        while (len > 0 && ct_ini_ws(b.p[len - 1]))
                                len--;
                        cw_buf_truncate(&b, len);
                }
        }
        if (cw_buf_error(&b) < 0)
                return cw_buf_error(&b);
        if (b.len == 0) {
                *ret_why = "its command is empty";
                return -EINVAL;
        }
        *ret = cw_buf_steal(&b, NULL);
        return *ret ? 0 : -ENOMEM;
}

char *cw_crontab_split_percent(const char *cmd, const char **ret_stdin)
{
        /* Bounded by the crontab line it comes from. */
        _cleanup_(cw_buf_release) cw_buf b = CW_BUF_INIT(0);
        const char *p;

        *ret_stdin = NULL;
        for (p = cmd; *p; p++) {
                if (p[0] == '\\' && p[1] == '%') {
                        cw_buf_putc(&b, '%');
                        p++;
                } else if (p[0] == '%') {
                        *ret_stdin = p + 1;
                        break;
                } else {
                        cw_buf_putc(&b, *p);
                }
        }
        while (ct_ini_ws(cw_buf_last(&b)))
                cw_buf_truncate(&b, b.len - 1);
        return cw_buf_error(&b) < 0 ? NULL : cw_buf_steal(&b, NULL);
}