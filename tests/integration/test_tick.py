"""`cronwarden tick` (docs/scheduling.md): real
processes and real time, with 6-field second-level specs so each test
takes a few seconds. The deterministic cases (catch-up, clock jumps, DST
days, retries, dependencies) are unit tests in tests/unit/test_sched.c."""

import json
import os
import subprocess
import time
from collections import Counter

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)


def _env(wk):
    """The environment wk.spawn gives cronwarden (its test tag included)."""
    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    env.update(wk.env)
    return env


def _tick_json(wk):
    r = wk.ok("tick", "--json")
    return json.loads(r.stdout)


def test_first_pass_starts_nothing_old_then_fires_each_second(wk):
    log = wk.tmp / "fires.log"
    cmd = wk.script("sec", f'echo "$CRONWARDEN_SCHEDULED_AT $CRONWARDEN_RUN_ID" >> {log}\n')
    wk.configure(job("Sec", cmd, schedule="* * * * * *", concurrency="allow"))
    first = _tick_json(wk)
    assert first["first_pass"] is True
    assert first["actions"] == []
    time.sleep(2.2)
    second = _tick_json(wk)
    assert second["first_pass"] is False
    started = [a for a in second["actions"] if a["action"] == "started"]
    assert 2 <= len(started) <= 3, second
    assert all(a["trigger"] == "schedule" and a["run"] for a in started)
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == len(started),
             what="the started jobs to run")
    # CRONWARDEN_SCHEDULED_AT is the fire's own instant, once per fire.
    fired = [line.split()[0] for line in log.read_text().splitlines()]
    assert sorted(fired) == sorted(a["scheduled_at"] for a in started)


def test_concurrent_ticks_start_every_fire_exactly_once(wk):
    """10 tick loops racing over ~8 s of per-second fires: each fire is
    started once (runs table and the job's own side effects agree), and
    no second in between is lost."""
    log = wk.tmp / "fires.log"
    cmd = wk.script("once", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')
    wk.configure(job("Once", cmd, schedule="* * * * * *", concurrency="allow"))
    wk.ok("tick", "--silent")
    deadline = time.monotonic() + 8
    loops = []
    for _ in range(10):
        loops.append(subprocess.Popen(
            ["/bin/sh", "-c",
             f'while [ $(date +%s) -lt {int(time.time()) + 8} ]; do "$0" --config "$1" tick --silent; done',
             str(wk.binary), str(wk.config)],
            env=_env(wk), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    for p in loops:
        _, err = p.communicate(timeout=max(5, deadline - time.monotonic() + 30))
        assert p.returncode == 0, err
    wk.ok("tick", "--silent")
    rows = [r for r in wk.db_runs("Once") if r["trigger"] == "schedule"]
    per_fire = Counter(r["scheduled_at"] for r in rows)
    assert len(per_fire) >= 7, f"only {len(per_fire)} fires in ~8 s"
    doubled = {k: v for k, v in per_fire.items() if v > 1}
    assert not doubled, f"fires started more than once: {doubled}"
    # Consecutive seconds: none skipped between the first and the last.
    fires = sorted(per_fire)
    assert fires == list(range(fires[0], fires[-1] + 1)), fires
    # The jobs' own side effects say the same.
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == len(rows),
             what="every started job to write its line")
    lines = log.read_text().splitlines()
    assert len(lines) == len(set(lines))


def test_forbid_skips_while_running_and_allow_overlaps(wk):
    hold = wk.script("hold", "wait_gate go\n")
    wk.configure(job("Forbid", hold, schedule="* * * * * *")
                 + job("Allow", hold, schedule="* * * * * *", concurrency="allow"))
    wk.ok("tick")
    time.sleep(1.1)
    wk.ok("tick")
    wait_for(lambda: wk.wait_running("Forbid"), what="Forbid to run")
    time.sleep(2.1)
    third = _tick_json(wk)
    by = {}
    for a in third["actions"]:
        by.setdefault(a["job"], []).append(a)
    assert all(a["action"] == "skipped" for a in by["Forbid"]), by["Forbid"]
    assert "still running" in by["Forbid"][0]["reason"]
    assert all(a["action"] == "started" for a in by["Allow"]), by["Allow"]
    assert len(wk.wait_running("Allow", n=3)) >= 3
    skipped = [r for r in wk.db_runs("Forbid") if r["status"] == "skipped"]
    assert skipped and all(r["reason"] for r in skipped)
    wk.open_gate("go")


def test_every_fires_at_start_up_and_dependency_follows(wk):
    wk.configure(job("Poll", "/bin/true", schedule="every 1h") + job("Then", "/bin/true", after="Poll"))
    first = _tick_json(wk)
    assert [(a["job"], a["action"]) for a in first["actions"]] == [("Poll", "started")]
    wait_for(lambda: [r for r in wk.db_runs("Poll") if r["status"] == "succeeded"], what="Poll to succeed")
    time.sleep(1.1)
    second = _tick_json(wk)
    assert [(a["job"], a["trigger"]) for a in second["actions"]] == [("Then", "dependency")]
    time.sleep(1.1)
    assert _tick_json(wk)["actions"] == []


def test_tick_usage_and_bad_config(wk, cw, tmp_config):
    assert wk("tick", "--bogus").returncode == 2
    assert wk("tick", "extra").returncode == 2
    p = cw("--config", tmp_config("[job X]\ncommand = /bin/true\nschedule = 99 * * * *\n"), "tick")
    assert p.returncode == 2
    h = wk.ok("tick", "--help")
    assert "Usage:" in h.stdout


def _every_state(wk):
    con = wk._db()
    try:
        return dict(con.execute(
            "SELECT key, value FROM scheduler_state WHERE key LIKE 'every:%'").fetchall())
    finally:
        con.close()


def test_every_rewritten_in_another_form_keeps_its_last_fire(wk):
    """`every 90m` and `every 1h30m` are one schedule: the previous fire is
    kept under the canonical form (docs/scheduling.md), so editing the one
    into the other does not fire the entry again at once."""
    wk.configure(job("Every", "/bin/true", schedule="every 90m"))
    first = _tick_json(wk)
    assert [a["action"] for a in first["actions"]] == ["started"], first
    state = _every_state(wk)
    assert list(state) == ["every:Every:every 1h30m"], state
    wk.configure(job("Every", "/bin/true", schedule="every 1h30m"))
    again = _tick_json(wk)
    assert again["actions"] == [], again
    assert _every_state(wk) == state


def test_every_state_under_the_old_key_is_read_and_moved(wk):
    """A store written before the canonical key keeps the previous fire
    under the time spec as written: it is still found (no fire at once)
    and copied to the canonical key."""
    wk.configure(job("Every", "/bin/true", schedule="every 90m"))
    _tick_json(wk)
    (value,) = _every_state(wk).values()
    con = wk._db()
    with con:
        con.execute("DELETE FROM scheduler_state WHERE key LIKE 'every:%'")
        con.execute("INSERT INTO scheduler_state (key, value) VALUES (?, ?)",
                    ("every:Every:every 90m", value))
    con.close()
    again = _tick_json(wk)
    assert again["actions"] == [], again
    assert _every_state(wk) == {"every:Every:every 90m": value,
                                "every:Every:every 1h30m": value}
