/* tz.c - time zones read from TZif files (RFC 8536), see tz.h.
 *
 * Representation: the transition instants of the file's newest data block
 * (64-bit for version 2 and later, the 32-bit block only for version 1
 * files), ascending, each with the index of the time type that starts
 * there; the time types (UT offset, DST flag, abbreviation); and the
 * footer's POSIX TZ rule, which governs every instant from the last
 * transition on (the way glibc, Go and Python's zoneinfo read it). Before
 * the first transition time type 0 applies (RFC 8536 §3.2).
 *
 * Transitions that change nothing (same offset, DST flag and abbreviation;
 * zic writes some, e.g. the "big bang" entry and the 2038-01-19 entry of
 * fat files) are dropped at load time so that cw_tz_lookup returns
 * maximal periods. The last one marks where the footer rule takes over, so
 * it is only dropped when the rule already gives the same answers from
 * the transition before it.
 *
 * Leap-second records ("right/" zones) are skipped and their corrections
 * ignored, since instants here are POSIX seconds. Such zones load, but
 * their transition times, which count leap seconds, read up to 27 s late,
 * and their table ends where the leap-second list expires (their footer
 * is empty), as glibc also shows. Standard/wall and UT/local indicators
 * only matter for POSIX TZ strings without rules; they are skipped too.
 *
 * Every count and index in a file is checked against the file's size and
 * the other counts before use; a file that fails a check is rejected with
 * -EINVAL and says which check failed. A zone is immutable once built and
 * can be shared by any number of threads. */
#include "tz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix_tz.h"

#define TZIF_HEADER_SIZE 44
/* Real TZif files are a few kilobytes; anything far bigger is not one. */
#define TZIF_MAX_SIZE ((size_t)4 << 20)
/* RFC 8536 §3.2: utoff SHOULD be within -25:59:59 .. +25:59:59. */
#define UTOFF_MIN (-89999)
#define UTOFF_MAX 93599
#define NAME_MAX_LEN 255

typedef struct tz_type {
        int32_t utoff;
        bool isdst;
        char abbr[CW_TZ_ABBR_MAX + 1];
} tz_type;

struct cw_tz {
        char *name;
        char *source;  /* the file read, NULL for built-in zones */
        char *version; /* tz database version, NULL when unknown */
        size_t n_trans;
        int64_t *trans;      /* ascending */
        uint8_t *trans_type; /* time type starting at trans[i] */
        size_t n_types;      /* 1..256 */
        tz_type *types;
        bool has_rule;
        cw_tz_posix rule;
        int32_t min_off;
        int32_t max_off;
};

void cw_tz_free(cw_tz *tz)
{
        if (!tz)
                return;
        free(tz->name);
        free(tz->source);
        free(tz->version);
        free(tz->trans);
        free(tz->trans_type);
        free(tz->types);
        free(tz);
}

const char *cw_tz_name(const cw_tz *tz)
{
        return tz->name;
}

const char *cw_tz_source(const cw_tz *tz)
{
        return tz->source;
}

const char *cw_tz_version(const cw_tz *tz)
{
        return tz->version;
}

const char *cw_tz_origin(const cw_tz *tz, char *buf, size_t size)
{
        if (!tz->source)
                snprintf(buf, size, "built in");
        else
                snprintf(buf, size, "tzdata %s", tz->version ? tz->version : "(version unknown)");
        return buf;
}

static bool same_posix_date(const cw_tz_posix_date *a, const cw_tz_posix_date *b)
{
        return a->kind == b->kind && a->day == b->day && a->mon == b->mon && a->week == b->week &&
               a->wday == b->wday && a->secs == b->secs;
}

/* Field by field: parse leaves unused fields (and padding) as it likes. */
static bool same_posix(const cw_tz_posix *a, const cw_tz_posix *b)
{
        if (a->std_off != b->std_off || strcmp(a->std_abbr, b->std_abbr) != 0 ||
            a->has_dst != b->has_dst)
                return false;
        if (!a->has_dst)
                return true;
        return a->dst_off == b->dst_off && strcmp(a->dst_abbr, b->dst_abbr) == 0 &&
               a->never_switches == b->never_switches && a->dst_all_year == b->dst_all_year &&
               same_posix_date(&a->start, &b->start) && same_posix_date(&a->end, &b->end);
}

