"""Helpers for the browser tests of the admin UI (test_ui_browser.py;
docs/api.md): a real `cronwarden daemon` serving the UI on a free
loopback port, and a real headless Chromium driven by Selenium.

    env = UiEnv(build_dir, tmp_dir)       # config, scripts, the test tag
    env.configure(jobs_text)              # [cronwarden], [admin], [defaults] + jobs
    env.start_daemon()                    # bounded wait for GET /healthz
    driver = make_driver(tmp_dir)         # headless Chromium, 1280x800
    ui = Ui(driver, env.base_url)         # navigation and explicit waits
    ...
    driver.quit(); env.stop_daemon(); env.cleanup()

Nothing here sleeps for a fixed time: every wait is a WebDriverWait (or
wait_for) with a deadline of a few seconds.

Processes: the daemon and every job it starts carry CW_TEST_TAG in their
environment (jobs get it from a [defaults] env line); cleanup() SIGKILLs by
pid whatever still carries it, and fails on any sanitizer report the
daemon or its workers left in the log directory.

Screenshots: ui.screenshot(NAME) saves NAME-desktop.png (1280x800) and
NAME-phone.png (375x740, mobile emulation, so the page's <meta viewport>
applies) of the page as it is, full height (capped), under
tests/artifacts/screenshots/, and records whether the page overflows the
phone's width (layout.json beside them).
"""

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import REPO, SANITIZER_MARKERS, Runner
from worker_helpers import kill_tagged, sanitizer_reports, tagged_pids, wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOT_DIR = REPO / "tests" / "artifacts" / "screenshots"
DESKTOP = (1280, 800)
PHONE = (375, 740)
# A full-page screenshot is cut at this height (CSS pixels).
MAX_SHOT_HEIGHT = 4000
# Default bound of every explicit wait in the browser.
WAIT = 5.0
# chromedriver's words for "the document went away during the command".
_NAVIGATION_ERRORS = ("aborted by navigation", "does not belong to the document", "target frame detached",
                      "execution context was destroyed", "Cannot find context")


