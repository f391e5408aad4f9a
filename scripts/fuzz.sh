#!/usr/bin/env bash
# Runs the libFuzzer targets of the file parsers for a fixed time each.
# Usage: scripts/fuzz.sh BUILD_DIR SECONDS [gguf|safetensors ...]
#   BUILD_DIR was configured with -DCMAKE_CXX_COMPILER=clang++-14 -DMIXQ_BUILD_FUZZERS=ON and built.
# The corpus grows in BUILD_DIR/tests/fuzz/corpus/<target> (the seeds stay read-only); crashes are
# written to BUILD_DIR/tests/fuzz/crashes/ and make this script fail.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [target...]}"
secs="${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [target...]}"
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(gguf safetensors)
dir="$build/tests/fuzz"
status=0
for t in "${targets[@]}"; do
  bin="$dir/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin not built" >&2; exit 1; }
  mkdir -p "$dir/corpus/$t" "$dir/crashes"
  log="$dir/fuzz_$t.log"
  echo "== fuzz_$t: ${secs}s, seeds $(ls "$dir/seeds/$t" | wc -l), corpus $(ls "$dir/corpus/$t" | wc -l)"
  if ! "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
       -dict="$here/tests/fuzz/$t.dict" -artifact_prefix="$dir/crashes/${t}-" \
       "$dir/corpus/$t" "$dir/seeds/$t" >"$log" 2>&1; then
    echo "fuzz.sh: fuzz_$t FAILED; see $log and $dir/crashes/" >&2
    tail -n 40 "$log" >&2
    status=1
    continue
  fi
  grep -E "^#[0-9]+.*(DONE|pulse)" "$log" | tail -n 1 || true
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" || true
done
exit $status
