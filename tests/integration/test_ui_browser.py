"""The admin UI in a real headless Chromium (docs/api.md, issue 5): what
an operator does with the mouse, end to end, against a real `cronwarden
daemon` and its store.

One daemon and one browser serve the whole module (module-scoped
fixtures); the tests run in file order and share the daemon's state (the
login test comes first, the logout test last), each re-logging in if it
finds itself at /login. Jobs that must stay running while the browser
looks at them wait for a gate file named after their run id, opened by
the test (bounded), so nothing depends on timing. Every browser wait is a
WebDriverWait of a few seconds; nothing sleeps for a fixed time.

What the browser sees is cross-checked with the CLI (`history --json`,
`jobs --json`) reading the same store.

Screenshots of every page, at 1280x800 and 375x740 (mobile emulation),
land in tests/artifacts/screenshots/ (NAME-desktop.png, NAME-phone.png,
and layout.json with each page's width at 375 px).

The module is skipped only when chromium, chromedriver or selenium is
not installed (scripts/deps.sh installs them).
"""

import re

import pytest

from ui_helpers import SCREENSHOT_DIR, UiEnv, Ui, browser_missing, clear_screenshots, make_driver

_MISSING = browser_missing()
if _MISSING:
    pytest.skip(f"browser tests need a browser: {_MISSING}", allow_module_level=True)

from selenium.common.exceptions import NoAlertPresentException, TimeoutException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

USER = "admin"
PASSWORD = "correct horse battery staple"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
XSS_OUT = "<script>alert(3)</script><img src=x onerror=alert(4)>"
FINAL = ("succeeded", "failed", "timed_out", "killed", "lost", "skipped", "missed")

# A job that waits (polling, bounded to ~20 s) for the gate file named
# after its run id, so the test decides when it ends.
GATED = """\
echo "{name}: started run $CRONWARDEN_RUN_ID"
i=0
while [ ! -e '{gates}'/"$CRONWARDEN_RUN_ID" ]; do
    sleep 0.05
    i=$((i + 1))
    if [ "$i" -gt 400 ]; then echo "gate never opened" >&2; exit 99; fi
done
{after}
"""


# ---- fixtures ----------------------------------------------------------------

@pytest.fixture(scope="module")
def env(build_dir, tmp_path_factory):
    e = UiEnv(build_dir, tmp_path_factory.mktemp("ui"))
    quick = e.script("quick", GATED.format(
        name="quick", gates=e.gates,
        after='echo "quick: finished"\necho "second line & <b>not bold</b>"'))
    params = e.script("params", 'printf "who=[%s] greeting=[%s]\\n" "$CRONWARDEN_ARG_1" '
                                '"$CRONWARDEN_OPT_GREETING"\necho "argv: $*"\n')
    long_ = e.script("long", 'i=0\nwhile [ "$i" -lt 100 ]; do\n    i=$((i + 1))\n'
                             '    echo "$i/100" >&"$CRONWARDEN_PROGRESS_FD"\n    echo "step $i"\n'
                             '    sleep 0.5\ndone\n', interp="/bin/bash")
    xss = e.script("xss", GATED.format(name="xss", gates=e.gates,
                                       after=f"printf '%s\\n' '{XSS_OUT}' '<b>bold?</b> & \"quotes\"'"))
    chain_a = e.script("chain_a", GATED.format(name="chain-a", gates=e.gates, after='echo "chain a done"'))
    chain_b = e.script("chain_b", 'echo "chain b ran after a"\n')
    jobs = f"""
[job Quick]
description = Prints two lines when its gate opens
command = {quick}
schedule = 0 30 4 * * *

[job Params]
description = Greets someone
command = {params}
args = who
options = greeting

[job Long]
description = Counts to 100 slowly, reporting progress
command = {long_}
timeout = 5m
kill_grace = 2s
schedule = @monthly

[job Xss]
description = {XSS}
command = {xss}

[job ChainA]
description = First link of a chain
command = {chain_a}
schedule = 0 0 3 * * *

[job ChainB]
description = Runs after ChainA succeeds
command = {chain_b}
after = ChainA
"""
    e.configure(jobs, USER, e.hash_password(PASSWORD), globals="timezone = Etc/UTC",
                schedule='run = 0 15 2 * * *  Params:"from the schedule",greeting=hi')
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
def driver(tmp_path_factory):
    d = make_driver(tmp_path_factory.mktemp("chromium-profile"))
    yield d
    d.quit()


