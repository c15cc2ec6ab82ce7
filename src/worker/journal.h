/* journal.h - a finished run's outcome kept in a file when the store
 * cannot take it (a full disk, an unwritable file), so a run that ended is
 * never recorded lost.
 *
 * A worker whose final store write keeps failing writes the outcome (the
 * fields of cw_store_run_finish and the captured output) to
 * DATA_DIR/journal/RUNID, mode 0600, atomically (a temporary file renamed).
 * The next process that opens the store (run, status, tick, the daemon's
 * pass: cw_journal_replay) records it and removes the file. */
#ifndef CW_WORKER_JOURNAL_H
#define CW_WORKER_JOURNAL_H

#include <stddef.h>

#include "store/store.h"

/* Writes run's outcome (id, status, exit_code, signal, ended_us,
 * output_size, output_truncated, reason) and output into the journal of
 * data_dir. When the whole output does not fit (a full disk), tries again
 * without it, keeping the outcome. 0 or a negative errno. */
int cw_journal_write(const char *data_dir, const cw_run *run, const void *output, size_t len);

/* Records every outcome kept in data_dir's journal into s and removes its
 * file (also when the run is gone from the store). *ret_n (may be NULL)
 * counts the outcomes recorded. A missing journal is 0 with nothing done;
 * an entry that cannot be recorded now stays for the next replay, and the
 * first such error is returned after the others were tried. */
int cw_journal_replay(cw_store *s, const char *data_dir, size_t *ret_n);

#endif
