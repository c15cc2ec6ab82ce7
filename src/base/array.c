/* array.c - doubling growth for heap arrays (see array.h). */
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int cw_array_reserve(void **p, size_t *cap, size_t need, size_t size, size_t initial)
{
        size_t ncap = *cap ? *cap : (initial ? initial : 1);
        void *np;

        if (need <= *cap)
                return 0;
        while (ncap < need) {
                if (ncap > SIZE_MAX / 2)
                        return -ENOMEM;
                ncap *= 2;
        }
        if (size && ncap > SIZE_MAX / size)
                return -ENOMEM;
        np = realloc(*p, ncap * size);
        if (!np)
                return -ENOMEM;
        *p = np;
        *cap = ncap;
        return 0;
}
