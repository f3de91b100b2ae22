"""`depgraph update`: bring a store up to date with its index, fetching only what changed.

Three ways to know what changed, the first the index offers:
- the root's serials: a PEP 691 JSON root listing each project's `_last-serial` (PyPI's
  extension, what bandersnatch 8 reads): one request for the whole index, then only the projects
  whose serial moved past the one stored are fetched;
- the index's XML-RPC changelog (`changelog_since_serial`), where asked for (`--changelog-url`):
  PyPI deprecates it and rate-limits it hard, so it is never chosen on its own;
- otherwise every project page is asked for conditionally (If-None-Match / If-Modified-Since with
  the validators kept in the store): unchanged pages cost a 304 and no work.
With serials (either source), a page older than the serial promised for its project is a stale CDN
copy: retried later, never stored.
Projects that appeared on the index root are crawled; projects that left it are removed.
When a run completes, the store records the serial (or time) it is consistent to.
"""

from __future__ import annotations

import time
import xmlrpc.client
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast
from xml.parsers.expat import ExpatError

import requests
from packaging.utils import canonicalize_name

from depgraph.store import Store

from .crawl import Crawler, CrawlSummary
from .errors import FetchError
from .http import make_session

__all__ = ["Changelog", "UpdateSummary", "update"]


class Changelog:
    """PyPI's XML-RPC changelog (https://pypi.org/pypi), or any server speaking the same methods.

    The calls go through a crawler session (requests, not xmlrpc.client's own transport), so they
    get the same TLS verification and trusted CAs, User-Agent and retries as every other request.
    """

    def __init__(
        self, url: str, session: requests.Session | None = None, timeout: float = 30.0
    ) -> None:
        self.url, self.timeout = url, timeout
        self.session = session or make_session(pool_size=1)

    def _call(self, method: str, *params: int) -> object:
        body = xmlrpc.client.dumps(params, method)
        try:
            response = self.session.post(
                self.url,
                data=body.encode(),
                timeout=self.timeout,
                headers={"Content-Type": "text/xml"},
            )
            response.raise_for_status()
            (result,), _ = xmlrpc.client.loads(response.content)
        except requests.exceptions.SSLError as exc:
            raise FetchError(self.url, f"{method}: TLS: {exc}") from exc
        except (requests.RequestException, xmlrpc.client.Error, ExpatError, ValueError) as exc:
            raise FetchError(self.url, f"{method}: {type(exc).__name__}: {exc}") from exc
        return result

    def last_serial(self) -> int:
        value = self._call("changelog_last_serial")
        if not isinstance(value, int):
            raise FetchError(self.url, f"changelog_last_serial: not a serial: {value!r}")
        return value

    def changed_since(self, serial: int) -> dict[str, int]:
        """project -> the highest serial at which it changed, for every change after `serial`."""
        rows = cast(
            list[tuple[str, str, int, str, int]], self._call("changelog_since_serial", serial)
        )
        if not isinstance(rows, list):
            raise FetchError(self.url, f"changelog_since_serial: not a list: {type(rows).__name__}")
        changed: dict[str, int] = {}
        for name, _version, _when, _action, row_serial in rows:
            key = canonicalize_name(name)
            changed[key] = max(changed.get(key, 0), int(row_serial))
        return changed


@dataclass
class UpdateSummary:
    crawl: CrawlSummary
    mode: str  # root-serials | changelog | conditional
    new: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    consistent_to: str | None = None
    #: how long rebuilding the report after this update took (None: not rebuilt)
    report_seconds: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "new_projects": len(self.new),
            "removed_projects": len(self.removed),
            "consistent_to": self.consistent_to,
            "report_seconds": self.report_seconds,
            **self.crawl.as_dict(),
        }


def update(store: Store, crawler: Crawler, changelog: Changelog | None = None) -> UpdateSummary:
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    counter = crawler.fetcher.counter
    requests0, bytes0, clock0 = counter.requests, counter.bytes, time.monotonic()
    stored = store.project_names()
    # the root page is conditional too: on PyPI it is tens of megabytes and rarely worth re-reading
    listing, etag, modified = crawler.client.root_listing(
        store.get_meta("root_etag"), store.get_meta("root_last_modified")
    )
    listed = set(listing.names) if listing is not None else stored
    new, removed = sorted(listed - stored), sorted(stored - listed)
    store.remove_projects(removed)
    extra_requests = 0
    serial_now: int | None
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
    elif listing is None and store.get_meta("update_mode") == "root-serials":
        # the root has not changed since it was last read: neither has any project
        summary = crawler.crawl([], conditional=False, mode="update", resume=False)
        mode, serial_now = "root-serials", _stored_serial(store)
    elif listing is not None and listing.serials is not None:
        known = store.project_serials()
        moved = {
            name: serial
            for name, serial in listing.serials.items()
            if (seen := known.get(name)) is None or serial > seen
        }
        todo = sorted(set(moved) | set(new))
        summary = crawler.crawl(
            todo,
            conditional=False,
            min_serials={str(name): serial for name, serial in listing.serials.items()},
            mode="update",
            resume=False,
        )
        mode = "root-serials"
        serial_now = (
            listing.serial
            if listing.serial is not None
            else max(listing.serials.values(), default=None)
        )
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
        values = {"consistent_at": started_at, "update_mode": mode}
        if etag or modified:
            values.update(root_etag=etag or "", root_last_modified=modified or "")
        if serial_now is not None:
            values["consistent_serial"] = str(serial_now)
        store.set_meta(values)
        result.consistent_to = (
            f"serial {serial_now}" if serial_now is not None else f"time {started_at}"
        )
    return result


def _stored_serial(store: Store) -> int | None:
    value = store.get_meta("consistent_serial")
    return int(value) if value is not None and value.isdigit() else None
