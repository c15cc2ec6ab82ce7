"""Time that changes under a running daemon (docs/timespec.md "Time zones",
docs/scheduling.md "Clock changes"): a zone file replaced by a tzdata
update, a broken replacement, and jumps of the wall clock.

Zones come from a private TZDIR whose files are compiled in the test with
/usr/sbin/zic from a few lines of source, so a test can give a zone new
rules the way a tzdata update does (a new file renamed over the old one).
Clock jumps use the daemon's test clock (CRONWARDEN_FAKE_NOW) and the
CRONWARDEN_CLOCK_STEP_FILE hook (docs/hacking.md): the test writes the new
instant to the file and sends SIGUSR2, which is what a jump of the real
clock does to the timerfd (TFD_TIMER_CANCEL_ON_SET).

Every wait is bounded; daemons are stopped with SIGTERM and the wk fixture
kills anything left."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from test_daemon import err_text, events, iso_epoch, start_daemon, stop_daemon, wait_asleep
from worker_helpers import job, wait_for, wk  # noqa: F401 (wk is a fixture)

ZIC = shutil.which("zic") or "/usr/sbin/zic"

pytestmark = pytest.mark.skipif(not os.access(ZIC, os.X_OK), reason="zic (libc-bin) is not installed")


# ---- a private tz database -----------------------------------------------------

def zic(tmp, source, name="zone.src"):
    """Compiles tz source text into a fresh directory; returns it."""
    out = tmp / f"zic-{time.monotonic_ns()}"
    out.mkdir()
    src = tmp / name
    src.write_text(source)
    r = subprocess.run([ZIC, "-d", str(out), str(src)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return out


def install_zone(tzdir, built, zone):
    """Puts built/zone into tzdir as a tzdata update does: a new file
    renamed over the old one."""
    dst = tzdir / zone
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".dpkg-new")
    shutil.copyfile(built / zone, tmp)
    os.replace(tmp, dst)


def set_version(tzdir, version):
    tmp = tzdir / "tzdata.zi.new"
    tmp.write_text(f"# version {version}\n# (zones trimmed for the test)\n")
    os.replace(tmp, tzdir / "tzdata.zi")


EST = "Zone Test/City -5:00 - EST\n"
CST = "Zone Test/City -6:00 - CST\n"


def make_tzdir(wk, source=EST, version="2030a"):
    tzdir = wk.tmp / "zoneinfo"
    tzdir.mkdir()
    install_zone(tzdir, zic(wk.tmp, source), "Test/City")
    set_version(tzdir, version)
    return tzdir


def runs_at(wk, name):
    """{scheduled_at: status} of job name's schedule runs."""
    return {r["scheduled_at"]: r["status"] for r in wk.db_runs(name) if r["trigger"] == "schedule"}


def step_clock(wk, d, iso):
    """Moves the daemon's test clock to iso and waits until it says so."""
    n = len(events(d, "clock_changed"))
    (wk.tmp / "step").write_text(iso + "\n")
    os.kill(d.pid, signal.SIGUSR2)
    wait_for(lambda: len(events(d, "clock_changed")) > n, timeout=5, interval=0.01,
             what=f"the daemon to step its clock to {iso}")


def clock_env(wk, now, tzdir=None):
    env = {"CRONWARDEN_FAKE_NOW": now, "CRONWARDEN_FAKE_NOW_MONO": None,
           "CRONWARDEN_CLOCK_STEP_FILE": str(wk.tmp / "step"), "CRONWARDEN_ZONEINFO": None}
    if tzdir:
        env["TZDIR"] = str(tzdir)
    return env


# ---- tzdata updates --------------------------------------------------------------

