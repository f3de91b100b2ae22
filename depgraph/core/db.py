"""Where a store lives, and the one connection type its writer and readers use.

`--db` takes a SQLite file path (the embedded default) or a PostgreSQL URL
(`postgresql://user:password@host:port/dbname`). Both give a `Connection` with the subset of the
DB-API the store uses. SQL is written once, in the common dialect both servers accept
(`ON CONFLICT`, `RETURNING`, `CASE`), with `?` placeholders; the PostgreSQL connection rewrites
the placeholders for psycopg. The few statements that cannot be shared ask `conn.dialect`.

PostgreSQL connections are psycopg 3 (the maintained driver; server-side binding and pipelined
`executemany`). A lost connection (server restart, network cut) surfaces as `ConnectionLost`, so
writers can reconnect and retry a whole transaction.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from . import sqlite_libraries
from .errors import StoreError

__all__ = [
    "Connection",
    "ConnectionLost",
    "Cursor",
    "Dialect",
    "RetryableError",
    "StatementTimeout",
    "TransientConflict",
    "connect",
    "display_locator",
    "is_postgres",
    "sqlite_read_uri",
    "writable",
]


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class RetryableError(StoreError):
    """The transaction failed for a reason that running it again can cure."""


class ConnectionLost(RetryableError):
    """The database went away mid-statement (a restart, a cut network): reconnect and retry."""


class StatementTimeout(StoreError):
    """A statement ran past the time its connection allows (see `connect`)."""


class TransientConflict(RetryableError):
    """The server aborted the transaction to break a deadlock or a serialization conflict with a
    concurrent writer: roll back and retry."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    def executescript(self, sql: str) -> None: ...

    def close(self) -> None: ...

    def batched(self) -> AbstractContextManager[object]: ...


def is_postgres(locator: str | Path) -> bool:
    return str(locator).startswith(("postgresql://", "postgres://"))


def sqlite_read_uri(path: str | Path) -> str:
    """The URI that opens a SQLite store for reading only. Where the file or its folder cannot be
    written (a read-only filesystem, a shared data set), SQLite could not create the WAL's
    shared-memory file beside it; nobody can write the file there either, so it is opened as
    immutable, which needs no such file."""
    resolved = Path(path).resolve()
    uri = f"{resolved.as_uri()}?mode=ro"
    if not (os.access(resolved.parent, os.W_OK) and os.access(resolved, os.W_OK)):
        uri += "&immutable=1"
    return uri


def writable(locator: str | Path) -> bool:
    """Whether a store can be written where it lies (PostgreSQL: assumed; the server decides)."""
    if is_postgres(locator):
        return True
    path = Path(locator)
    folder_ok = os.access(path.resolve().parent, os.W_OK)
    return folder_ok and (not path.exists() or os.access(path, os.W_OK))


