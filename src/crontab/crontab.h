/* crontab.h - cronwarden and the crontab(5) format, both ways.
 *
 * The converter behind `cronwarden import-crontab` reads a crontab and
 * writes config sections that the config loader reads back unchanged: a
 * [job NAME] per entry, [defaults] for the environment lines above the
 * first entry (docs/config.md). Lines it cannot convert are reported
 * (line number and why) and skipped; a file it must not convert at all
 * (a system crontab read as a user's) stops it with an error.
 *
 * The block functions behind `cronwarden crontab show|install|remove`
 * build, find and replace the marked block that runs `tick` every minute
 * for one config file, treating the rest of the crontab as opaque bytes.
 *
 * Library code: nothing here prints or exits; results and diagnostics are
 * returned in structs, failures as negative errno values. */
#ifndef CW_CRONTAB_CRONTAB_H
#define CW_CRONTAB_CRONTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/civil.h"
#include "base/error.h"

/* ---- import: crontab -> config sections ---- */

/* Crontab lines are user data: longer ones are reported and skipped. */
#define CW_CRONTAB_LINE_MAX 65536
/* The converted text is kept in memory: a larger one is an error. */
#define CW_CRONTAB_OUTPUT_MAX (64u * 1024 * 1024)
/* Reports kept in a result; later ones are only counted. */
#define CW_CRONTAB_DIAGS_MAX 10000
/* The longest --prefix. */
#define CW_CRONTAB_PREFIX_MAX 48

typedef struct cw_crontab_opts {
        const char *file;     /* the crontab's name, quoted in the output's comments */
        const char *prefix;   /* put in front of every job name; NULL or "": none */
        bool shell_all;       /* shell = yes for every command; SHELL= kept as env */
        bool system;          /* /etc/crontab format: a user column after the time fields */
        const char *zoneinfo; /* where CRON_TZ/TZ zones are looked up; NULL: the system's */
        cw_time now;          /* a schedule that never fires after this is skipped */
        /* Whether name is a user of this system (used without `system` to
         * recognise a system crontab's user column). NULL means
         * cw_crontab_user_known; tests pass their own. */
        bool (*user_known)(const char *name, void *userdata);
        void *userdata;
} cw_crontab_opts;

/* One report about a line: a skipped line, or a note on a converted one. */
typedef struct cw_crontab_diag {
        int line;     /* 1-based */
        bool skipped; /* false: a note, the line was converted */
        char *msg;    /* lowercase, problem first */
} cw_crontab_diag;

typedef struct cw_crontab_result {
        char *text; /* the config sections (NUL-terminated), on success only */
        size_t len;
        cw_crontab_diag *diags; /* in line order, the first CW_CRONTAB_DIAGS_MAX */
        size_t n_diags, cap_diags;
        size_t n_dropped; /* reports past CW_CRONTAB_DIAGS_MAX, counted only */
        size_t n_jobs, n_skipped, n_notes;
        int error_line;  /* on -EINVAL: the line that stopped the conversion */
        char error[320]; /* and why */
} cw_crontab_result;

/* Converts the crontab read from in. Returns 0 with ret->text set (lines
 * may have been skipped: ret->n_skipped), or -EINVAL when the file must
 * not be converted as asked (ret->error_line, ret->error say why: a user
 * column without opts->system), -EIO on a read error, -EFBIG when the
 * output would pass CW_CRONTAB_OUTPUT_MAX, -ENOMEM. On every return ret
 * holds the diagnostics gathered so far; the caller releases it. ret is
 * overwritten (start from a zeroed one). */
int cw_crontab_convert(FILE *in, const cw_crontab_opts *opts, cw_crontab_result *ret);

/* Frees what ret holds and zeroes it. Accepts a zeroed result. */
void cw_crontab_result_release(cw_crontab_result *res);

/* Whether prefix may start job names: letters, digits, '_' and '-',
 * starting with a letter or '_', at most CW_CRONTAB_PREFIX_MAX bytes. */
bool cw_crontab_prefix_valid(const char *prefix);

/* The default opts->user_known: a name getpwnam() knows, or one of the
 * users system crontabs usually name (root, www-data, nobody...) even
 * when this machine lacks them (a file from another server). */
bool cw_crontab_user_known(const char *name, void *userdata);

/* ---- the block `crontab install` keeps in a user's crontab ---- */

#define CW_CRONTAB_MARK_BEGIN "# BEGIN cronwarden "
#define CW_CRONTAB_MARK_END "# END cronwarden "
#define CW_CRONTAB_BLOCKS_MAX 64

/* Appends to ret the block for config cfgpath run by binary self (both
 * absolute, without line breaks):
 *   # BEGIN cronwarden CFGPATH
 *   * * * * * SELF --config CFGPATH tick --silent
 *   # END cronwarden CFGPATH
 * with the paths quoted for /bin/sh where needed and every '%' written
 * '\%' (cron would read it as the start of standard input). Returns 0,
 * -ENAMETOOLONG (paths too long for ret or for a command), -ENOMEM. */
int cw_crontab_block_make(const char *self, const char *cfgpath, cw_buf *ret);

/* Where one config's blocks are in a crontab: byte ranges [begin, end)
 * from the start of a BEGIN line to just after its END line. */
typedef struct cw_crontab_blocks {
        struct {
                size_t begin, end;
        } spans[CW_CRONTAB_BLOCKS_MAX];
        size_t n;
        size_t bad_line; /* a BEGIN line without its END line (1-based), or 0 */
} cw_crontab_blocks;

/* Finds the blocks of cfgpath in text. Lines are compared exactly, so a
 * block for another config, or one edited out of shape, is not ours.
 * Returns 0, or -E2BIG past CW_CRONTAB_BLOCKS_MAX blocks. */
int cw_crontab_blocks_find(const char *text, size_t len, const char *cfgpath,
                           cw_crontab_blocks *ret);

/* Whether f found exactly one block and it is, byte for byte, block. */
bool cw_crontab_blocks_same(const char *text, const cw_crontab_blocks *f, const char *block,
                            size_t block_len);

/* Appends to ret the text with f's blocks cut out and block (NULL: none)
 * put where the first one was, or appended on a line of its own.
 * Returns 0, -EFBIG past ret's maximum, -ENOMEM. */
int cw_crontab_blocks_edit(const char *text, size_t len, const cw_crontab_blocks *f,
                           const char *block, size_t block_len, cw_buf *ret);

#endif
