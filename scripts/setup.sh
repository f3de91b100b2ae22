#!/usr/bin/env bash
# Installs what pypi-depgraph needs on a fresh Debian machine (idempotent):
#   system packages (Docker engine, debootstrap, bubblewrap), the project with its test extras,
#   a running Docker daemon (no bridge, no iptables: sandbox containers have no network anyway),
#   and the sandbox image, built offline.
# Usage: scripts/setup.sh [--test]      (--test adds the test dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="demo"
[[ "${1:-}" == "--test" ]] && extras="test,lint"

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v bwrap >/dev/null || missing+=(bubblewrap)
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m pip install --quiet --disable-pip-version-check -e ".[$extras]"

if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd" >&2
  $SUDO bash -c 'nohup dockerd --bridge=none --iptables=false >/var/log/depgraph-dockerd.log 2>&1 &'
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/depgraph-dockerd.log" >&2; exit 1; }
fi

if [[ -f sandbox/image/build-offline.sh ]] && command -v depgraph >/dev/null && depgraph sandbox --help >/dev/null 2>&1; then
  depgraph sandbox build-image --if-missing
fi
