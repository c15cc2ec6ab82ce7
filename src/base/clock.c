/* clock.c - the three clocks of clock.h. Each is a read function over the
 * struct's two fields; none keeps state elsewhere, so a clock can be
 * copied and read from any thread. */
#include "clock.h"

#include <time.h>

static int64_t clock_read_us(clockid_t id)
{
        struct timespec ts;

        clock_gettime(id, &ts);
        return (int64_t)ts.tv_sec * CW_US_PER_SEC + ts.tv_nsec / 1000;
}

cw_instant cw_clock_real_us(void)
{
        return clock_read_us(CLOCK_REALTIME);
}

int64_t cw_clock_mono_us(void)
{
        return clock_read_us(CLOCK_MONOTONIC);
}

static cw_instant read_real(const cw_clock *c)
{
        (void)c;
        return cw_clock_real_us();
}

static cw_instant read_fixed(const cw_clock *c)
{
        return c->base;
}

static cw_instant read_fake(const cw_clock *c)
{
        return c->base + (cw_clock_mono_us() - c->mono0);
}

void cw_clock_init_real(cw_clock *c)
{
        *c = (cw_clock){.read = read_real};
}

void cw_clock_init_fixed(cw_clock *c, cw_instant at)
{
        *c = (cw_clock){.read = read_fixed, .base = at};
}

void cw_clock_init_fake(cw_clock *c, cw_instant base, int64_t mono0)
{
        *c = (cw_clock){.read = read_fake, .base = base, .mono0 = mono0};
}

void cw_clock_set(cw_clock *c, cw_instant at)
{
        if (c->read == read_fixed) {
                c->base = at;
        } else if (c->read == read_fake) {
                c->base = at;
                c->mono0 = cw_clock_mono_us();
        }
}

bool cw_clock_is_real(const cw_clock *c)
{
        return c->read == read_real;
}
