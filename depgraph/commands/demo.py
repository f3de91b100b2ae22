"""`depgraph demo`: the main job end to end on embedded defaults, offline: a demo index served on
loopback, crawled into SQLite, its sdists built in the local sandbox, a report written."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..output import print_json, print_report, print_summary, summary_dict
from .options import (
    Subparsers,
    add_sandbox_options,
    crawl_exit,
    progress_wanted,
    quiet_wanted,
    sandbox_access,
)

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="build the demo index, serve it on loopback and crawl it end to end",
        description="Offline end-to-end run on embedded defaults: writes the demo "
        "distributions, serves them with pypiserver on 127.0.0.1, crawls into SQLite, builds "
        "the sdists in the sandbox (--sandbox none: no root, no Docker), writes a report.",
    )
    demo.add_argument(
        "--out",
        default="demo-output",
        help="folder for the index, store and reports (default %(default)s)",
    )
    add_sandbox_options(demo)
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from depgraph.analysis import write_report
    from depgraph.crawler.access import IndexAccess
    from depgraph.store import Store

    from ..demo import PypiServer, build_demo_index
    from ..wiring import crawl_then_build, run_crawl

    out = Path(args.out)
    folder = build_demo_index(out / "index")
    db = out / "demo.sqlite"
    progress = progress_wanted(args)
    with PypiServer(folder, log=out / "index-server.log") as server:
        if not quiet_wanted(args):
            print(f"serving {len(list(folder.iterdir()))} demo files at {server.url}")
        store = Store(db)
        access = IndexAccess(index_url=server.url, workers=4)
        outcome = crawl_then_build(
            store,
            lambda _: run_crawl(store, access, resume=False, progress=progress),
            sandbox_access(args, user_agent=access.user_agent),
            progress=progress,
            quiet=quiet_wanted(args),
        )
    report = write_report(db, out / "report")
    if args.json:
        print_json(
            {
                "crawl": summary_dict(outcome.crawl, outcome.builds),
                "store": str(db),
                "report": str(out / "report"),
                "report_summary": report,
            }
        )
    else:
        print_summary(outcome.crawl, False, outcome.builds)
        print(f"store: {db}")
        print_report(report, out / "report", top=12)
    return crawl_exit(outcome.crawl)
