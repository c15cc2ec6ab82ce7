/* utf8.c - see utf8.h. The second byte's range carries the rules against
 * overlong forms (E0, F0), surrogates (ED) and code points past U+10FFFF
 * (F4); lead bytes C0, C1 and F5-FF never start a valid sequence. */
#include "base/utf8.h"

size_t cw_utf8_seq(const unsigned char *p, size_t n, bool *ret_partial)
{
        unsigned char lo = p[0] == 0xe0 ? 0xa0 : p[0] == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = p[0] == 0xed ? 0x9f : p[0] == 0xf4 ? 0x8f : 0xbf;
        size_t len = 0;

        if (ret_partial)
                *ret_partial = false;
        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                len = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                len = 3;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                len = 4;
        else
                return 0;
        for (size_t i = 1; i < len; i++) {
                if (i >= n) {
                        if (ret_partial)
                                *ret_partial = true;
                        return 0;
                }
                if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
                        return 0;
        }
        return len;
}
