"""The durable store: a SQLite file (WAL, the default) or a PostgreSQL database. The schema (tables,
columns, state values, version, migrations) lives in `depgraph.core.schema`; the SQL that writes
and reads it lives in this package, one module per responsibility:

| module | what |
| --- | --- |
| `connection` | connections per thread, transactions, the `meta` table, reconnect-and-retry |
| `rows` | the dataclasses written and read (no HTTP stack, no pandas) |
| `release_rows` | a release's requirement and failure rows, the latest flag |
| `crawl_writes` | the one write path of a crawl, and the reads that skip unchanged releases |
| `builds` | sandbox candidates and build results |
| `derive` | re-derivation of stored requirement rows |
| `imports` | imported data sets |
| `runs` | crawl runs, queues, what updates read and remove |
| `status` | summaries, failures |
| `queries` | one project's dependents, requirements and releases |
| `reader` | the analysis' columnar reads (Arrow) |

Idempotence: a project's rows are replaced as a whole inside one transaction, so running the same
crawl twice leaves the same rows, and a crash leaves each project either before or after. A write
whose PostgreSQL connection is lost (a server restart) is retried whole on a new connection.
"""

from __future__ import annotations

from pathlib import Path

from depgraph.core.schema import SCHEMA_VERSION

from .builds import Builds
from .crawl_writes import CrawlWrites
from .derive import Derivations
from .imports import Imports
from .queries import Queries
from .rows import (
    IMPORT_EXTRACTOR,
    BuildResult,
    DistFile,
    Edge,
    EntryPoint,
    Extraction,
    Failure,
    ImportedRelease,
    ProjectRecord,
    ReleaseRecord,
    SandboxCandidate,
    files_digest,
)
from .runs import Runs
from .status import Status

__all__ = [
    "IMPORT_EXTRACTOR",
    "SCHEMA_VERSION",
    "BuildResult",
    "DistFile",
    "Edge",
    "EntryPoint",
    "Extraction",
    "Failure",
    "ImportedRelease",
    "ProjectRecord",
    "ReleaseRecord",
    "SandboxCandidate",
    "Store",
    "files_digest",
]


class Store(CrawlWrites, Builds, Derivations, Imports, Runs, Status, Queries):
    """The store, SQLite or PostgreSQL (`depgraph.core.db`). One writer thread (the crawl's main
    thread); every thread gets its own connection."""

    def __init__(
        self, path: str | Path, read_only: bool = False, statement_seconds: float | None = None
    ) -> None:
        super().__init__(path, read_only, statement_seconds)
        if not read_only:
            self._rederive_once()
