"""The commands around the scheduler (docs/scheduling.md, sections
"Disable and enable", "Requests" and "crontab"): what they print, what they
persist in the store (read directly with sqlite3), and how `crontab`
edits a crontab: through a fake crontab program (CRONWARDEN_CRONTAB_CMD)
that keeps the crontab in a file, so the real user's crontab is never
touched and every byte can be compared.
"""

import os
import pwd
import shlex
import sqlite3
import time
from datetime import datetime

import pytest

from worker_helpers import *  # noqa: F401,F403 (the wk fixture, job())

# A stand-in for crontab(1) with the same interface: `-l` prints the
# crontab (or "no crontab for USER", exit 1, when there is none), `-`
# replaces it with stdin. Every call is logged, so tests can tell whether
# a write happened. FAKE_CRONTAB_FAIL=read|write makes that call fail the
# way crontab does.
FAKE_CRONTAB = """\
#!/bin/sh
echo "$*" >> "$FAKE_CRONTAB.calls"
case "$1" in
-l)
    if [ "$FAKE_CRONTAB_FAIL" = read ]; then
        echo "crontab: you (tester) are not allowed to use this program" >&2
        exit 1
    fi
    if [ -e "$FAKE_CRONTAB" ]; then cat "$FAKE_CRONTAB"; exit 0; fi
    echo "no crontab for tester" >&2
    exit 1
    ;;
-)
    if [ "$FAKE_CRONTAB_FAIL" = write ]; then
        cat > /dev/null
        echo '"-":3: bad minute' >&2
        echo "errors in crontab file, can't install." >&2
        exit 1
    fi
    cat > "$FAKE_CRONTAB.new" && mv "$FAKE_CRONTAB.new" "$FAKE_CRONTAB"
    ;;
*)
    echo "fake crontab: unexpected arguments: $*" >&2
    exit 2
    ;;
esac
"""


def db_rows(wk, sql, *params):
    if not wk.db_path.exists():
        return []
    con = sqlite3.connect(str(wk.db_path), timeout=10)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def scheduler_enabled_value(wk):
    rows = db_rows(wk, "SELECT value FROM scheduler_state WHERE key = 'enabled'")
    return rows[0][0] if rows else None


def job_state(wk):
    return dict(db_rows(wk, "SELECT job, enabled FROM job_state"))


def requests(wk):
    rows = db_rows(wk, "SELECT id, spec, requested_by, requested_us, taken FROM requests ORDER BY id")
    return [dict(zip(("id", "spec", "requested_by", "requested_us", "taken"), r)) for r in rows]


def configure_basic(wk, globals=""):
    wk.configure(
        job("Backup", "/bin/true")
        + job("Greet", "/bin/echo", args="who", options="loud, times")
        + job("Off", "/bin/true", enabled="no"),
        globals=globals,
    )


# ---- disable / enable ---------------------------------------------------


def test_disable_enable_scheduler_persisted(wk):
    configure_basic(wk)
    r = wk.ok("disable")
    assert r.stdout.startswith("scheduler disabled")
    assert scheduler_enabled_value(wk) == "0"

    r = wk.ok("disable")
    assert r.stdout == "scheduler was already disabled\n"
    assert scheduler_enabled_value(wk) == "0"

    r = wk.ok("enable")
    assert r.stdout == "scheduler enabled\n"
    assert scheduler_enabled_value(wk) == "1"

    r = wk.ok("enable")
    assert r.stdout == "scheduler was already enabled\n"
    # The scheduler flag is not a job flag.
    assert job_state(wk) == {}


def test_enable_on_fresh_store_is_already_enabled(wk):
    configure_basic(wk)
    r = wk.ok("enable")
    assert r.stdout == "scheduler was already enabled\n"


