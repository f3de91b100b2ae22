"""`depgraph installable`: does each project install on these Pythons, resolved from the store."""

from __future__ import annotations

import argparse

from ..exitcodes import ExitCode
from ..output import print_json
from . import checks
from .options import Subparsers, add_db

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    inst = sub.add_parser(
        "installable",
        parents=[common],
        help="does each project install on these Pythons? resolved from the store, as pip would",
        description="Resolve each selected project's latest non-yanked release with its whole "
        "dependency tree for each target (CPython version x platform) from the store alone, with "
        "resolvelib (pip's resolver): installable, no-compatible-release, conflict, "
        "missing-dependency, unknown-dependencies or too-deep. Writes installable.csv, "
        "summary.json and installable.png.",
    )
    add_db(inst)
    inst.add_argument(
        "--python",
        nargs="+",
        type=checks.python_version,
        required=True,
        metavar="X.Y",
        help="CPython versions to check, e.g. 3.9 3.12",
    )
    inst.add_argument(
        "--platform",
        default="linux",
        choices=("linux", "win32", "darwin"),
        help="platform of every target (default %(default)s)",
    )
    chosen = inst.add_mutually_exclusive_group()
    chosen.add_argument(
        "--project",
        action="append",
        metavar="NAME",
        type=checks.project_name,
        help="a project (repeatable)",
    )
    chosen.add_argument(
        "--top",
        type=checks.positive,
        default=None,
        help="the N projects with the most direct dependents (default: 100)",
    )
    chosen.add_argument("--all", action="store_true", help="every project in the store")
    inst.add_argument("--out", default="installable", help="output folder (default %(default)s)")
    inst.add_argument(
        "--max-rounds",
        type=checks.positive,
        default=2000,
        help="resolver rounds before a project is `too-deep` (default %(default)s)",
    )
    inst.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="run the resolutions on a Dask distributed cluster, e.g. tcp://scheduler:8786, in "
        "batches of projects; each worker reads the store itself (a PostgreSQL URL, or a SQLite "
        "file at the same path on every worker)",
    )
    inst.add_argument(
        "--cluster",
        metavar="local:N[xT]",
        default=None,
        help="start a Dask LocalCluster of N worker processes (T threads each, default 1) for the "
        "run: the resolver is pure Python, so local:N with N the cores is the way to use them all",
    )
    inst.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from depgraph.analysis import Target, write_installability

    from ..cluster import open_cluster
    from ..progress import StageBars
    from .options import progress_wanted

    targets = [Target(python, args.platform) for python in args.python]
    top = None if (args.all or args.project) else (args.top or 100)
    with (
        open_cluster(args.scheduler, args.cluster) as cluster,
        StageBars(progress_wanted(args), unit="project") as bars,
    ):
        summary = write_installability(
            args.db,
            args.out,
            targets,
            projects=args.project,
            top=top,
            max_rounds=args.max_rounds,
            progress=bars,
            executor=None if cluster is None else cluster.executor,
        )
    if args.json:
        print_json(summary)
        return ExitCode.OK
    print(
        f"installability of {summary['projects']} projects ({summary['selection']}) in "
        f"{summary['seconds']} s:"
    )
    verdicts = summary["verdicts"]
    assert isinstance(verdicts, dict)
    for target, share in summary["share_installable"].items():  # type: ignore[attr-defined]
        counts = ", ".join(f"{k}={v}" for k, v in sorted(verdicts[target].items()))
        print(f"  {target}: {100 * share:.1f} % installable ({counts})")
    if summary["assumption"]:
        print(f"  assumption: {summary['assumption']}")
    print(f"written: {args.out}/installable.csv, summary.json, installable.png")
    return ExitCode.OK
