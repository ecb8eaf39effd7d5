#!/usr/bin/env bash
# Installs Debian's chromium, the headless browser test/e2e/status-page.test.ts drives (through
# playwright-core, which brings no browser of its own: test-support/browser.ts launches
# /usr/bin/chromium). From Debian's packages with apt-get (no browser download).
#
# Measured on the 2-core machine: `apt-get install -y --no-install-recommends chromium` took 36 s
# (Chromium 156, 25 packages, 124 MB downloaded, 414 MB on disk; package lists already fresh: add
# one `apt-get update` otherwise).
#
# Idempotent: does nothing when /usr/bin/chromium is there. Prints what it did and how long it
# took; exits non-zero on failure.
set -euo pipefail

say() { printf '[chromium %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
BIN=/usr/bin/chromium

if [[ -x "$BIN" ]]; then
  say "present: $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
  exit 0
fi
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null && sudo -n true 2>/dev/null || { say "FAIL: chromium missing, not root and no passwordless sudo; run: apt-get install -y chromium"; exit 1; }
  SUDO=(sudo -n)
fi
command -v apt-get >/dev/null || { say "FAIL: chromium missing and no apt-get (install chromium by hand: /usr/bin/chromium)"; exit 1; }

t0=$(date +%s)
say "installing Debian's chromium package (apt-get)"
export DEBIAN_FRONTEND=noninteractive
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
# Try with the package lists as they are; refresh them once if that fails (stale or empty lists).
if ! { "${SUDO[@]}" apt-get install -y --no-install-recommends chromium \
       || { "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y --no-install-recommends chromium; }; } >"$LOG" 2>&1; then
  tail -n 30 "$LOG"
  say "FAIL: apt-get install chromium after $(( $(date +%s) - t0 )) s"
  exit 1
fi
[[ -x "$BIN" ]] || { say "FAIL: the chromium package did not install $BIN"; exit 1; }
"$BIN" --version >/dev/null 2>&1 || { say "FAIL: $BIN does not run"; exit 1; }
say "installed $($BIN --version 2>/dev/null) in $(( $(date +%s) - t0 )) s"
