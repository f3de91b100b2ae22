#!/usr/bin/env bash
# A fresh Debian 12 container (the sandbox's debootstrap base: Python 3.11 marked "externally
# managed", PEP 668) gets a clean copy of the committed tree and runs, as a new user would:
#   scripts/setup.sh --test --python-only   (.venv created, python3-venv installed if missing)
#   scripts/lint.sh                         (ruff and mypy --strict from .venv alone)
#   .venv/bin/depgraph demo --sandbox none  (the quickstart, no root needed)
# What the used machine happens to have installed cannot hide a missing step here. The container
# uses the host's network for the package registries; a CA bundle the host's pip trusts is passed
# on. Needs Docker and the base image (scripts/setup.sh builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
image="${1:-pypi-depgraph-sandbox-base:latest}"
work="$(mktemp -d /tmp/depgraph-fresh.XXXXXX)"
trap 'rm -rf "$work"' EXIT
git archive HEAD | tar -x -C "$work"
cert_args=()
cert="$(python3 -m pip config list 2>/dev/null | sed -n "s/^[^=]*\.cert='\(.*\)'$/\1/p" | head -1)"
if [[ -n "$cert" && -f "$cert" ]]; then
  # over the container's system bundle too: Debian's pip and its build subprocesses read that one
  cert_args=(-v "$cert:/etc/ssl/certs/ca-certificates.crt:ro" -e PIP_CERT=/etc/ssl/certs/ca-certificates.crt)
fi
docker run --rm --network host "${cert_args[@]}" -v "$work:/src" -w /src "$image" bash -c '
  set -euo pipefail
  python3 -c "import sysconfig, os; assert os.path.exists(os.path.join(sysconfig.get_path(\"stdlib\"), \"EXTERNALLY-MANAGED\"))"
  bash scripts/setup.sh --test --python-only
  bash scripts/lint.sh
  cd /tmp && /src/.venv/bin/depgraph demo --sandbox none --out /tmp/demo -q --json > /tmp/demo.json
  /src/.venv/bin/python -c "import json; c = json.load(open(\"/tmp/demo.json\"))[\"crawl\"]; assert c[\"releases\"] == 11, c; print(\"fresh-debian-check: setup, lint and demo pass on an externally managed Python\")"
'
