"""Load public dependency data sets into the store, so all of PyPI can be analysed before (or
instead of) crawling it. Provenance is recorded: `projects.index_url` and `releases.metadata_source`
say `import:<data set>/<part>`.

- mach-nix pypi-deps-db: `sdist/XX.json.gz` (setup.py run in a sandbox, per CPython version) and
  `wheel/XX.json.gz` (wheel METADATA), `sdist-errors/XX.json.gz`; string values are aliases.
- BigQuery `bigquery-public-data.pypi.distribution_metadata` exports, CSV or JSONL, with at least
  `name`, `version`, `requires_dist` (a JSON list, a newline-separated string, or a list in JSONL).
"""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from packaging.requirements import InvalidRequirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .metadata import Edge, parse_requirement
from .store import Store, now

__all__ = ["ImportSummary", "import_pypi_deps_db", "import_bigquery", "ImportedRelease"]

PYVERS = ("310", "39", "38", "37", "36", "27")  # newest interpreter first


@dataclass
class ImportedRelease:
    project: str
    version: str
    source: str
    requires_python: str | None
    lines: list[tuple[str, str]]  # (requirement string, kind)
    #: every other version the data set knows of the project: stored as releases without
    #: dependencies (deps_state "not-imported"), so satisfiability checks see the real history
    other_versions: tuple[str, ...] = ()


@dataclass
class ImportSummary:
    projects: int = 0
    releases: int = 0
    requirements: int = 0
    bad_requirements: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


@lru_cache(maxsize=1 << 20)
def _edge(line: str, kind: str) -> Edge | str:
    try:
        return parse_requirement(line, kind)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0]


def _version_key(v: str) -> tuple[int, Version]:
    try:
        return (1, Version(v))
    except InvalidVersion:
        return (0, Version("0"))


def _resolve(mapping: dict, key: str, limit: int = 50) -> object:
    value = mapping.get(key)
    while isinstance(value, str) and limit:
        value, limit = mapping.get(value), limit - 1
    return value


def _sdist_lines(entry: dict) -> tuple[list[tuple[str, str]], str | None, str]:
    for pyver in PYVERS:
        deps = _resolve(entry, pyver)
        if isinstance(deps, dict):
            break
    else:
        return [], None, "?"
    lines = [(r, "run") for r in deps.get("install_requires") or []]
    for extra, reqs in (deps.get("extras_require") or {}).items():
        for r in reqs or []:
            lines.append((f'{r} and extra == "{extra}"' if ";" in r else f'{r}; extra == "{extra}"', "run"))
    lines += [(r, "setup") for r in deps.get("setup_requires") or []]
    lines += [(r, "test") for r in deps.get("tests_require") or []]
    rp = deps.get("python_requires")
    return lines, (",".join(rp) if isinstance(rp, list) and rp else None), pyver


def _wheel_meta(tags: dict, version: str) -> dict | None:
    for files in tags.values():
        for meta in (files.get(version) or {}).values():
            hops = 0
            while isinstance(meta, str) and hops < 20:  # "<version>@<filename>"
                ref_version, _, ref_file = meta.partition("@")
                meta = next((f[ref_version][ref_file] for f in tags.values()
                             if ref_version in f and ref_file in f[ref_version]), None)
                hops += 1
            if isinstance(meta, dict):
                return meta
    return None


def _read_bucket(path: Path) -> dict:
    if not path.exists():
        return {}
    with gzip.open(path) as fh:
        return json.load(fh)


def pypi_deps_db_releases(folder: Path, all_versions: bool = False) -> Iterator[ImportedRelease]:
    buckets = sorted({p.name for sub in ("sdist", "wheel") for p in (folder / sub).glob("*.json.gz")})
    for bucket in buckets:
        sdists, wheels = _read_bucket(folder / "sdist" / bucket), _read_bucket(folder / "wheel" / bucket)
        for project in sorted(set(sdists) | set(wheels)):
            s_entry, w_tags = sdists.get(project, {}), wheels.get(project, {})
            versions = set(s_entry) | {v for files in w_tags.values() for v in files}
            chosen = sorted(versions, key=_version_key) if all_versions else [max(versions, key=_version_key)]
            others = () if all_versions else tuple(v for v in versions if v != chosen[0])
            for version in chosen:
                meta = _wheel_meta(w_tags, version)
                if meta is not None:
                    lines = [(r, "run") for r in meta.get("requires_dist") or []]
                    yield ImportedRelease(project, version, "import:pypi-deps-db/wheel", meta.get("requires_python"),
                                          lines, others)
                    continue
                entry = _resolve(s_entry, version)
                if isinstance(entry, dict):
                    lines, rp, pyver = _sdist_lines(entry)
                    yield ImportedRelease(project, version, f"import:pypi-deps-db/sdist-py{pyver}", rp, lines, others)


