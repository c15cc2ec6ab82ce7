"""Living through deploys (docs/scheduling.md, "Editing a schedule",
"Draining before a deploy", "Maintenance windows"; docs/running.md for
`diff`): real processes, the clock pinned with CRONWARDEN_FAKE_NOW where
the test needs an exact instant."""

import datetime
import json
import os
import signal
import time

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)
from test_daemon import err_text, events, start_daemon, stop_daemon, wait_asleep


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
        # One at a time: signals of one kind pending together arrive once.
        wait_for(lambda: len(events(d, "reload")) >= i, timeout=10, interval=0.005, what=f"reload {i}")
    time.sleep(1.2)
    stop_daemon(wk, d, within=5.0)
    assert wk.db_runs("Other") == []
    fires = sorted(r["scheduled_at"] for r in schedule_runs(wk, "Sec"))
    assert len(fires) >= 4, fires
    assert len(fires) == len(set(fires)), "a fire was started twice"
    assert fires == list(range(fires[0], fires[-1] + 1)), f"a second was lost: {fires}"


# ---- 2. cronwarden diff, and the diff a reload logs ---------------------------------------------

def diff_lines(out):
    """The change lines of `diff` output (without the ---/+++ header)."""
    return [l for l in out.splitlines() if not l.startswith(("---", "+++"))]


def deploy_config(wk, a_schedule="0 * * * *", extra="", keep_b=True, secret="s1"):
    jobs = job("A", "/bin/true", schedule=a_schedule, timeout="1h",
               env=["PLAIN=1", f"TOKEN={secret}"], secret_env="TOKEN")
    if keep_b:
        jobs += job("B", "/bin/true", schedule="@daily")
    wk.configure(jobs + extra)


def test_diff_against_the_running_daemon_then_sighup_logs_the_same(wk):
    deploy_config(wk)
    d = start_daemon(wk)
    wait_asleep(d)
    r = wk("diff")
    assert r.returncode == 0, r.stdout + r.stderr
    assert diff_lines(r.stdout) == ["no changes"]
    deploy_config(wk, a_schedule="30 * * * *", keep_b=False, secret="s2",
                  extra=job("C", "/bin/true", schedule="@hourly"))
    # timeout changed key by key too
    wk.config.write_text(wk.config.read_text().replace("timeout = 1h", "timeout = 2h"))
    r = wk("diff", env={"CRONWARDEN_FAKE_NOW": "2030-01-01T10:45:00Z"})
    assert r.returncode == 1, r.stdout + r.stderr
    lines = diff_lines(r.stdout)
    assert "~ [job A] schedule: 0 * * * * -> 30 * * * *" in lines
    assert "~ [job A] timeout: 1h -> 2h" in lines
    assert "~ [job A] env: a secret value changed" in lines
    assert "+ [job C]" in lines and "- [job B]" in lines
    i = lines.index("~ [job A] schedule: 0 * * * * -> 30 * * * *")
    assert lines[i + 1].split(": ", 1)[1].strip().startswith("2030-01-01T11:00:00+00:00, 2030-01-01T12:00:00")
    assert lines[i + 2].split(": ", 1)[1].strip().startswith("2030-01-01T11:30:00+00:00, 2030-01-01T12:30:00")
    assert "s1" not in r.stdout and "s2" not in r.stdout
    # SIGHUP logs the same change lines (next fires from the daemon's now).
    os.kill(d.pid, signal.SIGHUP)
    wait_for(lambda: events(d, "reload"), timeout=10, what="event=reload")
    logged = [e["change"] for e in events(d, "config_change")]
    assert [l for l in lines if not l.startswith("    ")] == [l for l in logged if not l.startswith("    ")]
    assert "s1" not in "".join(logged) and "s2" not in "".join(logged)
    stored = wk.db_scalar("SELECT value FROM scheduler_state WHERE key = 'config_last_diff'")
    assert "~ [job A] timeout: 1h -> 2h" in stored.splitlines()
    version = wk.db_scalar("SELECT value FROM scheduler_state WHERE key = 'config_version'")
    assert f"(version {version})" in wk("diff").stdout.splitlines()[0]
    r = wk("diff")
    assert r.returncode == 0 and diff_lines(r.stdout) == ["no changes"]
    stop_daemon(wk, d)


