#!/usr/bin/env bash
# Builds Prometheus's `promtool`, which test/deploy/alerts.test.ts checks and unit-tests the alert
# rules with (deploy/helm/meshbridge/files/alerts.yaml, test/deploy/alerts.rules-test.yaml):
#   ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/promtool-<version>/promtool  build.log  build-info.txt
# From the Go module proxy: `go install github.com/prometheus/prometheus/cmd/promtool@<version>`
# (prometheus's go.mod has no replace directives, so no wrapper module is needed), under
# `nice -n 19` with GOTOOLCHAIN=local CGO_ENABLED=0 -trimpath -ldflags='-s -w' and the build tag
# `remove_all_sd` (Prometheus's own switch, plugins/*.go: leaves out the cloud service-discovery
# plugins, which promtool's rule checks and tests never use).
# PROMTOOL_VERSION is the newest github.com/prometheus/prometheus the proxy served when this was
# written (v0.316.0 = Prometheus 3.16.0; `go list -m -versions github.com/prometheus/prometheus`);
# test-support/promtool.ts reads the default below to find the binary, so change it here only.
#
# Measured on the 2-core machine (Go 1.26.8), cold (empty Go module, build and peer caches:
# GOMODCACHE and GOCACHE pointed at empty folders) while a cold peers build (kube-apiserver) ran
# beside it, load average 13: 326 s wall, 174 s user CPU; it filled 0.96 GiB of module cache and
# 0.85 GiB of build cache; the binary is 52 MiB. In CI the module cache it shares with the other
# Go-built peers holds part of that already. Rebuilt with warm Go caches: 5 s.
#
# Idempotent: does nothing when the binary is there (delete its folder to rebuild). Prints what it
# did and how long it took; exits non-zero on failure.
set -euo pipefail

PROMTOOL_VERSION=${PROMTOOL_VERSION:-v0.316.0}
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
NICENESS=${MESHBRIDGE_PEERS_NICE:-19}
OUT="$CACHE/promtool-$PROMTOOL_VERSION"
MODULE=github.com/prometheus/prometheus
say() { printf '[promtool %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [[ -x "$OUT/promtool" && -f "$OUT/build-info.txt" ]]; then
  say "present: $OUT/promtool ($("$OUT/promtool" --version 2>&1 | head -n 1 || echo '?'))"
  exit 0
fi
command -v go >/dev/null || { say "FAIL: go is not installed"; exit 1; }
command -v flock >/dev/null || { say "FAIL: flock (util-linux) is not installed"; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.promtool-build.lock"
flock 9
if [[ -x "$OUT/promtool" && -f "$OUT/build-info.txt" ]]; then
  say "built meanwhile by another run: $OUT/promtool"
  exit 0
fi

t0=$(date +%s)
WORK=$(mktemp -d "$CACHE/.work-promtool.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/out"
say "building promtool $PROMTOOL_VERSION (go install, $(go version | cut -d' ' -f3)) into $OUT"
export GOTOOLCHAIN=local GOWORK=off GO111MODULE=on CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# v0.3XX.Y of the Go module is Prometheus 3.XX.Y: promtool --version says so.
release=$(printf '%s' "$PROMTOOL_VERSION" | sed -n 's/^v0\.3\([0-9][0-9]\)\.\([0-9]\{1,\}\)$/3.\1.\2/p' | sed 's/^3\.0/3./')
[[ -n "$release" ]] || release=${PROMTOOL_VERSION#v}
ldflags="-s -w -X github.com/prometheus/common/version.Version=$release -X github.com/prometheus/common/version.Branch=module"
ldflags+=" -X github.com/prometheus/common/version.Revision=$PROMTOOL_VERSION"
if ! (cd "$WORK" && GOBIN="$WORK/bin" nice -n "$NICENESS" go install -trimpath -tags remove_all_sd \
      -ldflags="$ldflags" "$MODULE/cmd/promtool@$PROMTOOL_VERSION") >"$WORK/out/build.log" 2>&1; then
  tail -n 40 "$WORK/out/build.log"
  say "FAIL: go install $MODULE/cmd/promtool@$PROMTOOL_VERSION after $(( $(date +%s) - t0 )) s"
  exit 1
fi
mv "$WORK/bin/promtool" "$WORK/out/promtool"
"$WORK/out/promtool" --version >/dev/null 2>&1 || { say "FAIL: the built promtool does not run"; exit 1; }
secs=$(( $(date +%s) - t0 ))
{
  echo "peer=promtool"
  echo "artifact=promtool"
  echo "version=$PROMTOOL_VERSION"
  echo "release=$release"
  echo "seconds=$secs"
  echo "bytes=$(stat -c %s "$WORK/out/promtool")"
  echo "go=$(go env GOVERSION)"
  echo "tags=remove_all_sd"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$WORK/out/build-info.txt"
rm -rf "$OUT"
mv "$WORK/out" "$OUT"
say "built $OUT/promtool ($("$OUT/promtool" --version 2>&1 | head -n 1)) in $secs s, $(du -h "$OUT/promtool" | cut -f1)"
