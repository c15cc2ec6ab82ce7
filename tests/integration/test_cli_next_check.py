"""CLI tests of `cronwarden next` and `cronwarden check` (docs/config.md, docs/timespec.md, docs/cronwarden.1).

Expected instants written by hand are checked against Python's zoneinfo
(the same /usr/share/zoneinfo files) by an independent reference model of
the docs/timespec.md DST rules for daily "MIN HOUR * * *" specs (`reference_fires`), so a
wrong hand-written expectation fails loudly instead of enshrining a bug.
"""

import calendar
import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

UTC = dt.timezone.utc


# ---------------------------------------------------------------------------
# Helpers


def next_lines(cw, *args, **kw):
    """Runs `cronwarden next ARGS`, asserts success, returns stdout lines."""
    r = cw("next", *args, **kw)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout.splitlines()


def iso(t):
    """ISO 8601 as cronwarden prints it: seconds, numeric offset."""
    return t.isoformat(timespec="seconds")


def parse_iso(s):
    return dt.datetime.fromisoformat(s)


def check_offsets(lines, zone):
    """Every printed instant carries the offset zoneinfo gives that instant
    in zone (so '+02:00' in summer, '+01:00' in winter for Warsaw)."""
    z = ZoneInfo(zone)
    for s in lines:
        t = parse_iso(s)
        assert t.utcoffset() == t.astimezone(z).utcoffset(), f"{s}: wrong offset for {zone}"


def _field(text, lo, hi):
    """Values of one cron field in the small grammar the reference model
    supports: *, */n, a, a-b, a-b/n and lists of those."""
    out = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, s = part.split("/")
            step = int(s)
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            a, b = (int(x) for x in part.split("-"))
        else:
            a = b = int(part)
        out.update(range(a, b + 1, step))
    return out


def _exists(z, naive):
    """True when the local time naive occurs in zone z."""
    t = naive.replace(tzinfo=z)
    return t.astimezone(UTC).astimezone(z).replace(tzinfo=None) == naive


def _gap_end(z, naive):
    """For a local time in a spring-forward gap: the first instant after
    the gap (the transition instant), found by scanning UTC minutes."""
    before = naive.replace(tzinfo=z, fold=0).utcoffset()
    after = naive.replace(tzinfo=z, fold=1).utcoffset()
    # zoneinfo: fold=0 in a gap uses the offset before the transition.
    lo = (naive - max(before, after)).replace(tzinfo=UTC)
    hi = (naive - min(before, after)).replace(tzinfo=UTC)
    t = lo
    while t <= hi:
        if t.astimezone(z).replace(tzinfo=None) > naive:
            return t
        t += dt.timedelta(minutes=1)
    raise AssertionError(f"no gap end found for {naive} in {z}")


def reference_fires(spec, zone, after, count):
    """Independent model of docs/timespec.md for "MIN HOUR * * *" specs, on zoneinfo.

    Fixed-time (neither field starts with '*'): each day at each HOUR:MIN
    local; a time in a gap fires at the first instant after the gap; a
    repeated time fires at its first occurrence. Wildcard: every instant
    (UTC minute) whose local wall time matches, both occurrences in an
    overlap, none in a gap."""
    fields = spec.split()
    assert len(fields) == 5 and fields[2:] == ["*", "*", "*"], spec
    minutes = _field(fields[0], 0, 59)
    hours = _field(fields[1], 0, 23)
    fixed = not fields[0].startswith("*") and not fields[1].startswith("*")
    z = ZoneInfo(zone)
    after = after.astimezone(UTC)
    fires = set()
    if fixed:
        day = after.astimezone(z).date() - dt.timedelta(days=1)
        while len([f for f in fires if f > after]) < count:
            for h in sorted(hours):
                for m in sorted(minutes):
                    naive = dt.datetime.combine(day, dt.time(h, m))
                    if _exists(z, naive):
                        t = naive.replace(tzinfo=z, fold=0).astimezone(UTC)
                    else:
                        t = _gap_end(z, naive)
                    fires.add(t)
            day += dt.timedelta(days=1)
    else:
        t = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        limit = t + dt.timedelta(days=400)
        while len(fires) < count and t < limit:
            local = t.astimezone(z)
            if local.minute in minutes and local.hour in hours:
                fires.add(t)
            t += dt.timedelta(minutes=1)
    return [iso(f.astimezone(z)) for f in sorted(f for f in fires if f > after)[:count]]


