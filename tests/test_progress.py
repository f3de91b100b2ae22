"""Long commands show progress with totals on a terminal (a real pseudo-terminal here), and none
where stderr is not one."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, Path]) -> Path:
    return demo_run[0]


def on_a_terminal(*args: str) -> tuple[int, str]:
    """The command with stderr on a pseudo-terminal 120 columns wide: (exit code, what the
    terminal showed)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "depgraph", *args],
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return proc.wait(timeout=300), shown.decode("utf-8", "replace").replace("\r", "\n")


def test_report_and_installable_show_each_stage_with_its_total(demo: Path, tmp_path: Path) -> None:
    code, shown = on_a_terminal(
        "report", "--db", str(demo), "--out", str(tmp_path / "r"), "--installable", "3.12"
    )
    assert code == 0, shown
    assert "report: 100%" in shown and "3/3" in shown
    assert "installable: 100%" in shown and "10/10 [" in shown  # every project of the demo
    code, shown = on_a_terminal(
        "installable", "--db", str(demo), "--out", str(tmp_path / "i"), "--python", "3.12"
    )
    assert code == 0 and "installable: 100%" in shown, shown


def test_no_bars_off_a_terminal(demo: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "depgraph", "report", "--db", str(demo), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and "%|" not in done.stderr, done.stderr


def test_import_counts_the_buckets_of_the_data_set(tmp_path: Path) -> None:
    from tests.test_importers import write_bucket

    folder = tmp_path / "pypi-deps-db"
    for bucket in range(3):
        write_bucket(
            folder,
            "sdist",
            f"{bucket:02x}.json.gz",
            {f"p{bucket}": {"1.0": {"310": {"install_requires": ["lib"]}}}},
        )
    code, shown = on_a_terminal(
        "import", "pypi-deps-db", str(folder), "--db", str(tmp_path / "s.sqlite")
    )
    assert code == 0, shown
    assert "import: 100%" in shown and "3/3 [" in shown
