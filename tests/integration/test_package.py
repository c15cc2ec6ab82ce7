"""The Debian packages (debian/): `dpkg-buildpackage -us -uc -b` on a copy
of the source tree builds cronwarden, libcronwarden0 and
libcronwarden-dev; they are unpacked with `dpkg -x` into a throwaway root
(never installed on this machine) and their file lists, units and
library are checked; lintian, when installed, must report no error.

Slow (a full release build, about a minute and a half on two cores): it
runs only with the plain build directory (not the sanitizer one, whose
build the package does not use), and is skipped without dpkg-buildpackage
and debhelper (scripts/deps.sh installs them)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

UNIT_DIR = "lib/systemd/system"


def _sanitized(build_dir):
    try:
        opts = json.loads((Path(build_dir) / "meson-info/intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return False
    return any(o["name"] == "b_sanitize" and o["value"] != "none" for o in opts)


@pytest.fixture(scope="module")
def debs(repo, build_dir, tmp_path_factory):
    if not shutil.which("dpkg-buildpackage") or not shutil.which("dh"):
        pytest.skip("dpkg-buildpackage or debhelper is not installed (scripts/deps.sh)")
    if _sanitized(build_dir):
        pytest.skip("the package is checked with the plain build only")
    top = tmp_path_factory.mktemp("deb")
    src = top / "src"
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=repo,
                           capture_output=True, check=True).stdout.split(b"\0")
    for f in files:
        name = f.decode()
        if not name or name.startswith(("build", "tests/artifacts")) or not (repo / name).is_file():
            continue
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, src / name)
    env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2 nocheck noddebs")
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    got = {p.name.split("_")[0]: p for p in top.glob("*.deb")}
    assert set(got) == {"cronwarden", "libcronwarden0", "libcronwarden-dev"}, got
    return top, got


@pytest.fixture(scope="module")
def root(debs):
    top, got = debs
    r = top / "root"
    for deb in got.values():
        subprocess.run(["dpkg", "-x", str(deb), str(r)], check=True)
    return r


def contents(deb):
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    return {line.split()[5].lstrip(".") for line in out.splitlines()}


def test_file_lists(debs):
    _, got = debs
    main = contents(got["cronwarden"])
    for path in ("/usr/bin/cronwarden", f"/{UNIT_DIR}/cronwarden.service",
                 f"/{UNIT_DIR}/cronwarden-hardened.service", "/usr/lib/sysusers.d/cronwarden.conf",
                 "/usr/lib/tmpfiles.d/cronwarden.conf", "/usr/share/man/man1/cronwarden.1.gz",
                 "/usr/share/man/man5/cronwarden.ini.5.gz",
                 "/usr/share/bash-completion/completions/cronwarden",
                 "/usr/share/doc/cronwarden/examples/cronwarden.ini", "/etc/cronwarden/cronwarden.ini",
                 "/usr/lib/cronwarden/cronwarden-spawner", "/usr/lib/cronwarden/cronwarden-pg.so",
                 "/usr/lib/cronwarden/cronwarden-curl.so"):
        assert path in main, (path, sorted(main))
    dev = contents(got["libcronwarden-dev"])
    assert "/usr/include/cronwarden.h" in dev
    assert any(p.endswith("/libcronwarden.a") for p in dev), dev
    assert any(p.endswith("/pkgconfig/cronwarden.pc") for p in dev), dev
    assert any(p.endswith("/libcronwarden.so.0.1.0") for p in contents(got["libcronwarden0"]))


def test_control_and_maintainer_scripts(debs, tmp_path):
    _, got = debs
    subprocess.run(["dpkg-deb", "-e", str(got["cronwarden"]), str(tmp_path / "ctl")], check=True)
    ctl = tmp_path / "ctl"
    assert (ctl / "conffiles").read_text().split() == ["/etc/cronwarden/cronwarden.ini"]
    post = (ctl / "postinst").read_text()
    # The user first, then its directory, then the root unit (the hardened
    # one is installed, not enabled).
    assert post.index("systemd-sysusers") < post.index("systemd-tmpfiles")
    assert "deb-systemd-helper enable 'cronwarden.service'" in post


def test_installed_program_and_units(root):
    r = subprocess.run([str(root / "usr/bin/cronwarden"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("cronwarden "), r
    # The daemon's lean spawner, where the program looks for it, loads
    # neither libcurl nor libpq (docs/scheduling.md).
    libs = subprocess.run(["ldd", str(root / "usr/lib/cronwarden/cronwarden-spawner")],
                          capture_output=True, text=True, check=True).stdout
    assert "libsqlite3" in libs and "libcurl" not in libs and "libpq" not in libs, libs
    # Nor does the program: it loads them with its modules, installed
    # beside the spawner, when it needs them (docs/hacking.md, "Modules").
    libs = subprocess.run(["ldd", str(root / "usr/bin/cronwarden")],
                          capture_output=True, text=True, check=True).stdout
    assert "libsqlite3" in libs and "libcurl" not in libs and "libpq" not in libs, libs
    for module, lib in (("cronwarden-pg.so", "libpq"), ("cronwarden-curl.so", "libcurl")):
        libs = subprocess.run(["ldd", str(root / "usr/lib/cronwarden" / module)],
                              capture_output=True, text=True, check=True).stdout
        assert lib in libs, (module, libs)
    for unit in ("cronwarden.service", "cronwarden-hardened.service"):
        text = (root / UNIT_DIR / unit).read_text()
        assert "Type=notify\n" in text and "WatchdogSec=" in text
        assert "ExecStart=/usr/bin/cronwarden --config /etc/cronwarden/cronwarden.ini daemon" in text
        assert "StateDirectory=cronwarden" in text
    example = (root / "etc/cronwarden/cronwarden.ini").read_text()
    assert "data_dir      = /var/lib/cronwarden" in example


def test_program_builds_against_dev_package(root, tmp_path):
    pcs = list(root.rglob("cronwarden.pc"))
    env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent), PKG_CONFIG_SYSROOT_DIR=str(root),
               LD_LIBRARY_PATH=str(pcs[0].parent.parent))
    app = tmp_path / "app.c"
    app.write_text('#include <cronwarden.h>\n#include <stdio.h>\n'
                   'int main(void) { puts(cronwarden_version()); return 0; }\n')
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "cronwarden"], env=env,
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", str(app), "-o", str(tmp_path / "app"), *flags], env=env, check=True)
    out = subprocess.run([str(tmp_path / "app")], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "0.1.0", out


def test_lintian_reports_no_errors(debs):
    if not shutil.which("lintian"):
        pytest.skip("lintian is not installed")
    top, got = debs
    r = subprocess.run(["lintian", "--fail-on", "error", *map(str, got.values())],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
