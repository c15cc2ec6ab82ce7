/* arena.h - a region allocator: many small allocations carved out of a
 * chain of large blocks, all freed at once (cw_arena_release).
 *
 * For data that lives and dies together, like every string and array of a
 * loaded config: one malloc per block instead of one per string saves the
 * allocator's per-chunk overhead (8 to 24 bytes each, which is more than
 * the average string) and makes freeing a single walk over the blocks.
 * Individual allocations cannot be freed or grown.
 *
 * Blocks start at CW_ARENA_BLOCK_MIN bytes and double up to
 * CW_ARENA_BLOCK_MAX, so a tiny arena stays tiny and a large one wastes at
 * most the unused tail of its current block. An allocation larger than a
 * quarter of the current block size gets a block of its own, placed behind
 * the current one so the free space of the current block is kept.
 *
 * A zeroed cw_arena (or CW_ARENA_INIT) is empty and valid; nothing is
 * allocated until the first request. Not thread-safe: one owner at a time
 * (the memory it hands out may of course be read by many threads). */
#ifndef CW_BASE_ARENA_H
#define CW_BASE_ARENA_H

#include <stddef.h>

#define CW_ARENA_BLOCK_MIN ((size_t)4096)
#define CW_ARENA_BLOCK_MAX ((size_t)1 << 20)

typedef struct cw_arena_block cw_arena_block;

typedef struct cw_arena {
        cw_arena_block *head; /* newest regular block: allocations come from it */
        size_t next_size;     /* size of the next regular block */
        size_t allocated;     /* bytes held in blocks, headers included */
} cw_arena;

#define CW_ARENA_INIT ((cw_arena){0})

/* size bytes aligned to align (a power of two, at most
 * alignof(max_align_t)). Not zeroed. NULL when out of memory, when size is too large or
 * align is not a supported power of two; the arena is unchanged then.
 * A zero-size request returns a valid pointer that may equal the next
 * allocation's. */
void *cw_arena_alloc(cw_arena *a, size_t size, size_t align);
/* Same, zeroed. */
void *cw_arena_zalloc(cw_arena *a, size_t size, size_t align);
/* An array of n elements of size bytes, zeroed; NULL on overflow too. */
void *cw_arena_calloc(cw_arena *a, size_t n, size_t size, size_t align);
/* Copies of n bytes at p / of the string s / of at most n bytes of s
 * (always NUL-terminated). NULL when out of memory. */
void *cw_arena_memdup(cw_arena *a, const void *p, size_t n, size_t align);
char *cw_arena_strdup(cw_arena *a, const char *s);
char *cw_arena_strndup(cw_arena *a, const char *s, size_t n);

/* Frees every block: every pointer handed out becomes invalid. The arena
 * is empty and may be used again. Accepts NULL. */
void cw_arena_release(cw_arena *a);

/* Bytes held from the allocator (blocks and their headers), for tests and
 * measurements. */
static inline size_t cw_arena_allocated(const cw_arena *a)
{
        return a->allocated;
}

#endif
