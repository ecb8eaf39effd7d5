#!/usr/bin/env bash
# Builds the real peers the integration tests start, from Go modules, into a cache outside the
# repository:  ${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}/<peer>-<version>/<binary>
#
#   test-support/peers/build-peers.sh [etcd|kube-apiserver|istiod|istio-crds|all]...   (default: all)
#
# Idempotent: a peer whose binary for the pinned version (versions.env) exists is not rebuilt.
# Needs only Go (GOTOOLCHAIN=local: the installed one) and the Go module proxy. Wrapper modules
# are generated into a temporary folder under the cache and removed afterwards; nothing is
# written into the repository. Builds run one at a time (a lock in the cache folder) under
# `nice -n 19` (MESHBRIDGE_PEERS_NICE overrides the niceness). Each peer's build log is
# <peer folder>/build.log; build-info.txt beside the binary records version, Go and seconds.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$HERE/versions.env"

CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
NICENESS=${MESHBRIDGE_PEERS_NICE:-19}
mkdir -p "$CACHE"

export GOTOOLCHAIN=local GOWORK=off GO111MODULE=on CGO_ENABLED=0 GOFLAGS=-buildvcs=false
NICE=(nice -n "$NICENESS")

ETCD_DIR="$CACHE/etcd-$ETCD_VERSION"
KUBE_DIR="$CACHE/kube-apiserver-$KUBERNETES_VERSION"
ISTIOD_DIR="$CACHE/istiod-$ISTIO_LABEL"
CRDS_DIR="$CACHE/istio-crds-$ISTIO_LABEL"

