"""Work units that run in another process or on another machine (a Dask worker): plain data in,
plain data out, each worker with its own HTTP session and sandbox, none with the store.

The caller (the crawl's main thread) reads what the store knows, ships it with the task, and writes
what comes back; so a task that runs twice (its worker died and the scheduler ran it elsewhere)
writes once, and workers need no database connection.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import requests
from docker.errors import DockerException

from depgraph.sandbox import Sandbox, SandboxResult, open_sandbox
from depgraph.store import ProjectRecord, SandboxCandidate

from .access import IndexAccess, SandboxAccess
from .crawl import ProjectTask, crawl_one
from .fetch import Fetcher
from .http import RateLimiter, make_session
from .index import IndexClient

__all__ = ["BatchResult", "build_release", "crawl_batch"]

log = logging.getLogger("pypi-depgraph")


@dataclass
class BatchResult:
    records: list[ProjectRecord]
    requests: int = 0
    bytes_fetched: int = 0


# one session (connection pool) and rate limiter per worker process and index, shared by the
# worker's threads
_sessions: dict[IndexAccess, tuple[requests.Session, RateLimiter | None]] = {}
_sandboxes: dict[SandboxAccess, tuple[Sandbox, Fetcher]] = {}
_lock = threading.Lock()


def _index(access: IndexAccess) -> tuple[requests.Session, RateLimiter | None]:
    with _lock:
        found = _sessions.get(access)
        if found is None:
            session = make_session(
                pool_size=access.workers,
                retries=access.retries,
                user_agent=access.user_agent,
                ca_bundle=access.ca_bundle,
            )
            rate = RateLimiter(access.rate) if access.rate else None
            found = (session, rate)
            _sessions[access] = found
        return found


def crawl_batch(access: IndexAccess, tasks: list[ProjectTask]) -> BatchResult:
    """Crawl a batch of projects; the requests and bytes this batch cost."""
    session, rate = _index(access)
    # a Fetcher of its own: the counts are this batch's, whatever else the worker runs
    fetcher = Fetcher(session, rate=rate, deadline=access.deadline)
    client = IndexClient(fetcher, access.index_url)
    records = [
        crawl_one(client, fetcher, task, access.verify_hashes, access.entry_points)
        for task in tasks
    ]
    return BatchResult(records, fetcher.counter.requests, fetcher.counter.bytes)


def _sandbox(access: SandboxAccess) -> tuple[Sandbox, Fetcher]:
    with _lock:
        found = _sandboxes.get(access)
        if found is None:
            session = make_session(
                pool_size=4, user_agent=access.user_agent, ca_bundle=access.ca_bundle
            )
            sandbox = open_sandbox(access.kind, access.limits, python=access.python)
            if sandbox.name == "docker":
                # a worker started after one died on this machine clears what that one left;
                # a sweep that fails costs no build (`depgraph sandbox cleanup` finds the rest)
                from depgraph.sandbox.cleanup import remove_orphans

                try:
                    remove_orphans()
                except (DockerException, requests.RequestException) as exc:
                    log.warning("the sweep of orphaned sandbox containers failed: %s", exc)
            found = (sandbox, Fetcher(session))
            _sandboxes[access] = found
        return found


def build_release(
    access: SandboxAccess, candidate: SandboxCandidate
) -> tuple[SandboxCandidate, SandboxResult]:
    """Download one sdist (hash-verified) and build it in this worker's sandbox."""
    from .sdist_builds import build_one

    sandbox, fetcher = _sandbox(access)
    with tempfile.TemporaryDirectory(prefix="depgraph-sdist-") as tmp:
        return build_one(fetcher, sandbox, Path(tmp), candidate)
