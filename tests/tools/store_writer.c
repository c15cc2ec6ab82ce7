/* store_writer.c - records runs in a store as fast as it can, for the
 * kill -9 test (tests/integration/test_store_crash.py).
 *
 * Usage: store_writer DATA_DIR [MAX_RUNS]
 *
 * Opens the SQLite store in DATA_DIR (creating it) and loops: inserts a
 * run as running, stores progress, then finishes it as succeeded with its
 * output, and only then prints the run's id on a line of its own and
 * flushes stdout. So every id printed is a run the store said it recorded:
 * whenever the process is killed, each printed id must be in the file,
 * finished, with its output. Stops after MAX_RUNS runs (default: never).
 *
 * The output of run ID is made from the id alone, so the test can check
 * it byte for byte: the line "run ID\n", then n = (ID * 7919) % 6000
 * bytes where byte i is (ID + 7 * i) & 0xff (NULs and invalid UTF-8
 * included); every 200th run also carries 128 KiB more of the same
 * pattern, so some commits span many pages and take long enough to be
 * interrupted. Exit status: 0 after MAX_RUNS runs, 1 when the store
 * fails (message on stderr), 2 on bad usage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "store/store.h"

#define BIG_EXTRA (128 * 1024)

static int64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Fills buf with run id's output (see the top of the file); returns its
 * length. buf holds at least 64 + 6000 + BIG_EXTRA bytes. */
static size_t make_output(int64_t id, unsigned char *buf)
{
        int head = snprintf((char *)buf, 64, "run %" PRId64 "\n", id);
        size_t n = (size_t)((id * 7919) % 6000);

        if (id % 200 == 0)
                n += BIG_EXTRA;
        for (size_t i = 0; i < n; i++)
                buf[(size_t)head + i] = (unsigned char)((uint64_t)(id + 7 * (int64_t)i) & 0xff);
        return (size_t)head + n;
}

int main(int argc, char **argv)
{
        static unsigned char out[64 + 6000 + BIG_EXTRA];
        cw_store *s = NULL;
        cw_error e;
        long long max = -1;
        int r;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: store_writer DATA_DIR [MAX_RUNS]\n");
                return 2;
        }
        if (argc == 3) {
                char *end;
                errno = 0;
                max = strtoll(argv[2], &end, 10);
                if (errno || *end || max < 0) {
                        fprintf(stderr, "store_writer: bad MAX_RUNS '%s'\n", argv[2]);
                        return 2;
                }
        }
        r = cw_store_open("sqlite", argv[1], &s, &e);
        if (r < 0) {
                fprintf(stderr, "store_writer: %s (%s)\n", e.msg, strerror(-r));
                return 1;
        }
        for (long long k = 0; max < 0 || k < max; k++) {
                cw_run run = {
                        .job = (char *)"Crash",
                        .spec = (char *)"Crash:1",
                        .node = (char *)"test",
                        .status = CW_RUN_RUNNING,
                        .trigger = CW_TRIGGER_MANUAL,
                        .attempt = 1,
                        .started_us = now_us(),
                        .worker_pid = (int)getpid(),
                        .exit_code = -1,
                        .progress_done = -1,
                        .progress_total = -1,
                };
                size_t len;
                const char *what = "insert";

                r = cw_store_run_insert(s, &run);
                if (r == 0) {
                        what = "progress";
                        r = cw_store_run_progress(s, run.id, 1, 2);
                }
                if (r == 0) {
                        what = "finish";
                        len = make_output(run.id, out);
                        run.status = CW_RUN_SUCCEEDED;
                        run.exit_code = 0;
                        run.ended_us = now_us();
                        run.output_size = len;
                        r = cw_store_run_finish(s, &run, out, len);
                }
                if (r < 0) {
                        fprintf(stderr, "store_writer: %s failed: %s\n", what, strerror(-r));
                        cw_store_close(s);
                        return 1;
                }
                printf("%" PRId64 "\n", run.id);
                fflush(stdout);
        }
        cw_store_close(s);
        return 0;
}
