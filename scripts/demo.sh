#!/usr/bin/env bash
# The README's demo command: install what is missing, build the demo, run it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
build="${MIXQ_BUILD_DIR:-$here/build}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target mixq_demo mixq_quantize
"$build/examples/mixq_demo" "$@"
echo
# mixq-quantize end to end: the PP-OCRv4 weights when scripts/fetch_ppocr.sh has fetched them,
# else a synthetic model written by mixq itself.
"$build/examples/mixq-quantize" --demo auto --quiet
