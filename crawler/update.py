"""`depgraph update`: bring a store up to date with its index, fetching only what changed.

Two ways to know what changed:
- the index's changelog (PyPI's XML-RPC `changelog_since_serial`, as bandersnatch uses it): only the
  projects named since the store's serial are fetched, and a page older than the changelog's serial
  for its project is a stale CDN copy: retried later, never stored;
- otherwise every project page is asked for conditionally (If-None-Match / If-Modified-Since with
  the validators kept in the store): unchanged pages cost a 304 and no work.
Projects that appeared on the index root are crawled; projects that left it are removed.
When a run completes, the store records the serial (or time) it is consistent to.
"""

from __future__ import annotations

import time
import xmlrpc.client
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from packaging.utils import canonicalize_name

from .crawl import Crawler, CrawlSummary
from .errors import FetchError
from .store import Store

__all__ = ["Changelog", "UpdateSummary", "update"]


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):  # type: ignore[no-untyped-def]
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        return conn


class Changelog:
    """PyPI's XML-RPC changelog (https://pypi.org/pypi), or any server speaking the same methods."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.proxy = xmlrpc.client.ServerProxy(url, transport=_TimeoutTransport(timeout))

    def last_serial(self) -> int:
        try:
            return int(cast(int, self.proxy.changelog_last_serial()))
        except (OSError, xmlrpc.client.Error) as exc:
            raise FetchError(self.url, f"changelog_last_serial: {exc}") from exc

    def changed_since(self, serial: int) -> dict[str, int]:
        """project -> the highest serial at which it changed, for every change after `serial`."""
        try:
            rows = cast(
                list[tuple[str, str, int, str, int]], self.proxy.changelog_since_serial(serial)
            )
        except (OSError, xmlrpc.client.Error) as exc:
            raise FetchError(self.url, f"changelog_since_serial: {exc}") from exc
        changed: dict[str, int] = {}
        for name, _version, _when, _action, row_serial in rows:
            key = canonicalize_name(name)
            changed[key] = max(changed.get(key, 0), int(row_serial))
        return changed


@dataclass
class UpdateSummary:
    crawl: CrawlSummary
    mode: str  # changelog | conditional
    new: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    consistent_to: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "new_projects": len(self.new),
            "removed_projects": len(self.removed),
            "consistent_to": self.consistent_to,
            **self.crawl.as_dict(),
        }


def update(store: Store, crawler: Crawler, changelog: Changelog | None = None) -> UpdateSummary:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    counter = crawler.fetcher.counter
    requests0, bytes0, clock0 = counter.requests, counter.bytes, time.monotonic()
    stored = store.project_names()
    # the root page is conditional too: on PyPI it is tens of megabytes and rarely worth re-reading
    names, etag, modified = crawler.client.list_projects_if_changed(
        store.get_meta("root_etag"), store.get_meta("root_last_modified")
    )
    listed = set(names) if names is not None else stored
    new, removed = sorted(listed - stored), sorted(stored - listed)
    store.remove_projects(removed)
    extra_requests = 0
    if changelog is not None:
        last = store.get_meta("consistent_serial")
        serial_now = changelog.last_serial()
        changed = changelog.changed_since(int(last)) if last is not None else {p: 0 for p in listed}
        extra_requests = 2 if last is not None else 1
        todo = sorted((set(changed) & listed) | set(new))
        summary = crawler.crawl(
            todo, conditional=False, min_serials=changed, mode="update", resume=False
        )
        mode = "changelog"
    else:
        todo = sorted(listed)
        summary = crawler.crawl(todo, conditional=True, mode="update", resume=False)
        mode, serial_now = "conditional", None
    # the whole update, root page and changelog calls included
    summary.requests = counter.requests - requests0 + extra_requests
    summary.bytes_fetched = counter.bytes - bytes0
    summary.seconds = time.monotonic() - clock0
    result = UpdateSummary(summary, mode, new, removed)
    if not summary.interrupted and not summary.incomplete:
        values = {"consistent_at": started_at}
        if etag or modified:
            values.update(root_etag=etag or "", root_last_modified=modified or "")
        if serial_now is not None:
            values["consistent_serial"] = str(serial_now)
        store.set_meta(values)
        result.consistent_to = (
            f"serial {serial_now}" if serial_now is not None else f"time {started_at}"
        )
    return result
