"""A simple index on loopback whose projects misbehave, each in its own way, beside honest ones.

Every project is a `Case`: how its page and files are served, and what a crawl must end with (the
page's status, the state of its releases, the failures recorded by stage and reason, and for the
honest ones their exact dependencies). Pages come as PEP 503 HTML or PEP 691 JSON, with and
without PEP 658 files; files are real wheels and sdists (`depgraph.demo.distbuild`), served with
byte ranges, or broken on purpose. A second server on another port is "another host": off-index
redirects go there, and so do files an index may legitimately host elsewhere.

    with HostileIndex(tmp_path) as index:  index.url -> http://127.0.0.1:PORT/simple/
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import html
import io
import json
import re
import struct
import tarfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from depgraph.demo.distbuild import DistSpec, write_sdist, write_wheel

__all__ = ["CASES", "Case", "HostileIndex"]

JSON = "application/vnd.pypi.simple.v1+json"


@dataclass
class Case:
    """One project. `page` builds its page from (index, files); `files` are name -> bytes; `serve`
    overrides how one file is answered. Expectations: page status, releases' states, failures as
    {"stage:reason"}, and (honest projects) the base requirements' names."""

    status: str = "ok"
    states: set[str] = field(default_factory=lambda: {"known"})
    failures: set[str] = field(default_factory=set)
    requires: set[str] | None = None
    build: Callable[[HostileIndex, str], None] | None = None


class Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.agents.add(self.headers.get("User-Agent", ""))
        route = self.server.routes.get(self.path.split("?")[0])
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        # the crawler giving up on an answer (a deadline, a cap) is what it should do
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    def do_HEAD(self) -> None:
        route = self.server.routes.get(self.path)
        body = self.server.bodies.get(self.path)
        if route is None or body is None:
            self._send(404, b"", "text/plain")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Callable[[Handler], None]]
    bodies: dict[str, bytes]
    #: the User-Agent headers requests came with
    agents: set[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a hostile answer is the point, not a server error


def ranged(body: bytes, total: int | None = None) -> Callable[[Handler], None]:
    """Bytes with Range support (explicit and suffix); `total` lies about the whole size."""

    def answer(h: Handler) -> None:
        spec = h.headers.get("Range")
        if not spec:
            h._send(200, body, "application/octet-stream")
            return
        first, _, last = spec.removeprefix("bytes=").partition("-")
        if first == "":
            start, stop = max(0, len(body) - int(last)), len(body) - 1
        else:
            start, stop = int(first), min(int(last or len(body) - 1), len(body) - 1)
        claimed = len(body) if total is None else total
        h._send(
            206,
            body[start : stop + 1],
            "application/octet-stream",
            {"Content-Range": f"bytes {start}-{stop}/{claimed}"},
        )

    return answer


def fixed(
    body: bytes,
    content_type: str = "text/html",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Callable[[Handler], None]:
    def answer(h: Handler) -> None:
        h._send(status, body, content_type, headers)

    return answer


def trickle(body: bytes, headers_too: bool = False) -> Callable[[Handler], None]:
    """One byte a second (of the status line and headers too, with `headers_too`)."""

    def answer(h: Handler) -> None:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        h.close_connection = True
        if not headers_too:
            h.wfile.write(head)
            h.wfile.flush()
            head = b""
        for byte in head + body:
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(1.0)

    return answer


def redirect(location: str) -> Callable[[Handler], None]:
    def answer(h: Handler) -> None:
        h._send(302, b"", "text/plain", {"Location": location})

    return answer


def cut_short(body: bytes) -> Callable[[Handler], None]:
    """Promises the whole body, sends half of it, closes."""

    def answer(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[: len(body) // 2])
        h.close_connection = True

    return answer


def wheel(
    name: str,
    requires: list[str] | None = None,
    metadata: bytes | None = None,
    filler: int = 40_000,
    version: str = "1.0",
) -> tuple[str, bytes, bytes]:
    """(filename, wheel bytes, METADATA bytes); `metadata` replaces the METADATA member."""
    with _TMP_LOCK:
        path = write_wheel(DistSpec(name, version, requires or [], filler=filler), _TMP[0])
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        member = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        original = zf.read(member)
    if metadata is None:
        return path.name, data, original
    return path.name, replace_member(data, member, metadata), metadata


def replace_member(
    data: bytes, member: str, content: bytes, extra: dict[str, bytes] | None = None
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = content if info.filename == member else src.read(info)
            dst.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED)
        for name, body in (extra or {}).items():
            dst.writestr(name, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def sdist(name: str, requires: list[str], pkg_info: bytes | None = None) -> tuple[str, bytes]:
    with _TMP_LOCK:
        path = write_sdist(DistSpec(name, "1.0", requires), _TMP[0], "static")
    if pkg_info is None:
        return path.name, path.read_bytes()
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(path.read_bytes())) as src,
        tarfile.open(fileobj=out, mode="w:gz") as dst,
    ):
        for member in src.getmembers():
            body = pkg_info if member.name.endswith("/PKG-INFO") else src.extractfile(member).read()  # type: ignore[union-attr]
            member.size = len(body)
            dst.addfile(member, io.BytesIO(body))
    return path.name, out.getvalue()


def gzip_bomb_sdist(name: str, inflated: int) -> tuple[str, bytes]:
    """A .tar.gz whose first member inflates to `inflated` zero bytes, PKG-INFO after it."""
    out = io.BytesIO()
    base = f"{name.replace('-', '_')}-1.0"
    with (
        gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz,
        tarfile.open(fileobj=gz, mode="w|") as tar,
    ):
        member = tarfile.TarInfo(f"{base}/zeros.bin")
        member.size = inflated
        tar.addfile(member, _Zeros(inflated))
        info = f"Metadata-Version: 2.2\nName: {name}\nVersion: 1.0\n\n".encode()
        member = tarfile.TarInfo(f"{base}/PKG-INFO")
        member.size = len(info)
        tar.addfile(member, io.BytesIO(info))
    return f"{base}.tar.gz", out.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n

    def readable(self) -> bool:
        return True


def lying_directory(data: bytes) -> bytes:
    """The wheel with its end-of-central-directory record claiming a 3 GiB central directory."""
    at = data.rfind(b"PK\x05\x06")
    record = bytearray(data[at:])
    struct.pack_into("<I", record, 12, 0xC0000000)  # size of the central directory
    return data[:at] + bytes(record)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_TMP: list[Path] = []
_TMP_LOCK = threading.Lock()


# --- pages ----------------------------------------------------------------------------------


def html_page(files: list[dict[str, Any]]) -> bytes:
    links = []
    for f in files:
        href = f["url"] + (f"#sha256={f['sha256']}" if f.get("sha256") else "")
        meta = ""
        if f.get("core_metadata"):
            value = f["core_metadata"]
            digest = "sha256=" + value if isinstance(value, str) else "true"
            meta = f' data-dist-info-metadata="{digest}"'
        links.append(f'<a href="{html.escape(href)}"{meta}>{html.escape(f["filename"])}</a><br>')
    return (
        "<!DOCTYPE html><html><head>"
        '<meta name="pypi:repository-version" content="1.0"></head><body>'
        + "\n".join(links)
        + "</body></html>"
    ).encode()


def json_page(name: str, files: list[dict[str, Any]], **extra: Any) -> bytes:
    entries = []
    for f in files:
        entry: dict[str, Any] = {
            "filename": f["filename"],
            "url": f["url"],
            "hashes": {"sha256": f["sha256"]} if f.get("sha256") else {},
        }
        if f.get("core_metadata"):
            value = f["core_metadata"]
            entry["core-metadata"] = {"sha256": value} if isinstance(value, str) else True
        for key in ("size", "upload-time", "yanked"):
            if key in f:
                entry[key] = f[key]
        entries.append(entry)
    body = {"meta": {"api-version": "1.1"}, "name": name, "files": entries, **extra}
    return json.dumps(body).encode()


class HostileIndex:
    """The index (and "another host") on loopback, serving every case in CASES."""

    def __init__(self, tmp: Path, cases: dict[str, Case] | None = None) -> None:
        self.tmp = tmp
        self.cases = CASES if cases is None else cases
        self.main = _Server(("127.0.0.1", 0), Handler)
        self.other = _Server(("127.0.0.1", 0), Handler)
        self.main.agents, self.other.agents = set(), set()
        for server in (self.main, self.other):
            server.routes, server.bodies = {}, {}
        self.url = f"http://127.0.0.1:{self.main.server_address[1]}/simple/"
        self.base = f"http://127.0.0.1:{self.main.server_address[1]}"
        self.elsewhere = f"http://127.0.0.1:{self.other.server_address[1]}"

    # what a case's builder uses

    def file(
        self,
        body: bytes,
        name: str,
        answer: Callable[[Handler], None] | None = None,
        on_other: bool = False,
    ) -> str:
        server = self.other if on_other else self.main
        path = f"/files/{name}"
        server.routes[path] = answer or ranged(body)
        server.bodies[path] = body
        return (self.elsewhere if on_other else self.base) + path

    def user_agents(self) -> set[str]:
        """The User-Agent headers the index was asked with."""
        return set(self.main.agents)

    def page(self, project: str, answer: Callable[[Handler], None]) -> None:
        self.main.routes[f"/simple/{project}/"] = answer

    def __enter__(self) -> HostileIndex:
        _TMP.append(self.tmp / "dists")
        (self.tmp / "dists").mkdir(exist_ok=True)
        for name, case in self.cases.items():
            assert case.build is not None, name
            case.build(self, name)
        root = "".join(f'<a href="{n}/">{n}</a>\n' for n in self.cases)
        self.main.routes["/simple/"] = fixed(
            (
                '<html><head><meta name="pypi:repository-version" content="1.0"></head><body>'
                + root
                + "</body></html>"
            ).encode()
        )
        for server in (self.main, self.other):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self.main, self.other):
            server.shutdown()
            server.server_close()
        _TMP.pop()


# --- the cases --------------------------------------------------------------------------------


def honest(kind: str, requires: list[str], **how: Any) -> Case:
    """A well-behaved project: a wheel listed as `kind` (html | json), PEP 658 with `pep658`."""

    def build(index: HostileIndex, name: str) -> None:
        filename, data, meta = wheel(name, requires)
        answer = fixed(data) if how.get("no_ranges") else None
        url = index.file(data, filename, answer, on_other=bool(how.get("elsewhere")))
        if how.get("redirected_file"):
            url = index.file(b"", "moved-" + filename, redirect(url))
        entry: dict[str, Any] = {"filename": filename, "url": url, "sha256": sha(data)}
        if how.get("pep658"):
            index.file(meta, filename + ".metadata", fixed(meta, "text/plain"))
            entry["core_metadata"] = sha(meta)
        page = (
            json_page(name, [entry], **how.get("extra", {}))
            if kind == "json"
            else html_page([entry])
        )
        answer_page = fixed(page, JSON if kind == "json" else "text/html")
        if how.get("moved_page"):
            index.page(name + "-moved", answer_page)
            index.page(name, redirect(f"{index.base}/simple/{name}-moved/"))
        else:
            index.page(name, answer_page)

    # the base install's requirements (not an extra's), by name
    base = {
        re.split(r"[\s;<>=!~\[]", r, maxsplit=1)[0].lower() for r in requires if "extra ==" not in r
    }
    return Case(requires=base, build=build)


def one_wheel(
    page_kind: str = "json",
    requires: list[str] | None = None,
    metadata: bytes | None = None,
    entry_changes: dict[str, Any] | None = None,
    answer: Callable[[bytes], Callable[[Handler], None]] | None = None,
    metadata_file: bytes | bool | None = False,
    page_answer: Callable[[bytes], Callable[[Handler], None]] | None = None,
    data_change: Callable[[bytes], bytes] | None = None,
    twice: bool = False,
    **expect: Any,
) -> Case:
    """A project of one wheel, with one thing about it changed; `expect` gives the outcome."""

    def build(index: HostileIndex, name: str) -> None:
        filename, data, meta = wheel(name, requires or ["attrs"], metadata)
        if data_change is not None:
            data = data_change(data)
        url = index.file(data, filename, answer(data) if answer else None)
        entry: dict[str, Any] = {"filename": filename, "url": url, "sha256": sha(data)}
        if page_kind == "json":
            entry["size"] = len(data)  # as PyPI lists it
        if metadata_file is not False:
            listed = metadata_file if isinstance(metadata_file, bytes) else meta
            if metadata_file is not None:  # None: listed, but the index answers 404
                index.file(listed, filename + ".metadata", fixed(listed, "text/plain"))
            entry["core_metadata"] = sha(listed)
        entry.update(entry_changes or {})
        entries = [entry, entry] if twice else [entry]
        page = json_page(name, entries) if page_kind == "json" else html_page(entries)
        kind = JSON if page_kind == "json" else "text/html"
        index.page(name, page_answer(page) if page_answer else fixed(page, kind))

    return Case(build=build, **expect)


def page_only(
    answer: Callable[[HostileIndex, str], Callable[[Handler], None]], **expect: Any
) -> Case:
    def build(index: HostileIndex, name: str) -> None:
        index.page(name, answer(index, name))

    return Case(build=build, **{"status": "failed", "states": set(), **expect})


def deep_json(index: HostileIndex, name: str) -> Callable[[Handler], None]:
    return fixed(b'{"files": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", JSON)


def bomb_page(index: HostileIndex, name: str) -> Callable[[Handler], None]:
    body = gzip.compress(b"\0" * (80 * 1024 * 1024), compresslevel=9)  # 80 MiB over the 64 MiB
    return fixed(body, JSON, headers={"Content-Encoding": "gzip"})


def sdist_case(
    requires: list[str], pkg_info: bytes | None = None, bomb: bool = False, **expect: Any
) -> Case:
    def build(index: HostileIndex, name: str) -> None:
        if bomb:
            filename, data = gzip_bomb_sdist(name, 1100 * 1024 * 1024)
        else:
            filename, data = sdist(name, requires, pkg_info)
        url = index.file(data, filename)
        index.page(
            name,
            fixed(json_page(name, [{"filename": filename, "url": url, "sha256": sha(data)}]), JSON),
        )

    return Case(build=build, **expect)


FAILED = {"failed"}


def _metadata(name: str, version: str = "1.0", extra: str = "") -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}\n".encode()


CASES: dict[str, Case] = {
    # honest projects: their exact base requirements
    "honest-json-pep658": honest("json", ["requests>=2"], pep658=True),
    "honest-html-ranges": honest("html", ["attrs", 'colorama; sys_platform == "win32"']),
    "honest-json-ranges": honest("json", ["idna", 'pysocks; extra == "socks"']),
    "honest-html-pep658": honest("html", ["six"], pep658=True),
    "honest-no-ranges": honest("html", ["click>=7"], no_ranges=True),
    "honest-moved-page": honest("json", ["rich"], moved_page=True),
    "honest-file-elsewhere": honest("html", ["jinja2"], elsewhere=True),
    "honest-file-redirected": honest("json", ["markupsafe"], redirected_file=True),
    "honest-upload-times": honest("json", ["packaging"], pep658=True, extra={"versions": ["1.0"]}),
    # hostile pages
    "hostile-deep-json": page_only(deep_json, failures={"page:page-too-deep"}),
    "hostile-not-json": page_only(
        lambda i, n: fixed(b"{not json", JSON), failures={"page:bad-index-page"}
    ),
    "hostile-always-500": page_only(
        lambda i, n: fixed(b"oops", status=500), failures={"page:http-500"}
    ),
    "hostile-gone": page_only(
        lambda i, n: fixed(b"no", status=404), status="missing", failures={"page:http-404"}
    ),
    "hostile-trickle-page": page_only(
        lambda i, n: trickle(b"<html>" + b" " * 60 + b"</html>"), failures={"page:deadline"}
    ),
    "hostile-trickle-headers": page_only(
        lambda i, n: trickle(b"<html></html>", headers_too=True), failures={"page:deadline"}
    ),
    "hostile-redirect-off-index": page_only(
        lambda i, n: redirect(f"{i.elsewhere}/simple/{n}/"),
        failures={"page:redirect-off-index"},
    ),
    "hostile-redirect-file-scheme": page_only(
        lambda i, n: redirect("file:///etc/passwd"), failures={"page:scheme-refused"}
    ),
    "hostile-page-too-large": page_only(
        lambda i, n: _huge_length(),
        failures={"page:body-too-large"},
    ),
    "hostile-gzip-bomb-page": page_only(bomb_page, failures={"page:body-too-large"}),
    "hostile-files-not-a-list": page_only(
        lambda i, n: fixed(b'{"meta": {"api-version": "1.1"}, "name": "x", "files": "x"}', JSON),
        failures={"page:bad-index-page"},
    ),
    "hostile-bad-upload-time": one_wheel(
        entry_changes={"upload-time": "the day after tomorrow"},
        status="failed",
        states=set(),
        failures={"page:bad-index-page"},
    ),
    # page values that do not fit: recorded, the rest of the page used
    "hostile-serial-superscript": one_wheel(
        page_answer=lambda page: fixed(page, JSON, headers={"X-PyPI-Last-Serial": "²"}),
        failures={"page:bad-serial"},
    ),
    "hostile-serial-huge": one_wheel(
        page_answer=lambda page: fixed(page, JSON, headers={"X-PyPI-Last-Serial": str(10**30)}),
        failures={"page:bad-serial"},
    ),
    "hostile-size-huge": one_wheel(
        entry_changes={"size": 2**70}, failures={"page:size-out-of-range"}
    ),
    "hostile-size-negative": one_wheel(
        entry_changes={"size": -5}, failures={"page:size-out-of-range"}
    ),
    "hostile-duplicate-file": one_wheel(twice=True, failures={"page:duplicate-file"}),
    # files
    "hostile-range-total-lie": one_wheel(
        answer=lambda data: ranged(data, total=512 * 1024**3),
        entry_changes={"size": None},
        failures={"wheel:range-contradicts-size"},
    ),
    "hostile-range-size-lie": one_wheel(
        answer=lambda data: ranged(data, total=len(data) + 1000),
        failures={"wheel:range-contradicts-size"},
    ),
    "hostile-lying-zip-directory": one_wheel(
        data_change=lying_directory, states=FAILED, failures={"wheel:bad-archive"}
    ),
    "hostile-metadata-too-large": one_wheel(
        metadata=_metadata("hostile-metadata-too-large") + b"X" * (20 * 1024 * 1024),
        states=FAILED,
        failures={"wheel:metadata-too-large"},
    ),
    "hostile-trickle-wheel": one_wheel(
        answer=lambda data: trickle(data), states=FAILED, failures={"wheel:deadline"}
    ),
    "hostile-truncated-wheel": one_wheel(
        answer=lambda data: cut_short(data), states=FAILED, failures={"wheel:fetch-failed"}
    ),
    "hostile-not-a-zip": one_wheel(
        data_change=lambda data: b"PK garbage" * 500, states=FAILED, failures={"wheel:bad-archive"}
    ),
    "hostile-two-dist-infos": one_wheel(
        data_change=lambda data: replace_member(
            data, "", b"", {"other-1.0.dist-info/METADATA": _metadata("other")}
        ),
        states=FAILED,
        failures={"wheel:bad-archive"},
    ),
    "hostile-redirect-loop": one_wheel(
        answer=lambda data: _self_redirect(), states=FAILED, failures={"wheel:too-many-redirects"}
    ),
    "hostile-file-scheme": one_wheel(
        entry_changes={"url": "file:///etc/passwd"},
        states=FAILED,
        failures={"wheel:scheme-refused"},
    ),
    "hostile-ftp-scheme": one_wheel(
        entry_changes={"url": "ftp://127.0.0.1/x.whl"},
        states=FAILED,
        failures={"wheel:scheme-refused"},
    ),
    # metadata
    "hostile-metadata-names-another": one_wheel(
        metadata_file=_metadata("requests", "99.0", "Requires-Dist: evil\n"),
        states=FAILED,
        failures={"metadata-file:metadata-identity"},
    ),
    "hostile-wheel-names-another": one_wheel(
        metadata=_metadata("requests", "1.0", "Requires-Dist: evil\n"),
        states=FAILED,
        failures={"wheel:metadata-identity"},
    ),
    "hostile-version-lie": one_wheel(
        metadata=_metadata("hostile-version-lie", "99.0", "Requires-Dist: evil\n"),
        states=FAILED,
        failures={"wheel:metadata-identity"},
    ),
    "hostile-metadata-404": one_wheel(metadata_file=None, failures={"metadata-file:http-404"}),
    "hostile-metadata-hash-mismatch": one_wheel(
        metadata_file=_metadata("hostile-metadata-hash-mismatch", "1.0", "Requires-Dist: evil\n"),
        entry_changes={"core_metadata": "0" * 64},
        failures={"metadata-file:hash-mismatch"},
    ),
    "hostile-bad-requirement": one_wheel(
        metadata=_metadata(
            "hostile-bad-requirement", "1.0", "Requires-Dist: attrs\nRequires-Dist: ((not one\n"
        ),
        failures={"metadata:bad-requirement"},
    ),
    "hostile-not-utf8": one_wheel(
        metadata=_metadata("hostile-not-utf8", "1.0", "Summary: caf").replace(b"caf", b"caf\xe9")
        + b"Requires-Dist: attrs\n",
        failures={"metadata:non-utf8"},
    ),
    # sdists
    "hostile-sdist-names-another": sdist_case(
        ["attrs"],
        pkg_info=b"Metadata-Version: 2.2\nName: requests\nVersion: 99.0\nRequires-Dist: evil\n\n",
        states=FAILED,
        failures={"sdist:metadata-identity"},
    ),
    "hostile-sdist-gzip-bomb": sdist_case(
        [], bomb=True, states=FAILED, failures={"sdist:decompression-bomb"}
    ),
}


def _huge_length() -> Callable[[Handler], None]:
    """Declares a 100 MiB body (over the 64 MiB a page may have), sends a little, closes."""

    def answer(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(100 * 1024 * 1024))
        h.end_headers()
        h.wfile.write(b"<html>")
        h.close_connection = True

    return answer


def _self_redirect() -> Callable[[Handler], None]:
    def answer(h: Handler) -> None:
        h._send(302, b"", "text/plain", {"Location": h.path})

    return answer
