"""A bare clone (no ../shared next to it) passes: the tests that need ../shared's data sets are
skipped with the reason, and under CI=true (where the data must be there) they fail instead.

Runs the data-dependent test files of a fresh `git clone` of this checkout's HEAD, in a folder with
nothing beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

DATA_TESTS = ["tests/test_importers.py", "tests/test_crawl_index.py"]


@pytest.mark.slow
def test_a_bare_clone_skips_data_tests_with_the_reason_and_fails_them_under_ci(
    tmp_path: Path,
) -> None:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: nothing to clone")
    clone = tmp_path / "alone" / "clone"  # tmp_path/alone holds no `shared` folder
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "DEPGRAPH_SHARED")}
    # a base temp of its own: pytest removes older numbered temp folders of the same user, which
    # would pull SQLite's mapped files from under this very session
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "--basetemp",
        str(tmp_path / "nested"),
        *DATA_TESTS,
    ]
    bare = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert bare.returncode == 0, bare.stdout[-3000:]
    assert "SKIPPED" in bare.stdout and "../shared data, absent here" in bare.stdout
    strict = subprocess.run(
        command, cwd=clone, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=900
    )
    assert strict.returncode != 0
    assert "CI=true requires it" in strict.stdout