def test_disable_job_run_refuses_force_runs(wk):
    configure_basic(wk)
    r = wk.ok("disable", "Backup")
    assert r.stdout == (
        "job Backup disabled (scheduled fires are recorded as skipped; "
        "'run --force' still runs it)\n"
    )
    assert job_state(wk) == {"Backup": 0}
    # Disabling a job leaves the scheduler alone.
    assert scheduler_enabled_value(wk) is None

    r = wk("run", "Backup")
    assert r.returncode == 2, r.stderr
    assert "Backup is disabled" in r.stderr and "--force" in r.stderr
    assert wk.db_runs("Backup") == []

    r = wk("run", "Backup", "--force")
    assert r.returncode == 0, r.stderr
    runs = wk.db_runs("Backup")
    assert len(runs) == 1 and runs[0]["status"] == "succeeded"

    r = wk.ok("disable", "Backup")
    assert "was already disabled" in r.stdout

    r = wk.ok("enable", "Backup")
    assert r.stdout == "job Backup enabled\n"
    assert job_state(wk) == {"Backup": 1}
    assert wk("run", "Backup").returncode == 0
    assert len(wk.db_runs("Backup")) == 2


def test_disable_one_job_leaves_others(wk):
    configure_basic(wk)
    wk.ok("disable", "Backup")
    assert wk("run", "Greet:me").returncode == 0
    assert job_state(wk) == {"Backup": 0}


def test_enable_job_disabled_in_config_says_so(wk):
    configure_basic(wk)
    r = wk.ok("enable", "Off")
    assert "enabled = no" in r.stdout and "stays disabled" in r.stdout
    # The store cannot override the config.
    assert wk("run", "Off").returncode == 2


@pytest.mark.parametrize("cmd", ["disable", "enable"])
def test_unknown_job_exit_2(wk, cmd):
    configure_basic(wk)
    r = wk(cmd, "Nobody")
    assert r.returncode == 2
    assert "unknown job 'Nobody'" in r.stderr
    assert r.stdout == ""
    assert job_state(wk) == {}


@pytest.mark.parametrize("cmd", ["disable", "enable"])
def test_job_spec_is_not_a_job_name(wk, cmd):
    configure_basic(wk)
    r = wk(cmd, "Greet:me")
    assert r.returncode == 2
    assert "job spec" in r.stderr
    assert job_state(wk) == {}


@pytest.mark.parametrize("args", [("Backup", "Greet"), ("--bogus",)])
def test_disable_usage_errors(wk, args):
    configure_basic(wk)
    r = wk("disable", *args)
    assert r.returncode == 2
    assert "Try 'cronwarden disable --help'" in r.stderr
    assert job_state(wk) == {} and scheduler_enabled_value(wk) is None


def test_disable_bad_config_exit_2(wk, tmp_path):
    wk.config.write_text("[job A]\ncomand = /bin/true\n")
    r = wk("disable")
    assert r.returncode == 2
    assert "comand" in r.stderr


@pytest.mark.parametrize("cmd", ["disable", "enable", "request", "crontab"])
def test_help(wk, cmd):
    configure_basic(wk)
    r = wk.ok(cmd, "--help")
    assert r.stdout.startswith(f"Usage: cronwarden [--config FILE] {cmd}")
    assert wk.ok("help", cmd).stdout == r.stdout
    assert cmd in wk.ok("--help").stdout


# ---- request ------------------------------------------------------------


def test_request_queued(wk):
    configure_basic(wk, globals="node = testnode")
    before = int(time.time() * 1e6)
    r = wk.ok("request", 'Greet:"big world",loud="yes"')
    after = int(time.time() * 1e6)
    assert r.stdout == "request 1 queued for Greet:\"big world\",loud=yes\n"
    assert r.stderr == ""
    rows = requests(wk)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == 1
    # The canonical spec, so the pass and `history` see one text per spec.
    assert row["spec"] == 'Greet:"big world",loud=yes'
    assert row["requested_by"] == pwd.getpwuid(os.getuid()).pw_name + "@testnode"
    assert before <= row["requested_us"] <= after
    assert row["taken"] == 0

    r = wk.ok("request", "Backup")
    assert r.stdout == "request 2 queued for Backup\n"
    assert [q["spec"] for q in requests(wk)] == ['Greet:"big world",loud=yes', "Backup"]
    # Queueing starts nothing by itself.
    assert wk.db_runs() == []


def test_request_honours_fake_now(wk):
    configure_basic(wk)
    wk.ok("request", "Backup", env={"CRONWARDEN_FAKE_NOW": "2027-03-28T03:00:00+02:00"})
    expected = datetime.fromisoformat("2027-03-28T03:00:00+02:00").timestamp()
    assert requests(wk)[0]["requested_us"] == int(expected) * 1000000


