#!/usr/bin/env bash
# Static checks CI runs on the whole project: ruff (lint, 100-column lines, formatting) and
# mypy --strict (packages, tests, benchmarks and the in-sandbox extractor). Needs `.[lint]`.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
mypy
