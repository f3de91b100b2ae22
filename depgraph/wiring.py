"""The wiring the command line composes: an index client, a crawler with its progress bar, and the
chosen sandbox for the releases the crawl could not answer statically."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tqdm import tqdm

from crawler import USER_AGENT
from crawler.crawl import Crawler, CrawlSummary
from crawler.fetch import Fetcher
from crawler.http import PYPI_DEFAULT_RPS, RateLimiter, make_session
from crawler.index import IndexClient
from crawler.sdist_builds import SandboxSummary, build_pending, build_pending_on
from crawler.store import ProjectRecord, Store
from crawler.tasks import IndexAccess, SandboxAccess, build_release
from sandbox import Limits, Sandbox, SandboxUnavailable, open_sandbox

from .cluster import Cluster, cluster_lost

__all__ = ["BuildOptions", "crawler_for", "open_chosen_sandbox", "run_crawl", "run_sandbox_builds"]


@dataclass(frozen=True)
class NetOptions:
    """How every request goes out: the CAs trusted (`--cert`), who we say we are, and whether
    dependencies may only come from hash-verified bytes (`--verify-hashes`)."""

    ca_bundle: str | None = None
    user_agent: str = USER_AGENT
    verify_hashes: bool = False
    entry_points: bool = False  # read wheels' entry_points.txt where PEP 658 answered metadata


def polite_rate(index_url: str, max_rps: float | None) -> float | None:
    """--max-rps, or for PyPI itself (which publishes no limit) a documented default."""
    if max_rps is None and urlsplit(index_url).hostname == "pypi.org":
        return PYPI_DEFAULT_RPS
    return max_rps


@dataclass(frozen=True)
class BuildOptions:
    """Where and how pending sdists get built (`--sandbox ...`)."""

    kind: str = "auto"  # auto | docker | bwrap | none
    workers: int = 2
    retry_failed: bool = False
    limits: Limits = field(default_factory=Limits)
    progress: bool = True
    quiet: bool = False  # no "building sdists in ..." line (e.g. with --json)
    net: NetOptions = field(default_factory=NetOptions)


@contextmanager
def crawler_for(
    store: Store,
    index_url: str,
    workers: int = 8,
    retries: int = 5,
    progress: bool = True,
    max_rps: float | None = None,
    total: int | None = None,
    net: NetOptions | None = None,
    cluster: Cluster | None = None,
) -> Iterator[Crawler]:
    """A Crawler over `index_url` with its own HTTP session and a progress bar on stderr; with a
    cluster, the pages and releases are read by its workers (each with its own session, capped
    at `max_rps` per worker) and written here."""
    net = net or NetOptions()
    session = make_session(
        pool_size=workers, retries=retries, user_agent=net.user_agent, ca_bundle=net.ca_bundle
    )
    rate = polite_rate(index_url, max_rps)
    fetcher = Fetcher(session, rate=RateLimiter(rate) if rate else None)
    client = IndexClient(fetcher, index_url)
    bar = tqdm(unit="project", desc="crawl", disable=not progress, file=sys.stderr, total=total)

    def tick(record: ProjectRecord) -> None:
        bar.update(1)
        bar.set_postfix(releases=len(record.releases), status=record.status, refresh=False)

    work = None
    if cluster is not None:
        access = IndexAccess(
            index_url,
            net.user_agent,
            net.ca_bundle,
            retries,
            rate,
            net.verify_hashes,
            net.entry_points,
        )
        work = cluster.crawl_work(access)
    try:
        yield Crawler(
            store,
            client,
            fetcher,
            workers,
            on_project=tick,
            verify_hashes=net.verify_hashes,
            entry_points=net.entry_points,
            cluster=work,
        )
    finally:
        bar.close()
        session.close()


def run_crawl(
    store: Store,
    index_url: str,
    projects: list[str] | None,
    workers: int = 8,
    retries: int = 5,
    resume: bool = True,
    progress: bool = True,
    max_rps: float | None = None,
    net: NetOptions | None = None,
    cluster: Cluster | None = None,
) -> CrawlSummary:
    """Crawl the named projects (every project with None) into the store."""
    total = len(projects) if projects else None
    with crawler_for(
        store, index_url, workers, retries, progress, max_rps, total, net, cluster
    ) as crawler:
        return crawler.crawl(projects, resume=resume)


def open_chosen_sandbox(options: BuildOptions) -> Sandbox | None:
    """The sandbox the user chose; None for "none", and for "auto" (with a message) when this
    machine has none. An explicitly chosen sandbox that is missing raises SandboxUnavailable."""
    if options.kind == "none":
        return None
    try:
        sandbox = open_sandbox(options.kind, options.limits)
    except SandboxUnavailable as exc:
        if options.kind != "auto":
            raise
        print(f"depgraph: sdists stay pending-sandbox: {exc}", file=sys.stderr)
        return None
    if not options.quiet:
        print(f"depgraph: building sdists in the {sandbox.name} sandbox", file=sys.stderr)
    return sandbox


def run_sandbox_builds(
    store: Store,
    options: BuildOptions,
    projects: list[str] | None,
    cluster: Cluster | None = None,
) -> SandboxSummary | None:
    """Build the pending sdists of `projects` (all with None); None when no sandbox is used. With
    a cluster, each sdist is one task, built in the sandbox of the worker that runs it."""
    if cluster is not None and options.kind != "none":
        return _builds_on_cluster(store, options, projects, cluster)
    sandbox = open_chosen_sandbox(options)
    if sandbox is None:
        return None
    session = make_session(
        pool_size=options.workers,
        user_agent=options.net.user_agent,
        ca_bundle=options.net.ca_bundle,
    )

    def tick(*_: object) -> None:
        bar.update(1)

    todo = len(store.sandbox_candidates(options.retry_failed, projects))
    bar = tqdm(
        total=todo, unit="sdist", desc="sandbox", disable=not options.progress, file=sys.stderr
    )
    try:
        return build_pending(
            store,
            Fetcher(session),
            sandbox,
            options.workers,
            options.retry_failed,
            projects,
            on_release=tick,
        )
    finally:
        bar.close()
        session.close()


def _builds_on_cluster(
    store: Store, options: BuildOptions, projects: list[str] | None, cluster: Cluster
) -> SandboxSummary:
    access = SandboxAccess(
        options.kind, options.limits, options.net.user_agent, options.net.ca_bundle
    )
    todo = len(store.sandbox_candidates(options.retry_failed, projects))
    if not options.quiet:
        print(
            f"depgraph: building sdists on the cluster ({cluster.threads} workers, "
            f"sandbox {options.kind} on each)",
            file=sys.stderr,
        )
    bar = tqdm(
        total=todo, unit="sdist", desc="sandbox", disable=not options.progress, file=sys.stderr
    )

    def tick(*_: object) -> None:
        bar.update(1)

    try:
        return build_pending_on(
            store,
            cluster.executor,
            functools.partial(build_release, access),
            f"cluster:{options.kind}",
            options.retry_failed,
            projects,
            on_release=tick,
            lost=cluster_lost,
        )
    finally:
        bar.close()
