"""Downloads: whole files verified against the index's digest, and byte ranges for lazy reads."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

import requests

from .errors import FetchError, HashMismatchError
from .http import DEFAULT_TIMEOUT, ByteCounter, RateLimiter

__all__ = ["MAX_DOWNLOAD_BYTES", "Fetcher"]

#: Files larger than this are not downloaded whole (an sdist of 200 MB is not worth its PKG-INFO).
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024


class Fetcher:
    """Thin wrapper over a Session: turns transport faults into FetchError and counts bytes."""

    def __init__(
        self,
        session: requests.Session,
        counter: ByteCounter | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        rate: RateLimiter | None = None,
        body_retries: int = 2,
    ) -> None:
        self.session = session
        self.counter = counter or ByteCounter()
        self.timeout = timeout
        self.rate = rate  # politeness: caps requests per second (retries inside urllib3 excepted)
        self.no_suffix_ranges: set[str] = set()  # hosts that refuse `Range: bytes=-N`
        self.body_retries = body_retries

    def get(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        max_bytes: int = MAX_DOWNLOAD_BYTES,
    ) -> requests.Response:
        """GET `url`; the response body is read (up to `max_bytes`) before returning.

        urllib3's Retry covers everything up to the response headers; a body cut short afterwards
        (truncated, reset mid-body, a read timeout) is retried here, `body_retries` more times."""
        for attempt in range(self.body_retries + 1):
            try:
                return self._get_once(url, headers, ok, max_bytes)
            except _BodyCut as cut:
                if attempt == self.body_retries:
                    raise FetchError(
                        url, f"{cut.detail} (tried {attempt + 1} times)"
                    ) from cut.__cause__
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _get_once(
        self, url: str, headers: Mapping[str, str] | None, ok: tuple[int, ...], max_bytes: int
    ) -> requests.Response:
        if self.rate:
            self.rate.wait()
        try:
            response = self.session.get(url, headers=headers, timeout=self.timeout, stream=True)
        except requests.exceptions.RetryError as exc:
            self.counter.add(0)  # every request counts, the ones that got no answer too
            raise FetchError(url, f"gave up after retries: {exc}") from exc
        except requests.exceptions.SSLError as exc:
            self.counter.add(0)
            raise FetchError(url, f"TLS: {exc}") from exc
        except requests.RequestException as exc:
            self.counter.add(0)
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
        body = bytearray()
        try:
            if response.status_code not in ok:
                raise FetchError(url, f"HTTP {response.status_code}", status=response.status_code)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(url, f"body of {declared} bytes is over the {max_bytes} limit")
            for chunk in response.iter_content(chunk_size=1 << 16):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(url, f"body is over the {max_bytes} byte limit")
            response._content = bytes(body)  # later .content / .json() read from memory
        except requests.RequestException as exc:
            # truncated bodies (urllib3 enforces Content-Length), resets mid-body, read timeouts
            raise _BodyCut(f"{type(exc).__name__} while reading body: {exc}") from exc
        finally:
            response.close()
            self.counter.add(len(body))  # 404s and cut bodies included
        return response

    def download(self, url: str, sha256: str | None, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """The whole file, checked against `sha256` when the index gave one. A mismatch is fetched
        once more (a CDN edge may have served a stale or torn copy), then raised, never returned."""
        for attempt in (1, 2):
            data = self.get(url, max_bytes=max_bytes).content
            try:
                verify_sha256(url, data, sha256)
                return data
            except HashMismatchError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def head_length(self, url: str) -> int | None:
        """Content-Length from a HEAD request, or None when the server gives none."""
        if self.rate:
            self.rate.wait()
        try:
            response = self.session.head(url, timeout=self.timeout, allow_redirects=True)
        except requests.RequestException as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.counter.add(0)
        value = response.headers.get("Content-Length", "")
        return int(value) if response.status_code == 200 and value.isdigit() else None

    def get_range(self, url: str, start: int | None, end: int | None) -> requests.Response:
        """`bytes=start-end` (inclusive), or a suffix `bytes=-end` when start is None.

        Returns the response, 206 when the server honours ranges, 200 (whole body) when it does not.
        """
        spec = f"bytes=-{end}" if start is None else f"bytes={start}-{end}"
        return self.get(url, headers={"Range": spec}, ok=(200, 206))


class _BodyCut(Exception):
    """The response began but its body did not arrive whole: worth another try."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def verify_sha256(url: str, data: bytes, expected: str | None) -> None:
    if expected is None:
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected.lower():
        raise HashMismatchError(url, expected, actual)
