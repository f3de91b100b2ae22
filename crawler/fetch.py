"""Downloads: whole files verified against the index's digest, and byte ranges for lazy reads."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import requests

from .errors import FetchError, HashMismatchError
from .http import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    ByteCounter,
    RateLimiter,
    deadline,
    deadline_passed,
)

__all__ = ["MAX_DOWNLOAD_BYTES", "MAX_REDIRECTS", "Fetcher", "origin"]

#: Files larger than this are not downloaded whole: PyPI's default upload limit, and an sdist of
#: more is not worth its PKG-INFO (a wheel that large is read by ranges). A body is held once as it
#: arrives and once as the bytes handed on, so one download costs at most twice this.
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024
#: redirects followed for one request
MAX_REDIRECTS = 10
#: the only schemes anything is fetched over
SCHEMES = frozenset({"http", "https"})


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL, the port explicit (80 / 443 when the URL gives none)."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _check_scheme(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise FetchError(
            url,
            f"{scheme or 'no'} scheme: only http and https are fetched",
            reason="scheme-refused",
        )


class Fetcher:
    """Thin wrapper over a Session: turns transport faults into FetchError and counts bytes."""

    def __init__(
        self,
        session: requests.Session,
        counter: ByteCounter | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        rate: RateLimiter | None = None,
        body_retries: int = 2,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        self.session = session
        self.counter = counter or ByteCounter()
        self.timeout = timeout
        #: seconds one request may take in all, retries included (see `http.deadline`)
        self.deadline = deadline
        #: URL asked for -> where a redirect moved it (taken by whoever records the file)
        self.final_urls: dict[str, str] = {}
        self.rate = rate  # politeness: caps requests per second (retries inside urllib3 excepted)
        self.no_suffix_ranges: set[str] = set()  # hosts that refuse `Range: bytes=-N`
        self.body_retries = body_retries

    def get(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        within: str | None = None,
    ) -> requests.Response:
        """GET `url`; the response body is read (up to `max_bytes`) before returning. Only http
        and https; redirects are followed (`response.url` is where the answer came from), and with
        `within` (a URL) only to the same scheme, host and port: a redirect elsewhere is refused
        (FetchError `redirect-off-index`) before it is followed.

        urllib3's Retry covers everything up to the response headers; a body cut short afterwards
        (truncated, reset mid-body, a read timeout) is retried here, `body_retries` more times.
        The whole request, retries included, ends within the fetcher's deadline."""
        _check_scheme(url)
        with deadline(self.deadline):
            for attempt in range(self.body_retries + 1):
                try:
                    return self._follow(url, headers, ok, max_bytes, within)
                except _BodyCut as cut:
                    if deadline_passed():
                        raise FetchError(
                            url, f"no whole answer within {self.deadline:g} s", reason="deadline"
                        ) from cut.__cause__
                    if attempt == self.body_retries:
                        raise FetchError(
                            url, f"{cut.detail} (tried {attempt + 1} times)"
                        ) from cut.__cause__
                    time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _follow(
        self,
        url: str,
        headers: Mapping[str, str] | None,
        ok: tuple[int, ...],
        max_bytes: int,
        within: str | None,
    ) -> requests.Response:
        """Redirects followed here, one hop at a time, so that each is checked before it is
        taken."""
        home = origin(within) if within is not None else None
        at = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get_once(at, headers, ok, max_bytes)
            if response.status_code not in (301, 302, 303, 307, 308):
                if at != url:
                    self.final_urls[url] = at
                return response
            target = urljoin(at, response.headers.get("Location", ""))
            _check_scheme(target)
            if home is not None and origin(target) != home:
                raise FetchError(
                    url,
                    f"redirected to {target}, off the index ({home[0]}://{home[1]}:{home[2]})",
                    reason="redirect-off-index",
                )
            at = target
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects", reason="too-many-redirects")

    def _get_once(
        self, url: str, headers: Mapping[str, str] | None, ok: tuple[int, ...], max_bytes: int
    ) -> requests.Response:
        if self.rate:
            self.rate.wait()
        redirects = (301, 302, 303, 307, 308)
        try:
            response = self.session.get(
                url, headers=headers, timeout=self.timeout, stream=True, allow_redirects=False
            )
        except requests.RequestException as exc:
            self.counter.add(0)  # every request counts, the ones that got no answer too
            if deadline_passed():
                raise FetchError(
                    url, f"no answer within {self.deadline:g} s", reason="deadline"
                ) from exc
            if isinstance(exc, requests.exceptions.RetryError):
                raise FetchError(url, f"gave up after retries: {exc}") from exc
            if isinstance(exc, requests.exceptions.SSLError):
                raise FetchError(url, f"TLS: {exc}") from exc
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:  # the deadline, met outside what requests wraps
            self.counter.add(0)
            raise FetchError(
                url, f"no answer within {self.deadline:g} s", reason="deadline"
            ) from exc
        body = bytearray()
        try:
            if response.status_code in redirects and response.headers.get("Location"):
                return response  # `_follow` decides whether to go on
            if response.status_code not in ok:
                raise FetchError(url, f"HTTP {response.status_code}", status=response.status_code)
            declared = response.headers.get("Content-Length", "")
            if _decimal(declared) and int(declared) > max_bytes:
                raise FetchError(
                    url,
                    f"body of {declared} bytes is over the {max_bytes} limit",
                    reason="body-too-large",
                )
            for chunk in response.iter_content(chunk_size=1 << 16):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(
                        url, f"body is over the {max_bytes} byte limit", reason="body-too-large"
                    )
            response._content = bytes(body)  # later .content / .json() read from memory
        except (requests.RequestException, TimeoutError) as exc:
            # truncated bodies (urllib3 enforces Content-Length), resets mid-body, read timeouts,
            # the deadline
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
        """Content-Length from a HEAD request, or None when the server gives none (or one that is
        not a plain decimal number)."""
        _check_scheme(url)
        if self.rate:
            self.rate.wait()
        try:
            with deadline(self.deadline):
                response = self.session.head(url, timeout=self.timeout, allow_redirects=True)
        except (requests.RequestException, TimeoutError) as exc:
            raise FetchError(url, f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.counter.add(0)
        value = response.headers.get("Content-Length", "")
        return int(value) if response.status_code == 200 and _decimal(value) else None

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


def _decimal(text: str) -> bool:
    """A plain ASCII decimal of at most 18 digits ("²".isdigit() is true, and int() refuses it)."""
    return 0 < len(text) <= 18 and text.isascii() and text.isdigit()
