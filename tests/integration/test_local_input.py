"""Bad input and other local users (docs/running.md, docs/config.md): a
FIFO where a file is expected, the modes of data_dir and its files, a job's
descendants that try to outlive it. Real binaries; every wait bounded."""

import os
import subprocess
import sys
import time

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture and helpers)


def test_env_file_naming_a_fifo_is_refused_without_blocking(wk):
    fifo = wk.tmp / "env.fifo"
    os.mkfifo(fifo)
    wk.configure(job("Env", "/bin/true", env_file=str(fifo)))
    t0 = time.monotonic()
    try:
        r = wk("run", "Env", timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("run blocked opening the FIFO")
    assert time.monotonic() - t0 < 5
    assert r.returncode != 0
    assert "is not a regular file" in r.stderr + r.stdout, (r.stdout, r.stderr)


def modes(root):
    """{relative path: mode} of root and everything under it."""
    out = {".": root.stat().st_mode & 0o7777}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, root)] = os.lstat(p).st_mode & 0o7777
    return out


def test_data_dir_and_its_files_are_private_to_their_owner(wk):
    from test_daemon import start_daemon, stop_daemon

    wk.configure(job("Locked", "/bin/true", schedule="@daily"))
    wk.ok("run", "Locked")
    d = start_daemon(wk)
    stop_daemon(wk, d)
    wider = {p: oct(m) for p, m in modes(wk.data_dir).items()
             if m & 0o077 or (os.path.isfile(wk.data_dir / p) and m & 0o100)}
    assert wider == {}, wider
    if os.geteuid() == 0:
        lock = next((wk.data_dir / "locks").iterdir())
        r = subprocess.run([sys.executable, "-c", f"open({str(lock)!r})"], user="nobody",
                           capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr


def test_daemon_narrows_a_data_dir_others_can_open_and_says_so(wk):
    from test_daemon import events, start_daemon, stop_daemon

    wk.configure(job("Locked", "/bin/true", schedule="@daily"))
    wk.ok("run", "Locked")
    os.chmod(wk.data_dir, 0o755)
    d = start_daemon(wk)
    stop_daemon(wk, d)
    assert wk.data_dir.stat().st_mode & 0o777 == 0o700
    w = [e for e in events(d, "error") if e.get("what") == "data_dir"]
    assert w and w[0].get("mode") == "0755" and w[0].get("action") == "chmod_0700", events(d)


def escaped_pid(wk, pidfile):
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), timeout=10, what="the escaped pid")
    return int(pidfile.read_text())


@pytest.mark.parametrize("how", ["exits", "times_out"])
def test_descendant_that_calls_setsid_does_not_outlive_its_run(wk, how):
    pidfile = wk.tmp / "escaped.pid"
    tail = "exit 0\n" if how == "exits" else "sleep 30\n"
    cmd = wk.script("escape", f"setsid /bin/sh -c 'echo $$ > {pidfile}; exec sleep 300' </dev/null >/dev/null 2>&1 &\n"
                              f"while [ ! -s {pidfile} ]; do sleep 0.02; done\n{tail}")
    wk.configure(job("Escape", cmd, timeout="1s", kill_grace="1s"))
    try:
        r = wk("run", "Escape", timeout=30)
        pid = escaped_pid(wk, pidfile)
        assert r.returncode == (0 if how == "exits" else 1), r.stderr
        gone = wait_for(lambda: not proc_alive(pid) or None, timeout=3, what="the escaped process to be gone")
        assert gone
    finally:
        if pidfile.exists() and pidfile.read_text().strip():
            try:
                os.kill(int(pidfile.read_text()), 9)
            except ProcessLookupError:
                pass


def test_store_not_writable_by_this_user_says_whose_permission(wk):
    if os.geteuid() != 0:
        pytest.skip("needs root to run as another user")
    import shutil
    import tempfile

    top = tempfile.mkdtemp(prefix="cw-ro-")  # outside pytest's 0700 tree
    try:
        os.chmod(top, 0o755)
        cfg = os.path.join(top, "cronwarden.ini")
        db = os.path.join(top, "data", "cronwarden.db")
        with open(cfg, "w") as f:
            f.write(f"[cronwarden]\ndata_dir = {top}/data\n\n" + job("Free", "/bin/true", lock="none"))
        os.chmod(cfg, 0o644)
        r = subprocess.run([str(wk.binary), "--config", cfg, "run", "Free"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        os.chmod(os.path.join(top, "data"), 0o755)
        for n in os.listdir(os.path.join(top, "data")):
            os.chmod(os.path.join(top, "data", n), 0o644)
        r = subprocess.run([str(wk.binary), "--config", cfg, "run", "Free"], user="nobody",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, r.stderr
        assert "Read-only file system" not in r.stderr
        assert f"store '{db}' is not writable by user nobody" in r.stderr, r.stderr
        assert "mode 0644, owned by root" in r.stderr, r.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)
