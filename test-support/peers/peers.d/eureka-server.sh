#!/usr/bin/env bash
# Builds the real Eureka server of test/eureka (a Spring Cloud Netflix Eureka server from Maven
# Central, source in test-support/peers/eureka-server/) into the peers cache:
#
#   ${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}/eureka-server-<label>/eureka-server.jar
#
# <label> = boot<Spring Boot>-cloud<spring-cloud-dependencies>-<hash of the source>, so editing
# the pom, the Java file or application.properties builds a new jar beside the old one.
# Versions: Spring Boot 3.5.7 with spring-cloud-dependencies 2025.0.0 (Java 17): the newest pair
# of Boot 3 that resolves from Maven Central here (3.5.8+ and 2025.0.1/2 are served in part).
# Idempotent: an existing jar is not rebuilt. The build runs under `nice -n 19` in a temporary
# copy of the source under the cache (nothing is written into the repository); ~/.m2 is Maven's
# download cache. Prints what it did and how long it took; exits non-zero on failure.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$HERE/eureka-server"
CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
NICENESS=${MESHBRIDGE_PEERS_NICE:-19}

say() { printf '[eureka-server %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
t0=$(date +%s)

# Java 17+ and Maven: Debian's packages, installed when missing (CI runs as root).
if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
  if [[ $(id -u) -ne 0 ]]; then
    say "FAIL: java or mvn is missing and this is not root; run: apt-get install -y openjdk-17-jdk-headless maven"
    exit 1
  fi
  say "installing openjdk-17-jdk-headless and maven (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null || { say "FAIL: apt-get install"; exit 1; }
fi
major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
if [[ -z "$major" || "$major" -lt 17 ]]; then
  say "FAIL: Java 17 or newer is needed (found: $(java -version 2>&1 | head -1))"
  exit 1
fi

boot=$(sed -n '/<parent>/,/<\/parent>/s:.*<version>\(.*\)</version>.*:\1:p' "$SRC/pom.xml")
cloud=$(sed -n 's:.*<spring-cloud.version>\(.*\)</spring-cloud.version>.*:\1:p' "$SRC/pom.xml")
hash=$(cd "$SRC" && find . -type f ! -path './target/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-10)
label="boot$boot-cloud$cloud-$hash"
OUT="$CACHE/eureka-server-$label"
JAR="$OUT/eureka-server.jar"

if [[ -s "$JAR" ]]; then
  say "$JAR exists, nothing to do"
  exit 0
fi

mkdir -p "$CACHE" "$OUT"
exec 9>"$CACHE/.build-eureka-server.lock"
flock 9
if [[ -s "$JAR" ]]; then
  say "$JAR built meanwhile by another run"
  exit 0
fi

work=$(mktemp -d "$CACHE/.work-eureka-server.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$SRC/." "$work/"
rm -rf "$work/target"
say "building Spring Boot $boot + Spring Cloud $cloud into $OUT (log: $OUT/build.log); $(java -version 2>&1 | head -1)"
status=0
(cd "$work" && nice -n "$NICENESS" mvn -q -B -DskipTests package) >"$OUT/build.log" 2>&1 || status=$?
if [[ $status -ne 0 || ! -s "$work/target/eureka-server.jar" ]]; then
  say "FAIL: mvn exited $status after $(( $(date +%s) - t0 )) s; last lines of $OUT/build.log:"
  tail -n 40 "$OUT/build.log"
  exit 1
fi
cp "$work/target/eureka-server.jar" "$JAR.tmp"
mv "$JAR.tmp" "$JAR"
{
  echo "peer=eureka-server"
  echo "artifact=eureka-server.jar"
  echo "seconds=$(( $(date +%s) - t0 ))"
  echo "bytes=$(stat -c %s "$JAR")"
  echo "go=$(java -version 2>&1 | head -1 | tr -d '"')"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$OUT/build-info.txt"
say "built $JAR ($(( $(stat -c %s "$JAR") / 1024 / 1024 )) MiB) in $(( $(date +%s) - t0 )) s"
