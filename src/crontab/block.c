/* block.c - the marked block `cronwarden crontab` keeps in a user's
 * crontab (see crontab.h).
 *
 * The crontab is handled as bytes, not parsed as cron: a block is found by
 * its exact BEGIN and END lines and everything else is copied through
 * untouched, so comments, environment lines, other programs' entries and
 * other configs' blocks survive any number of installs and removals.
 * Reading and writing the crontab (`crontab -l`, `crontab -`) is the CLI's
 * business (src/cli/cmd_sched.c). */
#include "crontab/crontab.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Appends s as one word for /bin/sh, quoted only when it has to be. */
static void add_shell_word(cw_buf *b, const char *s)
{
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "0123456789_./+,:=@%-";

        if (*s && strspn(s, safe) == strlen(s)) {
                cw_buf_puts(b, s);
                return;
        }
        cw_buf_putc(b, '\'');
        for (const char *p = s; *p; p++)
                if (*p == '\'')
                        cw_buf_puts(b, "'\\''");
                else
                        cw_buf_putc(b, *p);
        cw_buf_putc(b, '\'');
}

int cw_crontab_block_make(const char *self, const char *cfgpath, cw_buf *ret)
{
        _cleanup_(cw_buf_release) cw_buf cmd = CW_BUF_INIT(4 * PATH_MAX + 64);
        int r;

        add_shell_word(&cmd, self);
        cw_buf_puts(&cmd, " --config ");
        add_shell_word(&cmd, cfgpath);
        cw_buf_puts(&cmd, " tick --silent");
        r = cw_buf_error(&cmd);
        if (r < 0)
                return r == -E2BIG ? -ENAMETOOLONG : r;
        cw_buf_printf(ret, "%s%s\n* * * * * ", CW_CRONTAB_MARK_BEGIN, cfgpath);
        for (size_t i = 0; i < cmd.len; i++)
                if (cmd.p[i] == '%')
                        cw_buf_puts(ret, "\\%");
                else
                        cw_buf_putc(ret, cmd.p[i]);
        cw_buf_printf(ret, "\n%s%s\n", CW_CRONTAB_MARK_END, cfgpath);
        r = cw_buf_error(ret);
        return r == -E2BIG ? -ENAMETOOLONG : r;
}

static bool line_is(const char *line, size_t len, const char *mark, const char *path)
{
        size_t m = strlen(mark), p = strlen(path);

        return len == m + p && memcmp(line, mark, m) == 0 && memcmp(line + m, path, p) == 0;
}

int cw_crontab_blocks_find(const char *text, size_t len, const char *cfgpath,
                           cw_crontab_blocks *ret)
{
        size_t pos = 0, lineno = 0, open_at = 0, open_line = 0;
        bool open = false;

        ret->n = 0;
        ret->bad_line = 0;
        while (pos < len) {
                const char *line = text + pos;
                const char *nl = memchr(line, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - line) : len - pos;
                size_t next = nl ? pos + n + 1 : len;

                lineno++;
                if (!open && line_is(line, n, CW_CRONTAB_MARK_BEGIN, cfgpath)) {
                        open = true;
                        open_at = pos;
                        open_line = lineno;
                } else if (open && line_is(line, n, CW_CRONTAB_MARK_END, cfgpath)) {
                        if (ret->n == CW_CRONTAB_BLOCKS_MAX)
                                return -E2BIG;
                        ret->spans[ret->n].begin = open_at;
                        ret->spans[ret->n].end = next;
                        ret->n++;
                        open = false;
                }
                pos = next;
        }
        if (open)
                ret->bad_line = open_line;
        return 0;
}

bool cw_crontab_blocks_same(const char *text, const cw_crontab_blocks *f, const char *block,
                            size_t block_len)
{
        return f->n == 1 && f->spans[0].end - f->spans[0].begin == block_len &&
               memcmp(text + f->spans[0].begin, block, block_len) == 0;
}

int cw_crontab_blocks_edit(const char *text, size_t len, const cw_crontab_blocks *f,
                           const char *block, size_t block_len, cw_buf *ret)
{
        size_t pos = 0;
        int r;

        for (size_t i = 0; i < f->n; i++) {
                cw_buf_add(ret, text + pos, f->spans[i].begin - pos);
                if (i == 0 && block)
                        cw_buf_add(ret, block, block_len);
                pos = f->spans[i].end;
        }
        cw_buf_add(ret, text + pos, len - pos);
        if (f->n == 0 && block) {
                /* cron rejects a last line without its newline, and the
                 * block must start on a line of its own. */
                if (ret->len > 0 && cw_buf_last(ret) != '\n')
                        cw_buf_putc(ret, '\n');
                cw_buf_add(ret, block, block_len);
        }
        r = cw_buf_error(ret);
        return r == -E2BIG ? -EFBIG : r;
}
