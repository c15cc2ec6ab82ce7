/* path.h - joining file-system paths into bounded buffers.
 *
 * Paths built from data_dir and friends come from the user's config, so a
 * join that does not fit must fail loudly instead of cutting the path
 * (which could name another file). Every function here writes into a
 * caller's buffer and returns 0, or -ENAMETOOLONG when the result (with its
 * NUL) would not fit; on failure buf holds an empty string. */
#ifndef CW_BASE_PATH_H
#define CW_BASE_PATH_H

#include <stddef.h>

/* The size of a path buffer on the stack: PATH_MAX on Linux. */
#define CW_PATH_MAX 4096

/* Writes dir "/" name into buf (size bytes). A dir ending in '/' gets no
 * second one; an empty dir gives name alone. */
int cw_path_join(char *buf, size_t size, const char *dir, const char *name);

/* Writes dir "/" sub "/" name; a NULL sub makes it cw_path_join(). */
int cw_path_join3(char *buf, size_t size, const char *dir, const char *sub, const char *name);

#endif
