#!/usr/bin/env bash
# What test/etcd needs beyond the etcd binary itself: the binary is built by
# test-support/peers/build-peers.sh etcd (the version pinned in versions.env, cached under
# ${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}/etcd-<version>/), which ci-peers.sh runs
# before this script; this checks it is there (building it when run on its own) and installs the
# `openssl` command the TLS test uses to make its CA and certificates (Debian's openssl package).
#
# Idempotent: does nothing when both are present. Installing needs root (as in CI) or passwordless
# sudo. Prints what it did and how long it took; exits non-zero on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '[etcd %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
t0=$(date +%s)

etcd_bin=$(node --input-type=module -e "const m = await import('$HERE/peers.mjs'); console.log(m.peerPath('etcd'));")
if [[ ! -x "$etcd_bin" ]]; then
  say "etcd is not built yet ($etcd_bin): running build-peers.sh etcd"
  bash "$HERE/build-peers.sh" etcd
  [[ -x "$etcd_bin" ]] || { say "FAIL: $etcd_bin is still missing"; exit 1; }
fi
say "etcd: $("$etcd_bin" --version 2>/dev/null | head -n 1) ($etcd_bin)"

if ! command -v openssl >/dev/null; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || { say "FAIL: openssl missing, not root and no passwordless sudo; run: apt-get install -y openssl"; exit 1; }
    SUDO=(sudo -n)
  fi
  say "installing Debian's openssl package (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  log=/tmp/etcd-peer-apt.$$.log
  if ! "${SUDO[@]}" apt-get install -y --no-install-recommends openssl >"$log" 2>&1; then
    say "apt-get install failed; running apt-get update and retrying"
    "${SUDO[@]}" apt-get update >>"$log" 2>&1 || true
    "${SUDO[@]}" apt-get install -y --no-install-recommends openssl >>"$log" 2>&1 || {
      say "FAIL: apt-get install openssl; last lines:"; tail -n 30 "$log"; exit 1; }
  fi
  rm -f "$log"
  say "installed $(openssl version) in $(( $(date +%s) - t0 )) s"
else
  say "$(openssl version) already installed, nothing to do ($(( $(date +%s) - t0 )) s)"
fi
