"""`cronwarden jobs` and `info` show the effective enabled flag and the
jobs created in the admin UI (issue 5): the config's `enabled` AND the
store's flag set by `disable`/`enable` or the UI, in text and JSON
(`enabled` effective, `enabled_config` the file's), the `ui-ID` jobs of
command entries marked as created in the UI, and no store file created
for a config whose store does not exist yet."""

import json

from test_api import ApiDaemon

CONFIG = """
[cronwarden]
data_dir = {data}
timezone = UTC

[job Nightly]
description = Runs every night
command = /bin/true
schedule = 0 3 * * *

[job Off]
command = /bin/true
schedule = @hourly
enabled = no

[job Chained]
command = /bin/true
after = Nightly
"""


def rows(out):
    return {line.split()[0]: line for line in out.splitlines()[1:]}


def test_jobs_on_a_fresh_config_creates_no_store(cw, tmp_config, tmp_path):
    data = tmp_path / "data"
    path = tmp_config(CONFIG.format(data=data))
    p = cw("--config", path, "jobs")
    assert p.returncode == 0, p.stderr
    assert "disabled" in rows(p.stdout)["Off"] and "disabled" not in rows(p.stdout)["Nightly"]
    p = cw("--config", path, "jobs", "--json")
    assert p.returncode == 0, p.stderr
    jobs = {j["name"]: j for j in json.loads(p.stdout)}
    assert (jobs["Nightly"]["enabled"], jobs["Nightly"]["enabled_config"]) == (True, True)
    assert (jobs["Off"]["enabled"], jobs["Off"]["enabled_config"]) == (False, False)
    assert {j["source"] for j in jobs.values()} == {"config"}
    assert cw("--config", path, "info", "Nightly").returncode == 0
    assert not data.exists(), f"listing jobs created {list(data.iterdir())}"


def test_disabled_in_the_store_shows_disabled(cw, tmp_config, tmp_path):
    path = tmp_config(CONFIG.format(data=tmp_path / "data"))
    p = cw("--config", path, "disable", "Nightly")
    assert p.returncode == 0, p.stderr

    p = cw("--config", path, "jobs")
    assert p.returncode == 0, p.stderr
    r = rows(p.stdout)
    assert "disabled" in r["Nightly"], p.stdout
    assert "disabled" not in r["Chained"], p.stdout

    jobs = {j["name"]: j for j in json.loads(cw("--config", path, "jobs", "--json").stdout)}
    assert jobs["Nightly"]["enabled"] is False and jobs["Nightly"]["enabled_config"] is True
    assert jobs["Nightly"]["next"] is None
    assert jobs["Chained"]["enabled"] is True

    info = json.loads(cw("--config", path, "info", "Nightly", "--json").stdout)
    assert info["enabled"] is False and info["enabled_config"] is True
    text = cw("--config", path, "info", "Nightly").stdout
    assert "cronwarden enable Nightly" in text, text
    assert "enabled = no in the config" in cw("--config", path, "info", "Off").stdout

    assert cw("--config", path, "enable", "Nightly").returncode == 0
    jobs = {j["name"]: j for j in json.loads(cw("--config", path, "jobs", "--json").stdout)}
    assert jobs["Nightly"]["enabled"] is True and jobs["Nightly"]["next"]


def test_ui_jobs_are_listed_and_marked(build_dir, tmp_path):
    d = ApiDaemon(build_dir, tmp_path, "[job Hello]\ncommand = /bin/true\n", admin_extra="allow_ui_commands = yes")
    d.start()
    try:
        r = d.post("/api/v1/entries", {"schedule": "0 4 * * *", "command": "/bin/echo from the ui",
                                       "description": "made in the UI"})
        assert r.status == 201, r
        eid = r.json()["id"]
        assert d.post(f"/api/v1/jobs/ui-{eid}/disable").status == 200
    finally:
        d.stop()
    name = f"ui-{eid}"

    out = d.cli("jobs").stdout
    r = rows(out)
    assert list(r) == ["Hello", name], out  # after the configured ones
    assert f"created in the UI, entry #{eid}" in r[name] and "made in the UI" in r[name], out
    assert "0 4 * * *" in r[name] and "disabled" in r[name], out

    jobs = {j["name"]: j for j in json.loads(d.cli("jobs", "--json").stdout)}
    ui = jobs[name]
    assert (ui["source"], ui["entry_id"], ui["enabled"], ui["enabled_config"]) == ("ui", eid, False, True), ui
    assert ui["schedules"][0]["when"] == "0 4 * * *" and ui["schedules"][0]["line"] is None, ui
    assert jobs["Hello"]["source"] == "config" and jobs["Hello"]["entry_id"] is None

    info = json.loads(d.cli("info", name, "--json").stdout)
    assert info["command"] == "/bin/echo from the ui" and info["entry_id"] == eid, info
    assert len(info["schedules"][0]["next_fires"]) == 5, info
    text = d.cli("info", name).stdout
    assert f"the admin UI, entry #{eid}" in text and f"UI entry #{eid}" in text, text

    # A name that is neither configured nor a UI job says so.
    p = d.cli("info", "ui-999", check=False)
    assert p.returncode == 2 and "no job named 'ui-999'" in p.stderr, p.stderr
