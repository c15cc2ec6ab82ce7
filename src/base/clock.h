/* clock.h - instants and the clock that tells them.
 *
 * An instant (cw_instant) is a count of microseconds since
 * 1970-01-01T00:00:00Z, UTC, in an int64: one type for "now", for a run's
 * start and end, for a log line's time. Second-precision code (calendars,
 * cw_time) takes cw_instant_sec() of it.
 *
 * A clock (cw_clock) is a read function and its state, made by main and
 * passed down; nothing below the top layer reads the wall clock itself, so
 * tests can drive time:
 *   - real: the system's CLOCK_REALTIME;
 *   - fixed: always the same instant (the CLI's CRONWARDEN_FAKE_NOW; a
 *     unit test steps it with cw_clock_set);
 *   - fake: starts at an instant and advances with CLOCK_MONOTONIC from a
 *     given reading of it, so that a daemon under CRONWARDEN_FAKE_NOW
 *     still sees time pass, and processes sharing the reading agree.
 * Timeouts and back-off use cw_clock_mono_us(), never a cw_clock: the
 * monotonic clock is not faked. */
#ifndef CW_BASE_CLOCK_H
#define CW_BASE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "civil.h"

typedef int64_t cw_instant; /* µs since the epoch, UTC */

#define CW_US_PER_SEC INT64_C(1000000)

typedef struct cw_clock cw_clock;
struct cw_clock {
        cw_instant (*read)(const cw_clock *c);
        cw_instant base; /* fixed: the instant; fake: the instant at mono0 */
        int64_t mono0;   /* fake: the cw_clock_mono_us() reading base goes with */
};

/* Initialisers: no allocation, nothing to release. */
void cw_clock_init_real(cw_clock *c);
void cw_clock_init_fixed(cw_clock *c, cw_instant at);
void cw_clock_init_fake(cw_clock *c, cw_instant base, int64_t mono0);

/* The clock's current instant. */
static inline cw_instant cw_clock_now(const cw_clock *c)
{
        return c->read(c);
}

/* Moves a fixed clock to `at` (a test's step); a fake one then advances
 * from `at`. No effect on a real clock. */
void cw_clock_set(cw_clock *c, cw_instant at);

/* True for the system's wall clock: a deadline on it may be handed to the
 * kernel as an absolute CLOCK_REALTIME time (timerfd). */
bool cw_clock_is_real(const cw_clock *c);

/* The system's CLOCK_REALTIME and CLOCK_MONOTONIC, in µs. Only main (to
 * make a clock) and the monotonic timeouts call these directly. */
cw_instant cw_clock_real_us(void);
int64_t cw_clock_mono_us(void);

/* The instant's second (floor, also before 1970), and back. */
static inline cw_time cw_instant_sec(cw_instant t)
{
        return cw_floordiv(t, CW_US_PER_SEC);
}

static inline cw_instant cw_instant_from_sec(cw_time s)
{
        return s * CW_US_PER_SEC;
}

#endif
