#!/usr/bin/env bash
# Builds the real Consul agent of test/consul from Go modules into the peers cache:
#
#   ${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}/consul-<version>/consul
#
# Version: v1.14.8 (MPL-2.0), the newest Consul release that builds from the Go module proxy here:
# - github.com/hashicorp/consul's go.mod replaces its submodules (api, sdk, proto-public, and from
#   1.15 on envoyextensions and troubleshoot) with ./paths, so `go install` refuses it and a
#   wrapper module has to pin them. The proxy reachable here answers no commit queries (403), so
#   the submodules cannot be pinned at the pseudo-version of the release's own commit; only tagged
#   submodule versions are available.
# - From 1.15 on consul needs envoyextensions and troubleshoot, which the proxy does not serve at
#   all (they are also on the project's do-not-use list; releases from 1.17 are BUSL-1.1).
# - 1.14.9/1.14.10 are not served; 1.14.11 needs api v1.18.1, which is not served.
# - 1.14.8 requires api v1.18.0, sdk v0.13.0 (both served) and proto-public v0.2.1 (not served:
#   v0.2.0 is used, it compiles). Its `operator raft list-peers` command uses a field newer than
#   api v1.18.0, so the wrapper's main runs only the `agent` and `version` commands, the way
#   consul's own main.go runs its command set (mitchellh/cli). That is all the tests need.
# The wrapper is generated into a temporary folder under the cache (nothing is written into the
# repository). Idempotent: an existing binary is not rebuilt. Runs under `nice -n 19` with
# GOTOOLCHAIN=local, CGO_ENABLED=0, -trimpath -ldflags='-s -w'. Prints what it did and how long it
# took (build-info.txt records the seconds); exits non-zero on failure.
# Also installs Debian's openssl when missing (the TLS test makes its CA with it).
# Cold build (empty build cache, 2 cores under load): 382 s, plus about 1 min of module downloads.
set -euo pipefail

CONSUL_VERSION=${MESHBRIDGE_CONSUL_VERSION:-v1.14.8}
CONSUL_API=v1.18.0
CONSUL_SDK=v0.13.0
CONSUL_PROTO_PUBLIC=v0.2.0
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
NICENESS=${MESHBRIDGE_PEERS_NICE:-19}
OUT="$CACHE/consul-$CONSUL_VERSION"
BIN="$OUT/consul"

export GOTOOLCHAIN=local GOWORK=off GO111MODULE=on CGO_ENABLED=0 GOFLAGS=-buildvcs=false

say() { printf '[consul %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
t0=$(date +%s)

# test/consul's TLS case makes a throw-away CA with the openssl CLI.
if ! command -v openssl >/dev/null; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || { say "FAIL: openssl missing, not root and no passwordless sudo; run: apt-get install -y openssl"; exit 1; }
    SUDO=(sudo -n)
  fi
  say "installing Debian's openssl package (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  { "${SUDO[@]}" apt-get install -y --no-install-recommends openssl \
    || { "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y --no-install-recommends openssl; }; } >/dev/null 2>&1 \
    || { say "FAIL: apt-get install openssl"; exit 1; }
fi

if [[ -s "$BIN" ]]; then
  say "$BIN exists, nothing to do"
  exit 0
fi
command -v go >/dev/null || { say "FAIL: go is not installed"; exit 1; }

mkdir -p "$CACHE" "$OUT"
exec 9>"$CACHE/.build-consul.lock"
flock 9
if [[ -s "$BIN" ]]; then
  say "$BIN built meanwhile by another run"
  exit 0
fi

work=$(mktemp -d "$CACHE/.work-consul.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

build() {
  set -euo pipefail
  renice -n "$NICENESS" -p "$BASHPID" >/dev/null
  cd "$work"
  local gomod
  gomod=$(go mod download -json "github.com/hashicorp/consul@$CONSUL_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$gomod" ]] || { echo "cannot download github.com/hashicorp/consul@$CONSUL_VERSION"; return 1; }
  go mod init meshbridge.test/peers/consul
  {
    echo "replace ("
    echo "	github.com/hashicorp/consul/api => github.com/hashicorp/consul/api $CONSUL_API"
    echo "	github.com/hashicorp/consul/sdk => github.com/hashicorp/consul/sdk $CONSUL_SDK"
    echo "	github.com/hashicorp/consul/proto-public => github.com/hashicorp/consul/proto-public $CONSUL_PROTO_PUBLIC"
    echo ")"
    # consul's exclude block, verbatim (go-msgpack versions it must avoid; absent in 1.14).
    sed -n '/^exclude (/,/^)/p' "$gomod"
  } >>go.mod
  cat >main.go <<'EOF'
// A Consul binary for Meshbridge's tests: the `agent` and `version` commands of
// github.com/hashicorp/consul, run as consul's own main.go runs its command set.
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	mcli "github.com/mitchellh/cli"

	"github.com/hashicorp/consul/command/agent"
	"github.com/hashicorp/consul/command/cli"
	"github.com/hashicorp/consul/command/version"
	_ "github.com/hashicorp/consul/service_os"
)

func main() {
	log.SetOutput(io.Discard)
	ui := &cli.BasicUI{BasicUi: mcli.BasicUi{Writer: os.Stdout, ErrorWriter: os.Stderr}}
	c := &mcli.CLI{
		Args: os.Args[1:],
		Commands: map[string]mcli.CommandFactory{
			"agent":   func() (mcli.Command, error) { return agent.New(ui), nil },
			"version": func() (mcli.Command, error) { return version.New(ui), nil },
		},
		Name:        "consul",
		HelpWriter:  os.Stdout,
		ErrorWriter: os.Stderr,
	}
	if c.IsVersion() {
		os.Exit(version.New(ui).Run(nil))
	}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error executing CLI: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}
EOF
  cat go.mod
  go get "github.com/hashicorp/consul@$CONSUL_VERSION"
  go mod tidy
  nice -n "$NICENESS" go build -trimpath -ldflags='-s -w' -o "$OUT/.consul.tmp" .
  mv -f "$OUT/.consul.tmp" "$BIN"
}

say "building consul $CONSUL_VERSION into $OUT (log: $OUT/build.log); $(go version)"
status=0
(build) >"$OUT/build.log" 2>&1 || status=$?
if [[ $status -ne 0 || ! -s "$BIN" ]]; then
  say "FAIL: build exited $status after $(( $(date +%s) - t0 )) s; last lines of $OUT/build.log:"
  tail -n 40 "$OUT/build.log"
  exit 1
fi
{
  echo "peer=consul"
  echo "artifact=consul"
  echo "seconds=$(( $(date +%s) - t0 ))"
  echo "bytes=$(stat -c %s "$BIN")"
  echo "go=$(go env GOVERSION)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/build-info.txt"
say "built $BIN ($(( $(stat -c %s "$BIN") / 1024 / 1024 )) MiB) in $(( $(date +%s) - t0 )) s; $("$BIN" version | head -n 1)"
