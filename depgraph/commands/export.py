"""`depgraph export`: the graph and its metrics as a bulk dump others load without this tool."""

from __future__ import annotations

import argparse

from ..exitcodes import ExitCode
from ..output import print_json
from .options import Subparsers, add_db, add_downloads

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "export",
        parents=[common],
        help="the graph and metrics as Parquet, CSV or one SQLite database",
        description="Writes packages (one row per project, the report's metrics), edges (who "
        "requires whom) and requirements (each latest release's requirements as written) into "
        "--out, with the data dictionary beside them (README.md) and export.json (what, from "
        "which store, when). Parquet files carry each column's meaning in their schema; the "
        "SQLite database has a `columns` table of meanings and indexes on names. The folder is "
        "replaced whole; one holding anything but an earlier export is refused.",
    )
    add_db(p)
    p.add_argument("--out", default="export", help="output folder (default %(default)s)")
    p.add_argument(
        "--format",
        choices=("parquet", "csv", "sqlite"),
        default="parquet",
        help="file format (default %(default)s)",
    )
    add_downloads(p, "to add to packages")
    p.add_argument(
        "--include-extras",
        action="store_true",
        help="count requirements reached through extras too",
    )
    p.set_defaults(handler=run, hard_exit=True)


def run(args: argparse.Namespace) -> int:
    from depgraph.analysis import write_export

    record = write_export(
        args.db,
        args.out,
        args.format,
        downloads=args.downloads,
        include_extras=args.include_extras,
    )
    if args.json:
        print_json(record)
    else:
        rows = record["rows"]
        assert isinstance(rows, dict)
        counts = ", ".join(f"{n} {table}" for table, n in rows.items())
        print(f"exported {counts} as {args.format} into {args.out}/")
    return ExitCode.OK
