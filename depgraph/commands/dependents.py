"""`depgraph dependents NAME`: who depends on a project, directly (from the store's index on
requirement names, in milliseconds) or transitively (from the graph, as the report counts it)."""

from __future__ import annotations

import argparse

from ..exitcodes import ExitCode
from ..output import print_json
from . import checks
from .options import Subparsers, add_db, add_downloads, download_counts, existing_store

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "dependents",
        parents=[common],
        help="who depends on a project, and how many",
        description="The projects whose latest release lists NAME (the report's direct "
        "dependents), or with --transitive every project that reaches it (its transitive "
        "dependents). The list and the count are the same set.",
    )
    p.add_argument("name", type=checks.project_name, help="the project")
    add_db(p)
    p.add_argument("--transitive", action="store_true", help="through any chain of requirements")
    p.add_argument("--extras", action="store_true", help="count requirements through extras too")
    p.add_argument(
        "--sort",
        choices=("name", "dependents", "downloads"),
        default="name",
        help="order of the list: by name, by each dependent's own direct dependents, or by its "
        "downloads (with --downloads) (default %(default)s)",
    )
    add_downloads(p, "to sort by")
    p.add_argument(
        "--limit",
        type=checks.page_size,
        default=50,
        help="rows to show, at most 1000 (default %(default)s)",
    )
    p.add_argument("--offset", type=checks.non_negative, default=0, help="rows to skip (default 0)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from packaging.utils import canonicalize_name

    from ..answers import Answers
    from ..errors import UsageError

    if args.sort == "downloads" and args.downloads is None:
        raise UsageError("--sort downloads needs --downloads FILE")
    answers = Answers(existing_store(args.db, reads_only=True), download_counts(args.downloads))
    page = answers.dependents(
        canonicalize_name(args.name),
        transitive=args.transitive,
        extras=args.extras,
        sort=args.sort,
        limit=args.limit,
        offset=args.offset,
    )
    if args.json:
        print_json(page.as_dict())
        return ExitCode.OK
    how = "transitive" if args.transitive else "direct"
    more = (
        f" ({len(page.rows)} shown from {page.offset}; --limit/--offset for more)"
        if page.count > len(page.rows)
        else ""
    )
    extras = " with extras" if args.extras else ""
    print(f"{page.project}: {page.count} {how} dependents{extras}{more}")
    for row in page.rows:
        key = f"  {args.sort}={row[args.sort]}" if args.sort in row and args.sort != "name" else ""
        print(f"  {row['name']}{key}")
    return ExitCode.OK