@pytest.fixture(scope="module")
def browser(env, driver):
    clear_screenshots()
    return Ui(driver, env.base_url)


@pytest.fixture
def ui(browser, env):
    """The browser, logged in, with no dialog open, the daemon alive."""
    if env.daemon is None or env.daemon.poll() is not None:
        pytest.fail(f"the daemon is not running (exit {env.daemon and env.daemon.returncode}); its log:\n"
                    + env.daemon_log()[-4000:])
    no_alert(browser)
    if not logged_in(browser):
        login(browser, USER, PASSWORD)
    return browser


# ---- helpers -----------------------------------------------------------------

def no_alert(ui):
    """Asserts no alert/confirm dialog is open (an XSS payload would open
    one): driver.switch_to.alert must raise NoAlertPresentException."""
    try:
        alert = ui.d.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    raise AssertionError(f"a dialog is open: {text!r}")


def logged_in(ui):
    ui.go("/jobs")
    ui.wait(ui.ready, what="the page to load")
    return not ui.path().startswith("/login")


def login_form(ui):
    return ui.wait_css("#login-user"), ui.css("#login-password")


def login(ui, user, password):
    if not ui.path().startswith("/login"):
        ui.go("/login")
    u, p = login_form(ui)
    u.clear()
    u.send_keys(user)
    p.clear()
    p.send_keys(password)
    ui.submit(ui.css("#login-submit"))


def run_ids(env, job):
    return {r["id"] for r in env.history(job)}


def wait_new_run(env, ui, job, before, timeout=10.0):
    """The id of the first run of job not in `before` (CLI history), waiting
    (bounded) for the scheduler to start it."""
    def check():
        new = sorted(run_ids(env, job) - before)
        return new[0] if new else None
    return ui.wait(check, timeout, what=f"a new run of {job} in `cronwarden history`")


def run_record(env, run_id):
    for r in env.history(limit=1000):
        if r["id"] == run_id:
            return r
    raise AssertionError(f"run {run_id} is not in `cronwarden history`")


def open_run(ui, run_id):
    """Gets to /runs/ID: follows a link to it on the current page when one
    shows up (bounded), else navigates there."""
    if ui.path().rstrip("/") == f"/runs/{run_id}":
        return
    try:
        link = ui.wait(lambda: [a for a in ui.all(f"a[href$='/runs/{run_id}']") if a.is_displayed()],
                       timeout=3, what=f"a link to run {run_id}")[0]
        ui.click(link)
    except TimeoutException:  # no live link: a person would reload
        ui.go(f"/runs/{run_id}")
    ui.wait_path(f"/runs/{run_id}")


def run_status(ui):
    """The status the run page shows (its data-run-status badge)."""
    el = ui.css("[data-run-status]")
    return el.get_attribute("data-run-status")


def run_now(ui, env, job, before=None):
    """On /jobs/JOB, clicks Run now (a job without params); returns the new
    run's id."""
    before = run_ids(env, job) if before is None else before
    ui.go(f"/jobs/{job}")
    ui.submit(ui.wait_css(f"button[data-run-now={job}]"))
    return wait_new_run(env, ui, job, before)


def api(ui, path):
    """GET /api/v1/PATH with the browser's session; the decoded JSON."""
    r = ui.d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/v1/' + arguments[0], {credentials: 'same-origin', headers: {Accept: 'application/json'}})"
        ".then(r => r.json().then(j => done({status: r.status, body: j})), e => done({error: String(e)}));", path)
    assert r.get("status") == 200, f"GET /api/v1/{path}: {r}"
    return r["body"]


def job_enabled(ui, name):
    """The job's effective enabled flag, as the API says (`cronwarden jobs`
    shows only the config's)."""
    return api(ui, f"jobs/{name}")["enabled"]


def open_gate(env, run_id):
    (env.gates / str(run_id)).touch()


def assert_no_payload_in_dom(ui):
    """No alert, no <script> or <img> smuggled in by a payload."""
    no_alert(ui)
    scripts = ui.d.execute_script(
        "return Array.from(document.scripts).map(s => s.text).filter(t => t.includes('alert('))")
    assert scripts == [], f"a script from the payload is in the DOM: {scripts}"
    assert ui.all("img[src=x], img[onerror]") == [], "an <img onerror> from the payload is in the DOM"
    assert ui.d.execute_script("return document.querySelectorAll('[onerror]').length") == 0


# ---- tests -------------------------------------------------------------------

