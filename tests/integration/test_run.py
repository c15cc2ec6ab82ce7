"""`cronwarden run` (docs/running.md, docs/config.md):
exit codes, output copying and capture, params as argv and environment,
the exact job environment, workdir, shell jobs, spec validation, disabled
jobs, unstartable commands, --detach and --json. Real processes and the
real SQLite store; the store is also read directly to cross-check."""

import json
import os
import pwd
import re
import select
import subprocess
import time

from worker_helpers import *  # noqa: F401,F403  (wk fixture and helpers)

ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")


def summary(stderr):
    """(run id, text) of the final `run N: ...` line on stderr."""
    m = list(SUMMARY_RE.finditer(stderr))
    assert m, f"no 'run N: ...' summary on stderr:\n{stderr}"
    return int(m[-1].group(1)), m[-1].group(2)


# ---------------------------------------------------------------------------
# Exit codes and outcome


def test_success_exit_0_and_recorded(wk):
    wk.configure(job("Ok", "/bin/true"))
    r = wk("run", "Ok")
    assert r.returncode == 0, r.stderr
    run_id, text = summary(r.stderr)
    assert text.startswith("succeeded in "), text
    rec = wk.run_record(run_id)
    assert rec["status"] == "succeeded"
    assert rec["exit_code"] == 0
    assert rec["trigger"] == "manual"
    assert rec["job"] == "Ok" and rec["spec"] == "Ok"
    row = wk.db_run(run_id)
    assert row["status"] == "succeeded" and row["exit_code"] == 0
    assert row["trigger"] == "manual"


def test_failure_exit_1_records_exit_code(wk):
    wk.configure(job("Three", "/bin/sh -c 'exit 3'") + job("False", "/bin/false"))
    r = wk("run", "Three")
    assert r.returncode == 1, r.stderr
    run_id, text = summary(r.stderr)
    assert "failed with exit code 3" in text
    rec = wk.run_record(run_id)
    assert rec["status"] == "failed" and rec["exit_code"] == 3
    assert wk.db_run(run_id)["exit_code"] == 3

    r = wk("run", "False")
    assert r.returncode == 1
    run_id, _ = summary(r.stderr)
    assert wk.run_record(run_id)["exit_code"] == 1


def test_signal_recorded(wk):
    """A job killed by a signal (not by cronwarden): failed, signal
    recorded, no exit code."""
    wk.configure(job("Suicide", "/bin/sh -c 'kill -TERM $$'"))
    r = wk("run", "Suicide")
    assert r.returncode == 1, r.stderr
    run_id, text = summary(r.stderr)
    assert "signal 15" in text, text
    rec = wk.run_record(run_id)
    assert rec["status"] == "failed"
    assert rec["signal"] == 15
    assert rec["exit_code"] in (None, -1)
    assert wk.db_run(run_id)["signal"] == 15


def test_missing_executable_is_recorded_failed(wk):
    wk.configure(job("Ghost", "/nonexistent/dir/ghost-prog --flag"))
    r = wk("run", "Ghost")
    assert r.returncode == 1, r.stderr
    run_id, _ = summary(r.stderr)
    rec = wk.run_record(run_id)
    assert rec["status"] == "failed"
    assert rec["reason"] and "/nonexistent/dir/ghost-prog" in rec["reason"], rec
    assert wk.db_run(run_id)["status"] == "failed"


# ---------------------------------------------------------------------------
# Output


def test_output_copied_and_stored(wk):
    cmd = wk.script("talk", """
        echo out-1
        echo err-1 >&2
        echo out-2
    """)
    wk.configure(job("Talk", cmd))
    r = wk("run", "Talk")
    assert r.returncode == 0, r.stderr
    # stdout and stderr of the job, interleaved, on cronwarden's stdout.
    assert r.stdout == "out-1\nerr-1\nout-2\n"
    run_id, _ = summary(r.stderr)
    assert "err-1" not in r.stderr.replace(f"run {run_id}", "")
    logs = wk("logs", str(run_id))
    assert logs.returncode == 0, logs.stderr
    assert logs.stdout == "out-1\nerr-1\nout-2\n"
    assert wk.db_output(run_id) == b"out-1\nerr-1\nout-2\n"
    rec = wk.run_record(run_id)
    assert rec["output_size"] == len("out-1\nerr-1\nout-2\n")
    assert rec["output_truncated"] is False


