#!/usr/bin/env bash
# Installs the Debian packages Petrel's tests and demo call, when they are missing.
# Idempotent: does nothing when every command is already present.
set -euo pipefail

# command -> Debian package
declare -A need=(
  [bird]=bird2
  [birdc]=bird2
  [ip]=iproute2
  [ss]=iproute2
  [ping]=iputils-ping
  [etcd]=etcd-server
  [gobgpd]=gobgpd
  [gobgp]=gobgpd
  [tshark]=tshark
)

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# The build compiles the kernel sink's netlink helper (C); gcc alone lacks the libc headers.
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" -ne 0 ]; then
  echo "petrel: missing Debian packages: $pkgs (run as root, or install them with apt-get)" >&2
  exit 1
fi
echo "petrel: installing Debian packages the tests need: $pkgs" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
# The packaged services must not run on their own: tests start their own instances.
for svc in bird etcd gobgpd; do
  (systemctl stop "$svc" 2>/dev/null; systemctl disable "$svc" 2>/dev/null) || true
done
pkill -x -u root -f '^/usr/sbin/bird -f -u bird' 2>/dev/null || true
exit 0
