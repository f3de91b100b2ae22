"""`depgraph serve` as a real process on loopback, and a real headless browser (Debian's
chromium) to look at its pages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["browser", "headless", "served"]


@contextmanager
def served(*args: str, timeout: float = 120.0) -> Iterator[str]:
    """`depgraph serve --port 0 ARGS` running; yields its base URL (read from what it prints)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "depgraph", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + timeout
        assert proc.stderr is not None
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                raise AssertionError(f"serve stopped: {''.join(lines)}")
            lines.append(line)
            if "listening on " in line:
                yield line.split("listening on ", 1)[1].strip().rstrip("/")
                break
        else:
            raise AssertionError(f"serve did not listen in {timeout} s: {''.join(lines)}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def browser() -> str:
    """The headless browser's path; a skip (a failure under CI=true) where there is none."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "needs Debian's chromium (apt-get install chromium; scripts/setup.sh --test does)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + "; CI=true requires it")
    pytest.skip(reason)


def headless(url: str, *args: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Chromium, headless, on `url` (no sandbox: tests may run as root; a profile of its own)."""
    return subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={folder / 'profile'}",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