log() { printf '[build-peers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Writes a fresh wrapper module into $1: go.mod with the given module path.
new_module() {
  local dir=$1 path=$2
  (cd "$dir" && go mod init "$path" >/dev/null 2>&1)
}

# build_one <name> <out dir> <artifact> <function>: runs <function> <work dir> <out dir> under the
# global build lock unless <out dir>/<artifact> already exists; logs to <out dir>/build.log.
build_one() {
  local name=$1 out=$2 artifact=$3 fn=$4
  if [[ -s "$out/$artifact" ]]; then
    log "$name: $out/$artifact exists, nothing to do"
    return 0
  fi
  mkdir -p "$out"
  exec 9>"$CACHE/.build.lock"
  log "$name: waiting for the build lock"
  flock 9
  if [[ -s "$out/$artifact" ]]; then
    log "$name: built meanwhile by another run"
    exec 9>&-
    return 0
  fi
  local work start end status
  work=$(mktemp -d "$CACHE/.work-$name.XXXXXX")
  start=$(date +%s)
  log "$name: building into $out (log: $out/build.log)"
  set +e
  # The whole build (downloads, go get, compile) runs at the lowest priority.
  ( set -euo pipefail; renice -n "$NICENESS" -p "$BASHPID" >/dev/null; "$fn" "$work" "$out" ) >"$out/build.log" 2>&1
  status=$?
  set -e
  end=$(date +%s)
  rm -rf "$work"
  exec 9>&-
  if [[ $status -ne 0 || ! -s "$out/$artifact" ]]; then
    log "$name: FAILED after $((end - start)) s; last lines of $out/build.log:"
    tail -n 40 "$out/build.log" >&2
    return 1
  fi
  {
    echo "peer=$name"
    echo "artifact=$artifact"
    echo "seconds=$((end - start))"
    echo "bytes=$(stat -c %s "$out/$artifact")"
    echo "go=$(go env GOVERSION)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$out/build-info.txt"
  log "$name: done in $((end - start)) s, $(du -h "$out/$artifact" | cut -f1)"
}

# etcd: the server module carries replace directives (../api, ...), so `go install` refuses it;
# a wrapper module that requires it as a tool builds its main package with published modules.
build_etcd() {
  local work=$1 out=$2
  cd "$work"
  new_module "$work" meshbridge.test/peers/etcd
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go mod tidy
  "${NICE[@]}" go build -trimpath -ldflags='-s -w' -o "$out/.etcd.tmp" go.etcd.io/etcd/server/v3
  mv -f "$out/.etcd.tmp" "$out/etcd"
}

# kube-apiserver: k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
# ./staging paths; the wrapper replaces each with the published v0.N.p of release 1.N.p.
build_kube_apiserver() {
  local work=$1 out=$2
  local ver=${KUBERNETES_VERSION#v} staging_ver gomod mods m major minor
  major=${ver%%.*}
  minor=${ver#*.}; minor=${minor%%.*}
  staging_ver="v0.${ver#*.}"
  cd "$work"
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$gomod" ]] || { echo "no go.mod for k8s.io/kubernetes@$KUBERNETES_VERSION"; return 1; }
  mods=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" | sort -u)
  [[ -n "$mods" ]] || { echo "no staging replace lines found in $gomod"; return 1; }
  echo "staging modules -> $staging_ver:"; echo "$mods"
  new_module "$work" meshbridge.test/peers/kube-apiserver
  {
    grep -E '^godebug ' "$gomod" || true
    echo "replace ("
    for m in $mods; do echo "	$m => $m $staging_ver"; done
    echo ")"
  } >>go.mod
  go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION"
  go mod tidy
  local pkg=k8s.io/component-base/version
  "${NICE[@]}" go build -trimpath \
    -ldflags="-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -o "$out/.kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv -f "$out/.kube-apiserver.tmp" "$out/kube-apiserver"
}

# istiod: from 1.25 istio.io/istio's go.mod has no replace directives, so `go install` works.
# istio.io/istio has no semver tags: ISTIO_MODULE_VERSION is a pseudo-version; the log records
# what it resolves to (commit time, the release line in its VERSION file, istio.io/api).
build_istiod() {
  local work=$1 out=$2 dir
  cd "$work"
  dir=$(go mod download -json "istio.io/istio@$ISTIO_MODULE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -d "$dir" ]] || { echo "istio.io/istio@$ISTIO_MODULE_VERSION is not served"; return 1; }
  echo "istio.io/istio@$ISTIO_MODULE_VERSION: VERSION $(cat "$dir/VERSION" 2>/dev/null || echo '?');" \
    "$(grep -m1 -E '^[[:space:]]*istio.io/api ' "$dir/go.mod" | xargs)"
  mkdir -p "$work/bin"
  GOBIN="$work/bin" "${NICE[@]}" go install -trimpath -tags=vtprotobuf,disable_pgv \
    -ldflags="-s -w -X istio.io/istio/pkg/version.buildVersion=$ISTIO_LABEL" \
    "istio.io/istio/pilot/cmd/pilot-discovery@$ISTIO_MODULE_VERSION"
  mv -f "$work/bin/pilot-discovery" "$out/pilot-discovery"
}

# Istio's CRDs of the same release: copied from the module (charts/base/files in manifests/).
build_istio_crds() {
  local work=$1 out=$2 dir src
  cd "$work"
  dir=$(go mod download -json "istio.io/istio@$ISTIO_MODULE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  src="$dir/manifests/charts/base/files/crd-all.gen.yaml"
  [[ -s "$src" ]] || { echo "not found: $src"; return 1; }
  cp "$src" "$out/.crd-all.gen.yaml.tmp"
  chmod 0644 "$out/.crd-all.gen.yaml.tmp"
  mv -f "$out/.crd-all.gen.yaml.tmp" "$out/crd-all.gen.yaml"
}

command -v go >/dev/null || { log "go is not installed"; exit 1; }
command -v flock >/dev/null || { log "flock (util-linux) is not installed"; exit 1; }
log "cache: $CACHE; $(go version)"

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    etcd) build_one etcd "$ETCD_DIR" etcd build_etcd ;;
    kube-apiserver) build_one kube-apiserver "$KUBE_DIR" kube-apiserver build_kube_apiserver ;;
    istiod) build_one istiod "$ISTIOD_DIR" pilot-discovery build_istiod
            build_one istio-crds "$CRDS_DIR" crd-all.gen.yaml build_istio_crds ;;
    istio-crds) build_one istio-crds "$CRDS_DIR" crd-all.gen.yaml build_istio_crds ;;
    all)
      build_one etcd "$ETCD_DIR" etcd build_etcd
      build_one kube-apiserver "$KUBE_DIR" kube-apiserver build_kube_apiserver
      build_one istiod "$ISTIOD_DIR" pilot-discovery build_istiod
      build_one istio-crds "$CRDS_DIR" crd-all.gen.yaml build_istio_crds
      ;;
    *) log "unknown peer '$t' (etcd|kube-apiserver|istiod|istio-crds|all)"; exit 2 ;;
  esac
done
