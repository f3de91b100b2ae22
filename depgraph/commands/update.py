"""`depgraph update`: only what changed since the last crawl, then the sandbox builds."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from depgraph.core.db import display_locator

from ..errors import UsageError
from ..exitcodes import ExitCode
from ..output import print_json, print_summary
from . import checks
from .crawl import add_crawl_run_options, record_releases_read
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

if TYPE_CHECKING:
    from depgraph.crawler.sdist_builds import SandboxSummary
    from depgraph.crawler.update import UpdateSummary
    from depgraph.store import Store

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
    upd.add_argument(
        "--follow",
        action="store_true",
        help="keep the store fresh: update again every --interval seconds until Ctrl-C (which "
        "stops between cycles with everything committed, or mid-cycle keeping what is done)",
    )
    upd.add_argument(
        "--interval",
        type=checks.positive_seconds,
        default=60.0,
        help="seconds from the start of one cycle to the start of the next (default %(default)s)",
    )
    upd.add_argument(
        "--cycles",
        type=checks.positive,
        default=None,
        help="with --follow: stop after this many cycles (default: until stopped)",
    )
    upd.add_argument(
        "--report",
        metavar="DIR",
        default=None,
        help="rebuild this report folder after every cycle that changed the store, replacing it "
        "in one step (a reader sees the old report whole or the new one whole)",
    )
    add_crawl_run_options(upd)
    upd.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:

    store = existing_store(args.db)
    index_url = args.index_url or store.last_index_url()
    if index_url is None:
        raise UsageError(f"{display_locator(args.db)} has no crawl yet; give --index-url")
    if args.cycles is not None and not args.follow:
        raise UsageError("--cycles counts the cycles of --follow")
    if not args.follow:
        result, builds = _cycle(args, store, index_url)
        _print_cycle(args, result, builds, None)
        return crawl_exit(result.crawl)
    cycle = 0
    worst = 0
    while args.cycles is None or cycle < args.cycles:
        cycle += 1
        started = time.monotonic()
        result, builds = _cycle(args, store, index_url)  # Ctrl-C in here: exit 130
        _print_cycle(args, result, builds, cycle)
        worst = max(worst, int(crawl_exit(result.crawl)))
        if result.crawl.interrupted:
            return ExitCode.INTERRUPTED
        if args.cycles is not None and cycle >= args.cycles:
            break
        try:
            time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
        except KeyboardInterrupt:
            # between cycles everything is committed: stopping is how a follow ends
            if not args.quiet and not args.json:
                print(f"update --follow: stopped after {cycle} cycle(s)", file=sys.stderr)
            break
    return worst


def _cycle(
    args: argparse.Namespace, store: Store, index_url: str
) -> tuple[UpdateSummary, SandboxSummary | None]:
    """One update: what changed crawled, the pending sdists built, and with --report the report
    rebuilt when the store changed."""
    from depgraph.crawler.crawl import CrawlSummary
    from depgraph.crawler.update import Changelog, update

    from ..cluster import Cluster, open_cluster
    from ..wiring import crawl_then_build, crawler_for

    access = index_access(args, index_url)
    progress = progress_wanted(args)
    results: list[UpdateSummary] = []

    def crawl(cluster: Cluster | None) -> CrawlSummary:
        with crawler_for(store, access, progress=progress, cluster=cluster) as crawler:
            session = crawler.fetcher.session  # the same trust settings, User-Agent and retries
            changelog = Changelog(args.changelog_url, session) if args.changelog_url else None
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
    if not result.crawl.interrupted:
        record_releases_read(store, access)
    built = outcome.builds is not None and outcome.builds.attempted > 0
    if args.report is not None and (_changed(result) or built or not Path(args.report).exists()):
        from depgraph.analysis import write_report

        started = time.monotonic()
        # the writer lets go of the file (it reconnects next cycle): the report's columnar
        # reads use a SQLite library of their own, which must not share the file in one process
        store.close()
        write_report(args.db, args.report)
        result.report_seconds = time.monotonic() - started
    return result, outcome.builds


def _changed(result: UpdateSummary) -> bool:
    crawl = result.crawl
    return bool(result.new or result.removed or crawl.releases > crawl.releases_unchanged)


def _print_cycle(
    args: argparse.Namespace,
    result: UpdateSummary,
    builds: SandboxSummary | None,
    cycle: int | None,
) -> None:
    if args.json:
        data = result.as_dict()
        if builds is not None:
            data["sandbox"] = builds.as_dict()
        if cycle is None:
            print_json(data)
        else:  # one JSON document per cycle, a line each, as it ends
            data["cycle"] = cycle
            print(json.dumps(data, sort_keys=True, default=str), flush=True)
        return
    label = f"update ({result.mode})" if cycle is None else f"cycle {cycle} ({result.mode})"
    print(f"{label}: {len(result.new)} new projects, {len(result.removed)} removed")
    print_summary(result.crawl, False, builds)
    print(f"  consistent to: {result.consistent_to or 'not yet (incomplete: run update again)'}")
    if result.report_seconds is not None:
        print(f"  report {args.report} rebuilt in {result.report_seconds:.1f} s")
    sys.stdout.flush()
