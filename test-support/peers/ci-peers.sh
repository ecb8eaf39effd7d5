#!/usr/bin/env bash
# CI step before the tests: makes sure every real peer of test-support/peers/versions.env is built
# (etcd, kube-apiserver, istiod, Istio's CRDs), building what is missing into the cache
# (${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}), and prints what it found and how
# long each step took. Exits non-zero when any peer fails to build: in CI a missing peer is a
# failure (the tests' requirePeers() throws too), never a skip.
#
#   test-support/peers/ci-peers.sh            build what is missing
#   test-support/peers/ci-peers.sh --check    ... then start each peer once (test-support/peers/check-peers.mjs)
#
# Cold (empty peer, module and build caches) on 2 cores, the Go-built peers: about 14 min (measured 13.5 and 14.5
# min, see README.md); it needs about 7 GiB of disk. Warm: a second or two.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
CHECK=0
for a in "$@"; do
  case "$a" in
    --check) CHECK=1 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
  esac
done

say() { printf '[ci-peers %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
t0=$(date +%s)

command -v go >/dev/null || { say "FAIL: go is not installed"; exit 1; }
mkdir -p "$CACHE"
avail_kb=$(df -Pk "$CACHE" | awk 'NR==2 {print $4}')
say "$(go version); cache $CACHE; $((avail_kb / 1024 / 1024)) GiB free"
# A cold build needs about 8 GiB (module cache ~3 GiB, build cache ~4 GiB, binaries ~0.3 GiB).
if [[ $avail_kb -lt $((8 * 1024 * 1024)) ]]; then
  say "WARNING: less than 8 GiB free; a cold build may run out of disk"
fi

status=0
bash "$HERE/build-peers.sh" all || status=$?

for f in "$CACHE"/*/build-info.txt; do
  [[ -f "$f" ]] || continue
  # key=value lines; read, never sourced (other peers' build-info.txt may hold any text).
  get() { sed -n "s/^$1=//p" "$f" | head -n 1; }
  bytes=$(get bytes); [[ $bytes =~ ^[0-9]+$ ]] || bytes=0
  printf '[ci-peers] %-44s %6s s  %4s MiB  (built %s)\n' "$(basename "$(dirname "$f")")" "$(get seconds)" "$((bytes / 1024 / 1024))" "$(get built)"
done

if [[ $status -ne 0 ]]; then
  say "FAIL: build-peers.sh exited $status after $(( $(date +%s) - t0 )) s"
  exit "$status"
fi

# Every pinned peer must now be present (build-peers.sh would have failed otherwise).
missing=$(node --input-type=module -e "
  const m = await import('$HERE/peers.mjs');
  const miss = ['etcd', 'kube-apiserver', 'istiod', 'istio-crds'].filter((n) => !m.peerAvailable(n)).map((n) => m.peerPath(n));
  console.log(miss.join(' '));
")
if [[ -n "$missing" ]]; then
  say "FAIL: missing after the build: $missing"
  exit 1
fi

# Registry peers (ZooKeeper, Dubbo provider, Eureka, Nacos, Consul, ...): one idempotent script
# each under peers.d/, run in name order; each prints what it did and fails loudly.
for script in "$HERE"/peers.d/*.sh; do
  [[ -f "$script" ]] || continue
  t1=$(date +%s)
  say "peers.d/$(basename "$script") ..."
  rc=0
  bash "$script" || rc=$?
  if [[ $rc -ne 0 ]]; then say "FAIL: peers.d/$(basename "$script") exited $rc after $(( $(date +%s) - t1 )) s"; exit 1; fi
  say "peers.d/$(basename "$script") done in $(( $(date +%s) - t1 )) s"
done

if [[ $CHECK -eq 1 ]]; then
  t1=$(date +%s)
  node "$HERE/check-peers.mjs" etcd kube istiod-k8s || { say "FAIL: check-peers.mjs"; exit 1; }
  say "peers checked in $(( $(date +%s) - t1 )) s"
fi
say "peers ready in $(( $(date +%s) - t0 )) s"
