"""`cronwarden import-crontab FILE` (docs/config.md, docs/timespec.md, docs/cronwarden.1): a crontab is
converted into config sections that `cronwarden check` accepts, with the
same schedules, commands and environment. The converted config is loaded
by the real binary (check, jobs --json, info --json), and shell commands
that needed rewriting are run with `cronwarden run` next to the original
command under /bin/sh, as cron would have run it."""

import json
import subprocess

import pytest

NOW = "2027-03-27T12:00:00+01:00"

CRONTAB = r"""# Edit this file to introduce tasks to be run by cron.
#
# m h  dom mon dow   command
SHELL=/bin/sh
MAILTO="ops@example.com"
PATH = /usr/local/bin:/usr/bin:/bin
CRON_TZ=Europe/Warsaw
APP_ENV='production'

# Nightly backup of the database
30 2 * * * /usr/local/bin/backup.sh --full
15 */4 * * 1-5 /usr/local/bin/backup.sh --incremental
# Expire Django sessions
*/10 * * * * cd /srv/app && ./venv/bin/python manage.py clearsessions > /dev/null 2>&1
@daily /usr/bin/find /tmp -name '*.tmp' -mtime +7 -delete
@reboot /srv/app/bin/warmup
@hourly /srv/app/bin/stats | gzip > /var/tmp/stats.gz
0 6 * * mon-fri mail -s "Daily report" ops@example.com%Hello,%the report is attached.%
5 4 * * sun tar czf /backups/home-$(date +\%F).tgz /home ; echo done
0 3 * * * /usr/bin/rsync -a --delete --exclude=cache --exclude=tmp /srv/app/shared/uploads/ backup@backup.example.com:/srv/backups/app/uploads/ --log-file=/var/log/rsync-uploads.log --bwlimit=5000 --timeout=600
61 * * * * /usr/local/bin/broken
@fortnightly /usr/local/bin/never
LATE=1
0 7 1 * * /usr/local/bin/backup.sh --verify
"""


def parse_ini(text):
    """Sections of a converted config as inih reads them: [(header,
    [(key, value)])], comments dropped, continuations joined with one
    space."""
    sections = []
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s[0] in ";#":
            continue
        if raw[0] in " \t":
            key, value = sections[-1][1][-1]
            sections[-1][1][-1] = (key, value + " " + s)
            continue
        if s.startswith("["):
            sections.append((s, []))
            continue
        key, _, value = s.partition("=")
        sections[-1][1].append((key.strip(), value.strip()))
    return sections


def keys(sections, header):
    for h, kvs in sections:
        if h == header:
            return kvs
    raise AssertionError(f"no section {header}")


def convert(cw, path, *args, **kw):
    return cw("import-crontab", path, *args, env={"CRONWARDEN_FAKE_NOW": NOW}, **kw)


def save(tmp_path, text, name="converted.ini"):
    path = tmp_path / name
    path.write_text(text)
    return path


