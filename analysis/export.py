"""A bulk dump of the graph and its metrics that others load without this tool: Parquet files
(each column's meaning in the file's own schema), CSV files, or one SQLite database (a `columns`
table of meanings, indexes for who-requires-whom lookups), with the data dictionary beside them.

Tables:
- `packages`: one row per project (the report's packages.csv);
- `edges`: `source` requires `target` (the report's edges.csv);
- `requirements`: each selected release's requirements as written (specifier, marker, extra)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from depgraph.core import __version__
from depgraph.store.reader import REQUIREMENT_COLUMNS, StoreSource

from .csvout import write_csv
from .errors import AnalysisError
from .folders import replaced_whole
from .report import DATA_DICTIONARY, build_tables

__all__ = ["FORMATS", "column_meanings", "is_export", "write_export"]

FORMATS = ("parquet", "csv", "sqlite")

#: meanings of the columns the data dictionary does not list as a table of their own
_OTHER_MEANINGS = {
    "edges": {
        "source": "canonical name of the project whose selected release requires `target`",
        "target": "canonical name of the project required",
        "via_extra": "the requirement holds only inside an extra of `source`",
        "implied": "not listed by `source` itself: it comes with an extra `source` requests of "
        "another dependency (`B[x]`)",
    },
    "requirements": {
        "source": "canonical name of the project whose selected release lists the requirement",
        "target": "canonical name of the project required",
        "version": "the selected release of `source`",
        "specifier": "version specifier as written, normalised by `packaging` (empty: any)",
        "marker": "environment marker as written (empty: always)",
        "extra": "the extra of `source` the requirement belongs to (empty: outside any extra)",
        "extras": "extras of `target` requested, comma-separated",
        "kind": "`run` (outside any extra) or `extra`",
        "raw": "the requirement's text as the metadata has it",
    },
}


def column_meanings(dictionary: str | None = None) -> dict[str, dict[str, str]]:
    """Each table's columns and what they mean: packages' from the data dictionary's table
    (`*_pct` and `installable_<target>` as patterns), the others' from this module."""
    text = dictionary if dictionary is not None else DATA_DICTIONARY.read_text(encoding="utf-8")
    section = text.split("## packages.csv", 1)[1].split("\n## ", 1)[0]
    packages: dict[str, str] = {}
    for line in section.splitlines():
        match = re.match(r"\|\s*(`[^|]+`)\s*\|\s*(.+?)\s*\|\s*$", line)
        if not match:
            continue
        for name in re.findall(r"`([^`]+)`", match.group(1)):
            packages[name] = match.group(2)
    return {"packages": packages, **_OTHER_MEANINGS}


def meaning(meanings: dict[str, str], column: str) -> str:
    if column in meanings:
        return meanings[column]
    if column.endswith("_pct"):
        return f"percentile rank of `{column[:-4]}` among all rows (1.0 = highest)"
    if column.startswith("installable_"):
        return meanings.get("installable_<target>", "")
    return ""


def is_export(folder: Path) -> bool:
    """Whether `folder` holds an export this tool wrote."""
    try:
        return "format" in json.loads((folder / "export.json").read_text())
    except (ValueError, OSError):
        return False


