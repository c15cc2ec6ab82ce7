#!/usr/bin/python3
"""banned.py - fail on banned C functions (curl's checksrc idea, small).

Scans every .c and .h file under src/, tests/ and bench/ (or the files
named on the command line) and reports each call of a function we do not
use, as FILE:LINE: message. Comments and string literals are blanked out
first, so prose and messages never trip it; a name counts only as a whole
identifier followed by '(' that is not a member access (s.system(...)).
Also every C file under src/ must open with a comment saying what it is.

Exit status: 0 clean, 1 problems found, 2 usage error.

Usage: banned.py [--root DIR] [FILE...]
"""

import os
import re
import sys

# name -> what to use instead.
BANNED = {
    "sprintf": "snprintf",
    "vsprintf": "vsnprintf",
    "strcpy": "a bounded copy (snprintf, memcpy with a known length)",
    "strcat": "a bounded buffer",
    "gets": "fgets",
    "atoi": "strtol with error checking",
    "atol": "strtol with error checking",
    "atoll": "strtoll with error checking",
    "system": "posix_spawn (no shell)",
    "popen": "posix_spawn with a pipe",
    "strtok": "strtok_r",
    "tzset": "src/tz (never touch the process's TZ)",
    "localtime": "src/tz (or localtime_r where glibc is the point)",
    "gmtime": "gmtime_r or base/civil.h",
}

# Files that may use some banned names ("setenv TZ" for the TZ check), as
# {"path/from/root.c": {"name", ...}}, each with a comment saying why.
# Empty: tests/tools/tzverify.c compares with glibc's localtime_r in child
# processes started with TZ set, so it needs no exception.
ALLOWED = {}

SCAN_DIRS = ("src", "tests", "bench")

CALL_RE = re.compile(
    r"(?<![\w.])(?<!->)(" + "|".join(sorted(BANNED, key=len, reverse=True)) + r")\s*\("
)
# Needs the string literals kept: setenv("TZ", ...), putenv("TZ=..."),
# unsetenv("TZ").
TZ_ENV_RE = re.compile(r'(?<![\w.])(?<!->)(setenv|unsetenv|putenv)\s*\(\s*"TZ(=[^"]*)?"')


def strip(text, keep_strings=False):
    """Returns text with comments (and string and character literals,
    unless keep_strings) replaced by spaces, newlines kept so line numbers
    stay right."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join(ch if ch == "\n" else " " for ch in s)

    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = i
            # A backslash at the end of a // comment line continues it.
            while True:
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] == "\\":
                    j = k + 1
                    continue
                break
            out.append(blank(text[i:k]))
            i = k
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j, n)
            closed = j < n and text[j] == c
            if keep_strings:
                out.append(text[i : j + closed])
            else:
                out.append(c + blank(text[i + 1 : j]) + (c if closed else ""))
            i = j + closed
        else:
            out.append(c)
            i += 1
    return "".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def check_file(path, rel):
    """Returns a list of "rel:line: message" problems for one file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        return [f"{rel}: cannot read: {e.strerror}"]
    allowed = ALLOWED.get(rel, set())
    problems = []
    code = strip(text)
    for m in CALL_RE.finditer(code):
        name = m.group(1)
        if name in allowed:
            continue
        problems.append(
            f"{rel}:{line_of(code, m.start())}: banned function '{name}': use {BANNED[name]}"
        )
    if "setenv TZ" not in allowed:
        with_strings = strip(text, keep_strings=True)
        for m in TZ_ENV_RE.finditer(with_strings):
            problems.append(
                f"{rel}:{line_of(with_strings, m.start())}: banned: '{m.group(1)}' of TZ: "
                "evaluate zones with src/tz, never by switching the process's TZ"
            )
    if rel.startswith("src/") and not text.lstrip().startswith(("/*", "//")):
        problems.append(f"{rel}:1: missing top-of-file comment saying what this file is")
    problems.sort(key=lambda p: int(p.split(":")[1]) if p.split(":")[1].isdigit() else 0)
    return problems


def c_files(root):
    for d in SCAN_DIRS:
        top = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".c", ".h")):
                    yield os.path.join(dirpath, name)


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = []
    args = argv[1:]
    while args:
        a = args.pop(0)
        if a == "--root":
            if not args:
                print("banned.py: --root needs a directory", file=sys.stderr)
                return 2
            root = os.path.abspath(args.pop(0))
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        elif a.startswith("-"):
            print(f"banned.py: unknown option '{a}'", file=sys.stderr)
            return 2
        else:
            files.append(os.path.abspath(a))
    if not files:
        files = list(c_files(root))
    problems = []
    for path in files:
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        problems.extend(check_file(path, rel))
    for p in problems:
        print(p)
    if problems:
        print(f"banned.py: {len(problems)} problem(s) in {len(files)} C files", file=sys.stderr)
        return 1
    print(f"banned.py: {len(files)} C files clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
