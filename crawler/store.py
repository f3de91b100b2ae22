"""The durable store: a SQLite file (WAL, the default) or a PostgreSQL database, written one batch
of projects per transaction.

The schema (tables, columns, state values, version, migrations) lives in `depgraph_core.schema`;
this module is the one write path. Opening a store creates it, migrates an older one, and refuses a
newer or foreign one with a clear message.

Idempotence: a project's rows are replaced as a whole inside one transaction, so running the same
crawl twice leaves the same rows, and a crash leaves each project either before or after. A write
whose PostgreSQL connection is lost (a server restart) is retried whole on a new connection.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from packaging.utils import NormalizedName

from depgraph_core.db import (
    Connection,
    ConnectionLost,
    Dialect,
    RetryableError,
    connect,
    display_locator,
)
from depgraph_core.schema import (
    EXTRAS_DERIVATION,
    SCHEMA_VERSION,
    DepsState,
    FailureStage,
    FileKind,
    PageOutcome,
    ProjectStatus,
    RequirementKind,
    RunStatus,
    migrate,
)
from depgraph_core.versions import latest_key

from .index import DistFile
from .ladder import Extraction, Failure
from .metadata import Edge

if TYPE_CHECKING:
    from sandbox import SandboxResult

log = logging.getLogger("pypi-depgraph")

__all__ = [
    "SCHEMA_VERSION",
    "ImportedRelease",
    "ProjectRecord",
    "ReleaseRecord",
    "SandboxCandidate",
    "Store",
    "files_digest",
]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def files_digest(files: Iterable[DistFile]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.filename):
        h.update(f"{f.filename}\0{f.sha256 or f.url}\n".encode())
    return h.hexdigest()


def latest_release(rows: Iterable[tuple[int, str, int]]) -> int | None:
    """Id of the latest (id, version, yanked) row, by the rule of `depgraph_core.versions`."""
    best = max(rows, key=lambda row: latest_key(row[1], bool(row[2])), default=None)
    return None if best is None else best[0]


@dataclass
class ReleaseRecord:
    """What the crawler hands the store for one release."""

    version: str
    files: list[DistFile]
    extraction: Extraction | None  # None: unchanged since last crawl, keep stored deps as they are
    digest: str


@dataclass(frozen=True)
class SandboxCandidate:
    """A release whose dependencies only a sandbox build can tell, and the sdist to build."""

    release_id: int
    project: NormalizedName
    version: str
    filename: str
    url: str
    sha256: str | None


#: extractor_version of imported rows (they were not extracted by this code)
IMPORT_EXTRACTOR = "import"


@dataclass
class ImportedRelease:
    """One release read from a public data set, parsed, ready for `Store.write_imported`."""

    project: NormalizedName
    version: str
    source: str  # import:<data set>/<part>
    requires_python: str | None
    edges: list[Edge]
    bad_lines: list[str] = field(default_factory=list)  # "'<line>': <why packaging rejects it>"
    #: every other version the data set knows of the project: stored as releases without
    #: dependencies (deps_state not-imported), so satisfiability checks see the real history
    other_versions: tuple[str, ...] = ()


@dataclass
class ProjectRecord:
    name: NormalizedName
    display_name: str | None
    status: PageOutcome
    releases: list[ReleaseRecord]
    failures: list[Failure]  # page-level
    serial: int | None = None
    etag: str | None = None
    last_modified: str | None = None


P = ParamSpec("P")
T = TypeVar("T")

#: how long a write waits for a lost database to come back before giving up
RECONNECT_SECONDS = 120.0


def retried_on_connection_loss(method: Callable[P, T]) -> Callable[P, T]:
    """Run a Store method again when its connection was lost (on a new connection) or the server
    aborted its transaction to break a deadlock with a concurrent writer. Each such method is one
    transaction (rolled back) or a read, so running it again is safe."""

    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        store = args[0]
        assert isinstance(store, Store)
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


class Store:
    """The store, SQLite or PostgreSQL (`depgraph_core.db`). One writer thread (the crawl's main
    thread); every thread gets its own connection."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        #: the locator for messages (a URL's password hidden)
        self.name = display_locator(self.path)
        self._local = threading.local()
        # check (and create or migrate) before any pragma writes to a file that may not be ours
        with closing(connect(self.path)) as conn:
            migrate(conn, self.name)
        self._rederive_once()

    @retried_on_connection_loss
    def _rederive_once(self) -> None:
        if self.get_meta("extras_derivation") != EXTRAS_DERIVATION:
            stored = self.db.execute("SELECT 1 FROM requirements LIMIT 1").fetchone() is not None
            if stored:  # (a new store has nothing to re-derive: say nothing)
                log.info(
                    "%s: re-deriving which extras pull each requirement in (once; a large "
                    "store takes a minute)",
                    self.name,
                )
            changed = self.rederive_requirements()
            if stored:
                log.info("%s: %d releases re-derived", self.name, changed)

    @property
    def dialect(self) -> Dialect:
        return self.db.dialect

    @property
    def db(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            if conn.dialect is Dialect.SQLITE:
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

    # --- reads used by the crawler -------------------------------------------------------------

    @retried_on_connection_loss
    def release_digests(
        self, project: str, extractor_version: str, verified_only: bool = False
    ) -> dict[str, str]:
        """version -> files_digest of releases whose extraction can be kept as is (with
        verified_only, known dependencies must have been read from hash-verified bytes)."""
        rows = self.db.execute(
            "SELECT version, files_digest FROM releases WHERE project = ? AND extractor_version = ?"
            " AND (deps_state IN (?, ?, ?) OR metadata_source LIKE 'sandbox%')"
            + (" AND (deps_state != ? OR deps_verified = 1)" if verified_only else ""),
            # sandbox failures wait for --retry-failed
            (
                project,
                extractor_version,
                DepsState.KNOWN,
                DepsState.PENDING_SANDBOX,
                DepsState.NO_USABLE_FILES,
                *([DepsState.KNOWN] if verified_only else []),
            ),
        )
        return dict(rows.fetchall())

    @retried_on_connection_loss
    def all_validators(self) -> dict[str, tuple[str | None, str | None]]:
        """project -> (ETag, Last-Modified) of its page at the last crawl."""
        return {
            name: (etag, modified)
            for name, etag, modified in self.db.execute(
                "SELECT name, etag, last_modified FROM projects"
            )
        }

    # --- the one write path of a crawl ---------------------------------------------------------

    @retried_on_connection_loss
    def write_project(
        self,
        record: ProjectRecord,
        index_url: str,
        extractor_version: str,
        run_id: int | None = None,
    ) -> None:
        """Replace everything stored about one project, atomically (and tick it off `run_id`)."""
        self.write_projects([record], index_url, extractor_version, run_id)

    @retried_on_connection_loss
    def write_projects(
        self,
        records: list[ProjectRecord],
        index_url: str,
        extractor_version: str,
        run_id: int | None = None,
    ) -> None:
        """Several projects in one transaction: all of them or none (a commit costs more than a
        304)."""
        unchanged = [r for r in records if r.status == PageOutcome.UNCHANGED]
        with self.transaction() as db:
            # 304s: a few statements for the whole batch (each execute costs a GIL hand-off)
            if unchanged:
                stamp = now()
                if run_id is not None:
                    db.executemany(
                        "UPDATE crawl_queue SET done = 1 WHERE run_id = ? AND project = ?",
                        [(run_id, r.name) for r in unchanged],
                    )
                db.executemany(
                    "UPDATE projects SET crawled_at = ?, etag = coalesce(?, etag),"
                    " last_modified = coalesce(?, last_modified) WHERE name = ?",
                    [(stamp, r.etag, r.last_modified, r.name) for r in unchanged],
                )
                db.executemany(
                    "DELETE FROM failures WHERE project = ? AND version IS NULL",
                    [(r.name,) for r in unchanged],
                )
            for record in records:
                if record.status != PageOutcome.UNCHANGED:
                    self._write_project(db, record, index_url, extractor_version, run_id)

    def _write_project(
        self,
        db: Connection,
        record: ProjectRecord,
        index_url: str,
        extractor_version: str,
        run_id: int | None,
    ) -> None:
        """One project, inside the caller's transaction."""
        if record.status == PageOutcome.STALE:  # keep what we have; the project stays queued
            self._insert_failures(db, record.name, None, record.failures)
            return
        if run_id is not None:
            self.mark_done(db, run_id, record.name)
        db.execute(
            "INSERT INTO projects (name, display_name, index_url, serial, etag, last_modified,"
            " status, crawled_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET"
            " display_name=excluded.display_name, index_url=excluded.index_url,"
            " serial=excluded.serial, etag=excluded.etag, last_modified=excluded.last_modified,"
            " status=excluded.status, crawled_at=excluded.crawled_at",
            (
                record.name,
                record.display_name,
                index_url,
                record.serial,
                record.etag,
                record.last_modified,
                ProjectStatus(record.status.value),
                now(),
            ),
        )
        db.execute("DELETE FROM failures WHERE project = ? AND version IS NULL", (record.name,))
        self._insert_failures(db, record.name, None, record.failures)
        if record.status != PageOutcome.OK:
            return  # a failed page keeps the releases stored by the last good crawl
        listed = {r.version for r in record.releases}
        stored = dict(
            db.execute(
                "SELECT version, id FROM releases WHERE project = ?", (record.name,)
            ).fetchall()
        )
        for gone in set(stored) - listed:  # removed from the index
            db.execute("DELETE FROM releases WHERE id = ?", (stored[gone],))
            db.execute(
                "DELETE FROM failures WHERE project = ? AND version = ?", (record.name, gone)
            )
        for release in record.releases:
            self._write_release(
                db, record.name, release, stored.get(release.version), extractor_version
            )
        self.mark_latest(db, record.name)

    @staticmethod
    def mark_latest(db: Connection, project: str) -> None:
        rows = db.execute(
            "SELECT id, version, yanked FROM releases WHERE project = ?", (project,)
        ).fetchall()
        best = latest_release(rows)
        db.execute(
            "UPDATE releases SET is_latest = CASE WHEN id = ? THEN 1 ELSE 0 END WHERE project = ?",
            (best, project),
        )

    def _write_release(
        self,
        db: Connection,
        project: str,
        rel: ReleaseRecord,
        release_id: int | None,
        extractor_version: str,
    ) -> None:
        yanked = bool(rel.files) and all(f.yanked for f in rel.files)
        ex = rel.extraction
        if ex is None:
            assert release_id is not None, "an unchanged release must already be stored"
            db.execute("UPDATE releases SET yanked = ? WHERE id = ?", (yanked, release_id))
        else:
            values = (
                yanked,
                ex.requires_python,
                ex.deps_state,
                ex.source,
                ex.metadata_file,
                rel.digest,
                extractor_version,
                ex.note,
                ex.verified,
                None if ex.entry_points is None else 1,
            )
            if release_id is None:
                release_id = db.execute(
                    "INSERT INTO releases (yanked, requires_python, deps_state, metadata_source,"
                    " metadata_file, files_digest, extractor_version, note, deps_verified,"
                    " entry_points_read, project, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                    " RETURNING id",
                    (*values, project, rel.version),
                ).fetchone()[0]
            else:
                db.execute(
                    "UPDATE releases SET yanked=?, requires_python=?, deps_state=?,"
                    " metadata_source=?, metadata_file=?, files_digest=?, extractor_version=?,"
                    " note=?, deps_verified=?, entry_points_read=? WHERE id=?",
                    (*values, release_id),
                )
            self.replace_requirements(db, release_id, ex.edges, ex.source or "", extractor_version)
            db.execute("DELETE FROM entry_points WHERE release_id = ?", (release_id,))
            db.executemany(
                "INSERT INTO entry_points (release_id, grp, name, value) VALUES (?,?,?,?)",
                [(release_id, p.group, p.name, p.value) for p in ex.entry_points or []],
            )
            db.execute(
                "DELETE FROM failures WHERE project = ? AND version = ?", (project, rel.version)
            )
            self._insert_failures(db, project, rel.version, ex.failures)
        db.execute("DELETE FROM files WHERE release_id = ?", (release_id,))
        db.executemany(
            "INSERT INTO files (release_id, filename, url, sha256, size, kind, yanked, "
            "yanked_reason,"
            " requires_python, core_metadata, core_metadata_sha256, upload_time)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    release_id,
                    f.filename,
                    f.url,
                    f.sha256,
                    f.size,
                    f.kind,
                    f.yanked,
                    f.yanked_reason,
                    f.requires_python,
                    f.core_metadata,
                    f.core_metadata_sha256,
                    f.upload_time,
                )
                for f in rel.files
            ],
        )

    @staticmethod
    def replace_requirements(
        db: Connection,
        release_id: int,
        edges: list[Edge],
        source: str,
        extractor_version: str,
    ) -> None:
        db.execute("DELETE FROM requirements WHERE release_id = ?", (release_id,))
        Store.insert_requirements(db, release_id, edges, source, extractor_version)

    @staticmethod
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

    @staticmethod
    def _insert_failures(
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

    # --- sandbox builds ---------------------------------------------------------------------------

    @retried_on_connection_loss
    def sandbox_candidates(
        self, retry_failed: bool = False, projects: list[str] | None = None
    ) -> list[SandboxCandidate]:
        """Releases to build in a sandbox, each with its first non-yanked sdist."""
        states = [DepsState.PENDING_SANDBOX] + ([DepsState.FAILED] if retry_failed else [])
        sql = (
            "SELECT r.id, r.project, r.version, f.filename, f.url, f.sha256 FROM releases r"
            " JOIN files f ON f.release_id = r.id AND f.kind = ?"
            f" WHERE r.deps_state IN ({','.join('?' * len(states))})"
            # a release that failed before the sandbox (no sdist read) is not the sandbox's
            " AND (r.deps_state = ? OR r.metadata_source LIKE 'sandbox%')"
            " ORDER BY r.project, r.version, f.yanked, f.filename"
        )
        rows = self.db.execute(sql, (FileKind.SDIST, *states, DepsState.PENDING_SANDBOX)).fetchall()
        wanted = set(projects) if projects else None
        first: dict[int, SandboxCandidate] = {}
        for row in rows:  # one sdist per release: the first non-yanked
            if (wanted is None or row[1] in wanted) and row[0] not in first:
                first[row[0]] = SandboxCandidate(*row)
        return list(first.values())

    @retried_on_connection_loss
    def record_sandbox_result(
        self,
        candidate: SandboxCandidate,
        result: SandboxResult,
        edges: list[Edge],
        bad_lines: list[str],
        extractor_version: str,
    ) -> None:
        c = candidate
        source = f"sandbox-{result.backend}" + (f":{result.method}" if result.method else "")
        state = DepsState.KNOWN if result.ok else DepsState.FAILED
        note = result.detail if result.ok else None
        stage = FailureStage.SANDBOX
        with self.transaction() as db:
            db.execute(
                "UPDATE releases SET deps_state = ?, metadata_source = ?, metadata_file = ?,"
                " note = ?, requires_python = coalesce(requires_python, ?), deps_verified = ?"
                " WHERE id = ?",
                # the sdist was downloaded whole and checked when the index gave its sha256
                (
                    state,
                    source,
                    c.filename,
                    note,
                    result.requires_python,
                    (c.sha256 is not None) if result.ok else None,
                    c.release_id,
                ),
            )
            self.replace_requirements(db, c.release_id, edges, source, extractor_version)
            db.execute(
                "DELETE FROM failures WHERE project = ? AND version = ? AND stage = ?",
                (c.project, c.version, stage),
            )
            failures = [Failure(stage, "bad-requirement", line, c.filename) for line in bad_lines]
            if not result.ok:
                detail = f"{result.detail or ''}\n--- log tail ---\n{result.log_tail}".strip()
                failures.append(
                    Failure(stage, result.failure or "build-failed", detail, c.filename)
                )
            elif result.confidence == "low":
                failures.append(
                    Failure(
                        stage, "low-confidence", result.detail or result.method or "", c.filename
                    )
                )
            self._insert_failures(db, c.project, c.version, failures)

    # --- derivations ----------------------------------------------------------------------------

    def rederive_requirements(self) -> int:
        """Re-derive `extra` / `kind` of stored requirement rows from their requirement strings
        (as `parse_requirement` derives them now), without a re-crawl; returns the releases
        changed. Only releases with a marker somewhere can change."""
        from .metadata import parse_requirement

        changed = 0
        with self.transaction() as db:
            rows = db.execute(
                "SELECT release_id, raw, extra, kind, source, extractor_version FROM requirements"
                " WHERE release_id IN (SELECT DISTINCT release_id FROM requirements"
                " WHERE marker IS NOT NULL) ORDER BY release_id, id"
            ).fetchall()
            by_release: dict[int, list[tuple[str, str | None, str, str, str]]] = {}
            for release_id, *row in rows:
                by_release.setdefault(release_id, []).append(tuple(row))
            for release_id, old in by_release.items():
                new: list[tuple[Edge, str, str]] = []
                # one requirement string may have been stored as several rows (one per extra)
                for raw, kind, source, extractor in dict.fromkeys(
                    (
                        raw,
                        RequirementKind.RUN
                        if kind == RequirementKind.EXTRA
                        else RequirementKind(kind),
                        source,
                        extractor,
                    )
                    for raw, _extra, kind, source, extractor in old
                ):
                    new += [(e, source, extractor) for e in parse_requirement(raw, kind)]
                before = sorted((raw, extra or "", kind) for raw, extra, kind, _, _ in old)
                after = sorted((e.raw, e.extra or "", str(e.kind)) for e, _, _ in new)
                if before == after:
                    continue
                db.execute("DELETE FROM requirements WHERE release_id = ?", (release_id,))
                for source, extractor in dict.fromkeys((src, x) for _, src, x in new):
                    self.insert_requirements(
                        db,
                        release_id,
                        [e for e, src, x in new if (src, x) == (source, extractor)],
                        source,
                        extractor,
                    )
                changed += 1
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('extras_derivation', ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (EXTRAS_DERIVATION,),
            )
        return changed

    # --- imported data sets -----------------------------------------------------------------------

    @retried_on_connection_loss
    def write_imported(self, batch: list[ImportedRelease], origin: str) -> None:
        """Releases read from a data set, in one transaction (provenance: `origin`, their
        source)."""
        stamp = now()
        with self.transaction() as db:
            projects = {r.project for r in batch}
            db.executemany(
                "INSERT INTO projects (name, display_name, index_url, status, crawled_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET index_url = "
                "excluded.index_url,"
                " crawled_at = excluded.crawled_at",
                [(p, p, origin, ProjectStatus.OK, stamp) for p in projects],
            )
            for rel in batch:
                rid = db.execute(
                    "INSERT INTO releases (project, version, yanked, requires_python, deps_state,"
                    " metadata_source, files_digest, extractor_version) VALUES (?,?,0,?,?,?,'',?)"
                    " ON CONFLICT(project, version) DO UPDATE SET"
                    " requires_python = excluded.requires_python, deps_state = excluded.deps_state,"
                    " metadata_source = excluded.metadata_source RETURNING id",
                    (
                        rel.project,
                        rel.version,
                        rel.requires_python,
                        DepsState.KNOWN,
                        rel.source,
                        IMPORT_EXTRACTOR,
                    ),
                ).fetchone()[0]
                self.replace_requirements(db, rid, rel.edges, rel.source, IMPORT_EXTRACTOR)
                db.execute(
                    "DELETE FROM failures WHERE project = ? AND version = ? AND stage = ?",
                    (rel.project, rel.version, FailureStage.IMPORT),
                )
                self._insert_failures(
                    db,
                    rel.project,
                    rel.version,
                    [
                        Failure(FailureStage.IMPORT, "bad-requirement", line)
                        for line in rel.bad_lines
                    ],
                )
                db.executemany(
                    "INSERT INTO releases (project, version, yanked, deps_state, files_digest,"
                    " extractor_version) VALUES (?,?,0,?,'',?) ON CONFLICT DO NOTHING",
                    [
                        (rel.project, v, DepsState.NOT_IMPORTED, IMPORT_EXTRACTOR)
                        for v in rel.other_versions
                    ],
                )
            for project in projects:
                self.mark_latest(db, project)

    # --- crawl runs and resume -----------------------------------------------------------------

    @retried_on_connection_loss
    def open_run(
        self,
        index_url: str,
        options: dict[str, object],
        projects: Sequence[str] | None,
        resume: bool = True,
    ) -> tuple[int, bool]:
        """(run id, resumed?). An unfinished run with the same index and options is resumed."""
        opts = json.dumps(options, sort_keys=True)
        if resume:
            row = self.db.execute(
                "SELECT id FROM crawl_runs WHERE status IN (?, ?) AND index_url = ? AND options = ?"
                " ORDER BY id DESC LIMIT 1",
                (RunStatus.RUNNING, RunStatus.INTERRUPTED, index_url, opts),
            ).fetchone()
            if row:
                return int(row[0]), True
        with self.transaction() as db:
            run_id: int = db.execute(
                "INSERT INTO crawl_runs (index_url, started_at, status, options) VALUES (?,?,?,?)"
                " RETURNING id",
                (index_url, now(), RunStatus.RUNNING, opts),
            ).fetchone()[0]
            if projects is not None:
                self._enqueue(db, run_id, projects)
        return run_id, False

    @staticmethod
    def _enqueue(db: Connection, run_id: int, projects: Sequence[str]) -> None:
        db.executemany(
            "INSERT INTO crawl_queue (run_id, position, project) VALUES (?,?,?)"
            " ON CONFLICT DO NOTHING",
            [(run_id, i, p) for i, p in enumerate(projects)],
        )

    @retried_on_connection_loss
    def enqueue(self, run_id: int, projects: Sequence[str]) -> None:
        with self.transaction() as db:
            self._enqueue(db, run_id, projects)

    @retried_on_connection_loss
    def queued(self, run_id: int) -> tuple[list[str], int]:
        """(projects still to do in order, number already done)."""
        todo = [
            r[0]
            for r in self.db.execute(
                "SELECT project FROM crawl_queue WHERE run_id = ? AND done = 0 ORDER BY position",
                (run_id,),
            )
        ]
        done = self.db.execute(
            "SELECT count(*) FROM crawl_queue WHERE run_id = ? AND done = 1", (run_id,)
        ).fetchone()[0]
        return todo, int(done)

    @retried_on_connection_loss
    def has_queue(self, run_id: int) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM crawl_queue WHERE run_id = ? LIMIT 1", (run_id,)
            ).fetchone()
            is not None
        )

    def mark_done(self, db: Connection, run_id: int, project: str) -> None:
        db.execute(
            "UPDATE crawl_queue SET done = 1 WHERE run_id = ? AND project = ?", (run_id, project)
        )

    @retried_on_connection_loss
    def finish_run(self, run_id: int, status: RunStatus) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE crawl_runs SET status = ?, finished_at = ? WHERE id = ?",
                (status, now(), run_id),
            )
        # fold the WAL back into the database: a large WAL makes every later commit pay for a
        # checkpoint attempt while the next run's readers hold it open
        if self.dialect is Dialect.SQLITE:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # --- incremental updates --------------------------------------------------------------------

    @retried_on_connection_loss
    def last_runs(self, limit: int = 5) -> list[dict[str, object]]:
        """The newest crawl runs: id, status, started_at, finished_at."""
        rows = self.db.execute(
            "SELECT id, status, started_at, finished_at FROM crawl_runs ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [
            dict(zip(("id", "status", "started_at", "finished_at"), r, strict=True)) for r in rows
        ]

    @retried_on_connection_loss
    def last_index_url(self) -> str | None:
        row = self.db.execute(
            "SELECT index_url FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    @retried_on_connection_loss
    def project_names(self) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT name FROM projects WHERE index_url NOT LIKE 'import:%'"
            )
        }

    @retried_on_connection_loss
    def remove_projects(self, names: Iterable[str]) -> int:
        """Projects the index no longer lists: gone from the store (and so from the graph)."""
        names = list(names)
        with self.transaction() as db:
            for name in names:
                db.execute(
                    "DELETE FROM projects WHERE name = ?", (name,)
                )  # releases, files, requirements cascade
                db.execute("DELETE FROM failures WHERE project = ?", (name,))
        return len(names)

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

    # --- summaries ------------------------------------------------------------------------------

    @retried_on_connection_loss
    def counts(self) -> dict[str, object]:
        q = self.db.execute
        return {
            "projects": q("SELECT count(*) FROM projects").fetchone()[0],
            "projects_by_status": dict(
                q("SELECT status, count(*) FROM projects GROUP BY status").fetchall()
            ),
            "releases": q("SELECT count(*) FROM releases").fetchone()[0],
            "releases_by_state": dict(
                q("SELECT deps_state, count(*) FROM releases GROUP BY deps_state").fetchall()
            ),
            "releases_by_source": dict(
                q(
                    "SELECT coalesce(metadata_source, 'none'), count(*) FROM releases GROUP BY 1"
                ).fetchall()
            ),
            "known_releases_by_verification": dict(
                q(
                    "SELECT CASE deps_verified WHEN 1 THEN 'verified' WHEN 0 THEN 'unverified'"
                    " ELSE 'not-recorded' END, count(*) FROM releases WHERE deps_state = ?"
                    " GROUP BY 1",
                    (DepsState.KNOWN,),
                ).fetchall()
            ),
            "files": q("SELECT count(*) FROM files").fetchone()[0],
            "requirements": q("SELECT count(*) FROM requirements").fetchone()[0],
            "failures_by_reason": dict(
                q(
                    "SELECT stage || ':' || reason, count(*) FROM failures GROUP BY 1"
                    " ORDER BY 2 DESC"
                ).fetchall()
            ),
        }
