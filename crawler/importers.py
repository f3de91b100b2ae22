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
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depgraph.core.progress import Progress, silent
from depgraph.core.requirements import Edge, parse_requirement
from depgraph.core.schema import RequirementKind
from depgraph.core.versions import latest_key
from depgraph.sandbox.result import requires_from_setup_kwargs
from depgraph.store import ImportedRelease, Store

from .errors import ImportFormatError

__all__ = [
    "ImportSummary",
    "bigquery_releases",
    "import_bigquery",
    "import_pypi_deps_db",
    "pypi_deps_db_releases",
]

PYVERS = ("310", "39", "38", "37", "36", "27")  # newest interpreter first


@dataclass
class ImportSummary:
    projects: int = 0
    releases: int = 0
    requirements: int = 0
    bad_requirements: int = 0
    by_source: dict[str, int] = field(default_factory=dict)


@lru_cache(maxsize=1 << 20)
def _edges(line: str, kind: RequirementKind) -> list[Edge] | str:
    try:
        return parse_requirement(line, kind)
    except InvalidRequirement as exc:
        return str(exc).splitlines()[0]


Line = tuple[str, RequirementKind]  # a requirement string as the data set gives it, and its kind


def _release(
    project: str,
    version: str,
    source: str,
    requires_python: str | None,
    lines: Iterable[Line],
    other_versions: tuple[str, ...] = (),
) -> ImportedRelease:
    """Parse a data set's requirement strings; the ones packaging rejects are kept as bad lines."""
    edges: list[Edge] = []
    bad: list[str] = []
    for line, kind in dict.fromkeys(lines):
        parsed = _edges(line.strip(), kind)
        if isinstance(parsed, str):
            bad.append(f"{line!r}: {parsed}")
        else:
            edges.extend(parsed)
    return ImportedRelease(
        canonicalize_name(project), version, source, requires_python, edges, bad, other_versions
    )


def _version_key(v: str) -> tuple[int, Version]:
    try:
        return (1, Version(v))
    except InvalidVersion:
        return (0, Version("0"))


def _resolve(mapping: dict[str, Any], key: str, limit: int = 50) -> object:
    value = mapping.get(key)
    while isinstance(value, str) and limit:
        value, limit = mapping.get(value), limit - 1
    return value


def _sdist_lines(entry: dict[str, object]) -> tuple[list[Line], str | None, str]:
    for pyver in PYVERS:
        deps = _resolve(entry, pyver)
        if isinstance(deps, dict):
            break
    else:
        return [], None, "?"
    run, setup, test = RequirementKind.RUN, RequirementKind.SETUP, RequirementKind.TEST
    # setup() keywords become Requires-Dist lines as setuptools writes them: an extras_require key
    # may carry a marker ("security:python_version<'3'"), or be a marker alone (":sys_platform
    # == 'win32'": a conditional base requirement, not an extra)
    requires, _ = requires_from_setup_kwargs(
        {
            "install_requires": deps.get("install_requires"),
            "extras_require": deps.get("extras_require"),
        }
    )
    lines: list[Line] = [(r, run) for r in requires]
    lines += [(r, setup) for r in deps.get("setup_requires") or []]
    lines += [(r, test) for r in deps.get("tests_require") or []]
    rp = deps.get("python_requires")
    return lines, (",".join(rp) if isinstance(rp, list) and rp else None), pyver


def _wheel_meta(tags: dict[str, Any], version: str) -> dict[str, Any] | None:
    for files in tags.values():
        for meta in (files.get(version) or {}).values():
            hops = 0
            while isinstance(meta, str) and hops < 20:  # "<version>@<filename>"
                ref_version, _, ref_file = meta.partition("@")
                meta = next(
                    (
                        f[ref_version][ref_file]
                        for f in tags.values()
                        if ref_version in f and ref_file in f[ref_version]
                    ),
                    None,
                )
                hops += 1
            if isinstance(meta, dict):
                return meta
    return None


