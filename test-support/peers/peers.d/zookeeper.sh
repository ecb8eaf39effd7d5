#!/usr/bin/env bash
# Installs the real ZooKeeper server of test/zookeeper: Debian's `zookeeper` package (3.8.x; not
# `zookeeperd`, which only adds the systemd unit). The tests start it by hand on a free loopback
# port (test-support/peers/zookeeper.mjs), never as a system service.
#
# Idempotent: does nothing when /usr/share/java/zookeeper.jar exists. Installing needs root (as in
# CI) or passwordless sudo. Writes the classpath the starter uses to
#   ${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}/zookeeper-<version>/classpath.txt
# Prints what it did and how long it took; exits non-zero on failure.
set -euo pipefail

CACHE=${MESHBRIDGE_PEERS_CACHE:-$HOME/.cache/meshbridge-peers}
say() { printf '[zookeeper %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
t0=$(date +%s)

if [[ ! -s /usr/share/java/zookeeper.jar ]]; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null || { say "FAIL: not root and no passwordless sudo; run: apt-get install -y zookeeper"; exit 1; }
    SUDO=(sudo -n)
  fi
  say "installing Debian's zookeeper package (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${SUDO[@]}" apt-get install -y --no-install-recommends zookeeper >/tmp/zookeeper-apt.$$.log 2>&1; then
    say "apt-get install failed; running apt-get update and retrying"
    "${SUDO[@]}" apt-get update >>/tmp/zookeeper-apt.$$.log 2>&1 || true
    "${SUDO[@]}" apt-get install -y --no-install-recommends zookeeper >>/tmp/zookeeper-apt.$$.log 2>&1 || {
      say "FAIL: apt-get install zookeeper; last lines:"; tail -n 30 /tmp/zookeeper-apt.$$.log; exit 1; }
  fi
  rm -f /tmp/zookeeper-apt.$$.log
  installed=1
else
  installed=0
fi
command -v java >/dev/null || { say "FAIL: java is not installed (the zookeeper package depends on a JRE)"; exit 1; }

version=$(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo unknown)
OUT="$CACHE/zookeeper-$version"
mkdir -p "$OUT"
# The server's classpath: the jar plus the jars it links to (Debian's unversioned names; one
# SLF4J binding, log4j 1.2, so /etc/zookeeper/conf/log4j.properties applies).
cp_jars=""
for j in zookeeper zookeeper-jute netty-buffer netty-codec netty-common netty-handler netty-resolver \
  netty-transport netty-transport-native-epoll netty-transport-native-unix-common slf4j-api slf4j-log4j12 \
  log4j-1.2 commons-cli metrics-core snappy-java; do
  [[ -f /usr/share/java/$j.jar ]] || { say "FAIL: /usr/share/java/$j.jar is missing"; exit 1; }
  cp_jars="$cp_jars:/usr/share/java/$j.jar"
done
echo "/etc/zookeeper/conf$cp_jars" >"$OUT/classpath.txt"
if [[ $installed -eq 1 ]]; then
  echo "peer=zookeeper version=$version seconds=$(( $(date +%s) - t0 )) installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$OUT/install-info.txt"
  say "installed zookeeper $version in $(( $(date +%s) - t0 )) s"
else
  say "zookeeper $version already installed, nothing to do"
fi
