"""The process that finds which specifiers no known release meets, beside a report's other work.

Started by `analysis.satisfiable.start_unmet_pairs` as `python -m analysis.unmet_worker`: a fresh
interpreter (not multiprocessing, which would re-run an unguarded user script). Two JSON lines on
stdin: the store (a PostgreSQL URL may hold a password: never on the command line); then the
Arrow file of the requirements' targets and specifiers, once the parent has read them, after which
it reads the releases of the projects they constrain. Writes the unmet pairs as an Arrow IPC file;
on failure, one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa
import pyarrow.feather as feather

from depgraph_core.errors import DepgraphError

from .satisfiable import unmet_pairs
from .store_reader import read_required_versions


def main() -> int:
    job = json.loads(sys.stdin.readline())
    # Started early so that its imports overlap the parent's reads; its own reads wait until the
    # parent has read the requirements (its critical path), and still end before it needs them.
    asked = sys.stdin.readline()
    try:
        versions = read_required_versions(job["db"], job["as_of"])
    except DepgraphError as error:  # the parent raises it as its own; anything else: traceback
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    if not asked:  # the parent stopped before asking
        return 0
    requirements = feather.read_feather(json.loads(asked)["pairs"])
    pairs = unmet_pairs(requirements["target"], requirements["specifier"], versions)
    feather.write_feather(pa.Table.from_pandas(pairs, preserve_index=False), job["out"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