def test_login_wrong_password_then_right(browser, env):
    ui = browser
    ui.go("/jobs")
    # Not logged in: the jobs page sends us to the login form.
    ui.wait_path("/login")
    login_form(ui)
    ui.screenshot("login")

    login(ui, USER, "not the password")
    ui.wait_path("/login")
    err = ui.wait_css("#login-error")
    assert err.text.strip(), "the login error is empty"
    # The password is not kept; the user name is (issue 5).
    assert ui.css("#login-password").get_attribute("value") == ""
    assert ui.css("#login-user").get_attribute("value") == USER
    ui.screenshot("login-error")

    login(ui, USER, PASSWORD)
    ui.wait_path("/jobs")
    ui.wait_css("[data-job=Quick]")
    # The session cookie: HttpOnly (no script reads it), SameSite=Strict.
    session = [c for c in ui.d.get_cookies() if c["name"] == "cw_session"]
    assert session, f"no cw_session cookie: {ui.d.get_cookies()}"
    assert session[0].get("httpOnly") is True and session[0].get("sameSite") == "Strict", session[0]
    assert "cw_session" not in ui.d.execute_script("return document.cookie")


def test_post_without_csrf_token_is_refused(ui, env):
    """A same-origin POST with the session cookie but no CSRF token (what
    a forged form or script would send) changes nothing."""
    ui.go("/jobs")
    ui.wait_css("tr[data-job=Quick]")
    status = ui.d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/jobs/Quick/disable', {method: 'POST', credentials: 'same-origin',"
        " headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'back=%2Fjobs', redirect: 'manual'})"
        ".then(r => done(r.status), e => done(String(e)));")
    assert status == 403, f"POST /jobs/Quick/disable without a CSRF token answered {status}"
    assert job_enabled(ui, "Quick") is True
    # The same request with the page's token goes through (so the 403 was
    # the missing token, nothing else).
    try:
        status = ui.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "const t = document.querySelector('input[name=csrf]').value;"
            "fetch('/jobs/Quick/disable', {method: 'POST', credentials: 'same-origin',"
            " headers: {'Content-Type': 'application/x-www-form-urlencoded'},"
            " body: 'back=%2Fjobs&csrf=' + encodeURIComponent(t), redirect: 'manual'})"
            ".then(r => done(r.type === 'opaqueredirect' ? 303 : r.status), e => done(String(e)));")
        assert status == 303, f"POST /jobs/Quick/disable with the CSRF token answered {status}"
        assert job_enabled(ui, "Quick") is False
    finally:
        env.cw("enable", "Quick")


def test_jobs_page_shows_schedules_and_next_fire(ui, env):
    ui.go("/jobs")
    cli = {j["name"]: j for j in env.cw_json("jobs")}
    for name in ("Quick", "Params", "Long", "Xss", "ChainA", "ChainB"):
        ui.wait_css(f"[data-job={name}]")
    row = ui.css("[data-job=Quick]")
    text = row.text
    assert "Quick" in text
    assert "0 30 4 * * *" in text, f"Quick's schedule is not in its row: {text!r}"
    # The next fire, as `cronwarden jobs` computes it (shown in the job's
    # zone without the offset: the config says UTC).
    nxt = cli["Quick"]["next"]
    assert nxt and nxt.endswith("+00:00"), cli["Quick"]
    shown = nxt[:-len("+00:00")].replace("T", " ")
    assert shown in row.find_element(By.CSS_SELECTOR, ".cell-next").text, \
        f"Quick's next fire {shown} is not in its row: {text!r}"
    # Jobs without a schedule say so.
    assert "on demand" in ui.css("tr[data-job=Xss] .cell-sched").text
    ui.screenshot("jobs")


def test_job_page(ui, env):
    ui.go("/jobs/Params")
    ui.wait_text("Greets someone")
    text = ui.text()
    assert "from the schedule" in text, "the [schedule] entry of Params is not shown"
    assert "02:15" in text, "the next fires of Params' schedule entry are not shown"
    ui.screenshot("job")


