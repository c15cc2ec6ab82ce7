"""The admin UI says what the API and the command line say (issue 14,
"the UI, API and CLI disagree in small ways"), in a real headless Chromium
against a real `cronwarden daemon`:

- a requested run has no scheduled instant: the run page says so, as the
  API's `scheduled_at` is null;
- the flash after Run now shows the canonical spec (the run's `spec`),
  not the form's quoting, and links to the new run;
- a job in another zone than the config's shows its next run in its own
  zone, labelled, as the API's `next` does;
- a kill from the UI is recorded as the signed-in user's, not as "killed
  by signal from pid N";
- a finished run's page keeps the progress the API reports;
- status chips and badges read "timed out", not `timed_out`;
- Settings show `ionice`;
- the duration chart has a scale.

One daemon and one browser serve the module; the tests run in file order.
Screenshots (agree-NAME-desktop.png, agree-NAME-phone.png) land in
tests/artifacts/screenshots/. Skipped only when chromium, chromedriver or
selenium is missing."""

import os
import re
import subprocess

import pytest

from ui_helpers import DESKTOP, PHONE, SCREENSHOT_DIR, UiEnv, Ui, browser_missing, make_driver

_MISSING = browser_missing()
if _MISSING:
    pytest.skip(f"browser tests need a browser: {_MISSING}", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402

USER = "admin"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def env(build_dir, tmp_path_factory):
    e = UiEnv(build_dir, tmp_path_factory.mktemp("ui-agree"))
    progress = e.script("progress", 'echo "3/4" >&"$CRONWARDEN_PROGRESS_FD"\necho "three of four"\n')
    params = e.script("params", 'echo "who=[$CRONWARDEN_ARG_1] sleep=[$CRONWARDEN_OPT_SLEEP]"\n')
    long_ = e.script("long", 'i=0\nwhile [ "$i" -lt 200 ]; do\n    i=$((i + 1))\n'
                             '    echo "$i/200" >&"$CRONWARDEN_PROGRESS_FD"\n    sleep 0.2\ndone\n')
    jobs = f"""
[job Progress]
command = {progress}

[job Params]
command = {params}
args = who
options = sleep

[job Long]
command = {long_}
kill_grace = 2s

[job Slow]
command = /bin/sleep 30
timeout = 1s
kill_grace = 0s

[job Tokyo]
command = /bin/true
timezone = Asia/Tokyo
schedule = 0 0 9 * * *
ionice = best-effort:3
"""
    e.configure(jobs, USER, e.hash_password(PASSWORD), globals="timezone = Etc/UTC")
    r = e.cw("check")
    assert r.returncode == 0, f"cronwarden check refused the test config:\n{r.stderr}"
    e.start_daemon()
    yield e
    rc, log = e.stop_daemon()
    reports = e.cleanup()
    if reports:
        pytest.fail("sanitizer report(s):\n" + "\n".join(reports))
    assert rc == 0, f"the daemon exited {rc} on SIGTERM:\n{log}"


@pytest.fixture(scope="module")
def ui(env, tmp_path_factory):
    d = make_driver(tmp_path_factory.mktemp("chromium-profile"))
    u = Ui(d, env.base_url)
    u.go("/login")
    u.wait_css("#login-user").send_keys(USER)
    u.css("#login-password").send_keys(PASSWORD)
    u.submit(u.css("#login-submit"))
    u.wait_path("/jobs")
    yield u
    d.quit()


def shot(ui, name):
    """agree-NAME-{desktop,phone}.png of the page as it is."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    ui._capture(SCREENSHOT_DIR / f"agree-{name}-desktop.png", *DESKTOP, mobile=False)
    ui._capture(SCREENSHOT_DIR / f"agree-{name}-phone.png", *PHONE, mobile=True)


def api(ui, path, method="GET"):
    """/api/v1/PATH with the browser's session: (status, decoded JSON)."""
    r = ui.d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const csrf = document.querySelector('meta[name=\"csrf-token\"]');"
        "fetch('/api/v1/' + arguments[0], {method: arguments[1], credentials: 'same-origin',"
        " headers: {Accept: 'application/json', 'X-CSRF-Token': csrf ? csrf.content : ''}})"
        ".then(r => r.json().then(j => done({status: r.status, body: j})), e => done({error: String(e)}));",
        path, method)
    assert "status" in r, r
    return r["status"], r["body"]


