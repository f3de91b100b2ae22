"""Python-2-only setup.py: built under Python 2.7 in its own sandbox, on evidence from Python 3.

The synthetic sdists (tests/lib/hostile.py) cover each way such a setup.py fails under Python 3;
the real corpus (tests/data/py2-corpus.txt, fetched by `python -m tests.lib.py2corpus fetch`)
is held to what mach-nix recorded under CPython 2.7, or to the sdist's own requires.txt.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from depgraph.sandbox import Sandbox, open_sandbox
from tests.conftest import need_shared
from tests.lib.helpers import requirement_set
from tests.lib.hostile import python2_sdists
from tests.lib.py2corpus import (
    DEPS_DB,
    Py2Case,
    cases,
    default_cache,
    egg_info_requires,
    fetched,
    machnix_py27,
)

BACKENDS = [
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("bwrap", marks=pytest.mark.bwrap),
]


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    return open_sandbox(request.param, python="auto")


@pytest.fixture(scope="module")
def old_sdists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return python2_sdists(tmp_path_factory.mktemp("py2"))


# case -> (ok, method or failure, interpreter, requirements, text in python2_evidence)
UNDER_27 = {
    "execfile": (True, "setup-capture", "python2.7", ["six"], "execfile"),
    "configparser": (True, "setup-capture", "python2.7", ["lxml>=2.0", "pytz"], "ConfigParser"),
    "itervalues": (
        True,
        "setup-capture",
        "python2.7",
        [
            'lxml; extra == "xml"',
            'pyyaml; extra == "yaml"',
            'lxml; extra == "all"',
            'pyyaml; extra == "all"',
        ],
        "itervalues",
    ),
    "map-index": (True, "setup-capture", "python2.7", ["simplejson", "httplib2"], "map"),
    "own-module": (True, "setup-capture", "python2.7", ["docutils"], "print"),
    "no-requirements": (True, "setup-capture", "python2.7", [], "Python 2 syntax"),
    "py3-bug": (False, "build-failed", "python3.11", [], "TypeError"),
}


@pytest.mark.parametrize("case", sorted(UNDER_27))
def test_each_python2_failure_is_built_under_27(
    sandbox: Sandbox, old_sdists: dict[str, Path], case: str
) -> None:
    result = sandbox.extract(old_sdists[case])
    ok, kind, interpreter, requires, evidence = UNDER_27[case]
    assert (result.ok, result.method if ok else result.failure, result.interpreter) == (
        ok,
        kind,
        interpreter,
    ), (result.detail, result.log_tail[-1500:])
    assert requirement_set(result.requires_dist) == requirement_set(requires)
    assert evidence in (result.python2_evidence or "")


# Without the Python 2.7 sandbox: the static read, and reasons that say what happened
# case -> (ok, method or failure, requirements, text in the detail)
PYTHON3_ONLY = {
    "execfile": (True, "static-setup-py", ["six"], "literal setup() arguments"),
    "configparser": (False, "python2-runtime-error", [], "No module named 'ConfigParser'"),
    "no-requirements": (True, "static-setup-py", [], "names no requirement"),
    "itervalues": (False, "python2-runtime-error", [], "itervalues"),
}


@pytest.mark.parametrize("case", sorted(PYTHON3_ONLY))
@pytest.mark.docker
def test_without_python2_the_static_read_answers_last(
    old_sdists: dict[str, Path], case: str
) -> None:
    result = open_sandbox("docker", python="3").extract(old_sdists[case])
    ok, kind, requires, text = PYTHON3_ONLY[case]
    assert (result.ok, result.method if ok else result.failure) == (ok, kind), result.detail
    assert requirement_set(result.requires_dist) == requirement_set(requires)
    assert text in (result.detail or ""), result.detail
    assert result.interpreter == "python3.11"
    if ok:
        assert result.confidence == "low"


# ---------------------------------------------------------------- the real corpus
def corpus_sdist(case: Py2Case) -> Path:
    """The cached sdist of a corpus release (skips, or fails under CI=true, where absent)."""
    need_shared(DEPS_DB / "sdist")
    cache = default_cache()
    entry = fetched(cache).get(case.key, {})
    if "file" not in entry:
        reason = (
            f"{case.key} is not in the Python 2 corpus cache {cache}: "
            "python -m tests.lib.py2corpus fetch"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI=true requires it")
        pytest.skip(reason)
    return cache / str(entry["file"])


def references(case: Py2Case, sdist: Path) -> list[set[Any]]:
    refs = [machnix_py27(case), egg_info_requires(sdist)]
    return [requirement_set(r) for r in refs if r is not None]


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.key)
def test_corpus_release_agrees_with_its_python27_record(sandbox: Sandbox, case: Py2Case) -> None:
    sdist = corpus_sdist(case)
    result = sandbox.extract(sdist)
    assert result.ok, (result.failure, result.detail, result.log_tail[-1500:])
    assert requirement_set(result.requires_dist) in references(case, sdist), result.detail


def one_per_class() -> list[Py2Case]:
    seen: dict[str, Py2Case] = {}
    for case in cases():
        seen.setdefault(case.failure_class, case)
    return list(seen.values())


@pytest.mark.docker
@pytest.mark.parametrize("case", one_per_class(), ids=lambda c: c.failure_class)
def test_cli_extract_of_each_class(case: Py2Case) -> None:
    sdist = corpus_sdist(case)
    out = subprocess.run(
        [sys.executable, "-m", "depgraph", "sandbox", "extract", str(sdist), "--backend", "docker"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    result = json.loads(out.stdout)
    assert out.returncode == 0, out.stderr
    assert result["ok"] and result["interpreter"] in ("python2.7", "python3.11")
    assert requirement_set(result["requires_dist"]) in references(case, sdist)


@pytest.mark.docker
def test_crawl_builds_python2_sdists_and_stores_their_requirements(tmp_path: Path) -> None:
    from depgraph.cli import main
    from tests.lib.servers import IndexServer

    chosen = one_per_class()
    folder = tmp_path / "files"
    folder.mkdir()
    sdists = {case.key: corpus_sdist(case) for case in chosen}
    for path in sdists.values():
        shutil.copy2(path, folder / path.name)
    db = tmp_path / "py2.sqlite"
    with IndexServer(folder, "pypiserver") as server:
        rc = main(
            [
                *("crawl", "--index-url", server.url, "--db", str(db), "--all"),
                *("--sandbox", "docker", "--no-progress", "--json"),
            ]
        )
    assert rc == 0
    from packaging.utils import canonicalize_name

    with sqlite3.connect(db) as conn:
        for case in chosen:
            rows = conn.execute(
                "SELECT r.deps_state, r.metadata_source, q.raw FROM releases r"
                " LEFT JOIN requirements q ON q.release_id = r.id AND q.kind IN ('run', 'extra')"
                " WHERE r.project = ? AND r.version = ?",
                (canonicalize_name(case.project), case.version),
            ).fetchall()
            assert rows, case.key
            assert {r[0] for r in rows} == {"known"}, (case.key, rows)
            stored = [r[2] for r in rows if r[2] is not None]
            assert requirement_set(stored) in references(case, sdists[case.key]), case.key