def info(cw, config, name):
    r = cw("--config", config, "info", name, "--json", env={"CRONWARDEN_FAKE_NOW": NOW})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_realistic_crontab_converts_and_passes_check(cw, tmp_path):
    crontab = tmp_path / "crontab"
    crontab.write_text(CRONTAB)
    r = convert(cw, crontab)
    # Two lines could not be converted: exit 1, each named FILE:LINE.
    assert r.returncode == 1, r.stderr
    assert f"{crontab}:21: bad schedule '61 * * * *'" in r.stderr
    assert f"{crontab}:22: unknown macro '@fortnightly'" in r.stderr
    assert r.stderr.count("(line skipped)") == 2
    assert "10 jobs converted, 2 lines skipped" in r.stderr
    # The % line is kept, with a note on stderr and in the config.
    assert f"{crontab}:18: note: '%' gives the command standard input" in r.stderr

    out = r.stdout
    assert out.startswith("; Converted from the crontab ")
    assert "[cronwarden]\n" in out
    assert "; NOTE: cron fed the text after '%'" in out
    assert "Hello,%the report is attached.%" in out
    assert "MAILTO=ops@example.com" in out  # as a comment
    # Comment lines (the original crontab line above each job) may be
    # long; every line the parser reads fits its buffer.
    for line in out.splitlines():
        if not line.startswith(";"):
            assert len(line.encode()) <= 198, line

    config = save(tmp_path, out)
    c = cw("--config", config, "check", env={"CRONWARDEN_FAKE_NOW": NOW})
    assert c.returncode == 0, c.stderr + "\n" + out
    assert "ok, 10 jobs, 10 schedule entries" in c.stdout

    sections = parse_ini(out)
    defaults = keys(sections, "[defaults]")
    assert ("timezone", "Europe/Warsaw") in defaults
    assert ("env", "PATH=/usr/local/bin:/usr/bin:/bin") in defaults
    assert ("env", "APP_ENV=production") in defaults
    assert not [v for k, v in defaults if v.startswith(("MAILTO", "SHELL"))]

    j = cw("--config", config, "jobs", "--json", env={"CRONWARDEN_FAKE_NOW": NOW})
    assert j.returncode == 0, j.stderr
    jobs = {x["name"]: x for x in json.loads(j.stdout)}
    assert {n: [s["when"] for s in x["schedules"]] for n, x in jobs.items()} == {
        "backup": ["30 2 * * *"],
        "backup-2": ["15 */4 * * 1-5"],
        "clearsessions": ["*/10 * * * *"],
        "find": ["@daily"],
        "warmup": ["@reboot"],
        "stats": ["@hourly"],
        "mail": ["0 6 * * mon-fri"],
        "tar": ["5 4 * * sun"],
        "rsync": ["0 3 * * *"],
        "backup-3": ["0 7 1 * *"],
    }
    assert all(x["zone"] == "Europe/Warsaw" for x in jobs.values())
    assert jobs["backup"]["description"] == "Nightly backup of the database"
    assert jobs["clearsessions"]["description"] == "Expire Django sessions"
    # The column legend and comments not right above an entry are no
    # descriptions.
    assert jobs["backup-2"]["description"] == ""

    # Commands as cronwarden will run them.
    backup = info(cw, config, "backup")
    assert backup["command"] == "/usr/local/bin/backup.sh --full"
    assert backup["shell"] is False
    find = info(cw, config, "find")
    assert find["command"] == "/usr/bin/find /tmp -name '*.tmp' -mtime +7 -delete"
    assert find["shell"] is False  # a quoted glob is an argument either way
    stats = info(cw, config, "stats")
    assert stats["command"] == "/srv/app/bin/stats | gzip > /var/tmp/stats.gz"
    assert stats["shell"] is True
    mail = info(cw, config, "mail")
    assert mail["command"] == 'mail -s "Daily report" ops@example.com'
    tar = info(cw, config, "tar")
    # \% is cron's literal %; the blank before ';' is dropped (" ;" would
    # start a comment in the config file).
    assert tar["command"] == "tar czf /backups/home-$(date +%F).tgz /home; echo done"
    assert tar["shell"] is True
    rsync = info(cw, config, "rsync")
    assert rsync["command"] == CRONTAB.splitlines()[19].split(" ", 5)[5]
    assert rsync["shell"] is False
    assert len(rsync["command"]) > 198
    # LATE=1 came after the first entry: only the entries below it see it.
    assert ("env", "LATE=1") in keys(sections, "[job backup-3]")
    assert ("env", "LATE=1") not in keys(sections, "[job backup]")


def test_every_line_converted_exits_0_and_reads_stdin(cw, tmp_path):
    r = convert(cw, "-", input="TZ=UTC\n*/5 * * * * /usr/bin/uptime\n")
    assert r.returncode == 0, r.stderr
    assert "1 job converted" in r.stderr
    sections = parse_ini(r.stdout)
    assert ("timezone", "UTC") in keys(sections, "[defaults]")
    # TZ also reached the commands' environment under cron.
    assert ("env", "TZ=UTC") in keys(sections, "[defaults]")
    assert keys(sections, "[job uptime]") == [
        ("command", "/usr/bin/uptime"),
        ("schedule", "*/5 * * * *"),
    ]
    config = save(tmp_path, r.stdout)
    assert cw("--config", config, "check").returncode == 0


