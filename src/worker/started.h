/* started.h - the durable fact "this queued run's job may have started"
 * (docs/scheduling.md, exactly once).
 *
 * A run the daemon recorded as queued is marked running by its worker only
 * after the job is exec'd (the store is kept off the path between the fire
 * and the exec). A worker that dies in between leaves the row queued, and
 * recovery must not start that fire again. So before it execs the job, the
 * worker writes a start record for its run into DATA_DIR/started.slots (run
 * id, its own pid and the instant, CLOCK_BOOTTIME), and once the store says
 * running (or has the run's outcome) it marks the record done. Recovery
 * (the daemon's start, a spawner's replacement, `status`, `clean`, `tick`)
 * reads a queued run whose record is there and whose worker is gone as
 * "the job may have run": it is recorded lost, never started again. A
 * queued run without a record, once no process can still start it, never
 * reached exec.
 *
 * The file is a table of CW_STARTED_SLOTS fixed-size slots, run id modulo
 * the count: one pwrite to a file that exists already, no directory
 * change (creating a file per run cost 0.15-0.6 ms on ext4, against a few
 * µs), and its size is bounded. A slot that a later run took over (a run
 * left queued while CW_STARTED_SLOTS more were started) no longer says
 * anything about the earlier one (CW_STARTED_OVERWRITTEN).
 *
 * Not fsync'ed (that would cost every start a disk flush): after a power
 * loss a record may be missing, so recovery never trusts its absence for a
 * run queued before the machine's current boot (cw_started_before_boot). */
#ifndef CW_WORKER_STARTED_H
#define CW_WORKER_STARTED_H

#include <stdbool.h>
#include <stdint.h>

#define CW_STARTED_FILE "started.slots"
#define CW_STARTED_SLOTS 65536

/* Writes run_id's start record, naming the calling process as its worker.
 * Returns 0 with *ret_fd (O_CLOEXEC, for cw_started_done); -EEXIST when
 * the slot holds a record of the same run whose worker is alive (another
 * worker is starting it); -ESTALE when it holds a later run's record (not
 * overwritten); another negative errno when it cannot be written. In
 * every failure the job must not start: recovery could not tell. */
int cw_started_create(const char *data_dir, int64_t run_id, int *ret_fd);

/* The run's fate is in the store: its record is marked done (unless a
 * later run took the slot). Closes fd. Accepts fd < 0 (nothing). */
void cw_started_done(int fd, int64_t run_id);

typedef enum cw_started_state {
        CW_STARTED_NONE, /* no record: no worker got as far as the job's exec */
        CW_STARTED_HELD, /* a record whose worker is alive */
        CW_STARTED_LEFT, /* a record whose worker is gone: the job may have run */
        /* A later run took the slot: whether this run's worker wrote a
         * record, and whether it lives, can no longer be told. */
        CW_STARTED_OVERWRITTEN,
} cw_started_state;

/* run_id's start record and whether its worker lives (its pid exists and
 * started no later than the record). Never writes. */
cw_started_state cw_started_probe(const char *data_dir, int64_t run_id);

/* The pid of run_id's worker as its record names it, while that worker
 * lives (done records included: a running run's). 0 with *ret_pid, or
 * -ENOENT (no record of this run, or its worker is gone). Never writes. */
int cw_started_worker(const char *data_dir, int64_t run_id, int *ret_pid);

/* True when a run queued at queued_us (µs since the epoch, CLOCK_REALTIME)
 * was queued before this machine's current boot: its record may have been
 * lost with the power. */
bool cw_started_before_boot(int64_t queued_us);

#endif
