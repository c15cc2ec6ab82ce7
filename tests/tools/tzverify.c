/* tzverify.c - checks src/tz against glibc's localtime_r, zone by zone.
 *
 * glibc reads the same TZif files independently, so agreeing with it at
 * every transition and at random instants is strong evidence that the
 * table, the footer rule and the boundary between them are read right.
 *
 *   tzverify [-j N] ZONE...     verify each zone in a child process
 *   TZ=:ZONE tzverify ZONE      verify ZONE in this process
 *   tzverify --bench ZONE       time cw_tz_lookup and cw_tz_resolve
 *
 * glibc only evaluates the zone named by TZ, and this program never
 * changes its own TZ: in the first form it starts itself once per zone
 * (posix_spawn) with TZ=:ZONE in the child's environment. TZDIR, when
 * set, is honoured by both sides.
 *
 * Checked instants, for one zone: every period boundary of cw_tz_lookup
 * from the first transition up to 2100 (table and footer rule), ±1 s;
 * every change glibc shows when sampled daily from 1800 to 2100,
 * located to the second, ±1 s; and 500 random instants between 1900 and
 * 2100 (fixed seed). At each: offset, DST flag and abbreviation must
 * equal tm_gmtoff, tm_isdst and tm_zone, the period must contain the
 * instant, and cw_tz_resolve(t + offset) must return t among its answers
 * (and only instants that read the same). At each boundary where clocks
 * jump forward, resolving the first skipped reading must report the gap
 * ending at that boundary.
 *
 * One documented difference is excluded, and only where it applies:
 * before a zone's first transition RFC 8536 (and this module) use time
 * type 0, while glibc uses the first non-DST type. That is only visible
 * when type 0 is a DST type, which tzverify detects and reports. */
#include <errno.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tz/tz.h"

extern char **environ;

#define MAX_PRINTED 20
#define SCAN_STEP CW_SECS_PER_DAY
#define RANDOM_SAMPLES 500

typedef struct verifier {
        const char *zone;
        cw_tz *tz;
        int64_t first_transition; /* INT64_MAX when none */
        long checks, mismatches, skipped, excluded;
} verifier;

static int64_t secs_of_year(int64_t year)
{
        return cw_days_from_civil(year, 1, 1) * CW_SECS_PER_DAY;
}

static void format_time(int64_t t, char *buf, size_t size)
{
        cw_civil c;

        cw_secs_to_civil(t, &c);
        snprintf(buf, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ (%" PRId64 ")", c.year, c.mon,
                 c.day, c.hour, c.min, c.sec, t);
}

static void report(verifier *v, int64_t t, const char *fmt, ...) _printf_(3, 4);

static void report(verifier *v, int64_t t, const char *fmt, ...)
{
        char when[80], what[200];
        va_list ap;

        v->mismatches++;
        if (v->mismatches > MAX_PRINTED)
                return;
        format_time(t, when, sizeof(when));
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        /* One write per line, so parallel children never interleave. */
        printf("%s: at %s: %s\n", v->zone, when, what);
}

/* glibc's reading of t; false when it cannot represent the year. */
static bool glibc_at(int64_t t, struct tm *tm)
{
        time_t tt = (time_t)t;

        return localtime_r(&tt, tm) != NULL;
}

static void describe(char *buf, size_t size, int32_t off, int dst, const char *abbr)
{
        snprintf(buf, size, "utoff=%" PRId32 " isdst=%d abbr=%s", off, dst, abbr);
}

static void check_resolve(verifier *v, int64_t t, int32_t utoff)
{
        cw_time r[2];
        int n = cw_tz_resolve(v->tz, t + utoff, r);
        bool found = false;

        for (int i = 0; i < n; i++) {
                found |= r[i] == t;
                if (cw_tz_utoff(v->tz, r[i]) + r[i] != t + utoff)
                        report(v, t, "resolve returned %" PRId64 ", which reads differently", r[i]);
        }
        if (n == 2 && r[0] >= r[1])
                report(v, t, "resolve answers not ascending");
        if (!found)
                report(v, t, "resolve(t + utoff) misses t (returned %d answers)", n);
}

