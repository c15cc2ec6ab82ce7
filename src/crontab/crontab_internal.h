/* crontab_internal.h - what the converter's files share (src/crontab/):
 * character classes as libinih and cron see them, the command rewriting
 * of shell.c and the job naming of name.c. Not part of the module's
 * contract (crontab.h); the unit tests include it to test each rule on
 * its own. */
#ifndef CW_CRONTAB_INTERNAL_H
#define CW_CRONTAB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* White space as libinih sees it (its inline comments start after any). */
static inline bool ct_ini_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Blanks between crontab fields. */
static inline bool ct_blank(char c)
{
        return c == ' ' || c == '\t';
}

static inline bool ct_alpha(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool ct_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Where a shell-ish scan is: outside quotes, or inside which. */
typedef enum ct_quote {
        Q_NONE,
        Q_SINGLE,
        Q_DOUBLE,
} ct_quote;

/* Whether s has a control byte other than a tab. */
bool cw_crontab_has_control(const char *s);

/* True when cron's /bin/sh could read cmd differently from cronwarden's
 * argv splitter (config/argv.h): operators, expansions, globs, comments,
 * assignments, built-ins. Errs towards yes. */
bool cw_crontab_needs_shell(const char *cmd);

/* Rewrites a command for `shell = yes` so that no ';' follows white space
 * (the config file would read " ;" as a comment) and drops a trailing
 * ';'. Returns 0 with a new string in *ret; -EINVAL with *ret_why (a
 * static string) when the quoting cannot be followed; -ENOMEM. */
int cw_crontab_shell_rewrite(const char *cmd, char **ret, const char **ret_why);

/* cron's % handling: \% is a literal %, the first unescaped % ends the
 * command and starts its standard input. Returns the command (a new
 * string, trailing white space dropped; NULL when out of memory) and
 * points *ret_stdin into cmd after the %, or at NULL. */
char *cw_crontab_split_percent(const char *cmd, const char **ret_stdin);

/* The last path component of path ("a/b" -> "b"; "a/" -> "a/"). */
const char *cw_crontab_base_name(const char *path);

/* Writes into buf (size bytes) a job name for cmd: the base name of the
 * program it runs (past cd/sleep set-ups, wrappers like nice or flock,
 * interpreters, manage.py) without its extension, other bytes than
 * [A-Za-z0-9_-] made '_', after prefix, starting with a letter or '_';
 * "job" when there is no program. */
void cw_crontab_derive_name(const char *cmd, const char *prefix, char *buf, size_t size);

/* Whether the len bytes at s are a plausible user name: letters, digits,
 * '_', '.' and '-', starting with a letter or '_', at most 32 bytes. */
bool cw_crontab_user_name_valid(const char *s, size_t len);

/* Whether rest (an entry's text after its schedule) starts with a system
 * crontab's user column: a user name (user_known, or NULL for
 * cw_crontab_user_known) followed by a command (not an option), and no
 * program: not found in the usual directories or in path_env (the
 * crontab's PATH, may be NULL), nor one Debian names a user after.
 * The word is copied to ret_word (size bytes) when true. */
bool cw_crontab_user_column(const char *rest, const char *path_env,
                            bool (*user_known)(const char *, void *), void *userdata,
                            char *ret_word, size_t size);

#endif