def run_ids(env, job):
    return {r["id"] for r in env.history(job)}


def new_run(env, ui, job, before, timeout=10.0):
    def check():
        new = sorted(run_ids(env, job) - before)
        return new[0] if new else None
    return ui.wait(check, timeout, what=f"a new run of {job}")


def wait_final(env, ui, run_id, timeout=15.0):
    def final():
        _, r = api(ui, f"runs/{run_id}")
        return r if r["status"] not in ("queued", "running") else None
    return ui.wait(final, timeout, what=f"run {run_id} to end")


def run_now(ui, env, job):
    before = run_ids(env, job)
    ui.go(f"/jobs/{job}")
    ui.submit(ui.wait_css(f"button[data-run-now={job}]"))
    return new_run(env, ui, job, before)


# ---- tests ---------------------------------------------------------------------

def test_requested_run_has_no_scheduled_time_and_keeps_its_progress(ui, env):
    run_id = run_now(ui, env, "Progress")
    run = wait_final(env, ui, run_id)
    assert run["trigger"] == "request" and run["status"] == "succeeded", run
    assert run["scheduled_at"] is None and run["scheduled_at_ts"] is None, run
    assert run["progress"]["percent"] == 75.0, run
    ui.go(f"/runs/{run_id}")
    sched = ui.wait_css("#run-scheduled")
    # The API says null: the page says there is no scheduled fire, not a time.
    assert sched.find_elements(By.CSS_SELECTOR, "time") == [], sched.get_attribute("innerHTML")
    assert "not a scheduled fire" in sched.text
    # The finished run's progress, as the API reports it.
    card = ui.css("#run-progress")
    assert card.is_displayed(), "a finished run's page hides its progress"
    assert "75%" in card.text and "(3/4)" in card.text, card.text
    shot(ui, "run-requested")