static bool same_type(const tz_type *a, const tz_type *b);

bool cw_tz_same_rules(const cw_tz *a, const cw_tz *b)
{
        if (a->n_trans != b->n_trans || a->has_rule != b->has_rule ||
            !same_type(&a->types[0], &b->types[0]))
                return false;
        if (a->has_rule && !same_posix(&a->rule, &b->rule))
                return false;
        for (size_t i = 0; i < a->n_trans; i++)
                if (a->trans[i] != b->trans[i] ||
                    !same_type(&a->types[a->trans_type[i]], &b->types[b->trans_type[i]]))
                        return false;
        return true;
}

void cw_tz_offset_range(const cw_tz *tz, int32_t *ret_min, int32_t *ret_max)
{
        *ret_min = tz->min_off;
        *ret_max = tz->max_off;
}

static void compute_offset_range(cw_tz *tz)
{
        int32_t lo = tz->types[0].utoff, hi = lo;

        for (size_t i = 1; i < tz->n_types; i++) {
                lo = tz->types[i].utoff < lo ? tz->types[i].utoff : lo;
                hi = tz->types[i].utoff > hi ? tz->types[i].utoff : hi;
        }
        if (tz->has_rule) {
                int32_t s = tz->rule.std_off, d = tz->rule.has_dst ? tz->rule.dst_off : s;

                lo = s < lo ? s : lo;
                hi = s > hi ? s : hi;
                lo = d < lo ? d : lo;
                hi = d > hi ? d : hi;
        }
        tz->min_off = lo;
        tz->max_off = hi;
}

/* A zone with no transitions: `types` only, or only a rule. */
static cw_tz *tz_new(const char *name)
{
        cw_tz *tz = calloc(1, sizeof(*tz));

        if (!tz)
                return NULL;
        tz->name = strdup(name);
        tz->types = calloc(1, sizeof(tz_type));
        if (!tz->name || !tz->types) {
                cw_tz_free(tz);
                return NULL;
        }
        tz->n_types = 1;
        return tz;
}

static cw_tz *tz_new_utc(const char *name, const char *abbr)
{
        cw_tz *tz = tz_new(name);

        if (!tz)
                return NULL;
        memcpy(tz->types[0].abbr, abbr, strlen(abbr) + 1);
        compute_offset_range(tz);
        return tz;
}

cw_tz *cw_tz_utc(void)
{
        return tz_new_utc("UTC", "UTC");
}

int cw_tz_from_posix(const char *name, const char *posix, cw_tz **ret, cw_error *err)
{
        cw_tz_posix rule;
        cw_tz *tz;
        int r;

        r = cw_tz_posix_parse(posix, &rule, err);
        if (r < 0)
                return r;
        tz = tz_new(name ? name : posix);
        if (!tz)
                return -ENOMEM;
        /* Without transitions the rule governs all time; type 0 only has to
         * exist, and mirrors standard time for tidiness. */
        tz->types[0].utoff = rule.std_off;
        memcpy(tz->types[0].abbr, rule.std_abbr, sizeof(rule.std_abbr));
        tz->has_rule = true;
        tz->rule = rule;
        compute_offset_range(tz);
        *ret = tz;
        return 0;
}

/* ---- TZif parsing ---------------------------------------------------- */

