"""Read a pypi-depgraph store into name-level frames. Read-only: never the network, never a write.

Tables, columns and state values come from the one schema module (`depgraph_core.schema`); a store
of another schema version is refused with a clear message before anything is read.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pandas as pd

from depgraph_core.errors import StoreError
from depgraph_core.schema import DepsState, FileKind, RequirementKind, check_version

from .errors import EmptyStoreError

__all__ = [
    "REQUIREMENT_COLUMNS",
    "open_store",
    "read_nodes",
    "read_requirements",
    "read_versions",
    "require_projects",
]

_HINT = "Open it once with `depgraph status --db PATH` to bring it up to date."


def open_store(db: str | Path) -> sqlite3.Connection:
    """A read-only connection to a store of this schema version (StoreError otherwise)."""
    path = Path(db)
    if not path.exists():
        raise StoreError(f"no store at {path}")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        check_version(conn, str(path), _HINT.replace("PATH", str(path)))
    except BaseException:
        conn.close()
        raise
    return conn


def require_projects(db: str | Path) -> None:
    """EmptyStoreError when the store holds no project yet."""
    with closing(open_store(db)) as conn:
        if conn.execute("SELECT count(*) FROM projects").fetchone()[0] == 0:
            raise EmptyStoreError(f"the store at {db} holds no projects yet: crawl or import first")


def read_nodes(db: str | Path) -> pd.DataFrame:
    """One row per project: latest version, dependency state of that release, wheels/sdist,
    releases."""
    sql = """
        WITH kinds AS (
            SELECT r.project, max(f.kind = :wheel) AS has_wheels, max(f.kind = :sdist) AS has_sdist
            FROM files f JOIN releases r ON r.id = f.release_id GROUP BY r.project),
        counts AS (SELECT project, count(*) AS releases FROM releases GROUP BY project),
        uploads AS (
            SELECT r.project, max(f.upload_time) AS last_upload
            FROM files f JOIN releases r ON r.id = f.release_id
            WHERE f.upload_time IS NOT NULL GROUP BY r.project)
        SELECT p.name, p.status, l.version AS latest_version,
               coalesce(l.deps_state, 'no-release') AS deps_state, l.metadata_source,
               l.deps_verified,
               coalesce(c.releases, 0) AS releases,
               coalesce(k.has_wheels, 0) AS has_wheels, coalesce(k.has_sdist, 0) AS has_sdist,
               u.last_upload
        FROM projects p
        LEFT JOIN releases l ON l.project = p.name AND l.is_latest = 1
        LEFT JOIN counts c ON c.project = p.name
        LEFT JOIN kinds k ON k.project = p.name
        LEFT JOIN uploads u ON u.project = p.name
    """
    params = {"wheel": FileKind.WHEEL.value, "sdist": FileKind.SDIST.value}
    with closing(open_store(db)) as conn:
        nodes = pd.read_sql_query(sql, conn, params=params)
    nodes["deps_known"] = nodes["deps_state"].eq(DepsState.KNOWN.value)
    nodes["has_wheels"] = nodes["has_wheels"].astype(bool)
    nodes["has_sdist"] = nodes["has_sdist"].astype(bool)
    nodes["sdist_only"] = nodes["has_sdist"] & ~nodes["has_wheels"]
    return nodes


_COLUMNS = {
    "is_latest": "r.is_latest",
    "source": "r.project",
    "target": "q.name",
    "version": "r.version",
    "specifier": "q.specifier",
    "marker": "q.marker",
    "extra": "q.extra",
    "extras": "q.extras",
    "kind": "q.kind",
    "raw": "q.raw",
}

RUNTIME_KINDS = (RequirementKind.RUN, RequirementKind.EXTRA)


#: the columns read_requirements gives by default
REQUIREMENT_COLUMNS = (
    "source",
    "target",
    "version",
    "specifier",
    "marker",
    "extra",
    "extras",
    "kind",
    "raw",
)


def read_requirements(
    db: str | Path,
    latest_only: bool = True,
    kinds: tuple[str, ...] = RUNTIME_KINDS,
    columns: tuple[str, ...] = REQUIREMENT_COLUMNS,
) -> pd.DataFrame:
    """Requirement rows of known releases: source, target, version, specifier, marker, extra, kind,
    raw."""
    where = "r.deps_state = ? AND q.kind IN ({})".format(",".join("?" * len(kinds)))
    if latest_only:
        where += " AND r.is_latest = 1"
    select = ", ".join(f"{_COLUMNS[c]} AS {c}" for c in columns)
    sql = (
        f"SELECT {select} FROM requirements q JOIN releases r ON r.id = q.release_id WHERE {where}"
    )
    params = [DepsState.KNOWN.value, *(str(k) for k in kinds)]
    with closing(open_store(db)) as conn:
        return pd.read_sql_query(sql, conn, params=params)


def read_versions(db: str | Path) -> pd.DataFrame:
    """Every (project, version, yanked) the store knows, for satisfiability checks."""
    with closing(open_store(db)) as conn:
        return pd.read_sql_query("SELECT project, version, yanked FROM releases", conn)
