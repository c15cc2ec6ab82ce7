"""`cronwarden daemon` (docs/scheduling.md, section "The
daemon"): real daemon processes and real time, with 6-field
second-level specs so each test takes a few seconds.

Every wait is bounded (wait_for, Proc.finish timeouts); each test stops its
daemons with SIGTERM, and the wk fixture SIGKILLs any tagged process left
over (daemons, detached workers, jobs). The daemon's stderr (its log) is
read from the files wk.spawn() writes.

Fires are checked from three sides that must agree: the `runs` table
(scheduled_at is the fire's epoch second), the job's own side effect (it
appends $CRONWARDEN_SCHEDULED_AT, the fire as ISO 8601, to a file) and,
where it matters, the daemon's `event=started` log lines."""

import datetime
import math
import os
import re
import signal
import subprocess
import time
from collections import Counter

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)

EVENTS = {"start", "stop", "reload", "reload_failed", "started", "queued", "skipped", "missed", "failed", "error",
          "config_change", "drain_ended", "ended",
          "journal_replay"}
# syslog priorities of the level names a daemon may use (for the <N> prefix).
LEVEL_PRIO = {"emerg": 0, "alert": 1, "crit": 2, "err": 3, "error": 3, "warning": 4, "warn": 4,
              "notice": 5, "info": 6, "debug": 7}

# key=value, the value bare (no spaces) or double-quoted with \" escapes.
_FIELD = r'[A-Za-z_][A-Za-z0-9_]*=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)'
FIELD_RE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
# TIME level=L event=E k=v ...   (the whole line: nothing but fields)
LINE_RE = re.compile(r"^(?P<time>\S+) (?P<fields>level=\S+ event=\S+(?: " + _FIELD + r")*)$")
# <N>level=L event=E k=v ...     (under systemd: JOURNAL_STREAM set)
JOURNAL_LINE_RE = re.compile(r"^<(?P<prio>[0-7])> ?(?P<fields>level=\S+ event=\S+(?: " + _FIELD + r")*)$")
START_RE = re.compile(r"\bevent=start(?![A-Za-z0-9_])")


# ---- helpers -----------------------------------------------------------------

def fields_of(text):
    """The key=value fields of a log line as a dict (quotes removed)."""
    out = {}
    for k, v in FIELD_RE.findall(text):
        if v.startswith('"'):
            v = re.sub(r'\\(.)', r'\1', v[1:-1])
        out[k] = v
    return out


def err_text(p):
    return p.err_path.read_bytes().decode("utf-8", "replace")


def events(p, event=None):
    """The daemon's log lines as field dicts (event= filter), in order.
    Lenient: any line with event= counts; test_log_format checks the
    exact shape."""
    out = []
    for line in err_text(p).splitlines():
        if "event=" not in line:
            continue
        f = fields_of(line)
        f["_line"] = line
        if event is None or f.get("event") == event:
            out.append(f)
    return out


def iso_epoch(s):
    """ISO 8601 with an offset (or Z) -> epoch seconds (float)."""
    d = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    assert d.tzinfo is not None, f"{s!r} has no offset"
    return d.timestamp()


def start_daemon(wk, env=None, timeout=10.0):
    """Spawns `cronwarden daemon` and waits (bounded) for its event=start
    line. JOURNAL_STREAM is removed unless env sets it, so a test run under
    systemd does not change the log format."""
    full = {"JOURNAL_STREAM": None}
    full.update(env or {})
    p = wk.spawn("daemon", env=full)

    def ready():
        if p.poll() is not None:
            return "exited"
        return "up" if START_RE.search(err_text(p)) else None

    state = wait_for(ready, timeout=timeout, interval=0.01, what="the daemon's event=start line")
    if state == "exited":
        raise AssertionError(f"daemon exited with {p.popen.returncode} before logging event=start:\n{err_text(p)}")
    return p


