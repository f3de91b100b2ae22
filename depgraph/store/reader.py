"""The analysis' reads of a store: name-level frames (columnar where the store is SQLite) and the
row-level reads a resolver makes. Read-only: never the network, never a write.

Tables, columns and state values come from the one schema module (`depgraph.core.schema`); a store
of another schema version is refused with a clear message before anything is read. A store is a
SQLite file or a PostgreSQL URL (`depgraph.core.db`); the SQL here is common to both, but for the
date arithmetic of `--as-of`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from packaging.version import Version

from depgraph.core import sqlite_libraries
from depgraph.core.db import (
    Connection,
    Dialect,
    connect,
    display_locator,
    is_postgres,
    sqlite_read_uri,
)
from depgraph.core.errors import AsOfError, EmptyStoreError, StoreError
from depgraph.core.interruptible import interruptible
from depgraph.core.schema import DepsState, FileKind, RequirementKind, check_version
from depgraph.core.versions import latest_key

__all__ = [
    "REQUIREMENT_COLUMNS",
    "KeptStoreSource",
    "Query",
    "ReleaseRows",
    "StoreSource",
    "as_of_date",
    "newest_upload",
    "open_store",
    "read_frame",
    "read_latest_versions",
    "read_nodes",
    "read_older_edges",
    "read_queries",
    "read_requirement_texts",
    "read_requirements",
    "read_selected_files",
    "read_selected_releases",
    "read_versions",
    "read_versions_of",
    "require_projects",
    "whole_index",
]

_HINT = "Open it once with `depgraph status --db PATH` to bring it up to date."


def open_store(db: str | Path, as_of: str | None = None) -> Connection:
    """A connection to a store of this schema version (StoreError otherwise), read-only for a
    SQLite file; nothing here writes to the store (an as-of view writes only TEMP tables). With
    `as_of`, the connection sees the store as the index stood on that date (see `_as_of`)."""
    name = display_locator(db)
    if not is_postgres(db) and not Path(db).exists():
        raise StoreError(f"no store at {name}")
    conn = connect(db, read_only=not is_postgres(db))
    try:
        check_version(conn, name, _HINT.replace("PATH", name))
        if as_of is not None:
            _as_of(conn, name, as_of)
    except BaseException:
        conn.close()
        raise
    return conn


def read_frame(conn: Connection, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
    """The rows of one query as a frame, its columns named as the query names them."""
    cursor = conn.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)


@dataclass(frozen=True)
class Query:
    """One query for `read_queries`. `text`: columns that are text, kept so when every value is
    NULL (the columnar driver infers an all-NULL column as integers)."""

    sql: str
    params: Sequence[object] = ()
    text: Sequence[str] = ()


def read_queries(
    db: str | Path, queries: Sequence[Query], as_of: str | None = None
) -> list[pd.DataFrame]:
    """Queries on one checked store, each as a frame. A SQLite file is read columnar (the ADBC
    SQLite driver straight into Arrow, several times faster than rows through sqlite3),
    but as of a date, whose TEMP views live on the sqlite3 connection (built once for all)."""
    if is_postgres(db) or as_of is not None or not Path(db).exists():
        return _read_rows(db, queries, as_of)
    return interruptible(lambda: _read_sqlite(db, queries))


def _read_sqlite(db: str | Path, queries: Sequence[Query]) -> list[pd.DataFrame]:
    # the columnar driver's SQLite only where this process has no sqlite3 connection to the
    # file (a writer's store, a service): two SQLite libraries on one file corrupt each other
    with sqlite_libraries.holding("adbc", db, wait=False) as columnar:
        if not columnar:
            return _read_rows(db, queries, None)
        # the version check through sqlite3 would need the file too: it waits its turn
        return _read_checked_columnar(db, queries)


def _read_rows(db: str | Path, queries: Sequence[Query], as_of: str | None) -> list[pd.DataFrame]:
    with closing(open_store(db, as_of)) as conn:
        return [read_frame(conn, q.sql, q.params) for q in queries]


def _read_checked_columnar(db: str | Path, queries: Sequence[Query]) -> list[pd.DataFrame]:
    import adbc_driver_sqlite.dbapi as adbc

    try:
        return _read_columnar(adbc, db, queries)
    except adbc.Error as exc:
        if isinstance(exc.__context__, KeyboardInterrupt) or _in_cancel(exc):
            # Ctrl-C in the driver: it cancels the query, which SQLite's driver cannot do
            raise KeyboardInterrupt from None
        raise StoreError(f"{display_locator(db)}: {type(exc).__name__}: {exc}") from exc


def _in_cancel(exc: BaseException) -> bool:
    """Whether the error came from the driver cancelling a query (what it does on a signal)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name.rsplit(".", 1)[-1] == "cancel":
            return True
        tb = tb.tb_next
    return False


