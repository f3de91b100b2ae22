"""The process that finds which specifiers no known release meets, beside a report's other work:
both sides of its protocol (the parent's `UnmetCheck`, the child's `main`); the check itself is
`analysis.satisfiable`.

Started by `start_unmet_check` as `python -m depgraph.analysis.unmet_worker`: a fresh
interpreter (not multiprocessing, which would re-run an unguarded user script). Two JSON lines on
stdin: the store (a PostgreSQL URL may hold a password: never on the command line); then the
Arrow file of the requirements' targets and specifiers, once the parent has read them. Then it reads
the selected releases, and the other releases only of the projects where they are needed. Writes
the rows whose specifier no release meets (`unmet_reading`: row, reason) as an Arrow IPC file;
on failure, one line on stderr and exit status 1.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather

from depgraph.core.errors import DepgraphError
from depgraph.store.reader import StoreSource

from .errors import AnalysisError
from .satisfiable import unmet_reading

__all__ = ["UnmetCheck", "main", "start_unmet_check"]


def main() -> int:
    # The check makes millions of short-lived tuples and no reference cycles: the cyclic
    # collector would only walk them (a large share of the check's time on PyPI)
    gc.disable()
    job = json.loads(sys.stdin.readline())
    db, as_of = job["db"], job["as_of"]
    # Started early so that its imports overlap the parent's reads; its own reads wait for the
    # parent's requirements (reading beside the parent's reads slows them: they are its critical
    # path, and this process has time to spare): the selected releases of the required projects
    # (the witnesses), then every release only of those whose witness leaves a specifier undecided.
    try:
        source = StoreSource(db, as_of)
        source.check()  # a store it cannot read fails now, not after the wait
        asked = sys.stdin.readline()
        if not asked:  # the parent stopped before asking
            return 0
        requirements = feather.read_feather(json.loads(asked)["pairs"])
        unmet = unmet_reading(
            requirements["target"],
            requirements["specifier"],
            source.latest_versions,
            source.versions_of,
        )
    except DepgraphError as error:  # the parent raises it as its own; anything else: traceback
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    feather.write_feather(pa.Table.from_pandas(unmet.rows, preserve_index=False), job["out"])
    return 0


class UnmetCheck:
    """`unmet_reading` in a process of its own (`analysis.unmet_worker`): started with the
    store (its imports overlap the caller's reads); asked the requirement rows' targets and
    specifiers when the caller has read them (`ask`), when it reads the releases; `result()` gives
    the unmet rows (row: the position in what was asked, reason)."""

    def __init__(self, db: str | Path, as_of: str | None = None) -> None:
        self._files: list[Path] = []
        self._asked = False
        self._out = self._temporary("out")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(_child_path())}
        self._process = subprocess.Popen(
            # -P: `-m` would put the working folder first on the path (see `_child_path`)
            [sys.executable, "-P", "-m", "depgraph.analysis.unmet_worker"],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._send({"db": str(db), "as_of": as_of, "out": str(self._out)})

    def _temporary(self, label: str) -> Path:
        handle, name = tempfile.mkstemp(prefix=f"depgraph-unmet-{label}-", suffix=".arrow")
        os.close(handle)
        self._files.append(Path(name))
        return Path(name)

    def _send(self, message: dict[str, object]) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(json.dumps(message) + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # the child has already failed: result() says why

    def ask(self, targets: pd.Series, specifiers: pd.Series) -> None:
        """Hand the requirement rows' targets and specifiers over (through an Arrow file)."""
        pairs = self._temporary("pairs")
        table = pa.table(
            {
                "target": pa.array(targets, pa.large_string(), from_pandas=True),
                "specifier": pa.array(specifiers, pa.large_string(), from_pandas=True),
            }
        )
        feather.write_feather(table, pairs, compression="uncompressed")
        self._send({"pairs": str(pairs)})
        self._asked = True
        assert self._process.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # the child has failed: result() says why
            self._process.stdin.close()

    def result(self) -> pd.DataFrame:
        """The unmet rows, once the process is done; AnalysisError with its message if it
        failed."""
        try:
            assert self._process.stdin is not None and self._process.stderr is not None
            if not self._process.stdin.closed:  # never asked: the child must not wait for it
                self._process.stdin.close()
            errors = self._process.stderr.read()
            self._process.wait()
            if self._process.returncode != 0:
                last = errors.strip().splitlines()[-1] if errors.strip() else ""
                raise AnalysisError(
                    f"the specifier check failed (exit status {self._process.returncode})"
                    + (f": {last}" if last else "")
                )
            if not self._asked:
                raise AnalysisError("the specifier check was never asked any requirement")
            return feather.read_feather(self._out)
        finally:
            self._remove_files()

    def stop(self) -> None:
        """End the process early (the report failed elsewhere)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._remove_files()

    def _remove_files(self) -> None:
        for path in self._files:
            path.unlink(missing_ok=True)


def _child_path() -> list[str]:
    """The worker's module search path: ours, after the standard library's. Ours starts with the
    folder of the script that runs us (and `-m` adds the working folder), where a `re.py` or
    `json.py` of the user's would hide the standard module from the child (this process loaded
    those before it looked there)."""
    stdlib = [sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")]
    return [*stdlib, os.path.join(stdlib[1], "lib-dynload"), *(p for p in sys.path if p)]


def start_unmet_check(db: str | Path, as_of: str | None = None) -> UnmetCheck:
    """Start the check of a store's specifiers in a process of its own (see `UnmetCheck`)."""
    return UnmetCheck(db, as_of)


if __name__ == "__main__":
    raise SystemExit(main())