def display_locator(locator: str | Path) -> str:
    """The locator for messages: a URL's password is never printed."""
    text = str(locator)
    if not is_postgres(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class SqliteConnection:
    """sqlite3, autocommit (transactions are explicit BEGIN/COMMIT)."""

    dialect = Dialect.SQLITE

    def __init__(
        self, path: str, read_only: bool = False, statement_seconds: float | None = None
    ) -> None:
        # never beside the ADBC driver's own SQLite on the same file (see sqlite_libraries)
        sqlite_libraries.take("sqlite3", path)
        self._path: str | None = path
        try:
            if read_only:
                self.raw = sqlite3.connect(sqlite_read_uri(path), uri=True)
            else:
                self.raw = sqlite3.connect(path, timeout=60, isolation_level=None)
        except BaseException:
            self._release()
            raise
        self._limit = statement_seconds
        self._deadline = float("inf")
        if statement_seconds is not None:
            # SQLite calls this every 10,000 virtual machine steps: a statement past its time is
            # interrupted (sqlite3.OperationalError "interrupted"), whatever it was doing
            self.raw.set_progress_handler(self._past_deadline, 10_000)

    def _past_deadline(self) -> int:
        return 1 if time.monotonic() > self._deadline else 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self._limit is None:
            return self.raw.execute(sql, params)
        self._deadline = time.monotonic() + self._limit
        try:
            return self.raw.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if str(exc) == "interrupted":
                raise StatementTimeout(
                    f"a query ran past {self._limit:g} s and was stopped"
                ) from None
            raise

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.raw.executemany(sql, rows)

    def executescript(self, sql: str) -> None:
        self.raw.executescript(sql)

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            self._release()

    def _release(self) -> None:
        if self._path is not None:
            path, self._path = self._path, None
            sqlite_libraries.release("sqlite3", path)

    def batched(self) -> AbstractContextManager[object]:
        return nullcontext()  # in-process: no round trips to save


_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    """`?` placeholders as psycopg's `%s` (a literal `%` doubled); SQLite's lock-taking BEGIN as
    plain BEGIN. The store's SQL has no `?` inside string literals."""
    sql = sql.replace("%", "%%")
    sql = _PLACEHOLDER.sub("%s", sql)
    return sql.replace("BEGIN IMMEDIATE", "BEGIN")


def _bool_dumper() -> type:
    from psycopg.adapt import Dumper
    from psycopg.postgres import types

    class BoolAsInt(Dumper):
        oid = types["int8"].oid

        def dump(self, obj: object) -> bytes:
            return b"1" if obj else b"0"

    return BoolAsInt


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresConnection:
    """psycopg 3 in autocommit mode: like the SQLite connection, transactions are explicit."""

    dialect = Dialect.POSTGRESQL

    def __init__(
        self, url: str, read_only: bool = False, statement_seconds: float | None = None
    ) -> None:
        try:
            import psycopg
        except ModuleNotFoundError:
            raise StoreError(
                "a PostgreSQL store needs psycopg: pip install 'pypi-depgraph[cluster]'"
            ) from None

        self._errors = (psycopg.OperationalError, psycopg.InterfaceError)
        self._conflicts = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
        try:
            self.raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise ConnectionLost(
                f"{display_locator(url)}: cannot connect: {_first_line(exc)}"
            ) from None
        # flags are 0/1 integers in both dialects (SQLite has no boolean type)
        self.raw.adapters.register_dumper(bool, _bool_dumper())
        if read_only:
            self.raw.execute("SET default_transaction_read_only = on")
        self._timeout = psycopg.errors.QueryCanceled
        if statement_seconds is not None:
            self.raw.execute(f"SET statement_timeout = {int(statement_seconds * 1000)}")

    def _translated(self, exc: Exception) -> StoreError:
        first = _first_line(exc)
        if isinstance(exc, self._conflicts):  # (subclasses of OperationalError: first)
            return TransientConflict(f"PostgreSQL aborted the transaction: {first}")
        return ConnectionLost(f"the PostgreSQL connection was lost: {first}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        try:
            return self.raw.execute(to_psycopg(sql), tuple(params))
        except self._timeout as exc:
            raise StatementTimeout(f"PostgreSQL stopped a query: {_first_line(exc)}") from None
        except self._errors as exc:
            raise self._translated(exc) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if not batch:
            return
        try:
            with self.raw.cursor() as cur:
                cur.executemany(to_psycopg(sql), batch)
        except self._errors as exc:
            raise self._translated(exc) from exc

    def executescript(self, sql: str) -> None:
        # no parameters: psycopg sends it as one simple query, every statement in it runs
        try:
            self.raw.execute(sql.encode())
        except self._errors as exc:
            raise self._translated(exc) from exc

    def close(self) -> None:
        self.raw.close()

    def batched(self) -> AbstractContextManager[object]:
        """Pipeline mode: statements go out without waiting for each answer (a transaction of a
        few hundred statements costs a few round trips, not hundreds)."""
        return self.raw.pipeline()


def connect(
    locator: str | Path, read_only: bool = False, statement_seconds: float | None = None
) -> Connection:
    """A connection to the store at `locator` (a SQLite path or a postgresql:// URL). With
    `statement_seconds`, a statement that runs longer is stopped (StatementTimeout): a service
    answering strangers never runs a query for minutes."""
    if is_postgres(locator):
        return PostgresConnection(str(locator), read_only, statement_seconds)
    return SqliteConnection(str(locator), read_only, statement_seconds)
