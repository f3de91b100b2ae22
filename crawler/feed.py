"""An index's RSS feed of recent uploads as a cheap poll between reads of its root.

PyPI's `/rss/updates.xml` lists its latest uploads (a few kilobytes) where its JSON root is tens
of megabytes. The feed only says *that* something changed: it holds the last hundred uploads, and
says nothing of yanks, removals or files added to a release, so the root stays the authority
(`update` reads it when the feed shows anything new, and at least every so often whatever the
feed says). The feed is asked for conditionally (ETag / Last-Modified), parsed with defusedxml
(a feed is input from outside like any page), and capped in size.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import requests
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from .errors import FetchError

__all__ = ["MAX_FEED_BYTES", "UpdatesFeed", "feed_url_for"]

#: a feed larger than this is not a feed of recent uploads
MAX_FEED_BYTES = 4 * 1024 * 1024

Item = tuple[str, str, str]  # title, link, pubDate


def feed_url_for(index_url: str) -> str | None:
    """The updates feed of an index that is known to serve one (PyPI and TestPyPI); None
    elsewhere (`--feed-url` names one)."""
    parts = urlsplit(index_url)
    if parts.hostname in ("pypi.org", "test.pypi.org"):
        return urlunsplit((parts.scheme, parts.netloc, "/rss/updates.xml", "", ""))
    return None


class UpdatesFeed:
    """`changed()`: whether the feed lists an upload it did not list at the last poll."""

    def __init__(self, url: str, session: requests.Session, timeout: float = 30.0) -> None:
        self.url, self.session, self.timeout = url, session, timeout
        self._seen: set[Item] | None = None
        self._validators: dict[str, str] = {}

    def changed(self) -> bool:
        """True at the first poll, and whenever an item is new; False when the feed is as it was
        (a 304 included). FetchError when the feed cannot be read or is not a feed."""
        items = self._items()
        if items is None:  # not modified
            return False
        new = self._seen is None or bool(items - self._seen)
        self._seen = items
        return new

    def _items(self) -> set[Item] | None:
        try:
            response = self.session.get(
                self.url, headers=self._validators, timeout=self.timeout, stream=True
            )
            with response:
                if response.status_code == 304:
                    return None
                if response.status_code != 200:
                    raise FetchError(self.url, f"HTTP {response.status_code}", response.status_code)
                body = response.raw.read(MAX_FEED_BYTES + 1, decode_content=True)
                validators = {
                    "If-None-Match": response.headers.get("ETag"),
                    "If-Modified-Since": response.headers.get("Last-Modified"),
                }
        except requests.RequestException as exc:
            raise FetchError(self.url, f"{type(exc).__name__}: {exc}") from exc
        if len(body) > MAX_FEED_BYTES:
            raise FetchError(self.url, f"a feed larger than {MAX_FEED_BYTES} bytes")
        try:
            root = ElementTree.fromstring(body)
        except (ElementTree.ParseError, DefusedXmlException) as exc:
            raise FetchError(self.url, f"not an RSS feed: {type(exc).__name__}: {exc}") from exc
        if root.tag != "rss" or root.find("channel") is None:
            raise FetchError(self.url, f"not an RSS feed: its root element is <{root.tag}>")
        self._validators = {k: v for k, v in validators.items() if v}
        return {
            (
                item.findtext("title") or "",
                item.findtext("link") or "",
                item.findtext("pubDate") or "",
            )
            for item in root.iter("item")
        }
