"""The store's schema: the DDL, its version, and the values every state column may hold.

Every reader and writer of a store uses this module (the crawler's `Store` writes, `analysis`
reads); nothing else spells a table, a column list or a state value.

Tables (every name column holds a PEP 503 canonical name):

    meta(key, value)                      schema version and store-wide facts
    projects(name, display_name, index_url, serial, etag, last_modified, status, crawled_at,
             page_url)
        status: ProjectStatus; etag / last_modified: the page's validators, sent back by `update`
        page_url: where the page was read from, after redirects (which stay on the index's
                  origin); NULL for imported projects and stores older than schema 4
    releases(id, project, version, yanked, requires_python, deps_state, metadata_source,
             metadata_file, files_digest, extractor_version, note, is_latest, deps_verified)
        version: PEP 440-normalized where it parses; yanked: every file of the release is yanked
        deps_state: DepsState. Only "known" releases have trustworthy requirement rows;
                    pending/failed mean *unknown*, never "no dependencies".
        files_digest: sha256 over the sorted (filename, sha256) pairs, to skip unchanged releases
        is_latest: 1 on the release pip would pick without constraints: the highest non-yanked final
                   release, else the highest non-yanked pre-release, else the highest release
        entry_points_read: 1 when the selected wheel's entry_points.txt was read (its rows are in
                   entry_points, none if it has none); NULL when not (PEP 658 metadata without
                   `--entry-points`, an sdist, a store older than schema 3)
        deps_verified: 1 when the bytes the dependencies were read from were checked against the
                   index's sha256 (a PEP 658 file, a whole wheel or sdist); 0 when they were not
                   (a wheel read by HTTP ranges, or an index that gives no digest); NULL where it
                   does not apply (no dependencies read, or an imported data set)
    files(id, release_id, filename, url, sha256, size, kind, yanked, yanked_reason,
          requires_python, core_metadata, core_metadata_sha256, upload_time, final_url)
        kind: FileKind; url: as the page lists it (file URLs may live on other hosts, PEP 503)
        final_url: where the file's bytes (or its PEP 658 file's) came from when a redirect moved
                   them; NULL when the file was not read or not redirected
    requirements(id, release_id, raw, name, specifier, marker, extra, extras, kind, source,
                 extractor_version)
        kind: RequirementKind; extra: the (canonical) extra that pulls it in
    entry_points(release_id, grp, name, value)     a wheel's entry_points.txt, group by group
    failures(id, project, version, filename, stage, reason, detail, recorded_at)
        stage: FailureStage; version NULL: the failure is about the project page, not one release
    crawl_runs(id, index_url, started_at, finished_at, status, options, owner)
        status: RunStatus; owner: host:pid of the process running it (a run still "running" whose
        process is gone was interrupted); NULL in stores older than schema 4
    crawl_queue(run_id, position, project, done)    a resumed run skips done rows
"""

from __future__ import annotations

import re
import sqlite3
from enum import StrEnum

from .db import Connection, Dialect

__all__ = [
    "DDL",
    "EXTRAS_DERIVATION",
    "SCHEMA_VERSION",
    "DepsState",
    "FailureStage",
    "FileKind",
    "PageOutcome",
    "ProjectStatus",
    "RequirementKind",
    "RunStatus",
    "check_version",
    "ddl",
    "migrate",
    "stored_version",
]

#: bumped whenever the DDL changes; `migrate` brings older stores up to it
SCHEMA_VERSION = 5


class ProjectStatus(StrEnum):
    """projects.status"""

    OK = "ok"
    MISSING = "missing"  # 404 on the index
    FAILED = "failed"  # page unreadable; see failures


class PageOutcome(StrEnum):
    """What one crawl of a project page gives: a ProjectStatus, or one of two that are never
    stored."""

    OK = "ok"
    MISSING = "missing"
    FAILED = "failed"
    UNCHANGED = "unchanged"  # 304: only the validators and crawled_at are touched
    STALE = "stale"  # the CDN served an older page than the changelog: keep what is stored


class DepsState(StrEnum):
    """releases.deps_state"""

    KNOWN = "known"
    PENDING_SANDBOX = "pending-sandbox"
    FAILED = "failed"
    NO_USABLE_FILES = "no-usable-files"
    NOT_IMPORTED = "not-imported"  # a version an imported data set names without its dependencies
    NOT_READ = (
        "not-read"  # listed by the index; a crawl of chosen releases (--latest-only) skipped it
    )


class FileKind(StrEnum):
    """files.kind"""

    WHEEL = "wheel"
    SDIST = "sdist"
    OTHER = "other"


