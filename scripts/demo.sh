#!/usr/bin/env bash
# The main job on embedded defaults: set the machine up, then `depgraph demo` (a demo index served
# on loopback, crawled into SQLite, sdists extracted in the local sandbox, CSV report written).
# Arguments go to `depgraph demo` (e.g. --out DIR, --sandbox none).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/depgraph demo "$@"
