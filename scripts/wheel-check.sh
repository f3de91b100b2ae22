#!/usr/bin/env bash
# CI: the wheel as a user gets it. Builds it, installs it (not editable) with its demo extra into a
# fresh virtual environment, runs `pip check`, checks no test code ships in it, and runs the demo
# end to end from it (no sandbox: the image is the machine's, not the wheel's). An undeclared
# dependency or a file the wheel lacks fails here, though the editable checkout hides it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d /tmp/depgraph-wheel.XXXXXX)"
trap 'rm -rf "$work"' EXIT
.venv/bin/python -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$work/dist" .
wheel="$(ls "$work"/dist/*.whl)"
if .venv/bin/python -m zipfile -l "$wheel" | grep -E '(^| )tests/' ; then
  echo "wheel-check: test code in the wheel" >&2; exit 1
fi
.venv/bin/python -m venv "$work/venv"  # (a venv of the base interpreter, not of .venv)
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "${wheel}[demo]"
"$work/venv/bin/python" -m pip check
cd "$work"  # away from the checkout: only the installed wheel can be imported
"$work/venv/bin/depgraph" demo --sandbox none --out "$work/demo" -q --json > "$work/demo.json"
"$work/venv/bin/python" - "$work/demo.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
crawl = data["crawl"]
assert crawl["projects"] == 10 and crawl["releases"] == 11, crawl  # the demo index
print(f"wheel-check: demo from the wheel: {crawl['projects']} projects, {crawl['releases']} releases,"
      f" report at {data['report']}")
PY