def _read_columnar(adbc: Any, db: str | Path, queries: Sequence[Query]) -> list[pd.DataFrame]:
    frames = []
    with closing(adbc.connect(sqlite_read_uri(db))) as columnar:
        with closing(columnar.cursor()) as cursor:
            # the driver sets no busy timeout: a reader opening while another one (the report
            # reads on several connections at once) sets up the WAL index would fail at once
            cursor.execute("PRAGMA busy_timeout = 30000")
        name = display_locator(db)
        check_version(
            cast(Connection, _CheckedThrough(columnar, adbc)), name, _HINT.replace("PATH", name)
        )
        for query in queries:
            with closing(columnar.cursor()) as cursor:
                # one batch: column types inferred from every row, not from a NULL-only batch
                cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": "1000000000"})
                cursor.execute(query.sql, query.params)
                frame = cursor.fetch_arrow_table().to_pandas()
            for column in query.text:
                if frame[column].dtype != "str":
                    frame[column] = frame[column].astype("str").where(frame[column].notna())
            frames.append(frame)
    return frames


class _CheckedThrough:
    """The columnar connection as `check_version` reads a store: `execute` and rows."""

    dialect = Dialect.SQLITE

    def __init__(self, columnar: Any, adbc: Any) -> None:
        self.columnar, self.adbc = columnar, adbc

    def execute(self, sql: str, params: Sequence[object] = ()) -> _Rows:
        with closing(self.columnar.cursor()) as cursor:
            try:
                cursor.execute(sql, params)
                return _Rows(cursor.fetchall())
            except self.adbc.Error as exc:
                if "file is not a database" in str(exc):  # said as sqlite3 says it
                    raise sqlite3.DatabaseError("file is not a database") from exc
                raise


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Any]:
        return self.rows


def read_query(
    db: str | Path,
    sql: str,
    params: Sequence[object] = (),
    as_of: str | None = None,
    text: Sequence[str] = (),
) -> pd.DataFrame:
    """One query on a checked store as a frame (see `read_queries`)."""
    return read_queries(db, [Query(sql, params, text)], as_of)[0]


def as_of_date(text: str) -> str:
    """An as-of date, YYYY-MM-DD, checked; the store is seen as at the end of that day (UTC)."""
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise AsOfError(f"--as-of wants a date as YYYY-MM-DD, not {text!r}") from None


