"""Client for the simple repository API: PEP 691 JSON preferred, PEP 503 HTML understood.

Fetching is done through a `Fetcher`; parsing is pypi-simple's (`ProjectPage.from_response`), and
this module turns its packages into `DistFile`s keyed by canonical project name and release.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from json import JSONDecodeError

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from pypi_simple import ACCEPT_JSON_PREFERRED, DistributionPackage, IndexPage, ProjectPage
from pypi_simple.errors import UnsupportedContentTypeError, UnsupportedRepoVersionError

from depgraph.core.schema import FileKind
from depgraph.store.rows import DistFile

from . import PYPI_SIMPLE
from .errors import CrawlerError, IndexPageError
from .fetch import Fetcher

__all__ = [
    "FileProblem",
    "IndexClient",
    "PageAnswer",
    "RootListing",
    "dist_file",
    "group_releases",
    "lists_files",
    "parse_project_page",
    "parse_serial",
    "release_key",
]


@dataclass(frozen=True)
class PageAnswer:
    """A project page, or None when the server said 304 Not Modified."""

    page: ProjectPage | None
    etag: str | None
    last_modified: str | None
    serial: int | None
    #: where the page came from, after redirects (which stay on the index's origin)
    url: str | None = None
    #: (reason, detail) of what on the page could not be used as given (a bad serial)
    problems: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RootListing:
    """What the index root lists: every project, and where the root is PEP 691 JSON with PyPI's
    `_last-serial` extension (what bandersnatch 8 reads instead of XML-RPC), each project's
    serial and the index's."""

    names: list[NormalizedName]
    #: project -> the serial of its last change; None where the root gives no serials
    serials: dict[NormalizedName, int] | None = None
    #: the index's serial as the root states it (meta `_last-serial`), else None
    serial: int | None = None


#: the largest index page read (PyPI's largest project pages are a few MB)
MAX_PAGE_BYTES = 64 * 1024 * 1024
#: the largest value a store's 64-bit integer columns hold
MAX_INT64 = 2**63 - 1