#: a bucket's JSON, inflated: mach-nix's largest are tens of MB
MAX_BUCKET_BYTES = 2 * 1024**3


def _read_bucket(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with gzip.open(path) as fh:
            text = fh.read(MAX_BUCKET_BYTES + 1)
        if len(text) > MAX_BUCKET_BYTES:
            raise ImportFormatError(f"{path}: inflates to more than {MAX_BUCKET_BYTES} bytes")
        bucket = json.loads(text)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ImportFormatError(f"{path}: not a gzip file: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise ImportFormatError(f"{path}: not JSON: {exc}"[:300]) from None
    if not isinstance(bucket, dict):
        raise ImportFormatError(f"{path}: not a pypi-deps-db bucket (a JSON object)")
    return bucket


def _bucket_names(folder: Path) -> list[str]:
    """The buckets of a pypi-deps-db checkout; ImportFormatError when it is not one."""
    if not folder.is_dir():
        raise ImportFormatError(f"{folder}: not a folder (a pypi-deps-db checkout is one)")
    names = sorted({p.name for sub in ("sdist", "wheel") for p in (folder / sub).glob("*.json.gz")})
    if not names:
        raise ImportFormatError(
            f"{folder}: no pypi-deps-db buckets (sdist/*.json.gz or wheel/*.json.gz)"
        )
    return names


def pypi_deps_db_releases(
    folder: Path,
    all_versions: bool = False,
    progress: Progress = silent,
    only: set[str] | None = None,
) -> Iterator[ImportedRelease]:
    """Each project's latest release (or every release) in a mach-nix pypi-deps-db checkout (of
    the buckets named in `only`, or all); `progress` hears of each bucket file read."""
    buckets = [b for b in _bucket_names(folder) if only is None or b in only]
    for done, bucket in enumerate(buckets):
        progress("import", done, len(buckets))
        sdists = _read_bucket(folder / "sdist" / bucket)
        wheels = _read_bucket(folder / "wheel" / bucket)
        for project in sorted(set(sdists) | set(wheels)):
            s_entry, w_tags = sdists.get(project, {}), wheels.get(project, {})
            if (
                not isinstance(s_entry, dict)
                or not isinstance(w_tags, dict)
                or not all(isinstance(files, dict) for files in w_tags.values())
            ):
                raise ImportFormatError(
                    f"{folder}/*/{bucket}: project {str(project)[:100]!r} is not an object of "
                    "versions as pypi-deps-db writes it"
                )
            versions = set(s_entry) | {v for files in w_tags.values() for v in files}
            if all_versions:
                chosen, others = sorted(versions, key=_version_key), ()
            else:
                latest = max(versions, key=latest_key)
                chosen, others = [latest], tuple(v for v in versions if v != latest)
            for version in chosen:
                meta = _wheel_meta(w_tags, version)
                if meta is not None:
                    lines = [(r, RequirementKind.RUN) for r in meta.get("requires_dist") or []]
                    yield _release(
                        project,
                        version,
                        "import:pypi-deps-db/wheel",
                        meta.get("requires_python"),
                        lines,
                        others,
                    )
                    continue
                entry = _resolve(s_entry, version)
                if isinstance(entry, dict):
                    lines, rp, pyver = _sdist_lines(entry)
                    yield _release(
                        project, version, f"import:pypi-deps-db/sdist-py{pyver}", rp, lines, others
                    )
    progress("import", len(buckets), len(buckets))


def _bigquery_rows(path: Path) -> Iterator[dict[str, object]]:
    if not path.is_file():
        raise ImportFormatError(f"{path}: not a file (a CSV or JSON-lines export)")
    rows = 0
    try:
        for row in _bigquery_file_rows(path):
            rows += 1
            yield row
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except csv.Error as exc:
        raise ImportFormatError(f"{path}: not a CSV file: {exc}") from None
    if rows == 0:
        raise ImportFormatError(f"{path}: no rows")


def _bigquery_file_rows(path: Path) -> Iterator[dict[str, object]]:
    if path.suffix in (".jsonl", ".json", ".ndjson"):
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except (ValueError, RecursionError) as exc:
                        raise ImportFormatError(f"{path}:{number}: not JSON: {exc}"[:300]) from None
                    if not isinstance(row, dict):
                        raise ImportFormatError(f"{path}:{number}: not a JSON object")
                    yield {"_line": number, **row}
    else:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield {"_line": reader.line_num, **row}


def bigquery_releases(path: Path, latest_only: bool = True) -> Iterator[ImportedRelease]:
    """Releases of a BigQuery `distribution_metadata` export; with latest_only, the highest version
    of each project (the exports carry every version)."""
    raw: list[tuple[str, str, str | None, list[str]]] = []
    best: dict[str, int] = {}  # canonical name -> index in raw of its highest version
    for row in _bigquery_rows(path):
        name, version = row.get("name"), row.get("version")
        if not name or not version:
            raise ImportFormatError(f"{path}:{row['_line']}: a row needs name and version")
        value = row.get("requires_dist") or []
        if isinstance(value, str):
            text = value.strip()
            try:
                value = (
                    json.loads(text)
                    if text.startswith("[")
                    else [v for v in text.splitlines() if v.strip()]
                )
            except json.JSONDecodeError as exc:
                raise ImportFormatError(
                    f"{path}:{row['_line']}: requires_dist: {exc.msg}"
                ) from None
        if not isinstance(value, list):
            raise ImportFormatError(f"{path}:{row['_line']}: requires_dist is not a list")
        requires_python = row.get("requires_python")
        entry = (
            str(name),
            str(version),
            str(requires_python) if requires_python else None,
            [str(v) for v in value],
        )
        if not latest_only:
            yield _bigquery_release(*entry)
            continue
        key = canonicalize_name(str(name))
        seen = best.get(key)
        if seen is None:
            best[key] = len(raw)
            raw.append(entry)
        elif latest_key(entry[1]) > latest_key(raw[seen][1]):
            raw[seen] = entry
    for entry in raw:
        yield _bigquery_release(*entry)


def _bigquery_release(
    name: str, version: str, requires_python: str | None, lines: list[str]
) -> ImportedRelease:
    return _release(
        name,
        version,
        "import:bigquery/distribution_metadata",
        requires_python,
        [(line, RequirementKind.RUN) for line in lines],
    )


def write_releases(
    store: Store, releases: Iterable[ImportedRelease], origin: str, batch_size: int = 20000
) -> ImportSummary:
    """Hand the releases to the store in batches (one transaction each) and count them."""
    summary = ImportSummary()
    batch: list[ImportedRelease] = []
    projects: set[str] = set()

    def flush() -> None:
        store.write_imported(batch, origin)
        for rel in batch:
            projects.add(rel.project)
            summary.releases += 1
            summary.requirements += len(rel.edges)
            summary.bad_requirements += len(rel.bad_lines)
            summary.by_source[rel.source] = summary.by_source.get(rel.source, 0) + 1
        batch.clear()

    for rel in releases:
        batch.append(rel)
        if len(batch) >= batch_size:
            flush()
    flush()
    summary.projects = len(projects)
    return summary


def import_pypi_deps_db(
    folder: str | Path, store: Store, all_versions: bool = False, progress: Progress = silent
) -> ImportSummary:
    return write_releases(
        store, pypi_deps_db_releases(Path(folder), all_versions, progress), "import:pypi-deps-db"
    )


def import_bigquery(path: str | Path, store: Store, all_versions: bool = False) -> ImportSummary:
    return write_releases(
        store, bigquery_releases(Path(path), latest_only=not all_versions), "import:bigquery"
    )
