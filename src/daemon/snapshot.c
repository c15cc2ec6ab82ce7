/* snapshot.c - the daemon's config snapshot and load diffs (see
 * snapshot.h). */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "config/diff.h"
#include "daemon/daemon.h"

int cw_snapshot_write(const char *data_dir, const char *text, size_t len, cw_error *err)
{
        char path[4096], tmp[4112];
        ssize_t w;
        int fd;

        snprintf(path, sizeof(path), "%s/%s", data_dir, CW_DAEMON_SNAPSHOT);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return cw_error_fail(err, -errno, "cannot write '%s': %s", tmp, strerror(errno));
        w = write(fd, text, len);
        if (w != (ssize_t)len || fsync(fd) < 0) {
                int e = w < 0 ? errno : EIO;
                close(fd);
                return cw_error_fail(err, -e, "cannot write '%s': %s", tmp, strerror(e));
        }
        close(fd);
        if (rename(tmp, path) < 0)
                return cw_error_fail(err, -errno, "cannot rename '%s': %s", tmp, strerror(errno));
        return 0;
}

char *cw_snapshot_diff(const char *data_dir, const cw_config *old_cfg, const char *text, size_t len,
                       const cw_config *new_cfg, cw_time now)
{
        cw_config_diff d = CW_CONFIG_DIFF_INIT;
        cw_buf out = CW_BUF_INIT(16 * 1024 * 1024);
        char path[4096], *old = NULL;
        size_t old_len = 0;
        int r;

        snprintf(path, sizeof(path), "%s/%s", data_dir, CW_DAEMON_SNAPSHOT);
        r = cw_config_read_file(path, &old, &old_len);
        if (r < 0)
                return NULL;
        r = cw_config_diff_texts(old, old_len, text, len, &d);
        free(old);
        if (r < 0)
                return NULL;
        cw_config_diff_add_fires(&d, old_cfg, new_cfg, now);
        r = cw_config_diff_format(&d, &out);
        cw_config_diff_release(&d);
        if (r == 0 && !out.p)
                r = cw_buf_puts(&out, "");
        if (r < 0) {
                cw_buf_release(&out);
                return NULL;
        }
        return cw_buf_steal(&out, NULL);
}

int cw_snapshot_record(cw_store *store, const char *text, size_t len, const char *diff, cw_time now)
{
        char version[CW_CONFIG_VERSION_LEN + 1], at[32];
        int r;

        cw_config_version(text, len, version);
        snprintf(at, sizeof(at), "%" PRId64, (int64_t)now);
        r = cw_store_state_set(store, CW_STATE_CONFIG_VERSION, version);
        if (r == 0)
                r = cw_store_state_set(store, CW_STATE_CONFIG_LOADED_AT, at);
        if (r == 0)
                r = cw_store_state_set(store, CW_STATE_CONFIG_DIFF, diff ? diff : "");
        return r;
}