@pytest.mark.parametrize(
    "spec, message",
    [
        ("Nobody", "Nobody"),  # unknown job
        ('Greet:"open', "bad job spec"),  # syntax
        ("Greet", "Greet"),  # a positional value is missing
        ("Greet:a,b", "Greet"),  # one too many
        ("Greet:me,colour=red", "colour"),  # undeclared option
        ("", "bad job spec"),
    ],
)
def test_request_bad_spec_exit_2(wk, spec, message):
    configure_basic(wk)
    r = wk("request", spec)
    assert r.returncode == 2, r.stdout
    assert message in r.stderr
    assert r.stdout == ""
    assert requests(wk) == []


def test_request_bad_spec_same_as_run(wk):
    configure_basic(wk)
    for spec in ("Greet:me,colour=red", 'Greet:"open', "Nobody"):
        req, run = wk("request", spec), wk("run", spec)
        assert req.returncode == run.returncode == 2
        assert req.stderr == run.stderr


@pytest.mark.parametrize("args", [(), ("Backup", "Greet:me"), ("--nope", "Backup")])
def test_request_usage_errors(wk, args):
    configure_basic(wk)
    r = wk("request", *args)
    assert r.returncode == 2
    assert "Try 'cronwarden request --help'" in r.stderr
    assert requests(wk) == []


def test_request_of_disabled_job_is_queued_with_a_note(wk):
    configure_basic(wk)
    wk.ok("disable", "Backup")
    r = wk.ok("request", "Backup")
    assert r.stdout == "request 1 queued for Backup\n"
    assert "disabled" in r.stderr and "skipped" in r.stderr
    r = wk.ok("request", "Off")
    assert "disabled" in r.stderr
    wk.ok("enable", "Backup")
    wk.ok("disable")
    r = wk.ok("request", "Backup")
    assert "the scheduler is disabled" in r.stderr
    assert len(requests(wk)) == 3


# ---- crontab ------------------------------------------------------------


class FakeCrontab:
    def __init__(self, tmp_path):
        self.dir = tmp_path / "fakecron"
        self.dir.mkdir()
        self.program = self.dir / "crontab"
        self.program.write_text(FAKE_CRONTAB)
        self.program.chmod(0o755)
        self.file = self.dir / "spool"
        self.calls_file = self.dir / "spool.calls"

    def env(self, **extra):
        e = {"CRONWARDEN_CRONTAB_CMD": self.program, "FAKE_CRONTAB": self.file}
        e.update(extra)
        return e

    def read(self):
        return self.file.read_bytes() if self.file.exists() else None

    def write(self, data):
        self.file.write_bytes(data)

    def calls(self):
        return self.calls_file.read_text().split("\n")[:-1] if self.calls_file.exists() else []

    def writes(self):
        return sum(1 for c in self.calls() if c == "-")


@pytest.fixture
def fake(tmp_path):
    return FakeCrontab(tmp_path)


def ct(wk, fake, *args, config=None, env=None):
    """Runs cronwarden --config CONFIG crontab ARGS with the fake crontab."""
    full = dict(wk.env)
    full.update(fake.env())
    full.update(env or {})
    return wk.cw("--config", config or wk.config, "crontab", *args, env=full)


def block(wk, config=None):
    cfg = os.path.realpath(config or wk.config)
    exe = os.path.realpath(wk.binary)
    return (
        f"# BEGIN cronwarden {cfg}\n"
        f"* * * * * {exe} --config {cfg} tick --silent\n"
        f"# END cronwarden {cfg}\n"
    ).encode()


def second_config(wk):
    d = wk.tmp / "other"
    d.mkdir(exist_ok=True)
    path = d / "cronwarden.ini"
    path.write_text(f"[cronwarden]\ndata_dir = {wk.tmp / 'data2'}\n\n[job Other]\ncommand = /bin/true\n")
    return path


