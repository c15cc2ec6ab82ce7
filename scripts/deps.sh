#!/bin/bash
# deps.sh - install the Debian 12 packages cronwarden needs to build and test.
#
# Checks each package with dpkg-query. When everything is there it prints
# nothing and exits 0. When something is missing:
#   - as root: runs `apt-get update` once, then installs exactly the missing
#     packages (non-interactively, no recommends);
#   - otherwise: says which packages are missing and the command to run as
#     root, and exits 1.
#
# Usage: scripts/deps.sh
set -euo pipefail

packages=(
    # Build.
    build-essential
    meson
    ninja-build
    pkg-config
    libinih-dev
    # Tests: cmocka unit tests, pytest integration tests, the differential
    # test against croniter, the libFuzzer build (clang and its runtime), and
    # the system time zone database that the tz module reads.
    libcmocka-dev
    python3-pytest
    # scripts/test.sh runs the integration tests in parallel (pytest -n).
    python3-pytest-xdist
    python3-croniter
    clang
    libclang-rt-14-dev
    tzdata
    # The lint stage checks the C files' formatting with clang-format 14.
    clang-format-14
    # Later issues link these (store, admin UI, notifications); they are
    # installed already so that adding them to meson.build changes nothing
    # on a machine that ran this script.
    # The Django example's test (tests/integration/test_django.py).
    python3-django
    # The Debian packages (debian/, tests/integration/test_package.py).
    dpkg-dev
    debhelper
    # Type=notify and the watchdog under systemd (src/daemon/sdnotify.c).
    libsystemd-dev
    libsqlite3-dev
    libpq-dev
    libmicrohttpd-dev
    libcurl4-openssl-dev
    libsodium-dev
    libjansson-dev
    # The notification tests: an SMTP sink on loopback.
    python3-aiosmtpd
    # /metrics compresses its answer for clients that accept gzip.
    zlib1g-dev
    # Admin UI tests: a real headless browser driven by Selenium; the
    # admin benchmark's load generator.
    chromium
    chromium-driver
    python3-selenium
    # The /metrics test parses the exposition with Prometheus' own parser.
    python3-prometheus-client
    wrk
    # The PostgreSQL store's tests start a throwaway server of their own
    # (tests/pg/pgserver.sh: initdb and pg_ctl of PostgreSQL 15).
    postgresql
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [[ "$status" != installed ]]; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    {
        echo "deps.sh: missing Debian packages: ${missing[*]}"
        echo "deps.sh: install them as root with:"
        echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    } >&2
    exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
