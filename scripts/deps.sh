#!/bin/sh
# deps.sh - install the Debian packages cairn builds and tests with, if missing.
# Usage: scripts/deps.sh [build|test]   (test also brings the test clients)
set -e
build="build-essential pkg-config libev-dev libyajl-dev libdb-dev libc-ares-dev
	libcurl4-openssl-dev libhttp-parser-dev libssl-dev"
test="curl dnsutils dnsmasq-base python3 python3-pytest python3-consul
	etcd-server wrk iproute2 clang systemd serf dnsperf"
pkgs=$build
[ "${1:-build}" = test ] && pkgs="$build $test"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# etcd-server and serf enable system services on install; the benchmarks
# start their own on loopback, so the system ones are only in the way.
for s in etcd serf; do
	$SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
done
