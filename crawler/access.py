"""How the crawler reaches an index and how it builds sdists: one options type each, plain frozen
data, the same for a crawl on this machine and for a task shipped to a cluster worker."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from depgraph.sandbox import Limits

from . import DEFAULT_DEADLINE, PYPI_DEFAULT_RPS, USER_AGENT

__all__ = [
    "CONTACT_ENV",
    "PYPI_DEFAULT_RPS",
    "IndexAccess",
    "SandboxAccess",
    "contact_from_env",
    "is_pypi",
    "user_agent",
]

#: the environment variable `--contact` defaults to
CONTACT_ENV = "DEPGRAPH_CONTACT"


def user_agent(contact: str | None) -> str:
    """What every request says of us: the tool and its version, and who runs it where given (an
    e-mail address or URL), so an index's operators can reach the person behind a crawl."""
    return f"{USER_AGENT} (contact: {contact})" if contact else USER_AGENT


def contact_from_env() -> str | None:
    return os.environ.get(CONTACT_ENV, "").strip() or None


def is_pypi(index_url: str) -> bool:
    return urlsplit(index_url).hostname == "pypi.org"


@dataclass(frozen=True, kw_only=True)
class IndexAccess:
    """How the crawl reaches the index and reads releases (`--index-url`, `--workers`, ...)."""

    index_url: str
    user_agent: str = field(default_factory=lambda: user_agent(contact_from_env()))
    ca_bundle: str | None = None
    retries: int = 5
    #: requests per second (per worker process on a cluster); None: no cap (see `rate`)
    max_rps: float | None = None
    #: read dependencies only from hash-verified bytes
    verify_hashes: bool = False
    #: read wheels' entry_points.txt where a PEP 658 file answered the metadata
    entry_points: bool = False
    #: concurrent projects, and HTTP connections, per process
    workers: int = 8
    #: seconds one request may take in all (connect, headers, body, retries)
    deadline: float = DEFAULT_DEADLINE
    #: read only the release pip would pick of each project (the others: `not-read`)
    latest_only: bool = False
    #: read only releases uploaded on or after this day (YYYY-MM-DD), and the latest with
    #: `latest_only`; None: every release
    since: str | None = None

    @property
    def rate(self) -> float | None:
        """`max_rps`, or for PyPI itself (which publishes no limit) a documented default."""
        if self.max_rps is None and is_pypi(self.index_url):
            return PYPI_DEFAULT_RPS
        return self.max_rps


@dataclass(frozen=True, kw_only=True)
class SandboxAccess:
    """Where and how pending sdists get built (`--sandbox ...`), and how they are downloaded."""

    kind: str = "auto"  # auto | docker | bwrap | none
    limits: Limits = field(default_factory=Limits)
    python: str = "auto"  # auto (3, then 2.7 on evidence) | 3 | 2.7
    workers: int = 2
    retry_failed: bool = False
    user_agent: str = field(default_factory=lambda: user_agent(contact_from_env()))
    ca_bundle: str | None = None
