"""A raw TCP server on loopback that misbehaves below HTTP: resets and truncated bodies.

pytest-httpserver covers faults expressible as HTTP answers; these are not. Bounded: it serves until
stopped, each connection handled once, in a daemon thread.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class RawFaultServer:
    """mode "reset": accept and close with RST. mode "truncate": promise 1000 bytes, send 10,
    close."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    if self.mode == "reset":
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    else:
                        conn.sendall(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                            b"Content-Length: 1000\r\nConnection: close\r\n\r\n0123456789"
                        )
                except OSError:
                    pass

    def __enter__(self) -> RawFaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()


class FlakyMirror:
    """A static mirror tree (tests/mirror.py) on loopback that misbehaves the way CDNs and proxies
    do, below and within HTTP:

    - the first answer on every path is cut: the full Content-Length is promised, half the body
      sent, the connection closed (pages, range reads, metadata files and downloads alike);
    - a range request for a file named in `malformed_206` gets a 206 whose Content-Range lies
      outside the file; one named in `short_206` a 206 with fewer bytes than it says;
    - otherwise Range (explicit and suffix) is honoured, as any static web server does.

    Every request's path and User-Agent is recorded. `cut_once=False` serves cleanly."""

    def __init__(
        self,
        root: Path,
        malformed_206: set[str] | None = None,
        cut_once: bool = True,
        tls: ssl.SSLContext | None = None,
        short_206: set[str] | None = None,
    ) -> None:
        self.root, self.malformed_206 = root, malformed_206 or set()
        self.short_206 = short_206 or set()
        self.cut_once = cut_once
        self.cut: set[str] = set()
        #: (method, path, User-Agent, Range header or "")
        self.requests: list[tuple[str, str, str, str]] = []
        self._lock = threading.Lock()
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                mirror.answer(self, head=True)

            def do_GET(self) -> None:
                mirror.answer(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}/simple/"

    def answer(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlsplit(h.path).path)
        with self._lock:
            self.requests.append(
                (h.command, path, h.headers.get("User-Agent", ""), h.headers.get("Range", ""))
            )
            cut = self.cut_once and not head and path not in self.cut
            if cut:
                self.cut.add(path)
        local = self.root / path.lstrip("/")
        content_type = "application/octet-stream"
        if local.is_dir():  # a simple-API page: JSON (PEP 691) when asked for and present
            wants_json = "application/vnd.pypi.simple.v1+json" in h.headers.get("Accept", "")
            if wants_json and (local / "index.json").is_file():
                local, content_type = local / "index.json", "application/vnd.pypi.simple.v1+json"
            else:
                local, content_type = local / "index.html", "text/html"
        if not local.is_file() or ".." in Path(path).parts:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        data = local.read_bytes()
        status, body, headers = 200, data, {}
        spec = h.headers.get("Range")
        if spec and spec.startswith("bytes="):
            first, _, last = spec[len("bytes=") :].partition("-")
            if not first:
                start, stop = max(0, len(data) - int(last)), len(data) - 1
            else:
                start, stop = int(first), min(len(data) - 1, int(last) if last else len(data) - 1)
            status, body = 206, data[start : stop + 1]
            headers["Content-Range"] = f"bytes {start}-{stop}/{len(data)}"
            if local.name in self.malformed_206:
                headers["Content-Range"] = f"bytes {len(data) + 10}-{len(data) + 20}/{len(data)}"
            elif local.name in self.short_206:
                body = body[: len(body) // 3]  # a whole, well-formed answer: just not what it says
        h.send_response(status)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Content-Type", content_type)
        h.send_header("Accept-Ranges", "bytes")
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        if head:
            return
        if cut:
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        h.wfile.write(body)

    def __enter__(self) -> FlakyMirror:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
