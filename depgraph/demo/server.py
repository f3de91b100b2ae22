"""A distributions folder served as a real index by a child process on 127.0.0.1 (pypiserver here).

The demo serves its index with pypiserver, with no fallback to any outside index. The tests add
other kinds of servers on top of `ChildServer` (tests/servers.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import requests

__all__ = ["ChildServer", "PypiServer", "ServerStartError", "free_port"]


class ServerStartError(RuntimeError):
    """The index server exited or did not answer in time."""


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server process, killed if it has not ended 10 s later."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChildServer:
    """`with Server(folder) as index: index.url`: a server process, up once its root answers 200."""

    kind = "server"
    scheme = "http"

    def __init__(self, folder: Path, port: int | None = None, log: Path | None = None) -> None:
        self.folder = Path(folder)
        self.port = port or free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/simple/"

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        """Whether the server answers its root page yet."""
        return requests.get(self.url, timeout=1).status_code == 200

    def start(self) -> Self:
        if self.log:
            with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
                self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        else:
            self.proc = subprocess.Popen(
                self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.kind} exited with {self.proc.returncode}; see {self.log}"
                )
            try:
                if self.ready():
                    return self
            except requests.RequestException:
                pass  # not listening yet
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(f"{self.kind} did not answer on {self.url} within 30 s")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class PypiServer(ChildServer):
    """pypiserver: PEP 503 HTML with sha256 fragments, byte ranges; no fallback to PyPI."""

    kind = "pypiserver"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pypiserver",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--disable-fallback",
            "--hash-algo",
            "sha256",
            "-a",
            ".",
            "-P",
            ".",
            str(self.folder),
        ]
