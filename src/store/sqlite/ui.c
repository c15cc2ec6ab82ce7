/* ui.c - UI-created schedule entries in the SQLite backend (store.h,
 * "UI-created schedule entries"; sqlite_internal.h): stored as text,
 * validated by the caller, each write one statement. */
#include "store/sqlite/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>

int sq_ui_entry_add(cw_store *s, cw_ui_entry *e)
{
        sq_exec x = SQ_EXEC(ST_UI_ADD, SQ_TEXT(e->schedule), SQ_TEXT(e->spec), SQ_TEXT(e->command),
                            SQ_TEXT(e->description ? e->description : ""), SQ_INT(e->enabled),
                            SQ_TEXT(e->created_by), SQ_INT(e->created_us), SQ_INT(e->updated_us));
        int r = sq_exec_write(sq_of(s), &x);

        if (r == 0)
                e->id = x.rowid;
        return r;
}

int sq_ui_entry_update(cw_store *s, const cw_ui_entry *e)
{
        sq_exec x = SQ_EXEC(ST_UI_UPDATE, SQ_INT(e->id), SQ_TEXT(e->schedule), SQ_TEXT(e->spec),
                            SQ_TEXT(e->command), SQ_TEXT(e->description ? e->description : ""),
                            SQ_INT(e->enabled), SQ_INT(e->updated_us));
        int r = sq_exec_write(sq_of(s), &x);

        return r == 0 && x.changes == 0 ? -ENOENT : r;
}

int sq_ui_entry_delete(cw_store *s, int64_t id)
{
        sq_exec x = SQ_EXEC(ST_UI_DELETE, SQ_INT(id));
        int r = sq_exec_write(sq_of(s), &x);

        return r == 0 && x.changes == 0 ? -ENOENT : r;
}

static int ui_entry_row(sqlite3_stmt *st, void *item)
{
        cw_ui_entry u = {0};
        int e;

        u.id = sqlite3_column_int64(st, 0);
        u.enabled = sqlite3_column_int(st, 5) != 0;
        u.created_us = sqlite3_column_int64(st, 7);
        u.updated_us = sqlite3_column_int64(st, 8);
        e = sq_dup_text(st, 1, &u.schedule);
        if (e == 0)
                e = sq_dup_text(st, 2, &u.spec);
        if (e == 0)
                e = sq_dup_text(st, 3, &u.command);
        if (e == 0)
                e = sq_dup_text(st, 4, &u.description);
        if (e == 0)
                e = sq_dup_text(st, 6, &u.created_by);
        if (e == 0 && (!u.schedule || !u.description))
                e = -EIO;
        if (e < 0) {
                cw_ui_entry_release(&u);
                return e;
        }
        *(cw_ui_entry *)item = u;
        return 0;
}

static void ui_entry_release(void *item)
{
        cw_ui_entry_release(item);
}

int sq_ui_entry_get(cw_store *s, int64_t id, cw_ui_entry *ret)
{
        if (id <= 0)
                return -ENOENT;
        return sq_read_id(sq_of(s), ST_UI_GET, id, ui_entry_row, ret);
}

static int ui_list_read(sq_store *q, void *ctx)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int e = sq_stmt(q, ST_UI_LIST, &st);

        return e < 0 ? e : sq_rows_read(q, st, ctx);
}

int sq_ui_entries_list(cw_store *s, cw_ui_entry **ret, size_t *ret_n)
{
        sq_rows rows = {
                .size = sizeof(cw_ui_entry), .read = ui_entry_row, .release = ui_entry_release};
        int r = sq_read(sq_of(s), ui_list_read, &rows);

        if (r < 0)
                return r;
        *ret = rows.items;
        *ret_n = rows.n;
        return 0;
}
