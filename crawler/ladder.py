"""The metadata ladder: for one release, the cheapest trustworthy source of its dependencies.

1. PEP 658/714 `.metadata` next to a wheel (hash-verified when the index gives a digest);
2. a wheel's `*.dist-info/METADATA`, read with HTTP ranges; when ranges fail in any way (no range
   support, a malformed or short 206, an unreadable zip from them) the whole wheel is downloaded,
   verified against the index's sha256 and read before anything is recorded as failed;
3. an sdist's PKG-INFO when it is metadata >= 2.2 and Requires-Dist is not Dynamic (PEP 643);
4. otherwise `pending-sandbox`: unknown, to be filled in by building the sdist in a sandbox.

A pure-Python wheel is preferred; a release with platform wheels only has each of them read (up to
a cap) and their requirements united, with a note when they disagree.

Each extraction says whether its bytes were hash-verified (`verified`). With `verify_hashes` every
source must be: no range reads, no metadata file without a digest; a file the index gives no
digest for is recorded as `no-index-digest` and not read.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depgraph.core.requirements import Edge
from depgraph.core.schema import DepsState, FailureStage, FileKind
from depgraph.store.rows import DistFile, EntryPoint, Extraction, Failure

from .archives import sdist_pkg_info
from .entrypoints import parse_entry_points
from .errors import ArchiveError, CrawlerError, FetchError
from .fetch import Fetcher
from .lazywheel import read_wheel_metadata
from .metadata import CoreMetadata, parse_core_metadata

__all__ = ["MAX_PLATFORM_WHEELS", "extract_release", "identity_mismatch"]

MAX_PLATFORM_WHEELS = 6

KNOWN = DepsState.KNOWN
PENDING = DepsState.PENDING_SANDBOX
NO_FILES = DepsState.NO_USABLE_FILES
FAILED = DepsState.FAILED


@dataclass(frozen=True)
class MetadataRead:
    data: bytes
    method: str  # pep658 | wheel-range | wheel-download
    verified: bool
    note: str | None = None  # e.g. why ranges were given up for a whole download
    entry_points: bytes | None = None  # entry_points.txt (b"": none); None: not read


def _no_digest(stage: FailureStage, filename: str) -> Failure:
    return Failure(
        stage,
        "no-index-digest",
        "--verify-hashes: the index gives no sha256 for this file",
        filename,
    )


def _failure(stage: FailureStage, filename: str, exc: CrawlerError) -> Failure:
    reason = exc.code if isinstance(exc, FetchError) else exc.reason
    return Failure(stage, reason, str(exc), filename)


def identity_mismatch(
    name: str | None, version: str | None, project: str, release: str
) -> str | None:
    """Why metadata that says `name` `version` is not the release `project` `release` (None when
    it is), as pip checks a download ("metadata has name ... but requested ..."): names compared
    as PEP 503 names, versions as PEP 440 versions (as text where one does not parse)."""
    if not name or canonicalize_name(name) != canonicalize_name(project):
        return f"the metadata names project {name!r}, not {project!r}"
    if not version:
        return "the metadata gives no version"
    try:
        same = Version(version) == Version(release)
    except InvalidVersion:
        same = version.strip().lower() == release.strip().lower()
    if not same:
        return f"the metadata says version {version!r}, not {release!r}"
    return None


def _identity_failure(meta: CoreMetadata, dist: DistFile, stage: FailureStage) -> Failure | None:
    why = identity_mismatch(meta.name, meta.version, dist.project, dist.version)
    return None if why is None else Failure(stage, "metadata-identity", why, dist.filename)


def _metadata_problems(meta: CoreMetadata, filename: str) -> list[Failure]:
    return [Failure(FailureStage.METADATA, p.reason, p.detail, filename) for p in meta.problems]


def wheel_metadata(
    fetcher: Fetcher,
    wheel: DistFile,
    failures: list[Failure],
    verify: bool = False,
    entry_points: bool = False,
) -> MetadataRead | None:
    """Metadata bytes of one wheel via rung 1, then rung 2; failures are appended, None if both
    fail. With `entry_points`, a wheel answered by its PEP 658 file is read for its
    entry_points.txt too (ranges; a failure of that read is recorded, the metadata kept)."""
    if wheel.core_metadata and (wheel.core_metadata_sha256 or not verify):
        try:
            data = fetcher.download(wheel.metadata_url, wheel.core_metadata_sha256)
        except CrawlerError as exc:
            failures.append(_failure(FailureStage.METADATA_FILE, wheel.filename, exc))
        else:
            verified = wheel.core_metadata_sha256 is not None
            points: bytes | None = None
            if entry_points:
                try:
                    points = read_wheel_metadata(
                        fetcher, wheel.url, wheel.filename, wheel.sha256, wheel.size, whole=verify
                    ).entry_points
                except CrawlerError as exc:
                    failures.append(_failure(FailureStage.WHEEL, wheel.filename, exc))
            return MetadataRead(data, "pep658", verified, entry_points=points)
    if verify and not wheel.sha256:
        failures.append(_no_digest(FailureStage.WHEEL, wheel.filename))
        return None
    try:
        got = read_wheel_metadata(
            fetcher, wheel.url, wheel.filename, wheel.sha256, wheel.size, whole=verify
        )
    except CrawlerError as exc:
        failures.append(_failure(FailureStage.WHEEL, wheel.filename, exc))
        return None
    verified = got.method == "wheel-download" and bool(wheel.sha256)
    if got.fallback == "range-contradicts-size":  # a lying server: said, though it was read
        failures.append(Failure(FailureStage.WHEEL, got.fallback, got.note or "", wheel.filename))
    return MetadataRead(got.data, got.method, verified, got.note, got.entry_points)


def _ordered_wheels(files: list[DistFile]) -> tuple[list[DistFile], list[DistFile]]:
    wheels = [f for f in files if f.kind == FileKind.WHEEL]
    # non-yanked first, then files with index-served metadata first, newest filename last-resort
    wheels.sort(key=lambda f: (f.yanked, not f.core_metadata, f.filename))
    return [w for w in wheels if w.pure], [w for w in wheels if not w.pure]


def _entry_points(
    got: MetadataRead, filename: str, failures: list[Failure]
) -> list[EntryPoint] | None:
    if got.entry_points is None:
        return None
    points, problem = parse_entry_points(got.entry_points)
    if problem:
        failures.append(Failure(FailureStage.METADATA, "bad-entry-points", problem, filename))
    return points


def _from_wheels(
    fetcher: Fetcher,
    wheels: list[DistFile],
    failures: list[Failure],
    verify: bool,
    entry_points: bool = False,
) -> Extraction | None:
    """First wheel that yields readable metadata wins."""
    for wheel in wheels:
        got = wheel_metadata(fetcher, wheel, failures, verify, entry_points)
        if got is not None:
            meta = parse_core_metadata(got.data)
            stage = FailureStage.METADATA_FILE if got.method == "pep658" else FailureStage.WHEEL
            wrong = _identity_failure(meta, wheel, stage)
            if wrong is not None:  # another project's metadata: not this release's dependencies
                failures.append(wrong)
                continue
            points = _entry_points(got, wheel.filename, failures)
            return Extraction(
                KNOWN,
                got.method,
                wheel.filename,
                meta.requires_python,
                meta.edges,
                failures + _metadata_problems(meta, wheel.filename),
                got.note,
                verified=got.verified,
                entry_points=points,
            )
    return None


def _from_platform_wheels(
    fetcher: Fetcher,
    wheels: list[DistFile],
    failures: list[Failure],
    verify: bool,
    entry_points: bool = False,
) -> Extraction | None:
    """Union of the requirements of up to MAX_PLATFORM_WHEELS platform wheels."""
    union: dict[tuple[str, str | None], Edge] = {}
    per_wheel: list[frozenset[tuple[str, str | None]]] = []
    first: tuple[DistFile, str, CoreMetadata] | None = None
    problems: list[Failure] = []
    verified = True  # the union is verified only if every wheel in it was
    points: list[EntryPoint] | None = None  # the first wheel's, as the metadata file's
    for wheel in wheels[:MAX_PLATFORM_WHEELS]:
        got = wheel_metadata(fetcher, wheel, failures, verify, entry_points and points is None)
        if got is None:
            continue
        meta = parse_core_metadata(got.data)
        stage = FailureStage.METADATA_FILE if got.method == "pep658" else FailureStage.WHEEL
        wrong = _identity_failure(meta, wheel, stage)
        if wrong is not None:
            failures.append(wrong)
            continue
        if points is None:
            points = _entry_points(got, wheel.filename, failures)
        problems += _metadata_problems(meta, wheel.filename)
        verified = verified and got.verified
        first = first or (wheel, got.method, meta)
        keys = frozenset((e.raw, e.marker) for e in meta.edges)
        per_wheel.append(keys)
        for edge in meta.edges:
            union.setdefault((edge.raw, edge.marker), edge)
    if first is None:
        return None
    note = None
    if len(set(per_wheel)) > 1:
        note = (
            f"platform wheels disagree on Requires-Dist; kept the union of {len(per_wheel)} wheels"
        )
    elif len(wheels) > MAX_PLATFORM_WHEELS:
        note = f"read {MAX_PLATFORM_WHEELS} of {len(wheels)} platform wheels"
    return Extraction(
        KNOWN,
        first[1],
        first[0].filename,
        first[2].requires_python,
        list(union.values()),
        failures + problems,
        note,
        verified=verified,
        entry_points=points,
    )


def _from_sdist(
    fetcher: Fetcher, sdists: list[DistFile], failures: list[Failure], verify: bool
) -> Extraction:
    for sdist in sdists:
        if verify and not sdist.sha256:
            failures.append(_no_digest(FailureStage.SDIST, sdist.filename))
            continue
        try:
            data = fetcher.download(sdist.url, sdist.sha256)
        except CrawlerError as exc:
            failures.append(_failure(FailureStage.SDIST, sdist.filename, exc))
            continue
        try:
            meta = parse_core_metadata(sdist_pkg_info(sdist.filename, data))
        except ArchiveError as exc:
            failures.append(_failure(FailureStage.SDIST, sdist.filename, exc))
            if exc.reason == "decompression-bomb":  # a build would unpack the same bomb
                return Extraction(FAILED, None, sdist.filename, failures=failures, note=exc.detail)
            # no readable PKG-INFO says nothing about the dependencies: a build may still tell
            return Extraction(
                PENDING,
                None,
                sdist.filename,
                None,
                [],
                failures,
                f"PKG-INFO unreadable: {exc.detail}",
            )
        if meta.requires_dist_is_static:
            # the PKG-INFO is the answer: it must be this release's (a build's answer is checked
            # when the build reports it, as pip checks the metadata it builds)
            wrong = _identity_failure(meta, sdist, FailureStage.SDIST)
            if wrong is not None:
                failures.append(wrong)
                continue
            return Extraction(
                KNOWN,
                "sdist-pkg-info",
                sdist.filename,
                meta.requires_python,
                meta.edges,
                failures + _metadata_problems(meta, sdist.filename),
                verified=sdist.sha256 is not None,
            )
        why = (
            f"metadata {meta.metadata_version}: Requires-Dist is Dynamic"
            if "requires-dist" in meta.dynamic
            else f"metadata {meta.metadata_version} < 2.2: PKG-INFO Requires-Dist is not "
            "authoritative"
        )
        return Extraction(PENDING, None, sdist.filename, meta.requires_python, [], failures, why)
    return Extraction(FAILED, failures=failures, note="no sdist could be read")


def extract_release(
    fetcher: Fetcher,
    files: list[DistFile],
    verify_hashes: bool = False,
    entry_points: bool = False,
) -> Extraction:
    """Walk the ladder for one release's files. Never raises for bad input: failures are
    returned. With verify_hashes, only hash-verified bytes are read (see the module's doc)."""
    failures: list[Failure] = []
    pure, platform = _ordered_wheels(files)
    if pure:
        found = _from_wheels(fetcher, pure, failures, verify_hashes, entry_points)
        if found:
            return found
    if platform:
        found = _from_platform_wheels(fetcher, platform, failures, verify_hashes, entry_points)
        if found:
            return found
    sdists = sorted(
        (f for f in files if f.kind == FileKind.SDIST), key=lambda f: (f.yanked, f.filename)
    )
    if sdists:
        return _from_sdist(fetcher, sdists, failures, verify_hashes)
    if failures:
        return Extraction(
            FAILED, failures=failures, note="no wheel could be read and there is no sdist"
        )
    return Extraction(NO_FILES, note="no wheel or sdist (only eggs, installers, or no files)")
