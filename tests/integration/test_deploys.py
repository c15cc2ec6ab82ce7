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
