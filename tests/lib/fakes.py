"""A requests session that answers from saved bytes, for unit tests of the code above the HTTP
stack (the ladder, range reads, the crawl's work units): a real `Fetcher` runs over it, so byte
counting, range headers and body limits are exercised, only the socket is not. Faults are
switches: a server that ignores ranges, refuses suffix ranges, or lies about the total size."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

import requests
from urllib3.response import HTTPResponse

__all__ = ["SavedSession"]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class SavedSession(requests.Session):
    """`files`: url -> (body, content type). Unknown URLs answer 404."""

    def __init__(
        self,
        files: dict[str, tuple[bytes, str]],
        *,
        ignore_ranges: bool = False,
        refuse_suffix: bool = False,
        claimed_total: int | None = None,
    ) -> None:
        super().__init__()
        self.files = files
        self.ignore_ranges, self.refuse_suffix = ignore_ranges, refuse_suffix
        #: the total a Content-Range claims instead of the real size (a lying server)
        self.claimed_total = claimed_total
        #: (method, url, Range header) of every request
        self.asked: list[tuple[str, str, str | None]] = []

    def _answer(
        self, status: int, body: bytes, headers: Mapping[str, str], url: str
    ) -> requests.Response:
        response = requests.Response()
        response.status_code, response.url = status, url
        response.headers.update(headers)
        response.headers["Content-Length"] = str(len(body))
        response.raw = HTTPResponse(body=io.BytesIO(body), preload_content=False, status=status)
        return response

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:
        url = str(url)
        wanted = (kwargs.get("headers") or {}).get("Range")
        self.asked.append(("GET", url, wanted))
        if url not in self.files:
            return self._answer(404, b"not found", {}, url)
        body, kind = self.files[url]
        if wanted is None or self.ignore_ranges:
            return self._answer(200, body, {"Content-Type": kind}, url)
        match = _RANGE.fullmatch(wanted)
        assert match, wanted
        first, last = match.groups()
        if first == "":
            if self.refuse_suffix:
                return self._answer(416, b"", {}, url)
            start, stop = max(0, len(body) - int(last)), len(body) - 1
        else:
            start, stop = int(first), min(int(last or len(body) - 1), len(body) - 1)
        total = self.claimed_total if self.claimed_total is not None else len(body)
        headers = {"Content-Type": kind, "Content-Range": f"bytes {start}-{stop}/{total}"}
        return self._answer(206, body[start : stop + 1], headers, url)

    def head(self, url: str | bytes, **kwargs: Any) -> requests.Response:
        url = str(url)
        self.asked.append(("HEAD", url, None))
        if url not in self.files:
            return self._answer(404, b"", {}, url)
        response = self._answer(200, b"", {}, url)
        response.headers["Content-Length"] = str(len(self.files[url][0]))
        return response