# Lines that must survive byte for byte: comments, variables, blank lines,
# trailing blanks, a '%' job, another program's marked block, and an END
# marker for our config without its BEGIN.
OTHER_LINES = (
    b"# m h  dom mon dow   command\n"
    b"MAILTO=ops@example.com\n"
    b"\n"
    b"0 3 * * * /usr/bin/backup --date=$(date +\\%F)   \n"
    b"# BEGIN ansible managed\n"
    b"*/5 * * * * /usr/local/bin/poll\t# tab\n"
    b"# END ansible managed\n"
    b"@reboot /bin/echo hi\n"
)


def test_crontab_show_when_there_is_no_crontab(wk, fake):
    configure_basic(wk)
    r = ct(wk, fake, "show")
    assert r.returncode == 0, r.stderr
    b = block(wk).decode()
    assert r.stdout.startswith(b)
    rest = r.stdout[len(b):]
    assert rest.startswith("not installed in the crontab of ")
    assert fake.calls() == ["-l"]
    assert fake.read() is None


def test_crontab_install_into_empty_crontab(wk, fake):
    configure_basic(wk)
    r = ct(wk, fake, "install")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("installed the cronwarden block for " + os.path.realpath(wk.config))
    assert fake.read() == block(wk)
    r = ct(wk, fake, "show")
    assert r.stdout.endswith("\n") and "\ninstalled in the crontab of " in r.stdout


def test_crontab_empty_but_existing_crontab(wk, fake):
    # `crontab -l` exits 0 and prints nothing for an empty crontab.
    configure_basic(wk)
    fake.write(b"")
    assert ct(wk, fake, "install").returncode == 0
    assert fake.read() == block(wk)
    assert ct(wk, fake, "remove").returncode == 0
    assert fake.read() == b""


def test_crontab_install_keeps_other_lines_and_remove_restores_them(wk, fake):
    configure_basic(wk)
    fake.write(OTHER_LINES)
    r = ct(wk, fake, "install")
    assert r.returncode == 0, r.stderr
    assert fake.read() == OTHER_LINES + block(wk)

    r = ct(wk, fake, "remove")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("removed the cronwarden block for ")
    assert fake.read() == OTHER_LINES


def test_crontab_install_is_idempotent(wk, fake):
    configure_basic(wk)
    fake.write(OTHER_LINES)
    assert ct(wk, fake, "install").returncode == 0
    first = fake.read()
    assert fake.writes() == 1
    for _ in range(2):
        r = ct(wk, fake, "install")
        assert r.returncode == 0, r.stderr
        assert "already installed" in r.stdout
    # Nothing was written again.
    assert fake.writes() == 1
    assert fake.read() == first


def test_crontab_install_replaces_a_stale_block_in_place(wk, fake):
    configure_basic(wk)
    cfg = os.path.realpath(wk.config)
    stale = (
        f"# BEGIN cronwarden {cfg}\n"
        f"*/2 * * * * /old/bin/cronwarden --config {cfg} tick\n"
        f"# END cronwarden {cfg}\n"
    ).encode()
    lines = OTHER_LINES.splitlines(keepends=True)
    head, tail = b"".join(lines[:3]), b"".join(lines[3:])
    fake.write(head + stale + tail)
    r = ct(wk, fake, "show")
    assert "installed in the crontab of" in r.stdout and "different" in r.stdout
    r = ct(wk, fake, "install")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("replaced the cronwarden block")
    assert fake.read() == head + block(wk) + tail


def test_crontab_duplicate_blocks_become_one(wk, fake):
    configure_basic(wk)
    fake.write(block(wk) + b"MAILTO=x\n" + block(wk))
    assert ct(wk, fake, "install").returncode == 0
    assert fake.read() == block(wk) + b"MAILTO=x\n"
    fake.write(block(wk) + b"MAILTO=x\n" + block(wk))
    assert ct(wk, fake, "remove").returncode == 0
    assert fake.read() == b"MAILTO=x\n"


def test_crontab_last_line_without_newline(wk, fake):
    # cron needs the newline; everything before it stays as it was.
    configure_basic(wk)
    fake.write(b"0 1 * * * /bin/foo")
    assert ct(wk, fake, "install").returncode == 0
    assert fake.read() == b"0 1 * * * /bin/foo\n" + block(wk)
    assert ct(wk, fake, "remove").returncode == 0
    assert fake.read() == b"0 1 * * * /bin/foo\n"


