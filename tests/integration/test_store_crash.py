"""kill -9 of a store writer at random moments (docs/store.md, docs/hacking.md, Quality targets): the
SQLite file is never corrupt and no run the writer was told is recorded is
lost.

The writer is tests/tools/store_writer.c: it loops inserting a run,
storing progress and finishing it with an output made from the run's id,
and prints each id only after cw_store_run_finish returned. The test starts
it over and over on the same store, SIGKILLs it after a random delay
(during open and migration in the first rounds, mid-transaction later,
sometimes during a 128 KiB commit), and checks the file afterwards with
Python's own sqlite3 module, behind the store's back.
"""

import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import SANITIZER_MARKERS

ROUNDS = 30
TIME_BUDGET_S = 20
# The schema version src/store/sqlite/schema.c migrates a new file to.
STORE_SCHEMA_VERSION = 5


# Byte i of run r's pattern is (r + 7 * i) & 0xff: periodic in i with
# period 256, so one 256-byte block per r % 256, repeated, gives it fast.
_BLOCKS = [bytes((r + 7 * i) & 0xFF for i in range(256)) for r in range(256)]


def expected_output(run_id):
    """What store_writer stores for run_id (see the top of store_writer.c)."""
    n = (run_id * 7919) % 6000
    if run_id % 200 == 0:
        n += 128 * 1024
    block = _BLOCKS[run_id % 256]
    return f"run {run_id}\n".encode() + (block * (n // 256 + 1))[:n]


def run_writer(binary, data_dir, delay):
    """Starts the writer, SIGKILLs it after `delay` seconds (unless it
    died first) and returns the ids it reported on complete lines."""
    proc = subprocess.Popen(
        [str(binary), str(data_dir)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=delay)
        pytest.fail(f"writer ended by itself (exit {proc.returncode}):\n{err.decode()}")
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    err = err.decode(errors="replace")
    for marker in SANITIZER_MARKERS:
        assert marker not in err, err
    assert "store_writer:" not in err, err
    # A line cut by the kill (no newline yet) was not reported.
    lines = out.decode().split("\n")[:-1]
    return [int(x) for x in lines]


def test_kill9_loop_loses_no_finished_run(build_dir, tmp_path):
    writer = build_dir / "tests" / "store_writer"
    if not writer.exists():
        pytest.fail(f"{writer} is not built")
    data_dir = tmp_path / "data"
    db = data_dir / "cronwarden.db"
    seed = int(os.environ.get("CW_TEST_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    print(f"seed {seed} (set CW_TEST_SEED to repeat)")

    reported = []
    deadline = time.monotonic() + TIME_BUDGET_S
    rounds = 0
    while rounds < ROUNDS and time.monotonic() < deadline:
        # Early rounds die young (inside open, WAL set-up, migration); later
        # ones live long enough to record a few hundred runs.
        delay = rng.uniform(0.0, 0.05) if rounds < 5 else rng.uniform(0.02, 0.5)
        reported += run_writer(writer, data_dir, delay)
        rounds += 1
    print(f"{rounds} rounds, {len(reported)} runs reported")
    assert rounds >= 10, f"only {rounds} rounds in {TIME_BUDGET_S} s"
    assert len(reported) >= 100, f"the writer recorded only {len(reported)} runs"
    assert len(set(reported)) == len(reported), "an id was reported twice"

    con = sqlite3.connect(db, timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("SELECT max(version) FROM schema_version").fetchone()[0] == STORE_SCHEMA_VERSION
        # One row per migration, each applied exactly once despite the kills.
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == STORE_SCHEMA_VERSION
        rows = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT r.id, r.status, r.exit_code, r.output_size, r.progress_done, o.output "
                "FROM runs r LEFT JOIN run_output o ON o.run_id = r.id"
            )
        }
        for run_id in reported:
            assert run_id in rows, f"run {run_id} was reported finished but is missing"
            status, exit_code, size, progress, output = rows[run_id]
            want = expected_output(run_id)
            assert (status, exit_code, progress) == ("succeeded", 0, 1), run_id
            assert size == len(want), run_id
            assert output == want, f"run {run_id}: output differs"
        # The rest are runs cut short by a kill: at most one per round,
        # left running (the worker's `status` marks such runs lost).
        done = set(reported)
        others = [i for i in rows if i not in done]
        assert len(others) <= rounds
        for run_id in others:
            assert rows[run_id][0] in ("running", "succeeded"), rows[run_id]
        statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM runs")}
        assert statuses <= {"running", "succeeded"}
    finally:
        con.close()

    # The store still opens and records after all that.
    proc = subprocess.run(
        [str(writer), str(data_dir), "3"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    for marker in SANITIZER_MARKERS:
        assert marker not in proc.stderr, proc.stderr
    ids = [int(x) for x in proc.stdout.split()]
    assert len(ids) == 3 and min(ids) > max(rows)