def _as_of(conn: Connection, path: str, as_of: str) -> None:
    """Shadow the store's tables, for this connection only, with TEMP views of the index as it
    stood at the end of `as_of` (UTC):

    - a release exists once its first file was uploaded (PEP 700 upload times); later releases
      and files are not there; releases without any upload time are left out;
    - each project's latest release is picked among the existing ones by the store's rule
      (`depgraph.core.versions`); yanked flags are today's (the index says when a file was
      uploaded, not when it was yanked);
    - projects with no release yet are not there.
    """
    day_end = f"{as_of_date(as_of)}T23:59:59.999999+00:00"
    # upload times are ISO 8601 text with offsets: compared as instants, not as strings
    if conn.dialect is Dialect.SQLITE:
        instant, base = "julianday({})", "main"
    else:
        instant, base = "({})::timestamptz", "public"
    if conn.execute("SELECT 1 FROM files WHERE upload_time IS NOT NULL LIMIT 1").fetchone() is None:
        raise AsOfError(
            f"{path}: the store has no upload times (its index gave none; PyPI's JSON API does, "
            "PEP 691/700), so it cannot be seen as of a date"
        )
    rows = conn.execute(
        "SELECT r.id, r.project, r.version, r.yanked FROM releases r JOIN ("
        " SELECT release_id, min({}) AS first FROM files".format(instant.format("upload_time"))
        + " WHERE upload_time IS NOT NULL GROUP BY release_id) u ON u.release_id = r.id"
        " WHERE u.first <= {}".format(instant.format("?")),
        (day_end,),
    ).fetchall()
    best: dict[str, tuple[tuple[bool, bool, bool, Version], int]] = {}
    for release_id, project, version, yanked in rows:
        key = latest_key(version, bool(yanked))
        if project not in best or key > best[project][0]:
            best[project] = (key, release_id)
    conn.execute("CREATE TEMP TABLE asof_existing (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE asof_latest (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO asof_existing VALUES (?)", [(r[0],) for r in rows])
    conn.executemany("INSERT INTO asof_latest VALUES (?)", [(b[1],) for b in best.values()])
    # the date is checked above; it is part of the view's text, not a parameter
    conn.executescript(f"""
        CREATE TEMP VIEW releases AS
            SELECT r.id, r.project, r.version, r.yanked, r.requires_python, r.deps_state,
                   r.metadata_source, r.metadata_file, r.files_digest, r.extractor_version,
                   r.note,
                   CASE WHEN r.id IN (SELECT id FROM asof_latest) THEN 1 ELSE 0 END AS is_latest,
                   r.deps_verified, r.entry_points_read
            FROM {base}.releases r WHERE r.id IN (SELECT id FROM asof_existing);
        CREATE TEMP VIEW files AS
            SELECT * FROM {base}.files
            WHERE upload_time IS NOT NULL
              AND {instant.format("upload_time")} <= {instant.format(repr(day_end))};
        CREATE TEMP VIEW projects AS
            SELECT * FROM {base}.projects WHERE name IN (SELECT project FROM releases);
    """)


def require_projects(db: str | Path) -> None:
    """EmptyStoreError when the store holds no project yet."""
    with closing(open_store(db)) as conn:
        if conn.execute("SELECT count(*) FROM projects").fetchone()[0] == 0:
            raise EmptyStoreError(f"the store at {db} holds no projects yet: crawl or import first")