def test_run_now_updates_live_until_succeeded(ui, env):
    run_id = run_now(ui, env, "Quick")
    open_run(ui, run_id)
    ui.wait(lambda: run_status(ui) == "running", what="the run's badge to say running")
    assert ui.button("Kill"), "a running run has no Kill button"
    # The output so far shows up while the job runs (the worker stores it
    # about once a second), appended in place: no reload.
    ui.d.execute_script("window.__cwNoReload = 42")
    ui.wait(lambda: f"quick: started run {run_id}" in ui.css("#run-output").text,
            what="the output written so far, while the run is running")
    assert run_status(ui) == "running"
    assert ui.d.execute_script("return window.__cwNoReload") == 42, "the run page reloaded itself"
    open_gate(env, run_id)
    # No driver.refresh(): the page notices the end by itself.
    ui.wait(lambda: run_status(ui) == "succeeded", timeout=10, what="the badge to change to succeeded live")
    ui.wait(lambda: "quick: finished" in ui.css("#run-output").text, what="the output on the run page")
    out = ui.css("#run-output").text
    assert f"quick: started run {run_id}" in out, out
    assert "second line & <b>not bold</b>" in out, "the output is not shown as text"
    assert not ui.button("Kill"), "a finished run still has a Kill button"
    assert run_record(env, run_id)["status"] == "succeeded"
    ui.screenshot("run")