def parse_serial(text: str) -> int | None:
    """A serial as an index sends it (X-PyPI-Last-Serial, `_last-serial`): a plain ASCII decimal
    that fits 64 bits, else None ("²".isdigit() is true; 10**30 overflows the store)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_INT64 else None


def release_key(version: str) -> str:
    """The string releases are grouped and stored under: PEP 440 normalized when it parses."""
    return canonicalize_version(version, strip_trailing_zero=False)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def dist_file(project: NormalizedName, pkg: DistributionPackage) -> DistFile | None:
    """DistFile of one listed package, or None when its filename names no release of `project`."""
    name = pkg.filename
    kind, pure, version = FileKind.OTHER, False, pkg.version
    try:
        if name.endswith(".whl"):
            wname, wversion, _, tags = parse_wheel_filename(name)
            kind, version = FileKind.WHEEL, str(wversion)
            pure = all(t.abi == "none" and t.platform == "any" for t in tags)
            if canonicalize_name(wname) != project:
                return None
        elif name.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz")):
            kind = FileKind.SDIST
            sname, sversion = parse_sdist_filename(name)
            version = str(sversion)
            if canonicalize_name(sname) != project:
                return None
    except (InvalidWheelFilename, InvalidSdistFilename):
        # old sdists with non-PEP 440 versions: trust the index's split of the filename
        pass
    if version is None:
        return None
    digests = {k.lower(): v for k, v in pkg.digests.items()}
    meta_digests = {k.lower(): v for k, v in (pkg.metadata_digests or {}).items()}
    return DistFile(
        filename=name,
        url=pkg.url,
        project=project,
        version=release_key(version),
        kind=kind,
        sha256=digests.get("sha256"),
        size=pkg.size,
        yanked=pkg.is_yanked,
        yanked_reason=pkg.yanked_reason or None,
        requires_python=pkg.requires_python or None,
        core_metadata=bool(pkg.has_metadata),
        core_metadata_sha256=meta_digests.get("sha256"),
        upload_time=_iso(pkg.upload_time),
        pure=pure,
    )


#: what pypi-simple raises on a page it cannot read (malformed JSON, missing keys, bad values)
_PAGE_ERRORS = (
    UnsupportedContentTypeError,
    UnsupportedRepoVersionError,
    JSONDecodeError,
    KeyError,
    TypeError,
    ValueError,
)


class IndexClient:
    def __init__(self, fetcher: Fetcher, index_url: str = PYPI_SIMPLE) -> None:
        self.fetcher = fetcher
        self.index_url = index_url if index_url.endswith("/") else index_url + "/"
        #: whether the root page said it is a simple index (PEP 629's repository version, or a
        #: PEP 691 JSON page); None until it was read
        self.root_markers: bool | None = None

    def project_url(self, name: str) -> str:
        return f"{self.index_url}{canonicalize_name(name)}/"

    def _conditional_get(
        self, url: str, etag: str | None, last_modified: str | None
    ) -> tuple[requests.Response, str | None, str | None]:
        """GET with If-None-Match / If-Modified-Since when validators are known; (response, new
        validators)."""
        headers = {"Accept": ACCEPT_JSON_PREFERRED}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        # redirects only within the index's origin: a page from elsewhere is not the index's
        response = self.fetcher.get(
            url, headers=headers, ok=(200, 304), within=self.index_url, max_bytes=MAX_PAGE_BYTES
        )
        return (
            response,
            response.headers.get("ETag") or etag,
            response.headers.get("Last-Modified") or last_modified,
        )

    def list_projects(self) -> list[NormalizedName]:
        """Every project the index root lists, canonicalized and de-duplicated, in index order."""
        names, _, _ = self.list_projects_if_changed()
        assert names is not None  # unconditional: never 304
        return names

    def list_projects_if_changed(
        self, etag: str | None = None, last_modified: str | None = None
    ) -> tuple[list[NormalizedName] | None, str | None, str | None]:
        """(names or None when the root answered 304, new ETag, new Last-Modified)."""
        listing, new_etag, new_modified = self.root_listing(etag, last_modified)
        return (listing.names if listing is not None else None), new_etag, new_modified

    def root_listing(
        self, etag: str | None = None, last_modified: str | None = None
    ) -> tuple[RootListing | None, str | None, str | None]:
        """(the root's listing, or None when it answered 304; new ETag, new Last-Modified)."""
        url = self.index_url
        response, new_etag, new_modified = self._conditional_get(url, etag, last_modified)
        if response.status_code == 304:
            return None, new_etag, new_modified
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type:
            self.root_markers = True
            return _json_root(url, response.content), new_etag, new_modified
        try:
            page = IndexPage.from_response(response)
        except RecursionError as exc:
            raise IndexPageError(
                url, "the page is nested too deep to parse", "page-too-deep"
            ) from exc
        except (*_PAGE_ERRORS, AttributeError, AssertionError, OverflowError) as exc:
            raise IndexPageError(url, f"{type(exc).__name__}: {exc}"[:500]) from exc
        self.root_markers = page.repository_version is not None
        names = list(dict.fromkeys(canonicalize_name(p) for p in page.projects))
        return RootListing(names), new_etag, new_modified

    def project_page(
        self, name: str, etag: str | None = None, last_modified: str | None = None
    ) -> PageAnswer:
        """The project's page; conditional on `etag` / `last_modified` when given. 404 ->
        FetchError."""
        url = self.project_url(name)
        response, new_etag, new_modified = self._conditional_get(url, etag, last_modified)
        problems: list[tuple[str, str]] = []
        serial_header = response.headers.get("X-PyPI-Last-Serial")
        serial = parse_serial(serial_header) if serial_header is not None else None
        if serial_header is not None and serial is None:
            problems.append(("bad-serial", f"X-PyPI-Last-Serial {serial_header[:40]!r}"))
        if response.status_code == 304:
            return PageAnswer(None, new_etag, new_modified, serial, response.url, tuple(problems))
        # relative links are relative to where the page came from, after redirects
        page = parse_project_page(
            name, response.content, response.headers.get("Content-Type", "text/html"), response.url
        )
        if serial is None and page.last_serial is not None:
            serial = parse_serial(str(page.last_serial))
            if serial is None:
                problems.append(("bad-serial", f"_last-serial {str(page.last_serial)[:40]!r}"))
        return PageAnswer(page, new_etag, new_modified, serial, response.url, tuple(problems))


def _json_root(url: str, body: bytes) -> RootListing:
    """A PEP 691 JSON root: its project names, and their `_last-serial` where every project has a
    readable one (a root where some lack it gives no serials: nothing could be trusted to say
    what is unchanged)."""
    import json

    try:
        data = json.loads(body)
    except RecursionError as exc:
        raise IndexPageError(url, "the page is nested too deep to parse", "page-too-deep") from exc
    except (JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexPageError(url, f"not JSON: {exc}"[:500]) from exc
    meta = data.get("meta") if isinstance(data, dict) else None
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(version, str) or version.split(".")[0] != "1":
        raise IndexPageError(url, f"a JSON root of an unsupported API version {version!r}"[:300])
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, list) or not all(
        isinstance(p, dict) and isinstance(p.get("name"), str) for p in projects
    ):
        raise IndexPageError(url, "a JSON root without a list of projects with names")
    names: dict[NormalizedName, int | None] = {}
    for entry in projects:
        raw = entry.get("_last-serial")
        serial = parse_serial(str(raw)) if isinstance(raw, int | str) else None
        name = canonicalize_name(entry["name"])
        previous = names.get(name)
        # a name listed twice (two spellings) changed when the later of the two did
        names[name] = None if serial is None else max(serial, previous or 0)
    raw_serial = meta.get("_last-serial") if isinstance(meta, dict) else None
    index_serial = parse_serial(str(raw_serial)) if isinstance(raw_serial, int | str) else None
    if names and all(v is not None for v in names.values()):
        serials = {name: int(v) for name, v in names.items() if v is not None}
        return RootListing(list(names), serials, index_serial)
    return RootListing(list(names), None, index_serial)


def lists_files(client: IndexClient, names: list[NormalizedName], probes: int = 3) -> bool:
    """Whether any of the first `probes` listed names has a project page listing a file of it:
    what tells an index without markers from a directory listing or a web site."""
    for name in names[:probes]:
        try:
            answer = client.project_page(name)
        except CrawlerError:
            continue
        if answer.page is not None and group_releases(name, answer.page):
            return True
    return False


def parse_project_page(project: str, body: bytes, content_type: str, url: str) -> ProjectPage:
    """A project page's bytes -> ProjectPage (pypi-simple's parsers). Raises only IndexPageError."""
    response = requests.Response()
    response._content, response.status_code, response.url = body, 200, url
    response.headers["Content-Type"] = content_type
    try:
        return ProjectPage.from_response(response, project)
    except RecursionError as exc:  # JSON nested deeper than the parser's recursion allows
        raise IndexPageError(url, "the page is nested too deep to parse", "page-too-deep") from exc
    except (
        *_PAGE_ERRORS,
        AttributeError,
        AssertionError,
        OverflowError,
    ) as exc:
        raise IndexPageError(url, f"{type(exc).__name__}: {exc}"[:500]) from exc


@dataclass(frozen=True)
class FileProblem:
    """Something about one listed file that could not be used as given."""

    reason: str  # duplicate-file | size-out-of-range
    detail: str
    filename: str


def group_releases(
    project: NormalizedName, page: ProjectPage, problems: list[FileProblem] | None = None
) -> dict[str, list[DistFile]]:
    """Files of a page grouped by release key; files that name another project are dropped. A
    filename listed twice keeps its first entry; a size out of range is dropped (unknown). Each is
    added to `problems`."""
    problems = [] if problems is None else problems
    releases: dict[str, list[DistFile]] = {}
    seen: set[str] = set()
    for pkg in page.packages:
        df = dist_file(project, pkg)
        if df is None:
            continue
        if df.filename in seen:
            problems.append(FileProblem("duplicate-file", "listed more than once", df.filename))
            continue
        seen.add(df.filename)
        if df.size is not None and not 0 <= df.size <= MAX_INT64:
            problems.append(
                FileProblem("size-out-of-range", f"size {str(df.size)[:40]}", df.filename)
            )
            df = replace(df, size=None)
        releases.setdefault(df.version, []).append(df)
    # PEP 700 pages list versions that may have no files left; keep them visible as empty releases
    for version in page.versions or []:
        releases.setdefault(release_key(version), [])
    return releases
