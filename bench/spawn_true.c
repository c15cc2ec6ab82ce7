/* spawn_true.c - timing driver for bench_run.sh: the raw cost of starting
 * and reaping a process, and the same loop around a full `cronwarden run`.
 *
 *   spawn_true [-n N] [-j J] [-r R] [-- CMD [ARG...]]
 *
 * Runs CMD (default /bin/true) N times with posix_spawn + waitpid, J at a
 * time: each round spawns J processes, then waits for all of them (J = 1:
 * strictly sequential). stdin, stdout and stderr of CMD are /dev/null. The
 * whole loop of N runs is timed with CLOCK_MONOTONIC; it is repeated R
 * times (default 3) and the best (shortest) loop is reported, so both
 * sides of a comparison are measured by the same code. A run that does not
 * exit 0 counts as failed (FAILED: over all R loops).
 *
 * Output: one tab-separated line after a `#` header:
 *   RUNS  PARALLEL  BEST_TOTAL_MS  MS_PER_RUN  MS_PER_ROUND  RUNS_PER_S  FAILED
 * Exit status: 0 when every run exited 0, 1 otherwise, 2 on usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static long parse_count(const char *s, const char *opt)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < 1 || v > 10000000) {
                fprintf(stderr, "spawn_true: %s: expected a whole number from 1, got '%s'\n", opt,
                        s);
                exit(2);
        }
        return v;
}

/* Runs n processes, j per round; returns the elapsed ns, adds failures. */
static int64_t timed_loop(char **argv, const posix_spawn_file_actions_t *fa, long n, long j,
                          long *failed)
{
        pid_t *pids = calloc((size_t)j, sizeof(*pids));
        int64_t t0;

        if (!pids) {
                perror("spawn_true");
                exit(1);
        }
        t0 = now_ns();
        for (long done = 0; done < n;) {
                long batch = n - done < j ? n - done : j;

                for (long k = 0; k < batch; k++) {
                        int r = posix_spawn(&pids[k], argv[0], fa, NULL, argv, environ);

                        if (r != 0) {
                                fprintf(stderr, "spawn_true: %s: %s\n", argv[0], strerror(r));
                                exit(1);
                        }
                }
                for (long k = 0; k < batch; k++) {
                        int status;

                        while (waitpid(pids[k], &status, 0) < 0)
                                if (errno != EINTR) {
                                        perror("spawn_true: waitpid");
                                        exit(1);
                                }
                        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                                (*failed)++;
                }
                done += batch;
        }
        free(pids);
        return now_ns() - t0;
}

int main(int argc, char **argv)
{
        static char *default_cmd[] = {"/bin/true", NULL};
        char **cmd = default_cmd;
        long n = 200, j = 1, reps = 3, failed = 0;
        int64_t best = INT64_MAX;
        posix_spawn_file_actions_t fa;
        int opt;

        while ((opt = getopt(argc, argv, "+n:j:r:h")) != -1) {
                switch (opt) {
                case 'n':
                        n = parse_count(optarg, "-n");
                        break;
                case 'j':
                        j = parse_count(optarg, "-j");
                        break;
                case 'r':
                        reps = parse_count(optarg, "-r");
                        break;
                case 'h':
                        printf("usage: spawn_true [-n N] [-j J] [-r R] [-- CMD [ARG...]]\n");
                        return 0;
                default:
                        return 2;
                }
        }
        if (optind < argc)
                cmd = argv + optind;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

        for (long r = 0; r < reps; r++) {
                int64_t t = timed_loop(cmd, &fa, n, j, &failed);

                if (t < best)
                        best = t;
        }
        posix_spawn_file_actions_destroy(&fa);

        long rounds = (n + j - 1) / j;
        double total_ms = (double)best / 1e6;

        printf("# runs\tparallel\tbest_total_ms\tms_per_run\tms_per_round\truns_per_s\tfailed\n");
        printf("%ld\t%ld\t%.3f\t%.4f\t%.4f\t%.1f\t%ld\n", n, j, total_ms, total_ms / (double)n,
               total_ms / (double)rounds, (double)n / ((double)best / 1e9), failed);
        return failed ? 1 : 0;
}