def test_run_with_params_through_the_form(ui, env):
    before = run_ids(env, "Params")
    ui.go("/jobs/Params")
    # "Run now..." opens the params form.
    ui.click(ui.wait_css("summary[data-run-now=Params]"))
    who = ui.wait_css("input[data-param=who]")
    form = who.find_element(By.XPATH, "./ancestor::form")
    who.send_keys("big world")
    form.find_element(By.CSS_SELECTOR, "input[data-param=greeting]").send_keys("hello, there")
    ui.screenshot("job-params")
    ui.submit(form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    run_id = wait_new_run(env, ui, "Params", before)
    rec = run_record(env, run_id)
    assert rec["spec"] == 'Params:"big world",greeting="hello, there"', rec
    open_run(ui, run_id)
    ui.wait(lambda: run_status(ui) == "succeeded", timeout=10, what="the params run to succeed")
    ui.wait_text("who=[big world] greeting=[hello, there]")


def test_kill_running_job_from_the_run_page(ui, env):
    run_id = run_now(ui, env, "Long")
    ui.go("/running")
    ui.wait_css(f"tr[data-run='{run_id}']", timeout=10)

    def percent():
        m = re.search(r"(\d+)%", ui.css(f"tr[data-run='{run_id}'] .cell-result").text)
        return int(m.group(1)) if m else -1

    # The job reports 1% every half second: the row's progress grows in
    # place, without a reload.
    first = percent()
    ui.d.execute_script("window.__cwNoReload = 7")
    ui.wait(lambda: percent() > max(first, 0), timeout=10, what=f"the progress on /running to grow past {first}%")
    assert ui.d.execute_script("return window.__cwNoReload") == 7, "/running reloaded itself"
    ui.screenshot("running")
    ui.go("/jobs")
    ui.wait(lambda: re.search(r"\d+%", ui.css("tr[data-job=Long] .cell-now").text), timeout=10,
            what="the long run's progress in the Now column of /jobs")
    ui.screenshot("jobs-running")
    open_run(ui, run_id)
    ui.wait(lambda: run_status(ui) == "running", what="the long run to show running")
    ui.wait_css("#run-progress progress")
    # Its output grows on the page while it runs.
    ui.wait(lambda: re.search(r"step [2-9]", ui.css("#run-output").text), timeout=10,
            what="the long run's output to grow live")
    ui.screenshot("run-running")
    ui.submit(ui.wait_css(f"button[data-kill='{run_id}']"), timeout=15, confirm=True)
    ui.wait(lambda: run_status(ui) == "killed", timeout=10, what="the long run to show killed")
    ui.screenshot("run-killed")
    assert run_record(env, run_id)["status"] == "killed"


def test_toggle_job_disabled_and_enabled(ui, env):
    switch = "button[data-toggle-job=ChainB]"
    try:
        toggle_chain_b(ui, switch)
    finally:
        env.cw("enable", "ChainB")  # whatever happened, later tests need it on


def toggle_chain_b(ui, switch):
    ui.go("/jobs/ChainB")
    assert ui.wait_css(switch).get_attribute("data-enabled") == "1"
    ui.click(ui.css(switch))
    ui.wait(lambda: ui.css(switch).get_attribute("data-enabled") == "0", what="the switch to turn off")
    ui.wait(lambda: ui.css("#job-state").text == "disabled", what="the job's state to say disabled")
    # It stays off after a reload.
    ui.d.refresh()
    ui.wait(lambda: ui.css(switch).get_attribute("data-enabled") == "0", what="the switch to stay off")
    assert ui.css("#job-state").text == "disabled"
    assert job_enabled(ui, "ChainB") is False
    ui.go("/jobs")
    assert ui.wait_css("tr[data-job=ChainB]").get_attribute("data-enabled") == "0"
    ui.click(ui.css(f"tr[data-job=ChainB] {switch}"))
    ui.wait(lambda: ui.css(switch).get_attribute("data-enabled") == "1", what="the switch to turn on")
    ui.d.refresh()
    ui.wait(lambda: ui.css(switch).get_attribute("data-enabled") == "1", what="the switch to stay on")
    assert job_enabled(ui, "ChainB") is True


def test_scheduler_off_and_on(ui, env):
    try:
        scheduler_off_and_on(ui)
    finally:
        env.cw("enable")  # whatever happened, later tests need it on


def scheduler_off_and_on(ui):
    def state():
        return ui.css("#scheduler").get_attribute("data-scheduler-enabled")

    ui.go("/scheduler")
    assert ui.wait_css("#scheduler-toggle").text.strip() == "Turn off"
    assert state() == "1"
    ui.screenshot("scheduler")
    ui.submit(ui.css("#scheduler-toggle"), confirm=True)
    ui.wait(lambda: state() == "0", what="the scheduler to be off")
    assert ui.css("#scheduler-state").text.lower() == "off"
    ui.d.refresh()
    ui.wait(lambda: state() == "0", what="the scheduler to stay off")
    assert ui.css("#scheduler-toggle").text.strip() == "Turn on"
    assert api(ui, "jobs")["scheduler_enabled"] is False
    ui.go("/jobs")
    ui.wait_css("#scheduler-off")
    ui.screenshot("jobs-scheduler-off")
    ui.go("/scheduler")
    ui.submit(ui.wait_css("#scheduler-toggle"), confirm=True)
    ui.wait(lambda: state() == "1", what="the scheduler to be on")
    ui.d.refresh()
    ui.wait(lambda: state() == "1", what="the scheduler to stay on")
    assert api(ui, "jobs")["scheduler_enabled"] is True


def test_entries_create_edit_delete(ui, env):
    ui.go("/entries")
    ui.wait_css("#entry-new")
    ui.screenshot("entries-empty")
    ui.submit(ui.css("#entry-new"))
    ui.wait_path("/entries/new")
    ui.wait_css("#entry-schedule").send_keys("61 * * * *")
    ui.css("#entry-spec").send_keys("Params:ui-made")
    ui.css("#entry-description").send_keys("made by the browser test")
    ui.screenshot("entry-form")
    ui.submit(ui.css("#entry-save"))
    err = ui.wait_css("#form-error")
    assert "schedule" in err.text.lower(), f"the error does not name the schedule: {err.text!r}"
    # What was typed is kept.
    assert ui.css("#entry-schedule").get_attribute("value") == "61 * * * *"
    assert ui.css("#entry-spec").get_attribute("value") == "Params:ui-made"
    assert ui.css("#entry-description").get_attribute("value") == "made by the browser test"
    ui.screenshot("entry-form-error")

    s = ui.css("#entry-schedule")
    s.clear()
    s.send_keys("*/5 * * * *")
    ui.submit(ui.css("#entry-save"))
    ui.wait_path("/entries")
    row = ui.wait_css("tr[data-entry]")
    entry_id = row.get_attribute("data-entry")
    assert "ui-made" in row.text and "*/5 * * * *" in row.text, row.text
    ui.screenshot("entries")

    ui.submit(ui.css(f"[data-edit-entry='{entry_id}']"))
    ui.wait_path(f"/entries/{entry_id}/edit")
    s = ui.wait_css("#entry-schedule")
    assert s.get_attribute("value") == "*/5 * * * *"
    s.clear()
    s.send_keys("0 3 * * *")
    ui.screenshot("entry-edit")
    ui.submit(ui.css("#entry-save"))
    ui.wait_path("/entries")
    ui.wait(lambda: "0 3 * * *" in ui.css(f"tr[data-entry='{entry_id}']").text, what="the edited schedule")

    ui.submit(ui.css(f"[data-delete-entry='{entry_id}']"), confirm=True)
    ui.wait(lambda: not ui.all(f"tr[data-entry='{entry_id}']"), what="the entry to be gone")
    assert "ui-made" not in ui.text()


def test_xss_description_is_text(ui, env):
    ui.go("/jobs")
    ui.wait_css("[data-job=Xss]")
    assert_no_payload_in_dom(ui)
    ui.go("/jobs/Xss")
    ui.wait_text(XSS)
    assert_no_payload_in_dom(ui)


def test_xss_output_is_text(ui, env):
    run_id = run_now(ui, env, "Xss")
    # The run page while it updates itself, then its final page.
    open_run(ui, run_id)
    ui.wait(lambda: run_status(ui) == "running", what="the Xss run to show running")
    assert_no_payload_in_dom(ui)
    open_gate(env, run_id)
    ui.wait(lambda: run_status(ui) == "succeeded", timeout=10, what="the Xss run to end")
    ui.wait(lambda: XSS_OUT in ui.css("#run-output").text, what="the payload in the output, as text")
    assert '<b>bold?</b> & "quotes"' in ui.css("#run-output").text
    assert_no_payload_in_dom(ui)
    # And in the history list, and in the job's own page.
    ui.go("/jobs/Xss")
    ui.wait_css(f"#history tr[data-run='{run_id}']")
    assert_no_payload_in_dom(ui)
    ui.screenshot("job-xss")


def test_dependency_chain(ui, env):
    before = run_ids(env, "ChainB")
    a = run_now(ui, env, "ChainA")
    # Each job's page shows the link, both ways, as links to the other job.
    ui.go("/jobs/ChainB")
    ui.wait_css("#dependencies a.dep-node[data-dep=ChainA]")
    ui.go("/jobs/ChainA")
    ui.wait_css("#dependencies a.dep-node[data-dep=ChainB]")
    open_gate(env, a)
    b = wait_new_run(env, ui, "ChainB", before)
    assert run_record(env, b)["trigger"] == "dependency"
    ui.go("/jobs/ChainB")
    row = ui.wait_css(f"#history tr[data-run='{b}']")
    assert "dependency" in row.text
    ui.screenshot("job-deps")


def test_job_page_with_history(ui, env):
    ui.go("/jobs/Quick")
    ui.wait_css("#history tr[data-run]")
    ui.wait_css("#durations")
    ui.screenshot("job-history")


def test_not_found_page_shows_the_path_as_text(ui, env):
    ui.go("/jobs/%3Cscript%3Ealert(5)%3C%2Fscript%3E")
    page = ui.wait_css("#error")
    assert page.get_attribute("data-status") == "404"
    assert "<script>alert(5)</script>" in ui.text()
    assert_no_payload_in_dom(ui)
    ui.screenshot("error-404")


def test_history_page(ui, env):
    ui.go("/runs")
    ui.wait_css("tr[data-run]")
    statuses = {e.get_attribute("data-run-status") for e in ui.all("tr[data-run]")}
    assert {"succeeded", "killed"} <= statuses, statuses
    ui.screenshot("runs")


def test_phone_menu(ui, env):
    """On a phone the navigation folds into a menu button that opens it."""
    ui.go("/jobs")
    ui.wait_css("tr[data-job=Quick]")
    with ui.phone():
        ui.wait(lambda: not ui.css("#nav-runs").is_displayed(), what="the nav links to fold away")
        ui.click(ui.wait_css(".nav-burger"))
        ui.wait(lambda: ui.css("#nav-runs").is_displayed(), what="the menu to open")
        ui.d.save_screenshot(str(SCREENSHOT_DIR / "menu-phone.png"))
        ui.submit(ui.css("#nav-runs"))
        ui.wait_path("/runs")
        ui.wait_css("tr[data-run]")


def test_pages_fit_a_phone(browser):
    """Every page screenshotted above, at 375 px wide (mobile emulation):
    nothing sticks out sideways except inside a scrolling box."""
    assert browser.layout, "no page was screenshotted"
    wide = {name: f"{f['scrollWidth']}px wide: {', '.join(f['outside'])}"
            for name, f in sorted(browser.layout.items())
            if f["scrollWidth"] > f["viewport"] or f["outside"]}
    assert not wide, f"pages wider than a {375}px phone: {wide}"


def test_logout(ui, env):
    ui.go("/jobs")
    ui.submit(ui.wait_css("#logout"))
    ui.wait_path("/login")
    ui.go("/jobs")
    ui.wait_path("/login")
    login_form(ui)
    # Signing in again from a deep link goes back to it.
    ui.go("/running")
    ui.wait_path("/login")
    login(ui, USER, PASSWORD)
    ui.wait_path("/running")
