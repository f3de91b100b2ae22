"""Real index servers on loopback for the tests and benchmarks (the demo's pypiserver, and more).

Three real servers are supported: pypiserver (PEP 503 HTML with sha256 fragments, byte ranges),
simple-repository-server (PEP 691 JSON, PEP 658 metadata files), and a static mirror tree
(tests/lib/mirror.py) behind RangeHTTPServer (Range, Last-Modified / If-Modified-Since), each run
as a child process bound to 127.0.0.1 with no fallback to any outside index.
"""

from __future__ import annotations

import shutil
import ssl
import sys
import threading
import time
from pathlib import Path
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import requests
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from depgraph.demo.server import ChildServer, PypiServer, free_port

__all__ = ["ChangelogServer", "IndexServer", "free_port", "layout_per_project"]


STATIC_SERVER = """
import functools, ssl, sys
from http.server import ThreadingHTTPServer
from RangeHTTPServer import RangeRequestHandler

class Handler(RangeRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as any production web server
    # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

handler = functools.partial(Handler, directory=sys.argv[1])
server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler)
if len(sys.argv) > 3:  # TLS: certificate chain and key (PEM)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


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


class IndexServer(ChildServer):
    """`with IndexServer(folder, kind) as index: index.url` -> "http://127.0.0.1:PORT/simple/"."""

    def __init__(
        self,
        folder: Path,
        kind: str = "pypiserver",
        port: int | None = None,
        log: Path | None = None,
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        """tls: (certificate chain, key, the CA that signed it), PEM: HTTPS (static only)."""
        super().__init__(folder, port, log)
        self.kind, self.tls = kind, tls
        if tls is not None:
            self.scheme = "https"

    def ready(self) -> bool:
        verify: str | bool = str(self.tls[2]) if self.tls else True
        return requests.get(self.url, timeout=1, verify=verify).status_code == 200

    def command(self) -> list[str]:
        if self.kind == "pypiserver":
            return PypiServer(self.folder, self.port).command()
        if self.kind == "simple-repository-server":
            by_project = self.folder.parent / f"{self.folder.name}-by-project"
            root = layout_per_project(self.folder, by_project)
            return [
                sys.executable,
                "-m",
                "simple_repository_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                str(root),
            ]
        if self.kind == "static":
            # a static mirror tree (tests/lib/mirror.py) behind a static server with Range and
            # If-Modified-Since
            tls = [str(self.tls[0]), str(self.tls[1])] if self.tls else []
            return [sys.executable, "-c", STATIC_SERVER, str(self.folder), str(self.port), *tls]
        raise ValueError(f"unknown index server {self.kind!r}")


class ChangelogServer:
    """PyPI's XML-RPC changelog methods (changelog_last_serial, changelog_since_serial) on loopback,
    over `rows` of (name, version, timestamp, action, serial) that the caller edits."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        """tls: a server-side context: serve the changelog over HTTPS."""
        self.rows: list[tuple[str, str, int, str, int]] = []
        self.user_agents: list[str] = []
        agents = self.user_agents

        class Handler(SimpleXMLRPCRequestHandler):
            rpc_paths = ("/pypi",)  # where PyPI serves it

            def do_POST(self) -> None:
                agents.append(self.headers.get("User-Agent", ""))
                super().do_POST()

        self.server = SimpleXMLRPCServer(
            ("127.0.0.1", 0), requestHandler=Handler, logRequests=False, allow_none=True
        )
        self.scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.server.register_function(
            lambda: max((r[4] for r in self.rows), default=0), "changelog_last_serial"
        )
        self.server.register_function(
            lambda since: [list(r) for r in self.rows if r[4] > since], "changelog_since_serial"
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/pypi"

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
