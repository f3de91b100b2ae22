"""The rows of one release that every write path replaces the same way: its requirements, its
failures, and which release of a project is the latest."""

from __future__ import annotations

from collections.abc import Iterable

from depgraph.core.db import Connection
from depgraph.core.requirements import Edge
from depgraph.core.versions import latest_key

from .connection import now
from .rows import Failure

__all__ = [
    "insert_failures",
    "insert_requirements",
    "latest_release",
    "mark_latest",
    "replace_requirements",
]


def latest_release(rows: Iterable[tuple[int, str, int]]) -> int | None:
    """Id of the latest (id, version, yanked) row, by the rule of `depgraph.core.versions`."""
    best = max(rows, key=lambda row: latest_key(row[1], bool(row[2])), default=None)
    return None if best is None else best[0]


def mark_latest(db: Connection, project: str) -> None:
    rows = db.execute(
        "SELECT id, version, yanked FROM releases WHERE project = ?", (project,)
    ).fetchall()
    best = latest_release(rows)
    db.execute(
        "UPDATE releases SET is_latest = CASE WHEN id = ? THEN 1 ELSE 0 END WHERE project = ?",
        (best, project),
    )


def replace_requirements(
    db: Connection,
    release_id: int,
    edges: list[Edge],
    source: str,
    extractor_version: str,
) -> None:
    db.execute("DELETE FROM requirements WHERE release_id = ?", (release_id,))
    insert_requirements(db, release_id, edges, source, extractor_version)


def insert_requirements(
    db: Connection,
    release_id: int,
    edges: list[Edge],
    source: str,
    extractor_version: str,
) -> None:
    db.executemany(
        "INSERT INTO requirements (release_id, raw, name, specifier, marker, extra, extras,"
        " kind, source, extractor_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                release_id,
                e.raw,
                e.name,
                e.specifier,
                e.marker,
                e.extra,
                e.extras,
                e.kind,
                source,
                extractor_version,
            )
            for e in edges
        ],
    )


def insert_failures(
    db: Connection, project: str, version: str | None, failures: list[Failure]
) -> None:
    stamp = now()
    db.executemany(
        "INSERT INTO failures (project, version, filename, stage, reason, detail, recorded_at)"
        " VALUES (?,?,?,?,?,?,?)",
        [
            (project, version, f.filename, f.stage, f.reason, f.detail[:4000], stamp)
            for f in failures
        ],
    )
