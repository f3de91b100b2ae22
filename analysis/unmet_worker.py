"""The process that finds which specifiers no known release meets, beside a report's other work.

Started by `analysis.satisfiable.start_unmet_pairs` as `python -m analysis.unmet_worker`: a fresh
interpreter (not multiprocessing, which would re-run an unguarded user script), told the store on
stdin (a PostgreSQL URL may hold a password: never on the command line). Writes the pairs as an
Arrow IPC file; on failure, one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa
import pyarrow.feather as feather

from depgraph_core.errors import DepgraphError

from .satisfiable import unmet_pairs_of_store


def main() -> int:
    job = json.load(sys.stdin)
    try:
        pairs = unmet_pairs_of_store(job["db"], job["as_of"])
    except DepgraphError as error:  # the parent raises it as its own; anything else: traceback
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    feather.write_feather(pa.Table.from_pandas(pairs, preserve_index=False), job["out"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
