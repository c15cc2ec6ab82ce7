"""`meson install` (README, "Installing"; docs/scheduling.md, "Under
systemd"): into a staging directory (DESTDIR), it must hold the program,
its lean spawner and modules, the man pages, the embedding library, both systemd units (Type=notify,
paths under the prefix), the sysusers.d and tmpfiles.d files, bash
completion and the example config. The units must keep their
`systemd-analyze security` exposure (when systemd-analyze can read a unit
file offline), and the completion must offer commands, options and the
config's job names."""

import json
import os
import re
import shutil
import subprocess

import pytest


@pytest.fixture(scope="module")
def dest(build_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(build_dir), "--destdir", str(d), "--no-rebuild",
                        "--quiet"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return d


def option_of(build_dir, name):
    r = subprocess.run(["meson", "introspect", "--buildoptions", str(build_dir)], capture_output=True,
                       text=True, check=True)
    return next(o["value"] for o in json.loads(r.stdout) if o["name"] == name)


def prefix_of(build_dir):
    return option_of(build_dir, "prefix")


def test_files(dest, build_dir):
    p = dest / prefix_of(build_dir).lstrip("/")
    for rel in ("bin/cronwarden", "share/man/man1/cronwarden.1", "share/man/man5/cronwarden.ini.5",
                "include/cronwarden.h", "lib/systemd/system/cronwarden.service",
                "lib/systemd/system/cronwarden-hardened.service", "lib/sysusers.d/cronwarden.conf",
                "lib/tmpfiles.d/cronwarden.conf", "share/bash-completion/completions/cronwarden",
                "share/doc/cronwarden/examples/cronwarden.ini"):
        assert (p / rel).is_file(), rel
    assert list(p.rglob("libcronwarden.so.0")) and list(p.rglob("libcronwarden.a"))
    # The lean spawner and the modules, where the installed program looks
    # for them (docs/hacking.md, "Modules").
    libexec = p / option_of(build_dir, "libexecdir") / "cronwarden"
    for name in ("cronwarden-spawner", "cronwarden-pg.so", "cronwarden-curl.so"):
        assert (libexec / name).is_file(), name
    assert list(p.rglob("pkgconfig/cronwarden.pc"))


def test_units(dest, build_dir):
    prefix = prefix_of(build_dir)
    units = dest / prefix.lstrip("/") / "lib/systemd/system"
    deps = json.loads((build_dir / "meson-info/intro-dependencies.json").read_text())
    notify = any(d["name"] == "libsystemd" for d in deps)
    for name in ("cronwarden.service", "cronwarden-hardened.service"):
        text = (units / name).read_text()
        assert "@" not in re.sub(r"SystemCallFilter=.*", "", text), f"{name}: unsubstituted @VAR@"
        assert f"ExecStart={prefix}/bin/cronwarden --config /etc/cronwarden/cronwarden.ini daemon" in text
        assert ("Type=notify" in text) == notify and ("\nWatchdogSec=60s" in text) == notify
        assert "StateDirectory=cronwarden" in text and "KillMode=process" in text


@pytest.mark.parametrize("name,most", [("cronwarden.service", 4.5), ("cronwarden-hardened.service", 2.5)])
def test_unit_exposure(dest, build_dir, name, most):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    unit = dest / prefix_of(build_dir).lstrip("/") / "lib/systemd/system" / name
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)], capture_output=True,
                       text=True)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    if r.returncode != 0 and not m:
        pytest.skip(f"systemd-analyze cannot read a unit offline here: {r.stderr.strip()}")
    assert m, r.stdout
    assert float(m.group(1)) <= most, r.stdout


def complete(completion, words, env):
    script = (f"source {completion}\n"
              "COMP_WORDS=(\"$@\"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _cronwarden\n"
              "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    r = subprocess.run(["bash", "-c", script, "bash", *words], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion(dest, build_dir, repo):
    if not shutil.which("bash"):
        pytest.skip("bash is not installed")
    completion = next(dest.rglob("bash-completion/completions/cronwarden"))
    exe = str(build_dir / "cronwarden")
    demo = str(repo / "examples/demo.ini")
    env = {k: v for k, v in os.environ.items() if k != "CRONWARDEN_CONFIG"}
    cmds = complete(completion, [exe, "re"], env)
    assert cmds == ["resume", "request"] or sorted(cmds) == ["request", "resume"], cmds
    assert "--detach" in complete(completion, [exe, "run", "--"], env)
    assert complete(completion, [exe, "--config", demo, "info", "Rep"], env) == ["Report"]