def caret_column(stderr, text):
    """Column of the first '^' under the line of stderr that shows text,
    relative to where text starts on that line."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(text) and i + 1 < len(lines) and "^" in lines[i + 1]:
            return lines[i + 1].index("^") - line.rindex(text)
    raise AssertionError(f"no caret line under {text!r} in stderr:\n{stderr}")


# ---------------------------------------------------------------------------
# next: output format and options


def test_next_utc_daily(cw):
    assert next_lines(cw, "0 2 * * *", "--tz", "UTC", "--from", "2027-01-01T00:00:00Z",
                      "--count", "3") == [
        "2027-01-01T02:00:00+00:00",
        "2027-01-02T02:00:00+00:00",
        "2027-01-03T02:00:00+00:00",
    ]


def test_next_default_count_is_5(cw):
    lines = next_lines(cw, "*/5 * * * *", "--tz", "UTC", "--from", "2027-01-01T00:00:00Z")
    assert lines == [f"2027-01-01T00:{m:02d}:00+00:00" for m in (5, 10, 15, 20, 25)]


def test_next_is_strictly_after_from(cw):
    assert next_lines(cw, "0 2 * * *", "--tz", "UTC", "--from", "2027-01-01T02:00:00Z",
                      "--count", "1") == ["2027-01-02T02:00:00+00:00"]


def test_next_from_offset_z_and_local_agree(cw):
    # 2027-06-01 00:30Z = 02:30 CEST; the three spellings are one instant.
    want = ["2027-06-01T03:00:00+02:00", "2027-06-02T03:00:00+02:00"]
    for frm in ("2027-06-01T00:30:00Z", "2027-06-01T02:30:00+02:00", "2027-06-01T02:30:00"):
        assert next_lines(cw, "0 3 * * *", "--tz", "Europe/Warsaw", "--from", frm,
                          "--count", "2") == want, frm


def test_next_default_from_is_now(cw):
    # The CLI reads the clock once; tests may pin it with CRONWARDEN_FAKE_NOW.
    lines = next_lines(cw, "0 12 * * *", "--tz", "UTC", "--count", "1",
                       env={"CRONWARDEN_FAKE_NOW": "2027-05-05T13:00:00Z"})
    assert lines == ["2027-05-06T12:00:00+00:00"]


def test_next_default_from_is_the_real_clock(cw):
    before = dt.datetime.now(UTC).replace(microsecond=0)
    lines = next_lines(cw, "* * * * *", "--tz", "UTC", "--count", "2")
    after = dt.datetime.now(UTC)
    first = parse_iso(lines[0])
    assert before < first <= after + dt.timedelta(seconds=61)
    assert first.second == 0
    assert parse_iso(lines[1]) - first == dt.timedelta(minutes=1)


def test_next_spec_as_separate_arguments(cw):
    a = next_lines(cw, "--tz", "UTC", "--from", "2027-01-01T00:00:00Z", "15", "5", "*", "*", "*")
    b = next_lines(cw, "15 5 * * *", "--tz", "UTC", "--from", "2027-01-01T00:00:00Z")
    assert a == b and len(a) == 5


def test_next_json(cw):
    r = cw("next", "@daily", "--tz", "UTC", "--from", "2027-01-01T00:00:00Z", "--count", "2",
           "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == ["2027-01-02T00:00:00+00:00", "2027-01-03T00:00:00+00:00"]


@pytest.mark.parametrize("count", ["0", "-1", "1000001", "abc", "5x", ""])
def test_next_count_out_of_range(cw, count):
    r = cw("next", "* * * * *", "--tz", "UTC", "--count", count)
    assert r.returncode == 2
    assert r.stdout == ""
    assert "count" in r.stderr


def test_next_count_one_million(cw):
    r = cw("next", "* * * * *", "--tz", "UTC", "--from", "2027-01-01T00:00:00Z",
           "--count", "1000000", timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1000000
    start = dt.datetime(2027, 1, 1, tzinfo=UTC)
    assert lines[0] == iso(start + dt.timedelta(minutes=1))
    assert lines[-1] == iso(start + dt.timedelta(minutes=1000000))


def test_next_every_has_no_drift(cw):
    lines = next_lines(cw, "every 90m", "--tz", "UTC", "--from", "2027-01-01T10:07:13Z",
                       "--count", "3")
    start = dt.datetime(2027, 1, 1, 10, 7, 13, tzinfo=UTC)
    assert lines == [iso(start + dt.timedelta(minutes=90 * k)) for k in (1, 2, 3)]


def test_next_every_compound_duration(cw):
    lines = next_lines(cw, "every 1h30m", "--tz", "Europe/Warsaw",
                       "--from", "2027-03-28T00:30:00+01:00", "--count", "2")
    # An interval is elapsed time: across the spring-forward gap the wall
    # clock jumps by 2h30m.
    assert lines == ["2027-03-28T03:00:00+02:00", "2027-03-28T04:30:00+02:00"]


def test_next_at_times(cw):
    assert next_lines(cw, "at 11:30, 14:00", "--tz", "UTC", "--from", "2027-01-01T12:00:00Z",
                      "--count", "3") == [
        "2027-01-01T14:00:00+00:00",
        "2027-01-02T11:30:00+00:00",
        "2027-01-02T14:00:00+00:00",
    ]


def test_next_six_fields_seconds_first(cw):
    assert next_lines(cw, "30 */20 * * * *", "--tz", "UTC", "--from", "2027-01-01T00:00:00Z",
                      "--count", "4") == [
        "2027-01-01T00:00:30+00:00",
        "2027-01-01T00:20:30+00:00",
        "2027-01-01T00:40:30+00:00",
        "2027-01-01T01:00:30+00:00",
    ]


@pytest.mark.parametrize(
    "macro,equivalent",
    [("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"),
     ("@weekly", "0 0 * * 0"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
     ("@hourly", "0 * * * *")],
)
def test_next_macros(cw, macro, equivalent):
    args = ("--tz", "Europe/Warsaw", "--from", "2027-02-10T10:20:00+01:00", "--count", "4")
    assert next_lines(cw, macro, *args) == next_lines(cw, equivalent, *args)


def test_next_reboot(cw):
    r = cw("next", "@reboot", "--tz", "UTC")
    assert r.returncode == 0
    assert r.stdout == ""
    assert r.stderr.strip() != ""


def days_matching(pred, start, count, hour=0):
    """The first count days on or after start (a date) where pred(date)."""
    out, d = [], start
    while len(out) < count:
        if pred(d):
            out.append(iso(dt.datetime.combine(d, dt.time(hour), UTC)))
        d += dt.timedelta(days=1)
    return out


def test_next_leap_day(cw):
    assert next_lines(cw, "0 0 29 2 *", "--tz", "UTC", "--from", "2027-01-01T00:00:00Z",
                      "--count", "3") == [
        "2028-02-29T00:00:00+00:00",
        "2032-02-29T00:00:00+00:00",
        "2036-02-29T00:00:00+00:00",
    ]


def test_next_last_day_of_month(cw):
    lines = next_lines(cw, "0 0 L * *", "--tz", "UTC", "--from", "2028-01-15T00:00:00Z",
                       "--count", "4")
    assert lines == [
        "2028-01-31T00:00:00+00:00",
        "2028-02-29T00:00:00+00:00",
        "2028-03-31T00:00:00+00:00",
        "2028-04-30T00:00:00+00:00",
    ]


def _last_weekday(d, wd):
    return d.weekday() == wd and (d + dt.timedelta(days=7)).month != d.month


@pytest.mark.parametrize("spec", ["0 0 * * 5L", "0 0 * * FRIL", "0 0 * * fril"])
def test_next_last_friday(cw, spec):
    want = days_matching(lambda d: _last_weekday(d, calendar.FRIDAY), dt.date(2027, 1, 1), 6)
    assert next_lines(cw, spec, "--tz", "UTC", "--from", "2027-01-01T00:00:00Z",
                      "--count", "6") == want


@pytest.mark.parametrize("spec", ["0 9 * * MON#2", "0 9 * * 1#2", "0 9 * * mon#2"])
def test_next_second_monday(cw, spec):
    want = days_matching(lambda d: d.weekday() == calendar.MONDAY and 8 <= d.day <= 14,
                         dt.date(2027, 1, 1), 6, hour=9)
    assert next_lines(cw, spec, "--tz", "UTC", "--from", "2027-01-01T00:00:00Z",
                      "--count", "6") == want


def test_next_dom_dow_or_rule(cw):
    # Both restricted: the 13th OR any Friday (Vixie cron).
    want = days_matching(lambda d: d.day == 13 or d.weekday() == calendar.FRIDAY,
                         dt.date(2027, 1, 1), 10)
    got = next_lines(cw, "0 0 13 * 5", "--tz", "UTC", "--from", "2026-12-31T12:00:00Z",
                     "--count", "10")
    assert got == want


def test_next_dom_star_dow_and_rule(cw):
    # dom is '*': only the weekday restricts.
    want = days_matching(lambda d: d.weekday() == calendar.FRIDAY, dt.date(2027, 1, 1), 4)
    got = next_lines(cw, "0 0 * * 5", "--tz", "UTC", "--from", "2026-12-31T12:00:00Z",
                     "--count", "4")
    assert got == want


def test_next_sunday_is_0_and_7_and_names_ignore_case(cw):
    args = ("--tz", "UTC", "--from", "2027-01-01T00:00:00Z", "--count", "5")
    a = next_lines(cw, "0 0 * * 0", *args)
    assert a == next_lines(cw, "0 0 * * 7", *args)
    assert a == next_lines(cw, "0 0 * * SUN", *args)
    assert a == next_lines(cw, "0 0 * * sun", *args)
    assert all(parse_iso(s).weekday() == calendar.SUNDAY for s in a)
    assert next_lines(cw, "0 0 1 jan *", *args) == next_lines(cw, "0 0 1 1 *", *args)
    assert next_lines(cw, "0 0 * * Mon-Fri", *args) == next_lines(cw, "0 0 * * 1-5", *args)


def test_next_ranges_lists_steps(cw):
    lines = next_lines(cw, "0,20-30/5 8-9 * * *", "--tz", "UTC",
                       "--from", "2027-01-01T00:00:00Z", "--count", "6")
    assert [s[11:16] for s in lines] == ["08:00", "08:20", "08:25", "08:30", "09:00", "09:20"]


def test_next_hash_is_stable_and_in_range(cw):
    args = ("--tz", "UTC", "--from", "2027-01-01T00:00:00Z", "--count", "4")
    a = next_lines(cw, "H H * * *", "--job", "Backup", *args)
    assert a == next_lines(cw, "H H * * *", "--job", "Backup", *args)
    times = {s[11:19] for s in a}
    assert len(times) == 1, a  # once a day, at one stable time

    quarter = next_lines(cw, "H/15 * * * *", "--job", "Backup", *args)
    minutes = [parse_iso(s).minute for s in quarter]
    assert minutes[0] < 15 and minutes == [minutes[0] + 15 * k for k in range(4)]

    bounded = next_lines(cw, "H(0-29) * * * *", "--job", "Backup", *args)
    assert all(parse_iso(s).minute <= 29 for s in bounded)


def test_next_hash_seeds_from_canonical_job_spec(cw):
    # Equal job specs have one canonical text, so one hash.
    args = ("--tz", "UTC", "--from", "2027-01-01T00:00:00Z", "--count", "3")
    a = next_lines(cw, "H H * * *", "--job", "Report:x,sleep=5", *args)
    b = next_lines(cw, "H H * * *", "--job", 'Report:"x",sleep="5"', *args)
    assert a == b


def test_next_hash_without_job_notes_it(cw):
    r = cw("next", "H * * * *", "--tz", "UTC", "--count", "1")
    assert r.returncode == 0
    assert "--job" in r.stderr


# ---------------------------------------------------------------------------
# next: errors


@pytest.mark.parametrize(
    "spec,field",
    [
        ("61 * * * *", 0),
        ("0 25 * * *", 1),
        ("0 0 32 * *", 2),
        ("0 0 * 13 *", 3),
        ("*/5 * * * FOO", 4),
        ("0 0 * JANUARY *", 3),
        ("0 0 * * MON#6", 4),
        ("0 0 0 1 1 * *", 6),
        ("0 1-60/5 * * * *", 1),
    ],
)
def test_next_bad_spec_shows_caret(cw, spec, field):
    r = cw("next", spec, "--tz", "UTC")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "cronwarden: bad time spec: " in r.stderr
    starts = [m.start() for m in re.finditer(r"\S+", spec)]
    ends = [m.end() for m in re.finditer(r"\S+", spec)]
    if field >= len(starts):
        return  # too many fields: where the caret goes is the parser's call
    col = caret_column(r.stderr, spec)
    assert starts[field] <= col < ends[field], f"caret at {col}, field {field} of {spec!r}"


@pytest.mark.parametrize("spec", ["", "* * * *", "* * * * * * *", "every", "every 0s",
                                  "every 5 minutes", "at 25:00", "at", "@often", "H H H H H H H"])
def test_next_bad_spec_exit_2(cw, spec):
    r = cw("next", spec, "--tz", "UTC")
    assert r.returncode == 2, r.stdout
    assert r.stdout == ""
    assert r.stderr.startswith("cronwarden: ")


@pytest.mark.parametrize("spec", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *"])
def test_next_spec_that_never_fires(cw, spec):
    r = cw("next", spec, "--tz", "UTC")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "bad time spec" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--tz", "Mars/Olympus_Mons"),
        ("--tz", "../../etc/passwd"),
        ("--from", "tomorrow"),
        ("--from", "2027-13-01T00:00:00Z"),
        ("--from", "2027-02-29T00:00:00Z"),
        ("--job", "bad name!"),
        ("--nosuch",),
        ("--count",),
    ],
)
def test_next_bad_options(cw, args):
    r = cw("next", "* * * * *", *args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip() != ""


def test_next_missing_spec(cw):
    r = cw("next")
    assert r.returncode == 2
    assert "SPEC" in r.stderr


# ---------------------------------------------------------------------------
# next: daylight saving time (docs/timespec.md)

DST_CASES = [
    # Europe/Warsaw, 2027: spring forward 03-28 02:00 CET -> 03:00 CEST,
    # fall back 10-31 03:00 CEST -> 02:00 CET.
    ("Europe/Warsaw", "30 2 * * *", "2027-03-27T12:00:00+01:00", [
        "2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00", "2027-03-30T02:30:00+02:00"]),
    ("Europe/Warsaw", "0 2 * * *", "2027-03-27T00:00:00+01:00", [
        "2027-03-27T02:00:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-29T02:00:00+02:00"]),
    ("Europe/Warsaw", "30 2 * * *", "2027-10-30T12:00:00+02:00", [
        "2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"]),
    ("Europe/Warsaw", "*/30 2 * * *", "2027-10-31T00:00:00+02:00", [
        "2027-10-31T02:00:00+02:00", "2027-10-31T02:30:00+02:00",
        "2027-10-31T02:00:00+01:00", "2027-10-31T02:30:00+01:00",
        "2027-11-01T02:00:00+01:00"]),
    ("Europe/Warsaw", "*/30 2 * * *", "2027-03-28T00:00:00+01:00", [
        "2027-03-29T02:00:00+02:00", "2027-03-29T02:30:00+02:00"]),
    # America/New_York, 2027: 03-14 02:00 EST -> 03:00 EDT; 11-07 02:00 EDT
    # -> 01:00 EST.
    ("America/New_York", "30 2 * * *", "2027-03-13T12:00:00-05:00", [
        "2027-03-14T03:00:00-04:00", "2027-03-15T02:30:00-04:00"]),
    ("America/New_York", "15 * * * *", "2027-03-14T00:00:00-05:00", [
        "2027-03-14T00:15:00-05:00", "2027-03-14T01:15:00-05:00", "2027-03-14T03:15:00-04:00"]),
    ("America/New_York", "30 1 * * *", "2027-11-06T12:00:00-04:00", [
        "2027-11-07T01:30:00-04:00", "2027-11-08T01:30:00-05:00"]),
    ("America/New_York", "15 * * * *", "2027-11-07T00:00:00-04:00", [
        "2027-11-07T00:15:00-04:00", "2027-11-07T01:15:00-04:00",
        "2027-11-07T01:15:00-05:00", "2027-11-07T02:15:00-05:00"]),
    # Australia/Lord_Howe, 2027: a 30-minute shift. 04-04 02:00 +11 ->
    # 01:30 +10:30; 10-03 02:00 +10:30 -> 02:30 +11.
    ("Australia/Lord_Howe", "45 1 * * *", "2027-04-03T12:00:00+11:00", [
        "2027-04-04T01:45:00+11:00", "2027-04-05T01:45:00+10:30"]),
    ("Australia/Lord_Howe", "*/15 1 * * *", "2027-04-04T00:00:00+11:00", [
        "2027-04-04T01:00:00+11:00", "2027-04-04T01:15:00+11:00",
        "2027-04-04T01:30:00+11:00", "2027-04-04T01:45:00+11:00",
        "2027-04-04T01:30:00+10:30", "2027-04-04T01:45:00+10:30"]),
    ("Australia/Lord_Howe", "15 2 * * *", "2027-10-02T12:00:00+10:30", [
        "2027-10-03T02:30:00+11:00", "2027-10-04T02:15:00+11:00"]),
    ("Australia/Lord_Howe", "*/15 2 * * *", "2027-10-03T00:00:00+10:30", [
        "2027-10-03T02:30:00+11:00", "2027-10-03T02:45:00+11:00",
        "2027-10-04T02:00:00+11:00"]),
]


@pytest.mark.parametrize("zone,spec,frm,want", DST_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2][:10]}" for c in DST_CASES])
def test_next_dst(cw, zone, spec, frm, want):
    # The expectations themselves must agree with zoneinfo and the model.
    check_offsets(want, zone)
    assert reference_fires(spec, zone, parse_iso(frm), len(want)) == want
    got = next_lines(cw, spec, "--tz", zone, "--from", frm, "--count", str(len(want)))
    assert got == want


def transitions(zone, year):
    """UTC instants in year where zone's UTC offset changes (hour scan,
    then minute refinement)."""
    z = ZoneInfo(zone)
    out = []
    t = dt.datetime(year, 1, 1, tzinfo=UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=UTC)
    prev = t.astimezone(z).utcoffset()
    while t < end:
        n = t + dt.timedelta(hours=1)
        off = n.astimezone(z).utcoffset()
        if off != prev:
            m = t
            while m.astimezone(z).utcoffset() == prev:
                m += dt.timedelta(minutes=1)
            out.append(m)
            prev = off
        t = n
    return out


MODEL_ZONES = ["Europe/Warsaw", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
               "America/Havana", "Europe/London", "Asia/Kolkata", "UTC"]
MODEL_SPECS = ["30 2 * * *", "0 0 * * *", "45 1 * * *", "*/30 2 * * *", "15 * * * *",
               "0 */2 * * *", "*/20 0,1 * * *", "0,30 23 * * *"]


def model_cases():
    for zone in MODEL_ZONES:
        for year in (2026, 2031):
            ts = transitions(zone, year) or [dt.datetime(year, 6, 1, tzinfo=UTC)]
            for tr in ts:
                yield zone, tr - dt.timedelta(hours=26)


@pytest.mark.parametrize("zone,start", list(model_cases()),
                         ids=lambda v: v if isinstance(v, str) else v.strftime("%Y-%m-%dT%H%MZ"))
def test_next_matches_zoneinfo_model_around_transitions(cw, zone, start):
    """Every MODEL_SPECS spec, from 26 hours before each 2026 and 2031
    transition of the zone (midnight transitions in Santiago and Havana,
    30-minute ones in Lord Howe), against the reference model."""
    frm = iso(start.astimezone(ZoneInfo(zone)))
    for spec in MODEL_SPECS:
        want = reference_fires(spec, zone, start, 8)
        got = next_lines(cw, spec, "--tz", zone, "--from", frm, "--count", "8")
        assert got == want, f"{spec} --tz {zone} --from {frm}"


# ---------------------------------------------------------------------------
# check

VALID = """
    [cronwarden]
    data_dir = data
    timezone = Europe/Warsaw

    [defaults]
    timeout = 1h

    [job Hello]
    description = Says hello
    command = /bin/echo hello
    args = who
    options = sleep

    [job Cleanup]
    command = /bin/true
    schedule = @daily

    [schedule]
    run = */10 * * * *      Hello:"big world",sleep=5
    run = every 90m         Cleanup
    run = at 11:30, 14:00   Hello:you
