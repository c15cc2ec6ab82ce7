/* user.c - the user column of system crontabs (/etc/crontab,
 * files in /etc/cron.d): `MIN HOUR DOM MON DOW USER COMMAND`.
 *
 * Read as a user's crontab, such a line would run the command `USER
 * COMMAND` (`root test -e ...`) as a job named after the user: a silent
 * and wrong conversion. So the converter looks at the word after the
 * schedule: a user name (cw_crontab_user_known) followed by a command,
 * that is no program either, is taken as the sign of a system crontab.
 * Debian has users named after programs (sync, mail, man, lp): a word
 * found as a program here or in the crontab's PATH, one of those names
 * (the file may come from a machine that has the program), or one
 * followed by an option ("mail -s ...": a command never starts with '-')
 * is a command. */
#include "crontab/crontab_internal.h"

#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crontab/crontab.h"

/* Where a word after the schedule would be found as a program: cron's
 * default PATH, cronwarden's, and the system directories. */
#define PROGRAM_DIRS "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

bool cw_crontab_user_name_valid(const char *s, size_t len)
{
        if (len == 0 || len > 32 || !(ct_alpha(s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!ct_alpha(s[i]) && !ct_digit(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
                        return false;
        return true;
}

bool cw_crontab_user_known(const char *name, void *userdata)
{
        /* Users system crontabs name on most servers, known even when this
         * machine lacks them (a file copied from another server). */
        static const char *const usual[] = {"root",  "www-data", "nobody", "postgres",
                                            "mysql", "nginx",    "apache", "redis"};
        struct passwd pw, *found = NULL;
        char scratch[4096];

        (void)userdata;
        for (size_t i = 0; i < CW_ARRAY_SIZE(usual); i++)
                if (strcmp(name, usual[i]) == 0)
                        return true;
        /* ERANGE (an entry larger than scratch) counts as unknown. */
        return getpwnam_r(name, &pw, scratch, sizeof(scratch), &found) == 0 && found;
}

/* Programs that are also users' names on Debian. */
static bool program_name(const char *word)
{
        static const char *const names[] = {"sync", "mail", "man", "lp", "uucp", "news"};

        for (size_t i = 0; i < CW_ARRAY_SIZE(names); i++)
                if (strcmp(word, names[i]) == 0)
                        return true;
        return false;
}

/* Whether word names an executable file in one of the ':'-separated dirs. */
static bool program_in(const char *word, const char *dirs)
{
        char path[4096];

        for (const char *d = dirs; d && *d;) {
                const char *end = strchr(d, ':');
                size_t n = end ? (size_t)(end - d) : strlen(d);

                if (n > 0 &&
                    (size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)n, d, word) <
                            sizeof(path) &&
                    access(path, X_OK) == 0)
                        return true;
                d = end ? end + 1 : NULL;
        }
        return false;
}

bool cw_crontab_user_column(const char *rest, const char *path_env,
                            bool (*user_known)(const char *, void *), void *userdata,
                            char *ret_word, size_t size)
{
        size_t n = 0;
        const char *after;

        while (rest[n] && !ct_blank(rest[n]))
                n++;
        for (after = rest + n; ct_blank(*after); after++)
                ;
        if (!*after || *after == '-' || n >= size || !cw_crontab_user_name_valid(rest, n))
                return false;
        memcpy(ret_word, rest, n);
        ret_word[n] = '\0';
        if (program_name(ret_word) ||
            !(user_known ? user_known : cw_crontab_user_known)(ret_word, userdata))
                return false;
        return !program_in(ret_word, PROGRAM_DIRS) && !program_in(ret_word, path_env);
}
