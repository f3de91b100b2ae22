#!/usr/bin/env bash
# The test command: set the machine up (scripts/setup.sh --test: .venv with the test extras, Docker,
# the sandbox image; scripts/postgres.sh), then run the whole suite in .venv.
# Arguments go to pytest. "No tests ran" (pytest exit 5) is a failure, not a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test || exit 1
# the PostgreSQL store's tests: Debian's server on loopback (scripts/postgres.sh prints its URL)
if [[ -z "${DEPGRAPH_TEST_PG:-}" ]]; then
  DEPGRAPH_TEST_PG=$(bash scripts/postgres.sh) || { echo "test.sh: PostgreSQL did not start" >&2; exit 1; }
  export DEPGRAPH_TEST_PG
fi
# the Python-2-only sdists (tests/data/py2-corpus.txt) are fetched from PyPI into a cache outside
# the repository, by a fetcher inside the sandbox image; only where ../shared's mach-nix data, their
# reference, is there (elsewhere their tests skip)
shared="${DEPGRAPH_SHARED:-../shared}"
if [[ -d "$shared/data/pypi-deps-db" ]]; then
  .venv/bin/python -m tests.lib.py2corpus fetch || echo "test.sh: the Python 2 corpus was not fetched" >&2
fi
.venv/bin/python -m pytest "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "test.sh: pytest collected no tests: failing" >&2
  exit 1
fi
exit $rc
