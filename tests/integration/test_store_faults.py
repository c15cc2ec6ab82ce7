"""Store faults (docs/store.md, when the store fails): a store that stays
busy, a damaged file, a full disk, a deleted file. Each must be reported as
what it is, never as something else (a held lock, "Input/output error"),
and a finished run's outcome must never be lost. Real binaries, real files;
every wait bounded."""

import os
import sqlite3
import subprocess
import time

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)


def hold_write_lock(wk):
    """A connection holding the store's write lock until closed."""
    con = sqlite3.connect(str(wk.db_path), timeout=10, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    return con


def test_store_busy_past_the_timeout_is_not_lock_held(wk):
    wk.configure(job("Free", "/bin/true", lock="none"))
    wk.ok("run", "Free")  # creates the store
    con = hold_write_lock(wk)
    try:
        t0 = time.monotonic()
        r = wk("run", "Free", timeout=90)
        took = time.monotonic() - t0
    finally:
        con.close()
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "already running" not in r.stderr
    assert "the store is busy (another process holds a write transaction for longer than 30s)" in r.stderr
    assert took >= 29


def corrupt_middle(path):
    """Overwrites pages in the middle of a database file with garbage."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(4096)
        f.write(b"\xa5" * min(size - 4096, 4096 * 3))


def test_corrupt_store_says_malformed_not_io_error(wk):
    wk.configure(job("Free", "/bin/echo hi", lock="none"))
    for _ in range(30):
        wk.ok("run", "Free")
    # Everything in the main file, then damage it.
    con = sqlite3.connect(str(wk.db_path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    corrupt_middle(wk.db_path)
    for args in (("run", "Free"), ("tick",), ("history",)):
        r = wk(*args)
        assert r.returncode != 0, (args, r.stdout)
        assert "Input/output error" not in r.stderr, (args, r.stderr)
        assert "malformed" in r.stderr, (args, r.stderr)
        assert "cronwarden store check" in r.stderr, (args, r.stderr)


def test_store_check_reports_damage_and_recovers_what_it_can(wk):
    wk.configure(job("Free", "/bin/echo hi", lock="none"))
    for _ in range(30):
        wk.ok("run", "Free")
    r = wk("store", "check")
    assert r.returncode == 0 and r.stdout.startswith("store: ok"), (r.stdout, r.stderr)
    con = sqlite3.connect(str(wk.db_path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    corrupt_middle(wk.db_path)
    r = wk("store", "check")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "store: malformed" in r.stdout, r.stdout
    assert "--recover" in r.stdout
    dest = wk.tmp / "saved.db"
    r = wk("store", "check", "--recover", dest)
    if r.returncode == 1 and "cannot recover" in r.stderr:
        assert not dest.exists()
        assert ".recover" in r.stderr
    else:
        assert dest.exists() and "recovered" in r.stdout, (r.stdout, r.stderr)
    # Never overwrites a file.
    dest.write_text("keep me")
    r = wk("store", "check", "--recover", dest)
    assert r.returncode == 2 and "exists already" in r.stderr, r.stderr
    assert dest.read_text() == "keep me"


def chattr(flag, *paths):
    return all(subprocess.run(["chattr", flag, str(p)], capture_output=True).returncode == 0 for p in paths)


def store_files(wk):
    return [p for p in (wk.db_path, wk.data_dir / "cronwarden.db-wal") if p.exists()]


def finish_while_unwritable(wk, seconds, check=None):
    """A foreground run whose job ends while the store's files are
    immutable (the disk-full case: no write can land), for `seconds`;
    check(p, rid) runs before they are restored. Returns (the run's
    process, its run id)."""
    out = "".join(f"line {i}\\n" for i in range(200))
    cmd = wk.script("ends", f'printf "{out}"\nwait_gate go\necho done\n')
    wk.configure(job("Ends", cmd, lock="none") + job("Warm", "/bin/true"))
    wk.ok("run", "Warm")  # the store exists, with its WAL
    p = wk.spawn("run", "Ends", "--quiet")
    rid = wk.wait_running("Ends")[0]["id"]
    files = store_files(wk)
    if os.geteuid() != 0 or not chattr("+i", *files):
        chattr("-i", *files)
        wk.open_gate("go")
        p.finish()
        pytest.skip("needs root and a file system with the immutable attribute")
    try:
        wk.open_gate("go")
        time.sleep(seconds)
        if check:
            check(p, rid)
    finally:
        chattr("-i", *files)
    return p, rid


def assert_real_outcome(wk, rid):
    r = wk.db_run(rid)
    assert r["status"] == "succeeded", r
    out = wk.db_output(rid)
    assert b"line 199\ndone\n" in out, out[-200:]


def test_run_ending_while_the_store_is_unwritable_keeps_its_outcome(wk):
    p, rid = finish_while_unwritable(wk, 2.0)
    p.finish(timeout=30)
    assert_real_outcome(wk, rid)


def test_run_ending_while_the_store_stays_unwritable_is_journaled_then_replayed(wk):
    def kept_in_journal(p, rid):
        # Unwritable for longer than the worker retries: its outcome goes
        # to the journal.
        wait_for(lambda: p.poll() is not None, timeout=40, what="the worker to give up")
        kept = list((wk.data_dir / "journal").iterdir())
        assert [f.name for f in kept] == [str(rid)], kept
        assert oct(kept[0].stat().st_mode & 0o777) == "0o600"

    p, rid = finish_while_unwritable(wk, 0, kept_in_journal)
    # The next command that opens the store records it.
    wk.ok("status")
    assert_real_outcome(wk, rid)
    assert list((wk.data_dir / "journal").iterdir()) == []


def test_store_deleted_under_the_daemon_is_followed_loudly_no_fire_twice(wk):
    from test_daemon import events, per_second_job, start_daemon, stop_daemon
    from collections import Counter

    log = wk.tmp / "fires.log"
    cmd = wk.script("fire", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')
    wk.configure(per_second_job("Tick", cmd, lock="none"), globals="timezone = UTC")
    d = start_daemon(wk)
    try:
        wait_for(lambda: log.exists() and len(log.read_text().split()) >= 2, timeout=10, what="two fires")
        for suffix in ("", "-wal", "-shm"):
            p = wk.data_dir / f"cronwarden.db{suffix}"
            if p.exists():
                p.unlink()
        # tick uses whatever file the path names now, as every other process.
        for _ in range(3):
            wk.ok("tick")
            time.sleep(1.0)
        wait_for(lambda: any(e.get("what") == "store" for e in events(d, "error")), timeout=10,
                 what="the daemon to say the store's file went away")
    finally:
        stop_daemon(wk, d)
    ev = [e for e in events(d, "error") if e.get("what") == "store"]
    assert "deleted or replaced" in ev[0]["_line"] and ev[0].get("action") == "reopened", ev
    starts = Counter(log.read_text().split())
    assert {k: v for k, v in starts.items() if v > 1} == {}
    assert wk.db_runs("Tick"), "nothing recorded in the new file"


@pytest.fixture
def tiny_fs(tmp_path):
    """A 4 MiB tmpfs (root only)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_store_on_a_tiny_file_system_checkpoints_before_the_wal_fills_it_and_recovers(wk, tiny_fs):
    wk.data_dir = tiny_fs / "data"
    out = wk.script("out", "head -c 36000 /dev/urandom | base64\n")
    wk.configure(job("Big", out, lock="none"))
    # About 2 MiB of history: fits, with the WAL checkpointed on the way.
    for i in range(40):
        r = wk("run", "Big", "--quiet")
        assert r.returncode == 0, (i, r.stderr, sorted(p.stat().st_size for p in wk.data_dir.iterdir()))
    wal = wk.data_dir / "cronwarden.db-wal"
    assert wal.stat().st_size <= 4 << 20
    # Fill what is left, fail, then give the space back: the store goes on.
    filler = tiny_fs / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    r = wk("run", "Big", "--quiet")
    filler.unlink()
    for i in range(3):
        r = wk("run", "Big", "--quiet")
        assert r.returncode == 0, (i, r.stderr)
    assert wk.db_runs("Big")[-1]["status"] == "succeeded"
