"""Connections and transactions of a store: one connection per thread (SQLite in WAL mode, or
PostgreSQL through `depgraph.core.db`), a transaction helper, the `meta` key-value table, and the
retry of a whole method whose PostgreSQL connection was lost."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from depgraph.core.db import (
    Connection,
    ConnectionLost,
    Dialect,
    RetryableError,
    connect,
    display_locator,
)
from depgraph.core.schema import check_version, migrate

log = logging.getLogger("pypi-depgraph")

__all__ = ["RECONNECT_SECONDS", "StoreBase", "now", "retried_on_connection_loss"]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


P = ParamSpec("P")
T = TypeVar("T")

#: how long a write waits for a lost database to come back before giving up
RECONNECT_SECONDS = 120.0


def retried_on_connection_loss(method: Callable[P, T]) -> Callable[P, T]:
    """Run a store method again when its connection was lost (on a new connection) or the server
    aborted its transaction to break a deadlock with a concurrent writer. Each such method is one
    transaction (rolled back) or a read, so running it again is safe."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        store = args[0]
        assert isinstance(store, StoreBase)
        deadline = time.monotonic() + RECONNECT_SECONDS
        delay = 0.25
        while True:
            try:
                return method(*args, **kwargs)
            except RetryableError as exc:
                if isinstance(exc, ConnectionLost):
                    store.close()
                if time.monotonic() > deadline:
                    raise
                log.warning("%s: %s; retrying in %.1f s", store.name, exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class StoreBase:
    """A store's connections. Opening one creates the schema, migrates an older one, and refuses a
    newer or foreign database with a clear message."""

    def __init__(
        self, path: str | Path, read_only: bool = False, statement_seconds: float | None = None
    ) -> None:
        self.path = str(path)
        #: a statement running longer is stopped (StatementTimeout): for services
        self.statement_seconds = statement_seconds
        #: the locator for messages (a URL's password hidden)
        self.name = display_locator(self.path)
        #: reads only: nothing is created, migrated or written (a store on a read-only disk)
        self.read_only = read_only
        self._local = threading.local()
        # the projects this object wrote (their releases, files, requirements, status) since
        # `take_written`; None: possibly all of them
        self._written: set[str] | None = set()
        # check (and create or migrate) before any pragma writes to a file that may not be ours
        with closing(connect(self.path, read_only=read_only)) as conn:
            if read_only:
                check_version(conn, self.name, "It cannot be brought up to date where it lies.")
            else:
                migrate(conn, self.name)

    @property
    def dialect(self) -> Dialect:
        return self.db.dialect

    @property
    def db(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self.read_only, self.statement_seconds)
            if conn.dialect is Dialect.SQLITE and not self.read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: durable at each checkpoint, never corrupt
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                conn.close()
            finally:
                self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        db = self.db
        with db.batched():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except ConnectionLost:
                raise  # nothing to roll back on a dead connection: the server did it
            except BaseException:
                db.execute("ROLLBACK")
                raise
            else:
                db.execute("COMMIT")

    def note_written(self, names: Iterable[str] | None) -> None:
        """Record that these projects' rows were (or may have been) written; None: any project's.
        Noted before the commit: a rolled-back write noted is harmless, a commit not noted is
        not."""
        if names is None:
            self._written = None
        elif self._written is not None:
            self._written.update(names)

    def take_written(self) -> set[str] | None:
        """The projects this object wrote since the last call (None: it cannot say which, as
        after a store-wide re-derivation), and start counting anew. What other processes wrote
        is not in it."""
        written, self._written = self._written, set()
        return written

    @retried_on_connection_loss
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @retried_on_connection_loss
    def set_meta(self, values: dict[str, str]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                "value = excluded.value",
                list(values.items()),
            )
