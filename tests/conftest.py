"""Shared fixtures: real index servers on loopback over real distributions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from depgraph.demo import build_demo_index
from depgraph.demo.distbuild import DistSpec, write_wheel
from tests.lib.servers import IndexServer

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEPGRAPH_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "dev"


def need_shared(path: Path) -> Path:
    """`path` from ../shared; a bare clone has none: the test is skipped with the reason, and under
    CI=true (where the data must be there) it fails instead."""
    if path.exists():
        return path
    reason = f"needs {path}: ../shared data, absent here (a bare clone)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + "; CI=true requires it")
    pytest.skip(reason)


def corpus_entries() -> list[dict[str, Any]]:
    """The dev corpus' expected.json; empty where ../shared is absent (see need_shared)."""
    expected = CORPUS / "expected.json"
    if not expected.exists():
        return []
    entries: list[dict[str, Any]] = json.loads(expected.read_text())
    return entries


def corpus_cases() -> list[Any]:
    """Corpus entries as test parameters; one placeholder that skips (or fails under CI=true) where
    the corpus is absent, so the absence is reported rather than silently collecting nothing."""
    entries = corpus_entries()
    if entries:
        return [pytest.param(e, id=e["sdist"]) for e in entries]
    return [pytest.param(None, id="corpus-absent")]


@pytest.fixture
def corpus() -> list[dict[str, Any]]:
    """The dev corpus' entries (skips, or fails under CI=true, where ../shared is absent)."""
    need_shared(CORPUS / "expected.json")
    return corpus_entries()


@pytest.fixture(scope="session", autouse=True)
def no_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests never read the config file of whoever runs them (commands in subprocesses
    inherit this)."""
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "DEPGRAPH_CONFIG")}
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config-home"))
    os.environ.pop("DEPGRAPH_CONFIG", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`depgraph demo` run once (its index: a cycle, extras, a project not on the index): the
    store and its report, for tests that only read them."""
    out = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, "-m", "depgraph", "demo", "--sandbox", "none", "--out", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out / "demo.sqlite", out / "report"


def extra_fixture_dists(folder: Path) -> None:
    """Cases the demo does not cover: platform-only wheels that disagree, a yanked-free big
    wheel."""
    linux = DistSpec("plat-only", "1.0", ["numpyish>=1"])
    write_wheel(linux, folder, tag="cp311-cp311-manylinux_2_17_x86_64")
    windows = DistSpec("plat-only", "1.0", ["numpyish>=1", "pywin32ish"])
    write_wheel(windows, folder, tag="cp311-cp311-win_amd64")
    write_wheel(DistSpec("big-wheel", "3.0", ["demo-core"], filler=400_000), folder)


@pytest.fixture(scope="session")
def index_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A flat folder: the demo projects, extra fixtures, and the real corpus sdists and wheels."""
    folder = build_demo_index(tmp_path_factory.mktemp("index") / "files")
    extra_fixture_dists(folder)
    for sub in ("sdists", "wheels"):  # tests that count on them ask for the `corpus` fixture
        for f in (CORPUS / sub).iterdir() if (CORPUS / sub).is_dir() else ():
            shutil.copy2(f, folder / f.name)
    return folder


@pytest.fixture(scope="session")
def pypiserver_index(
    index_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    log = tmp_path_factory.mktemp("logs") / "pypiserver.log"
    with IndexServer(index_folder, "pypiserver", log=log) as server:
        yield server


@pytest.fixture(scope="session")
def json_index(
    index_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IndexServer]:
    log = tmp_path_factory.mktemp("logs") / "srs.log"
    with IndexServer(index_folder, "simple-repository-server", log=log) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store_locator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty store of each kind: a SQLite file, and a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.sqlite")
        return
    from tests.lib.pg import fresh_database

    with fresh_database() as url:
        yield url
