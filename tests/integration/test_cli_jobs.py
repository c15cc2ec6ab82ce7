"""`cronwarden jobs` and `cronwarden info NAME` (docs/cronwarden.1): listing
jobs with schedules and next fires, in text and JSON, against real config
files. The clock is pinned with CRONWARDEN_FAKE_NOW so next fires are
exact."""

import json

NOW = "2027-03-27T12:00:00+01:00"  # the day before Warsaw's spring forward

CONFIG = """
[cronwarden]
timezone = Europe/Warsaw

[job Backup]
description = Nightly backup
command = /bin/echo backup
schedule = 30 2 * * *

[job Greet]
description = Says hello
command = /bin/echo hello
args = who
options = loud

[job Report]
command = /bin/true
schedule = at 11:30, 14:00
timezone = America/New_York

[job Poll]
command = /bin/true
schedule = every 90m

[job After]
command = /bin/true
after = Backup

[job Off]
command = /bin/true
schedule = @hourly
enabled = no

[job Spread]
command = /bin/true
schedule = H 3 * * *

[schedule]
run = 0 9 * * MON-FRI Greet:"big world",loud=yes
run = H * * * * Greet:world
"""


def run(cw, tmp_config, *args, text=CONFIG):
    path = tmp_config(text)
    return cw("--config", path, *args, env={"CRONWARDEN_FAKE_NOW": NOW})


def test_jobs_table_lists_every_job(cw, tmp_config):
    p = run(cw, tmp_config, "jobs")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "SCHEDULE", "NEXT", "DESCRIPTION"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"Backup", "Greet", "Report", "Poll", "After", "Off", "Spread"}
    # 02:30 does not exist on 2027-03-28 in Warsaw: fixed-time fires at 03:00 CEST.
    assert "2027-03-28 03:00:00 CEST" in rows["Backup"]
    assert "Nightly backup" in rows["Backup"]
    assert "30 2 * * *" in rows["Backup"]
    assert "at start-up" in rows["Poll"]
    assert "after Backup" in rows["After"]
    assert "disabled" in rows["Off"]
    # Report runs in New York time: 2027-03-27 12:00+01:00 is 07:00 EDT.
    assert "2027-03-27 11:30:00 EDT" in rows["Report"]
    # Entries with params show their job spec.
    assert 'Greet:"big world",loud=yes' in rows["Greet"]


def test_jobs_json(cw, tmp_config):
    p = run(cw, tmp_config, "jobs", "--json")
    assert p.returncode == 0, p.stderr
    jobs = {j["name"]: j for j in json.loads(p.stdout)}
    assert jobs["Backup"]["next"] == "2027-03-28T03:00:00+02:00"
    assert jobs["Backup"]["zone"] == "Europe/Warsaw"
    assert jobs["Backup"]["schedules"][0]["when"] == "30 2 * * *"
    assert jobs["Backup"]["schedules"][0]["spec"] == "Backup"
    assert jobs["Report"]["zone"] == "America/New_York"
    assert jobs["Report"]["next"] == "2027-03-27T11:30:00-04:00"
    assert jobs["Poll"]["next"] is None and jobs["Poll"]["next_at_startup"] is True
    assert jobs["Poll"]["schedules"][0]["at_startup"] is True
    assert jobs["After"]["next"] is None
    assert jobs["After"]["after"] == ["Backup"]
    assert jobs["Off"]["enabled"] is False
    assert jobs["Off"]["next"] is None
    greet = jobs["Greet"]["schedules"]
    assert [s["spec"] for s in greet] == ['Greet:"big world",loud=yes', "Greet:world"]
    # Monday 2027-03-29 09:00 CEST.
    assert greet[0]["next"] == "2027-03-29T09:00:00+02:00"
    # The canonical text compares schedules however they are written.
    assert greet[0]["when"] == "0 9 * * MON-FRI" and greet[0]["when_canonical"] == "0 9 * * 1-5"
    assert jobs["Poll"]["schedules"][0]["when_canonical"] == "every 1h30m"
    assert jobs["Off"]["schedules"][0]["when_canonical"] == "0 * * * *"
    assert jobs["Report"]["schedules"][0]["when_canonical"] == "at 11:30, 14:00"