def stop_daemon(wk, p, timeout=5.0, within=2.0):
    """SIGTERM; the daemon must exit 0 within `within` seconds (bounded
    wait). Returns its stderr."""
    assert p.poll() is None, f"daemon died before SIGTERM (exit {p.popen.returncode}):\n{err_text(p)}"
    wk.check_exe(p.pid)
    t0 = time.monotonic()
    os.kill(p.pid, signal.SIGTERM)
    rc, _, err = p.finish(timeout=timeout)
    took = time.monotonic() - t0
    assert rc == 0, f"daemon exited {rc} on SIGTERM:\n{err}"
    assert took < within, f"daemon took {took:.2f}s to exit on SIGTERM"
    return err


def wait_asleep(p, timeout=5.0):
    """Waits (bounded) until the daemon's loop blocks in poll(): it has
    finished its pass and sleeps until a timer, a signal or its spawner
    wakes it."""
    def asleep():
        try:
            return "poll" in open(f"/proc/{p.pid}/wchan").read()
        except OSError:
            return False

    wait_for(asleep, timeout=timeout, interval=0.005, what="the daemon to sleep in poll()")


def spawner_of(p):
    """The pid of the spawner the daemon named in its event=start line."""
    return int(events(p, "start")[0]["spawner"])


def wait_gone(pid, timeout=5.0):
    wait_for(lambda: not proc_alive(pid), timeout=timeout, interval=0.01, what=f"process {pid} to exit")


def wait_next_second(t):
    """Waits until the wall clock is past second int(t)."""
    wait_for(lambda: time.time() >= int(t) + 1, timeout=3, interval=0.005, what="the next second")


def kill9(wk, p):
    wk.check_exe(p.pid)
    os.kill(p.pid, signal.SIGKILL)
    p.popen.wait(timeout=10)


def fire_script(wk, name, log, extra=""):
    """A job that appends '<job> <fire ISO> <its own clock>' to log."""
    return wk.script(name, f'{extra}echo "$CRONWARDEN_JOB $CRONWARDEN_SCHEDULED_AT $(date +%s.%N)" >> {log}\n')


def log_lines(log):
    """(job, fire epoch, job's clock) per line of a fire_script log."""
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        j, fire, clock = line.split()
        out.append((j, int(round(iso_epoch(fire))), float(clock)))
    return out


def wait_log_matches(wk, log, jobs, timeout=20.0):
    """Waits until every scheduled run of `jobs` has written its log line
    and ended (the jobs are short; a worker records its run only once the
    whole burst has started); returns the lines."""
    def check():
        rows = [r for r in wk.db_runs() if r["job"] in jobs and r["status"] not in ("skipped", "missed")]
        lines = log_lines(log)
        return lines if len(lines) >= len(rows) and all(r["status"] not in ("queued", "running") for r in rows) else None

    return wait_for(check, timeout=timeout, what=f"every started run of {sorted(jobs)} to write its line")


def fires_of(wk, name):
    """scheduled_at of the `schedule` runs of job `name`, in id order."""
    return [r["scheduled_at"] for r in wk.db_runs(name) if r["trigger"] == "schedule"]


def assert_exactly_once_consecutive(fires, what):
    per = Counter(fires)
    doubled = {k: v for k, v in per.items() if v > 1}
    assert not doubled, f"{what}: fires started more than once: {doubled}"
    s = sorted(per)
    assert s, f"{what}: no fires at all"
    missing = sorted(set(range(s[0], s[-1] + 1)) - set(s))
    assert not missing, f"{what}: seconds lost between {s[0]} and {s[-1]}: {missing}"
    return s


def per_second_job(name, cmd, **keys):
    return job(name, cmd, schedule="* * * * * *", concurrency="allow", **keys)


def _env(wk):
    """The environment wk.spawn gives cronwarden (its test tag included)."""
    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    env.pop("JOURNAL_STREAM", None)
    env.update(wk.env)
    return env


# ---- tests ---------------------------------------------------------------------

