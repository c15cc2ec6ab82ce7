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