static void check_at(verifier *v, int64_t t)
{
        cw_tz_period p;
        struct tm tm;
        char ours[96], theirs[96];

        if (!glibc_at(t, &tm)) {
                v->skipped++;
                return;
        }
        v->checks++;
        cw_tz_lookup(v->tz, t, &p);
        if (!(p.start <= t && t < p.end))
                report(v, t, "period does not contain the instant");
        check_resolve(v, t, p.utoff);
        if (p.utoff == tm.tm_gmtoff && p.isdst == (tm.tm_isdst > 0) &&
            strcmp(p.abbr, tm.tm_zone) == 0)
                return;
        if (t < v->first_transition && p.isdst) {
                /* RFC 8536 type 0 vs glibc's first standard type. */
                v->excluded++;
                return;
        }
        describe(ours, sizeof(ours), p.utoff, p.isdst, p.abbr);
        describe(theirs, sizeof(theirs), (int32_t)tm.tm_gmtoff, tm.tm_isdst > 0, tm.tm_zone);
        report(v, t, "ours %s, glibc %s", ours, theirs);
}

static void check_gap(verifier *v, int64_t b, int32_t before, int32_t after)
{
        cw_time r[2];
        int n;

        if (after <= before)
                return;
        n = cw_tz_resolve(v->tz, b + before, r);
        if (n == 0 && r[0] != b)
                report(v, b, "gap reported ending elsewhere");
        /* A reading inside a gap can still be valid elsewhere when several
         * transitions crowd together; then it must at least read right. */
        for (int i = 0; i < n; i++)
                if (r[i] + cw_tz_utoff(v->tz, r[i]) != b + before)
                        report(v, b, "gap reading resolved wrongly");
}

/* Every boundary cw_tz_lookup reports, up to `until`. */
static void walk_periods(verifier *v, int64_t until)
{
        cw_tz_period p, q;

        cw_tz_lookup(v->tz, INT64_MIN, &p);
        v->first_transition = p.end;
        while (p.end != INT64_MAX && p.end <= until) {
                int64_t b = p.end;

                cw_tz_lookup(v->tz, b, &q);
                if (q.start != b)
                        report(v, b, "next period does not start at the boundary");
                check_at(v, b - 1);
                check_at(v, b);
                check_at(v, b + 1);
                check_gap(v, b, p.utoff, q.utoff);
                p = q;
        }
}

static bool same_tm(const struct tm *a, const struct tm *b)
{
        return a->tm_gmtoff == b->tm_gmtoff && a->tm_isdst == b->tm_isdst &&
               strcmp(a->tm_zone, b->tm_zone) == 0;
}

/* The first second in (lo, hi] where glibc no longer reads as at lo. */
static int64_t bisect_change(int64_t lo, int64_t hi, const struct tm *at_lo)
{
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                struct tm tm;

                if (glibc_at(mid, &tm) && same_tm(&tm, at_lo))
                        lo = mid;
                else
                        hi = mid;
        }
        return hi;
}

/* Changes as glibc sees them, independent of our table. */
static void scan_glibc(verifier *v, int64_t from, int64_t until)
{
        struct tm prev, cur;

        if (!glibc_at(from, &prev))
                return;
        for (int64_t t = from + SCAN_STEP; t <= until; t += SCAN_STEP) {
                if (!glibc_at(t, &cur))
                        return;
                if (!same_tm(&prev, &cur)) {
                        int64_t c = bisect_change(t - SCAN_STEP, t, &prev);

                        check_at(v, c - 1);
                        check_at(v, c);
                        check_at(v, c + 1);
                }
                prev = cur;
        }
}

static uint64_t splitmix64(uint64_t *state)
{
        uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static void check_random(verifier *v, int64_t from, int64_t until)
{
        uint64_t state = 20270328;

        for (int i = 0; i < RANDOM_SAMPLES; i++)
                check_at(v, from + (int64_t)(splitmix64(&state) % (uint64_t)(until - from)));
}

static int verify_zone(const char *zone)
{
        verifier v = {.zone = zone};
        cw_error err;
        int r;

        setvbuf(stdout, NULL, _IOLBF, 0);
        r = cw_tz_load(zone, getenv("TZDIR"), &v.tz, &err);
        if (r < 0) {
                printf("%s: cannot load: %s\n", zone, err.msg);
                return 1;
        }
        walk_periods(&v, secs_of_year(2101));
        scan_glibc(&v, secs_of_year(1800), secs_of_year(2101));
        check_random(&v, secs_of_year(1900), secs_of_year(2100));
        printf("%s: %ld checks, %ld mismatches, %ld skipped, %ld excluded\n", zone, v.checks,
               v.mismatches, v.skipped, v.excluded);
        cw_tz_free(v.tz);
        return v.mismatches ? 1 : 0;
}

/* environ with TZ replaced by TZ=:zone; the strings stay borrowed. */
static char **child_env(const char *zone, char *tzvar, size_t tzsize)
{
        size_t n = 0, m = 0;
        char **env;

        while (environ[n])
                n++;
        env = calloc(n + 2, sizeof(char *));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (strncmp(environ[i], "TZ=", 3) != 0)
                        env[m++] = environ[i];
        snprintf(tzvar, tzsize, "TZ=:%s", zone);
        env[m++] = tzvar;
        env[m] = NULL;
        return env;
}

static pid_t spawn_zone(const char *zone)
{
        char tzvar[512];
        char *argv[] = {"tzverify", (char *)zone, NULL};
        char **env = child_env(zone, tzvar, sizeof(tzvar));
        pid_t pid;
        int r;

        if (!env)
                return -1;
        fflush(stdout);
        r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, env);
        free(env);
        if (r != 0) {
                fprintf(stderr, "tzverify: cannot start a child for %s: %s\n", zone, strerror(r));
                return -1;
        }
        return pid;
}

