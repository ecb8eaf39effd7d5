#!/usr/bin/env bash
# Builds the `helm` CLI that test/deploy renders and lints the chart (deploy/helm/meshbridge) with:
#   ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/helm-<version>/helm  build.log  build-info.txt
# From the Go module proxy: `go install helm.sh/helm/v3/cmd/helm@<version>` (helm v3's go.mod has
# no replace directives, so no wrapper module is needed), under `nice -n 19` with
# GOTOOLCHAIN=local CGO_ENABLED=0 -trimpath -ldflags='-s -w'. HELM_VERSION is the newest v3 the
# proxy served when this was written (`go list -m -versions helm.sh/helm/v3`); test/deploy reads
# the default below to find the binary, so change it here only.
#
# Measured on the 2-core machine (Go 1.26.8): cold (empty Go module, build and peer caches)
# 132 s and 147 s, filling 0.4 GiB of module cache and 0.7 GiB of build cache; rebuilt with warm
# Go caches 10 s; the binary is 59 MiB.
#
# Idempotent: does nothing when the binary is there (delete its folder to rebuild). Prints what it
# did and how long it took; exits non-zero on failure.
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.22.0}
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
NICENESS=${MESHBRIDGE_PEERS_NICE:-19}
OUT="$CACHE/helm-$HELM_VERSION"
say() { printf '[helm %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [[ -x "$OUT/helm" && -f "$OUT/build-info.txt" ]]; then
  say "present: $OUT/helm ($("$OUT/helm" version --short 2>/dev/null || echo '?'))"
  exit 0
fi
command -v go >/dev/null || { say "FAIL: go is not installed"; exit 1; }
command -v flock >/dev/null || { say "FAIL: flock (util-linux) is not installed"; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.helm-build.lock"
flock 9
if [[ -x "$OUT/helm" ]]; then
  say "built meanwhile by another run: $OUT/helm"
  exit 0
fi

t0=$(date +%s)
WORK=$(mktemp -d "$CACHE/.work-helm.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/out"
say "building helm $HELM_VERSION (go install, $(go version | cut -d' ' -f3)) into $OUT"
export GOTOOLCHAIN=local GOWORK=off GO111MODULE=on CGO_ENABLED=0 GOFLAGS=-buildvcs=false
# As helm's Makefile: the Kubernetes version `helm template` and `helm lint` assume (the
# Capabilities.KubeVersion a chart's kubeVersion is checked against) is that of the client-go it
# is built with; without these -X flags it would be v1.20.
gomod=$(cd "$WORK" && nice -n "$NICENESS" go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[[ -f "$gomod" ]] || { say "FAIL: helm.sh/helm/v3@$HELM_VERSION is not served (no go.mod)"; exit 1; }
cgo=$(sed -n 's#^[[:space:]]*k8s\.io/client-go[[:space:]]\{1,\}v0\.\([0-9]\{1,\}\)\..*#\1#p' "$gomod" | head -n 1)
[[ -n "$cgo" ]] || { say "FAIL: no k8s.io/client-go requirement in $gomod"; exit 1; }
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$cgo"
done
say "client-go v0.$cgo: helm assumes Kubernetes v1.$cgo"
if ! (cd "$WORK" && GOBIN="$WORK/bin" nice -n "$NICENESS" go install -trimpath -ldflags="$ldflags" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >"$WORK/out/build.log" 2>&1; then
  tail -n 40 "$WORK/out/build.log"
  say "FAIL: go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION after $(( $(date +%s) - t0 )) s"
  exit 1
fi
mv "$WORK/bin/helm" "$WORK/out/helm"
"$WORK/out/helm" version --short >/dev/null || { say "FAIL: the built helm does not run"; exit 1; }
secs=$(( $(date +%s) - t0 ))
{
  echo "peer=helm"
  echo "artifact=helm"
  echo "version=$HELM_VERSION"
  echo "seconds=$secs"
  echo "bytes=$(stat -c %s "$WORK/out/helm")"
  echo "go=$(go env GOVERSION)"
  echo "kube_version=v1.$cgo"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$WORK/out/build-info.txt"
rm -rf "$OUT"
mv "$WORK/out" "$OUT"
say "built $OUT/helm ($("$OUT/helm" version --short)) in $secs s, $(du -h "$OUT/helm" | cut -f1)"