def test_zone_update_replans_within_a_second_and_fires_at_new_instant(wk):
    """Report runs at 12:00 in Test/City, which goes from -05:00 to -06:00
    (a new file renamed over the old, and a new tzdata version). The daemon
    logs the move within a second and fires at 18:00Z, never at 17:00Z."""
    tzdir = make_tzdir(wk)
    seen = wk.tmp / "seen"
    cmd = wk.script("report", f'echo "$CRONWARDEN_SCHEDULED_AT" >> {seen}\n')
    wk.configure(job("Report", cmd, schedule="0 0 12 * * *", timezone="Test/City", catch_up="all"))
    d = start_daemon(wk, env=clock_env(wk, "2030-06-01T16:59:00Z", tzdir))
    wait_asleep(d)
    built = zic(wk.tmp, CST)
    t0 = time.monotonic()
    set_version(tzdir, "2030b")
    install_zone(tzdir, built, "Test/City")
    moved = wait_for(lambda: events(d, "fire_moved"), timeout=5, interval=0.01, what="event=fire_moved")
    took = time.monotonic() - t0
    assert took < 1.0, f"re-planned {took:.2f}s after the update"
    assert moved[0]["job"] == "Report" and moved[0]["zone"] == "Test/City", moved
    assert iso_epoch(moved[0]["from"]) == iso_epoch("2030-06-01T17:00:00Z"), moved
    assert iso_epoch(moved[0]["to"]) == iso_epoch("2030-06-01T18:00:00Z"), moved
    assert moved[0]["to"].endswith("-06:00"), moved
    zc = events(d, "zone_changed")
    assert zc and zc[0]["tzdata"] == "2030b" and zc[0]["was_tzdata"] == "2030a", zc
    assert zc[0]["source"] == str(tzdir / "Test/City"), zc
    # Across the old instant to just before the new one: nothing at 17:00Z.
    step_clock(wk, d, "2030-06-01T17:59:58Z")
    fire = int(iso_epoch("2030-06-01T18:00:00Z"))
    wait_for(lambda: fire in runs_at(wk, "Report"), timeout=6, interval=0.02, what="the fire at 18:00Z")
    # The worker (started by the spawner the daemon replaced) has the new
    # rules too: 12:00 local, -06:00.
    wait_for(lambda: seen.exists() and seen.read_text(), timeout=10, interval=0.02, what="the job's line")
    assert seen.read_text() == "2030-06-01T12:00:00-06:00\n"
    stop_daemon(wk, d)
    assert list(runs_at(wk, "Report")) == [fire], runs_at(wk, "Report")
    # tick and next read the same files.
    r = wk.ok("next", "0 0 12 * * *", "--tz", "Test/City", "--count", "1",
              "--from", "2030-06-01T00:00:00Z", env={"TZDIR": str(tzdir)})
    assert r.stdout == "2030-06-01T12:00:00-06:00\n", r.stdout
    assert "tzdata 2030b" in r.stderr, r.stderr


def test_broken_zone_update_keeps_old_rules(wk):
    """A replacement that is not a TZif file: an error is logged, the old
    rules stay, and the fire comes at the old instant."""
    tzdir = make_tzdir(wk)
    wk.configure(job("Report", "/bin/true", schedule="0 0 12 * * *", timezone="Test/City"))
    d = start_daemon(wk, env=clock_env(wk, "2030-06-01T16:59:00Z", tzdir))
    wait_asleep(d)
    tmp = tzdir / "Test" / "City.new"
    tmp.write_bytes(b"TZif2 this is not a zone file\n")
    os.replace(tmp, tzdir / "Test" / "City")
    bad = wait_for(lambda: events(d, "zone_error"), timeout=5, interval=0.01, what="event=zone_error")
    assert bad[0]["level"] == "error" and bad[0]["keeping"] == "old", bad
    assert "Test/City" in bad[0]["error"], bad
    assert not events(d, "fire_moved")
    step_clock(wk, d, "2030-06-01T16:59:58Z")
    fire = int(iso_epoch("2030-06-01T17:00:00Z"))
    wait_for(lambda: fire in runs_at(wk, "Report"), timeout=6, interval=0.02, what="the fire at 17:00Z")
    # A good file afterwards is picked up again.
    install_zone(tzdir, zic(wk.tmp, CST), "Test/City")
    wait_for(lambda: events(d, "fire_moved"), timeout=5, interval=0.01, what="event=fire_moved after the fix")
    stop_daemon(wk, d)
    assert list(runs_at(wk, "Report")) == [fire], runs_at(wk, "Report")


def test_symlinked_zone_follows_its_target(wk):
    """A zone used under a link's name (like US/Eastern, or /etc/localtime)
    changes when the file the link resolves to is replaced."""
    tzdir = make_tzdir(wk)
    (tzdir / "Alias").mkdir()
    os.symlink("../Test/City", tzdir / "Alias" / "City")
    wk.configure(job("Report", "/bin/true", schedule="0 0 12 * * *", timezone="Alias/City"))
    d = start_daemon(wk, env=clock_env(wk, "2030-06-01T10:00:00Z", tzdir))
    wait_asleep(d)
    install_zone(tzdir, zic(wk.tmp, CST), "Test/City")
    moved = wait_for(lambda: events(d, "fire_moved"), timeout=5, interval=0.01, what="event=fire_moved")
    stop_daemon(wk, d)
    assert moved[0]["zone"] == "Alias/City" and moved[0]["to"] == "2030-06-01T12:00:00-06:00", moved


def test_unrelated_files_do_not_wake_the_daemon(wk):
    """Only the names in use count: another zone in the same directory
    changing logs nothing and changes no plan."""
    tzdir = make_tzdir(wk)
    wk.configure(job("Report", "/bin/true", schedule="0 0 12 * * *", timezone="Test/City"))
    d = start_daemon(wk, env=clock_env(wk, "2030-06-01T10:00:00Z", tzdir))
    wait_asleep(d)
    built = zic(wk.tmp, "Zone Test/Other 3:00 - MSK\n")
    install_zone(tzdir, built, "Test/Other")
    time.sleep(0.5)
    err = stop_daemon(wk, d)
    assert "zone_" not in err and "fire_moved" not in err, err


