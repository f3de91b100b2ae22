"""Serve a folder of distributions as a real index on loopback (demo, tests, benchmarks).

Three real servers are supported: pypiserver (PEP 503 HTML with sha256 fragments, byte ranges),
simple-repository-server (PEP 691 JSON, PEP 658 metadata files), and a static mirror tree
(crawler.mirror) behind RangeHTTPServer (Range, Last-Modified / If-Modified-Since), each run as a
child process bound to 127.0.0.1 with no fallback to any outside index.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import requests
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

__all__ = ["ChangelogServer", "IndexServer", "free_port", "layout_per_project"]


STATIC_SERVER = """
import functools, sys
from http.server import ThreadingHTTPServer
from RangeHTTPServer import RangeRequestHandler

class Handler(RangeRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as any production web server
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, *args):
        pass

handler = functools.partial(Handler, directory=sys.argv[1])
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return canonicalize_name(parse_wheel_filename(filename)[0])
    return canonicalize_name(parse_sdist_filename(filename)[0])


def layout_per_project(flat: Path, out: Path) -> Path:
    """simple-repository-server wants <root>/<project>/<files>: link the flat folder into that."""
    for f in sorted(flat.iterdir()):
        if f.is_file():
            target = out / project_of(f.name) / f.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                shutil.copy2(f, target)
    return out


class IndexServer:
    """`with IndexServer(folder) as index: index.url` -> "http://127.0.0.1:PORT/simple/"."""

    def __init__(self, folder: Path, kind: str = "pypiserver", port: int | None = None,
                 log: Path | None = None) -> None:
        self.folder, self.kind = Path(folder), kind
        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def command(self) -> list[str]:
        if self.kind == "pypiserver":
            return [sys.executable, "-m", "pypiserver", "run", "--host", "127.0.0.1", "--port",
                    str(self.port), "--disable-fallback", "--hash-algo", "sha256",
                    "-a", ".", "-P", ".", str(self.folder)]
        if self.kind == "simple-repository-server":
            root = layout_per_project(self.folder, self.folder.parent / f"{self.folder.name}-by-project")
            return [sys.executable, "-m", "simple_repository_server", "--host", "127.0.0.1",
                    "--port", str(self.port), str(root)]
        if self.kind == "static":
            # a static mirror tree (crawler.mirror) behind a static server with Range + If-Modified-Since
            return [sys.executable, "-c", STATIC_SERVER, str(self.folder), str(self.port)]
        raise ValueError(f"unknown index server {self.kind!r}")

    def start(self) -> IndexServer:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}; see {self.log}")
            try:
                if requests.get(self.url, timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.kind} did not answer on {self.url} within 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class ChangelogServer:
    """PyPI's XML-RPC changelog methods (changelog_last_serial, changelog_since_serial) on loopback,
    over `rows` of (name, version, timestamp, action, serial) that the caller edits."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, int, str, int]] = []

        class Handler(SimpleXMLRPCRequestHandler):
            rpc_paths = ("/pypi",)  # where PyPI serves it

        self.server = SimpleXMLRPCServer(("127.0.0.1", 0), requestHandler=Handler, logRequests=False, allow_none=True)
        self.server.register_function(lambda: max((r[4] for r in self.rows), default=0), "changelog_last_serial")
        self.server.register_function(lambda since: [list(r) for r in self.rows if r[4] > since], "changelog_since_serial")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/pypi"

    def add(self, name: str, action: str) -> int:
        serial = max((r[4] for r in self.rows), default=0) + 1
        self.rows.append((name, "", int(time.time()), action, serial))
        return serial

    def __enter__(self) -> ChangelogServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
