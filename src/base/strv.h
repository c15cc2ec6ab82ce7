/* strv.h - growable NULL-terminated string vectors (cw_strv).
 * A zeroed cw_strv is empty and valid. The vector owns its strings. */
#ifndef CW_BASE_STRV_H
#define CW_BASE_STRV_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cw_strv {
        char **v; /* NULL-terminated, or NULL when empty */
        size_t n;
} cw_strv;

/* Appends a copy of s. Returns 0 or -ENOMEM (strv unchanged). */
int cw_strv_push(cw_strv *sv, const char *s);
/* Appends s, taking ownership of it (freed on failure too). */
int cw_strv_consume(cw_strv *sv, char *s);
/* Index of s in sv, or -1. */
long cw_strv_find(const cw_strv *sv, const char *s);
/* Frees the strings and the array; leaves sv empty. Accepts NULL. */
void cw_strv_release(cw_strv *sv);
/* The i-th string, or "" past the end (never NULL, for printing). */
static inline const char *cw_strv_get(const cw_strv *sv, size_t i)
{
        return i < sv->n ? sv->v[i] : "";
}

#endif
