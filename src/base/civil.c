/* civil.c - Gregorian calendar arithmetic (see civil.h).
 *
 * days_from_civil / civil_from_days follow Howard Hinnant's public-domain
 * algorithms: eras of 400 years, March-based years so that the leap day is
 * the last day of the year. */
#include "civil.h"

bool cw_is_leap(int64_t y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cw_days_in_month(int64_t y, int m)
{
        static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        return m == 2 && cw_is_leap(y) ? 29 : dim[m - 1];
}

int64_t cw_days_from_civil(int64_t y, int m, int d)
{
        y -= m <= 2;
        int64_t era = cw_floordiv(y, 400);
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

void cw_civil_from_days(int64_t z, int64_t *ret_year, int *ret_mon, int *ret_day)
{
        z += 719468;
        int64_t era = cw_floordiv(z, 146097);
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        int d = (int)(doy - (153 * mp + 2) / 5 + 1);
        int m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *ret_year = y + (m <= 2);
        *ret_mon = m;
        *ret_day = d;
}

int cw_weekday_from_days(int64_t days)
{
        /* 1970-01-01 was a Thursday (4). */
        return (int)cw_floormod(days + 4, 7);
}

int64_t cw_civil_to_secs(const cw_civil *c)
{
        return cw_days_from_civil(c->year, c->mon, c->day) * CW_SECS_PER_DAY + c->hour * 3600 +
               c->min * 60 + c->sec;
}

void cw_secs_to_civil(int64_t secs, cw_civil *ret)
{
        int64_t days = cw_floordiv(secs, CW_SECS_PER_DAY);
        int64_t rem = secs - days * CW_SECS_PER_DAY;

        cw_civil_from_days(days, &ret->year, &ret->mon, &ret->day);
        ret->hour = (int)(rem / 3600);
        ret->min = (int)(rem / 60 % 60);
        ret->sec = (int)(rem % 60);
}
