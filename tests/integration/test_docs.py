"""The documentation keeps up with the code (docs/hacking.md, "Where tests
go"): every config key of the key table is in docs/config.md and in
cronwarden.ini(5); every command is in cronwarden(1) and has a --help with
"Options" and "Exit status" sections that exits 0; no promise that
something "comes in a later release" survives in the README, docs/ or a
--help text; test hooks stay out of the man pages; the README stays short;
and nothing cites files that are not in the repository."""

import os
import re

import pytest

# Spelled in pieces so this file does not match its own scan.
FOREIGN_DOCS = ("PRODUCT" + ".md", "STYLE" + ".md")
STALE_PHRASES = (
    "later release",
    "once the scheduler exists",
    "until the scheduler exists",
    "later the daemon",
)
TEST_HOOKS = ("CRONWARDEN_FAKE_NOW", "CRONWARDEN_CRONTAB_CMD", "CRONWARDEN_ZONEINFO", "CRONWARDEN_CLOCK_STEP_FILE")
README_MAX = 15 * 1024


def config_keys(repo):
    """Key names of the table in src/config/config_keys.c (KEY(ID, "name", ...))."""
    text = (repo / "src/config/config_keys.c").read_text()
    keys = sorted(set(re.findall(r'^\s*KEY\(\s*[A-Z_]+\s*,\s*"([a-z_]+)"', text, re.M)))
    assert len(keys) > 40, "the key table was not found in src/config/config_keys.c"
    return keys


def commands(cw):
    """Command names listed by `cronwarden --help`, "help" included."""
    r = cw("--help")
    assert r.returncode == 0
    block = r.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    names = [line.split()[0] for line in block.splitlines() if line.strip()]
    assert "run" in names and "help" in names
    return names


def roff_names(text):
    """Words set in bold at the start of a man page line (.B, .BR, .BI)."""
    return set(m.replace("\\-", "-") for m in re.findall(r'^\.B[IR]?\s+"?([a-z_\\-]+)', text, re.M))


def test_every_config_key_is_documented(repo):
    config_md = (repo / "docs/config.md").read_text()
    ini5 = (repo / "docs/cronwarden.ini.5").read_text()
    ini5_keys = roff_names(ini5)
    missing_md = [k for k in config_keys(repo) if f"`{k}`" not in config_md]
    missing_5 = [k for k in config_keys(repo) if k not in ini5_keys]
    assert missing_md == [], f"keys missing from docs/config.md: {missing_md}"
    assert missing_5 == [], f"keys missing from docs/cronwarden.ini.5: {missing_5}"


def test_every_command_is_in_the_man_page(cw, repo):
    documented = roff_names((repo / "docs/cronwarden.1").read_text())
    missing = [c for c in commands(cw) if c not in documented]
    assert missing == [], f"commands missing from docs/cronwarden.1: {missing}"


def test_every_command_has_complete_help(cw):
    for name in commands(cw):
        r = cw(name, "--help")
        assert r.returncode == 0, f"{name} --help exited {r.returncode}: {r.stderr}"
        assert r.stdout.startswith("Usage: "), name
        assert re.search(r"^Options:", r.stdout, re.M), f"{name} --help has no Options section"
        assert re.search(r"^Exit status", r.stdout, re.M), f"{name} --help has no Exit status section"
        assert cw("help", name).stdout == r.stdout, name


def test_no_stale_promises(cw, repo):
    texts = {"README.md": (repo / "README.md").read_text()}
    for p in sorted((repo / "docs").rglob("*")):
        if p.is_file():
            texts[str(p.relative_to(repo))] = p.read_text()
    texts["cronwarden --help"] = cw("--help").stdout
    for name in commands(cw):
        texts[f"cronwarden {name} --help"] = cw(name, "--help").stdout
    found = [
        f"{where}: {phrase!r}"
        for where, text in texts.items()
        for phrase in STALE_PHRASES
        if phrase in text.lower()
    ]
    assert found == []


def test_test_hooks_stay_out_of_the_man_pages(repo):
    for page in ("docs/cronwarden.1", "docs/cronwarden.ini.5"):
        text = (repo / page).read_text()
        found = [h for h in TEST_HOOKS if h in text]
        assert found == [], f"{page} documents test hooks {found} (they belong in docs/hacking.md)"
    hacking = (repo / "docs/hacking.md").read_text()
    assert all(h in hacking for h in TEST_HOOKS)


def test_readme_is_short(repo):
    size = (repo / "README.md").stat().st_size
    assert size < README_MAX, f"README.md is {size} bytes (at most {README_MAX})"


def repo_files(repo, build_dir):
    """Files of the working tree, outside .git, build directories and test
    artifacts."""
    skip_dirs = {".git", "__pycache__", "artifacts", ".cronwarden-demo", ".cronwarden"}
    build = os.path.realpath(build_dir)
    for root, dirs, files in os.walk(repo):
        rel = os.path.relpath(root, repo)
        dirs[:] = [
            d
            for d in dirs
            if d not in skip_dirs
            and not (rel == "." and d.startswith("build"))
            and os.path.realpath(os.path.join(root, d)) != build
        ]
        for f in files:
            yield os.path.join(root, f)


def test_nothing_cites_files_outside_the_repository(repo, build_dir):
    found = []
    for path in repo_files(repo, build_dir):
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        for name in FOREIGN_DOCS:
            if name in text:
                found.append(f"{os.path.relpath(path, repo)}: {name}")
    assert found == [], "cite the repository's docs/ instead: " + ", ".join(found)


@pytest.mark.parametrize("page", ["docs/cronwarden.1", "docs/cronwarden.ini.5"])
def test_man_pages_are_installed(repo, page):
    meson = (repo / "meson.build").read_text()
    assert re.search(r"install_man\([^)]*'" + re.escape(page) + "'", meson), page