def test_output_streams_as_it_arrives(wk):
    """The job's first line reaches cronwarden's stdout while the job is
    still running (copied as it arrives, not at the end)."""
    cmd = wk.script("slowtalk", """
        echo first-line
        wait_gate done
        echo last-line
    """)
    wk.configure(job("SlowTalk", cmd))
    env = dict(os.environ)
    env.pop("CRONWARDEN_CONFIG", None)
    env.update(wk.env)
    p = subprocess.Popen([str(wk.binary), "--config", str(wk.config), "run", "SlowTalk"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        got = b""
        deadline = time.monotonic() + 20
        while b"first-line\n" not in got and time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                got += chunk
        assert got == b"first-line\n", got
        assert p.poll() is None
        wk.open_gate("done")
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
        assert got + out == b"first-line\nlast-line\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_quiet_does_not_copy_but_stores(wk):
    wk.configure(job("Echo", "/bin/echo quiet-marker"))
    r = wk("run", "Echo", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "quiet-marker" not in r.stdout
    run_id, _ = summary(r.stderr)
    assert wk.db_output(run_id) == b"quiet-marker\n"


def test_json_summary(wk):
    wk.configure(job("Echo", "/bin/echo json-marker") + job("Fail", "/bin/sh -c 'exit 4'"))
    r = wk("run", "Echo", "--json")
    assert r.returncode == 0, r.stderr
    assert "json-marker" not in r.stdout  # the job's output is not copied
    j = json.loads(r.stdout)
    assert isinstance(j, dict)
    run_id = j.get("id", j.get("run"))
    assert isinstance(run_id, int), j
    assert j["status"] == "succeeded"
    assert j["exit_code"] == 0
    assert wk.run_record(run_id)["status"] == "succeeded"

    r = wk("run", "Fail", "--json")
    assert r.returncode == 1
    j = json.loads(r.stdout)
    assert j["status"] == "failed" and j["exit_code"] == 4


# ---------------------------------------------------------------------------
# Params, environment, workdir, shell


def test_params_as_argv_and_env(wk):
    cmd = wk.script("params", """
        for a in "$@"; do echo "ARG<$a>"; done
        env | grep '^CRONWARDEN_\\(ARG\\|OPT\\)' | sort
    """)
    wk.configure(job("P", f"{cmd} fixed", args="first second", options="color, dry-run"))
    r = wk("run", 'P:alpha,"b c, d",color=red,dry-run=1')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    argv = [l[4:-1] for l in lines if l.startswith("ARG<")]
    # The command's own words, then positional params, then --key=value.
    assert argv[:3] == ["fixed", "alpha", "b c, d"], argv
    assert sorted(argv[3:]) == ["--color=red", "--dry-run=1"], argv
    envs = sorted(l for l in lines if l.startswith("CRONWARDEN_"))
    assert envs == [
        "CRONWARDEN_ARG_1=alpha",
        "CRONWARDEN_ARG_2=b c, d",
        "CRONWARDEN_OPT_COLOR=red",
        "CRONWARDEN_OPT_DRY_RUN=1",
    ]
    # An option left out is neither passed nor exported.
    r = wk("run", "P:x,y")
    assert r.returncode == 0, r.stderr
    assert [l for l in r.stdout.splitlines() if l.startswith("ARG<")] == ["ARG<fixed>", "ARG<x>", "ARG<y>"]
    assert not [l for l in r.stdout.splitlines() if "CRONWARDEN_OPT" in l]


def test_exact_environment(wk, tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("FROM_FILE=yes\nSPACED=a b  c\n")
    wk.configure(
        # The shell's own initial environment, as the worker gave it (its
        # params are ignored; `env` would take them for a command).
        job("Env", "/bin/sh -c 'cat /proc/$$/environ' sh", args="who", options="mode",
            env=["JOB_VAR=job value", "LANG=C"], env_file=str(env_file)),
        defaults="env = DEFAULTS_VAR=d",
    )
    r = wk("run", "Env:someone,mode=fast",
           env={"FOO": "bar", "PYTHONPATH": "/leak", "LD_LIBRARY_PATH": "/leak", "TZ": "Asia/Tokyo"})
    assert r.returncode == 0, r.stderr
    run_id, _ = summary(r.stderr)
    env = {}
    for item in r.stdout.split("\0"):
        if item:
            k, _, v = item.partition("=")
            assert k not in env, f"{k} twice in the job's environment"
            env[k] = v
    pw = pwd.getpwuid(os.getuid())
    expected = {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG",
        "CW_TEST_TAG", "DEFAULTS_VAR", "JOB_VAR", "FROM_FILE", "SPACED",
        "CRONWARDEN_ARG_1", "CRONWARDEN_OPT_MODE",
        "CRONWARDEN_RUN_ID", "CRONWARDEN_JOB", "CRONWARDEN_PROGRESS_FD", "CRONWARDEN_SCHEDULED_AT",
    }
    if wk.pg_url:  # a PostgreSQL store: the run's fencing token (docs/cluster.md)
        expected.add("CRONWARDEN_FENCE_TOKEN")
    assert set(env) == expected, (
        f"unexpected: {sorted(set(env) - expected)}, missing: {sorted(expected - set(env))}")
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    assert env["HOME"] == pw.pw_dir
    assert env["USER"] == pw.pw_name and env["LOGNAME"] == pw.pw_name
    assert env["SHELL"] == (pw.pw_shell or "/bin/sh")
    assert env["LANG"] == "C"  # a job env line overrides the built-in C.UTF-8
    assert env["DEFAULTS_VAR"] == "d"
    assert env["JOB_VAR"] == "job value"
    assert env["FROM_FILE"] == "yes" and env["SPACED"] == "a b  c"
    assert env["CRONWARDEN_ARG_1"] == "someone"
    assert env["CRONWARDEN_OPT_MODE"] == "fast"
    assert env["CRONWARDEN_RUN_ID"] == str(run_id)
    assert env["CRONWARDEN_JOB"] == "Env"
    assert env["CRONWARDEN_PROGRESS_FD"].isdigit()
    assert ISO_RE.match(env["CRONWARDEN_SCHEDULED_AT"]), env["CRONWARDEN_SCHEDULED_AT"]


def test_default_lang(wk):
    wk.configure(job("Lang", "/usr/bin/env"))
    r = wk("run", "Lang", env={"LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "LANG=C.UTF-8" in lines
    assert not [l for l in lines if l.startswith("LC_")]


def test_stdin_is_dev_null_and_own_process_group(wk):
    cmd = wk.script("fds", """
        echo "stdin=$(readlink /proc/$$/fd/0)"
        echo "pid=$$ pgid=$(cut -d' ' -f5 /proc/$$/stat)"
    """)
    wk.configure(job("Fds", cmd))
    r = wk("run", "Fds", input="this must not reach the job\n")
    assert r.returncode == 0, r.stderr
    assert "stdin=/dev/null" in r.stdout
    m = re.search(r"pid=(\d+) pgid=(\d+)", r.stdout)
    assert m and m.group(1) == m.group(2), r.stdout


def test_workdir(wk, tmp_path):
    wd = tmp_path / "work dir"
    wd.mkdir()
    wk.configure(job("Pwd", "/bin/pwd", workdir=str(wd)))
    r = wk("run", "Pwd")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{wd}\n"


def test_shell_job_gets_params_via_dollar_at(wk):
    wk.configure(job("Sh", "test -n \"$CRONWARDEN_RUN_ID\" && printf '<%s>\\n'", shell="yes",
                     args="one two", options="k"))
    r = wk("run", 'Sh:"a b",c,k="v w"')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "<a b>\n<c>\n<--k=v w>\n"


def test_command_without_shell_is_not_interpreted(wk):
    # Quoted, shell syntax is passed literally (unquoted, `check` refuses it).
    wk.configure(job("NoSh", "/bin/echo '$HOME' \"a  b\" '|' '*' '>x'"))
    r = wk("run", "NoSh")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "$HOME a  b | * >x\n"
    assert not (wk.cw.default_cwd / "x").exists()


# ---------------------------------------------------------------------------
# Spec validation, disabled jobs


def test_bad_specs_exit_2_and_record_nothing(wk):
    marker = wk.tmp / "ran"
    wk.configure(
        job("P", f"/bin/sh -c 'touch {marker}'", args="a", options="k")
        + job("Other", "/bin/true")
    )
    for spec in ("Nope", "P", "P:1,2", "P:1,zz=3", "P:1,k=2,k=3", "P:\"unterminated"):
        r = wk("run", spec)
        assert r.returncode == 2, f"{spec}: exit {r.returncode}\n{r.stderr}"
        assert r.stderr.strip(), f"{spec}: no message"
    assert not marker.exists()
    assert wk.db_runs() == []
    r = wk("run", "Other")
    assert r.returncode == 0
    assert [x["job"] for x in wk.history()] == ["Other"]
    r = wk("run")
    assert r.returncode == 2


def test_disabled_job_needs_force(wk):
    wk.configure(job("Off", "/bin/echo forced", enabled="no"))
    r = wk("run", "Off")
    assert r.returncode == 2, r.stderr
    assert "forced" not in r.stdout
    assert wk.db_runs() == []
    r = wk("run", "Off", "--force")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "forced\n"
    run_id, _ = summary(r.stderr)
    assert wk.run_record(run_id)["status"] == "succeeded"


# ---------------------------------------------------------------------------
# --detach


def test_detach_prints_id_and_completes_in_background(wk):
    out = wk.tmp / "detached.out"
    cmd = wk.script("det", f"""
        echo "detached output"
        wait_gate go
        echo "$CRONWARDEN_RUN_ID" > {out}
    """)
    wk.configure(job("Det", cmd))
    t0 = time.monotonic()
    r = wk("run", "Det", "--detach", timeout=20)
    assert r.returncode == 0, r.stderr
    m = re.search(r"^run (\d+) started$", r.stdout, re.M)
    assert m, r.stdout
    run_id = int(m.group(1))
    assert time.monotonic() - t0 < 15
    # Still running: the job waits for the gate.
    st = wk.wait_running("Det")
    assert st[0]["id"] == run_id and st[0]["state"] == "ALIVE"
    assert not out.exists()
    # The detached worker is not the `run --detach` process (gone already).
    wk.open_gate("go")
    rec = wk.wait_final(run_id)
    assert rec["status"] == "succeeded"
    assert out.read_text().strip() == str(run_id)
    assert wk.db_output(run_id) == b"detached output\n"
    logs = wk("logs", str(run_id))
    assert logs.stdout == "detached output\n"


def test_detach_lock_held_exits_75(wk):
    cmd = wk.script("hold", "wait_gate go\n")
    wk.configure(job("Hold", cmd))
    r = wk("run", "Hold", "--detach", timeout=20)
    assert r.returncode == 0, r.stderr
    first = int(re.search(r"run (\d+) started", r.stdout).group(1))
    r2 = wk("run", "Hold", "--detach", timeout=20)
    assert r2.returncode == 75, r2.stdout + r2.stderr
    m = LOCKED_RE.search(r2.stderr)
    assert m and int(m.group(1)) == first, r2.stderr
    wk.open_gate("go")
    assert wk.wait_final(first)["status"] == "succeeded"


def test_shell_command_without_params_runs_as_written(wk):
    """Regression: a shell command was always followed by "$@", which broke
    scripts ending in `fi`, `done` or `;` (`;` then ran an empty command)."""
    wk.configure(
        job("Fi", "if true; then echo fi-ok; fi", shell="yes")
        + job("Semi", "echo semi-ok; false;", shell="yes")
        + job("Args", "printf '<%s>' 'fixed'", shell="yes", args="one"))
    r = wk("run", "Fi")
    assert r.returncode == 0 and "fi-ok" in r.stdout, r.stdout + r.stderr
    r = wk("run", "Semi")
    assert r.returncode == 1, "the script's last status must be the run's"
    assert "semi-ok" in r.stdout
    # With params, they follow as separate words ("$@").
    r = wk("run", 'Args:"two words"')
    assert "<fixed><two words>" in r.stdout, r.stdout + r.stderr


# ---------------------------------------------------------------------------
# Paths under data_dir


def test_data_dir_too_long_is_an_error_not_a_cut_path(cw, tmp_path):
    """A data_dir whose locks directory does not fit in a path (4096 bytes
    with its NUL) makes `run` fail naming that directory whole, instead of
    taking a lock under a cut path, which would name another directory
    (docs/config.md, data_dir)."""
    deep = str(tmp_path / "deep")
    while len(deep) + 211 < 4086:  # components of at most 255 bytes
        deep += "/" + "d" * 200
    deep += "/" + "e" * (4086 - len(deep) - 1)
    os.makedirs(deep)
    data_dir = deep + "/data"  # 4091 bytes: with "/locks", 4097
    config = deep + "/cw.ini"
    with open(config, "w") as f:
        f.write(
            f"[cronwarden]\nstore = sqlite:{tmp_path}/store.db\ndata_dir = data\n\n"
            "[job Hello]\ncommand = /bin/true\n"
        )
    r = cw("--config", config, "run", "Hello")
    assert r.returncode != 0, r.stderr
    assert "data_dir is too long a path (4091 bytes): '" in r.stderr, r.stderr[:300]
    assert "/lock'" not in r.stderr, r.stderr  # no cut path named instead
    assert len(data_dir) == 4091
