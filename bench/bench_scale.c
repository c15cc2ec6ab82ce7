/* bench_scale.c - timing driver and baseline for bench_scale.sh (docs/hacking.md,
 * Quality targets: 100 000 jobs, config load + first schedule < 1 s, RSS < 64 MiB).
 *
 *   bench_scale run [-r R] [-o FILE] -- CMD [ARG...]
 *       Runs CMD R times (default 3), one after another, each started with
 *       posix_spawn (stdin /dev/null, stdout to FILE or /dev/null, stderr
 *       inherited so errors show) and reaped with wait4, which gives the
 *       child's peak resident set (ru_maxrss). Each run's wall time is
 *       CLOCK_MONOTONIC from just before the spawn to the reaping.
 *       Prints one tab-separated line after a `#` header:
 *         RUNS  BEST_MS  MEDIAN_MS  MAX_RSS_KIB  FAILED
 *       MAX_RSS_KIB is the largest peak over the runs; FAILED counts runs
 *       that did not exit 0. Exit status 0 when none failed, else 1.
 *
 *   bench_scale ini FILE
 *       The baseline: parses FILE with Debian's libinih (ini_parse, the
 *       parser cronwarden's config loader is built on) with a handler that
 *       only counts sections and keys, and prints `SECTIONS KEYS`. Timed
 *       with `run` like the real thing, it is the floor for reading the
 *       same file: process start-up + one pass of the INI parser.
 *
 * Exit status 2 on usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_ns(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int usage(void)
{
        fputs("usage: bench_scale run [-r R] [-o FILE] -- CMD [ARG...]\n"
              "       bench_scale ini FILE\n",
              stderr);
        return 2;
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

        return (x > y) - (x < y);
}

/* One run of argv; returns its wall time in ns, *rss_kib and *ok set. */
static int64_t run_once(char **argv, const char *out_path, long *rss_kib, int *ok)
{
        posix_spawn_file_actions_t fa;
        struct rusage ru;
        int64_t t0, t1;
        pid_t pid;
        int st, r;

        *ok = 0;
        *rss_kib = 0;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, out_path ? out_path : "/dev/null",
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
        t0 = now_ns();
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                fprintf(stderr, "bench_scale: cannot start %s: %s\n", argv[0], strerror(r));
                return -1;
        }
        while (wait4(pid, &st, 0, &ru) < 0) {
                if (errno != EINTR) {
                        fprintf(stderr, "bench_scale: wait4: %s\n", strerror(errno));
                        return -1;
                }
        }
        t1 = now_ns();
        *rss_kib = ru.ru_maxrss;
        *ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        if (!*ok)
                fprintf(stderr, "bench_scale: %s: %s %d\n", argv[0],
                        WIFEXITED(st) ? "exit" : "signal",
                        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return t1 - t0;
}

static int cmd_run(int argc, char **argv)
{
        const char *out_path = NULL;
        long reps = 3, max_rss = 0;
        int64_t *times;
        int i, failed = 0;

        for (i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0) {
                        i++;
                        break;
                } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
                        char *end;
                        errno = 0;
                        reps = strtol(argv[++i], &end, 10);
                        if (errno || *end || reps < 1 || reps > 100000)
                                return usage();
                } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
                        out_path = argv[++i];
                } else {
                        return usage();
                }
        }
        if (i >= argc)
                return usage();
        times = calloc((size_t)reps, sizeof(*times));
        if (!times)
                return 1;
        for (long k = 0; k < reps; k++) {
                long rss;
                int ok;
                times[k] = run_once(argv + i, out_path, &rss, &ok);
                if (times[k] < 0) {
                        free(times);
                        return 1;
                }
                if (!ok)
                        failed++;
                if (rss > max_rss)
                        max_rss = rss;
        }
        qsort(times, (size_t)reps, sizeof(*times), cmp_i64);
        printf("# runs\tbest_ms\tmedian_ms\tmax_rss_kib\tfailed\n");
        printf("%ld\t%.3f\t%.3f\t%ld\t%d\n", reps, (double)times[0] / 1e6,
               (double)times[reps / 2] / 1e6, max_rss, failed);
        free(times);
        return failed ? 1 : 0;
}

typedef struct counts {
        long sections, keys;
        char last[256];
} counts;

static int on_value(void *user, const char *section, const char *name, const char *value)
{
        counts *c = user;

        (void)name;
        (void)value;
        if (strncmp(section, c->last, sizeof(c->last)) != 0) {
                c->sections++;
                snprintf(c->last, sizeof(c->last), "%s", section);
        }
        c->keys++;
        return 1;
}

static int cmd_ini(int argc, char **argv)
{
        counts c = {0};
        int r;

        if (argc != 1)
                return usage();
        r = ini_parse(argv[0], on_value, &c);
        if (r < 0) {
                fprintf(stderr, "bench_scale: cannot open %s\n", argv[0]);
                return 1;
        }
        if (r > 0)
                fprintf(stderr, "bench_scale: %s:%d: inih parse error (counted anyway)\n", argv[0],
                        r);
        printf("%ld %ld\n", c.sections, c.keys);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "run") == 0)
                return cmd_run(argc - 2, argv + 2);
        if (argc >= 2 && strcmp(argv[1], "ini") == 0)
                return cmd_ini(argc - 2, argv + 2);
        return usage();
}
