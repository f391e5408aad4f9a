#!/usr/bin/env bash
# Fails when two of the given object files (per-ISA kernel translation units) define the same
# weak mixq:: symbol: the linker would keep one copy, and code built for one ISA could run on a
# CPU that only supports another (see include/mixq/config.hpp). Shared weak symbols outside
# mixq:: (std::, xsimd::) are listed as a warning. Allowed: the compiler-generated members of
# mixq::error (vtable, typeinfo, destructor), which is deliberately one type in every TU so a
# single catch works (error.hpp); they hold no arithmetic.
# Usage: scripts/check_weak_symbols.sh a.o b.o [c.o ...]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 obj1 obj2 [obj...]" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for o in "$@"; do
  nm -C --defined-only "$o" | awk '$2 == "W" || $2 == "V" { $1 = ""; $2 = ""; sub(/^  /, ""); print }' | sort -u > "$tmp/$i"
  i=$((i + 1))
done
fail=0
n=$#
objs=("$@")
for ((a = 0; a < n; a++)); do
  for ((b = a + 1; b < n; b++)); do
    comm -12 "$tmp/$a" "$tmp/$b" > "$tmp/common"
    grep 'mixq::' "$tmp/common" | grep -Ev '^(mixq::error::~error\(\)|typeinfo for mixq::error|typeinfo name for mixq::error|vtable for mixq::error)$' > "$tmp/bad" || true
    if [ -s "$tmp/bad" ]; then
      echo "FAIL: $(basename "${objs[a]}") and $(basename "${objs[b]}") share weak mixq:: symbols:"
      head -20 "$tmp/bad" | sed 's/^/  /'
      fail=1
    fi
    others=$(grep -vc 'mixq::' "$tmp/common" || true)
    if [ "$others" != "0" ]; then
      echo "note: $(basename "${objs[a]}") and $(basename "${objs[b]}") share $others weak non-mixq symbols, e.g.:"
      grep -v 'mixq::' "$tmp/common" | head -5 | sed 's/^/  /'
    fi
  done
done
[ $fail -eq 0 ] && echo "OK: no weak mixq:: symbol is shared between the $n objects"
exit $fail