def test_per_second_fires_on_time_each_exactly_once(wk):
    log = wk.tmp / "fires.log"
    wk.configure(per_second_job("Sec", fire_script(wk, "sec", log)))
    t_spawn = time.time()
    d = start_daemon(wk)
    t_ready = time.time()
    # The three whole seconds after start-up have fired.
    first = math.floor(t_ready) + 1
    wait_for(lambda: set(range(first, first + 3)) <= set(fires_of(wk, "Sec")), timeout=8, interval=0.01,
             what="three seconds of fires")
    t_stop = time.time()
    stop_daemon(wk, d)

    rows = [r for r in wk.db_runs("Sec")]
    assert all(r["trigger"] == "schedule" for r in rows), rows
    fires = assert_exactly_once_consecutive([r["scheduled_at"] for r in rows], "Sec")
    # First pass ever: nothing at or before the daemon's start.
    assert fires[0] > t_spawn, (fires, t_spawn)
    # Every second from just after start-up to just before SIGTERM fired.
    want = set(range(math.floor(t_ready) + 1, math.floor(t_stop - 0.3) + 1))
    assert want <= set(fires), f"missing fires {sorted(want - set(fires))} (ready {t_ready:.3f}, stop {t_stop:.3f})"
    assert fires[-1] <= t_stop + 1, (fires, t_stop)
    assert len(fires) >= 3
    # Started within ~1 s of the instant (the run's start as recorded).
    late = {r["scheduled_at"]: r["started_us"] / 1e6 - r["scheduled_at"] for r in rows}
    assert all(-0.05 <= v < 1.0 for v in late.values()), f"lateness (s) per fire: {late}"
    # The jobs' own side effects: one line per fire, same fires, and the
    # job itself ran within ~1 s of its instant.
    lines = wait_log_matches(wk, log, {"Sec"})
    assert Counter(f for _, f, _ in lines) == Counter(fires), (lines, fires)
    own = {f: clock - f for _, f, clock in lines}
    assert all(0 <= v < 1.0 for v in own.values()), f"job-side lateness (s) per fire: {own}"
    assert all(r["status"] == "succeeded" for r in wk.db_runs("Sec"))