def test_diff_newfile_that_fails_check(wk):
    deploy_config(wk)
    d = start_daemon(wk)
    stop_daemon(wk, d)
    new = wk.tmp / "new.ini"
    new.write_text(wk.config.read_text().replace("timeout = 1h", "timeout = soon"))
    r = wk("diff", str(new))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "~ [job A] timeout: 1h -> soon" in r.stdout
    assert "would fail check" in r.stdout
    assert f"{new}:" in r.stdout and "timeout" in r.stdout.split("would fail check")[1]


def test_diff_of_a_broken_config_on_disk_still_shows_changes(wk):
    deploy_config(wk)
    d = start_daemon(wk)
    stop_daemon(wk, d)
    wk.config.write_text(wk.config.read_text() + "[job D]\nschedule = @daily\n")
    r = wk("diff")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "+ [job D]" in r.stdout and "would fail check" in r.stdout


def test_diff_without_a_daemon_snapshot(wk):
    deploy_config(wk)
    r = wk("diff")
    assert r.returncode == 2 and "no config the daemon runs" in r.stderr
    new = wk.tmp / "new.ini"
    new.write_text(wk.config.read_text().replace("@daily", "@weekly"))
    r = wk("diff", str(new))
    assert r.returncode == 1, r.stdout + r.stderr
    assert diff_lines(r.stdout) == ["~ [job B] schedule: @daily -> @weekly",
                                    r.stdout.splitlines()[3], r.stdout.splitlines()[4]]
    assert r.stdout.splitlines()[3].startswith("    next fires before: ")


def test_diff_help_and_usage(wk):
    r = wk.ok("diff", "--help")
    assert "Options:" in r.stdout and "Exit status:" in r.stdout
    r = wk("diff", "a", "b")
    assert r.returncode == 2


def test_admin_scheduler_page_shows_config_version_and_last_diff(wk):
    from test_http_server import Admin
    a = Admin(wk)
    try:
        cookies = a.session()
        st, _, body = a.request("GET", "/scheduler", cookies=cookies)
        assert st == 200
        page = body.decode()
        version = wk.db_scalar("SELECT value FROM scheduler_state WHERE key = 'config_version'")
        assert f'id="config-version-id">{version}<' in page
        wk.config.write_text(wk.config.read_text().replace("@daily", "@weekly"))
        os.kill(a.proc.pid, signal.SIGHUP)
        wait_for(lambda: events(a.proc, "reload"), timeout=10, what="event=reload")
        st, _, body = a.request("GET", "/scheduler", cookies=cookies)
        page = body.decode()
        new_version = wk.db_scalar("SELECT value FROM scheduler_state WHERE key = 'config_version'")
        assert new_version != version and f'id="config-version-id">{new_version}<' in page
        assert "~ [job Hello] schedule: @daily -&gt; @weekly" in page
    finally:
        a.stop()


# ---- 3. drain and undrain -----------------------------------------------------------------------

def drain_jobs(wk, slow_cmd, extra=""):
    wk.configure(job("Slow", slow_cmd)
                 + job("Skip", "/bin/true", schedule="* * * * * *", catch_up="none", concurrency="allow")
                 + job("Hold", "/bin/true", schedule="* * * * * *", catch_up="all", concurrency="allow")
                 + extra)


def out_text(p):
    return p.out_path.read_text()


def test_drain_waits_for_runs_then_stops_the_daemon_and_a_new_daemon_catches_up(wk):
    slow = wk.script("slow", "wait_gate go\n")
    drain_jobs(wk, slow)
    d = start_daemon(wk)
    run_id = int(wk.ok("run", "Slow", "--detach").stdout.split()[1])
    wk.wait_running("Slow")
    dr = wk.spawn("drain", "--timeout", "30s")
    wait_for(lambda: "waiting for 1 run:" in out_text(dr), timeout=10, what="drain to wait for the run")
    assert f" {run_id} (Slow)" in out_text(dr)
    # While draining: Skip's fires are recorded skipped, Hold's are held.
    skipped = wait_for(lambda: [r for r in wk.db_runs("Skip") if r["reason"] == "the scheduler is draining"],
                       timeout=10, what="a fire recorded skipped while draining")
    held = skipped[0]["scheduled_at"]
    time.sleep(1.1)
    assert [r for r in wk.db_runs("Hold") if r["scheduled_at"] >= held] == [], "a run started while draining"
    assert dr.poll() is None, out_text(dr)
    wk.open_gate("go")
    rc, out, _ = dr.finish(timeout=30)
    assert rc == 0, out
    assert f"daemon {d.pid} stopped" in out
    assert d.popen.wait(timeout=10) == 0
    assert wk.db_scalar("SELECT value FROM scheduler_state WHERE key = 'draining'") != "0"
    # The next daemon ends the drain and catches up Hold's held fires.
    d2 = start_daemon(wk)
    wait_for(lambda: events(d2, "drain_ended"), timeout=10, what="event=drain_ended")
    wait_for(lambda: [r for r in schedule_runs(wk, "Hold") if r["scheduled_at"] == held],
             timeout=10, what="the held fire to be caught up")
    stop_daemon(wk, d2)
    assert wk.db_scalar("SELECT value FROM scheduler_state WHERE key = 'draining'") == "0"


