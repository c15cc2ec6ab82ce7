/* macro.h - small helpers shared by every module: cleanup attributes,
 * array sizes, printf checking. No state, no functions with bodies beyond
 * trivial inline ones. */
#ifndef CW_BASE_MACRO_H
#define CW_BASE_MACRO_H

#include <stdlib.h>

#define CW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

/* Takes ownership of *p: returns it and leaves NULL behind, so a
 * _cleanup_ handler on the source no longer frees it. */
#define CW_TAKE_PTR(p)                                                                             \
        ({                                                                                         \
                __typeof__(p) _taken = (p);                                                        \
                (p) = NULL;                                                                        \
                _taken;                                                                            \
        })

static inline void cw_freep(void *p)
{
        free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(cw_freep)

#endif
