#!/usr/bin/env bash
# Sets a Debian-like machine up for pypi-depgraph (idempotent; root or sudo for the Debian part):
#   - the project in a virtual environment, .venv in the checkout (never the system Python: on a
#     PEP 668 "externally managed" Python, such as Debian 12's or Ubuntu 24.04's, pip refuses it);
#   - Debian packages: python3-venv where `venv` lacks ensurepip, and for the sandbox docker.io,
#     debootstrap, bubblewrap;
#   - a running Docker daemon (no bridge, no iptables: sandbox containers have no network anyway);
#   - the sandbox image, built offline.
# Usage: scripts/setup.sh [--test] [--python-only]
#   --test         also the test and lint dependencies, and chromium for the page tests
#   --python-only  the virtual environment only (no Docker, no image)
# PYTHON chooses the interpreter (default python3; 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="demo,serve"
python_only=0
for arg in "$@"; do
  case "$arg" in
    --test) extras="test,lint" ;;  # (test includes demo and serve)
    --python-only) python_only=1 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
apt_install() {
  echo "setup: installing $*" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: pypi-depgraph needs Python 3.11 or newer; $python is $("$python" --version 2>&1)." \
    "Set PYTHON to another interpreter." >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  rm -rf .venv
  if ! "$python" -m venv .venv >/dev/null 2>&1; then
    # Debian ships ensurepip apart, in python3.X-venv
    rm -rf .venv
    apt_install "python$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
    "$python" -m venv .venv
  fi
fi
# the build backend into .venv first, then the project built against it: no isolated build
# environment to download it again on every run
.venv/bin/python -m pip install --quiet --disable-pip-version-check "setuptools>=77"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-build-isolation \
  -e ".[$extras]"
(( python_only )) && exit 0

missing=()
# the service's page tests look at it in a real headless browser
[[ "$extras" == test* ]] && ! command -v chromium >/dev/null && missing+=(chromium)
# the replica of the 2023 data set is served as a static mirror is: by nginx
[[ "$extras" == test* ]] && ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]] && missing+=(nginx-light)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v bwrap >/dev/null || missing+=(bubblewrap)
(( ${#missing[@]} )) && apt_install "${missing[@]}"

if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd" >&2
  $SUDO bash -c 'nohup dockerd --bridge=none --iptables=false >/var/log/depgraph-dockerd.log 2>&1 &'
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/depgraph-dockerd.log" >&2; exit 1; }
fi

.venv/bin/depgraph sandbox build-image --if-missing