def test_drain_timeout_names_the_runs_and_exits_1(wk):
    slow = wk.script("slow", "wait_gate go\n")
    drain_jobs(wk, slow)
    run_id = int(wk.ok("run", "Slow", "--detach").stdout.split()[1])
    wk.wait_running("Slow")
    r = wk("drain", "--timeout", "1s")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "timed out; still in progress: 1 run:" in r.stdout and f"{run_id} (Slow)" in r.stdout
    assert "stays drained" in r.stdout
    r = wk.ok("undrain")
    assert "no longer draining" in r.stdout
    assert "was not draining" in wk.ok("undrain").stdout
    wk.open_gate("go")


def test_drain_with_tick_skips_none_and_holds_the_others_until_undrain(wk):
    wk.configure(job("A", "/bin/true", schedule="0 * * * *", catch_up="none")
                 + job("B", "/bin/true", schedule="0 * * * *", catch_up="once"))
    tick_at(wk, "2030-01-01T10:00:00Z")
    r = wk.ok("drain", env={"CRONWARDEN_FAKE_NOW": "2030-01-01T10:30:00Z"})
    assert "no daemon runs" in r.stdout and "drained" in r.stdout
    tick_at(wk, "2030-01-01T11:00:05Z")
    a = wk.db_runs("A")
    assert [(x["status"], x["reason"]) for x in a] == [("skipped", "the scheduler is draining")]
    assert wk.db_runs("B") == []
    out = wk.ok("tick", env={"CRONWARDEN_FAKE_NOW": "2030-01-01T11:00:30Z"}).stdout
    assert "the scheduler is draining" in out
    j = json.loads(wk.ok("tick", "--json", env={"CRONWARDEN_FAKE_NOW": "2030-01-01T11:00:31Z"}).stdout)
    assert j["draining"] is True
    assert len(wk.db_runs("A")) == 1 and wk.db_runs("B") == []
    wk.ok("undrain")
    tick_at(wk, "2030-01-01T11:00:40Z")
    b = schedule_runs(wk, "B")
    assert [x["scheduled_at"] for x in b] == [epoch("2030-01-01T11:00:00Z")]
    assert b[0]["status"] != "skipped"
    assert len(wk.db_runs("A")) == 1


def test_drain_requests_wait_until_undrain(wk):
    wk.configure(job("A", "/bin/true"))
    tick_at(wk, "2030-01-01T10:00:00Z")
    wk.ok("drain")
    wk.ok("request", "A")
    tick_at(wk, "2030-01-01T10:01:00Z")
    assert wk.db_runs("A") == []
    wk.ok("undrain")
    tick_at(wk, "2030-01-01T10:02:00Z")
    assert [r["trigger"] for r in wk.db_runs("A")] == ["request"]


def test_admin_shows_the_draining_banner_and_the_runs_waited_for(wk):
    from test_http_server import Admin
    a = Admin(wk)
    try:
        slow = wk.script("slow", "wait_gate go\n")
        wk.config.write_text(wk.config.read_text() + "\n" + job("Slow", slow))
        run_id = int(wk.ok("run", "Slow", "--detach").stdout.split()[1])
        wk.wait_running("Slow")
        cookies = a.session()
        st, _, body = a.request("GET", "/scheduler", cookies=cookies)
        assert 'id="draining"' not in body.decode()
        assert wk("drain", "--timeout", "0s").returncode == 1
        st, _, body = a.request("GET", "/scheduler", cookies=cookies)
        page = body.decode()
        assert 'id="draining"' in page and f'data-draining-run="{run_id}"' in page
        st, _, body = a.request("GET", "/jobs", cookies=cookies)
        assert 'id="draining-notice"' in body.decode()
        wk.open_gate("go")
        wk.ok("undrain")
        st, _, body = a.request("GET", "/scheduler", cookies=cookies)
        assert 'id="draining"' not in body.decode()
    finally:
        a.stop()


