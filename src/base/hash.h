/* hash.h - stable, documented hashes. The values feed `H` in time specs,
 * so they are part of the product's behaviour: never change them. */
#ifndef CW_BASE_HASH_H
#define CW_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a of n bytes. */
uint64_t cw_hash_fnv1a(const void *data, size_t n);
/* splitmix64 finaliser: a well-mixed 64-bit value from x. */
uint64_t cw_hash_mix(uint64_t x);

#endif
