"""The HTTP session every request of the crawler goes through, with its retry policy and its trust
settings written down."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import SSLError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from . import PYPI_DEFAULT_RPS, USER_AGENT

__all__ = [
    "DEFAULT_TIMEOUT",
    "PYPI_DEFAULT_RPS",
    "ByteCounter",
    "CappedRetry",
    "RateLimiter",
    "TrustedSession",
    "make_session",
]

#: (connect, read) seconds; a read timeout is per socket read, not for the whole body.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)

# Retried statuses, and why:
#   429 - rate limited: wait as long as Retry-After says (capped), then try again;
#   500/502/504 - a CDN edge or the app server had a transient fault;
#   503 - backend overloaded or in maintenance, also usually sent with Retry-After.
# 404/410 are answers, not faults: a missing project is recorded, never retried.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


class CappedRetry(Retry):
    """urllib3's Retry, but a server cannot park a worker for hours with a huge Retry-After, and a
    certificate that fails verification is final (asking again cannot make it trusted)."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if isinstance(error, SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(error):
            raise error
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_retry_after(self, response):  # type: ignore[no-untyped-def]
        value = super().get_retry_after(response)
        return None if value is None else min(value, MAX_RETRY_AFTER)


def retry_policy(total: int = 5, backoff: float = 0.5) -> Retry:
    return CappedRetry(
        total=total,
        connect=3,
        read=3,  # also covers connection resets mid-response on idempotent GETs
        status=total,
        backoff_factor=backoff,  # 0.5, 1, 2, 4 ... seconds between tries
        backoff_max=30,
        status_forcelist=RETRY_STATUSES,
        # POST too: the only POSTs are XML-RPC changelog reads, idempotent like the GETs
        allowed_methods=frozenset({"GET", "HEAD", "POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last response back; callers raise FetchError with it
    )


class TrustedSession(requests.Session):
    """Certificates are verified always. Which CAs are trusted, first match wins (as pip does):

    1. `ca_bundle`, the command line's `--cert` (a PEM file or a c_rehash'd folder);
    2. `REQUESTS_CA_BUNDLE`, then `CURL_CA_BUNDLE` (requests' own environment settings);
    3. `SSL_CERT_FILE` (OpenSSL's, which plain requests ignores);
    4. certifi's bundle (requests' default).
    """

    def __init__(self, ca_bundle: str | None = None) -> None:
        super().__init__()
        self.ca_bundle = ca_bundle

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: Any,
    ) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None or verify is True:  # no per-request choice: the order above decides
            settings["verify"] = trusted_cas(self.ca_bundle)
        return settings


def trusted_cas(ca_bundle: str | None) -> str | bool:
    """The CA bundle to verify against (True: requests' default, certifi)."""
    for value in (
        ca_bundle,
        os.environ.get("REQUESTS_CA_BUNDLE"),
        os.environ.get("CURL_CA_BUNDLE"),
        os.environ.get("SSL_CERT_FILE"),
    ):
        if value:
            return value
    return True


def make_session(
    pool_size: int = 16,
    retries: int = 5,
    backoff: float = 0.5,
    user_agent: str = USER_AGENT,
    ca_bundle: str | None = None,
) -> requests.Session:
    """A Session with the retry policy above, a connection pool sized for `pool_size` workers,
    certificate verification against the trusted CAs (TrustedSession) and our User-Agent."""
    session = TrustedSession(ca_bundle)
    adapter = HTTPAdapter(
        max_retries=retry_policy(retries, backoff), pool_connections=4, pool_maxsize=pool_size
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


class RateLimiter:
    """At most `per_second` requests per second across all threads (evenly spaced, no bursts)."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class ByteCounter:
    """Thread-safe tally of requests made and body bytes received, for the crawl summary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.bytes = 0

    def add(self, nbytes: int) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += nbytes
