"""The embedding API (src/include/cronwarden.h, docs/embedding.md): the
example program examples/embedded/hello.c is built the way a user would
build it, with Meson against the header, library and cronwarden.pc that
`meson install` puts in a staging directory (DESTDIR), and its function
jobs are run through `run`, `tick` and the daemon: output capture, params,
progress, failures, kills and records as for command jobs.

The staging install and the example's build happen once per module; with
a sanitizer build directory the module is skipped (a program built without
the sanitizer cannot link its instrumented library)."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from worker_helpers import wait_for


def _sanitized(build_dir):
    try:
        opts = json.loads((Path(build_dir) / "meson-info/intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return False
    return any(o["name"] == "b_sanitize" and o["value"] != "none" for o in opts)


@pytest.fixture(scope="module")
def staged(build_dir, repo, tmp_path_factory):
    """(destdir, env for pkg-config and the dynamic loader)."""
    if not shutil.which("pkg-config"):
        pytest.skip("pkg-config is not installed")
    if _sanitized(build_dir):
        pytest.skip("the example is built against the plain build only")
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(build_dir), "--destdir", str(dest),
                        "--no-rebuild", "--quiet"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    pcs = list(dest.rglob("cronwarden.pc"))
    assert len(pcs) == 1, pcs
    libdir = pcs[0].parent.parent
    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    env.update(PKG_CONFIG_PATH=str(pcs[0].parent), PKG_CONFIG_SYSROOT_DIR=str(dest),
               LD_LIBRARY_PATH=str(libdir))
    return dest, env


@pytest.fixture(scope="module")
def hello(staged, repo, tmp_path_factory):
    """The example program, built by Meson against the staged install."""
    _, env = staged
    b = tmp_path_factory.mktemp("hello-build")
    r = subprocess.run(["meson", "setup", str(b), str(repo / "examples/embedded")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["ninja", "-C", str(b)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return b / "hello"


class App:
    """Runs the example program on a config of its own in tmp."""

    def __init__(self, binary, env, tmp, schedule=""):
        self.binary, self.env, self.tmp = binary, env, tmp
        self.config = tmp / "hello.ini"
        self.config.write_text(
            f"[cronwarden]\ndata_dir = {tmp / 'data'}\n\n"
            "[job Greet]\nfunction = greet\n\n"
            "[job Count]\nfunction = count\nkill_grace = 5s\n\n"
            f"[schedule]\n{schedule}\n")

    def __call__(self, *args, timeout=60):
        return subprocess.run([str(self.binary), "--config", str(self.config), *args],
                              capture_output=True, text=True, env=self.env, timeout=timeout)

    def ok(self, *args):
        r = self(*args)
        assert r.returncode == 0, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def runs(self):
        return json.loads(self.ok("history", "--json").stdout)


@pytest.fixture
def app(hello, staged, tmp_path):
    return lambda schedule="": App(hello, staged[1], tmp_path, schedule)


def test_shared_library_exports_only_the_api(staged):
    dest, _ = staged
    so = [p for p in dest.rglob("libcronwarden.so.*") if not p.is_symlink()]
    assert len(so) == 1, so
    r = subprocess.run(["nm", "-D", "--defined-only", str(so[0])], capture_output=True, text=True)
    names = [line.split()[-1].split("@")[0] for line in r.stdout.splitlines() if line.split()[1] == "T"]
    assert names and all(n.startswith("cronwarden_") for n in names), names
    assert any(p.name == "libcronwarden.so.0" for p in dest.rglob("libcronwarden.so.0"))
    assert list(dest.rglob("libcronwarden.a")) and list(dest.rglob("include/cronwarden.h"))


def test_one_line_build_with_pkg_config(staged, tmp_path):
    _, env = staged
    src = tmp_path / "app.c"
    src.write_text('#include <cronwarden.h>\n#include <stdio.h>\n'
                   'int main(void) { puts(cronwarden_version()); return 0; }\n')
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "cronwarden"], capture_output=True,
                           text=True, env=env, check=True).stdout.split()
    subprocess.run(["cc", "-Wall", "-Werror", str(src), "-o", str(tmp_path / "app"), *flags],
                   check=True, env=env)
    out = subprocess.run([str(tmp_path / "app")], capture_output=True, text=True, env=env).stdout
    assert out.strip() == "0.1.0"


def test_run_function_job_with_params_and_progress(app):
    a = app()
    r = a.ok("check")
    assert "2 jobs" in r.stdout, r.stdout
    jobs = {j["name"]: j for j in json.loads(a.ok("jobs", "--json").stdout)}
    # The function's description stands in for the section's.
    assert jobs["Greet"]["description"] == "Says hello to someone"
    r = a.ok("run", "Greet:world,times=3")
    assert r.stdout.count("Hello, world!") == 3, r.stdout
    run = a.runs()[0]
    assert run["status"] == "succeeded" and run["spec"] == "Greet:world,times=3"
    assert run["progress"]["done"] == 3 and run["progress"]["total"] == 3, run
    assert a.ok("logs", str(run["id"])).stdout.count(f"Hello, world! (run {run['id']})") == 3


def test_bad_param_fails_the_run_and_says_why(app):
    a = app()
    r = a("run", "Count:to=lots")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "param 'to': expected a whole number, got 'lots'" in r.stdout
    run = a.runs()[0]
    assert run["status"] == "failed" and run["exit_code"] == 2
    # A param the function does not declare is refused before any run.
    r = a("run", "Greet:world,loud=yes")
    assert r.returncode == 2 and "loud" in r.stderr, r.stderr


def test_config_errors_name_the_function(app, cw):
    a = app()
    # The cronwarden program itself registers no functions.
    r = cw("--config", str(a.config), "check")
    assert r.returncode == 2
    assert "function: 'greet': function jobs run only under the program that registers them" in r.stderr
    a.config.write_text(a.config.read_text().replace("function = count", "function = counter"))
    r = a("check")
    assert r.returncode == 2 and "function: 'counter' is not registered by this program" in r.stderr
    a.config.write_text(a.config.read_text().replace("function = counter",
                                                     "function = count\ncommand = /bin/true"))
    r = a("check")
    assert r.returncode == 2 and "a job runs a command or a function, not both" in r.stderr


def test_kill_reaches_the_function_which_stops(app):
    a = app()
    out = a.ok("run", "Count:to=100000,step_ms=5", "--detach").stdout
    rid = int(re.search(r"\d+", out).group(0))

    def counting():
        return a.ok("logs", str(rid)).stdout.count("counting to") == 1

    wait_for(counting, timeout=20, what="the function to start")
    a.ok("kill", "--run", str(rid))
    wait_for(lambda: a.runs()[0]["status"] != "running", timeout=20, what="the run to end")
    run = a.runs()[0]
    assert run["status"] == "killed", run
    out = a.ok("logs", str(rid)).stdout
    assert "kill requested: stopping at" in out, out


def test_tick_runs_function_jobs(app):
    a = app("run = * * * * * *  Greet:tick")
    a.ok("tick")  # the first pass starts nothing old
    time.sleep(1.2)
    a.ok("tick")
    wait_for(lambda: any(r["status"] == "succeeded" for r in a.runs()), timeout=20,
             what="a ticked Greet run")
    run = [r for r in a.runs() if r["status"] == "succeeded"][0]
    assert run["trigger"] == "schedule" and run["spec"] == "Greet:tick"
    assert "Hello, tick!" in a.ok("logs", str(run["id"])).stdout


def test_daemon_runs_function_jobs(app):
    a = app("run = * * * * * *  Greet:daemon")
    env = dict(a.env)
    env.pop("JOURNAL_STREAM", None)
    p = subprocess.Popen([str(a.binary), "--config", str(a.config), "daemon"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: sum(r["status"] == "succeeded" for r in a.runs()) >= 2, timeout=20,
                 what="two Greet runs from the daemon")
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    run = [r for r in a.runs() if r["status"] == "succeeded"][0]
    assert "Hello, daemon!" in a.ok("logs", str(run["id"])).stdout
