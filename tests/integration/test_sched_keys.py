"""The scheduling keys of docs/config.md and docs/scheduling.md ("Jitter",
"Capping runs"): `jitter`, `max_running` with `priority`, `max_load`.
Real processes; the clock is pinned with CRONWARDEN_FAKE_NOW (the daemon's
runs on from it) and the load average comes from a file named by
CRONWARDEN_LOADAVG."""

import calendar
import re
import time

from test_daemon import err_text, events, start_daemon, stop_daemon
from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)

M64 = (1 << 64) - 1


def _fnv1a(data):
    h = 0xcbf29ce484222325
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & M64
    return h


def _mix(x):
    x = (x + 0x9e3779b97f4a7c15) & M64
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


def jitter_delay(spec, t, jitter):
    """docs/scheduling.md, Jitter: the delay of the fire at t of spec."""
    return _mix(_fnv1a(spec.encode()) ^ _mix(t)) % (jitter + 1)


def epoch(iso):
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def at(t):
    return {"CRONWARDEN_FAKE_NOW": iso(t)}


# ---- check ---------------------------------------------------------------------

def test_check_accepts_the_keys_and_refuses_bad_values(wk):
    wk.configure(job("A", "/bin/true", jitter="30s", priority="10", schedule="@hourly"),
                 globals="max_running = 4\nmax_load = 2.5")
    r = wk("check")
    assert r.returncode == 0, r.stderr
    for key, value, msg in (("jitter", "8d", "jitter: expected a duration of at most"),
                            ("priority", "1001", "priority: expected a whole number from -1000 to 1000")):
        wk.configure(job("A", "/bin/true", **{key: value}))
        r = wk("check")
        assert r.returncode == 2 and msg in r.stderr, r.stderr
    wk.configure(job("A", "/bin/true"), globals="max_load = 0")
    r = wk("check")
    assert r.returncode == 2 and "max_load: expected a load average above 0" in r.stderr


# ---- jitter ---------------------------------------------------------------------

def _jittered_name(t, jitter, lo, hi):
    """A job name whose fire at t is delayed by a value in [lo, hi]."""
    for k in range(1000):
        name = f"J{k}"
        if lo <= jitter_delay(name, t, jitter) <= hi:
            return name
    raise AssertionError("no name found")


def test_jitter_delays_a_tick_fire_and_keeps_its_instant(wk):
    base = epoch("2030-01-01T00:40:00Z")  # after the 00:00 fire's last possible due instant
    fire = epoch("2030-01-01T01:00:00Z")
    name = _jittered_name(fire, 1800, 120, 1700)
    d = jitter_delay(name, fire, 1800)
    log = wk.tmp / "fires.log"
    cmd = wk.script("j", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {log}\n')
    wk.configure(job(name, cmd, schedule="0 * * * *", jitter="30m"))
    wk.ok("tick", env=at(base))
    # Before its due instant: nothing; at it: started, recorded at the hour.
    assert "started" not in wk.ok("tick", env=at(fire + d - 60)).stdout
    assert "started" not in wk.ok("tick", env=at(fire + d - 1)).stdout
    out = wk.ok("tick", env=at(fire + d)).stdout
    assert f"started run" in out and "fire 2030-01-01T01:00:00+00:00" in out, out
    assert "started" not in wk.ok("tick", env=at(fire + d + 30)).stdout
    rows = wk.db_runs(name)
    assert [r["scheduled_at"] for r in rows] == [fire]
    assert rows[0]["started_us"] // 1_000_000 == fire + d
    wait_for(lambda: log.exists() and log.read_text().strip(), what="the job to run")
    assert log.read_text().split() == ["2030-01-01T01:00:00+00:00"]


def test_next_info_and_the_job_page_show_the_jitter(wk):
    base = epoch("2030-01-01T00:30:00Z")
    wk.configure(job("Report", "/bin/true", schedule="0 * * * *", jitter="30m"))
    out = wk.ok("next", "0 * * * *", "--job", "Report", "--from", iso(base), "-n", "3").stdout
    lines = out.splitlines()
    assert len(lines) == 3, out
    for k, line in enumerate(lines):
        t = base + 1800 + 3600 * k
        d = jitter_delay("Report", t, 1800)
        m = re.fullmatch(r"(\S+)  jitter \+(\S+): due (\S+)", line)
        assert m, line
        assert m[1] == time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))
        assert m[3] == time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t + d)), line
    # JSON stays a list of the nominal instants.
    js = wk.ok("next", "0 * * * *", "--job", "Report", "--from", iso(base), "-n", "1", "--json").stdout
    assert js.strip() == '["2030-01-01T01:00:00+00:00"]'
    info = wk.ok("info", "Report", env=at(base)).stdout
    assert "Jitter:       up to 30m after each scheduled fire" in info, info
    d = jitter_delay("Report", base + 1800, 1800)
    due = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(base + 1800 + d))
    assert f"2030-01-01T01:00:00+00:00  jitter +" in info and f"due {due}" in info, info


