"""Throw-away PostgreSQL databases on the loopback server CI starts (scripts/postgres.sh).

DEPGRAPH_TEST_PG names a database whose role may CREATE DATABASE; each test gets a fresh database
of its own, dropped afterwards. Where it is not set the PostgreSQL tests skip with that reason, and
under CI=true (where scripts/test.sh sets it) they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

PG_ENV = "DEPGRAPH_TEST_PG"


def pg_base_url() -> str:
    """The server's admin URL, or a skip (a failure under CI=true) naming what is missing."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    reason = f"needs a PostgreSQL server: set {PG_ENV} (scripts/postgres.sh prints one)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + "; CI=true requires it")
    pytest.skip(reason)


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_database(base: str | None = None) -> Iterator[str]:
    """A new empty database on the test server; its URL. Dropped on the way out."""
    base = base or pg_base_url()
    name = f"depgraph_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(base, name)
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