def test_usage_errors_and_unreadable_file_exit_2(cw, tmp_path):
    r = cw("import-crontab")
    assert r.returncode == 2
    assert "missing FILE" in r.stderr
    r = cw("import-crontab", tmp_path / "nope")
    assert r.returncode == 2
    assert "cannot read" in r.stderr and "nope" in r.stderr
    assert r.stdout == ""
    r = cw("import-crontab", "-", "--prefix", "9bad", input="")
    assert r.returncode == 2
    assert "--prefix" in r.stderr
    r = cw("import-crontab", "-", "--bogus", input="")
    assert r.returncode == 2
    h = cw("import-crontab", "--help")
    assert h.returncode == 0
    assert "1 some lines skipped" in h.stdout


def test_names_prefix_and_uniqueness(cw, tmp_path):
    crontab = "\n".join(
        [
            "0 1 * * * /opt/bin/7zip-backup.sh",
            "0 2 * * * /opt/bin/7zip-backup.sh --again",
            "0 3 * * * nice -n 19 flock /tmp/lock /srv/venv/bin/python3 /srv/app/manage.py send_mail",
            "0 4 * * * sleep 30; /usr/local/bin/report.py",
            "0 5 * * * FOO=bar /usr/bin/env python3 -m app.cleanup",
            "",
        ]
    )
    r = convert(cw, "-", "--prefix", "legacy_", input=crontab)
    assert r.returncode == 0, r.stderr
    headers = [h for h, _ in parse_ini(r.stdout) if h.startswith("[job ")]
    assert headers == [
        "[job legacy_7zip-backup]",
        "[job legacy_7zip-backup-2]",
        "[job legacy_send_mail]",
        "[job legacy_report]",
        "[job legacy_app_cleanup]",
    ]
    r = convert(cw, "-", input=crontab)
    assert "[job job_7zip-backup]" in r.stdout
    config = save(tmp_path, r.stdout)
    assert cw("--config", config, "check").returncode == 0


def test_shell_option_and_shell_line(cw, tmp_path):
    crontab = "SHELL=/bin/bash\n0 1 * * * /usr/bin/true\n"
    r = convert(cw, "-", input=crontab)
    assert r.returncode == 0
    assert ("shell", "yes") not in keys(parse_ini(r.stdout), "[job true]")
    assert "; SHELL=/bin/bash" in r.stdout
    assert "note: SHELL=/bin/bash" in r.stderr
    r = convert(cw, "-", "--shell", input=crontab)
    sections = parse_ini(r.stdout)
    assert ("shell", "yes") in keys(sections, "[job true]")
    assert ("env", "SHELL=/bin/bash") in keys(sections, "[defaults]")
    assert cw("--config", save(tmp_path, r.stdout), "check").returncode == 0


def test_system_crontab_user_field(cw, tmp_path):
    crontab = (
        "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
        "25 6 * * * 'bad user' /bin/true\n"
        "47 6 * * 7 www-data\n"
    )
    r = convert(cw, "-", "--system", input=crontab)
    assert r.returncode == 1
    assert "<stdin>:2: --system: expected a user name" in r.stderr
    assert "<stdin>:3: missing command" in r.stderr
    kvs = keys(parse_ini(r.stdout), "[job cron_hourly]")
    assert ("run_as", "root") in kvs
    assert ("command", "cd / && run-parts --report /etc/cron.hourly") in kvs
    assert cw("--config", save(tmp_path, r.stdout), "check").returncode == 0


def test_system_crontab_without_system_option_exits_2(cw, tmp_path):
    # A file from /etc/cron.d read as a user's crontab used to become
    # [job root] running `root test -e ...`: the user column is recognised
    # and the conversion refused, naming the line and the option.
    crontab = tmp_path / "php"
    crontab.write_text(
        "SHELL=/bin/sh\n"
        "09,39 * * * * root [ -x /usr/lib/php/sessionclean ] && /usr/lib/php/sessionclean\n"
    )
    r = convert(cw, crontab)
    assert r.returncode == 2
    assert f"{crontab}:2: 'root' after the schedule is the user column" in r.stderr
    assert "--system" in r.stderr
    assert r.stdout == ""
    r = convert(cw, crontab, "--system")
    assert r.returncode == 0, r.stderr
    assert ("run_as", "root") in keys(parse_ini(r.stdout), "[job sessionclean]")


