#!/usr/bin/python3
"""croniter_bench.py - croniter's next-fire throughput, the baseline for
bench_next (docs/hacking.md, Quality targets: cronwarden must be >= 100x croniter).

Measures exactly what bench_next measures, the same way:
  - the same expressions file (bench/expressions.tsv: EXPR<TAB>ZONE);
  - one croniter per expression, built outside the timed part, started at
    2024-01-01T00:00:00Z as a tz-aware datetime in ZONE (zoneinfo), so
    croniter works in that zone's wall time, DST included;
  - chained calls: get_next(float) continues from the previous result,
    and a chain that reaches 2424-01-01T00:00:00Z (or that croniter cannot
    continue) starts over at the start instant, as bench_next does;
  - CLOCK_MONOTONIC around a whole chain; the chain is grown until one run
    takes at least --min-time seconds (default 0.5), then that run and two
    more of the same length are kept and the best ns per call is reported.

Output: the same tab-separated format as bench_next:
  EXPR  ZONE  NS_PER_CALL  CALLS_PER_S  CALLS_PER_RUN  FIRST5
FIRST5 being croniter's first five fires after the start (epoch seconds).

Debian's /usr/bin/python3 with python3-croniter; stdlib otherwise.
"""

import argparse
import datetime
import sys
import time
import zoneinfo

from croniter import croniter, CroniterBadDateError

START = 1704067200                      # 2024-01-01T00:00:00Z
LIMIT = int(datetime.datetime(2424, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
RUNS = 3
FIRST = 5


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def zone(name):
    return datetime.timezone.utc if name == "UTC" else zoneinfo.ZoneInfo(name)


def run_chain(expr, start_dt, n):
    """n chained get_next calls from the start; returns elapsed ns. The
    croniter object is built before the clock starts."""
    it = croniter(expr, start_dt)
    get_next = it.get_next
    t0 = now_ns()
    for _ in range(n):
        try:
            t = get_next(float)
        except CroniterBadDateError:
            t = LIMIT
        if t >= LIMIT:
            it.set_current(start_dt)
    return now_ns() - t0


def measure(expr, tz, min_ns):
    start_dt = datetime.datetime.fromtimestamp(START, tz)
    n = 10
    while True:
        el = run_chain(expr, start_dt, n)
        if el >= min_ns:
            break
        grow = min_ns * 1.2 / el if el > 0 else 100.0
        n = int(n * min(max(grow, 2.0), 100.0))
    best = el / n
    for _ in range(RUNS - 1):
        best = min(best, run_chain(expr, start_dt, n) / n)
    return best, n


def first_fires(expr, tz):
    it = croniter(expr, datetime.datetime.fromtimestamp(START, tz))
    out = []
    try:
        for _ in range(FIRST):
            out.append(str(int(it.get_next(float))))
    except CroniterBadDateError:
        out.append("END")
    return " ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-time", type=float, default=0.5,
                    help="seconds each timed chain must last at least (default 0.5)")
    ap.add_argument("expressions", help="EXPR<TAB>ZONE file (bench/expressions.tsv)")
    args = ap.parse_args()
    min_ns = int(args.min_time * 1e9)

    print("# expr\tzone\tns_per_call\tcalls_per_s\tcalls_per_run\tfirst%d" % FIRST)
    with open(args.expressions, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            expr, _, zname = line.partition("\t")
            zname = zname or "UTC"
            tz = zone(zname)
            ns, n = measure(expr, tz, min_ns)
            print("%s\t%s\t%.1f\t%.0f\t%d\t%s" % (expr, zname, ns, 1e9 / ns, n,
                                                  first_fires(expr, tz)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