def test_info_text(cw, tmp_config):
    p = run(cw, tmp_config, "info", "Greet")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "Says hello" in out
    assert "/bin/echo hello" in out
    assert "who (positional 1)" in out
    assert "loud=VALUE (optional)" in out
    assert 'Greet:"big world",loud=yes' in out
    # Next 5 fires of the weekday entry, Monday to Friday after the DST change.
    for day in ("29", "30", "31"):
        assert f"2027-03-{day}T09:00:00+02:00" in out
    assert "2027-04-01T09:00:00+02:00" in out
    assert "2027-04-02T09:00:00+02:00" in out


def test_info_json_next_fires(cw, tmp_config):
    p = run(cw, tmp_config, "info", "Backup", "--json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert j["command"] == "/bin/echo backup"
    assert j["lock"] == "class"
    assert j["concurrency"] == "forbid"
    assert j["catch_up"] == "once"
    fires = j["schedules"][0]["next_fires"]
    assert fires == [
        "2027-03-28T03:00:00+02:00",
        "2027-03-29T02:30:00+02:00",
        "2027-03-30T02:30:00+02:00",
        "2027-03-31T02:30:00+02:00",
        "2027-04-01T02:30:00+02:00",
    ]


def test_hash_matches_next_command(cw, tmp_config):
    """H is seeded by the job name for `schedule =`, and by the canonical
    job spec for [schedule] entries: `next --job` shows the same times."""
    info = json.loads(run(cw, tmp_config, "info", "Spread", "--json").stdout)
    want = info["schedules"][0]["next_fires"]
    p = cw("next", "H 3 * * *", "--job", "Spread", "--tz", "Europe/Warsaw", "--from", NOW, "--count", "5")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == want

    greet = json.loads(run(cw, tmp_config, "info", "Greet", "--json").stdout)
    entry = [s for s in greet["schedules"] if s["spec"] == "Greet:world"][0]
    p = cw("next", "H * * * *", "--job", "Greet:world", "--tz", "Europe/Warsaw", "--from", NOW, "--count", "5")
    assert p.stdout.split() == entry["next_fires"]
    # A differently written but equal job spec hashes the same.
    p2 = cw("next", "H * * * *", "--job", 'Greet:"world"', "--tz", "Europe/Warsaw", "--from", NOW, "--count", "5")
    assert p2.stdout == p.stdout


def test_info_unknown_job(cw, tmp_config):
    p = run(cw, tmp_config, "info", "Nope")
    assert p.returncode == 2
    assert "no job named 'Nope'" in p.stderr


def test_info_usage_errors(cw, tmp_config):
    assert run(cw, tmp_config, "info").returncode == 2
    assert run(cw, tmp_config, "info", "A", "B").returncode == 2
    p = run(cw, tmp_config, "jobs", "--bogus")
    assert p.returncode == 2
    assert "--bogus" in p.stderr


def test_config_lookup_order(cw, tmp_config, tmp_path):
    path = tmp_config(CONFIG)
    env = {"CRONWARDEN_FAKE_NOW": NOW}
    # --config after the command, and CRONWARDEN_CONFIG.
    assert cw("jobs", "--config", path, env=env).returncode == 0
    assert cw("jobs", env={**env, "CRONWARDEN_CONFIG": path}).returncode == 0
    # ./cronwarden.ini in the working directory.
    assert cw("jobs", cwd=path.parent, env=env).returncode == 0
    # None at all: a clear error naming where it looked.
    p = cw("jobs", cwd=tmp_path, env=env)
    if p.returncode != 0:
        assert p.returncode == 2
        assert "cronwarden.ini" in p.stderr


def test_bad_config_fails_listing(cw, tmp_config):
    p = run(cw, tmp_config, "jobs", text="[job X]\ncommand = /bin/true\nschedule = 61 * * * *\n")
    assert p.returncode == 2
    assert ":3:" in p.stderr
    assert "schedule" in p.stderr


def test_help(cw):
    for args in (["--help"], ["help"], ["jobs", "--help"], ["info", "--help"], ["help", "info"]):
        p = cw(*args)
        assert p.returncode == 0, args
        assert "Usage:" in p.stdout
    p = cw("frobnicate")
    assert p.returncode == 2
    assert "unknown command 'frobnicate'" in p.stderr
    p = cw("--version")
    assert p.returncode == 0 and p.stdout.startswith("cronwarden ")
    assert cw().returncode == 2