def test_user_names_that_are_programs_are_commands(cw, tmp_path):
    # sync is a user on Debian and a program: a command, as cron ran it.
    # A lone word is a command too (there is nothing after it to run).
    r = convert(cw, "-", input="0 1 * * * sync -f /\n0 2 * * * root\n")
    assert r.returncode == 0, r.stderr
    sections = parse_ini(r.stdout)
    assert ("command", "sync -f /") in keys(sections, "[job sync]")
    assert ("command", "root") in keys(sections, "[job root]")


def test_invalid_lines_are_skipped_with_file_line(cw, tmp_path):
    crontab = tmp_path / "tab"
    crontab.write_text(
        "\n".join(
            [
                "0 0 30 2 * /bin/never",  # never fires
                "* * * /bin/short",  # too few fields
                "1-70 * * * * /bin/x",
                "BAD-NAME=1",
                "CRON_TZ=Mars/Olympus",
                "0 5 * * * echo \"`echo 'a ;b'`\"",  # " ;" inside `...` inside "..."
                "0 6 * * * echo 'unterminated",
                "0 7 * * * /bin/" + "x" * 300,
                "0 8 * * * /bin/ok",
                "",
            ]
        )
    )
    r = convert(cw, crontab)
    assert r.returncode == 1
    for n in range(1, 9):
        assert f"{crontab}:{n}: " in r.stderr, (n, r.stderr)
    assert r.stderr.count("(line skipped)") == 8
    assert "never fires" in r.stderr
    assert "unknown time zone 'Mars/Olympus'" in r.stderr
    assert [h for h, _ in parse_ini(r.stdout) if h.startswith("[job")] == ["[job ok]"]
    assert cw("--config", save(tmp_path, r.stdout), "check").returncode == 0


# Commands whose text had to change for the config file or for shell =
# yes: each must print under cronwarden what /bin/sh printed with cron's
# text, and end with the same status.
TRICKY = [
    r"""echo 'a ;b' ; echo "c ;d" x\ ; echo e""",
    r"""printf '\%s\n' 50\% ; echo "\%"x""",
    r"""test -d / && ( echo sub )""",
    r"""if true; then echo yes; fi""",
    r"""echo one; false;""",
    r"""echo $(echo u)#'x ;y'""",
    r"""echo "$(echo v)" ; echo trailing\\""",
    r"""echo "$(echo 'a ;b' "c ;d")" ; echo "$((1 + 2))"#x""",
    r"""( false )""",
    r"""true ;""",
]


@pytest.mark.parametrize(
    "command",
    ["( cd /tmp && pwd )", "{ echo a; }", "if true; then echo y; fi", "for i in 1; do :; done"],
)
def test_compound_command_at_the_end_is_kept_as_written(cw, tmp_path, command):
    # No " #" after a command that ends in a compound command: it guarded
    # against a "$@" the worker now appends only for a run with params,
    # and an imported job declares none, so such a run is refused.
    r = convert(cw, "-", input=f"* * * * * {command}\n")
    assert r.returncode == 0, r.stderr
    (name,) = [h[5:-1] for h, _ in parse_ini(r.stdout) if h.startswith("[job ")]
    config = save(tmp_path, r.stdout)
    assert info(cw, config, name)["command"] == command
    run = cw("--config", config, "run", name, timeout=30)
    assert run.returncode == 0, run.stderr
    run = cw("--config", config, "run", f"{name}:x", timeout=30)
    assert run.returncode == 2
    assert "takes no positional params" in run.stderr


@pytest.mark.parametrize("command", TRICKY)
def test_rewritten_shell_commands_behave_as_under_cron(cw, tmp_path, command):
    r = convert(cw, "-", input=f"* * * * * {command}\n")
    assert r.returncode == 0, r.stderr
    config = save(tmp_path, r.stdout)
    (name,) = [h[5:-1] for h, _ in parse_ini(r.stdout) if h.startswith("[job ")]
    run = cw("--config", config, "run", name, timeout=30)

    # cron: \% is a literal %, then /bin/sh -c the text.
    ref = subprocess.run(
        ["/bin/sh", "-c", command.replace("\\%", "%")], capture_output=True, text=True
    )
    assert run.stdout == ref.stdout, r.stdout
    assert run.returncode == (0 if ref.returncode == 0 else 1), r.stdout + run.stderr
