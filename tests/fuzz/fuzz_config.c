/* fuzz_config.c - libFuzzer target for the config loader.
 *
 * The input is loaded as a config file from memory (cw_config_load_string,
 * so the reader's line handling, inih, every key validator, the schedule
 * and `after` checks all run). A load either fails with at least one
 * message, each naming the file, or yields a config whose jobs are all
 * found by name and whose schedule entries all pass the job spec check. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
        if (ok)
                return;
        fprintf(stderr, "fuzz_config: %s\n", what);
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        cw_config_opts opts = {.zoneinfo_dir = NULL, .now = 1800000000};
        cw_config_errors errs = {0};
        cw_config *c = NULL;
        int r;

        /* Big inputs only make each run slower, not the search better. */
        if (size > 64 * 1024)
                return 0;
        r = cw_config_load_string("fuzz.ini", (const char *)data, size, &opts, &c, &errs);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "unexpected error code");
                check(!c, "config returned on failure");
                check(r == -ENOMEM || errs.n > 0, "failure without a message");
                for (size_t i = 0; i < errs.n; i++)
                        check(strncmp(errs.msgs[i], "fuzz.ini:", 9) == 0,
                              "message without the file name");
        } else {
                check(errs.n == 0, "messages on success");
                for (size_t i = 0; i < c->n_jobs; i++)
                        check(cw_config_job(c, c->jobs[i].name) == &c->jobs[i],
                              "job not found by name");
                for (size_t i = 0; i < c->n_entries; i++) {
                        cw_error err;

                        check(c->entries[i].job < c->n_jobs, "entry of no job");
                        check(cw_config_check_jobspec(c, c->entries[i].spec, &err) == 0,
                              "entry fails its job check");
                }
        }
        cw_config_errors_release(&errs);
        cw_config_free(c);
        return 0;
}