def read_nodes(
    db: str | Path, as_of: str | None = None, projects: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per project, sorted by name: latest version, dependency state of that release,
    wheels/sdist, releases, last upload, console scripts. With `projects`, the rows of those
    only (the ones the store holds).

    Simple queries joined here on the project name: SQLite's plan for them as one statement (a
    LEFT JOIN of four grouped subqueries) takes several times as long."""
    kinds = (FileKind.WHEEL.value, FileKind.SDIST.value)
    name_of, project_of, r_project_of, their = "", "", "", ""
    some: tuple[object, ...] = ()
    if projects is not None:
        condition, some = _one_of(db, "{}", list(projects))
        name_of, project_of, r_project_of = (
            f" AND {condition.format(c)}" for c in ("name", "project", "r.project")
        )
        their = f" AND release_id IN (SELECT id FROM releases WHERE {condition.format('project')})"
    names, latest, counts, files, scripts = read_queries(
        db,
        [
            Query(f"SELECT name, status FROM projects WHERE 1 = 1{name_of}", some),
            Query(
                "SELECT id, project, version AS latest_version, deps_state, metadata_source,"
                f" deps_verified, entry_points_read FROM releases WHERE is_latest = 1{project_of}",
                some,
                text=("latest_version", "metadata_source"),
            ),
            Query(
                "SELECT project, count(*) AS releases FROM releases"
                f" WHERE 1 = 1{project_of} GROUP BY project",
                some,
            ),
            Query(
                "SELECT r.project, max(CASE WHEN f.kind = ? THEN 1 ELSE 0 END) AS has_wheels,"
                " max(CASE WHEN f.kind = ? THEN 1 ELSE 0 END) AS has_sdist,"
                " max(f.upload_time) AS last_upload"
                " FROM files f JOIN releases r ON r.id = f.release_id"
                # imported stores have no files, and SQLite's plan still scans every release
                # for nothing: a constant condition it tests once
                f" WHERE EXISTS (SELECT 1 FROM files){r_project_of} GROUP BY r.project",
                (*kinds, *some),
                text=("last_upload",),
            ),
            Query(
                "SELECT release_id, count(*) AS console_scripts FROM entry_points"
                f" WHERE grp IN ('console_scripts', 'gui_scripts'){their} GROUP BY release_id",
                some,
            ),
        ],
        as_of,
    )
    # sorted here, not by ORDER BY: byte order whatever the database's collation
    nodes = names.sort_values("name", ignore_index=True)
    index = pd.Index(nodes["name"])
    latest = _aligned(index, latest, "project")
    nodes["latest_version"] = latest["latest_version"]
    nodes["deps_state"] = latest["deps_state"].fillna("no-release")
    nodes["metadata_source"] = latest["metadata_source"]
    nodes["deps_verified"] = latest["deps_verified"]
    nodes["releases"] = _aligned(index, counts, "project")["releases"].fillna(0).astype("int64")
    files = _aligned(index, files, "project")
    nodes["has_wheels"] = files["has_wheels"].fillna(0).astype(bool)
    nodes["has_sdist"] = files["has_sdist"].fillna(0).astype(bool)
    nodes["last_upload"] = files["last_upload"]
    # counted where the release's entry points were read, unknown (NA) where they were not
    per_release = scripts.set_index("release_id")["console_scripts"]
    found = latest["id"].map(per_release).fillna(0)
    nodes["console_scripts"] = found.where(latest["entry_points_read"] == 1)
    nodes["deps_known"] = nodes["deps_state"].eq(DepsState.KNOWN.value)
    nodes["sdist_only"] = nodes["has_sdist"] & ~nodes["has_wheels"]
    return nodes


def _aligned(index: pd.Index, frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """`frame`'s rows (unique `key`) in the order of `index`, missing values where it has none."""
    return frame.set_index(key).reindex(index).reset_index(drop=True)


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
    "id": "q.id",
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
    as_of: str | None = None,
    older_only: bool = False,
    projects: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Requirement rows of known releases: source, target, version, specifier, marker, extra, kind,
    raw. Of each project's selected release (`latest_only`), of every release, or with
    `older_only` of the known releases that are not selected; with `projects`, of those projects
    only."""
    where = "r.deps_state = ? AND q.kind IN ({})".format(",".join("?" * len(kinds)))
    flag, join, of_projects, some = _requirements_scan(db, projects)
    where += of_projects
    params = [DepsState.KNOWN.value, *(str(k) for k in kinds), *some]
    if older_only:
        where += f" AND {flag} = 0"
    elif latest_only:
        where += f" AND {flag} = 1"
    select = ", ".join(f"{_COLUMNS[c]} AS {c}" for c in columns)
    sql = (
        f"SELECT {select} FROM requirements q {join} releases r ON r.id = q.release_id"
        f" WHERE {where}"
    )
    text = [
        c
        for c in columns
        if c in ("source", "target", "marker", "extra", "specifier", "raw", "version")
    ]
    return read_query(db, sql, params, as_of, text)


def _requirements_scan(
    db: str | Path, projects: Sequence[str] | None
) -> tuple[str, str, str, tuple[object, ...]]:
    """How a read of requirement rows joins their releases: (the latest flag's expression, the
    join, the condition on `projects` with its parameters). SQLite's planner (no statistics)
    scans the releases (millions on PyPI) and looks each known one's requirements up: scanning
    the requirements and looking their release up by its key is faster. CROSS JOIN is how
    SQLite is told the loop order; `+ 0` keeps it off the partial index of latest releases. For
    a few projects' rows the planner's own order (their releases by name, then their
    requirements) is the right one."""
    if projects is not None:
        condition, some = _one_of(db, "r.project", list(projects))
        return "r.is_latest", "JOIN", f" AND {condition}", some
    if is_postgres(db):
        return "r.is_latest", "JOIN", "", ()
    return "r.is_latest + 0", "CROSS JOIN", "", ()


def read_older_edges(
    db: str | Path,
    with_markers: bool = False,
    include_extras: bool = False,
    as_of: str | None = None,
    projects: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The distinct (source, target, extra[, marker]) of the run-time requirements of the known
    releases that are not selected: outside extras (extra always NULL) unless `include_extras`;
    with `projects`, of those projects only. Every older release of a project mostly repeats the
    same names: on a store of every PyPI release, 22 M rows are 1 M distinct pairs, and SQLite's
    DISTINCT costs less than carrying the rows out."""
    flag, join, of_projects, some = _requirements_scan(db, projects)
    kinds = [str(k) for k in RUNTIME_KINDS]
    columns = ["r.project AS source", "q.name AS target", "q.extra AS extra"]
    if with_markers:
        columns.append("q.marker AS marker")
    where = "r.deps_state = ? AND q.kind IN ({}) AND {} = 0".format(
        ",".join("?" * len(kinds)), flag
    )
    if not include_extras:
        where += " AND q.extra IS NULL"
    sql = (
        f"SELECT DISTINCT {', '.join(columns)} FROM requirements q {join} releases r"
        f" ON r.id = q.release_id WHERE {where}{of_projects}"
    )
    text = ["source", "target", "extra", *(["marker"] if with_markers else [])]
    return read_query(db, sql, [DepsState.KNOWN.value, *kinds, *some], as_of, text)


