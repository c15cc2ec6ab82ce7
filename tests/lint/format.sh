#!/bin/bash
# format.sh - check (or apply) .clang-format on every C file of the tree.
#
# The C sources under src/, tests/ and bench/ are kept formatted by
# clang-format 14 (Debian 12's), with the rules in .clang-format. This
# script lists the files whose formatting differs, and exits 1 when there
# are any; with --fix it formats them in place instead.
#
# Usage: tests/lint/format.sh [--fix]
# Exit status: 0 formatted, 1 files need formatting, 2 clang-format missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z "$fmt" ]]; then
    echo "format.sh: clang-format-14 not found (apt-get install clang-format-14)" >&2
    exit 2
fi

mapfile -t files < <(git ls-files -- 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]' 2>/dev/null ||
    find src tests bench -name '*.[ch]')

if [[ "${1:-}" == --fix ]]; then
    "$fmt" -i "${files[@]}"
    exit 0
fi

bad=()
for f in "${files[@]}"; do
    if ! "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done
if [[ ${#bad[@]} -gt 0 ]]; then
    printf '%s: not formatted (tests/lint/format.sh --fix)\n' "${bad[@]}"
    exit 1
fi
echo "format.sh: ${#files[@]} files formatted"
