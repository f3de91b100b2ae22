"""`depgraph crawl`: every release of the chosen projects into the store, then the sandbox builds
of what the crawl could not answer statically."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from depgraph.crawler import PYPI_SIMPLE

from ..errors import UsageError
from ..output import print_summary
from . import checks
from .options import (
    INDEX_URL_ENV,
    Subparsers,
    add_cluster_options,
    add_db,
    add_index_options,
    add_sandbox_options,
    crawl_exit,
    index_access,
    progress_wanted,
    quiet_wanted,
    removed_unless_kept,
    sandbox_access,
)

if TYPE_CHECKING:
    from depgraph.crawler.access import IndexAccess
    from depgraph.store import Store

__all__ = ["add_crawl_run_options", "add_parser", "record_releases_read", "run"]


def add_crawl_run_options(p: argparse.ArgumentParser) -> None:
    """What `crawl` and `update` share: the store, the index access, resume, sandbox, cluster."""
    add_db(p, writes=True)
    add_index_options(p)
    p.add_argument(
        "--no-resume",
        action="store_true",
        help="start a new run even if an unfinished one with the same options exists",
    )
    p.add_argument(
        "--latest-only",
        action="store_true",
        help="read only the release pip would pick of each project (the others are stored as "
        "listed, their dependencies `not-read`): a fast first picture of a whole index",
    )
    p.add_argument(
        "--since",
        type=checks.iso_date,
        metavar="YYYY-MM-DD",
        help="read only releases uploaded on or after this day (and the latest with "
        "--latest-only); needs upload times (PEP 700), a release without them is read",
    )
    add_sandbox_options(p)
    add_cluster_options(p)


def record_releases_read(store: Store, access: IndexAccess) -> None:
    """Which releases the last crawl or update read, for `status` and the report."""
    from depgraph.crawler.crawl import ReleaseChoice

    store.set_meta({"releases_read": ReleaseChoice(access.latest_only, access.since).describe()})


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    crawl = sub.add_parser(
        "crawl",
        parents=[common],
        help="crawl projects of an index into the store",
        description="Crawl every release of the chosen projects: files, hashes and "
        "requirements, from the cheapest trustworthy metadata source.",
    )
    crawl.add_argument(
        "-i",
        "--index-url",
        default=None,
        type=checks.index_url,
        help=f"simple API root (default: ${INDEX_URL_ENV}, else the config file's `index_url`, "
        f"else {PYPI_SIMPLE})",
    )
    which = crawl.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every project the index root lists")
    which.add_argument(
        "--project",
        action="append",
        metavar="NAME",
        type=checks.project_name,
        help="a project to crawl (repeatable)",
    )
    crawl.add_argument(
        "--with-deps",
        action="store_true",
        help="with --project: also what they require at run time, and so on (what the store "
        "has already is not crawled again)",
    )
    crawl.add_argument(
        "--with-extras",
        action="store_true",
        help="with --with-deps: follow requirements through extras too",
    )
    add_crawl_run_options(crawl)
    crawl.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from depgraph.store import Store

    from ..cluster import open_cluster
    from ..wiring import crawl_then_build, run_crawl

    if args.with_deps and args.all:
        raise UsageError("--with-deps follows the requirements of --project: --all has them all")
    if args.with_extras and not args.with_deps:
        raise UsageError("--with-extras goes with --with-deps")
    access = index_access(args, args.index_url or PYPI_SIMPLE)
    projects = None if args.all else args.project
    progress = progress_wanted(args)
    with (
        removed_unless_kept(args.db) as keep,
        open_cluster(args.scheduler, args.cluster) as cluster,
    ):
        store = Store(args.db)
        outcome = crawl_then_build(
            store,
            lambda on: run_crawl(
                store,
                access,
                projects,
                resume=not args.no_resume,
                progress=progress,
                cluster=on,
                with_deps=args.with_deps,
                with_extras=args.with_extras,
            ),
            sandbox_access(args, user_agent=access.user_agent),
            None if args.with_deps else projects,  # what the rounds added is built too
            progress=progress,
            quiet=quiet_wanted(args),
            cluster=cluster,
        )
        if not outcome.crawl.interrupted and outcome.crawl.not_an_index is None:
            record_releases_read(store, access)
        store.close()
        keep[0] = outcome.crawl.not_an_index is None
    print_summary(outcome.crawl, args.json, outcome.builds)
    return crawl_exit(outcome.crawl)
