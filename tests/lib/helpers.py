"""Comparison helpers for tests: requirement sets compared semantically, store dumps."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from depgraph.core.db import connect


def requirement_key(raw: str) -> tuple[str, frozenset[str], frozenset[str], str]:
    """Name, extras, specifiers and marker of a requirement, spelled canonically."""
    try:
        req = Requirement(raw)
    except InvalidRequirement:
        return (" ".join(raw.lower().split()), frozenset(), frozenset(), "<unparseable>")
    marker = str(Marker(str(req.marker))) if req.marker else ""
    return (
        canonicalize_name(req.name),
        frozenset(canonicalize_name(e) for e in req.extras),
        frozenset(str(s) for s in req.specifier),
        marker,
    )


def requirement_set(raws: list[str]) -> set[tuple[str, frozenset[str], frozenset[str], str]]:
    return {requirement_key(r) for r in raws}


def stored_requirements(db: Path | str, project: str, version: str) -> list[str]:
    with closing(connect(db)) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT q.raw FROM requirements q JOIN releases r ON r.id = q.release_id"
                " WHERE r.project = ? AND r.version = ?",
                (canonicalize_name(project), version),
            )
        ]


def query(db: Path | str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Rows of one query on a store, SQLite file or PostgreSQL URL alike."""
    with closing(connect(db)) as conn:
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]


def dump_store(db: Path | str) -> dict[str, list[tuple[object, ...]]]:
    """Table contents without surrogate ids or timestamps: equal dumps mean equal stores."""
    queries = {
        "projects": "SELECT name, display_name, status, serial FROM projects",
        "releases": "SELECT project, version, yanked, is_latest, requires_python, deps_state,"
        " metadata_source, metadata_file, files_digest, extractor_version, note FROM releases",
        "files": "SELECT r.project, f.filename, f.url, f.sha256, f.size, f.kind, f.yanked,"
        " f.core_metadata FROM files f JOIN releases r ON r.id = f.release_id",
        "requirements": "SELECT r.project, r.version, q.raw, q.name, q.specifier, q.marker,"
        " q.extra, q.kind, q.source FROM requirements q JOIN releases r ON r.id = q.release_id",
        "failures": "SELECT project, version, filename, stage, reason FROM failures",
    }
    with closing(connect(db)) as conn:
        return {
            t: sorted((tuple(r) for r in conn.execute(q).fetchall()), key=repr)
            for t, q in queries.items()
        }


def crawl_cli(index_url: str, db: Path | str, *extra: str, sandbox: str = "none") -> int:
    """`depgraph crawl --all` of `index_url` into `db`, quiet, as a user runs it; the exit code."""
    from depgraph.cli import main

    return main(
        [
            "crawl",
            "--index-url",
            index_url,
            "--db",
            str(db),
            "--all",
            "--sandbox",
            sandbox,
            "-q",
            *extra,
        ]
    )