def bigquery_releases(path: Path) -> Iterator[ImportedRelease]:
    def rows() -> Iterable[dict]:
        if path.suffix in (".jsonl", ".json", ".ndjson"):
            with path.open(encoding="utf-8") as fh:
                for number, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            yield {"_line": number, **json.loads(line)}
                        except json.JSONDecodeError as exc:
                            raise ValueError(f"{path}:{number}: not JSON: {exc.msg}") from None
        else:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                for row in reader:
                    yield {"_line": reader.line_num, **row}

    for row in rows():
        if not row.get("name") or not row.get("version"):
            raise ValueError(f"{path}:{row['_line']}: a row needs name and version")
        value = row.get("requires_dist") or []
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [v for v in text.splitlines() if v.strip()]
        yield ImportedRelease(row["name"], str(row["version"]), "import:bigquery/distribution_metadata",
                              row.get("requires_python") or None, [(str(v), "run") for v in value])


def _write(store: Store, releases: Iterable[ImportedRelease], origin: str, latest_only: bool) -> ImportSummary:
    summary = ImportSummary()
    stamp = now()
    batch: list[ImportedRelease] = []

    def flush() -> None:
        with store.transaction() as conn:
            _flush(conn, batch, origin, stamp, summary)
        batch.clear()

    by_project: dict[str, ImportedRelease] = {}
    for rel in releases:
        if latest_only:  # BigQuery exports carry every version: keep the highest per project
            name = canonicalize_name(rel.project)
            best = by_project.get(name)
            if best is None or _version_key(rel.version) > _version_key(best.version):
                by_project[name] = rel
            continue
        batch.append(rel)
        if len(batch) >= 20000:
            flush()
    batch.extend(by_project.values())
    flush()
    return summary


def _flush(conn: sqlite3.Connection, batch: list[ImportedRelease], origin: str, stamp: str, summary: ImportSummary) -> None:
    projects = {canonicalize_name(r.project) for r in batch}
    conn.executemany(
        "INSERT INTO projects (name, display_name, index_url, status, crawled_at) VALUES (?,?,?,'ok',?)"
        " ON CONFLICT(name) DO UPDATE SET index_url = excluded.index_url, crawled_at = excluded.crawled_at",
        [(p, p, origin, stamp) for p in projects])
    summary.projects += len(projects)
    for rel in batch:
        project = canonicalize_name(rel.project)
        rid = conn.execute(
            "INSERT INTO releases (project, version, yanked, requires_python, deps_state, metadata_source,"
            " files_digest, extractor_version) VALUES (?,?,0,?,'known',?,'',?)"
            " ON CONFLICT(project, version) DO UPDATE SET requires_python = excluded.requires_python,"
            " deps_state = 'known', metadata_source = excluded.metadata_source RETURNING id",
            (project, rel.version, rel.requires_python, rel.source, "import")).fetchone()[0]
        conn.execute("DELETE FROM requirements WHERE release_id = ?", (rid,))
        conn.execute("DELETE FROM failures WHERE project = ? AND version = ? AND stage = 'import'", (project, rel.version))
        rows, bad = [], []
        for line, kind in dict.fromkeys(rel.lines):
            edge = _edge(line.strip(), kind)
            if isinstance(edge, str):
                bad.append((project, rel.version, None, "import", "bad-requirement", f"{line!r}: {edge}", stamp))
            else:
                rows.append((rid, edge.raw, edge.name, edge.specifier, edge.marker, edge.extra, edge.extras,
                             edge.kind, rel.source, "import"))
        conn.executemany("INSERT INTO requirements (release_id, raw, name, specifier, marker, extra, extras, kind,"
                         " source, extractor_version) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        conn.executemany("INSERT INTO failures (project, version, filename, stage, reason, detail, recorded_at)"
                         " VALUES (?,?,?,?,?,?,?)", bad)
        conn.executemany(
            "INSERT OR IGNORE INTO releases (project, version, yanked, deps_state, files_digest, extractor_version)"
            " VALUES (?,?,0,'not-imported','','import')", [(project, v) for v in rel.other_versions])
        summary.releases += 1
        summary.requirements += len(rows)
        summary.bad_requirements += len(bad)
        summary.by_source[rel.source] = summary.by_source.get(rel.source, 0) + 1
    for project in projects:
        Store.mark_latest(conn, project)


def import_pypi_deps_db(folder: str | Path, store: Store, all_versions: bool = False) -> ImportSummary:
    return _write(store, pypi_deps_db_releases(Path(folder), all_versions), "import:pypi-deps-db", latest_only=False)


def import_bigquery(path: str | Path, store: Store, all_versions: bool = False) -> ImportSummary:
    return _write(store, bigquery_releases(Path(path)), "import:bigquery", latest_only=not all_versions)