def test_info_and_job_zone_version(wk):
    """`info` names the tzdata version the job's rules come from."""
    tzdir = make_tzdir(wk, version="2030c")
    wk.configure(job("Report", "/bin/true", schedule="0 0 12 * * *", timezone="Test/City"))
    out = wk.ok("info", "Report", env={"TZDIR": str(tzdir)}).stdout
    assert "Time zone:    Test/City (tzdata 2030c)" in out, out
    r = wk("next", "0 12 * * *", "--tz", "Test/City", "--count", "1", env={"TZDIR": str(tzdir)})
    assert r.returncode == 0 and r.stderr == f"cronwarden: Test/City: tzdata 2030c ({tzdir}/Test/City)\n", r.stderr
    # Without --tz stderr stays quiet (the format of next is fixed).
    r = wk("next", "0 12 * * *", "--count", "1", env={"TZDIR": str(tzdir)})
    assert r.returncode == 0 and r.stderr == "", r.stderr


# ---- clock jumps -----------------------------------------------------------------

MINUTELY = "0 * * * * *"
HOURLY = "0 0 * * * *"
DEADLINE = 300  # start_deadline's default, 5m


def expected(fires, now):
    """catch_up = once: on-time fires start; missed ones are recorded
    missed, except the latest when no fire is on time."""
    on_time = [t for t in fires if now - t <= DEADLINE]
    out = {t: ("started" if t in on_time else "missed") for t in fires}
    if fires and not on_time:
        out[max(fires)] = "started"
    return out


def fires_between(start, end, step):
    return [t for t in range(start - start % step + step, end + 1, step)]


def final(status):
    return "missed" if status == "missed" else "started"


@pytest.mark.parametrize("jump", [60, 3600, 86400], ids=["minute", "hour", "day"])
def test_clock_jumps_forward(wk, jump):
    """Fires a forward jump skips are handled by catch_up: on time when
    within start_deadline of the new now, else missed (the latest started
    when none is on time). Each is recorded once."""
    start = "2030-01-01T10:00:50Z"
    t0 = int(iso_epoch(start))
    wk.configure(job("Minutely", "/bin/true", schedule=MINUTELY, concurrency="allow")
                 + job("Hourly", "/bin/true", schedule=HOURLY, concurrency="allow"))
    d = start_daemon(wk, env=clock_env(wk, start))
    wait_asleep(d)
    now = t0 + jump
    step_clock(wk, d, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)))
    want = {name: expected(fires_between(t0, now, step), now) for name, step in (("Minutely", 60), ("Hourly", 3600))}
    for name, w in want.items():
        started = sum(1 for s in w.values() if s == "started")
        # At most 1000 missed rows per entry per pass (docs/scheduling.md).
        rows = started + min(len(w) - started, 1000)
        wait_for(lambda: len([t for t in runs_at(wk, name) if t <= now]) >= rows, timeout=15, interval=0.05,
                 what=f"{name}'s {rows} fires across the jump")
    stop_daemon(wk, d)
    for name, w in want.items():
        got = {t: final(s) for t, s in runs_at(wk, name).items() if t <= now}
        rows = [r for r in wk.db_runs(name) if r["scheduled_at"] <= now]
        assert len(rows) == len(got), f"{name}: a fire recorded twice"
        if len(w) > 1000:
            # Too many to record each: the latest 1000 missed ones, or the
            # oldest; either way the started ones are exactly the on-time ones.
            assert {t for t, s in got.items() if s == "started"} == {t for t, s in w.items() if s == "started"}
            assert sum(1 for s in got.values() if s == "missed") == 1000
            continue
        assert got == w, f"{name} after a jump of {jump}s: got {got}, want {w}"


@pytest.mark.parametrize("jump", [60, 3600], ids=["minute", "hour"])
def test_clock_jumps_back_never_repeat_an_instant(wk, jump):
    """After a jump back nothing fires until the clock passes the last
    pass again; then fires go on, each instant once."""
    start = "2030-01-01T10:00:00Z"
    t0 = int(iso_epoch(start))
    wk.configure(job("Sec", "/bin/true", schedule="* * * * * *", concurrency="allow"))
    d = start_daemon(wk, env=clock_env(wk, start))
    wait_for(lambda: len(runs_at(wk, "Sec")) >= 3, timeout=8, interval=0.02, what="three fires")
    wait_asleep(d)
    last = max(runs_at(wk, "Sec"))
    back = last - jump
    step_clock(wk, d, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(back)))
    n = len(wk.db_runs("Sec"))
    time.sleep(1.5)
    assert len(wk.db_runs("Sec")) == n, "a fire started while the clock was behind the last pass"
    assert events(d, "clock_changed")[-1]["action"] == "replan"
    # Forward again to just before the last fire: nothing is redone, new
    # fires follow.
    step_clock(wk, d, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last - 1)))
    wait_for(lambda: max(runs_at(wk, "Sec")) >= last + 2, timeout=8, interval=0.02, what="fires after the jump")
    stop_daemon(wk, d)
    fires = [r["scheduled_at"] for r in wk.db_runs("Sec")]
    assert len(fires) == len(set(fires)), f"an instant ran twice: {sorted(fires)}"
    s = sorted(fires)
    assert s == list(range(s[0], s[-1] + 1)), f"gaps: {s}"
    assert s[0] > t0 and back < last
    assert "level=error" not in err_text(d), err_text(d)
