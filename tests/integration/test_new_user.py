"""What a new user met (docs/running.md, docs/scheduling.md): the daemon's
log says how each run it started ended; catch_up = none starts none of the
fires missed while no scheduler ran. Real daemons; every wait bounded."""

import time

from test_daemon import events, per_second_job, start_daemon, stop_daemon
from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)


def test_daemon_logs_each_run_end_with_status_duration_exit_and_reason(wk):
    ok = wk.script("ok", "exit 0\n")
    bad = wk.script("bad", "echo oops >&2; exit 3\n")
    wk.configure(per_second_job("Good", ok) + per_second_job("Bad", bad), globals="timezone = UTC")
    d = start_daemon(wk)
    try:
        wait_for(lambda: {e.get("job") for e in events(d, "ended")} >= {"Good", "Bad"}, timeout=15,
                 what="an event=ended line for each job")
    finally:
        stop_daemon(wk, d)
    ends = events(d, "ended")
    good = next(e for e in ends if e["job"] == "Good")
    bad_end = next(e for e in ends if e["job"] == "Bad")
    assert good["status"] == "succeeded" and good["exit"] == "0" and good["duration"].endswith("s"), good
    assert bad_end["status"] == "failed" and bad_end["exit"] == "3", bad_end
    assert "level=warning" in bad_end["_line"] or "warning" in bad_end["_line"], bad_end["_line"]
    started = {e["run"] for e in events(d, "started")}
    assert {e["run"] for e in ends} <= started


def down_for_a_while(wk, catch_up, seconds=4):
    """A per-second job's daemon stopped for `seconds` (well inside the
    default 5-minute start_deadline), then started again. Returns
    {status: count} of the fires that fell while no daemon ran."""
    cmd = wk.script("tick", "exit 0\n")
    wk.configure(per_second_job("Tick", cmd, catch_up=catch_up, lock="none"), globals="timezone = UTC")
    d = start_daemon(wk)
    wait_for(lambda: len(wk.db_runs("Tick")) >= 2, timeout=10, what="two fires")
    stop_daemon(wk, d)
    down_from = int(time.time())
    time.sleep(seconds)
    down_to = int(time.time())
    d = start_daemon(wk)
    try:
        wait_for(lambda: any(r["scheduled_at"] > down_to + 1 for r in wk.db_runs("Tick")), timeout=10,
                 what="a fire after the restart")
    finally:
        stop_daemon(wk, d)
    down = [r for r in wk.db_runs("Tick") if down_from < r["scheduled_at"] < down_to]
    assert len(down) >= seconds - 2, down
    out = {}
    for r in down:
        out[r["status"]] = out.get(r["status"], 0) + 1
    return out


def test_catch_up_none_starts_no_fire_missed_while_down(wk):
    got = down_for_a_while(wk, "none")
    assert set(got) == {"missed"}, got


def test_catch_up_once_starts_at_most_the_latest_fire_missed_while_down(wk):
    got = down_for_a_while(wk, "once")
    assert got.get("missed", 0) >= 1 and sum(v for k, v in got.items() if k != "missed") <= 1, got


def test_catch_up_all_starts_every_fire_missed_while_down(wk):
    got = down_for_a_while(wk, "all")
    assert "missed" not in got, got
