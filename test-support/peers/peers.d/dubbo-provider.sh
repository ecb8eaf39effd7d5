#!/usr/bin/env bash
# Builds the real Apache Dubbo provider of test/zookeeper (Dubbo 3.3 from Maven Central, source in
# test-support/peers/dubbo-provider/) into the peers cache:
#
#   ${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}/dubbo-provider-<label>/dubbo-provider.jar
#                                                                             .../lib/*.jar
#
# <label> = dubbo<version>-<hash of the source>, so editing the pom or the Java file builds a new
# folder beside the old one. Run with `java -cp 'dubbo-provider.jar:lib/*' io.meshbridge.testpeer.DubboProvider`
# (test-support/peers/zookeeper.mjs startDubboProvider does). Idempotent: an existing build is not
# rebuilt. The build runs under `nice -n 19` in a temporary copy of the source under the cache
# (nothing is written into the repository); ~/.m2 is Maven's download cache. Prints what it did
# and how long it took; exits non-zero on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$HERE/dubbo-provider"
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
NICENESS=${MESHBRIDGE_PEERS_NICE:-19}

say() { printf '[dubbo-provider %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
t0=$(date +%s)

# Java 17 (with javac) and Maven from Debian when missing (root, as in CI, or passwordless sudo).
if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    sudo -n true 2>/dev/null || { say "FAIL: javac/mvn missing and not root: apt-get install -y openjdk-17-jdk-headless maven"; exit 1; }
    SUDO=(sudo -n)
  fi
  say "installing openjdk-17-jdk-headless and maven (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  { "${SUDO[@]}" apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven \
    || { "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y --no-install-recommends openjdk-17-jdk-headless maven; }; } >/dev/null \
    || { say "FAIL: apt-get install openjdk-17-jdk-headless maven"; exit 1; }
fi

dubbo=$(sed -n 's:.*<dubbo.version>\(.*\)</dubbo.version>.*:\1:p' "$SRC/pom.xml")
hash=$(cd "$SRC" && find . -type f ! -path './target/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-10)
label="dubbo$dubbo-$hash"
OUT="$CACHE/dubbo-provider-$label"
JAR="$OUT/dubbo-provider.jar"

if [[ -s "$JAR" && -d "$OUT/lib" ]]; then
  say "$JAR exists, nothing to do"
  exit 0
fi

mkdir -p "$CACHE" "$OUT"
exec 9>"$CACHE/.build-dubbo-provider.lock"
flock 9
if [[ -s "$JAR" && -d "$OUT/lib" ]]; then
  say "$JAR built meanwhile by another run"
  exit 0
fi

work=$(mktemp -d "$CACHE/.work-dubbo-provider.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$SRC/." "$work/"
rm -rf "$work/target"
say "building Dubbo $dubbo provider into $OUT (log: $OUT/build.log); $(java -version 2>&1 | head -1)"
status=0
(cd "$work" && nice -n "$NICENESS" mvn -q -B -DskipTests package) >"$OUT/build.log" 2>&1 || status=$?
if [[ $status -ne 0 || ! -s "$work/target/dubbo-provider.jar" ]]; then
  say "FAIL: mvn exited $status after $(( $(date +%s) - t0 )) s; last lines of $OUT/build.log:"
  tail -n 40 "$OUT/build.log"
  exit 1
fi
rm -rf "$OUT/lib" "$OUT/lib.tmp"
cp -r "$work/target/lib" "$OUT/lib.tmp"
mv "$OUT/lib.tmp" "$OUT/lib"
cp "$work/target/dubbo-provider.jar" "$JAR.tmp"
mv "$JAR.tmp" "$JAR"
bytes=$(du -sb "$OUT/lib" "$JAR" | awk '{s += $1} END {print s}')
{
  echo "peer=dubbo-provider"
  echo "artifact=dubbo-provider.jar"
  echo "seconds=$(( $(date +%s) - t0 ))"
  echo "bytes=$bytes"
  echo "go=$(java -version 2>&1 | head -1 | tr -d '"')"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/build-info.txt"
say "built $JAR + lib/ ($(( bytes / 1024 / 1024 )) MiB) in $(( $(date +%s) - t0 )) s"
