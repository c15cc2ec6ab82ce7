/* worker_locks.h - the scheduler's lock ops (sched.h, cw_sched_lock_ops)
 * done with the worker's lock files (worker/lock.h) and its way of
 * stopping a run (worker/control.h). The fronts that start real workers
 * (the daemon, `tick`) pass these to a pass next to their starter; tests
 * that drive passes with a fake starter pass none or their own. */
#ifndef CW_SCHED_WORKER_LOCKS_H
#define CW_SCHED_WORKER_LOCKS_H

#include "sched/sched.h"

/* The ops over data_dir/locks of the config a pass runs with. Never NULL;
 * the table is constant and shared. */
const cw_sched_lock_ops *cw_sched_worker_locks(void);

#endif