def browser_missing():
    """Why the browser tests cannot run here (a string), or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is not installed (scripts/deps.sh installs chromium and chromium-driver)"
    try:
        from selenium import webdriver
    except ImportError:
        return "python3-selenium is not installed (scripts/deps.sh installs it)"
    del webdriver
    return None


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UiEnv:
    """A config in a temporary directory and the daemon serving it."""

    def __init__(self, build_dir, tmp):
        self.binary = Path(build_dir) / "cronwarden"
        if not self.binary.exists():
            pytest.fail(f"{self.binary} is not built")
        self.tmp = Path(tmp)
        self.data_dir = self.tmp / "data"
        self.scripts = self.tmp / "scripts"
        self.scripts.mkdir()
        # Gate files a job may wait for (GATED scripts in the tests).
        self.gates = self.tmp / "gates"
        self.gates.mkdir()
        self.san_dir = self.tmp / "sanitizer"
        self.san_dir.mkdir()
        self.config = self.tmp / "cronwarden.ini"
        self.cwd = self.tmp / "cwd"
        self.cwd.mkdir()
        self.tag = uuid.uuid4().hex
        self.env = {"CW_TEST_TAG": self.tag, "JOURNAL_STREAM": None}
        for var, prefix in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
            old = os.environ.get(var, "")
            self.env[var] = (old + ":" if old else "") + f"log_path={self.san_dir}/{prefix}"
        self.runner = Runner(self.binary, self.cwd)
        self.port = None
        self.daemon = None
        self.daemon_err = self.tmp / "daemon.err"

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    # ---- configuration ----

    def script(self, name, body, interp="/bin/sh"):
        """Writes a job script and returns the command line that runs it."""
        path = self.scripts / f"{name}.sh"
        path.write_text(body)
        return f"{interp} {path}"

    def hash_password(self, password):
        """An argon2id hash made by `cronwarden passwd` (password on stdin)."""
        r = self.cw("passwd", input=password + "\n", config=False)
        assert r.returncode == 0, f"cronwarden passwd: exit {r.returncode}\n{r.stderr}"
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        assert lines and lines[-1].startswith("$argon2id$"), f"cronwarden passwd printed {r.stdout!r}"
        return lines[-1].strip()

    def configure(self, jobs, user, password_hash, globals="", schedule=""):
        """Writes the config: data_dir in tmp, [admin] on a free port, the
        test tag on every job."""
        self.port = free_port()
        text = (
            "[cronwarden]\n"
            f"data_dir = {self.data_dir}\n"
            f"{globals.strip()}\n\n"
            "[admin]\n"
            f"listen = 127.0.0.1:{self.port}\n"
            f"user = {user}\n"
            f"password_hash = {password_hash}\n\n"
            "[defaults]\n"
            f"env = CW_TEST_TAG={self.tag}\n\n"
            f"{jobs.strip()}\n"
        )
        if schedule.strip():
            text += f"\n[schedule]\n{schedule.strip()}\n"
        self.config.write_text(text)
        return self.config

    # ---- cronwarden ----

    def cw(self, *args, input=None, config=True, timeout=30):
        """Runs cronwarden [--config CONFIG] ARGS (sanitizer reports fail)."""
        pre = ("--config", self.config) if config else ()
        return self.runner(*pre, *args, env=self.env, input=input, timeout=timeout)

    def cw_json(self, *args):
        r = self.cw(*args, "--json")
        assert r.returncode == 0, f"cronwarden {' '.join(args)} --json: exit {r.returncode}\n{r.stderr}"
        return json.loads(r.stdout)

    def history(self, job=None, limit=100):
        args = ["history"] + ([job] if job else []) + ["--limit", str(limit)]
        return self.cw_json(*args)

    def healthz(self):
        """The status of GET /healthz, or None when nothing answers."""
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as resp:
                return resp.status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, ConnectionError, OSError):
            return None

    def start_daemon(self, timeout=15.0):
        """Starts `cronwarden daemon`; waits (bounded) until /healthz says 200."""
        full = dict(os.environ)
        full.pop("CRONWARDEN_CONFIG", None)
        for k, v in self.env.items():
            if v is None:
                full.pop(k, None)
            else:
                full[k] = v
        with open(self.daemon_err, "wb") as fe:
            self.daemon = subprocess.Popen(
                [str(self.binary), "--config", str(self.config), "daemon"],
                stdin=subprocess.DEVNULL, stdout=fe, stderr=subprocess.STDOUT,
                env=full, cwd=str(self.cwd))

        def ready():
            if self.daemon.poll() is not None:
                return "exited"
            return "up" if self.healthz() == 200 else None

        state = wait_for(ready, timeout=timeout, interval=0.05, what=f"GET {self.base_url}/healthz to answer 200")
        if state == "exited":
            raise AssertionError(f"the daemon exited {self.daemon.returncode} before serving /healthz:\n"
                                 + self.daemon_log())

    def daemon_log(self):
        return self.daemon_err.read_bytes().decode("utf-8", "replace") if self.daemon_err.exists() else ""

    def stop_daemon(self, timeout=10.0):
        """SIGTERM; returns the daemon's exit status (None if it had to be
        SIGKILLed) and its log."""
        p, self.daemon = self.daemon, None
        if p is None:
            return None, ""
        rc = p.poll()
        if rc is None:
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = None
        log = self.daemon_log()
        # Kept for whoever reads a failure.
        keep = REPO / "tests" / "artifacts" / "ui-daemon.log"
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text(log)
        return rc, log

    # ---- clean-up ----

    def tagged_pids(self):
        return tagged_pids(self.tag)

    def cleanup(self):
        """Kills what is left of this module's processes; returns the
        sanitizer reports found (a list of strings)."""
        if self.daemon is not None:
            self.stop_daemon()
        kill_tagged(self.tagged_pids, rounds=5)
        reports = sanitizer_reports(self.san_dir)
        log = self.daemon_log()
        if any(m in log for m in SANITIZER_MARKERS):
            reports.append(f"daemon log:\n{log}")
        return reports


# ---- the browser -------------------------------------------------------------

def make_driver(profile_dir):
    """Headless Chromium via /usr/bin/chromedriver, a window of 1280x800,
    a fresh profile in profile_dir."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--user-data-dir={profile_dir}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--hide-scrollbars", "--lang=en-US"):
        opts.add_argument(arg)
    # A dialog stays open until a test deals with it: never dismissed
    # behind its back by the next command (chromedriver's default).
    opts.set_capability("unhandledPromptBehavior", "ignore")
    # Console messages (CSP violations, script errors) readable by the tests.
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(15)
    driver.set_script_timeout(10)
    return driver


