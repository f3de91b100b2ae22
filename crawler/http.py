"""The HTTP session every request of the crawler goes through, with its retry policy and its trust
settings written down."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies, get_netrc_auth
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import ConnectionPool, HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import SSLError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from . import DEFAULT_DEADLINE, PYPI_DEFAULT_RPS, USER_AGENT

__all__ = [
    "DEFAULT_DEADLINE",
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
        self.trusted = trusted_cas(ca_bundle)
        # requests reads the environment (proxy variables, ~/.netrc, CA variables) again on every
        # request, a file lookup each time; a crawl makes millions of requests to a few origins,
        # so it is read once per origin here, with the same rules, and requests' own reading is off
        self.trust_env = False
        self._origins: dict[str, tuple[dict[str, str], Any]] = {}

    def environment(self, url: str) -> tuple[dict[str, str], Any]:
        """(proxies from the environment, ~/.netrc credentials) for the origin of `url`."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._origins.get(origin)
        if found is None:
            no_proxy = self.proxies.get("no_proxy")
            found = (get_environ_proxies(url, no_proxy=no_proxy), get_netrc_auth(url))
            self._origins[origin] = found  # a race computes the same value twice: harmless
        return found

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if request.auth is None and self.auth is None and request.url:
            request.auth = self.environment(str(request.url))[1]
        return super().prepare_request(request)

    def merge_environment_settings(
        self,
        url: str | bytes | None,
        proxies: MutableMapping[str, str] | None,
        stream: bool | None,
        verify: bool | str | None,
        cert: Any,
    ) -> Any:
        merged = dict(proxies or {})
        if url:
            text = url if isinstance(url, str) else url.decode()
            for scheme, proxy in self.environment(text)[0].items():
                merged.setdefault(scheme, proxy)  # as requests does: a request's own proxy wins
        settings = super().merge_environment_settings(url, merged, stream, verify, cert)
        if verify is None or verify is True:  # no per-request choice: the order above decides
            settings["verify"] = self.trusted
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


_deadline = threading.local()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Every socket read of this thread's requests must end within `seconds` from now (None: no
    deadline). A read past it raises TimeoutError, which the caller sees as a failed request."""
    previous = getattr(_deadline, "at", None)
    _deadline.at = None if seconds is None else time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = previous


def deadline_passed() -> bool:
    at: float | None = getattr(_deadline, "at", None)
    return at is not None and time.monotonic() >= at


class DeadlineSocket:
    """A connected socket (plain or TLS) whose reads never outlast the calling thread's deadline:
    each read waits at most the time left (or the read timeout, if shorter). Everything else is
    the socket's own."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._timeout = sock.gettimeout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._timeout = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._timeout

    def _wait_at_most(self) -> None:
        at: float | None = getattr(_deadline, "at", None)
        if at is None:
            self._sock.settimeout(self._timeout)
            return
        left = at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline passed")
        self._sock.settimeout(left if self._timeout is None else min(left, self._timeout))

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._wait_at_most()
        return self._sock.recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._wait_at_most()
        return self._sock.recv(bufsize, flags)

    def makefile(
        self, mode: str = "r", buffering: int | None = None, **_: Any
    ) -> io.BufferedReader:
        # http.client reads the answer through this file: its reads must come back here
        if mode != "rb":
            raise ValueError(f"unsupported mode {mode!r}")
        self._sock._io_refs += 1  # type: ignore[attr-defined]
        raw = socket.SocketIO(self, "rb")  # type: ignore[arg-type]
        return io.BufferedReader(raw, buffering or io.DEFAULT_BUFFER_SIZE)

    def _decref_socketios(self) -> None:
        self._sock._decref_socketios()  # type: ignore[attr-defined]


class _DeadlineHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = DeadlineSocket(self.sock)


class _DeadlineHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock = DeadlineSocket(self.sock)


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections honour the thread's deadline (see `deadline`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool_keys: dict[tuple[str, str, Any, Any], Any] = {}

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> Any:  # (host params, pool kwargs): the stubs' own types are private
        # the same answer for every request to an origin, but requests looks at the CA path on
        # the disk each time: computed once per (origin, verify, cert)
        parts = urlsplit(str(request.url))
        key = (
            parts.scheme,
            parts.netloc,
            verify,
            cert if not isinstance(cert, list) else tuple(cert),
        )
        if key not in self._pool_keys:
            self._pool_keys[key] = super().build_connection_pool_key_attributes(
                request, verify, cert
            )
        host_params, pool_kwargs = self._pool_keys[key]
        return dict(host_params), dict(pool_kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _DeadlineHTTPPool,
            "https": _DeadlineHTTPSPool,
        }


def make_session(
    pool_size: int = 16,
    retries: int = 5,
    backoff: float = 0.5,
    user_agent: str = USER_AGENT,
    ca_bundle: str | None = None,
) -> requests.Session:
    """A Session with the retry policy above, a connection pool sized for `pool_size` workers,
    certificate verification against the trusted CAs (TrustedSession), our User-Agent, and
    connections whose reads honour the thread's `deadline`."""
    session = TrustedSession(ca_bundle)
    adapter = DeadlineAdapter(
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
