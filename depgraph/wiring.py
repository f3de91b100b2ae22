"""The wiring the commands compose: an index client, a crawler with its progress bar, the chosen
sandbox for the releases the crawl could not answer statically, and the one sequence every crawl
command runs (crawl, then builds, then an exit code)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tqdm import tqdm

from depgraph.crawler.access import IndexAccess, SandboxAccess
from depgraph.crawler.crawl import Crawler, CrawlSummary, ReleaseChoice
from depgraph.crawler.fetch import Fetcher
from depgraph.crawler.http import RateLimiter, make_session
from depgraph.crawler.index import IndexClient
from depgraph.crawler.sdist_builds import SandboxSummary, build_here, build_pending
from depgraph.crawler.tasks import build_release
from depgraph.sandbox import Sandbox, SandboxUnavailable, open_sandbox
from depgraph.store import ProjectRecord, Store

from .cluster import Cluster, cluster_lost

__all__ = [
    "CrawlOutcome",
    "crawl_then_build",
    "crawler_for",
    "open_chosen_sandbox",
    "run_crawl",
    "run_sandbox_builds",
]


@contextmanager
def crawler_for(
    store: Store,
    access: IndexAccess,
    *,
    progress: bool = True,
    total: int | None = None,
    cluster: Cluster | None = None,
) -> Iterator[Crawler]:
    """A Crawler over the index with its own HTTP session and a progress bar on stderr; with a
    cluster, the pages and releases are read by its workers (each with its own session, capped
    at the access' rate per worker) and written here."""
    session = make_session(
        pool_size=access.workers,
        retries=access.retries,
        user_agent=access.user_agent,
        ca_bundle=access.ca_bundle,
    )
    rate = access.rate
    fetcher = Fetcher(session, rate=RateLimiter(rate) if rate else None, deadline=access.deadline)
    client = IndexClient(fetcher, access.index_url)
    bar = tqdm(unit="project", desc="crawl", disable=not progress, file=sys.stderr, total=total)

    def tick(record: ProjectRecord) -> None:
        bar.update(1)
        bar.set_postfix(releases=len(record.releases), status=record.status, refresh=False)

    def sized(projects: int, done: int) -> None:
        # the run's list is known: a total (and so an ETA), with what a resumed run has done
        bar.total = projects
        bar.update(done)

    try:
        yield Crawler(
            store,
            client,
            fetcher,
            access.workers,
            on_project=tick,
            on_total=sized,
            verify_hashes=access.verify_hashes,
            entry_points=access.entry_points,
            cluster=cluster.crawl_work(access) if cluster is not None else None,
            choice=(
                ReleaseChoice(access.latest_only, access.since)
                if access.latest_only or access.since
                else None
            ),
        )
    finally:
        bar.close()
        session.close()


def run_crawl(
    store: Store,
    access: IndexAccess,
    projects: list[str] | None = None,
    *,
    resume: bool = True,
    progress: bool = True,
    cluster: Cluster | None = None,
    with_deps: bool = False,
    with_extras: bool = False,
) -> CrawlSummary:
    """Crawl the named projects (every project with None) into the store. With `with_deps`, then
    what their latest releases require at run time (through extras too with `with_extras`), and
    so on, round by round, until everything required has a page in the store (what is stored
    already is not crawled again)."""
    total = len(projects) if projects else None
    with crawler_for(store, access, progress=progress, total=total, cluster=cluster) as crawler:
        summary = crawler.crawl(projects, resume=resume)
        done = list(projects or [])
        while with_deps and projects is not None and not summary.interrupted:
            wanted = sorted(store.required_projects(done, extras=with_extras))
            if not wanted:
                break
            summary.absorb(crawler.crawl(wanted, resume=resume))
            done = wanted
        return summary


def open_chosen_sandbox(access: SandboxAccess, *, quiet: bool = False) -> Sandbox | None:
    """The sandbox the user chose; None for "none", and for "auto" (with a message) when this
    machine has none. An explicitly chosen sandbox that is missing raises SandboxUnavailable."""
    if access.kind == "none":
        return None
    try:
        sandbox = open_sandbox(access.kind, access.limits, python=access.python)
    except SandboxUnavailable as exc:
        if access.kind != "auto":
            raise
        print(f"depgraph: sdists stay pending-sandbox: {exc}", file=sys.stderr)
        return None
    if not quiet:
        print(f"depgraph: building sdists in the {sandbox.name} sandbox", file=sys.stderr)
    return sandbox


def run_sandbox_builds(
    store: Store,
    access: SandboxAccess,
    projects: list[str] | None = None,
    *,
    progress: bool = True,
    quiet: bool = False,
    cluster: Cluster | None = None,
) -> SandboxSummary | None:
    """Build the pending sdists of `projects` (all with None); None when no sandbox is used. With
    a cluster, each sdist is one task, built in the sandbox of the worker that runs it."""
    on_cluster = cluster is not None and access.kind != "none"
    sandbox = None if on_cluster else open_chosen_sandbox(access, quiet=quiet)
    if not on_cluster and sandbox is None:
        return None
    candidates = store.sandbox_candidates(access.retry_failed, projects)
    bar = tqdm(
        total=len(candidates), unit="sdist", desc="sandbox", disable=not progress, file=sys.stderr
    )

    def tick(*_: object) -> None:
        bar.update(1)

    try:
        if cluster is not None and on_cluster:
            if not quiet:
                print(
                    f"depgraph: building sdists on the cluster ({cluster.threads} workers, "
                    f"sandbox {access.kind} on each)",
                    file=sys.stderr,
                )
            return build_pending(
                store,
                candidates,
                cluster.executor,
                functools.partial(build_release, access),
                f"cluster:{access.kind}",
                on_release=tick,
                lost=cluster_lost,
            )
        assert sandbox is not None
        session = make_session(
            pool_size=access.workers, user_agent=access.user_agent, ca_bundle=access.ca_bundle
        )
        try:
            return build_here(
                store,
                candidates,
                Fetcher(session),
                sandbox,
                workers=access.workers,
                on_release=tick,
            )
        finally:
            session.close()
    finally:
        bar.close()


@dataclass
class CrawlOutcome:
    """A crawl command's result: what the crawl did, and the builds after it (None: no sandbox,
    or the crawl was interrupted)."""

    crawl: CrawlSummary
    builds: SandboxSummary | None


def crawl_then_build(
    store: Store,
    crawl: Callable[[Cluster | None], CrawlSummary],
    sandbox: SandboxAccess,
    projects: list[str] | None = None,
    *,
    progress: bool = True,
    quiet: bool = False,
    cluster: Cluster | None = None,
) -> CrawlOutcome:
    """The sequence of `crawl`, `update` and `demo`: the crawl, then (unless it was interrupted)
    the sandbox builds of what it left pending, on the same cluster if there is one."""
    summary = crawl(cluster)
    builds = (
        None
        if summary.interrupted
        else run_sandbox_builds(
            store, sandbox, projects, progress=progress, quiet=quiet, cluster=cluster
        )
    )
    return CrawlOutcome(summary, builds)
