"""A static tree served by Debian's nginx on loopback, over HTTP or TLS (a throw-away CA).

What a static mirror of PyPI is: files on disk behind a fast web server. A folder's `index.json`
is its page, served as PEP 691 JSON; everything else as bytes. nginx runs as a child process with
its own prefix (configuration, logs, temp files) and stops with the context.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from depgraph.demo.server import free_port, stop_process

__all__ = ["NginxServer", "nginx_available"]

JSON = "application/vnd.pypi.simple.v1+json"


def nginx_available() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


class NginxServer:
    def __init__(self, root: Path, tls: bool = False, workers: int = 1) -> None:
        self.root, self.tls, self.workers = root.resolve(), tls, workers
        self.prefix = Path(tempfile.mkdtemp(prefix="depgraph-nginx-"))
        self.port = free_port()
        self.ca_bundle: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def _tls_lines(self) -> str:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.private_key_and_cert_chain_pem.write_to_path(str(self.prefix / "server.pem"))
        self.ca_bundle = self.prefix / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_bundle))
        pem = self.prefix / "server.pem"
        return f"ssl_certificate {pem}; ssl_certificate_key {pem}; ssl_protocols TLSv1.2 TLSv1.3;"

    def __enter__(self) -> NginxServer:
        tls = self._tls_lines() if self.tls else ""
        temp = " ".join(
            f"{kind}_temp_path {self.prefix}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # as root, nginx's workers would drop to nobody, who cannot read a test's private folder
        user = "user root root;" if os.geteuid() == 0 else ""
        (self.prefix / "nginx.conf").write_text(
            f"""
{user}
worker_processes {self.workers};
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    {temp}
    types {{ {JSON} json; }}
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{self.port}{" ssl" if self.tls else ""};
        {tls}
        root {self.root};
        index index.json;
    }}
}}
"""
        )
        self.proc = subprocess.Popen(
            [
                shutil.which("nginx") or "/usr/sbin/nginx",
                "-p",
                str(self.prefix),
                "-c",
                str(self.prefix / "nginx.conf"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"nginx did not start: {err.strip()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__(None, None, None)
        raise RuntimeError("nginx did not listen within 10 s")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        shutil.rmtree(self.prefix, ignore_errors=True)