def test_run_now_flash_shows_the_canonical_spec_and_links_to_the_run(ui, env):
    before = run_ids(env, "Params")
    ui.go("/jobs/Params")
    ui.click(ui.wait_css("summary[data-run-now=Params]"))
    who = ui.wait_css("input[data-param=who]")
    form = who.find_element(By.XPATH, "./ancestor::form")
    who.send_keys("x")
    form.find_element(By.CSS_SELECTOR, "input[data-param=sleep]").send_keys("60")
    ui.submit(form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    flash = ui.wait_css("#flash")
    # As the run, the API and `history` write the spec.
    assert "Params:x,sleep=60 requested" in flash.text, flash.text
    assert '"' not in flash.text, flash.text
    shot(ui, "flash-run-now")
    run_id = new_run(env, ui, "Params", before)
    assert [r for r in env.history("Params") if r["id"] == run_id][0]["spec"] == "Params:x,sleep=60"
    ui.submit(ui.css("#flash-follow"))
    ui.wait_path(f"/runs/{run_id}")
    assert ui.css("[data-run-status]")


def test_request_page_without_a_run_says_so(ui, env):
    ui.go("/requests/999999?spec=Params:x&at=0")
    assert "no run of it was found" in ui.wait_css("#request-state").text
    ui.go("/requests/nope")
    assert ui.all("#request-state") == []


def test_request_page_waits_for_the_scheduler_then_leads_to_the_run(ui, env):
    """While the scheduler drains, a request stays queued: the flash's link
    shows it waiting, and the page reaches the run by itself once the drain
    ends (`undrain`)."""
    long_id = run_now(ui, env, "Long")  # a run in progress keeps `drain` waiting
    full = {k: v for k, v in os.environ.items() if k != "CRONWARDEN_CONFIG"}
    full.update({k: v for k, v in env.env.items() if v is not None})
    drain = subprocess.Popen([str(env.binary), "--config", str(env.config), "drain", "--timeout", "60s"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env=full, text=True)
    try:
        def draining():
            ui.go("/jobs/Progress")
            return ui.has("#draining-notice")
        ui.wait(draining, timeout=10, what="the scheduler to drain")
        before = run_ids(env, "Progress")
        ui.submit(ui.wait_css("button[data-run-now=Progress]"))
        ui.submit(ui.wait_css("#flash-follow"))
        assert ui.path().startswith("/requests/"), ui.path()
        assert "waiting for the scheduler" in ui.wait_css("#request-state").text
        shot(ui, "request-waiting")
        assert env.cw("undrain").returncode == 0
        ui.wait(lambda: ui.path().startswith("/runs/"), timeout=15, what="the page to lead to the run")
        run_id = new_run(env, ui, "Progress", before)
        assert ui.path() == f"/runs/{run_id}", (ui.path(), run_id)
        out, _ = drain.communicate(timeout=30)
        assert "left running" in out, out
    finally:
        if drain.poll() is None:
            drain.kill()
            drain.wait()
        env.cw("undrain")
        api(ui, f"runs/{long_id}/kill", "POST")


def test_job_in_another_zone_shows_its_next_run_in_its_zone(ui, env):
    _, job = api(ui, "jobs/Tokyo")
    nxt = job["next"]
    assert nxt.endswith("T09:00:00+09:00"), job
    ui.go("/jobs")
    cell = ui.wait_css("tr[data-job=Tokyo] .cell-next")
    assert nxt[:10] + " 09:00:00" in cell.text, cell.text
    assert cell.find_element(By.CSS_SELECTOR, "[data-zone]").text == "Asia/Tokyo"
    # A job in the config's zone has no label.
    assert ui.all("tr[data-job=Progress] .cell-next [data-zone]") == []
    shot(ui, "jobs-zone")
    ui.go("/jobs/Tokyo")
    first = ui.wait_css("ol.fires li")
    assert nxt[:10] + " 09:00:00" in first.text and "Asia/Tokyo" in first.text, first.text


def test_settings_show_ionice(ui, env):
    ui.go("/jobs/Tokyo")
    settings = ui.wait_css("#settings")
    assert re.search(r"ionice\)?\s*best-effort:3", settings.text), settings.text
    ui.go("/jobs/Long")
    assert "ionice" not in ui.wait_css("#settings").text
    # The same words in the API and `info --json`.
    _, job = api(ui, "jobs/Tokyo")
    assert job["ionice"] == "best-effort:3" and job["nice"] is None, job
    info = env.cw_json("info", "Tokyo")
    info = info[0] if isinstance(info, list) else info
    assert info["ionice"] == "best-effort:3" and info["nice"] is None, info
    assert api(ui, "jobs/Long")[1]["ionice"] is None


def test_kill_from_the_ui_is_recorded_as_the_users(ui, env):
    run_id = run_now(ui, env, "Long")
    ui.go(f"/runs/{run_id}")
    ui.wait(lambda: ui.css("[data-run-status]").get_attribute("data-run-status") == "running",
            what="the run to show running")
    ui.wait(lambda: re.search(r"\d+%", ui.css("#run-progress").text), timeout=10,
            what="some progress")
    ui.submit(ui.wait_css(f"button[data-kill='{run_id}']"), timeout=15, confirm=True)
    run = wait_final(env, ui, run_id)
    assert run["status"] == "killed", run
    assert run["reason"] == f"killed by {USER} (admin UI)", run
    cli = [r for r in env.history("Long") if r["id"] == run_id][0]
    assert cli["reason"] == run["reason"]
    ui.go(f"/runs/{run_id}")
    assert ui.wait_css("#run-reason").text == run["reason"]
    # Killed half-way, its page keeps the progress it had reached.
    card = ui.css("#run-progress")
    pct = round(run["progress"]["percent"])
    assert card.is_displayed() and f"{pct}%" in card.text, (card.text, run["progress"])
    shot(ui, "run-killed")


def test_status_labels_and_duration_scale(ui, env):
    before = run_ids(env, "Slow")
    ui.go("/jobs/Slow")
    ui.submit(ui.wait_css("button[data-run-now=Slow]"))
    run_id = new_run(env, ui, "Slow", before)
    assert wait_final(env, ui, run_id)["status"] == "timed_out"
    ui.go("/jobs/Slow")
    chip = ui.wait_css("#history-filter [data-filter=timed_out]")
    assert chip.text == "timed out"
    assert "timed_out" not in ui.css("#history-filter").text
    badge = ui.css("#history span.badge[data-run-status=timed_out]")
    assert badge.text == "timed out"
    # The chart's scale: 0, half and a round top at least the longest run (~1 s).
    scale = ui.css("#durations-scale")
    labels = [s.text for s in scale.find_elements(By.CSS_SELECTOR, "span")]
    assert labels == ["2 s", "1 s", "0"], labels
    shot(ui, "job-timed-out")
    ui.go("/runs?status=timed_out")
    sel = ui.wait_css("#filter-status option[value=timed_out]")
    assert sel.text == "timed out"