typedef struct tzif_counts {
        uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

/* The file being parsed, for bounds and messages. */
typedef struct tzif_src {
        const char *path;
        const uint8_t *buf;
        size_t len;
        cw_error *err;
} tzif_src;

static int tzif_bad(const tzif_src *src, const char *what)
{
        return cw_error_set(src->err, -1, 0, "invalid time zone file '%s': %s", src->path, what);
}

static uint32_t be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
        return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads the header at *pos (its version byte into *ret_version unless
 * NULL) and checks the counts against each other. */
static int tzif_header(const tzif_src *src, size_t *pos, uint8_t *ret_version, tzif_counts *ret)
{
        const uint8_t *h = src->buf + *pos;

        if (src->len - *pos >= 4 && memcmp(h, "TZif", 4) != 0)
                return tzif_bad(src, "not a TZif file (bad magic)");
        if (src->len - *pos < TZIF_HEADER_SIZE)
                return tzif_bad(src, "truncated header");
        if (ret_version)
                *ret_version = h[4];
        ret->isut = be32(h + 20);
        ret->isstd = be32(h + 24);
        ret->leap = be32(h + 28);
        ret->time = be32(h + 32);
        ret->type = be32(h + 36);
        ret->chars = be32(h + 40);
        if (ret->isut != 0 && ret->isut != ret->type)
                return tzif_bad(src, "UT indicator count differs from type count");
        if (ret->isstd != 0 && ret->isstd != ret->type)
                return tzif_bad(src, "standard indicator count differs from type count");
        *pos += TZIF_HEADER_SIZE;
        return 0;
}

/* Bytes of the data block described by c, with times of tsize bytes. */
static uint64_t tzif_block_size(const tzif_counts *c, unsigned tsize)
{
        return (uint64_t)c->time * (tsize + 1) + (uint64_t)c->type * 6 + c->chars +
               (uint64_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int tzif_check_block(const tzif_src *src, size_t pos, const tzif_counts *c, unsigned tsize)
{
        if (tzif_block_size(c, tsize) > src->len - pos)
                return tzif_bad(src, "counts run past the end of the file");
        return 0;
}

static int tzif_read_transitions(const tzif_src *src, const uint8_t *p, const tzif_counts *c,
                                 unsigned tsize, cw_tz *tz)
{
        const uint8_t *idx = p + (size_t)c->time * tsize;

        tz->trans = calloc(c->time ? c->time : 1, sizeof(int64_t));
        tz->trans_type = calloc(c->time ? c->time : 1, 1);
        if (!tz->trans || !tz->trans_type)
                return -ENOMEM;
        for (size_t i = 0; i < c->time; i++) {
                int64_t t = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);

                if (i > 0 && t <= tz->trans[i - 1])
                        return tzif_bad(src, "transition times not ascending");
                if (idx[i] >= c->type)
                        return tzif_bad(src, "transition type index out of range");
                tz->trans[i] = t;
                tz->trans_type[i] = idx[i];
        }
        tz->n_trans = c->time;
        return 0;
}

static int tzif_read_types(const tzif_src *src, const uint8_t *p, const tzif_counts *c, cw_tz *tz)
{
        const char *chars = (const char *)p + (size_t)c->type * 6;

        tz->types = calloc(c->type, sizeof(tz_type));
        if (!tz->types)
                return -ENOMEM;
        tz->n_types = c->type;
        for (size_t i = 0; i < c->type; i++) {
                const uint8_t *rec = p + i * 6;
                int32_t utoff = (int32_t)be32(rec);
                const char *abbr, *nul;
                size_t len;

                if (utoff < UTOFF_MIN || utoff > UTOFF_MAX)
                        return tzif_bad(src, "time type offset out of range");
                if (rec[4] > 1)
                        return tzif_bad(src, "time type DST flag not 0 or 1");
                if (rec[5] >= c->chars)
                        return tzif_bad(src, "abbreviation index out of range");
                abbr = chars + rec[5];
                nul = memchr(abbr, '\0', c->chars - rec[5]);
                if (!nul)
                        return tzif_bad(src, "abbreviation not terminated");
                /* Longer abbreviations than any zic writes are cut, not refused. */
                len = (size_t)(nul - abbr);
                len = len > CW_TZ_ABBR_MAX ? CW_TZ_ABBR_MAX : len;
                tz->types[i].utoff = utoff;
                tz->types[i].isdst = rec[4];
                memcpy(tz->types[i].abbr, abbr, len);
                tz->types[i].abbr[len] = '\0';
        }
        return 0;
}

static bool same_type(const tz_type *a, const tz_type *b)
{
        return a->utoff == b->utoff && a->isdst == b->isdst && strcmp(a->abbr, b->abbr) == 0;
}

/* Drops transitions to the type already in force, except the last. */
static void drop_noop_transitions(cw_tz *tz)
{
        size_t m = 0;
        const tz_type *cur = &tz->types[0];

        for (size_t i = 0; i < tz->n_trans; i++) {
                const tz_type *ty = &tz->types[tz->trans_type[i]];

                if (same_type(ty, cur) && i + 1 < tz->n_trans)
                        continue;
                tz->trans[m] = tz->trans[i];
                tz->trans_type[m] = tz->trans_type[i];
                m++;
                cur = ty;
        }
        tz->n_trans = m;
}

/* Parses the data block at pos into tz; the caller checked its size. */
static int tzif_read_block(const tzif_src *src, size_t pos, const tzif_counts *c, unsigned tsize,
                           cw_tz *tz)
{
        const uint8_t *p = src->buf + pos;
        int r;

        if (c->type == 0)
                return tzif_bad(src, "no time types");
        if (c->type > 256)
                return tzif_bad(src, "more than 256 time types");
        if (c->chars == 0)
                return tzif_bad(src, "no abbreviation characters");
        r = tzif_read_transitions(src, p, c, tsize, tz);
        if (r < 0)
                return r;
        r = tzif_read_types(src, p + (size_t)c->time * (tsize + 1), c, tz);
        if (r < 0)
                return r;
        drop_noop_transitions(tz);
        return 0;
}

/* The footer of version 2+ files: '\n', a POSIX TZ string, '\n'. */
static int tzif_read_footer(const tzif_src *src, size_t pos, cw_tz *tz)
{
        _cleanup_free_ char *s = NULL;
        const uint8_t *nl;
        size_t len;
        cw_tz_posix rule;
        cw_error perr;
        int r;

        if (pos >= src->len || src->buf[pos] != '\n')
                return tzif_bad(src, "missing footer");
        nl = memchr(src->buf + pos + 1, '\n', src->len - pos - 1);
        if (!nl)
                return tzif_bad(src, "unterminated footer");
        len = (size_t)(nl - (src->buf + pos + 1));
        if (len == 0)
                return 0; /* no rule: the last time type stays */
        if (memchr(src->buf + pos + 1, '\0', len))
                return tzif_bad(src, "NUL byte in footer");
        s = strndup((const char *)src->buf + pos + 1, len);
        if (!s)
                return -ENOMEM;
        r = cw_tz_posix_parse(s, &rule, &perr);
        if (r < 0)
                return cw_error_set(src->err, -1, 0, "invalid time zone file '%s': footer: %s",
                                    src->path, perr.msg);
        tz->has_rule = true;
        tz->rule = rule;
        return 0;
}

static void rule_type_at(const cw_tz_posix *r, int64_t t, tz_type *ret, int64_t *ret_end)
{
        int64_t start;
        bool dst;

        cw_tz_posix_period(r, t, &dst, &start, ret_end);
        ret->utoff = dst ? r->dst_off : r->std_off;
        ret->isdst = dst;
        memcpy(ret->abbr, dst ? r->dst_abbr : r->std_abbr, sizeof(ret->abbr));
}

/* Drops a no-op last transition when the footer rule, taking over one
 * transition earlier, says the same thing all the way through it. */
static void drop_noop_last(cw_tz *tz)
{
        while (tz->has_rule && tz->n_trans >= 2) {
                size_t n = tz->n_trans;
                const tz_type *prev = &tz->types[tz->trans_type[n - 2]];
                tz_type rule;
                int64_t end;

                if (!same_type(&tz->types[tz->trans_type[n - 1]], prev))
                        return;
                rule_type_at(&tz->rule, tz->trans[n - 2], &rule, &end);
                if (!same_type(&rule, prev) || end <= tz->trans[n - 1])
                        return;
                tz->n_trans--;
        }
}

/* Parses a whole TZif file held in memory into a zone named `name`. */
static int tzif_parse(const tzif_src *src, const char *name, cw_tz **ret)
{
        cw_tz *tz = NULL;
        tzif_counts c;
        uint8_t version;
        size_t pos = 0;
        int r;

        r = tzif_header(src, &pos, &version, &c);
        if (r < 0)
                return r;
        r = tzif_check_block(src, pos, &c, 4);
        if (r < 0)
                return r;
        if (version != 0) {
                /* Version 2+: skip the 32-bit block; the 64-bit one follows. */
                pos += tzif_block_size(&c, 4);
                /* The second header's version byte repeats the first. */
                r = tzif_header(src, &pos, NULL, &c);
                if (r < 0)
                        return r;
                r = tzif_check_block(src, pos, &c, 8);
                if (r < 0)
                        return r;
        }
        tz = calloc(1, sizeof(*tz));
        if (!tz)
                return -ENOMEM;
        tz->name = strdup(name);
        r = tz->name ? tzif_read_block(src, pos, &c, version ? 8 : 4, tz) : -ENOMEM;
        if (r >= 0 && version != 0)
                r = tzif_read_footer(src, pos + tzif_block_size(&c, 8), tz);
        if (r < 0) {
                cw_tz_free(tz);
                return r;
        }
        drop_noop_last(tz);
        compute_offset_range(tz);
        *ret = tz;
        return 0;
}

/* ---- loading files --------------------------------------------------- */

static bool is_name_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '+' || c == '-' || c == '.' || c == '/';
}

/* Zone names are relative paths below the zoneinfo directory that cannot
 * leave it: no leading '/', no empty, "." or ".." components. */
static int validate_name(const char *name, cw_error *err)
{
        size_t len = strlen(name), comp = 0;

        if (len == 0)
                return cw_error_set(err, -1, 0, "empty time zone name");
        if (len > NAME_MAX_LEN)
                return cw_error_set(err, -1, 0, "time zone name too long '%.40s...'", name);
        for (size_t i = 0; i <= len; i++) {
                if (i < len && !is_name_char(name[i]))
                        return cw_error_set(err, (int)i, 1,
                                            "invalid character in time zone name '%s'", name);
                if (i < len && name[i] != '/')
                        continue;
                if (i == comp || (i - comp == 1 && name[comp] == '.') ||
                    (i - comp == 2 && name[comp] == '.' && name[comp + 1] == '.'))
                        return cw_error_set(err, (int)comp, (int)(i - comp) + (i == comp),
                                            "invalid time zone name '%s'", name);
                comp = i + 1;
        }
        return 0;
}

/* Reads a regular file of at most TZIF_MAX_SIZE bytes into *ret. */
static int read_file(int fd, const char *path, const char *name, uint8_t **ret, size_t *ret_len,
                     cw_error *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t len = 0, size;

        if (fstat(fd, &st) < 0) {
                int e = errno;

                cw_error_set(err, -1, 0, "cannot stat time zone file '%s': %m", path);
                return -e;
        }
        if (S_ISDIR(st.st_mode)) {
                /* "Europe" is a directory of zones, not a zone. */
                cw_error_set(err, -1, 0, "unknown time zone '%s' (%s is a directory)", name, path);
                return -ENOENT;
        }
        if (!S_ISREG(st.st_mode))
                return cw_error_set(err, -1, 0, "invalid time zone file '%s': not a regular file",
                                    path);
        if ((uint64_t)st.st_size > TZIF_MAX_SIZE)
                return cw_error_set(err, -1, 0, "invalid time zone file '%s': too large", path);
        size = (size_t)st.st_size;
        buf = malloc(size ? size : 1);
        if (!buf)
                return -ENOMEM;
        while (len < size) {
                ssize_t n = read(fd, buf + len, size - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = errno;

                        cw_error_set(err, -1, 0, "cannot read time zone file '%s': %m", path);
                        return -e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        *ret = CW_TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* Loads the TZif file at path as zone `name`; -ENOENT when it is missing. */
static int load_path(const char *path, const char *name, cw_tz **ret, cw_error *err)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        int fd, r;

        /* O_NONBLOCK so that a FIFO planted in the tree cannot hang us. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                int e = errno;

                if (e == ENOENT || e == ENOTDIR) {
                        cw_error_set(err, -1, 0, "unknown time zone '%s' (no file %s)", name, path);
                        return -ENOENT;
                }
                cw_error_set(err, -1, 0, "cannot open time zone file '%s': %m", path);
                return -e;
        }
        r = read_file(fd, path, name, &buf, &len, err);
        close(fd);
        if (r < 0)
                return r;
        return tzif_parse(&(tzif_src){.path = path, .buf = buf, .len = len, .err = err}, name, ret);
}

/* A version file's first line, in buf: "# version 2024a" (tzdata.zi) or
 * "2024a" (+VERSION). Versions are short and plain ([A-Za-z0-9._-]). */
static int version_from_file(const char *path, bool zi, char *buf, size_t size)
{
        static const char prefix[] = "# version ";
        char line[128];
        const char *v = line;
        ssize_t n;
        size_t len;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return errno == ENOTDIR ? -ENOENT : -errno;
        n = read(fd, line, sizeof(line) - 1);
        close(fd);
        if (n < 0)
                return -EINVAL;
        line[n] = '\0';
        line[strcspn(line, "\n")] = '\0';
        if (zi) {
                if (strncmp(line, prefix, sizeof(prefix) - 1) != 0)
                        return -EINVAL;
                v += sizeof(prefix) - 1;
        }
        len = strlen(v);
        if (len == 0 || len > 32)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!is_name_char(v[i]) || v[i] == '/' || v[i] == '+')
                        return -EINVAL;
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(buf, v, len + 1);
        return 0;
}

int cw_tz_db_version(const char *dir, char *buf, size_t size)
{
        _cleanup_free_ char *path = NULL;
        int r;

        if (asprintf(&path, "%s/tzdata.zi", dir ? dir : CW_TZ_DIR) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        r = version_from_file(path, true, buf, size);
        if (r != -ENOENT)
                return r;
        free(path);
        if (asprintf(&path, "%s/+VERSION", dir ? dir : CW_TZ_DIR) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        return version_from_file(path, false, buf, size);
}

/* Records where tz came from: the file, and the version of the database
 * in dir (none when dir is NULL or has no version file). */
static int set_provenance(cw_tz *tz, const char *source, const char *dir)
{
        char v[64];

        tz->source = strdup(source);
        if (!tz->source)
                return -ENOMEM;
        if (dir && cw_tz_db_version(dir, v, sizeof(v)) == 0) {
                tz->version = strdup(v);
                if (!tz->version)
                        return -ENOMEM;
        }
        return 0;
}

/* Names that work without any file, as tz.h promises: their
 * abbreviation, or NULL for every other name. They never touch the disk,
 * so a damaged tzdata cannot break UTC. */
static const char *builtin_abbr(const char *name)
{
        if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0 || strcmp(name, "Z") == 0)
                return "UTC";
        if (strcmp(name, "GMT") == 0)
                return "GMT";
        return NULL;
}

int cw_tz_load(const char *name, const char *dir, cw_tz **ret, cw_error *err)
{
        _cleanup_free_ char *path = NULL;
        cw_tz *tz = NULL;
        int r;

        cw_error_clear(err);
        r = validate_name(name, err);
        if (r < 0)
                return r;
        if (builtin_abbr(name)) {
                tz = tz_new_utc(name, builtin_abbr(name));
                if (!tz)
                        return -ENOMEM;
                *ret = tz;
                return 0;
        }
        if (asprintf(&path, "%s/%s", dir ? dir : CW_TZ_DIR, name) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        r = load_path(path, name, &tz, err);
        if (r == 0)
                r = set_provenance(tz, path, dir ? dir : CW_TZ_DIR);
        if (r < 0) {
                cw_tz_free(tz);
                return r;
        }
        *ret = tz;
        return 0;
}

/* The zone name in a symlink target: what follows its "zoneinfo/"
 * component, or NULL. */
static const char *name_from_target(const char *target)
{
        const char *name = NULL;

        if (strncmp(target, "zoneinfo/", 9) == 0)
                name = target + 9;
        for (const char *p = strstr(target, "/zoneinfo/"); p; p = strstr(p + 1, "/zoneinfo/"))
                name = p + 10;
        return name && *name ? name : NULL;
}

/* The zoneinfo directory a /etc/localtime link points into, or NULL:
 * the target up to its zone name, relative targets taken from /etc. */
static char *dir_from_target(const char *target, const char *name)
{
        size_t len = (size_t)(name - target);
        char *dir = NULL;

        while (len > 0 && target[len - 1] == '/')
                len--;
        if (len == 0)
                return NULL;
        if (asprintf(&dir, "%s%.*s", target[0] == '/' ? "" : "/etc/", (int)len, target) < 0)
                return NULL;
        return dir;
}

int cw_tz_load_system(cw_tz **ret, cw_error *err)
{
        static const char path[] = "/etc/localtime";
        _cleanup_free_ char *dir = NULL;
        char target[PATH_MAX];
        const char *name = NULL;
        cw_tz *tz = NULL;
        ssize_t n;
        int r;

        cw_error_clear(err);
        n = readlink(path, target, sizeof(target) - 1);
        if (n >= 0) {
                target[n] = '\0';
                name = name_from_target(target);
                dir = name ? dir_from_target(target, name) : NULL;
        }
        r = load_path(path, name ? name : "localtime", &tz, err);
        if (r == -ENOENT) {
                /* No /etc/localtime (or a dangling link) means UTC, as in glibc. */
                tz = cw_tz_utc();
                if (!tz)
                        return -ENOMEM;
                cw_error_clear(err);
                /* The rules are built in: no database version. */
                free(dir);
                dir = NULL;
                r = 0;
        }
        /* Also for the UTC stand-in: a link made later must be noticed. */
        if (r == 0)
                r = set_provenance(tz, path, dir);
        if (r < 0) {
                cw_tz_free(tz);
                return r;
        }
        *ret = tz;
        return 0;
}

/* ---- lookups --------------------------------------------------------- */

/* Number of transitions at or before t. */
static size_t count_at_or_before(const int64_t *trans, size_t n, int64_t t)
{
        size_t lo = 0, hi = n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (trans[mid] <= t)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static void fill_period(cw_tz_period *ret, int64_t start, int64_t end, int32_t utoff, bool isdst,
                        const char *abbr)
{
        ret->start = start;
        ret->end = end;
        ret->utoff = utoff;
        ret->isdst = isdst;
        memcpy(ret->abbr, abbr, sizeof(ret->abbr));
}

/* Instants from the last transition on (or all, without transitions). */
static void lookup_rule(const cw_tz *tz, cw_time t, cw_tz_period *ret)
{
        const cw_tz_posix *r = &tz->rule;
        int64_t start, end;
        bool dst;

        cw_tz_posix_period(r, t, &dst, &start, &end);
        if (tz->n_trans > 0 && start < tz->trans[tz->n_trans - 1])
                start = tz->trans[tz->n_trans - 1];
        fill_period(ret, start, end, dst ? r->dst_off : r->std_off, dst,
                    dst ? r->dst_abbr : r->std_abbr);
}

void cw_tz_lookup(const cw_tz *tz, cw_time t, cw_tz_period *ret)
{
        size_t n = tz->n_trans, i = count_at_or_before(tz->trans, n, t);
        const tz_type *ty;

        if (i == n && tz->has_rule) {
                lookup_rule(tz, t, ret);
                return;
        }
        ty = &tz->types[i == 0 ? 0 : tz->trans_type[i - 1]];
        fill_period(ret, i == 0 ? INT64_MIN : tz->trans[i - 1], i == n ? INT64_MAX : tz->trans[i],
                    ty->utoff, ty->isdst, ty->abbr);
}

int32_t cw_tz_utoff(const cw_tz *tz, cw_time t)
{
        cw_tz_period p;

        cw_tz_lookup(tz, t, &p);
        return p.utoff;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
        int64_t r;

        if (__builtin_sub_overflow(a, b, &r))
                return b > 0 ? INT64_MIN : INT64_MAX;
        return r;
}

static int64_t sat_add(int64_t a, int64_t b)
{
        int64_t r;

        if (__builtin_add_overflow(a, b, &r))
                return b > 0 ? INT64_MAX : INT64_MIN;
        return r;
}

/* Walks the periods that can hold an instant reading `local` (offsets
 * bound them to [local - max_off, local - min_off]). Each period's offset
 * gives one candidate instant, valid when it falls inside the period;
 * valid candidates come out ascending because periods do. With none, the
 * reading is in a gap, which ends where the first period whose local
 * start lies beyond the reading begins. */
int cw_tz_resolve(const cw_tz *tz, int64_t local, cw_time ret[2])
{
        int64_t hi = sat_sub(local, tz->min_off), gap_end = INT64_MAX;
        bool gap_found = false;
        cw_tz_period p;
        int n = 0;

        cw_tz_lookup(tz, sat_sub(local, tz->max_off), &p);
        for (;;) {
                int64_t t;

                if (!__builtin_sub_overflow(local, (int64_t)p.utoff, &t) && t >= p.start &&
                    t < p.end) {
                        ret[n++] = t;
                        if (n == 2)
                                return 2;
                } else if (!gap_found && p.start != INT64_MIN &&
                           sat_add(p.start, p.utoff) > local) {
                        gap_found = true;
                        gap_end = p.start;
                }
                if (p.end == INT64_MAX || p.end > hi)
                        break;
                cw_tz_lookup(tz, p.end, &p);
        }
        if (n == 0)
                /* Without a gap the reading lies beyond the int64 range;
                 * the clamp at least points the right way. */
                ret[0] = gap_found ? gap_end : sat_sub(local, p.utoff);
        return n;
}