def test_daemon_starts_each_fire_at_its_jittered_instant(wk):
    """Every 5 s with a 4 s jitter: each fire starts at its own delay
    (some after the next fire's instant), exactly once, recorded at its
    nominal instant."""
    wk.configure(job("Spread", "/bin/true", schedule="*/5 * * * * *", jitter="4s",
                     concurrency="allow"))
    d = start_daemon(wk, env={"CRONWARDEN_FAKE_NOW": "2030-01-01T00:00:00Z",
                              "CRONWARDEN_FAKE_NOW_MONO": None})
    wait_for(lambda: len(wk.db_runs("Spread")) >= 3, timeout=25, what="three jittered fires")
    stop_daemon(wk, d)
    rows = wk.db_runs("Spread")
    fires = [r["scheduled_at"] for r in rows]
    assert len(fires) == len(set(fires)), fires
    assert all(f % 5 == 0 for f in fires), fires
    for r in rows:
        delay = jitter_delay("Spread", r["scheduled_at"], 4)
        late = r["started_us"] / 1e6 - (r["scheduled_at"] + delay)
        assert 0 <= late < 1.0, (r, delay)


# ---- max_running and priority ------------------------------------------------------

def test_max_running_holds_runs_queued_and_starts_them_by_priority(wk):
    order = wk.tmp / "order.log"
    hold = wk.script("hold", f"echo $CRONWARDEN_JOB >> {order}\nwait_gate $CRONWARDEN_JOB\n")
    wk.configure(job("Long", hold) + job("Low", hold, priority="-5") + job("High", hold, priority="5")
                 + job("Mid", hold), globals="max_running = 1")
    d = start_daemon(wk)
    wk.ok("request", "Long")
    wk.wait_running("Long")
    for name in ("Low", "Mid", "High"):
        wk.ok("request", name)
    queued = wait_for(lambda: len(events(d, "queued")) == 3 and events(d, "queued"),
                      what="three event=queued lines")
    assert all(q["reason"] == "max_running = 1 runs are running" for q in queued), queued
    # Visible as queued while they wait, and not started.
    st = {r["job"]: r for r in wk.status()}
    assert {st[n]["status"] for n in ("Low", "Mid", "High")} == {"queued"}, st
    assert order.read_text().split() == ["Long"]
    # `cronwarden run` is neither held back nor counted.
    quick = wk.script("quick", "exit 0\n")
    wk.configure(job("Long", hold) + job("Low", hold, priority="-5") + job("High", hold, priority="5")
                 + job("Mid", hold) + job("Quick", quick), globals="max_running = 1")
    wk.ok("run", "Quick", timeout=20)
    for name, nxt in (("Long", "High"), ("High", "Mid"), ("Mid", "Low")):
        wk.open_gate(name)
        wait_for(lambda: order.read_text().split()[-1:] == [nxt], what=f"{nxt} to start after {name}")
        time.sleep(0.3)  # nothing else starts beside it
        assert len([r for r in wk.db_runs() if r["status"] == "running"]) == 1
    wk.open_gate("Low")
    assert order.read_text().split() == ["Long", "High", "Mid", "Low"]
    stop_daemon(wk, d)


