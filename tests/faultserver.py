"""A raw TCP server on loopback that misbehaves below HTTP: resets and truncated bodies.

pytest-httpserver covers faults expressible as HTTP answers; these are not. Bounded: it serves until
stopped, each connection handled once, in a daemon thread.
"""

from __future__ import annotations

import socket
import struct
import threading


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
