#!/usr/bin/env bash
# Static checks CI runs on the whole project: ruff (lint, 100-column lines, formatting) and
# mypy --strict (packages, tests, benchmarks and the in-sandbox extractor). Runs in .venv (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
