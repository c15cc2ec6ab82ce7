"""Self-test of tests/lint/banned.py: it flags what it should, with the
right file:line, and passes clean code, comments and strings."""

import subprocess
import textwrap

import pytest

PYTHON = "/usr/bin/python3"


def lint(repo, root):
    return subprocess.run(
        [PYTHON, str(repo / "tests" / "lint" / "banned.py"), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


CLEAN = """
    /* clean.c - uses only what is allowed. */
    #include <stdio.h>
    #include <string.h>
    #include <time.h>

    /* sprintf(buf, "x"); strcpy(a, b); in a comment is fine. */
    // so is system("rm -rf /") in a line comment
    static const char *msg = "do not call sprintf(buf) or gets(s)";
    static const char quote = '"';

    struct ops {
            int (*system)(void);
    };

    int f(struct ops *o, struct ops s, char *buf, size_t n, char *save)
    {
            struct tm tm;
            time_t t = 0;

            snprintf(buf, n, "%s%c", msg, quote);
            strtok_r(buf, ",", &save);
            localtime_r(&t, &tm);
            gmtime_r(&t, &tm);
            return o->system() + s.system() + my_atoi_wrapper(buf) + strtol(buf, NULL, 10);
    }
"""


def test_clean_code_passes(repo, tmp_path):
    write(tmp_path, "src/mod/clean.c", CLEAN)
    write(tmp_path, "tests/unit/test_clean.c", CLEAN)
    r = lint(repo, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "banned.py: 2 C files clean"


BAD_CALLS = [
    ("sprintf", "sprintf(buf, \"%d\", 1);"),
    ("vsprintf", "vsprintf(buf, fmt, ap);"),
    ("strcpy", "strcpy(a, b);"),
    ("strcat", "strcat (a, b);"),
    ("gets", "gets(buf);"),
    ("atoi", "n = atoi(s);"),
    ("atol", "n = atol(s);"),
    ("system", "system(\"ls\");"),
    ("popen", "f = popen(\"ls\", \"r\");"),
    ("strtok", "p = strtok(s, \",\");"),
    ("tzset", "tzset();"),
    ("localtime", "tm = localtime(&t);"),
    ("gmtime", "tm = gmtime(&t);"),
]


@pytest.mark.parametrize("name,call", BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_flags_banned_call_with_line(repo, tmp_path, name, call):
    write(
        tmp_path,
        "src/mod/bad.c",
        f"""
        /* bad.c - a sample with one banned call on line 5. */
        #include <stdio.h>
        void f(void)
        {{
                {call}
        }}
        """,
    )
    r = lint(repo, tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert len(lines) == 1, r.stdout
    assert lines[0].startswith(f"src/mod/bad.c:5: banned function '{name}': use ")


@pytest.mark.parametrize(
    "call",
    ['setenv("TZ", zone, 1);', 'putenv("TZ=UTC");', 'unsetenv( "TZ" );'],
)
def test_flags_tz_environment(repo, tmp_path, call):
    write(tmp_path, "bench/b.c", f"/* b.c */\nvoid f(void)\n{{\n        {call}\n}}\n")
    r = lint(repo, tmp_path)
    assert r.returncode == 1
    assert r.stdout.startswith("bench/b.c:4: banned: ")
    assert "of TZ" in r.stdout


def test_other_setenv_is_fine(repo, tmp_path):
    write(tmp_path, "src/a.c", '/* a.c */\nvoid f(void) { setenv("TZDIR", d, 1); setenv("HOME", h, 1); }\n')
    r = lint(repo, tmp_path)
    assert r.returncode == 0, r.stdout


def test_src_files_need_a_top_comment(repo, tmp_path):
    write(tmp_path, "src/x/nocomment.c", "#include <stdio.h>\nint x;\n")
    write(tmp_path, "src/x/nocomment.h", "\n\n#ifndef X\n#define X\n#endif\n")
    write(tmp_path, "tests/unit/test_x.c", "#include <stdio.h>\n")  # not required outside src/
    r = lint(repo, tmp_path)
    assert r.returncode == 1
    assert sorted(r.stdout.splitlines()) == [
        "src/x/nocomment.c:1: missing top-of-file comment saying what this file is",
        "src/x/nocomment.h:1: missing top-of-file comment saying what this file is",
    ]


def test_line_numbers_survive_comments_and_strings(repo, tmp_path):
    write(
        tmp_path,
        "src/lines.c",
        """
        /* lines.c - multi-line comment
         * strcpy(a, b) here is prose
         */
        static const char *s = "a \\" \\
        strcat(x, y) still inside the string";
        void f(char *d) { strcpy(d, s); }
        """,
    )
    r = lint(repo, tmp_path)
    assert r.returncode == 1
    assert len(r.stdout.splitlines()) == 1
    assert r.stdout.startswith("src/lines.c:6: banned function 'strcpy'")

