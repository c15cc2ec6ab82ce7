"""A PostgreSQL server away for a while under a running daemon
(docs/store.md, "When the server goes away"): the daemon logs the outage
once when it starts and once when it ends; a run that finishes while the
server is away keeps its outcome in data_dir's journal and is recorded
when the server is back (never `lost`, never twice); no fire runs twice.
The test has a server of its own (tests/pg/pgserver.sh), stopped and
started again on the same port."""
import subprocess
import time

import pytest

from conftest import REPO
from test_daemon import events, start_daemon, stop_daemon
from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)

PGSERVER = str(REPO / "tests/pg/pgserver.sh")


@pytest.fixture
def own_pg():
    """A server of the test's own: (url, its directory)."""
    proc = subprocess.run([PGSERVER, "start"], capture_output=True, text=True, timeout=120)
    if proc.returncode == 77:
        pytest.skip("PostgreSQL is not installed: " + proc.stderr.strip())
    assert proc.returncode == 0, proc.stderr
    url, stop = proc.stdout.splitlines()[:2]
    pgdir = stop.split()[-1]
    try:
        yield url, pgdir
    finally:
        subprocess.run([PGSERVER, "stop", pgdir], capture_output=True, timeout=60)


def test_server_away_longer_than_retries_logs_once_and_loses_no_outcome(wk, own_pg):
    url, pgdir = own_pg
    wk.pg_url = url
    fires = wk.tmp / "fires.log"
    tick = wk.script("tick", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {fires}\n')
    slow = wk.script("slow", "sleep 2\necho done-slow\n")
    wk.configure(job("Tick", tick, schedule="*/2 * * * * *", concurrency="allow", lock="none") + "\n" +
                 job("Slow", slow, schedule="@reboot"), globals="timezone = UTC")
    d = start_daemon(wk)
    slow_run = wait_for(lambda: next((r for r in wk.db_runs("Slow") if r["status"] == "running"), None),
                        timeout=10, what="Slow to run")
    subprocess.run([PGSERVER, "down", pgdir], check=True, timeout=60)
    # Slow ends now, with nowhere to write: its worker retries for 30 s,
    # then keeps the outcome in data_dir's journal.
    time.sleep(36)
    subprocess.run([PGSERVER, "up", pgdir], check=True, timeout=60)
    wait_for(lambda: any(r["id"] == slow_run["id"] and r["status"] == "succeeded"
                         for r in wk.db_runs("Slow")), timeout=20, what="Slow's outcome from the journal")
    n = len(wk.db_runs("Tick"))
    wait_for(lambda: len(wk.db_runs("Tick")) >= n + 2, timeout=15, what="Tick to fire again")
    stop_daemon(wk, d, timeout=40)
    assert len(events(d, "store_unreachable")) == 1, events(d)
    back = events(d, "store_reachable")
    assert len(back) == 1 and int(back[0]["down_ms"]) >= 30000, back
    # Passes that failed while it was away: one line when they began, one
    # when they ended.
    assert len([e for e in events(d, "error") if e.get("what") == "pass"]) <= 1, events(d)
    assert len(events(d, "recovered")) <= 1
    slow_rows = wk.db_runs("Slow")
    assert [(r["status"], r["exit_code"]) for r in slow_rows] == [("succeeded", 0)], slow_rows
    assert wk.db_output(slow_rows[0]["id"]) == b"done-slow\n"
    ticks = [r["scheduled_at"] for r in wk.db_runs("Tick") if r["trigger"] == "schedule"]
    assert len(ticks) == len(set(ticks)), "a fire ran twice"
    lines = fires.read_text().split()
    assert len(lines) == len(set(lines)), "a fire's job ran twice"