class Ui:
    """The browser on the admin UI: navigation, explicit waits, screenshots."""

    def __init__(self, driver, base_url):
        self.d = driver
        self.base = base_url
        self.layout = {}  # screenshot name -> overflow facts at phone width

    # ---- navigation ----

    def url(self, path):
        return self.base + path

    def go(self, path):
        self.d.get(self.url(path))

    def path(self):
        """The current location's path (and query), without the origin."""
        from selenium.common.exceptions import UnexpectedAlertPresentException
        try:
            u = self.d.current_url
        except UnexpectedAlertPresentException:
            return "(a dialog is open)"
        return u[len(self.base):] if u.startswith(self.base) else u

    # ---- waits and lookups ----

    def wait(self, pred, timeout=WAIT, what="a condition"):
        """Waits (bounded) until pred() is truthy; returns its value.
        Stale or missing elements while the page changes count as "not yet"."""
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        from selenium.common.exceptions import TimeoutException, WebDriverException

        def attempt(_d):
            try:
                return pred()
            except WebDriverException as e:
                # The page replaced itself under the command (a live page
                # reloading when a run ends): not yet.
                if any(m in (e.msg or "") for m in _NAVIGATION_ERRORS):
                    return None
                raise

        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)) \
                .until(attempt)
        except TimeoutException as e:
            raise TimeoutException(f"timed out after {timeout}s waiting for {what} (at {self.path()})",
                                   e.screen, e.stacktrace) from None

    def css(self, selector):
        from selenium.webdriver.common.by import By
        return self.d.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector):
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def has(self, selector):
        return bool(self.all(selector))

    def wait_css(self, selector, timeout=WAIT, visible=True):
        """The first element matching selector, waiting (bounded) for it."""
        def find():
            els = self.all(selector)
            els = [e for e in els if e.is_displayed()] if visible else els
            return els[0] if els else None
        return self.wait(find, timeout, what=f"an element {selector!r}")

    def wait_path(self, prefix, timeout=WAIT):
        return self.wait(lambda: self.path().startswith(prefix) and self.ready(), timeout,
                         what=f"the location to start with {prefix!r}")

    def mark(self):
        """Tags the current document (a JS global); returns the tag, for
        wait_new_page()."""
        tag = uuid.uuid4().hex
        self.d.execute_script("window.__cwPageTag = arguments[0]", tag)
        return tag

    def wait_new_page(self, tag, timeout=WAIT, what="a new page"):
        """Waits (bounded) until the document tagged by mark() has been
        replaced by a new one that has finished loading."""
        from selenium.common.exceptions import WebDriverException

        def replaced():
            try:
                return self.d.execute_script(
                    "return window.__cwPageTag !== arguments[0] && document.readyState === 'complete'", tag)
            except WebDriverException:  # mid-navigation
                return False

        self.wait(replaced, timeout, what=what)

    def submit(self, button, timeout=WAIT, confirm=False):
        """Clicks a submit button (or link) and waits for the page it leads
        to, accepting the confirm() dialog first when confirm is set."""
        tag = self.mark()
        self.click(button)
        if confirm:
            assert self.accept_confirm(timeout=timeout), "no confirm dialog opened"
        self.wait_new_page(tag, timeout, what="the answer to the form or link")

    def ready(self):
        return self.d.execute_script("return document.readyState") == "complete"

    def text(self):
        """The visible text of the whole page."""
        return self.css("body").text

    def wait_text(self, needle, timeout=WAIT):
        from selenium.common.exceptions import TimeoutException
        try:
            return self.wait(lambda: needle in self.text(), timeout, what=f"the page to show {needle!r}")
        except TimeoutException as e:
            raise TimeoutException(f"{e.msg}; it shows:\n{self.text()[:3000]}") from None

    def button(self, *labels, scope=None):
        """The first visible button (<button>, submit input or a link styled
        as one) whose text, value, title or aria-label is one of labels,
        compared case-insensitively; None when there is none."""
        want = {lb.lower() for lb in labels}
        root = scope or self.d
        from selenium.webdriver.common.by import By
        for el in root.find_elements(By.CSS_SELECTOR, "button, input[type=submit], a.button, a.btn, a[role=button]"):
            if not el.is_displayed():
                continue
            for attr in (el.text, el.get_attribute("value"), el.get_attribute("title"),
                         el.get_attribute("aria-label")):
                if attr and attr.strip().lower() in want:
                    return el
        return None

    def wait_button(self, *labels, scope=None, timeout=WAIT):
        return self.wait(lambda: self.button(*labels, scope=scope), timeout,
                         what=f"a button labelled one of {labels}")

    def click(self, el):
        """Clicks el after scrolling it into view (JS click as a fallback
        when something overlaps it)."""
        from selenium.common.exceptions import ElementClickInterceptedException
        self.d.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        try:
            el.click()
        except ElementClickInterceptedException:
            self.d.execute_script("arguments[0].click()", el)

    def accept_confirm(self, timeout=1.0):
        """Accepts a confirm() dialog if one opens (bounded); True if one did."""
        from selenium.common.exceptions import NoAlertPresentException, TimeoutException
        try:
            self.wait(lambda: self._alert(), timeout, what="a confirm dialog")
        except TimeoutException:
            return False
        try:
            self.d.switch_to.alert.accept()
        except NoAlertPresentException:
            return False
        return True

    def _alert(self):
        from selenium.common.exceptions import NoAlertPresentException
        try:
            return self.d.switch_to.alert
        except NoAlertPresentException:
            return None

    def console_errors(self):
        """SEVERE browser console entries since the last call."""
        try:
            return [e for e in self.d.get_log("browser") if e.get("level") == "SEVERE"]
        except Exception:  # noqa: BLE001 (a driver without log support)
            return []

    # ---- screenshots ----

    @contextlib.contextmanager
    def phone(self):
        """The page at 375x740 with mobile emulation, for the with block."""
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
        try:
            yield self
        finally:
            self.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def _capture(self, path, width, height, mobile):
        d = self.d
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        try:
            # Two animation frames: layout, paint and decoded images settle.
            d.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "requestAnimationFrame(() => requestAnimationFrame(() => done()));")
            # Layout at the new size, then the page's full height (capped).
            facts = d.execute_script(
                "return {scrollWidth: document.documentElement.scrollWidth,"
                " innerWidth: window.innerWidth,"
                " scrollHeight: document.documentElement.scrollHeight}")
            h = max(height, min(int(facts["scrollHeight"]), MAX_SHOT_HEIGHT))
            w = max(width, int(facts["scrollWidth"]))
            shot = d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}})
            path.write_bytes(base64.b64decode(shot["data"]))
            return facts
        finally:
            d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def screenshot(self, name):
        """Saves NAME-desktop.png and NAME-phone.png of the current page."""
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        self._capture(SCREENSHOT_DIR / f"{name}-desktop.png", *DESKTOP, mobile=False)
        facts = self._capture(SCREENSHOT_DIR / f"{name}-phone.png", *PHONE, mobile=True)
        facts.update(self.phone_overflow())
        facts["path"] = self.path()
        self.layout[name] = facts
        (SCREENSHOT_DIR / "layout.json").write_text(json.dumps(self.layout, indent=2, sort_keys=True) + "\n")
        return facts

    def phone_overflow(self):
        """At phone width (mobile emulation): the page's scroll width and
        the elements sticking out of the viewport; restores the desktop
        metrics after."""
        d = self.d
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True})
        try:
            return d.execute_script(
                "const vw = document.documentElement.clientWidth; const out = [];"
                "for (const el of document.body.querySelectorAll('*')) {"
                "  const r = el.getBoundingClientRect();"
                "  if (r.width === 0 || r.right <= vw + 1) continue;"
                "  let clipped = false;"
                "  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {"
                "    const o = getComputedStyle(p).overflowX;"
                "    if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') { clipped = true; break; }"
                "  }"
                "  if (!clipped) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')"
                "    + (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '')"
                "    + ' (right edge ' + Math.round(r.right) + 'px)');"
                "}"
                "return {scrollWidth: document.documentElement.scrollWidth, viewport: vw, outside: out.slice(0, 8)};")
        finally:
            d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def clear_screenshots():
    """Removes the previous run's screenshots (the folder is regenerated)."""
    if SCREENSHOT_DIR.is_dir():
        shutil.rmtree(SCREENSHOT_DIR)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
