"""`depgraph dependents NAME`: who depends on a project, directly (from the store's index on
requirement names, in milliseconds) or transitively (from the graph, as the report counts it)."""

from __future__ import annotations

import argparse

from ..exitcodes import ExitCode
from ..output import print_json
from . import checks
from .options import Subparsers, add_db, existing_store

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
    p.add_argument(
        "--downloads", type=checks.existing_file, help="download counts, as report reads them"
    )
    p.add_argument(
        "--limit", type=checks.positive, default=50, help="rows to show (default %(default)s)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from packaging.utils import canonicalize_name

    from ..errors import UsageError

    if args.sort == "downloads" and args.downloads is None:
        raise UsageError("--sort downloads needs --downloads FILE")
    name = canonicalize_name(args.name)
    store = existing_store(args.db, reads_only=True)
    if args.transitive:
        found = _transitive(args.db, name, args.extras)
    else:
        found = store.listed_by(name, extras=args.extras)
    keys: dict[str, int] = {}
    if args.sort == "dependents":
        keys = store.listed_by_counts(found, extras=args.extras)
    elif args.sort == "downloads":
        from depgraph.analysis import read_downloads

        table = read_downloads(args.downloads).set_index("name")["downloads"]
        keys = {n: int(table.get(n, 0)) for n in found}
    ordered = sorted(found, key=lambda n: (-keys.get(n, 0), n)) if keys else sorted(found)
    shown = ordered[: args.limit]
    if args.json:
        rows = [{"name": n, **({args.sort: keys[n]} if keys else {})} for n in shown]
        print_json(
            {
                "project": name,
                "transitive": args.transitive,
                "extras": args.extras,
                "count": len(found),
                "shown": rows,
            }
        )
        return ExitCode.OK
    how = "transitive" if args.transitive else "direct"
    more = f" ({len(shown)} shown; --limit for more)" if len(found) > len(shown) else ""
    print(f"{name}: {len(found)} {how} dependents{' with extras' if args.extras else ''}{more}")
    for n in shown:
        print(f"  {n}" + (f"  {args.sort}={keys[n]}" if keys else ""))
    return ExitCode.OK


def _transitive(db: str, name: str, extras: bool) -> list[str]:
    """Every project that reaches `name`, over the edges the report's transitive counts use
    (requested extras' implied edges included)."""
    from scipy.sparse.csgraph import breadth_first_order

    from depgraph.analysis import load_graph

    graph = load_graph(db)
    names = graph.nodes["name"].tolist()
    try:
        start = names.index(name)
    except ValueError:
        return []
    reach = graph.adjacency(include_extras=extras).transpose().tocsr()
    order = breadth_first_order(reach, start, directed=True, return_predecessors=False)
    return sorted(names[i] for i in order if i != start)
