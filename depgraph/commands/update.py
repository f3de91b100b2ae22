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
    from depgraph.crawler.feed import UpdatesFeed
    from depgraph.crawler.sdist_builds import SandboxSummary
    from depgraph.crawler.update import UpdateSummary
    from depgraph.store import Store
    from depgraph.store.reader import KeptStoreSource

__all__ = ["WHOLE_READ_EVERY", "add_parser", "run"]

#: with --follow --report: how often a rebuild reads the whole store, not only what the follow
#: itself wrote (another process writing the same store is seen within this long)
WHOLE_READ_EVERY = 600.0


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
        "in one step (a reader sees the old report whole or the new one whole); with --follow "
        "a rebuild reads again only the projects the follow wrote, and the whole store every "
        f"{WHOLE_READ_EVERY / 60:.0f} minutes (for what another process wrote)",
    )
    upd.add_argument(
        "--feed-url",
        default=None,
        type=_feed_url,
        metavar="URL",
        help="with --follow: an RSS feed of the index's recent uploads, polled between reads of "
        "its root, which is read only when the feed shows a new upload (or after --root-every); "
        "default: PyPI's /rss/updates.xml for pypi.org, none elsewhere; 'none' turns it off",
    )
    upd.add_argument(
        "--root-every",
        type=checks.positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="with a feed: read the root at least this often whatever the feed says (yanks and "
        "removals are not in it; default %(default)s)",
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
        result, builds = _cycle(args, store, index_url, _ReportReads(args.db, follow=False))
        _print_cycle(args, result, builds, None)
        return crawl_exit(result.crawl)
    cycle = 0
    worst = 0
    feed = _feed(args, index_url)
    reads = _ReportReads(args.db, follow=True)
    root_read = -float("inf")  # when the root was last read
    hot_until = -float("inf")  # after the feed shows an upload: the root each cycle till then
    while args.cycles is None or cycle < args.cycles:
        cycle += 1
        started = time.monotonic()
        why = (
            "no feed" if feed is None else _why_read_root(feed, started, root_read, hot_until, args)
        )
        if why is None:
            _print_cycle(args, _quiet_cycle(), None, cycle)
        else:
            if why == "the feed shows an upload":
                # a CDN may still serve the root from before the upload: it is read for a few
                # cycles more
                hot_until = started + 3 * args.interval
            root_read = started
            result, builds = _cycle(args, store, index_url, reads)  # Ctrl-C in here: exit 130
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


def _feed_url(text: str) -> str:
    return text if text == "none" else checks.index_url(text)


def _feed(args: argparse.Namespace, index_url: str) -> UpdatesFeed | None:
    from depgraph.crawler.feed import UpdatesFeed, feed_url_for
    from depgraph.crawler.http import make_session

    if args.feed_url == "none":
        return None
    url = args.feed_url or feed_url_for(index_url)
    if url is None:
        return None
    access = index_access(args, index_url)
    session = make_session(
        pool_size=1,
        retries=access.retries,
        user_agent=access.user_agent,
        ca_bundle=access.ca_bundle,
    )
    return UpdatesFeed(url, session)


def _why_read_root(
    feed: UpdatesFeed, now: float, root_read: float, hot_until: float, args: argparse.Namespace
) -> str | None:
    """Why this cycle reads the root, or None: it was read within --root-every, no upload was
    seen lately, and the feed shows nothing new. The feed is polled every cycle, so that what it
    lists when the root is read is known; a feed that cannot be read says nothing: the root is
    read."""
    from depgraph.crawler.errors import FetchError

    try:
        fresh = feed.changed()
    except FetchError as exc:
        print(f"update --follow: {exc}; reading the root", file=sys.stderr)
        return "the feed cannot be read"
    if now - root_read >= args.root_every:
        return "--root-every"
    if fresh:
        return "the feed shows an upload"
    if now < hot_until:
        return "an upload was seen lately"
    return None


def _quiet_cycle() -> UpdateSummary:
    from depgraph.crawler.crawl import CrawlSummary
    from depgraph.crawler.update import UpdateSummary

    return UpdateSummary(CrawlSummary(), "feed-quiet")


class _ReportReads:
    """What a report rebuild reads: the store whole, or in a follow the kept reads of the last
    rebuild with what the follow wrote since read again (whole again every WHOLE_READ_EVERY)."""

    def __init__(self, db: str, follow: bool) -> None:
        self._db, self._follow = db, follow
        self._kept: KeptStoreSource | None = None
        self._whole_at = -float("inf")

    def source(self, store: Store) -> str | KeptStoreSource:
        from depgraph.store.reader import KeptStoreSource

        written = store.take_written()
        if not self._follow:
            return self._db
        if self._kept is None:
            self._kept = KeptStoreSource.open(self._db)
        else:
            self._kept.changed(written)
        if time.monotonic() - self._whole_at >= WHOLE_READ_EVERY:
            self._kept.forget()
            self._whole_at = time.monotonic()
        return self._kept


def _cycle(
    args: argparse.Namespace, store: Store, index_url: str, reads: _ReportReads
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
        write_report(reads.source(store), args.report)
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
