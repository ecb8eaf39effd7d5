#!/usr/bin/env bash
# Fetches the Gateway API CRDs (standard channel) that test/istiod applies to the test API server:
#   ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/gateway-api-crds-<version>/standard.yaml  build-info.txt
# From the Go module proxy: `go mod download -json sigs.k8s.io/gateway-api@<version>` (a Go module:
# the YAML ships in it under config/crd/standard). GATEWAY_API_VERSION is the version the pinned
# Istio release's go.mod requires (istio/istio go.mod: sigs.k8s.io/gateway-api), so istiod and the
# CRDs agree; test-support/gateway-api.ts reads the default below, so change it here only.
#
# Idempotent: does nothing when the file is there. Prints what it did; exits non-zero on failure.
set -euo pipefail

GATEWAY_API_VERSION=${GATEWAY_API_VERSION:-v1.6.0}
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
OUT="$CACHE/gateway-api-crds-$GATEWAY_API_VERSION"
say() { printf '[gateway-api-crds %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [[ -s "$OUT/standard.yaml" && -f "$OUT/build-info.txt" ]]; then
  say "present: $OUT/standard.yaml"
  exit 0
fi
command -v go >/dev/null || { say "FAIL: go is not installed"; exit 1; }
t0=$(date +%s)
dir=$(GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n "$dir" && -d "$dir/config/crd/standard" ]] || { say "FAIL: no config/crd/standard in the module ($dir)"; exit 1; }
mkdir -p "$OUT"
tmp=$(mktemp "$OUT/.standard.XXXXXX")
for f in "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml; do
  case "$f" in *_vap_*) continue ;; esac # a ValidatingAdmissionPolicy, not a CRD
  printf -- '---\n' >>"$tmp"
  cat "$f" >>"$tmp"
done
mv "$tmp" "$OUT/standard.yaml"
printf 'peer=gateway-api-crds\nversion=%s\nsource=%s\nseconds=%s\nbuilt=%s\n' "$GATEWAY_API_VERSION" "$dir" "$(( $(date +%s) - t0 ))" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$OUT/build-info.txt"
say "wrote $OUT/standard.yaml ($(grep -c '^kind: CustomResourceDefinition' "$OUT/standard.yaml") CRDs) in $(( $(date +%s) - t0 )) s"
