/* hash.c - FNV-1a and splitmix64 (see hash.h). */
#include "hash.h"

uint64_t cw_hash_fnv1a(const void *data, size_t n)
{
        const unsigned char *p = data;
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

uint64_t cw_hash_mix(uint64_t x)
{
        x += 0x9e3779b97f4a7c15ULL;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
}
