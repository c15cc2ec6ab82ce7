"""src/tz against glibc, for every zone the system ships.

Runs tests/tools/tzverify (built by meson as $CRONWARDEN_BUILD_DIR/tests/tzverify)
over every TZif file under /usr/share/zoneinfo (or $TZDIR), one batch per
top-level directory. For each zone tzverify compares cw_tz_lookup with
glibc's localtime_r at every transition +-1 s (table and footer rule, up to
2100), at every change glibc itself shows from 1800 to 2100, and at 500
random instants from 1900 to 2100, and checks that cw_tz_resolve finds each
instant again from its local reading. See tzverify.c for the details and the
one exclusion (type 0 vs glibc's first standard type before a zone's first
transition; no current zone needs it, and tzverify counts any use).

Left out: right/ (leap-second clocks: glibc applies the corrections, we
ignore them by design), posix/ (the same files again), "localtime" (this
machine's setting, not a zone) and the non-TZif files (zone.tab,
tzdata.zi, leapseconds, ...). Symlinked names (US/Eastern) are included.
"""

import os
import pathlib
import re
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("CRONWARDEN_BUILD_DIR", REPO / "build"))
TZVERIFY = BUILD / "tests" / "tzverify"
ZONEINFO = pathlib.Path(os.environ.get("TZDIR", "/usr/share/zoneinfo"))
SKIP_TOP = {"right", "posix", "localtime"}
SUMMARY = re.compile(r"^(\S+): (\d+) checks, (\d+) mismatches, (\d+) skipped, (\d+) excluded$")


def is_tzif(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"TZif"
    except OSError:
        return False


def zone_names():
    names = []
    for dirpath, dirnames, filenames in os.walk(ZONEINFO, followlinks=False):
        rel = pathlib.Path(dirpath).relative_to(ZONEINFO)
        if rel == pathlib.Path("."):
            dirnames[:] = [d for d in dirnames if d not in SKIP_TOP]
        for fn in filenames:
            name = (rel / fn).as_posix().removeprefix("./")
            if name in SKIP_TOP:
                continue
            if is_tzif(ZONEINFO / name):
                names.append(name)
    return sorted(names)


ZONES = zone_names() if ZONEINFO.is_dir() else []


def group_of(name):
    return name.split("/", 1)[0] if "/" in name else "(top level)"


GROUPS = sorted({group_of(z) for z in ZONES})


def test_zone_list_is_complete():
    # Guards the discovery above: a broken walk would make every other
    # test here pass vacuously.
    assert len(ZONES) > 300, f"only {len(ZONES)} zones found under {ZONEINFO}"
    for must in ("Europe/Warsaw", "America/New_York", "Australia/Lord_Howe",
                 "America/Santiago", "America/Havana", "Pacific/Apia", "Europe/Dublin",
                 "Asia/Kolkata", "UTC"):
        assert must in ZONES


@pytest.mark.parametrize("group", GROUPS)
def test_zones_match_glibc(group):
    if not TZVERIFY.exists():
        pytest.fail(f"{TZVERIFY} not found: build first (meson compile -C {BUILD}), "
                    "or set CRONWARDEN_BUILD_DIR")
    zones = [z for z in ZONES if group_of(z) == group]
    jobs = str(max(1, os.cpu_count() or 1))
    proc = subprocess.run([str(TZVERIFY), "-j", jobs, *zones], capture_output=True,
                          text=True, timeout=300)
    seen = {}
    problems = []
    for line in proc.stdout.splitlines():
        m = SUMMARY.match(line)
        if m:
            seen[m.group(1)] = int(m.group(3))
        elif not line.startswith("tzverify: "):
            problems.append(line)
    missing = [z for z in zones if z not in seen]
    bad = {z: n for z, n in seen.items() if n}
    report = "\n".join(problems[:60] + [proc.stderr.strip()])
    assert not missing, f"no result for {missing[:10]}\n{report}"
    assert not bad, f"mismatches {bad}\n{report}"
    assert proc.returncode == 0, report
