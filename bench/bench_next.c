/* bench_next.c - next-fire throughput of the time-spec engine.
 *
 * For each line `EXPR<TAB>ZONE` of the expressions file (bench/
 * expressions.tsv), parses EXPR once, loads ZONE once, then times chains of
 * cw_timespec_next calls: each result is the next call's `after`, starting
 * at BENCH_START (2024-01-01T00:00:00Z). A chain that reaches BENCH_LIMIT
 * (2424-01-01, one Gregorian cycle later) or runs out of fires starts over
 * at BENCH_START, so sparse specs (`0 0 29 2 *`) never run past the
 * engine's last year; croniter_bench.py chains and restarts the same way.
 *
 * Timing: CLOCK_MONOTONIC around a whole chain. The chain length is grown
 * until one run takes at least --min-time seconds (default 0.5); that run
 * and two more of the same length are kept and the best (smallest ns per
 * call) is reported. Parsing and zone loading are outside the timed part.
 *
 * Output, one tab-separated line per expression after a `#` header line:
 *   EXPR  ZONE  NS_PER_CALL  CALLS_PER_S  CALLS_PER_RUN  FIRST5
 * where FIRST5 is the first five fires after BENCH_START (epoch seconds,
 * space-separated), which run.sh compares with croniter's. Exit status 1
 * when a line cannot be parsed, a zone cannot be loaded, or a spec has no
 * fire at all. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/civil.h"
#include "base/error.h"
#include "timespec/timespec.h"
#include "tz/tz.h"

#define BENCH_RUNS 3
#define BENCH_FIRST 5

typedef struct bench_ctx {
        const cw_timespec *ts;
        const cw_tz *tz;
        cw_time start;
        cw_time limit;
} bench_ctx;

static int64_t now_ns(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Runs a chain of n calls; returns the elapsed nanoseconds. The last
 * instant is folded into *sink, which the caller keeps in a volatile, so
 * no optimiser (LTO included) can drop the chain as unused. */
static int64_t run_chain(const bench_ctx *b, int64_t n, cw_time *sink)
{
        cw_time t = b->start;
        int64_t t0 = now_ns();

        for (int64_t i = 0; i < n; i++) {
                if (cw_timespec_next(b->ts, b->tz, t, &t) < 0 || t >= b->limit)
                        t = b->start;
        }
        *sink ^= t;
        return now_ns() - t0;
}

/* Best ns per call over BENCH_RUNS chains of at least min_ns each. */
static double measure(const bench_ctx *b, int64_t min_ns, int64_t *ret_calls)
{
        volatile cw_time keep;
        cw_time sink = 0;
        int64_t n = 1000, el;
        double best;

        for (;;) {
                el = run_chain(b, n, &sink);
                if (el >= min_ns)
                        break;
                /* Aim 20% past the target so the next try usually ends it. */
                double grow = el > 0 ? (double)min_ns * 1.2 / (double)el : 100.0;
                n = (int64_t)((double)n * (grow < 2.0 ? 2.0 : grow > 100.0 ? 100.0 : grow));
        }
        best = (double)el / (double)n;
        for (int r = 1; r < BENCH_RUNS; r++) {
                double v;
                el = run_chain(b, n, &sink);
                v = (double)el / (double)n;
                if (v < best)
                        best = v;
        }
        keep = sink;
        (void)keep;
        *ret_calls = n;
        return best;
}

/* Benchmarks one `EXPR<TAB>ZONE` line; prints its result line. */
static int bench_line(const char *path, unsigned lineno, char *line, int64_t min_ns)
{
        _cleanup_(cw_timespec_freep) cw_timespec *ts = NULL;
        _cleanup_(cw_tz_freep) cw_tz *tz = NULL;
        char *tab = strchr(line, '\t');
        const char *zone = "UTC";
        cw_error err;
        bench_ctx b;
        cw_time t;
        int64_t calls;
        double ns;
        int r;

        if (tab) {
                *tab = '\0';
                zone = tab + 1;
        }
        cw_error_clear(&err);
        r = cw_timespec_parse(line, "", &ts, &err);
        if (r < 0) {
                fprintf(stderr, "%s:%u: bad spec '%s': %s\n", path, lineno, line,
                        err.msg[0] ? err.msg : strerror(-r));
                return -EINVAL;
        }
        if (strcmp(zone, "UTC") == 0) {
                tz = cw_tz_utc();
                r = tz ? 0 : -ENOMEM;
        } else {
                r = cw_tz_load(zone, NULL, &tz, &err);
        }
        if (r < 0) {
                fprintf(stderr, "%s:%u: cannot load zone '%s': %s\n", path, lineno, zone,
                        err.msg[0] ? err.msg : strerror(-r));
                return r;
        }

        b = (bench_ctx){
                .ts = ts,
                .tz = tz,
                .start = 1704067200, /* 2024-01-01T00:00:00Z */
                .limit = cw_days_from_civil(2424, 1, 1) * CW_SECS_PER_DAY,
        };

        printf("%s\t%s\t", line, zone);
        fflush(stdout);
        ns = measure(&b, min_ns, &calls);
        printf("%.1f\t%.0f\t%" PRId64 "\t", ns, 1e9 / ns, calls);

        t = b.start;
        for (int i = 0; i < BENCH_FIRST; i++) {
                r = cw_timespec_next(ts, tz, t, &t);
                if (r < 0) {
                        printf("%sEND", i ? " " : "");
                        break;
                }
                printf(i ? " %" PRId64 : "%" PRId64, t);
        }
        putchar('\n');
        fflush(stdout);
        return 0;
}

static void usage(FILE *f, const char *argv0)
{
        fprintf(f,
                "usage: %s [--min-time SECONDS] EXPRESSIONS_FILE\n"
                "Times chained cw_timespec_next calls for each EXPR<TAB>ZONE line.\n",
                argv0);
}

int main(int argc, char **argv)
{
        _cleanup_free_ char *line = NULL;
        const char *path = NULL;
        double min_time = 0.5;
        size_t cap = 0;
        ssize_t len;
        unsigned lineno = 0;
        int failed = 0;
        FILE *f;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--min-time") == 0 && i + 1 < argc) {
                        char *end;
                        errno = 0;
                        min_time = strtod(argv[++i], &end);
                        if (errno != 0 || *end != '\0' || !(min_time > 0.0) || min_time > 60.0) {
                                fprintf(stderr, "bench_next: bad --min-time '%s'\n", argv[i]);
                                return 2;
                        }
                } else if (strcmp(argv[i], "--help") == 0) {
                        usage(stdout, argv[0]);
                        return 0;
                } else if (!path && argv[i][0] != '-') {
                        path = argv[i];
                } else {
                        usage(stderr, argv[0]);
                        return 2;
                }
        }
        if (!path) {
                usage(stderr, argv[0]);
                return 2;
        }

        f = fopen(path, "re");
        if (!f) {
                fprintf(stderr, "bench_next: cannot open '%s': %s\n", path, strerror(errno));
                return 1;
        }
        printf("# expr\tzone\tns_per_call\tcalls_per_s\tcalls_per_run\tfirst%d\n", BENCH_FIRST);
        while ((len = getline(&line, &cap, f)) >= 0) {
                lineno++;
                while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                        line[--len] = '\0';
                if (len == 0 || line[0] == '#')
                        continue;
                if (bench_line(path, lineno, line, (int64_t)(min_time * 1e9)) < 0)
                        failed = 1;
        }
        fclose(f);
        return failed;
}
