"""The rows the store takes and gives: plain dataclasses on the standard library, `packaging`'s
name type and the schema's enums. No HTTP stack, no pandas: `depgraph status` and the importers
load this module without the crawler's network code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from packaging.utils import NormalizedName

from depgraph.core.requirements import Edge
from depgraph.core.schema import DepsState, FailureStage, FileKind, PageOutcome

__all__ = [
    "IMPORT_EXTRACTOR",
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
    "files_digest",
]


@dataclass(frozen=True)
class DistFile:
    filename: str
    url: str
    project: NormalizedName
    version: str  # release key, see release_key()
    kind: FileKind
    sha256: str | None
    size: int | None
    yanked: bool
    yanked_reason: str | None
    requires_python: str | None
    core_metadata: bool
    core_metadata_sha256: str | None
    upload_time: str | None
    pure: bool  # a wheel any interpreter/platform can use (abi none, platform any)

    @property
    def metadata_url(self) -> str:
        return self.url + ".metadata"  # PEP 658 / 714


@dataclass(frozen=True)
class EntryPoint:
    group: str
    name: str
    value: str


@dataclass(frozen=True)
class Failure:
    stage: FailureStage
    reason: str
    detail: str
    filename: str | None = None


@dataclass
class Extraction:
    deps_state: DepsState
    source: str | None = None  # pep658 | wheel-range | wheel-download | sdist-pkg-info | sandbox-*
    metadata_file: str | None = None
    requires_python: str | None = None
    edges: list[Edge] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    note: str | None = None
    #: the bytes the dependencies came from were checked against the index's sha256
    verified: bool | None = None
    #: the selected wheel's entry points; None when they were not read (a PEP 658 file holds
    #: none: `read_entry_points` reads the wheel for them too), [] when it has none
    entry_points: list[EntryPoint] | None = None


class BuildResult(Protocol):
    """What the store reads of a sandbox build's result (`depgraph.sandbox.SandboxResult`)."""

    @property
    def ok(self) -> bool: ...
    @property
    def backend(self) -> str: ...
    @property
    def method(self) -> str | None: ...
    @property
    def detail(self) -> str | None: ...
    @property
    def failure(self) -> str | None: ...
    @property
    def log_tail(self) -> str: ...
    @property
    def confidence(self) -> str | None: ...
    @property
    def requires_python(self) -> str | None: ...


def files_digest(files: Iterable[DistFile]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.filename):
        h.update(f"{f.filename}\0{f.sha256 or f.url}\n".encode())
    return h.hexdigest()


@dataclass
class ReleaseRecord:
    """What the crawler hands the store for one release."""

    version: str
    files: list[DistFile]
    extraction: Extraction | None  # None: unchanged since last crawl, keep stored deps as they are
    digest: str
    #: filename -> where its bytes came from, for the files a redirect moved when they were read
    final_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxCandidate:
    """A release whose dependencies only a sandbox build can tell, and the sdist to build."""

    release_id: int
    project: NormalizedName
    version: str
    filename: str
    url: str
    sha256: str | None


#: extractor_version of imported rows (they were not extracted by this code)
IMPORT_EXTRACTOR = "import"


@dataclass
class ImportedRelease:
    """One release read from a public data set, parsed, ready for `Store.write_imported`."""

    project: NormalizedName
    version: str
    source: str  # import:<data set>/<part>
    requires_python: str | None
    edges: list[Edge]
    bad_lines: list[str] = field(default_factory=list)  # "'<line>': <why packaging rejects it>"
    #: every other version the data set knows of the project: stored as releases without
    #: dependencies (deps_state not-imported), so satisfiability checks see the real history
    other_versions: tuple[str, ...] = ()


@dataclass
class ProjectRecord:
    name: NormalizedName
    display_name: str | None
    status: PageOutcome
    releases: list[ReleaseRecord]
    failures: list[Failure]  # page-level
    serial: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    #: where the page was read from, after redirects
    page_url: str | None = None
