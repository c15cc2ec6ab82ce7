/* check.c - `cronwarden store check` for the SQLite backend: what SQLite's
 * integrity check says of a store file, and a copy of what can still be
 * read (VACUUM INTO) when asked.
 *
 * It works on the file, not on a cw_store: a damaged file fails
 * cw_store_open (its schema cannot be read or migrated), and that is when
 * this is needed. Nothing here writes to the checked file; it is opened
 * without the create flag so a mistyped path is not made into a store. */
#include "store/sqlite/sqlite_internal.h"
#include "store/store_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Appends one finding to ret's list (bounded: after the last kept one,
 * only the count grows). */
static int add_problem(cw_store_check_result *ret, const char *text)
{
        size_t have = ret->problems ? strlen(ret->problems) : 0, n = strlen(text);
        char *p;

        ret->n_problems++;
        if (ret->n_problems > CW_STORE_CHECK_MAX_LINES)
                return 0;
        p = realloc(ret->problems, have + n + 2);
        if (!p)
                return -ENOMEM;
        memcpy(p + have, text, n);
        p[have + n] = '\n';
        p[have + n + 1] = '\0';
        ret->problems = p;
        return 0;
}

/* PRAGMA integrity_check: one row "ok", or one row per problem. A file
 * too damaged to run it at all gives that error as its one problem. */
static int integrity(sqlite3 *db, cw_store_check_result *ret)
{
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), r = 0;

        while (rc == SQLITE_OK || rc == SQLITE_ROW) {
                const char *t;

                rc = sqlite3_step(st);
                if (rc != SQLITE_ROW)
                        break;
                t = (const char *)sqlite3_column_text(st, 0);
                if (t && strcmp(t, "ok") == 0)
                        continue;
                r = add_problem(ret, t ? t : "(no text)");
                if (r < 0)
                        break;
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = add_problem(ret, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        ret->ok = r == 0 && ret->n_problems == 0;
        return r;
}

/* VACUUM INTO dest: a new file holding every row SQLite can still read.
 * dest must not exist (never overwrite what may be the only good copy). */
static int recover_into(sqlite3 *db, const char *dest, cw_store_check_result *ret, cw_error *err)
{
        sqlite3_stmt *st = NULL;
        struct stat sb;
        int rc;

        if (lstat(dest, &sb) == 0) {
                cw_error_set(err, -1, 0, "'%s' exists already: name a new file to recover into",
                             dest);
                return -EEXIST;
        }
        rc = sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
        }
        if (rc != SQLITE_DONE) {
                snprintf(ret->recover_error, sizeof(ret->recover_error), "%s", sqlite3_errmsg(db));
                sqlite3_finalize(st);
                (void)unlink(dest);
                return 0;
        }
        sqlite3_finalize(st);
        (void)chmod(dest, 0600);
        ret->recovered = true;
        return 0;
}

int cw_store_sqlite_check(const char *path, const char *recover_to, cw_store_check_result *ret,
                          cw_error *err)
{
        cw_store_check_result res = {0};
        sqlite3 *db = NULL;
        struct stat sb;
        int rc, r;

        if (stat(path, &sb) < 0) {
                r = -errno;
                cw_error_set(err, -1, 0, "cannot check store '%s': %s", path, strerror(-r));
                return r;
        }
        rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = sq_errno(db, rc);
                cw_error_set(err, -1, 0, "cannot open store '%s': %s", path,
                             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
                sqlite3_close(db);
                return r < 0 ? r : -EIO;
        }
        sqlite3_busy_timeout(db, CW_STORE_BUSY_MS);
        r = integrity(db, &res);
        if (r == 0 && recover_to)
                r = recover_into(db, recover_to, &res, err);
        sqlite3_close(db);
        if (r < 0) {
                free(res.problems);
                return r;
        }
        *ret = res;
        return 0;
}
