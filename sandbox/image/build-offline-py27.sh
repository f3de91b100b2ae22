#!/usr/bin/env bash
# Builds the Python 2.7 sandbox base without a registry: debootstrap Debian 11 (bullseye, the last
# Debian that ships python2.7) with python2.7, the last setuptools for Python 2 (44) and python3
# (3.9, which runs the extractor that drives the Python 2 build), then `docker import` the folder.
# The extractor layer is the same Dockerfile as the Python 3 image's, built FROM this base.
# Usage: build-offline-py27.sh [TAG] [DIGEST]
set -euo pipefail
tag="${1:-pypi-depgraph-sandbox-py27-base:latest}"
digest="${2:-}"  # recipe digest, stored as a label so `build-image --if-missing` can tell a stale base
work="$(mktemp -d /var/tmp/depgraph-rootfs27.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
debootstrap --variant=minbase \
  --include=python3-minimal,python3,python2.7,python-setuptools,python-pkg-resources,ca-certificates \
  bullseye "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log"; exit 1; }
chroot "$root" python2.7 -c 'import setuptools, sys; sys.stdout.write("python2.7 setuptools %s\n" % setuptools.__version__)'
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/usr/share/doc" "$root/usr/share/man"
tar -C "$root" -c . | docker import \
  --change "LABEL pypi-depgraph.recipe-digest=$digest" \
  - "$tag" >/dev/null
echo "built $tag"
