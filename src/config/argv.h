/* argv.h - splitting a command line into words, shell style, without a
 * shell.
 *
 * Words are separated by unquoted white space. 'single quotes' keep
 * everything literally; "double quotes" keep everything but treat \" \\ \$
 * \` and backslash-newline as escapes (POSIX); outside quotes a backslash
 * makes the next byte literal and backslash-newline disappears. Adjacent
 * quoted and unquoted parts form one word ("a"'b'c is abc); "" is an empty
 * word. There is no globbing, no variable or tilde expansion, no command
 * substitution: what is written is what the program receives. */
#ifndef CW_CONFIG_ARGV_H
#define CW_CONFIG_ARGV_H

#include "base/error.h"
#include "base/strv.h"

/* Reject unquoted shell operators (| & ; < > ( ) $ `): a command meant for
 * a shell that is run without one would silently pass them as arguments. */
#define CW_ARGV_REJECT_SHELL_OPS (1u << 0)

/* Splits s into words and appends them to *ret. Returns 0 (an empty or
 * all-blank s gives no words); -EINVAL with err filled (column into s) for
 * an unterminated quote, a trailing backslash, or (with
 * CW_ARGV_REJECT_SHELL_OPS) an unquoted shell operator; -ENOMEM. *ret is
 * unchanged on failure. */
int cw_argv_split(const char *s, unsigned flags, cw_strv *ret, cw_error *err);

#endif