def write_export(
    db: str | Path | StoreSource,
    out: str | Path,
    fmt: str,
    *,
    downloads: str | Path | None = None,
    include_extras: bool = False,
) -> dict[str, object]:
    """The store's graph and metrics in `fmt` (one of FORMATS) in the folder `out`, replaced
    whole (a folder holding anything but an earlier export is refused). Returns what
    export.json records."""
    if fmt not in FORMATS:
        raise AnalysisError(f"export format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    source = StoreSource.open(db)
    tables = build_tables(source, downloads=downloads, include_extras=include_extras)
    names = pa.array(tables.graph.names, pa.string())
    edges = tables.graph.edges.sort_values(["src", "dst"], kind="stable")
    frames = {
        "packages": tables.packages,
        "edges": pd.DataFrame(
            {
                "source": pd.arrays.ArrowStringArray(names.take(edges["src"].to_numpy())),
                "target": pd.arrays.ArrowStringArray(names.take(edges["dst"].to_numpy())),
                "via_extra": edges["via_extra"].to_numpy(),
                "implied": edges["implied"].to_numpy(),
            }
        ),
        "requirements": source.requirements(columns=REQUIREMENT_COLUMNS)
        .sort_values(["source", "target", "raw"], kind="stable")
        .reset_index(drop=True),
    }
    meanings = column_meanings()
    with replaced_whole(Path(out), is_export, "export") as staging:
        if fmt == "parquet":
            files = [
                _parquet(frame, meanings[t], staging / f"{t}.parquet")
                for t, frame in frames.items()
            ]
        elif fmt == "csv":
            files = [staging / f"{t}.csv" for t in frames]
            for table_name, frame in frames.items():
                write_csv(frame, staging / f"{table_name}.csv")
        else:
            files = [_sqlite(frames, meanings, staging / "depgraph.sqlite")]
        record: dict[str, object] = {
            "format": fmt,
            "store": source.name,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "pypi_depgraph": __version__,
            "include_extras": include_extras,
            "downloads_file": str(downloads) if downloads is not None else None,
            "rows": {t: len(frame) for t, frame in frames.items()},
            "coverage": tables.coverage,
            "files": [*sorted(p.name for p in files), "README.md", "export.json"],
        }
        (staging / "export.json").write_text(json.dumps(record, indent=2, default=str))
        shutil.copyfile(DATA_DICTIONARY, staging / "README.md")
    return record


def _arrow(frame: pd.DataFrame, meanings: dict[str, str]) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        field.with_metadata({"description": meaning(meanings, field.name)})
        for field in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def _parquet(frame: pd.DataFrame, meanings: dict[str, str], path: Path) -> Path:
    pq.write_table(_arrow(frame, meanings), path)
    return path


def _sqlite(
    frames: dict[str, pd.DataFrame], meanings: dict[str, dict[str, str]], path: Path
) -> Path:
    """One database: the tables (loaded through Arrow), a `columns` table of meanings, and the
    indexes a who-requires-whom question needs."""
    from depgraph.core.interruptible import interruptible

    described = pd.DataFrame(
        [
            (table, column, meaning(meanings[table], column))
            for table, frame in frames.items()
            for column in frame.columns
        ],
        columns=["table_name", "column_name", "description"],
    )
    interruptible(lambda: _ingest(frames, described, path))
    return path


def _ingest(frames: dict[str, pd.DataFrame], described: pd.DataFrame, path: Path) -> None:
    from contextlib import closing

    import adbc_driver_sqlite.dbapi as adbc

    from depgraph.core import sqlite_libraries

    with (
        sqlite_libraries.holding("adbc", path),
        closing(adbc.connect(str(path))) as conn,
        closing(conn.cursor()) as cur,
    ):
        for table, frame in [*frames.items(), ("columns", described)]:
            arrow = pa.Table.from_pandas(frame, preserve_index=False)
            # booleans as 0/1 and everything else as SQLite's own types
            arrow = arrow.cast(
                pa.schema(
                    [
                        pa.field(f.name, pa.int64()) if pa.types.is_boolean(f.type) else f
                        for f in arrow.schema
                    ]
                )
            )
            cur.adbc_ingest(table, arrow, mode="create")
        for statement in (
            "CREATE UNIQUE INDEX packages_name ON packages(name)",
            "CREATE INDEX edges_target ON edges(target, source)",
            "CREATE INDEX edges_source ON edges(source, target)",
            "CREATE INDEX requirements_target ON requirements(target)",
            "CREATE INDEX requirements_source ON requirements(source)",
        ):
            cur.execute(statement)
        conn.commit()