@pytest.mark.parametrize("cmd", ["drain", "undrain"])
def test_drain_help_and_usage(wk, cmd):
    r = wk.ok(cmd, "--help")
    assert "Options:" in r.stdout and "Exit status:" in r.stdout
    assert wk(cmd, "extra").returncode == 2


# ---- 4. maintenance windows ---------------------------------------------------------------------

MAINT = """
[maintenance nightly]
schedule = 0 2 * * *
duration = 25m
jobs = A, B
"""


def maint_config(wk, extra=MAINT):
    wk.configure(job("A", "/bin/true", schedule="*/10 * * * *")
                 + job("B", "/bin/true", schedule="*/10 * * * *", during_maintenance="defer")
                 + job("C", "/bin/true", schedule="*/10 * * * *")
                 + extra)


def test_maintenance_skips_or_defers_fires_inside_the_window(wk):
    maint_config(wk)
    tick_at(wk, "2030-01-01T01:55:00Z")
    for t in ("02:00:05", "02:10:05", "02:20:05"):
        tick_at(wk, f"2030-01-01T{t}Z")
    a = wk.db_runs("A")
    assert [(r["scheduled_at"], r["status"], r["reason"]) for r in a] == [
        (epoch(f"2030-01-01T02:{m}:00Z"), "skipped", "maintenance window nightly") for m in ("00", "10", "20")]
    assert wk.db_runs("B") == []
    assert [r["scheduled_at"] for r in schedule_runs(wk, "C")] == [
        epoch(f"2030-01-01T02:{m}:00Z") for m in ("00", "10", "20")]
    # B's three fires run once, at the window's end.
    tick_at(wk, "2030-01-01T02:25:05Z")
    b = schedule_runs(wk, "B")
    assert [r["scheduled_at"] for r in b] == [epoch("2030-01-01T02:25:00Z")]
    assert b[0]["status"] != "skipped"
    tick_at(wk, "2030-01-01T02:30:05Z")
    assert [r["scheduled_at"] for r in schedule_runs(wk, "B")][-1] == epoch("2030-01-01T02:30:00Z")
    assert [r["status"] for r in wk.db_runs("A")][-1] != "skipped"


def test_maintenance_deferred_fire_found_by_a_later_pass(wk):
    """The pass that sees B's fire inside the window ends before the window
    does; the next pass, after the end, still starts it (once)."""
    maint_config(wk)
    tick_at(wk, "2030-01-01T01:55:00Z")
    tick_at(wk, "2030-01-01T02:00:05Z")
    tick_at(wk, "2030-01-01T02:26:00Z")
    tick_at(wk, "2030-01-01T02:27:00Z")
    assert [r["scheduled_at"] for r in schedule_runs(wk, "B")] == [epoch("2030-01-01T02:25:00Z")]


def test_maintenance_one_off_window_with_all_jobs(wk):
    maint_config(wk, extra="""
[maintenance upgrade]
start = 2030-01-01T03:00:00Z
end = 2030-01-01T03:15:00Z
jobs = all
""")
    tick_at(wk, "2030-01-01T02:55:00Z")
    tick_at(wk, "2030-01-01T03:10:05Z")
    assert [r["status"] for r in wk.db_runs("C")] == ["skipped", "skipped"]
    assert wk.db_runs("B") == []
    tick_at(wk, "2030-01-01T03:15:05Z")
    assert [r["scheduled_at"] for r in schedule_runs(wk, "B")] == [epoch("2030-01-01T03:15:00Z")]


def test_next_shows_what_a_window_does(wk):
    maint_config(wk)
    r = wk.ok("next", "*/10 * * * *", "--job", "B", "--from", "2030-01-01T01:55:00Z", "-n", "4")
    assert r.stdout.splitlines() == [
        "2030-01-01T02:00:00+00:00  deferred to 2030-01-01T02:25:00+00:00: maintenance window nightly",
        "2030-01-01T02:10:00+00:00  deferred to 2030-01-01T02:25:00+00:00: maintenance window nightly",
        "2030-01-01T02:20:00+00:00  deferred to 2030-01-01T02:25:00+00:00: maintenance window nightly",
        "2030-01-01T02:30:00+00:00",
    ]
    r = wk.ok("next", "*/10 * * * *", "--job", "A", "--from", "2030-01-01T01:55:00Z", "-n", "1")
    assert r.stdout == "2030-01-01T02:00:00+00:00  skipped: maintenance window nightly\n"
    r = wk.ok("next", "*/10 * * * *", "--job", "C", "--from", "2030-01-01T01:55:00Z", "-n", "1")
    assert r.stdout == "2030-01-01T02:00:00+00:00\n"


