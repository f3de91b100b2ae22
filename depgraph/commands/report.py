"""`depgraph report`: the graph's metrics and health as CSV files, plots and summary.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exitcodes import ExitCode
from ..output import print_json, print_report
from . import checks
from .options import Subparsers, add_db, add_downloads

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    report = sub.add_parser(
        "report",
        parents=[common],
        help="metrics and health of the graph as CSV reports and plots",
        description="Direct and transitive dependents, dependents via extras only, PageRank, "
        "percentile ranks, roles, cycles, missing and unsatisfiable dependencies, metapackages, "
        "frozen environments, pinned applications; "
        "compared with download counts when given.",
    )
    add_db(report)
    report.add_argument("--out", default="report", help="output folder (default %(default)s)")
    add_downloads(report, "to compare with")
    report.add_argument(
        "--include-extras",
        action="store_true",
        help="count requirements reached through extras too",
    )
    report.add_argument(
        "--python",
        default=None,
        type=checks.python_version,
        help="evaluate markers for this CPython version (e.g. 3.12); "
        "default: keep every edge whatever its marker",
    )
    report.add_argument(
        "--platform",
        default="linux",
        choices=("linux", "win32", "darwin"),
        help="platform for marker evaluation with --python (default %(default)s)",
    )
    report.add_argument(
        "--top",
        type=checks.non_negative,
        default=15,
        help="rows of the main table to print (default %(default)s)",
    )
    report.add_argument(
        "--graphml",
        action="store_true",
        help="also write graph.graphml (nodes with their attributes)",
    )
    report.add_argument(
        "--installable",
        nargs="+",
        type=checks.python_version,
        metavar="X.Y",
        help="also resolve the top projects on these CPython versions (on --platform): "
        "installable.csv, an installable_<target> column, shares in summary.json",
    )
    report.add_argument(
        "--installable-top",
        type=checks.positive,
        default=1000,
        help="how many projects, by direct dependents, --installable checks (default %(default)s)",
    )
    report.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="every metric as the index stood at the end of that day (UTC): releases uploaded "
        "later ignored (needs upload times: PEP 691/700 indexes such as PyPI give them)",
    )
    report.add_argument(
        "--history",
        type=checks.non_negative,
        default=0,
        metavar="MONTHS",
        help="also history.csv and history.png: monthly dependents of the top projects",
    )
    report.add_argument(
        "--history-top",
        type=checks.positive,
        default=10,
        help="projects in the history (default %(default)s)",
    )
    report.add_argument(
        "--downloads-history",
        type=checks.existing_file,
        help="top-pypi-packages' monthly history (history/top-pypi-packages-30-days-monthly.csv.gz)"
        " to plot beside the dependents history",
    )
    report.set_defaults(handler=run, hard_exit=True)


def run(args: argparse.Namespace) -> int:
    from depgraph.analysis import Target, target_environment, write_report
    from depgraph.store.reader import as_of_date

    from ..progress import StageBars
    from .options import progress_wanted

    env = target_environment(args.python, args.platform) if args.python else None
    targets = [Target(python, args.platform) for python in args.installable or []]
    with StageBars(progress_wanted(args)) as bars:
        summary = write_report(
            args.db,
            args.out,
            downloads=args.downloads,
            include_extras=args.include_extras,
            environment=env,
            graphml=args.graphml,
            installable=targets,
            installable_top=args.installable_top,
            as_of=as_of_date(args.as_of) if args.as_of else None,
            history_months=args.history,
            history_top=args.history_top,
            downloads_history=args.downloads_history,
            progress=bars,
        )
    if args.json:
        print_json(summary)
    else:
        print_report(summary, Path(args.out), args.top)
    return ExitCode.OK