def read_selected_releases(db: str | Path, as_of: str | None = None) -> pd.DataFrame:
    """Each project's selected release: id, project, version, yanked, requires_python,
    deps_state."""
    sql = (
        "SELECT id, project, version, yanked, requires_python, deps_state FROM releases"
        " WHERE is_latest = 1"
    )
    return read_query(db, sql, (), as_of, ("project", "version", "requires_python", "deps_state"))


def read_selected_files(db: str | Path, as_of: str | None = None) -> pd.DataFrame:
    """The files of each project's selected release: release_id, filename, kind, yanked,
    requires_python."""
    sql = (
        "SELECT f.release_id, f.filename, f.kind, f.yanked, f.requires_python FROM files f"
        " JOIN releases r ON r.id = f.release_id WHERE r.is_latest = 1"
    )
    return read_query(db, sql, (), as_of, ("filename", "kind", "requires_python"))


def read_latest_versions(
    db: str | Path, names: Sequence[str], as_of: str | None = None
) -> pd.DataFrame:
    """The selected release (project, version, yanked) of each of the projects `names` that
    has releases."""
    condition, params = _one_of(db, "project", list(names))
    sql = f"SELECT project, version, yanked FROM releases WHERE is_latest = 1 AND {condition}"
    return read_query(db, sql, params, as_of, ("project", "version"))


def read_versions_of(
    db: str | Path, names: Sequence[str], as_of: str | None = None
) -> pd.DataFrame:
    """Every release (project, version, yanked) of the projects `names`."""
    condition, params = _one_of(db, "project", list(names))
    sql = f"SELECT project, version, yanked FROM releases WHERE {condition}"
    return read_query(db, sql, params, as_of, ("project", "version"))


