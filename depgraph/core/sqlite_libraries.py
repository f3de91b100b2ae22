"""One SQLite library per file at a time, within this process.

Two copies of SQLite live in a pypi-depgraph process: the one Python's `sqlite3` module uses and
the one built into the ADBC SQLite driver (the columnar reads). SQLite locks files with POSIX
advisory locks, which never conflict within one process, so neither copy sees the other's
connections: the copy that opens a WAL store's shared-memory index believes it is the only user,
truncates the file the other copy has mapped (the other dies of SIGBUS, or reads a wrong index),
and closing its last connection may checkpoint and delete a WAL the other still reads. SQLite's
own account: https://sqlite.org/howtocorrupt.html ("Multiple copies of SQLite linked into the
same application").

So every connection to a store file enters this guard first. `sqlite3` connections wait while
ADBC holds the file (a columnar read ends on its own); an ADBC read never waits: where `sqlite3`
holds the file (a writer's store, a service's connection) the reader takes the `sqlite3` path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

__all__ = ["Library", "holding", "release", "take"]

Library = Literal["sqlite3", "adbc"]

_changed = threading.Condition()
#: file -> library -> open connections
_open: dict[str, dict[Library, int]] = {}


def _key(path: str | Path) -> str:
    return os.path.realpath(path)


def take(library: Library, path: str | Path, wait: bool = True) -> bool:
    """Count a connection of `library` to `path`. When the other library holds the file: wait
    for it to let go (`wait`), or return False at once."""
    key = _key(path)
    with _changed:
        while True:
            held = _open.setdefault(key, {})
            others = sum(n for lib, n in held.items() if lib != library)
            if not others:
                held[library] = held.get(library, 0) + 1
                return True
            if not wait:
                return False
            _changed.wait()


def release(library: Library, path: str | Path) -> None:
    """The end of a connection counted by `take`."""
    key = _key(path)
    with _changed:
        held = _open.get(key, {})
        if held.get(library, 0) <= 0:
            raise RuntimeError(f"no {library} connection to {key} was counted")
        held[library] -= 1
        if not held[library]:
            del held[library]
        if not held:
            _open.pop(key, None)
        _changed.notify_all()


@contextmanager
def holding(library: Library, path: str | Path, wait: bool = True) -> Iterator[bool]:
    """`take` for the length of a block; yields whether the file was taken."""
    taken = take(library, path, wait)
    try:
        yield taken
    finally:
        if taken:
            release(library, path)
