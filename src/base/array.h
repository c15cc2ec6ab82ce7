/* array.h - growing heap arrays by doubling, in one overflow-checked
 * place. Callers keep (pointer, count, capacity) in their own structs. */
#ifndef CW_BASE_ARRAY_H
#define CW_BASE_ARRAY_H

#include <stddef.h>

/* Makes *p hold at least `need` elements of `size` bytes: when *cap is
 * smaller, grows it by doubling (starting at `initial`) and reallocates.
 * Returns 0, or -ENOMEM with *p and *cap unchanged (overflow included).
 * p is a pointer to the caller's typed pointer, cast to void **. */
int cw_array_reserve(void **p, size_t *cap, size_t need, size_t size, size_t initial);

#endif
