"""An index on loopback that PyPI's way of saying what changed can be tested against: a PEP 691
JSON root listing each project's `_last-serial`, JSON project pages with `X-PyPI-Last-Serial`,
real wheels, an RSS feed of the last uploads (`/rss/updates.xml`, as PyPI's), and uploads while
it runs (`publish`), each advancing the index's serial."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from depgraph.demo.distbuild import DistSpec, write_wheel

__all__ = ["SerialIndex"]

JSON = "application/vnd.pypi.simple.v1+json"


class SerialIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.serial = 0
        #: project -> (its serial, its files)
        self.projects: dict[str, tuple[int, list[str]]] = {}
        #: filename -> PEP 700 upload time
        self.uploaded: dict[str, str] = {}
        self.paths: list[str] = []
        #: (project, version) of each upload, oldest first: the RSS feed lists the last 100
        self.uploads: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        index = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                index.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/simple/"

    @property
    def feed_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/rss/updates.xml"

    def publish(
        self, project: str, version: str, requires: list[str], uploaded: str | None = None
    ) -> int:
        """Upload a wheel of `project` `version` (at `uploaded`, ISO 8601, where given); returns
        the index's new serial."""
        wheel = write_wheel(DistSpec(project, version, requires), self.folder)
        with self._lock:
            if uploaded is not None:
                self.uploaded[wheel.name] = uploaded
            self.serial += 1
            _, files = self.projects.get(project, (0, []))
            self.projects[project] = (self.serial, [*files, wheel.name])
            self.uploads.append((project, version))
            return self.serial

    def remove(self, project: str) -> int:
        """The project leaves the index; returns the index's new serial."""
        with self._lock:
            del self.projects[project]
            self.serial += 1
            return self.serial

    def answer(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        with self._lock:
            self.paths.append(path)
            projects = dict(self.projects)
            serial = self.serial
            uploaded = dict(self.uploaded)
            recent = self.uploads[-100:]
        headers: dict[str, str] = {}
        if path == "/rss/updates.xml":  # PyPI's feed of recent uploads, newest first
            items = "".join(
                f"<item><title>{name} {version}</title>"
                f"<link>https://example.invalid/project/{name}/{version}/</link>"
                "<pubDate>Tue, 01 Dec 2026 00:00:00 GMT</pubDate></item>"
                for name, version in reversed(recent)
            )
            body = (
                f'<?xml version="1.0"?><rss version="2.0"><channel><title>updates</title>{items}'
                "</channel></rss>"
            ).encode()
            kind = "text/xml"
        elif path == "/simple/":
            body = json.dumps(
                {
                    "meta": {"api-version": "1.1", "_last-serial": serial},
                    "projects": [
                        {"name": name, "_last-serial": s} for name, (s, _) in projects.items()
                    ],
                }
            ).encode()
            kind = JSON
        elif path.startswith("/simple/") and path.strip("/").split("/")[-1] in projects:
            name = path.strip("/").split("/")[-1]
            own, files = projects[name]
            body = json.dumps(
                {
                    "meta": {"api-version": "1.1"},
                    "name": name,
                    "files": [
                        {
                            "filename": f,
                            "url": f"/files/{f}",
                            "hashes": {},
                            **({"upload-time": uploaded[f]} if f in uploaded else {}),
                        }
                        for f in files
                    ],
                }
            ).encode()
            kind, headers = JSON, {"X-PyPI-Last-Serial": str(own)}
        elif path.startswith("/files/") and (self.folder / path[len("/files/") :]).is_file():
            body, kind = (self.folder / path[len("/files/") :]).read_bytes(), "application/zip"
        else:
            body, kind = b"not found", "text/plain"
            h.send_response(404)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        h.send_response(200)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(body)

    def __enter__(self) -> SerialIndex:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
