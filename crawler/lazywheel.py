"""Read one member of a remote wheel with HTTP range requests (the idea of pip's lazy_wheel).

`zipfile` reads the end-of-central-directory record, the central directory and one local member;
`RemoteZipFile` serves those reads from a tail fetched up front plus ranged GETs for what is
missing,
so a wheel's METADATA usually costs one or two small requests instead of the whole file.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from .archives import read_capped
from .errors import ArchiveError, FetchError
from .fetch import Fetcher, verify_sha256

__all__ = ["RangeUnusable", "WheelMetadata", "metadata_member", "read_wheel_metadata"]

#: First read: the last TAIL bytes hold the central directory and, in most wheels, METADATA too.
TAIL = 16 * 1024
MIN_CHUNK = 8 * 1024
#: the largest total a range answer may claim when the index lists no size (the largest wheels on
#: PyPI are a few GB); a claim above it, or above the listed size, is not trusted
MAX_RANGE_TOTAL = 16 * 1024**3
#: the most one read of the remote zip may ask for: METADATA and the central directory are small;
#: a zip record that asks for more is lying, and the verified whole download takes over
MAX_RANGE_READ = 64 * 1024 * 1024
#: METADATA and entry_points.txt, inflated
MAX_METADATA = 16 * 1024 * 1024
MAX_ENTRY_POINTS = 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass(frozen=True)
class WheelMetadata:
    data: bytes
    member: str
    #: "wheel-range" when read with ranges (the wheel's digest is not checked: we never hold it
    #: whole), "wheel-download" when the whole file was read and its digest verified.
    method: str
    #: why ranges were given up for the whole file, when they were
    note: str | None = None
    #: the wheel's `*.dist-info/entry_points.txt` (empty when it has none)
    entry_points: bytes = b""
    #: the failure reason that made ranges give way to the whole file, where one did
    fallback: str | None = None


class RangeUnusable(ArchiveError):
    """A range answer that cannot be used: no or a malformed Content-Range, a short body, a server
    that stops honouring ranges. The whole file is downloaded instead; only a total that
    contradicts the listed size (or is beyond belief) is recorded, as `range-contradicts-size`."""

    reason = "range-unusable"


class RemoteZipFile(io.RawIOBase):
    """A seekable, read-only file whose bytes come from ranged GETs, cached as fetched spans."""

    def __init__(self, fetcher: Fetcher, url: str, size: int, first: tuple[int, bytes]) -> None:
        self.fetcher, self.url, self.size = fetcher, url, size
        self.spans: list[tuple[int, bytes]] = [first]
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self.size - self.pos
        end = min(self.pos + n, self.size)
        if end - self.pos > MAX_RANGE_READ:
            raise RangeUnusable(
                self.url, f"the zip asks to read {end - self.pos} bytes at once", "range-unusable"
            )
        if end <= self.pos:
            return b""
        data = self._cached(self.pos, end)
        if data is None:
            start = self.pos
            stop = min(self.size, max(end, start + MIN_CHUNK))
            response = self.fetcher.get_range(self.url, start, stop - 1)
            if response.status_code != 206:
                raise RangeUnusable(self.url, "server stopped honouring range requests")
            self.spans.append((start, response.content))
            data = self._cached(self.pos, end)
            if data is None:
                raise RangeUnusable(self.url, f"range {start}-{stop - 1} came back short")
        self.pos += len(data)
        return data

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _cached(self, start: int, end: int) -> bytes | None:
        for offset, blob in self.spans:
            if offset <= start and end <= offset + len(blob):
                return blob[start - offset : end - offset]
        return None


def metadata_member(names: list[str]) -> str:
    """The `{name}-{version}.dist-info/METADATA` member: exactly one top-level dist-info."""
    found = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    if len(found) != 1:
        raise ArchiveError("wheel", f"expected one *.dist-info/METADATA, found {len(found)}")
    return found[0]


def _read_member(zf: zipfile.ZipFile, filename: str) -> tuple[str, bytes, bytes]:
    """(METADATA's member name, its bytes, the same dist-info's entry_points.txt or b"")."""
    try:
        member = metadata_member(zf.namelist())
    except ArchiveError as exc:
        raise ArchiveError(filename, exc.detail) from None
    info = zf.getinfo(member)
    if info.file_size > MAX_METADATA:
        raise ArchiveError(
            filename,
            f"METADATA of {info.file_size} bytes is implausibly large",
            "metadata-too-large",
        )
    entry_points = member.rsplit("/", 1)[0] + "/entry_points.txt"
    extra = b""
    if entry_points in zf.namelist() and zf.getinfo(entry_points).file_size <= MAX_ENTRY_POINTS:
        # dist-info sits at the end: usually in the bytes we hold
        with zf.open(entry_points) as stream:
            extra = read_capped(stream, MAX_ENTRY_POINTS, filename, "entry_points.txt")
    # inflated as read, against the cap: the header's declared size may lie
    with zf.open(info) as stream:
        return member, read_capped(stream, MAX_METADATA, filename, "METADATA"), extra


def _first_range(fetcher: Fetcher, url: str, size: int | None) -> requests.Response:
    """The wheel's tail. An explicit range when the size is known (every range-capable server takes
    it), else a suffix range, else (servers that reject suffixes) HEAD for the size, then
    explicit."""
    if size:
        return fetcher.get_range(url, max(0, size - TAIL), size - 1)
    host = urlsplit(url).netloc
    if host not in fetcher.no_suffix_ranges:
        try:
            return fetcher.get_range(url, None, TAIL)
        except FetchError as exc:
            if exc.status not in (400, 416, 501):
                raise
            fetcher.no_suffix_ranges.add(host)  # remembered: later wheels go straight to HEAD
    length = fetcher.head_length(url)
    if not length:
        return fetcher.get(url)  # no size, no suffix ranges: the whole file, verified below
    return fetcher.get_range(url, max(0, length - TAIL), length - 1)


def read_wheel_metadata(
    fetcher: Fetcher,
    url: str,
    filename: str,
    sha256: str | None,
    size: int | None = None,
    whole: bool = False,
) -> WheelMetadata:
    """METADATA of the wheel at `url`: by ranges where the server allows and `whole` is not asked;
    else, and whenever the range path fails, from the whole file, verified against `sha256`."""
    if whole:
        return _from_whole(fetcher.download(url, sha256), url, filename, sha256)
    try:
        first = _first_range(fetcher, url, size)
        if first.status_code != 206:  # the server ignored Range and sent everything
            return _from_whole(first.content, url, filename, sha256)
        return _from_ranges(fetcher, first, url, filename, size)
    except FetchError as exc:
        if exc.status in (404, 410) or exc.reason in ("deadline", "scheme-refused"):
            raise  # gone is gone, and a stalled or refused server would stall or refuse again
        why, reason = str(exc), exc.code
    except ArchiveError as exc:  # a malformed 206, a short range, a zip torn by a bad range
        if exc.reason in ("decompression-bomb", "metadata-too-large"):
            raise  # the whole file holds the same member
        why, reason = exc.detail, exc.reason
    whole_file = fetcher.download(url, sha256)
    note = f"range read failed ({why}); read the whole wheel, verified against its sha256"
    got = _from_whole(whole_file, url, filename, sha256)
    return WheelMetadata(got.data, got.member, got.method, note, got.entry_points, reason)


def _from_ranges(
    fetcher: Fetcher, first: requests.Response, url: str, filename: str, size: int | None
) -> WheelMetadata:
    match = _CONTENT_RANGE.fullmatch(first.headers.get("Content-Range", "").strip())
    if not match:
        raise RangeUnusable(filename, "206 answer without a usable Content-Range")
    start, stop, total = (int(g) for g in match.groups())
    if stop < start or stop >= total:
        raise RangeUnusable(filename, f"Content-Range {start}-{stop}/{total} does not fit the file")
    if size and total != size:
        raise RangeUnusable(
            filename,
            f"Content-Range {start}-{stop}/{total} contradicts the listed size {size}",
            "range-contradicts-size",
        )
    if total > MAX_RANGE_TOTAL:
        raise RangeUnusable(
            filename,
            f"Content-Range claims {total} bytes, over the {MAX_RANGE_TOTAL} trusted",
            "range-contradicts-size",
        )
    if len(first.content) != stop - start + 1:
        raise RangeUnusable(
            filename, f"206 body of {len(first.content)} bytes for {stop - start + 1} asked"
        )
    # unbuffered: a buffered reader would allocate whatever a lying zip record asks for before
    # RemoteZipFile could refuse it (its own spans cache the small reads)
    raw = RemoteZipFile(fetcher, url, total, (start, first.content))
    try:
        with zipfile.ZipFile(raw) as zf:
            member, data, entry_points = _read_member(zf, filename)
    except _ZIP_ERRORS as exc:
        raise ArchiveError(filename, f"not a readable zip: {exc}") from exc
    return WheelMetadata(data, member, "wheel-range", entry_points=entry_points)


def _from_whole(data: bytes, url: str, filename: str, sha256: str | None) -> WheelMetadata:
    verify_sha256(url, data, sha256)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            member, metadata, entry_points = _read_member(zf, filename)
    except _ZIP_ERRORS as exc:
        raise ArchiveError(filename, f"not a readable zip: {exc}") from exc
    return WheelMetadata(metadata, member, "wheel-download", entry_points=entry_points)


_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
    zlib.error,
)
