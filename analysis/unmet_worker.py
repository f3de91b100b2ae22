"""The process that finds which specifiers no known release meets, beside a report's other work.

Started by `analysis.satisfiable.start_unmet_check` as `python -m analysis.unmet_worker`: a fresh
interpreter (not multiprocessing, which would re-run an unguarded user script). Two JSON lines on
stdin: the store (a PostgreSQL URL may hold a password: never on the command line); then the
Arrow file of the requirements' targets and specifiers, once the parent has read them. Then it reads
the selected releases, and the other releases only of the projects where they are needed. Writes
the rows whose specifier no release meets (`unmet_reading`: row, reason) as an Arrow IPC file;
on failure, one line on stderr and exit status 1.
"""

from __future__ import annotations

import gc
import json
import sys

import pyarrow as pa
import pyarrow.feather as feather

from depgraph_core.errors import DepgraphError

from .satisfiable import unmet_reading
from .store_reader import open_store, read_latest_versions, read_versions_of


def main() -> int:
    # The check makes millions of short-lived tuples and no reference cycles: the cyclic
    # collector would only walk them (a quarter of its time on the 2023 import)
    gc.disable()
    job = json.loads(sys.stdin.readline())
    db, as_of = job["db"], job["as_of"]
    # Started early so that its imports overlap the parent's reads; its own reads wait for the
    # parent's requirements (reading beside the parent's reads slows them: they are its critical
    # path, and this process has time to spare): the selected releases of the required projects
    # (the witnesses), then every release only of those whose witness leaves a specifier undecided.
    try:
        open_store(db, as_of).close()  # a store it cannot read fails now, not after the wait
        asked = sys.stdin.readline()
        if not asked:  # the parent stopped before asking
            return 0
        requirements = feather.read_feather(json.loads(asked)["pairs"])
        unmet = unmet_reading(
            requirements["target"],
            requirements["specifier"],
            lambda names: read_latest_versions(db, names, as_of),
            lambda names: read_versions_of(db, names, as_of),
        )
    except DepgraphError as error:  # the parent raises it as its own; anything else: traceback
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    feather.write_feather(pa.Table.from_pandas(unmet.rows, preserve_index=False), job["out"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