def test_crontab_two_configs_coexist(wk, fake):
    configure_basic(wk)
    other = second_config(wk)
    fake.write(OTHER_LINES)
    assert ct(wk, fake, "install").returncode == 0
    assert ct(wk, fake, "install", config=other).returncode == 0
    assert fake.read() == OTHER_LINES + block(wk) + block(wk, other)

    # Installing one again touches neither.
    r = ct(wk, fake, "install", config=other)
    assert "already installed" in r.stdout
    assert fake.read() == OTHER_LINES + block(wk) + block(wk, other)

    # Remove only removes its own block.
    r = ct(wk, fake, "remove")
    assert r.returncode == 0, r.stderr
    assert fake.read() == OTHER_LINES + block(wk, other)
    assert "not installed" in ct(wk, fake, "show").stdout
    assert "\ninstalled in the crontab of" in ct(wk, fake, "show", config=other).stdout

    r = ct(wk, fake, "remove")
    assert "nothing to remove" in r.stdout
    assert fake.read() == OTHER_LINES + block(wk, other)
    assert ct(wk, fake, "remove", config=other).returncode == 0
    assert fake.read() == OTHER_LINES


def test_crontab_block_of_a_longer_path_is_not_ours(wk, fake):
    # "/x/cronwarden.ini.bak" starts with "/x/cronwarden.ini": not ours.
    configure_basic(wk)
    cfg = os.path.realpath(wk.config)
    foreign = (
        f"# BEGIN cronwarden {cfg}.bak\n* * * * * true\n# END cronwarden {cfg}.bak\n"
    ).encode()
    fake.write(foreign)
    assert "nothing to remove" in ct(wk, fake, "remove").stdout
    assert ct(wk, fake, "install").returncode == 0
    assert ct(wk, fake, "remove").returncode == 0
    assert fake.read() == foreign


def test_crontab_relative_config_path_is_made_absolute(wk, fake):
    configure_basic(wk)
    full = dict(wk.env)
    full.update(fake.env())
    r = wk.cw("--config", wk.config.name, "crontab", "install", cwd=wk.config.parent, env=full)
    assert r.returncode == 0, r.stderr
    assert fake.read() == block(wk)
    # And by $CRONWARDEN_CONFIG, from elsewhere: the same block.
    full["CRONWARDEN_CONFIG"] = wk.config
    r = wk.cw("crontab", "show", env=full)
    assert "\ninstalled in the crontab of" in r.stdout


def test_crontab_path_with_space_quote_and_percent(wk, fake):
    # The command goes through cron ('%' means newline unless escaped) and
    # then /bin/sh: check both layers give back the exact paths.
    d = wk.tmp / "it's 100% here"
    d.mkdir()
    cfg = d / "cronwarden.ini"
    cfg.write_text(f"[cronwarden]\ndata_dir = {wk.tmp / 'data3'}\n\n[job A]\ncommand = /bin/true\n")
    r = ct(wk, fake, "install", config=cfg)
    assert r.returncode == 0, r.stderr
    lines = fake.read().decode().split("\n")
    real = os.path.realpath(cfg)
    assert lines[0] == f"# BEGIN cronwarden {real}"
    assert lines[2] == f"# END cronwarden {real}"
    fields = lines[1].split(" ", 5)
    assert fields[:5] == ["*"] * 5
    command = fields[5]
    assert "%" not in command.replace("\\%", "")
    as_sh_sees_it = command.replace("\\%", "%")
    assert shlex.split(as_sh_sees_it) == [
        os.path.realpath(wk.binary), "--config", real, "tick", "--silent"]
    assert "already installed" in ct(wk, fake, "install", config=cfg).stdout
    assert ct(wk, fake, "remove", config=cfg).returncode == 0
    assert fake.read() == b""


def test_crontab_remove_after_config_deleted(wk, fake):
    configure_basic(wk)
    assert ct(wk, fake, "install").returncode == 0
    wk.config.unlink()
    r = ct(wk, fake, "remove")
    assert r.returncode == 0, r.stderr
    assert fake.read() == b""


