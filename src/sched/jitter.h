/* jitter.h - a job's `jitter`: a delay per fire, the same wherever it is
 * computed (docs/scheduling.md, "Jitter").
 *
 * The delay of the fire at instant t of the entry whose canonical job spec
 * is spec depends on nothing else: every pass, a restarted daemon, `next`,
 * `info` and the admin page agree on it, and every node of a cluster
 * computes the same. The fire is still claimed and recorded at t (its
 * nominal instant); only when it comes due moves. */
#ifndef CW_SCHED_JITTER_H
#define CW_SCHED_JITTER_H

#include "base/civil.h"

/* The delay in seconds, from 0 to jitter (both included), of the fire at
 * t of spec; 0 when jitter is 0 or less. */
cw_duration cw_jitter_delay(const char *spec, cw_time t, cw_duration jitter);

#endif