@pytest.mark.parametrize("section, message", [
    ("[maintenance w]\nschedule = 0 2 * * *\njobs = A\n", "needs a duration"),
    ("[maintenance w]\nschedule = 0 2 * * *\nduration = 1h\njobs = Nope\n", "no job called 'Nope'"),
    ("[maintenance w]\nstart = 2030-01-01T03:00:00Z\nend = 2030-01-01T02:00:00Z\njobs = all\n",
     "end: must be after start"),
    ("[maintenance w]\njobs = all\n", "needs schedule and duration, or start and end"),
    ("[maintenance w]\nschedule = every 1h\nduration = 1h\njobs = all\n", "calendar instants"),
    ("[maintenance w]\nschedule = 0 2 * * *\nduration = 1h\n", "needs jobs"),
    ("[maintenance]\njobs = all\n", "missing window name"),
    ("[job D]\ncommand = x\nduring_maintenance = later\n", "during_maintenance"),
])
def test_maintenance_config_errors(wk, section, message):
    wk.configure(job("A", "/bin/true") + section)
    r = wk("check")
    assert r.returncode == 2
    assert message in r.stderr + r.stdout


def test_info_shows_what_a_window_does(wk):
    maint_config(wk)
    r = wk.ok("info", "B", env={"CRONWARDEN_FAKE_NOW": "2030-01-01T01:55:00Z"})
    assert ("    2030-01-01T02:00:00+00:00  deferred to 2030-01-01T02:25:00+00:00: maintenance window nightly"
            in r.stdout.splitlines())
    assert "    2030-01-01T02:30:00+00:00" in r.stdout.splitlines()
    r = wk.ok("info", "A", env={"CRONWARDEN_FAKE_NOW": "2030-01-01T01:55:00Z"})
    assert "    2030-01-01T02:00:00+00:00  skipped: maintenance window nightly" in r.stdout.splitlines()


def test_job_page_shows_what_a_window_does(wk):
    from test_http_server import Admin
    # Windows open every minute for 30 minutes: every fire is inside one.
    a = Admin(wk, extra_admin="\n[maintenance always]\nschedule = * * * * *\nduration = 30m\njobs = Hello\n")
    try:
        cookies = a.session()
        st, _, body = a.request("GET", "/jobs/Hello", cookies=cookies)
        assert st == 200
        page = body.decode()
        assert 'data-maintenance="skip"' in page and "skipped: maintenance window always" in page
    finally:
        a.stop()


def test_daemon_wakes_at_the_window_end_for_a_deferred_fire(wk):
    """Windows open every 10 s for 3 s; the job fires every even second
    and defers: its fires at :x0 and :x2 run once at :x3, an instant the
    schedule itself never has, so the daemon must wake for it."""
    wk.configure(job("B", "/bin/true", schedule="*/2 * * * * *", during_maintenance="defer",
                     concurrency="allow")
                 + "\n[maintenance w]\nschedule = */10 * * * * *\nduration = 3s\njobs = B\n")
    d = start_daemon(wk)
    rows = wait_for(lambda: [r for r in schedule_runs(wk, "B") if r["scheduled_at"] % 10 == 3],
                    timeout=25, what="a run at a window's end")
    end = rows[0]["scheduled_at"]
    time.sleep(0.5)
    stop_daemon(wk, d)
    fires = {r["scheduled_at"] for r in schedule_runs(wk, "B")}
    assert end - 3 not in fires and end - 1 not in fires, sorted(fires)
    assert all(f % 10 not in (0, 2) for f in fires), sorted(fires)


def test_undrain_while_drain_waits_leaves_the_daemon_running(wk):
    slow = wk.script("slow", "wait_gate go\n")
    drain_jobs(wk, slow)
    d = start_daemon(wk)
    wk.ok("run", "Slow", "--detach")
    wk.wait_running("Slow")
    dr = wk.spawn("drain")
    wait_for(lambda: "waiting for 1 run:" in out_text(dr), timeout=10, what="drain to wait")
    wk.ok("undrain")
    rc, out, _ = dr.finish(timeout=10)
    assert rc == 1 and "the daemon is left running" in out
    assert d.poll() is None
    wk.open_gate("go")
    stop_daemon(wk, d)
