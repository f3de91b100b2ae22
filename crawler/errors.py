"""Exceptions of the crawler. Each carries what a user needs to find the bad input."""

from __future__ import annotations

from depgraph.core.errors import DepgraphError

__all__ = [
    "ArchiveError",
    "CrawlerError",
    "FetchError",
    "HashMismatchError",
    "ImportFormatError",
    "IndexPageError",
]


class CrawlerError(DepgraphError):
    """Base class of every error the crawler raises on purpose."""

    #: short machine-readable reason stored in the failures table
    reason = "error"


class FetchError(CrawlerError):
    """An HTTP request failed after the retry policy gave up."""

    reason = "fetch-failed"

    def __init__(
        self, url: str, detail: str, status: int | None = None, reason: str | None = None
    ) -> None:
        self.url = url
        self.status = status
        self.detail = detail
        if reason is not None:  # a named cause: deadline, scheme-refused, redirect-off-index...
            self.reason = reason
        super().__init__(f"{url}: {detail}")

    @property
    def code(self) -> str:
        return f"http-{self.status}" if self.status else self.reason


class HashMismatchError(CrawlerError):
    """Downloaded bytes do not match the digest the index published."""

    reason = "hash-mismatch"

    def __init__(self, url: str, expected: str, actual: str) -> None:
        self.url, self.expected, self.actual = url, expected, actual
        super().__init__(f"{url}: sha256 {actual} does not match the index's {expected}")


class ArchiveError(CrawlerError):
    """A wheel or sdist cannot be read, or lacks the metadata file it must carry."""

    reason = "bad-archive"

    def __init__(self, filename: str, detail: str, reason: str | None = None) -> None:
        self.filename, self.detail = filename, detail
        if reason is not None:  # a named cause: decompression-bomb, range-unusable...
            self.reason = reason
        super().__init__(f"{filename}: {detail}")


class IndexPageError(CrawlerError):
    """A simple-API page could not be parsed."""

    reason = "bad-index-page"

    def __init__(self, url: str, detail: str, reason: str | None = None) -> None:
        self.url, self.detail = url, detail
        if reason is not None:  # a named cause: page-too-deep, not-an-index...
            self.reason = reason
        super().__init__(f"{url}: {detail}")


class ImportFormatError(CrawlerError):
    """A data-set file to import cannot be read; names the file and line."""

    reason = "bad-import-file"


class ClusterLost(CrawlerError):
    """The cluster the work ran on went away mid-run (its scheduler died, or this client lost it).
    Nothing is recorded against the work in flight: the run stays open in the store, and the same
    command resumes it."""

    reason = "cluster-lost"

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"the cluster was lost mid-run ({detail}); finished work is stored: run the same "
            "command again (once the scheduler is back) to resume"
        )
