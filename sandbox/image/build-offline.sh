#!/usr/bin/env bash
# Builds the sandbox image without a registry: debootstrap a minimal Debian with python3 into a
# folder, add the build backends with the host's pip (pure wheels for the image's Python), then
# `docker import` the folder. The extractor is layered on top by `depgraph sandbox build-image`
# (a `docker build` of sandbox/image/Dockerfile FROM this local base, which needs no registry). Usage: build-offline.sh [TAG]
set -euo pipefail
tag="${1:-pypi-depgraph-sandbox-base:latest}"
digest="${2:-}"  # recipe digest, stored as a label so `build-image --if-missing` can tell a stale base
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /var/tmp/depgraph-rootfs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
debootstrap --variant=minbase --include=python3,python3-distutils,ca-certificates bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log"; exit 1; }
pyver="$(chroot "$root" python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
site="$root/usr/local/lib/python$pyver/dist-packages"
mkdir -p "$site"
# --only-binary with an explicit target Python: never runs a build on the host.
grep -v '^#' "$here/build-backends.txt" | grep -v '^$' > "$work/req.txt"
PIP_CONSTRAINT= pip install --quiet --disable-pip-version-check --no-compile --target "$site" \
  --only-binary=:all: --python-version "$pyver" --implementation cp --abi "cp${pyver/./}" \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform any \
  -r "$work/req.txt"
grep -v '^#' "$here/era-backends.txt" | sed 's/ *#.*//' | grep -v '^$' > "$work/era.txt"
PIP_CONSTRAINT= pip install --quiet --disable-pip-version-check --no-compile --target "$root/opt/depgraph-era" \
  --only-binary=:all: --python-version "$pyver" --implementation cp --abi "cp${pyver/./}" \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform any --no-deps \
  -r "$work/era.txt"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root/usr/share/doc" "$root/usr/share/man"
# user, environment and entry are the Dockerfile's (the extractor layer), not set here
tar -C "$root" -c . | docker import \
  --change "LABEL pypi-depgraph.recipe-digest=$digest" \
  - "$tag" >/dev/null
echo "built $tag"