def test_waiting_runs_outlive_a_daemon_restart(wk):
    order = wk.tmp / "order.log"
    hold = wk.script("hold", f"echo $CRONWARDEN_JOB >> {order}\nwait_gate $CRONWARDEN_JOB\n")
    wk.configure(job("Long", hold) + job("Next", hold), globals="max_running = 1")
    d = start_daemon(wk)
    wk.ok("request", "Long")
    wk.wait_running("Long")
    wk.ok("request", "Next")
    wait_for(lambda: events(d, "queued"), what="Next to wait")
    stop_daemon(wk, d)
    d = start_daemon(wk)
    time.sleep(1.0)
    assert [r["status"] for r in wk.db_runs("Next")] == ["queued"]
    assert order.read_text().split() == ["Long"]
    wk.open_gate("Long")
    wait_for(lambda: order.read_text().split() == ["Long", "Next"], what="Next to start")
    wk.open_gate("Next")
    stop_daemon(wk, d)
    # The worker marks its run after the job's exec, on its own: under load
    # that can come after the daemon stopped, so it is waited for (bounded).
    wait_for(lambda: [r["status"] for r in wk.db_runs("Next")] != ["queued"],
             what="Next's worker to record its run")


def test_tick_skips_a_start_over_max_running(wk):
    hold = wk.script("hold", "wait_gate go\n")
    wk.configure(job("Manual", hold) + job("Held", hold) + job("Sec", "/bin/true", schedule="* * * * * *"),
                 globals="max_running = 1")
    p = wk.spawn("run", "Manual")
    wk.wait_running("Manual")
    # A manual run does not count: the tick is free to start one.
    wk.ok("tick", "--silent")
    wk.ok("request", "Held")
    out = wk.ok("tick").stdout
    assert re.search(r"started run \d+ Held \(request", out), out
    wk.wait_running("Held")
    time.sleep(1.1)
    out = wk.ok("tick").stdout
    assert re.search(r"skipped Sec \(fire .*\): max_running = 1 runs are running \(tick does not wait\)", out), out
    wk.open_gate("go")
    p.finish()


# ---- max_load -------------------------------------------------------------------------

def test_max_load_defers_starts_then_records_missed(wk):
    load = wk.tmp / "loadavg"
    load.write_text("5.00 3.00 1.00 1/100 4242\n")
    wk.configure(job("Busy", "/bin/true", schedule="* * * * * *", concurrency="allow",
                     start_deadline="2s"),
                 globals="max_load = 2")
    d = start_daemon(wk, env={"CRONWARDEN_LOADAVG": str(load)})
    missed = wait_for(lambda: [r for r in wk.db_runs("Busy") if r["status"] == "missed"],
                      timeout=15, what="a fire held past its start_deadline")
    assert "not started within start_deadline (2s): the load average 5.00 is above max_load = 2" \
        in missed[0]["reason"], missed[0]
    assert not [r for r in wk.db_runs("Busy") if r["status"] in ("running", "succeeded")]
    ev = events(d, "missed")
    assert ev and "max_load = 2" in ev[0]["reason"]
    dropped = time.time()
    load.write_text("0.50 3.00 1.00 1/100 4242\n")
    ok = wait_for(lambda: [r for r in wk.db_runs("Busy") if r["status"] == "succeeded"],
                  timeout=10, what="a start once the load fell")
    assert all(r["started_us"] / 1e6 >= dropped - 0.5 for r in ok)
    stop_daemon(wk, d)
    fires = [r["scheduled_at"] for r in wk.db_runs("Busy")]
    assert len(fires) == len(set(fires))


def test_tick_skips_a_start_above_max_load(wk):
    load = wk.tmp / "loadavg"
    load.write_text("9.25 3.00 1.00 1/100 4242\n")
    wk.configure(job("Sec", "/bin/true", schedule="* * * * * *"), globals="max_load = 4")
    env = {"CRONWARDEN_LOADAVG": str(load)}
    wk.ok("tick", "--silent", env=env)
    time.sleep(1.1)
    out = wk.ok("tick", env=env).stdout
    assert re.search(r"skipped Sec \(fire .*\): the load average 9.25 is above max_load = 4", out), out
    load.write_text("1.00 3.00 1.00 1/100 4242\n")
    time.sleep(1.1)
    assert "started run" in wk.ok("tick", env=env).stdout