/* Waits for one child; returns 1 when it failed, 0 when it passed. */
static int reap_one(pid_t *pids, char **zones, int nz)
{
        int status;
        pid_t pid;

        do
                pid = wait(&status);
        while (pid < 0 && errno == EINTR);
        if (pid < 0)
                return 1;
        for (int i = 0; i < nz; i++) {
                if (pids[i] != pid)
                        continue;
                pids[i] = 0;
                if (WIFSIGNALED(status)) {
                        printf("%s: child killed by signal %d\n", zones[i], WTERMSIG(status));
                        return 1;
                }
                return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
        }
        return 1;
}

static int verify_all(char **zones, int nz, int jobs)
{
        pid_t *pids = calloc((size_t)nz, sizeof(pid_t));
        int running = 0, failed = 0;

        if (!pids)
                return 2;
        for (int i = 0; i < nz; i++) {
                if (running == jobs) {
                        failed += reap_one(pids, zones, nz);
                        running--;
                }
                pids[i] = spawn_zone(zones[i]);
                if (pids[i] < 0) {
                        pids[i] = 0;
                        failed++;
                        continue;
                }
                running++;
        }
        while (running-- > 0)
                failed += reap_one(pids, zones, nz);
        free(pids);
        printf("tzverify: %d zones, %d failed\n", nz, failed);
        return failed ? 1 : 0;
}

static double now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Rough cost per call over instants spread across [from, until). */
static void bench_range(const cw_tz *tz, const char *what, int64_t from, int64_t until)
{
        enum { N = 2000000 };
        int64_t step = (until - from) / N, sink = 0;
        double t0, t1, t2;
        cw_time r[2];

        t0 = now_ns();
        for (int64_t i = 0; i < N; i++) {
                cw_tz_period p;

                cw_tz_lookup(tz, from + i * step, &p);
                sink += p.utoff;
        }
        t1 = now_ns();
        for (int64_t i = 0; i < N; i++)
                sink += cw_tz_resolve(tz, from + i * step, r);
        t2 = now_ns();
        printf("%-10s lookup %6.1f ns/op   resolve %6.1f ns/op   (%" PRId64 ")\n", what,
               (t1 - t0) / N, (t2 - t1) / N, sink & 1);
}

static int bench(const char *zone)
{
        cw_error err;
        cw_tz *tz;

        if (cw_tz_load(zone, getenv("TZDIR"), &tz, &err) < 0) {
                fprintf(stderr, "tzverify: %s\n", err.msg);
                return 1;
        }
        printf("%s:\n", zone);
        bench_range(tz, "1970-2030", secs_of_year(1970), secs_of_year(2030));
        bench_range(tz, "2040-2100", secs_of_year(2040), secs_of_year(2100));
        cw_tz_free(tz);
        return 0;
}

int main(int argc, char **argv)
{
        const char *tz = getenv("TZ");
        int jobs = (int)sysconf(_SC_NPROCESSORS_ONLN), first = 1;

        if (argc >= 3 && strcmp(argv[1], "--bench") == 0) {
                int r = 0;

                for (int i = 2; i < argc; i++)
                        r |= bench(argv[i]);
                return r;
        }
        if (argc >= 3 && strcmp(argv[1], "-j") == 0) {
                jobs = (int)strtol(argv[2], NULL, 10);
                first = 3;
        }
        if (argc - first < 1) {
                fprintf(stderr, "usage: tzverify [-j N] ZONE... | tzverify --bench ZONE...\n");
                return 2;
        }
        if (argc - first == 1 && tz && tz[0] == ':' && strcmp(tz + 1, argv[first]) == 0)
                return verify_zone(argv[first]);
        return verify_all(argv + first, argc - first, jobs < 1 ? 1 : jobs);
}
