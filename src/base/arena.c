/* arena.c - block chain region allocator (see arena.h).
 *
 * Each block is one malloc: a header, then its data, whose start is
 * aligned for max_align_t. `used` counts the bytes of data handed out;
 * an allocation rounds `used` up to its alignment first. Dedicated blocks
 * (large requests) are linked right behind the head and are always full,
 * so only the head is ever searched for space. */
#include "arena.h"

#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct cw_arena_block {
        cw_arena_block *next;
        size_t size; /* bytes of data */
        size_t used;
        alignas(max_align_t) unsigned char data[];
};

static bool align_ok(size_t align)
{
        return align > 0 && (align & (align - 1)) == 0 && align <= alignof(max_align_t);
}

static cw_arena_block *block_new(cw_arena *a, size_t size)
{
        cw_arena_block *b;

        if (size > SIZE_MAX - sizeof(cw_arena_block))
                return NULL;
        b = malloc(sizeof(cw_arena_block) + size);
        if (!b)
                return NULL;
        b->next = NULL;
        b->size = size;
        b->used = 0;
        a->allocated += sizeof(cw_arena_block) + size;
        return b;
}

void *cw_arena_alloc(cw_arena *a, size_t size, size_t align)
{
        cw_arena_block *b = a->head;
        size_t start;

        if (!align_ok(align))
                return NULL;
        if (b) {
                start = (b->used + align - 1) & ~(align - 1);
                if (start <= b->size && size <= b->size - start) {
                        b->used = start + size;
                        return b->data + start;
                }
        }
        if (a->next_size < CW_ARENA_BLOCK_MIN)
                a->next_size = CW_ARENA_BLOCK_MIN;
        if (size > a->next_size / 4) {
                /* Its own block: the head (if any) keeps its free space. */
                b = block_new(a, size ? size : 1);
                if (!b)
                        return NULL;
                b->used = b->size;
                if (a->head) {
                        b->next = a->head->next;
                        a->head->next = b;
                } else {
                        a->head = b;
                }
                return b->data;
        }
        b = block_new(a, a->next_size);
        if (!b)
                return NULL;
        if (a->next_size < CW_ARENA_BLOCK_MAX)
                a->next_size *= 2;
        b->next = a->head;
        a->head = b;
        b->used = size;
        return b->data;
}

void *cw_arena_zalloc(cw_arena *a, size_t size, size_t align)
{
        void *p = cw_arena_alloc(a, size, align);

        if (p)
                memset(p, 0, size);
        return p;
}

void *cw_arena_calloc(cw_arena *a, size_t n, size_t size, size_t align)
{
        if (size && n > SIZE_MAX / size)
                return NULL;
        return cw_arena_zalloc(a, n * size, align);
}

void *cw_arena_memdup(cw_arena *a, const void *p, size_t n, size_t align)
{
        void *d = cw_arena_alloc(a, n, align);

        if (d && n)
                memcpy(d, p, n);
        return d;
}

char *cw_arena_strndup(cw_arena *a, const char *s, size_t n)
{
        size_t len = strnlen(s, n);
        char *d;

        if (len == SIZE_MAX)
                return NULL;
        d = cw_arena_alloc(a, len + 1, 1);
        if (!d)
                return NULL;
        memcpy(d, s, len);
        d[len] = '\0';
        return d;
}

char *cw_arena_strdup(cw_arena *a, const char *s)
{
        return cw_arena_strndup(a, s, SIZE_MAX - 1);
}

void cw_arena_release(cw_arena *a)
{
        cw_arena_block *b;

        if (!a)
                return;
        b = a->head;
        while (b) {
                cw_arena_block *next = b->next;

                free(b);
                b = next;
        }
        *a = CW_ARENA_INIT;
}