def read_versions(db: str | Path, as_of: str | None = None) -> pd.DataFrame:
    """Every (project, version, yanked, is_latest) the store knows, for satisfiability checks."""
    sql = "SELECT project, version, yanked, is_latest FROM releases"
    return read_query(db, sql, (), as_of, ("project", "version"))


def read_requirement_texts(
    db: str | Path, ids: Sequence[int], as_of: str | None = None
) -> pd.DataFrame:
    """The `marker`, `kind` and `raw` text of the requirement rows `ids` (`id` column): what a
    report shows of the few broken requirements, not read for every row."""
    condition, params = _one_of(db, "id", [int(i) for i in ids])
    sql = f"SELECT id, marker, kind, raw FROM requirements WHERE {condition}"
    return read_query(db, sql, params, as_of, ("marker", "kind", "raw"))


def _one_of(db: str | Path, column: str, values: Sequence[object]) -> tuple[str, tuple[object]]:
    """`column` is one of `values`, the values as one parameter: an array for PostgreSQL, a JSON
    list SQLite unpacks (no statement with thousands of placeholders)."""
    if is_postgres(db):
        return f"{column} = ANY(?)", (list(values),)
    return f"{column} IN (SELECT value FROM json_each(?))", (json.dumps(list(values)),)


def newest_upload(db: str | Path) -> str | None:
    """The newest upload time of any file (ISO 8601), None where the index gave none."""
    with closing(open_store(db)) as conn:
        newest: str | None = conn.execute("SELECT max(upload_time) FROM files").fetchone()[0]
    return newest


def whole_index(db: str | Path) -> str | None:
    """What made the store a copy of a whole index, None when it holds chosen projects only:
    a complete `crawl --all` or `update` (the time it is consistent to), or an import of a data
    set of every project. In such a store a name with no page was not on the index."""
    with closing(open_store(db)) as conn:
        rows = dict(
            conn.execute(
                "SELECT key, value FROM meta WHERE key IN ('whole_index', 'consistent_at')"
            ).fetchall()
        )
    if rows.get("whole_index"):
        return str(rows["whole_index"])
    if rows.get("consistent_at"):
        return f"a crawl of the whole index, consistent as of {rows['consistent_at']}"
    return None


class ReleaseRows:
    """Row-level reads of releases, files and requirements by project and release, on one open
    connection: what a resolver asks, a few hundred projects at a time."""

    def __init__(self, db: str | Path, as_of: str | None = None) -> None:
        self._conn = open_store(db, as_of)
        self.has_files = self._conn.execute("SELECT 1 FROM files LIMIT 1").fetchone() is not None

    def close(self) -> None:
        self._conn.close()

    def project_names(self) -> list[str]:
        """Every project with a release, sorted."""
        rows = self._conn.execute("SELECT DISTINCT project FROM releases ORDER BY project")
        return [r[0] for r in rows]

    def releases_of(self, project: str) -> list[tuple[int, str, int, str | None, str, int]]:
        """(id, version, yanked, requires_python, deps_state, is_latest) of a project's
        releases."""
        return list(
            self._conn.execute(
                "SELECT id, version, yanked, requires_python, deps_state, is_latest FROM releases"
                " WHERE project = ?",
                (project,),
            )
        )

    def files_of(self, release_ids: Sequence[int]) -> list[tuple[int, str, str, int, str | None]]:
        """(release_id, filename, kind, yanked, requires_python) of the releases' files."""
        if not release_ids:
            return []
        marks = ",".join("?" * len(release_ids))
        return list(
            self._conn.execute(
                "SELECT release_id, filename, kind, yanked, requires_python FROM files"
                f" WHERE release_id IN ({marks})",
                tuple(release_ids),
            )
        )

    def runtime_requirements(self, release_id: int) -> list[tuple[str, str, str | None]]:
        """(raw, name, extra) of a release's run-time requirements (base install and extras)."""
        return list(
            self._conn.execute(
                "SELECT raw, name, extra FROM requirements WHERE release_id = ? AND kind IN (?, ?)",
                (release_id, RequirementKind.RUN, RequirementKind.EXTRA),
            )
        )


