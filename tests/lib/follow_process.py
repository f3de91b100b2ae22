"""`depgraph update --follow --json` as a real process, read a cycle at a time."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from types import TracebackType

__all__ = ["FollowProcess"]


class FollowProcess:
    """Started on entry with the given `update` options; on exit stopped with Ctrl-C (SIGINT) if
    still running, its exit code in `returncode` and its stderr in `err`."""

    def __init__(self, *options: str) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-X",
                "faulthandler",
                "-m",
                "depgraph",
                "update",
                "--follow",
                "--json",
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.err = ""
        out = self.process.stdout
        assert out is not None

        def read() -> None:
            for line in out:
                self.lines.put(line)

        threading.Thread(target=read, daemon=True).start()

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def next_cycle(self) -> dict[str, object]:
        """The next cycle's line; when none comes, the process's threads (dumped by
        faulthandler on SIGABRT) and its stderr are the failure message."""
        try:
            return dict(json.loads(self.lines.get(timeout=120)))
        except queue.Empty:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=60)
            err = self.process.stderr.read() if self.process.stderr is not None else ""
            raise AssertionError(
                f"no cycle for 120 s; exit {self.process.returncode}; stderr:\n{err}"
            ) from None

    def __enter__(self) -> FollowProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)
        self.err = self.process.stderr.read() if self.process.stderr is not None else ""
