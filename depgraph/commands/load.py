"""`depgraph import`: a public dependency data set into the store, without crawling."""

from __future__ import annotations

import argparse
from pathlib import Path

from depgraph.core.db import display_locator

from ..errors import UsageError
from ..exitcodes import ExitCode
from ..output import print_json
from .options import Subparsers, add_db, removed_unless_kept

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    imp = sub.add_parser(
        "import",
        parents=[common],
        help="load a public dependency data set into the store",
        description="Load mach-nix pypi-deps-db buckets or a BigQuery distribution_metadata "
        "export into the store (provenance recorded as import:<data set>): every version the data "
        "set has, with its dependencies.",
    )
    imp.add_argument("kind", choices=("pypi-deps-db", "bigquery"))
    imp.add_argument(
        "path",
        type=Path,
        help="pypi-deps-db folder (with sdist/ and wheel/), or a CSV/JSONL export",
    )
    add_db(imp, writes=True)
    imp.add_argument(
        "--latest-only",
        action="store_true",
        help="import only each project's latest version's dependencies (about a third of the "
        "time; the other versions are stored `not-imported`, so installability cannot pick them)",
    )
    imp.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from depgraph.crawler.importers import import_bigquery, import_pypi_deps_db
    from depgraph.store import Store

    if not args.path.exists():
        raise UsageError(f"no such file or folder: {args.path}")
    from ..progress import StageBars
    from .options import progress_wanted

    with removed_unless_kept(args.db), StageBars(progress_wanted(args), unit="bucket") as bars:
        store = Store(args.db)
        try:
            if args.kind == "pypi-deps-db":
                summary = import_pypi_deps_db(
                    args.path, store, all_versions=not args.latest_only, progress=bars
                )
            else:
                summary = import_bigquery(args.path, store, all_versions=not args.latest_only)
            if args.kind == "pypi-deps-db":
                # a snapshot of every project of PyPI: a name it lacks was not on the index
                store.set_meta({"whole_index": f"pypi-deps-db import of {args.path.name}"})
        finally:
            store.close()
    if args.json:
        print_json(summary.__dict__ | {"db": display_locator(args.db)})
    else:
        print(
            f"imported {summary.projects} projects, {summary.releases} releases, "
            f"{summary.requirements} requirements ({summary.bad_requirements} unreadable, "
            f"recorded as failures) into {display_locator(args.db)}"
        )
    return ExitCode.OK