"""


def test_check_ok(cw, tmp_config):
    path = tmp_config(VALID)
    r = cw("--config", path, "check")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: ok, 2 jobs, 4 schedule entries\n"
    assert r.stderr == ""


def test_check_ok_counts(cw, tmp_config):
    path = tmp_config("""
        [job A]
        command = /bin/true
        schedule = 0 * * * *

        [job B]
        command = /bin/true

        [job C]
        command = /bin/true
        description = first part
            continued on an indented line

        [schedule]
        run = */5 * * * * B
        run = @hourly C
        run = 0 0 L * * A
    """)
    r = cw("--config", path, "check")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: ok, 3 jobs, 4 schedule entries\n"
    assert r.stderr == ""


def test_check_singular_counts(cw, tmp_config):
    path = tmp_config("[job A]\ncommand = /bin/true\nschedule = @daily\n")
    r = cw("--config", path, "check")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: ok, 1 job, 1 schedule entry\n"


def test_check_config_after_command_and_env_and_cwd(cw, tmp_config):
    path = tmp_config("[job A]\ncommand = /bin/true\n")
    want = f"{path}: ok, 1 job, 0 schedule entries\n"
    r = cw("check", "--config", path)
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    r = cw("check", env={"CRONWARDEN_CONFIG": path})
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    # --config wins over the environment.
    r = cw("--config", path, "check", env={"CRONWARDEN_CONFIG": "/nonexistent.ini"})
    assert (r.returncode, r.stdout) == (0, want), r.stderr
    # ./cronwarden.ini in the working directory.
    r = cw("check", cwd=path.parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(": ok, 1 job, 0 schedule entries\n")
    assert "cronwarden.ini" in r.stdout


def test_check_missing_file(cw, tmp_path):
    missing = tmp_path / "nope" / "cronwarden.ini"
    r = cw("--config", missing, "check")
    assert r.returncode == 2
    assert r.stdout == ""
    assert str(missing) in r.stderr


def errors_of(r):
    assert r.returncode == 2, f"exit {r.returncode}\n{r.stdout}{r.stderr}"
    assert r.stdout == ""
    return r.stderr


def assert_diag(stderr, path, line, key):
    pat = rf"^{re.escape(str(path))}:{line}: {re.escape(key)}: \S"
    assert re.search(pat, stderr, re.M), f"no '{path}:{line}: {key}: ...' in:\n{stderr}"


def assert_error_count(stderr, path, n):
    last = stderr.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(rf"{re.escape(str(path))}: {n} errors?", last), last


def test_check_unknown_key(cw, tmp_config):
    path = tmp_config("""
        [job A]
        command = /bin/true
        shedule = @daily
    """)
    err = errors_of(cw("--config", path, "check"))
    # Names the line and the unknown key, and suggests the known one.
    assert re.search(rf"^{re.escape(str(path))}:3: .*\bshedule\b.*'schedule'", err, re.M), err
    assert_error_count(err, path, 1)


def test_check_reports_every_error(cw, tmp_config):
    path = tmp_config("""
        [cronwarden]
        timezone = Europe/Warsw
        max_output = 1 MB

        [job A]
        command = /bin/true
        timeout = 10 minutes
        schedule = 0 25 * * *

        [schedule]
        run = @daily Nobody
    """)
    err = errors_of(cw("--config", path, "check"))
    assert_diag(err, path, 2, "timezone")
    assert_diag(err, path, 3, "max_output")
    assert_diag(err, path, 7, "timeout")
    assert_diag(err, path, 8, "schedule")
    assert re.search(rf"^{re.escape(str(path))}:11: run: .*Nobody", err, re.M), err
    assert_error_count(err, path, 5)


def test_check_bad_schedule_shows_caret(cw, tmp_config):
    path = tmp_config("[job A]\ncommand = /bin/true\nschedule = */5 * * * FOO\n")
    err = errors_of(cw("--config", path, "check"))
    assert_diag(err, path, 3, "schedule")
    assert 10 <= caret_column(err, "*/5 * * * FOO") < 13


def test_check_never_fires(cw, tmp_config):
    path = tmp_config("[job A]\ncommand = /bin/true\nschedule = 0 0 30 2 *\n")
    err = errors_of(cw("--config", path, "check"))
    assert_diag(err, path, 3, "schedule")


def test_check_duplicate_job_and_after_cycle(cw, tmp_config):
    path = tmp_config("""
        [job A]
        command = /bin/true
        after = B

        [job B]
        command = /bin/true
        after = A

        [job A]
        command = /bin/false
    """)
    err = errors_of(cw("--config", path, "check"))
    assert re.search(rf"^{re.escape(str(path))}:9: ", err, re.M), err
    assert "cycle" in err


def test_check_jobspec_params_validated(cw, tmp_config):
    path = tmp_config("""
        [job A]
        command = /bin/echo
        args = what
        options = sleep

        [schedule]
        run = @daily A:one,two
        run = @daily A:one,nap=5
        run = @daily A:one,sleep=5
    """)
    err = errors_of(cw("--config", path, "check"))
    assert re.search(rf"^{re.escape(str(path))}:7: run: ", err, re.M), err
    assert re.search(rf"^{re.escape(str(path))}:8: run: ", err, re.M), err
    assert f"{path}:9:" not in err
    assert_error_count(err, path, 2)


def test_check_overlong_line_names_it(cw, tmp_config):
    long_value = "x" * 300
    path = tmp_config(f"[job A]\ncommand = /bin/true\ndescription = {long_value}\n"
                      "schedule = @daily\n")
    err = errors_of(cw("--config", path, "check"))
    assert re.search(rf"^{re.escape(str(path))}:3: ", err, re.M), err


@pytest.mark.parametrize("length,ok", [(198, True), (199, False)])
def test_check_line_length_limit(cw, tmp_config, length, ok):
    # At most 198 bytes before the newline (libinih's 200-byte buffer holds
    # the newline and the NUL too); longer is an error naming the line.
    prefix = "description = "
    path = tmp_config(f"[job A]\ncommand = /bin/true\n{prefix}{'x' * (length - len(prefix))}\n")
    assert len(path.read_text().splitlines()[2]) == length
    r = cw("--config", path, "check")
    if ok:
        assert r.returncode == 0, r.stderr
    else:
        err = errors_of(r)
        assert re.search(rf"^{re.escape(str(path))}:3: ", err, re.M), err


def test_check_long_value_on_continuation_lines(cw, tmp_config):
    # The way to write a value longer than one physical line allows.
    words = " ".join(["word"] * 30)
    path = tmp_config(f"[job A]\ncommand = /bin/echo\ndescription = {words}\n    {words}\n"
                      f"    {words}\nschedule = @daily\n")
    assert max(len(line) for line in path.read_text().splitlines()) < 198
    r = cw("--config", path, "check")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: ok, 1 job, 1 schedule entry\n"


def test_check_rejects_arguments(cw, tmp_config):
    path = tmp_config("[job A]\ncommand = /bin/true\n")
    r = cw("--config", path, "check", "extra")
    assert r.returncode == 2


def test_check_demo_config(cw, repo):
    path = repo / "examples" / "demo.ini"
    text = path.read_text()
    assert max(len(line.encode()) for line in text.splitlines()) < 198
    n_jobs = len(re.findall(r"^\[job [^\]]+\]", text, re.M))
    n_entries = len(re.findall(r"^(schedule|run)\s*=", text, re.M))
    r = cw("--config", path, "check")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{path}: ok, {n_jobs} jobs, {n_entries} schedule entries\n"


# ---------------------------------------------------------------------------
# help, version, usage errors


def test_help_and_version(cw, repo):
    r = cw("--help")
    assert r.returncode == 0 and "Usage: cronwarden" in r.stdout
    for cmd in ("check", "next", "jobs", "info"):
        assert cmd in r.stdout
        a = cw(cmd, "--help")
        assert a.returncode == 0 and a.stdout.startswith("Usage: ")
        b = cw("help", cmd)
        assert b.returncode == 0 and b.stdout == a.stdout
    version = re.search(r"version\s*:\s*'([^']+)'", (repo / "meson.build").read_text()).group(1)
    r = cw("--version")
    assert r.returncode == 0 and r.stdout == f"cronwarden {version}\n"


@pytest.mark.parametrize("args", [(), ("frobnicate",), ("--frobnicate", "check"), ("help", "nope"),
                                  ("check", "--nope"), ("--config",)])
def test_usage_errors_exit_2(cw, args):
    r = cw(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip() != ""
