#!/usr/bin/env bash
# Builds the test Nacos server (test-support/peers/nacos-server/) into the peers cache, keyed by version:
#   ${MESHBRIDGE_PEERS_CACHE:-~/.cache/meshbridge-peers}/nacos-server-<version>/
#     nacos-test-server.jar  lib/*.jar  classpath.txt  bind-loopback.so  build-info.txt  build.log
# Nacos is not published to Maven Central by Alibaba; the republished modules
# io.github.pig-mesh.nacos:* are. Idempotent: a complete folder is never rebuilt (delete it to
# rebuild). Maven runs under nice -n 19; the generated work folder is removed afterwards.
set -euo pipefail

NACOS_VERSION=${NACOS_VERSION:-3.1.0-bugfix}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
OUT="$CACHE/nacos-server-$NACOS_VERSION"
say() { printf '[nacos-server %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [[ -f "$OUT/classpath.txt" && -f "$OUT/bind-loopback.so" && -f "$OUT/nacos-test-server.jar" ]]; then
  say "present: $OUT ($(du -sh "$OUT" | cut -f1))"
  exit 0
fi
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing from Debian: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then say "FAIL: need root to install ${missing[*]}"; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

t0=$(date +%s)
mkdir -p "$CACHE"
exec 9>"$CACHE/.nacos-build.lock"
flock 9
rm -rf "$OUT"
WORK=$(mktemp -d "$CACHE/.work-nacos-server.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/nacos-server/pom.xml" "$HERE/nacos-server/src" "$WORK/"
say "building Nacos $NACOS_VERSION test server (Maven Central: io.github.pig-mesh.nacos) in $WORK"
if ! (cd "$WORK" && nice -n 19 mvn -B -q -Dnacos.version="$NACOS_VERSION" -DskipTests package) >"$WORK/build.log" 2>&1; then
  tail -40 "$WORK/build.log"
  say "FAIL: maven build failed after $(( $(date +%s) - t0 )) s"
  exit 1
fi
STAGE="$WORK/out"
mkdir -p "$STAGE"
cp -r "$WORK/target/lib" "$STAGE/lib"
cp "$WORK/target/nacos-test-server-1.jar" "$STAGE/nacos-test-server.jar"
nice -n 19 gcc -shared -fPIC -O2 -o "$STAGE/bind-loopback.so" "$HERE/nacos-server/bind-loopback.c" -ldl
# com.caucho:hessian 4.x must come before jraft's com.alipay.sofa:hessian 3.x (see pom.xml).
{
  ls "$STAGE"/lib/hessian-4.*.jar | sed "s|^$STAGE|$OUT|"
  echo "$OUT/nacos-test-server.jar"
  ls "$STAGE"/lib/*.jar | grep -v '/hessian-4\.' | sed "s|^$STAGE|$OUT|"
} | paste -sd: >"$STAGE/classpath.txt"
cp "$WORK/build.log" "$STAGE/build.log"
secs=$(( $(date +%s) - t0 ))
bytes=$(du -sb "$STAGE" | cut -f1)
printf 'seconds=%s\nbytes=%s\ngo=%q\nbuilt=%s\n' "$secs" "$bytes" "$(java -version 2>&1 | head -1)" "$(date -u +%FT%TZ)" >"$STAGE/build-info.txt"
mv "$STAGE" "$OUT"
say "built $OUT in $secs s ($((bytes / 1024 / 1024)) MiB)"
