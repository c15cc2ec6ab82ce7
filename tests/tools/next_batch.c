/* next_batch.c - batch next-fire oracle for the differential tests.
 *
 * Reads lines `EXPR<TAB>FROM<TAB>COUNT[<TAB>ZONE]` on stdin (FROM in epoch
 * seconds, ZONE a tz database name, UTC when absent) and writes one line per
 * input line: the COUNT next fire instants of EXPR, each strictly after the
 * previous one (the first strictly after FROM), as epoch seconds separated
 * by single spaces. The spec is parsed with cw_timespec_parse (empty seed)
 * and advanced with cw_timespec_next, so this is exactly the library's
 * answer. When the schedule runs out early the numbers found are followed by
 * `END`; a spec that does not parse gives `ERR <message>`; a malformed input
 * line or an unknown zone gives `ERR <what>`.
 *
 * One process serves a whole test run (tens of thousands of lines), so zones
 * are loaded once per name and output is fully buffered. With -l the output
 * is flushed after every line, for callers that talk to it line by line. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "timespec/timespec.h"
#include "tz/tz.h"

#define NEXT_BATCH_MAX_COUNT 1000000

/* Loaded zones, looked up by name; a handful of names per run, so a list. */
typedef struct zone_cache {
        char **names;
        cw_tz **zones;
        size_t n;
        size_t cap;
} zone_cache;

static void zone_cache_release(zone_cache *c)
{
        for (size_t i = 0; i < c->n; i++) {
                free(c->names[i]);
                cw_tz_free(c->zones[i]);
        }
        free(c->names);
        free(c->zones);
        *c = (zone_cache){0};
}

/* Returns the zone called name, loading it on first use; NULL with err
 * filled when it cannot be loaded. The cache owns the result. */
static const cw_tz *zone_cache_get(zone_cache *c, const char *name, cw_error *err)
{
        cw_tz *tz = NULL;
        char *copy;
        int r;

        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->names[i], name) == 0)
                        return c->zones[i];

        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 8;
                char **names = realloc(c->names, cap * sizeof(*names));
                if (!names)
                        goto nomem;
                c->names = names;
                cw_tz **zones = realloc(c->zones, cap * sizeof(*zones));
                if (!zones)
                        goto nomem;
                c->zones = zones;
                c->cap = cap;
        }

        if (strcmp(name, "UTC") == 0) {
                tz = cw_tz_utc();
                if (!tz)
                        goto nomem;
        } else {
                r = cw_tz_load(name, NULL, &tz, err);
                if (r == -ENOENT) {
                        cw_error_set(err, -1, 0, "unknown zone '%s'", name);
                        return NULL;
                }
                if (r < 0) {
                        if (err->msg[0] == '\0')
                                cw_error_set(err, -1, 0, "cannot load zone '%s': %s", name,
                                             strerror(-r));
                        return NULL;
                }
        }

        copy = strdup(name);
        if (!copy) {
                cw_tz_free(tz);
                goto nomem;
        }
        c->names[c->n] = copy;
        c->zones[c->n] = tz;
        c->n++;
        return tz;

nomem:
        cw_error_set(err, -1, 0, "out of memory");
        return NULL;
}

/* Splits line in place at tabs into at most max fields; returns how many. */
static size_t split_tabs(char *line, char **fields, size_t max)
{
        size_t n = 0;
        char *p = line;

        while (n < max) {
                fields[n++] = p;
                p = strchr(p, '\t');
                if (!p)
                        break;
                *p++ = '\0';
        }
        return p ? max + 1 : n;
}

static int parse_int64(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        if (*s == '\0')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Prints the message on one line whatever it contains. */
static void print_err(const char *what, const char *msg)
{
        fputs("ERR ", stdout);
        if (what)
                fputs(what, stdout);
        for (const char *p = msg; *p; p++)
                putchar(*p == '\n' || *p == '\r' ? ' ' : *p);
        putchar('\n');
}

/* Answers one input line (without its newline). */
static void answer(char *line, zone_cache *zones)
{
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        char *f[4] = {NULL};
        size_t nf = split_tabs(line, f, CW_ARRAY_SIZE(f));
        const cw_tz *tz;
        cw_error err;
        int64_t from, count;
        cw_time t;
        int r;

        cw_error_clear(&err);
        if (nf < 3 || nf > 4) {
                print_err(NULL, "malformed line: want EXPR<TAB>FROM<TAB>COUNT[<TAB>ZONE]");
                return;
        }
        if (parse_int64(f[1], &from) < 0) {
                print_err("bad FROM: ", f[1]);
                return;
        }
        if (parse_int64(f[2], &count) < 0 || count < 0 || count > NEXT_BATCH_MAX_COUNT) {
                print_err("bad COUNT: ", f[2]);
                return;
        }

        tz = zone_cache_get(zones, nf == 4 ? f[3] : "UTC", &err);
        if (!tz) {
                print_err(NULL, err.msg);
                return;
        }

        r = cw_timespec_parse(f[0], "", &ts, &err);
        if (r < 0) {
                print_err(NULL, r == -EINVAL && err.msg[0] ? err.msg : strerror(-r));
                return;
        }

        t = from;
        for (int64_t i = 0; i < count; i++) {
                r = cw_timespec_next(ts, tz, t, &t);
                if (r == -ENOENT) {
                        fputs(i > 0 ? " END" : "END", stdout);
                        break;
                }
                if (r < 0) {
                        printf("%sERR next: %s", i > 0 ? " " : "", strerror(-r));
                        break;
                }
                printf(i > 0 ? " %" PRId64 : "%" PRId64, t);
        }
        putchar('\n');
}

int main(int argc, char **argv)
{
        zone_cache zones = {0};
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        int flush_lines = argc > 1 && strcmp(argv[1], "-l") == 0;

        if (argc > 2 || (argc == 2 && !flush_lines)) {
                fprintf(stderr, "usage: %s [-l] < EXPR<TAB>FROM<TAB>COUNT[<TAB>ZONE] lines\n",
                        argv[0]);
                return 2;
        }

        while ((len = getline(&line, &cap, stdin)) >= 0) {
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = '\0';
                answer(line, &zones);
                if (flush_lines)
                        fflush(stdout);
        }

        free(line);
        zone_cache_release(&zones);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("next_batch: write");
                return 1;
        }
        return 0;
}
