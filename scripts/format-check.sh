#!/bin/sh
# Checks C++ files against .clang-format without changing them: the files named, or every .cpp and
# .hpp under core/, cmd/ and tests/. Prints each file that would change (and, with -v, the diff);
# exits 1 if any would, 0 if none, 77 (skipped, for ctest) when clang-format is missing.
# Usage: scripts/format-check.sh [-v] [FILE...]
set -eu
cd "$(dirname "$0")/.."
verbose=0
if [ "${1:-}" = "-v" ]; then
  verbose=1
  shift
fi
format=${CLANG_FORMAT:-clang-format}
if ! command -v "$format" >/dev/null 2>&1; then
  echo "format-check: $format not found (apt-get install clang-format); not checked" >&2
  exit 77
fi
if [ $# -eq 0 ]; then
  set -- $(find core cmd tests -path tests/fuzz/corpus -prune -o \( -name '*.cpp' -o -name '*.hpp' \) -print | sort)
fi
differ=0
for file in "$@"; do
  if ! "$format" --style=file "$file" | cmp -s - "$file"; then
    echo "$file"
    if [ "$verbose" = 1 ]; then
      "$format" --style=file "$file" | diff -u "$file" - || true
    fi
    differ=1
  fi
done
exit "$differ"
