"""Living through deploys (docs/scheduling.md, "Editing a schedule",
"Draining before a deploy", "Maintenance windows"; docs/running.md for
`diff`): real processes, the clock pinned with CRONWARDEN_FAKE_NOW where
the test needs an exact instant."""

import datetime
import os
import signal
import time

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)
from test_daemon import events, start_daemon, stop_daemon, wait_asleep


def epoch(iso):
    return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def tick_at(wk, iso):
    return wk.ok("tick", "--silent", env={"CRONWARDEN_FAKE_NOW": iso})


def schedule_runs(wk, name):
    return [r for r in wk.db_runs(name) if r["trigger"] == "schedule"]


# ---- 1. editing a schedule never fires a job by itself ---------------------------------------

def hourly_config(wk, a_schedule):
    wk.configure(job("A", "/bin/true", schedule=a_schedule)
                 + job("B", "/bin/true", schedule="0 * * * *")
                 + job("C", "/bin/true", schedule="0 * * * *", catch_up="all"))


def test_edit_at_45_does_not_fire_the_new_spec_tick(wk):
    """0 * * * * edited to 30 * * * * at :45: no run at :45 (the :30 fire
    came before the edit: it is neither started nor recorded missed);
    the new spec fires at the next :30; unchanged jobs keep their fires."""
    hourly_config(wk, "0 * * * *")
    tick_at(wk, "2030-01-01T10:00:00Z")
    hourly_config(wk, "30 * * * *")
    tick_at(wk, "2030-01-01T10:45:00Z")
    assert wk.db_runs("A") == []
    tick_at(wk, "2030-01-01T11:00:05Z")
    assert wk.db_runs("A") == []
    assert [r["scheduled_at"] for r in schedule_runs(wk, "B")] == [epoch("2030-01-01T11:00:00Z")]
    tick_at(wk, "2030-01-01T11:30:05Z")
    assert [r["scheduled_at"] for r in schedule_runs(wk, "A")] == [epoch("2030-01-01T11:30:00Z")]


def test_unchanged_job_catches_up_across_an_edit_of_another(wk):
    """A tick that sees an edit still catches up the fires the unchanged
    jobs missed (catch_up = all: every one)."""
    hourly_config(wk, "0 * * * *")
    tick_at(wk, "2030-01-01T09:30:00Z")
    hourly_config(wk, "30 * * * *")
    tick_at(wk, "2030-01-01T12:45:00Z")
    assert wk.db_runs("A") == []
    assert len(schedule_runs(wk, "C")) == 3
    assert {r["status"] for r in schedule_runs(wk, "B")} >= {"missed"}


def test_edit_under_a_sleeping_daemon_does_not_fire(wk):
    """The daemon slept since 10:00 (next fire 11:00); at 10:44 the spec is
    edited to 30 * * * * and SIGHUP applies it: the pass that follows finds
    no :30 fire to start or record."""
    hourly_config(wk, "0 * * * *")
    d = start_daemon(wk, env={"CRONWARDEN_FAKE_NOW": "2030-01-01T10:44:50Z"})
    wait_asleep(d)
    con = wk._db()
    con.execute("UPDATE scheduler_state SET value = ? WHERE key = 'last_pass'",
                (str(epoch("2030-01-01T10:00:00Z")),))
    con.commit()
    con.close()
    hourly_config(wk, "30 * * * *")
    os.kill(d.pid, signal.SIGHUP)
    wait_for(lambda: events(d, "reload"), timeout=10, what="event=reload")
    wait_asleep(d)
    stop_daemon(wk, d)
    assert wk.db_runs("A") == []
    assert not [e for e in events(d) if e.get("job") == "A"]


def test_unchanged_job_fires_through_a_hundred_reloads(wk):
    """A per-second job fires every second, exactly once, while another
    job's schedule is edited and reloaded a hundred times; the edited job
    (yearly specs) never fires."""
    log = wk.tmp / "fires.log"
    cmd = wk.script("sec", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')

    def write(i):
        wk.configure(job("Sec", cmd, schedule="* * * * * *", concurrency="allow")
                     + job("Other", "/bin/true", schedule=f"0 0 {1 + i % 28} 1 *"))
    write(0)
    d = start_daemon(wk)
    for i in range(1, 101):
        write(i)
        os.kill(d.pid, signal.SIGHUP)
        time.sleep(0.03)
    wait_for(lambda: len(events(d, "reload")) >= 100, timeout=20, what="a hundred reloads")
    time.sleep(1.2)
    stop_daemon(wk, d, within=5.0)
    assert wk.db_runs("Other") == []
    fires = sorted(r["scheduled_at"] for r in schedule_runs(wk, "Sec"))
    assert len(fires) >= 4, fires
    assert len(fires) == len(set(fires)), "a fire was started twice"
    assert fires == list(range(fires[0], fires[-1] + 1)), f"a second was lost: {fires}"
