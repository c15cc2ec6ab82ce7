/* spawn_at.c - the baseline of bench_lateness.sh: the raw posix_spawn cost
 * of starting N processes that are all due at one instant.
 *
 *   spawn_at SEC N STAMP FILE
 *
 * Sleeps until SEC.000000000 (seconds since the epoch) with
 * clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME), then starts N processes
 * "STAMP FILE rawK" (K = 1..N) with posix_spawn as fast as it can, not
 * waiting for any of them (stdio inherited, environment inherited), and
 * only then reaps them all. Each stamp appends the CLOCK_REALTIME at which
 * its main began to FILE, so FILE ends with N lines whose lateness is
 * measured against SEC exactly as the daemon's are.
 *
 * Prints one line to stdout: "spawned N failed F woke_late_us U" (U: how
 * late the sleep itself returned, for information).
 * Exit status: 0 all spawned and exited 0, 1 otherwise, 2 usage. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static long long parse_num(const char *s, long long min, long long max, const char *what)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max) {
                fprintf(stderr,
                        "spawn_at: %s: expected a whole number from %lld to %lld, got '%s'\n", what,
                        min, max, s);
                exit(2);
        }
        return v;
}

int main(int argc, char **argv)
{
        struct timespec at = {0}, woke;
        long long sec, n, failed = 0;
        pid_t *pids;
        char tag[32];
        char *cargv[4];
        int r;

        if (argc != 5) {
                fprintf(stderr, "usage: spawn_at SEC N STAMP FILE\n");
                return 2;
        }
        sec = parse_num(argv[1], 1, 4102444800LL, "SEC");
        n = parse_num(argv[2], 1, 1000000, "N");
        pids = calloc((size_t)n, sizeof(*pids));
        if (!pids) {
                perror("spawn_at");
                return 1;
        }
        cargv[0] = argv[3];
        cargv[1] = argv[4];
        cargv[2] = tag;
        cargv[3] = NULL;

        at.tv_sec = (time_t)sec;
        while ((r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL)) == EINTR)
                ;
        clock_gettime(CLOCK_REALTIME, &woke);
        if (r != 0) {
                fprintf(stderr, "spawn_at: clock_nanosleep: %s\n", strerror(r));
                return 1;
        }
        for (long long k = 0; k < n; k++) {
                snprintf(tag, sizeof(tag), "raw%lld", k + 1);
                r = posix_spawn(&pids[k], argv[3], NULL, NULL, cargv, environ);
                if (r != 0) {
                        pids[k] = 0;
                        failed++;
                }
        }
        for (long long k = 0; k < n; k++) {
                int status;

                if (pids[k] == 0)
                        continue;
                while (waitpid(pids[k], &status, 0) < 0)
                        if (errno != EINTR) {
                                perror("spawn_at: waitpid");
                                return 1;
                        }
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed++;
        }
        printf("spawned %lld failed %lld woke_late_us %lld\n", n, failed,
               ((long long)(woke.tv_sec - at.tv_sec) * 1000000000LL + woke.tv_nsec) / 1000);
        free(pids);
        return failed ? 1 : 0;
}