def test_daemon_and_ten_tick_loops_start_every_fire_once(wk):
    log = wk.tmp / "fires.log"
    wk.configure(per_second_job("Once", fire_script(wk, "once", log)))
    d = start_daemon(wk)
    end = int(time.time()) + 6
    loops = [subprocess.Popen(
        ["/bin/sh", "-c",
         f'while [ $(date +%s) -lt {end} ]; do "$0" --config "$1" tick --silent || exit 1; done',
         str(wk.binary), str(wk.config)],
        env=_env(wk), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(10)]
    for p in loops:
        _, err = p.communicate(timeout=max(5, end - time.time() + 30))
        assert p.returncode == 0, err
    # The daemon's last pass has handed over what it started.
    wait_for(lambda: all(r["status"] != "queued" for r in wk.db_runs("Once")), timeout=5,
             what="every run to leave queued")
    err = stop_daemon(wk, d)

    rows = wk.db_runs("Once")
    fires = assert_exactly_once_consecutive([r["scheduled_at"] for r in rows], "Once")
    assert len(fires) >= 5, f"only {len(fires)} fires in ~6 s"
    # What the daemon says it started is a subset of the rows, each once.
    by_daemon = [int(e["run"]) for e in events(d, "started")]
    assert len(by_daemon) == len(set(by_daemon))
    assert set(by_daemon) <= {r["id"] for r in rows}, (by_daemon, err)
    lines = wait_log_matches(wk, log, {"Once"})
    assert Counter(f for _, f, _ in lines) == Counter(fires)


def test_second_daemon_on_same_data_dir_exits_75(wk):
    wk.configure(job("Yearly", "/bin/true", schedule="0 0 0 1 1 *") + job("Req", "/bin/true"))
    a = start_daemon(wk)
    pidfile = wk.data_dir / "daemon.pid"
    assert pidfile.exists(), "no DATA_DIR/daemon.pid"
    assert pidfile.read_text().strip() == str(a.pid)
    b = wk.spawn("daemon", env={"JOURNAL_STREAM": None})
    rc, _, err = b.finish(timeout=10)
    assert rc == 75, f"second daemon: exit {rc}\n{err}"
    assert re.search(rf"(?<!\d){a.pid}(?!\d)", err), f"the message does not name pid {a.pid}:\n{err}"
    assert a.poll() is None, "the first daemon died"
    # The refused daemon left the running one reachable: `request` still
    # wakes it (through the pid in daemon.pid) within a second or so.
    t0 = time.time()
    wk.ok("request", "Req")
    row = wait_for(lambda: wk.db_runs("Req"), timeout=5, what="the request to start")[0]
    took = row["started_us"] / 1e6 - t0
    assert took < 1.5, (f"request started {took:.2f}s after `cronwarden request` (daemon.pid now "
                        f"{pidfile.read_text()!r}, was {a.pid})")
    assert pidfile.read_text().strip() == str(a.pid), "the second daemon touched the pid file"
    stop_daemon(wk, a)
    # Once it is gone, a new daemon starts (the lock went with the process).
    c = start_daemon(wk)
    assert pidfile.read_text().strip() == str(c.pid)
    stop_daemon(wk, c)


def test_reboot_fires_once_per_daemon_start_never_from_tick(wk):
    log = wk.tmp / "boot.log"
    # Probe: a request started (and ended) proves the daemon made a pass
    # after the event before it, without sleeping to see nothing happen.
    wk.configure(job("Boot", fire_script(wk, "boot", log), schedule="@reboot") + job("Probe", "/bin/true"))

    def probe(d):
        n = len(wk.db_runs("Probe"))
        wk.ok("request", "Probe")
        wait_for(lambda: len([r for r in wk.db_runs("Probe") if r["status"] == "succeeded"]) > n, timeout=5,
                 what="the probe request to run")
        wait_asleep(d)

    t0 = time.time()
    wk.ok("tick")
    wait_next_second(t0)
    assert "Boot" not in wk.ok("tick").stdout
    assert wk.db_runs("Boot") == [], "@reboot fired from tick"

    t1 = time.time()
    d = start_daemon(wk)
    wait_for(lambda: wk.db_runs("Boot"), timeout=5, what="the @reboot run")
    os.kill(d.pid, signal.SIGHUP)   # a reload is not a start
    wait_for(lambda: events(d, "reload") or events(d, "reload_failed"), timeout=5, what="event=reload")
    assert events(d, "reload"), err_text(d)
    probe(d)
    assert len(wk.db_runs("Boot")) == 1, wk.db_runs("Boot")
    stop_daemon(wk, d)

    # The claim holds the daemon's start second: this start is in a later one.
    wait_next_second(t1)
    t2 = time.time()
    assert int(t2) > int(t1)
    d = start_daemon(wk)
    wait_for(lambda: len(wk.db_runs("Boot")) >= 2, timeout=5, what="the second @reboot run")
    probe(d)
    stop_daemon(wk, d)
    wk.ok("tick")
    rows = wk.db_runs("Boot")
    assert len(rows) == 2, rows
    assert all(r["trigger"] == "schedule" for r in rows), rows
    assert rows[0]["scheduled_at"] != rows[1]["scheduled_at"]
    assert abs(rows[0]["scheduled_at"] - t1) < 3 and abs(rows[1]["scheduled_at"] - t2) < 3, (rows, t1, t2)
    lines = wait_log_matches(wk, log, {"Boot"})
    assert len(lines) == 2


def test_request_started_within_a_second(wk):
    log = wk.tmp / "req.log"
    # No schedule at all: nothing but the request can wake the daemon.
    wk.configure(job("Req", wk.script("req", f'echo "$CRONWARDEN_RUN_ID" >> {log}\n')))
    d = start_daemon(wk)
    for i in range(1, 3):
        wait_asleep(d)
        t0 = time.time()
        out = wk.ok("request", "Req").stdout
        m = re.search(r"request (\d+) queued for Req", out)
        assert m, out
        rows = wait_for(lambda: [r for r in wk.db_runs("Req") if r["trigger"] == "request"][i - 1:],
                        timeout=5, what=f"request {i} to start")
        took = rows[0]["started_us"] / 1e6 - t0
        assert took < 1.5, f"request {i} started {took:.2f}s after `cronwarden request`"
        wait_for(lambda: wk.db_run(rows[0]["id"])["status"] == "succeeded", timeout=5, what=f"request {i} to end")
    stop_daemon(wk, d)
    rows = wk.db_runs("Req")
    assert [r["trigger"] for r in rows] == ["request", "request"], rows
    started = {int(e["run"]) for e in events(d, "started")}
    assert {r["id"] for r in rows} <= started, err_text(d)
    wait_for(lambda: log.exists() and len(log.read_text().split()) == 2, what="both runs to write")


def test_after_dependency_starts_promptly(wk):
    b_log = wk.tmp / "b.log"
    a_cmd = wk.script("a", "wait_gate a\n")
    b_cmd = wk.script("b", f'echo "$CRONWARDEN_RUN_ID" >> {b_log}\n')
    wk.configure(job("A", a_cmd) + job("B", b_cmd, after="A")
                 + job("F", "/bin/false") + job("G", "/bin/true", after="F"))
    d = start_daemon(wk)
    wk.ok("request", "F")
    wk.ok("request", "A")
    a_run = wk.wait_running("A", timeout=5)[0]["id"]
    wait_asleep(d)  # A's end, not a pass under way, starts B
    wk.open_gate("a")
    a_row = wk.wait_final(a_run, timeout=10)
    assert a_row["status"] == "succeeded", a_row
    b1 = wait_for(lambda: wk.db_runs("B"), timeout=5, what="B to start after A")[0]
    a_end = wk.db_run(a_run)["ended_us"] / 1e6
    gap = b1["started_us"] / 1e6 - a_end
    assert gap < 1.0, f"B started {gap:.2f}s after A ended"
    assert b1["trigger"] == "dependency"
    # Again with A ending at once (same second as the pass that started it).
    t0 = time.time()
    wk.ok("request", "A")
    wait_for(lambda: len(wk.db_runs("B")) >= 2, timeout=5, what="B to start after the second A")
    b2 = wk.db_runs("B")[1]
    assert b2["started_us"] / 1e6 - t0 < 1.5, f"second B started {b2['started_us'] / 1e6 - t0:.2f}s after the request of A"
    # Every run ended and the daemon has made its passes after the last end.
    wait_for(lambda: all(r["status"] not in ("queued", "running") for r in wk.db_runs()), timeout=10,
             what="every run to end")
    wait_asleep(d)
    stop_daemon(wk, d)
    assert [r["status"] for r in wk.db_runs("F")] == ["failed"]
    assert wk.db_runs("G") == [], "G ran after F failed"
    assert [r["trigger"] for r in wk.db_runs("B")] == ["dependency", "dependency"], wk.db_runs("B")


def test_sighup_good_then_bad_config(wk):
    l1, l2 = wk.tmp / "one.log", wk.tmp / "two.log"
    one = per_second_job("One", fire_script(wk, "one", l1))
    two = per_second_job("Two", fire_script(wk, "two", l2))
    wk.configure(one)
    d = start_daemon(wk)
    wait_for(lambda: len(fires_of(wk, "One")) >= 2, timeout=5, what="One to fire")

    # Good config: Two is added and starts firing.
    wk.configure(one + "\n" + two)
    t_hup = time.time()
    os.kill(d.pid, signal.SIGHUP)
    wait_for(lambda: events(d, "reload") or events(d, "reload_failed"), timeout=5, what="event=reload")
    assert events(d, "reload") and not events(d, "reload_failed"), err_text(d)
    wait_for(lambda: len(fires_of(wk, "Two")) >= 2, timeout=5, what="the new job Two to fire")
    assert min(fires_of(wk, "Two")) - t_hup < 2.0

    # Bad config: logged, old config kept, both keep firing.
    good = wk.config.read_text()
    bad = good + "\n[job Bad]\ncommand = /bin/true\nschedule = 61 * * * * *\n"
    bad_line = bad.splitlines().index("schedule = 61 * * * * *") + 1
    wk.config.write_text(bad)
    os.kill(d.pid, signal.SIGHUP)
    failed = wait_for(lambda: events(d, "reload_failed"), timeout=5, what="event=reload_failed")
    assert len(events(d, "reload")) == 1, err_text(d)
    line = failed[0]["_line"]
    assert f"cronwarden.ini:{bad_line}" in line, f"reload_failed does not name the error's file:line:\n{line}"
    assert d.poll() is None, f"daemon died on a bad config:\n{err_text(d)}"
    # Keeps firing: new runs of both jobs that start and succeed (the old
    # config really is the one in force, for the workers too).
    def good(name):
        return [r for r in wk.db_runs(name) if r["status"] in ("running", "succeeded")]

    n1, n2 = len(good("One")), len(good("Two"))
    kept_firing = True
    try:
        wait_for(lambda: len(good("One")) >= n1 + 2 and len(good("Two")) >= n2 + 2, timeout=5)
    except AssertionError:
        kept_firing = False
    stop_daemon(wk, d)
    failed = [(r["id"], r["job"], r["status"], r["reason"]) for r in wk.db_runs() if r["status"] == "failed"]
    assert not failed, f"runs failed after the bad reload: {failed}\ndaemon log:\n{err_text(d)}"
    assert kept_firing, f"the jobs stopped firing after the failed reload:\n{err_text(d)}"

    assert wk.db_runs("Bad") == []
    f1 = assert_exactly_once_consecutive(fires_of(wk, "One"), "One (across two reloads)")
    f2 = assert_exactly_once_consecutive(fires_of(wk, "Two"), "Two")
    lines = wait_log_matches(wk, l1, {"One"}) + wait_log_matches(wk, l2, {"Two"})
    assert Counter((j, f) for j, f, _ in lines) == Counter([("One", f) for f in f1] + [("Two", f) for f in f2])


def test_sigterm_leaves_running_job_which_is_recorded(wk):
    cmd = wk.script("hold", "echo started\nwait_gate go\necho finished\n")
    wk.configure(job("Hold", cmd, schedule="* * * * * *"))  # concurrency = forbid
    d = start_daemon(wk)
    st = wk.wait_running("Hold", timeout=5)[0]
    run_id, job_pid = st["id"], st["pid"]
    spawner = spawner_of(d)
    err = stop_daemon(wk, d, within=1.5)
    assert events(d, "stop"), err
    # The job (and its worker) outlive the daemon and its spawner, which
    # exits once the daemon's end of its socket closes; the run is open.
    wait_gone(spawner)
    assert proc_alive(job_pid), "the job died with the daemon"
    assert wk.db_run(run_id)["status"] == "running"
    n = len(wk.db_runs("Hold"))
    wk.open_gate("go")
    rec = wk.wait_final(run_id, timeout=10)
    assert rec["status"] == "succeeded", rec
    assert b"finished" in wk.db_output(run_id)
    # Once the worker is gone no process of the daemon is left to start one.
    wait_for(lambda: not wk.tagged_pids(), timeout=5, what="the worker to exit")
    assert len(wk.db_runs("Hold")) == n, "something started Hold after the daemon stopped"


def test_kill9_during_busy_second_then_restart_catch_up_all(wk):
    """12 per-second jobs (catch_up = all, start_deadline = 1s so that the
    fires of the downtime are missed ones, handled by catch_up). Twice: the
    daemon is SIGKILLed while it is starting a second's fires, stays down
    ~2.2 s, is restarted. Over the whole window every job's every second is
    started exactly once."""
    log = wk.tmp / "fires.log"
    n_jobs = 12
    cmd = fire_script(wk, "busy", log)
    wk.configure("\n".join(per_second_job(f"J{i}", cmd, catch_up="all", start_deadline="1s")
                           for i in range(n_jobs)))
    names = {f"J{i}" for i in range(n_jobs)}
    d = start_daemon(wk)
    wait_for(lambda: len(fires_of(wk, "J0")) >= 2, timeout=5, what="the jobs to fire")
    kills = []
    for _ in range(2):
        # Wait for the next second's pass to begin, then kill at once.
        target = int(time.time()) + 1

        def in_pass():
            seen = [e for e in events(d, "started") if e.get("fire") and round(iso_epoch(e["fire"])) == target]
            return seen if seen else (time.time() > target + 0.2 and ["timeout"])

        seen = wait_for(in_pass, timeout=3, interval=0.001, what="the busy second")
        kill9(wk, d)
        kills.append((target, time.time(), len(seen) if seen != ["timeout"] else None))
        # Down for the rest of this second and the whole next one.
        wait_for(lambda: time.time() >= target + 2.2, timeout=4, interval=0.01, what="the downtime")
        d = start_daemon(wk)
        t_up = int(time.time())

        def caught_up():
            rows = [r for r in wk.db_runs() if r["job"] in names]
            late = [r for r in rows if r["scheduled_at"] in (target, target + 1)]
            after = {r["job"] for r in rows if r["scheduled_at"] > t_up}
            return len(late) >= 2 * n_jobs and after == names

        wait_for(caught_up, timeout=5, interval=0.05, what="the downtime's fires and a new second's")
    t_stop = time.time()
    stop_daemon(wk, d)

    rows = [r for r in wk.db_runs() if r["job"] in names]
    assert all(r["trigger"] == "schedule" for r in rows)
    bad = [r for r in rows if r["status"] in ("missed", "skipped")]
    assert not bad, f"fires not started (catch_up = all): {[(r['job'], r['scheduled_at'], r['status'], r['reason']) for r in bad]}"
    ranges = {}
    for name in sorted(names):
        f = assert_exactly_once_consecutive(fires_of(wk, name), name)
        ranges[name] = (f[0], f[-1])
    firsts = {a for a, _ in ranges.values()}
    lasts = {b for _, b in ranges.values()}
    assert len(firsts) == 1, f"jobs started at different seconds: {ranges}"
    assert max(lasts) - min(lasts) <= 1 and min(lasts) >= t_stop - 2, (ranges, t_stop)
    for target, t_kill, _ in kills:
        # The downtime's fires exist and were started late (caught up).
        for s in (target, target + 1):
            late = [r for r in rows if r["scheduled_at"] == s]
            assert len(late) == n_jobs, (s, kills, ranges)
    caught_up = [r for r in rows if r["started_us"] / 1e6 - r["scheduled_at"] > 1.0]
    assert caught_up, f"no fire was caught up after a restart (kills {kills})"
    lines = wait_log_matches(wk, log, names)
    assert Counter((j, f) for j, f, _ in lines) == Counter((r["job"], r["scheduled_at"]) for r in rows)


def test_log_format(wk):
    log = wk.tmp / "fires.log"
    wk.configure(per_second_job("Sec", fire_script(wk, "sec", log))
                 + job("Off", "/bin/true", schedule="* * * * * *", enabled="no"))
    t0 = time.time()
    d = start_daemon(wk)
    wait_for(lambda: len(events(d, "started")) >= 2 and len(events(d, "skipped")) >= 2,
             timeout=6, what="two started and two skipped events")
    err = stop_daemon(wk, d)
    t1 = time.time()
    lines = [x for x in err.splitlines() if x.strip()]
    evs = []
    for line in lines:
        m = LINE_RE.match(line)
        assert m, f"not 'TIME level=L event=E key=value...': {line!r}"
        when = iso_epoch(m["time"])
        assert t0 - 2 <= when <= t1 + 2, f"time {m['time']} out of the test's window: {line!r}"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)$", m["time"]), line
        f = fields_of(m["fields"])
        assert f["level"] in LEVEL_PRIO, line
        assert f["event"] in EVENTS, line
        f["_line"] = line
        evs.append(f)
    assert evs[0]["event"] == "start" and evs[-1]["event"] == "stop", lines
    rows = {r["id"]: r for r in wk.db_runs()}
    started = [e for e in evs if e["event"] == "started"]
    for e in started:
        for k in ("run", "job", "spec", "fire"):
            assert k in e, f"started line without {k}=: {e['_line']}"
        r = rows[int(e["run"])]
        assert (e["job"], e["spec"]) == ("Sec", "Sec") == (r["job"], r["spec"]), e["_line"]
        assert round(iso_epoch(e["fire"])) == r["scheduled_at"], e["_line"]
        assert e["level"] == "info", e["_line"]
    assert {int(e["run"]) for e in started} == {r["id"] for r in rows.values() if r["job"] == "Sec"}
    for e in (e for e in evs if e["event"] == "skipped"):
        assert e.get("job") == "Off" and "fire" in e, e["_line"]
        assert "disabled" in e.get("reason", ""), f"skipped line without the reason: {e['_line']}"

    # Under systemd: <N> priority prefix instead of the time. JOURNAL_STREAM
    # is set to the device:inode of the very file stderr goes to (as systemd
    # does), so a daemon that checks it sees a match.
    err_path = wk.logs / f"{wk._n + 1}.err"
    err_path.touch()
    stt = os.stat(err_path)
    j = start_daemon(wk, env={"JOURNAL_STREAM": f"{stt.st_dev}:{stt.st_ino}"})
    assert j.err_path == err_path
    wait_for(lambda: events(j, "started"), timeout=5, what="a started event under systemd")
    err = stop_daemon(wk, j)
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines
    for line in lines:
        m = JOURNAL_LINE_RE.match(line)
        assert m, f"not '<N>level=L event=E key=value...': {line!r}"
        f = fields_of(m["fields"])
        assert f["event"] in EVENTS, line
        assert LEVEL_PRIO.get(f["level"]) == int(m["prio"]), f"priority <{m['prio']}> for level={f['level']}: {line!r}"


