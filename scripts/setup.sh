#!/usr/bin/env bash
# Installs the Debian 12 packages mixq needs to build its tests, benchmarks and examples.
# As root it runs apt-get itself; otherwise it prints the exact line to run and stops.
# Usage: scripts/setup.sh [extra-package ...]
set -euo pipefail

pkgs=(cmake make g++ libeigen3-dev libxsimd-dev catch2 libbenchmark-dev libopenblas-dev python3-matplotlib "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "mixq setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null 2>&1 || true   # an offline mirror may still have the lists
  $line >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo env DEBIAN_FRONTEND=noninteractive $line >/dev/null
else
  echo "mixq setup: missing Debian packages. Run as root:" >&2
  echo "  $line" >&2
  exit 1
fi