def test_crontab_install_refuses_a_broken_config(wk, fake):
    wk.config.write_text("[job A]\ncommand = /bin/true\nschedule = 0 25 * * *\n")
    fake.write(OTHER_LINES)
    r = ct(wk, fake, "install")
    assert r.returncode == 2
    assert "hour" in r.stderr
    assert fake.calls() == []
    assert fake.read() == OTHER_LINES


def test_crontab_begin_without_end_is_left_alone(wk, fake):
    configure_basic(wk)
    cfg = os.path.realpath(wk.config)
    text = OTHER_LINES + f"# BEGIN cronwarden {cfg}\n* * * * * x\n".encode() + b"MAILTO=y\n"
    fake.write(text)
    for action in ("install", "remove"):
        r = ct(wk, fake, action)
        assert r.returncode == 2
        assert "never ends" in r.stderr and "crontab -e" in r.stderr
    assert fake.writes() == 0
    assert fake.read() == text
    r = ct(wk, fake, "show")
    assert r.returncode == 0 and "never ends" in r.stdout


def test_crontab_missing_crontab_command(wk, fake, tmp_path):
    configure_basic(wk)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    for action in ("install", "remove"):
        r = ct(wk, fake, action, env={"CRONWARDEN_CRONTAB_CMD": None, "PATH": empty})
        assert r.returncode == 2
        assert "the crontab command is not installed (apt-get install cron)" in r.stderr
        assert r.stdout == ""


def test_crontab_show_without_cron_installed_prints_the_block(wk, fake, tmp_path):
    # show is how one sees the line before installing cron, or to add it
    # by hand: it needs no crontab program.
    configure_basic(wk)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    r = ct(wk, fake, "show", env={"CRONWARDEN_CRONTAB_CMD": None, "PATH": empty})
    assert r.returncode == 0, r.stderr
    assert r.stdout == block(wk).decode() + (
        "not installed: this system has no crontab command (apt-get install cron)\n"
    )


def test_crontab_hook_that_does_not_exist(wk, fake, tmp_path):
    configure_basic(wk)
    r = ct(wk, fake, "show", env={"CRONWARDEN_CRONTAB_CMD": tmp_path / "nope"})
    assert r.returncode == 2
    assert "CRONWARDEN_CRONTAB_CMD" in r.stderr


def test_crontab_read_failure_is_reported(wk, fake):
    configure_basic(wk)
    r = ct(wk, fake, "install", env={"FAKE_CRONTAB_FAIL": "read"})
    assert r.returncode == 2
    assert "not allowed to use this program" in r.stderr
    assert fake.writes() == 0


def test_crontab_write_failure_is_reported(wk, fake):
    configure_basic(wk)
    fake.write(OTHER_LINES)
    r = ct(wk, fake, "install", env={"FAKE_CRONTAB_FAIL": "write"})
    assert r.returncode == 2
    assert "failed with exit status 1" in r.stderr
    assert "errors in crontab file" in r.stderr
    assert r.stdout == ""
    assert fake.read() == OTHER_LINES


def test_crontab_writer_that_reads_nothing(wk, fake, tmp_path):
    # A crontab that exits without reading stdin must not kill cronwarden
    # with SIGPIPE, even with a big crontab.
    configure_basic(wk)
    prog = tmp_path / "shut"
    prog.write_text('#!/bin/sh\nif [ "$1" = -l ]; then cat "$FAKE_CRONTAB"; exit 0; fi\nexit 1\n')
    prog.chmod(0o755)
    fake.write(b"# filler line to fill the pipe buffer\n" * 20000)
    r = ct(wk, fake, "install", env={"CRONWARDEN_CRONTAB_CMD": prog})
    assert r.returncode == 2
    assert "failed with exit status 1" in r.stderr


@pytest.mark.parametrize("args", [(), ("frobnicate",), ("show", "extra"), ("show", "--bogus")])
def test_crontab_usage_errors(wk, fake, args):
    configure_basic(wk)
    r = ct(wk, fake, *args)
    assert r.returncode == 2
    assert "Try 'cronwarden crontab --help'" in r.stderr
    assert fake.calls() == []


def test_crontab_usage_documents_test_hook(wk):
    configure_basic(wk)
    lines = wk.ok("crontab", "--help").stdout.rstrip("\n").split("\n")
    assert "CRONWARDEN_CRONTAB_CMD" in lines[-1]
