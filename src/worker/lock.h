/* lock.h - what keeps runs from overlapping on one node (docs/running.md, Locks).
 *
 * A lock is a file in data_dir/locks held with flock(LOCK_EX). The kernel
 * drops the lock when the holding process dies, so a crashed worker never
 * leaves a stale lock. The file's content names the holder (pid, run id,
 * node, since) so a second run can say who holds it, and `status` can
 * tell a live holder from a leftover file (DEAD).
 *
 * Keys: lock = class -> "class-NAME" (NAME = lock_name or the job name);
 * lock = params -> "params-JOB-HASH" (HASH: 16 hex digits of the canonical
 * job spec's FNV-1a); lock = none -> no lock. Keys are file-name safe. */
#ifndef CW_WORKER_LOCK_H
#define CW_WORKER_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

#define CW_LOCK_KEY_MAX 200

typedef struct cw_lock cw_lock;

typedef struct cw_lock_holder {
        int pid; /* the worker holding it */
        int64_t run_id;
        int64_t since_us;
        char node[64];
} cw_lock_holder;

/* Writes job's lock key for canonical spec text into buf. Returns 0, or
 * -ENOENT when the job's lock mode is none (buf set to ""). */
int cw_lock_key(const cw_job *job, const char *spec_text, char *buf, size_t size);

/* Takes the lock `key` in locks_dir (created 0700 when missing) without
 * waiting. Returns 0 with *ret; -EBUSY when another process holds it
 * (*holder filled from the file, zeroed fields when unreadable); other
 * negative errno on I/O errors. The lock's fd is O_CLOEXEC: jobs never
 * inherit it. On success *holder (holder may be NULL) receives the record
 * a previous holder left behind: a clean release empties the file, so a
 * record there means that holder died holding the lock (zeroed if none). */
int cw_lock_acquire(const char *locks_dir, const char *key, cw_lock **ret, cw_lock_holder *holder);

/* Records the holder in the lock file (after the run id is known): one
 * line "PID RUN_ID SINCE_US NODE" (NODE "-" when empty). */
int cw_lock_set_holder(cw_lock *l, const cw_lock_holder *h);

/* Empties the holder record, releases and frees. Accepts NULL. The file
 * stays (removing it would race with a waiter that opened it). */
void cw_lock_release(cw_lock *l);
static inline void cw_lock_releasep(cw_lock **l)
{
        cw_lock_release(*l);
}

/* Whether `key` is held right now, and by whom (from the file). Never
 * takes the lock (it asks the kernel through /proc/locks) and never
 * creates the file (a missing file: not held, holder zeroed). When not
 * held, *holder is the record a dead holder left behind, zeroed after a
 * clean release. */
int cw_lock_probe(const char *locks_dir, const char *key, bool *ret_held, cw_lock_holder *holder);

/* True when process pid holds lock `key`: /proc/locks names it as the
 * owner of the file's flock, or (when /proc/locks cannot say) pid has the
 * lock file open. Never takes the lock. */
bool cw_lock_held_by(const char *locks_dir, const char *key, int pid);

/* The pid holding a flock on the file at path (per /proc/locks), 0 when
 * none or unknown. Never takes the lock. */
int cw_lock_file_owner(const char *path);

#endif