@dataclass(frozen=True)
class StoreSource:
    """A store as the analysis reads it: its locator, checked once where the analysis begins
    (it exists, its schema version is this code's, it holds projects), and the date it is seen as
    of (None: as it is). Every read of the analysis goes through one of these; a process the
    analysis starts gets the locator and the date and opens its own."""

    locator: str
    as_of: str | None = None

    @classmethod
    def open(cls, db: str | Path | StoreSource, as_of: str | None = None) -> StoreSource:
        """The store at `db`, checked (StoreError: missing, foreign, another schema, empty)."""
        if isinstance(db, StoreSource):
            return db if as_of is None else db.at(as_of)
        source = cls(str(db), as_of)
        require_projects(source.locator)
        return source

    @property
    def name(self) -> str:
        """The locator for messages (a URL's password hidden)."""
        return display_locator(self.locator)

    def at(self, as_of: str | None) -> StoreSource:
        """The same store seen as of another date."""
        return StoreSource(self.locator, as_of)

    def nodes(self) -> pd.DataFrame:
        return read_nodes(self.locator, self.as_of)

    def requirements(
        self,
        latest_only: bool = True,
        kinds: tuple[str, ...] = RUNTIME_KINDS,
        columns: tuple[str, ...] = REQUIREMENT_COLUMNS,
        older_only: bool = False,
    ) -> pd.DataFrame:
        return read_requirements(self.locator, latest_only, kinds, columns, self.as_of, older_only)

    def older_edges(self, with_markers: bool = False, include_extras: bool = False) -> pd.DataFrame:
        return read_older_edges(self.locator, with_markers, include_extras, self.as_of)

    def requirement_texts(self, ids: Sequence[int]) -> pd.DataFrame:
        return read_requirement_texts(self.locator, ids, self.as_of)

    def latest_versions(self, names: Sequence[str]) -> pd.DataFrame:
        return read_latest_versions(self.locator, names, self.as_of)

    def versions_of(self, names: Sequence[str]) -> pd.DataFrame:
        return read_versions_of(self.locator, names, self.as_of)

    def versions(self) -> pd.DataFrame:
        return read_versions(self.locator, self.as_of)

    def newest_upload(self) -> str | None:
        return newest_upload(self.locator)

    def whole_index(self) -> str | None:
        return whole_index(self.locator)

    def meta(self, key: str) -> str | None:
        """A store-wide fact the `meta` table records."""
        with closing(open_store(self.locator)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def selected_releases(self) -> pd.DataFrame:
        return read_selected_releases(self.locator, self.as_of)

    def selected_files(self) -> pd.DataFrame:
        return read_selected_files(self.locator, self.as_of)

    def release_rows(self) -> ReleaseRows:
        """Row-level reads on a connection of their own (close it)."""
        return ReleaseRows(self.locator, self.as_of)

    @classmethod
    def of(cls, db: str | Path | StoreSource) -> StoreSource:
        """`db` as a source, unchecked (its reads check it)."""
        return db if isinstance(db, StoreSource) else cls(str(db))

    def check(self) -> None:
        """Open and close: StoreError now rather than in the middle of the work."""
        open_store(self.locator, self.as_of).close()


#: more changed projects than this and a kept read is read again whole (one query per frame is
#: cheaper than the merge by then)
KEPT_MOST_CHANGED = 20_000


@dataclass
class _Kept:
    frames: dict[tuple[object, ...], pd.DataFrame] = field(default_factory=dict)
    # per frame: the projects changed since it was read (None: read it whole again)
    owed: dict[tuple[object, ...], set[str] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class KeptStoreSource(StoreSource):
    """A store read again and again as it changes (a follow that rebuilds its report): the
    report's large reads (the projects, the selected releases' requirements, the older releases'
    distinct edges) are kept between reads, and `changed` names the projects whose rows changed
    since: only theirs are read again and put in place of the kept ones. What the frames hold is
    what a whole read gives, in the same row order (the older edges: the same set of rows).
    Only its writer can name what changed: `forget` has everything read whole once more
    (another process wrote to the store)."""

    kept: _Kept = field(default_factory=_Kept, compare=False, repr=False)

    @classmethod
    def open(cls, db: str | Path | StoreSource, as_of: str | None = None) -> KeptStoreSource:
        if as_of is not None:
            raise ValueError("a kept source reads the store as it is (no as-of date)")
        source = cls(db.locator if isinstance(db, StoreSource) else str(db))
        require_projects(source.locator)
        return source

    def at(self, as_of: str | None) -> StoreSource:
        return self if as_of is None else StoreSource(self.locator, as_of)

    def changed(self, projects: set[str] | None) -> None:
        """These projects' rows changed since the last read (None: any project's may have)."""
        owed = self.kept.owed
        for key, names in owed.items():
            owed[key] = None if projects is None or names is None else names | projects

    def forget(self) -> None:
        """Everything is read whole next time."""
        self.changed(None)

    def nodes(self) -> pd.DataFrame:
        return self._kept(
            ("nodes",),
            lambda some: read_nodes(self.locator, None, some),
            "name",
            order="name",
        )

    def requirements(
        self,
        latest_only: bool = True,
        kinds: tuple[str, ...] = RUNTIME_KINDS,
        columns: tuple[str, ...] = REQUIREMENT_COLUMNS,
        older_only: bool = False,
    ) -> pd.DataFrame:
        if not latest_only or older_only or "id" not in columns or "source" not in columns:
            return super().requirements(latest_only, kinds, columns, older_only)
        return self._kept(
            ("requirements", kinds, columns),
            lambda some: read_requirements(self.locator, True, kinds, columns, projects=some),
            "source",
            order="id",
        )

    def older_edges(self, with_markers: bool = False, include_extras: bool = False) -> pd.DataFrame:
        return self._kept(
            ("older", with_markers, include_extras),
            lambda some: read_older_edges(
                self.locator, with_markers, include_extras, projects=some
            ),
            "source",
        )

    def _kept(
        self,
        key: tuple[object, ...],
        read: Callable[[Sequence[str] | None], pd.DataFrame],
        name: str,
        order: str | None = None,
    ) -> pd.DataFrame:
        """The frame `key`, read whole the first time (and when stale), else the kept one with
        the changed projects' rows read again; `name`: the column holding the project, `order`:
        the column whose order a whole read gives (None: a set of rows, in no order)."""
        frames, owed = self.kept.frames, self.kept.owed
        names = owed.get(key)
        if key not in frames or names is None or len(names) > KEPT_MOST_CHANGED:
            frame = read(None)
        elif not names:
            frame = frames[key]
        else:
            changed = sorted(names)
            old = frames[key]
            fresh = read(changed)
            rows = np.flatnonzero(~old[name].isin(changed).to_numpy())
            if len(fresh):
                # the kept frame's types: a few rows can read as another (all-NULL columns)
                fresh = fresh[list(old.columns)].astype(old.dtypes.to_dict())
                rows = np.concatenate([rows, len(old) + np.arange(len(fresh))])
                old = pd.concat([old, fresh], ignore_index=True)
                if order is not None:
                    rows = rows[np.argsort(old[order].to_numpy()[rows], kind="stable")]
            # one take of the rows kept, in order (each take copies every column)
            frame = old.take(rows).reset_index(drop=True)
        frames[key], owed[key] = frame, set()
        return frame
