"""`depgraph update`: only what changed since the last crawl, then the sandbox builds."""

from __future__ import annotations

import argparse

from depgraph.core.db import display_locator

from ..errors import UsageError
from ..output import print_json, print_summary
from . import checks
from .crawl import add_crawl_run_options
from .options import (
    INDEX_URL_ENV,
    Subparsers,
    crawl_exit,
    existing_store,
    index_access,
    progress_wanted,
    quiet_wanted,
    sandbox_access,
)

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    upd = sub.add_parser(
        "update",
        parents=[common],
        help="fetch only what changed since the last crawl",
        description="Bring the store up to date with its index: new projects crawled, removed ones "
        "dropped, changed ones re-read. What changed comes from the serials of a PEP 691 JSON root "
        "(each project's _last-serial, as PyPI serves it: one request for the whole index), else "
        "from conditional requests (ETag / Last-Modified); from an XML-RPC changelog only when "
        "--changelog-url names one.",
    )
    upd.add_argument(
        "-i",
        "--index-url",
        default=None,
        type=checks.index_url,
        help=f"default: ${INDEX_URL_ENV}, else the config file's `index_url`, else the index of "
        "the store's last crawl",
    )
    upd.add_argument(
        "--changelog-url",
        default=None,
        help="an XML-RPC endpoint with changelog_since_serial, for an index whose root gives no "
        "serials (PyPI's, https://pypi.org/pypi, is deprecated and rate-limited: its JSON root "
        "serves the same serials)",
    )
    add_crawl_run_options(upd)
    upd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from depgraph.crawler.crawl import CrawlSummary
    from depgraph.crawler.update import Changelog, UpdateSummary, update

    from ..cluster import Cluster, open_cluster
    from ..wiring import crawl_then_build, crawler_for

    store = existing_store(args.db)
    index_url = args.index_url or store.last_index_url()
    if index_url is None:
        raise UsageError(f"{display_locator(args.db)} has no crawl yet; give --index-url")
    access = index_access(args, index_url)
    changelog_url = args.changelog_url
    progress = progress_wanted(args)
    results: list[UpdateSummary] = []

    def crawl(cluster: Cluster | None) -> CrawlSummary:
        with crawler_for(store, access, progress=progress, cluster=cluster) as crawler:
            session = crawler.fetcher.session  # the same trust settings, User-Agent and retries
            changelog = Changelog(changelog_url, session) if changelog_url else None
            results.append(update(store, crawler, changelog))
        return results[-1].crawl

    with open_cluster(args.scheduler, args.cluster) as cluster:
        outcome = crawl_then_build(
            store,
            crawl,
            sandbox_access(args, user_agent=access.user_agent),
            progress=progress,
            quiet=quiet_wanted(args),
            cluster=cluster,
        )
    (result,) = results
    if args.json:
        data = result.as_dict()
        if outcome.builds is not None:
            data["sandbox"] = outcome.builds.as_dict()
        print_json(data)
    else:
        print(
            f"update ({result.mode}): {len(result.new)} new projects, {len(result.removed)} removed"
        )
        print_summary(result.crawl, False, outcome.builds)
        print(
            f"  consistent to: {result.consistent_to or 'not yet (incomplete: run update again)'}"
        )
    return crawl_exit(result.crawl)