class RequirementKind(StrEnum):
    """requirements.kind"""

    RUN = "run"
    EXTRA = "extra"  # only with the extra named in requirements.extra
    BUILD = "build"
    SETUP = "setup"
    TEST = "test"


class FailureStage(StrEnum):
    """failures.stage: where in the pipeline the failure happened"""

    PAGE = "page"
    METADATA_FILE = "metadata-file"  # PEP 658 file
    WHEEL = "wheel"
    SDIST = "sdist"
    METADATA = "metadata"  # the metadata was read but parts of it are bad
    SANDBOX = "sandbox"
    IMPORT = "import"


class RunStatus(StrEnum):
    """crawl_runs.status"""

    RUNNING = "running"
    INTERRUPTED = "interrupted"
    INCOMPLETE = "incomplete"  # pages still stale after retries: left for the next update
    COMPLETE = "complete"


DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS projects (
    name TEXT PRIMARY KEY,
    display_name TEXT,
    index_url TEXT,
    serial INTEGER,
    etag TEXT,
    last_modified TEXT,
    status TEXT NOT NULL,
    crawled_at TEXT NOT NULL,
    page_url TEXT
);
CREATE TABLE IF NOT EXISTS releases (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    yanked INTEGER NOT NULL,
    requires_python TEXT,
    deps_state TEXT NOT NULL,
    metadata_source TEXT,
    metadata_file TEXT,
    files_digest TEXT NOT NULL,
    extractor_version TEXT NOT NULL,
    note TEXT,
    is_latest INTEGER NOT NULL DEFAULT 0,
    deps_verified INTEGER,
    entry_points_read INTEGER,
    UNIQUE (project, version)
);
CREATE INDEX IF NOT EXISTS releases_latest ON releases(project) WHERE is_latest = 1;
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    filename TEXT NOT NULL,
    url TEXT NOT NULL,
    sha256 TEXT,
    size INTEGER,
    kind TEXT NOT NULL,
    yanked INTEGER NOT NULL,
    yanked_reason TEXT,
    requires_python TEXT,
    core_metadata INTEGER NOT NULL,
    core_metadata_sha256 TEXT,
    upload_time TEXT,
    final_url TEXT,
    UNIQUE (release_id, filename)
);
CREATE TABLE IF NOT EXISTS requirements (
    id INTEGER PRIMARY KEY,
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    raw TEXT NOT NULL,
    name TEXT NOT NULL,
    specifier TEXT NOT NULL,
    marker TEXT,
    extra TEXT,
    extras TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    extractor_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requirements_release ON requirements(release_id);
-- who lists a name, of which kind, in which release: answered from the index alone
CREATE INDEX IF NOT EXISTS requirements_name_kind ON requirements(name, kind, release_id);
CREATE TABLE IF NOT EXISTS entry_points (
    release_id INTEGER NOT NULL REFERENCES releases(id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_points_release ON entry_points(release_id);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    project TEXT NOT NULL,
    version TEXT,
    filename TEXT,
    stage TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_project ON failures(project, version);
CREATE TABLE IF NOT EXISTS crawl_runs (
    id INTEGER PRIMARY KEY,
    index_url TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    options TEXT NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS crawl_queue (
    run_id INTEGER NOT NULL REFERENCES crawl_runs(id),
    position INTEGER NOT NULL,
    project TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, project)
);
"""

#: how requirements.extra / kind were derived from markers; a store whose meta
#: `extras_derivation` differs is re-derived from its stored requirement strings when a writer
#: opens it (no re-crawl), and refused by readers until then
#: 1: extra membership by evaluating markers with packaging (before: the first `extra == "..."`
#:    a regular expression found in the marker text)
EXTRAS_DERIVATION = "1"

#: statements that take a store of version N to N + 1
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1 -> 2: whether each release's dependency source was hash-verified (unknown for old rows)
    1: ("ALTER TABLE releases ADD COLUMN deps_verified INTEGER",),
    # 2 -> 3: entry points (the table comes with the DDL); unknown for releases read before
    2: ("ALTER TABLE releases ADD COLUMN entry_points_read INTEGER",),
    # 3 -> 4: where each page and redirected file was read from (unknown for rows read before)
    3: (
        "ALTER TABLE projects ADD COLUMN page_url TEXT",
        "ALTER TABLE files ADD COLUMN final_url TEXT",
        "ALTER TABLE crawl_runs ADD COLUMN owner TEXT",
    ),
    # 4 -> 5: the name index covers kind and release too (the DDL creates it)
    4: ("DROP INDEX IF EXISTS requirements_name",),
}


def ddl(dialect: Dialect) -> str:
    """The DDL in `dialect`: PostgreSQL gets identity keys and 64-bit integers (file sizes and
    serials outgrow 32 bits); everything else is shared."""
    if dialect is Dialect.SQLITE:
        return DDL
    return _pg_types(DDL)


def _pg_types(sql: str) -> str:
    sql = sql.replace("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
    return re.sub(r"\bINTEGER\b", "BIGINT", sql)


def _has_table(conn: Connection, table: str) -> bool:
    if conn.dialect is Dialect.SQLITE:
        sql = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    else:
        sql = (
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_name = ?"
        )
    found: int = conn.execute(sql, (table,)).fetchone()[0]
    return found > 0


def stored_version(conn: Connection) -> str | None:
    """The schema version a store records; None for an empty database or one that is not a
    store."""
    if not _has_table(conn, "meta"):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else str(row[0])


def _is_empty(conn: Connection) -> bool:
    if conn.dialect is Dialect.SQLITE:
        sql = "SELECT count(*) FROM sqlite_master"
    else:
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
    count: int = conn.execute(sql).fetchone()[0]
    return count == 0


def check_version(conn: Connection, path: str, hint: str) -> None:
    """Raise SchemaVersionError unless the store is of exactly this schema version, with its
    requirements derived as this code derives them."""
    from .errors import SchemaVersionError, StoreError

    try:
        found = stored_version(conn)
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        raise StoreError(f"{path}: not a store: {exc}; give another --db") from None
    _check_migratable(path, found, empty=False)  # not ours, or newer: no advice to open it
    if found != str(SCHEMA_VERSION):
        raise SchemaVersionError(path, found, SCHEMA_VERSION, hint)
    row = conn.execute("SELECT value FROM meta WHERE key = 'extras_derivation'").fetchone()
    if row is None or row[0] != EXTRAS_DERIVATION:
        raise StoreError(
            f"{path}: its requirements' extras were derived by an older pypi-depgraph. {hint}"
        )


def migrate(conn: Connection, path: str) -> None:
    """Create a new store, or bring an older one up to SCHEMA_VERSION in one transaction.

    A file that is not a store, or a store newer than this code, is refused with SchemaVersionError
    before anything is written."""

    if conn.dialect is Dialect.POSTGRESQL:
        _migrate_postgres(conn, path)
        return
    try:
        empty = _is_empty(conn)
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        from .errors import StoreError

        raise StoreError(f"{path}: not a store: {exc}; give another --db") from None
    _migrate(conn, path, empty)


#: the advisory lock under which PostgreSQL stores are created and migrated
_PG_SCHEMA_LOCK = 0x646570677261  # "depgra"


def _migrate_postgres(conn: Connection, path: str) -> None:
    """Many clients may open one PostgreSQL store at once: whoever comes first creates or migrates
    it, under an advisory lock, in one transaction; a store already up to date is left alone
    (re-running CREATE INDEX IF NOT EXISTS takes a lock that deadlocks against writers)."""
    if stored_version(conn) == str(SCHEMA_VERSION):
        return
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_PG_SCHEMA_LOCK,))
        found = stored_version(conn)
        if found != str(SCHEMA_VERSION):
            _check_migratable(path, found, _is_empty(conn))
            if _is_empty(conn):
                conn.executescript(ddl(conn.dialect))
                conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            else:
                _apply_migrations(conn, int(str(found)))
                conn.executescript(ddl(conn.dialect))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _check_migratable(path: str, found: str | None, empty: bool) -> None:
    from .errors import SchemaVersionError

    if empty:
        return
    if found is None or not found.isdigit():
        raise SchemaVersionError(
            path, found, SCHEMA_VERSION, "It is not a pypi-depgraph store; give another --db."
        )
    if int(found) > SCHEMA_VERSION:
        raise SchemaVersionError(
            path,
            found,
            SCHEMA_VERSION,
            "It was written by a newer pypi-depgraph: upgrade this one.",
        )


def _apply_migrations(conn: Connection, version: int) -> None:
    for step in range(version, SCHEMA_VERSION):
        for statement in MIGRATIONS[step]:
            conn.execute(statement if conn.dialect is Dialect.SQLITE else _pg_types(statement))
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))


def _migrate(conn: Connection, path: str, empty: bool) -> None:
    found = stored_version(conn)
    schema = ddl(conn.dialect)
    if empty:
        conn.executescript(schema)  # executescript manages its own transaction
        conn.execute(
            "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
            (str(SCHEMA_VERSION),),
        )
        return
    _check_migratable(path, found, empty)
    if int(str(found)) == SCHEMA_VERSION:
        conn.executescript(schema)  # every statement is idempotent: restores dropped indexes
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        _apply_migrations(conn, int(str(found)))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    conn.executescript(schema)
