/* started.h - the durable fact "this queued run's job may have started"
 * (docs/scheduling.md, exactly once).
 *
 * A run the daemon recorded as queued is marked running by its worker only
 * after the job is exec'd (the store is kept off the path between the fire
 * and the exec). A worker that dies in between leaves the row queued, and
 * recovery must not start that fire again. So before it execs the job, the
 * worker creates a marker, the file DATA_DIR/started/RUN_ID (mode 0600),
 * and holds a flock on it for as long as it lives; once the store says
 * running (or the run's outcome is recorded) it removes it. Recovery (the
 * daemon's start, a spawner's replacement, `status`, `clean`, `tick`) reads
 * a queued row with a marker nobody holds as "the job may have run": it is
 * recorded lost, never started again. A queued row without a marker, once
 * no process can still start it, never reached exec.
 *
 * The marker is made under no name (O_TMPFILE), locked, then linked into
 * place, so a marker that can be seen is locked until its worker dies;
 * on a file system without O_TMPFILE it is created by name and locked at
 * once (a prober may then find it unlocked for an instant).
 *
 * Not fsync'ed (that would cost every start a disk flush): after a power
 * loss a marker may be missing, so recovery never trusts its absence for a
 * row queued before the machine's current boot (cw_started_before_boot). */
#ifndef CW_WORKER_STARTED_H
#define CW_WORKER_STARTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_STARTED_DIR "started"

/* Creates run_id's marker in data_dir/CW_STARTED_DIR (the folder is made
 * 0700 when missing) and locks it. Returns 0 with *ret_fd (O_CLOEXEC; the
 * lock lasts while it is open); -EEXIST when the run has a marker already
 * (another worker may have started it); another negative errno. */
int cw_started_create(const char *data_dir, int64_t run_id, int *ret_fd);

/* Removes run_id's marker (nothing when there is none). */
void cw_started_remove(const char *data_dir, int64_t run_id);

typedef enum cw_started_state {
        CW_STARTED_NONE, /* no marker: the job was never exec'd by a worker that made one */
        CW_STARTED_HELD, /* a marker its worker still holds: the worker lives */
        CW_STARTED_LEFT, /* a marker nobody holds: its worker is gone, the job may have run */
} cw_started_state;

/* run_id's marker and whether its worker still holds it. Takes a shared
 * lock for an instant (never in the worker's way: it holds its lock from
 * before the marker could be seen). */
cw_started_state cw_started_probe(const char *data_dir, int64_t run_id);

/* Removes every marker nobody holds whose run id is not among keep[0..n)
 * (leftovers of runs whose fate is recorded). */
void cw_started_prune(const char *data_dir, const int64_t *keep, size_t n);

/* True when a run queued at queued_us (µs since the epoch, CLOCK_REALTIME)
 * was queued before this machine's current boot: its marker may have been
 * lost with the power. */
bool cw_started_before_boot(int64_t queued_us);

#endif