def test_daemon_usage(wk):
    wk.configure(job("X", "/bin/true"))
    assert wk("daemon", "--bogus").returncode == 2
    assert wk("daemon", "extra").returncode == 2
    assert "Usage:" in wk.ok("daemon", "--help").stdout
    # A bad config at start: exit 2, nothing left running.
    wk.config.write_text(wk.config.read_text() + "schedule = 61 * * * * *\n")
    r = wk("daemon", env={"JOURNAL_STREAM": None}, timeout=10)
    assert r.returncode == 2, r.stderr


def test_daemon_honours_fake_now(wk):
    """CRONWARDEN_FAKE_NOW: the daemon's clock starts at that instant and
    runs on (as the CLI's is pinned to it): fires, runs' start and log
    lines all use it, and its spawner agrees."""
    base = iso_epoch("2030-01-01T00:00:00Z")
    wk.configure(per_second_job("Fake", "/bin/true"))
    d = start_daemon(wk, env={"CRONWARDEN_FAKE_NOW": "2030-01-01T00:00:00Z", "CRONWARDEN_FAKE_NOW_MONO": None})
    rows = wait_for(lambda: fires_of(wk, "Fake")[1:], timeout=5, what="two fires on the test clock")
    err = stop_daemon(wk, d)
    rows = wk.db_runs("Fake")
    assert all(base < r["scheduled_at"] < base + 10 for r in rows), rows
    assert all(0 <= r["started_us"] / 1e6 - r["scheduled_at"] < 1.0 for r in rows), rows
    assert_exactly_once_consecutive(fires_of(wk, "Fake"), "Fake")
    for line in err.splitlines():
        m = LINE_RE.match(line)
        assert m and base <= iso_epoch(m["time"]) < base + 10, line
