"""Installability from the store, checked against pip on the same loopback index.

For every project of a hand-built index of real wheels (one project per outcome), and for two
Pythons, our verdict and resolved set must equal what `pip install --dry-run --report` resolves
against the index (pip isolated from this machine's configuration)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from depgraph.analysis.installability import (
    NEWEST_THROUGHOUT,
    VERDICTS,
    Elsewhere,
    check_installable,
    installability_table,
)
from depgraph.analysis.newest_closure import NewestReleases, clean_closures
from depgraph.analysis.release_index import ReleaseIndex
from depgraph.analysis.targets import Target
from depgraph.cli import main
from depgraph.crawler.access import IndexAccess
from depgraph.store import Store
from depgraph.store.reader import StoreSource
from depgraph.wiring import run_crawl
from tests.lib.installable_cases import CASES, pip_dry_run, write_installable_index
from tests.lib.servers import IndexServer

PYTHONS = ("3.8", f"{sys.version_info[0]}.{sys.version_info[1]}")
ROOTS = sorted({canonicalize_name(spec.name) for spec, _, _ in CASES} | {"broken-wheel"})
# the release asked about: each project's latest non-yanked release (read from the cases, not the
# store); a project with none is asked for unpinned, as a user would
LATEST: dict[str, str] = {"broken-wheel": "1.0"}
for _spec, _tag, _yanked in CASES:
    _name = canonicalize_name(_spec.name)
    _key = (not Version(_spec.version).is_prerelease, Version(_spec.version))  # finals first
    _best = LATEST.get(_name)
    if not _yanked and (_best is None or _key > (not Version(_best).is_prerelease, Version(_best))):
        LATEST[_name] = _spec.version


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    folder = tmp_path_factory.mktemp("installable")
    flat = folder / "flat"
    flat.mkdir()
    # a wheel whose METADATA cannot be read: its dependencies stay unknown
    (flat / "broken_wheel-1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 not really a zip")
    mirror = write_installable_index(flat, folder / "mirror")
    with IndexServer(mirror, "static") as server:
        yield server


@pytest.fixture(scope="module")
def store(index: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("store") / "installable.sqlite"
    run_crawl(Store(db), IndexAccess(index_url=index.url), None, progress=False)
    return db


def pip_resolves(index_url: str, project: str, python: str) -> set[tuple[str, str]] | None:
    """What pip installs for the project's latest non-yanked release (None: nothing)."""
    requirement = f"{project}=={LATEST[project]}" if project in LATEST else project
    return pip_dry_run(index_url, requirement, python)


def test_every_project_agrees_with_pip(index: IndexServer, store: Path) -> None:
    releases = ReleaseIndex(store)
    jobs = [(project, python) for project in ROOTS for python in PYTHONS]
    with ThreadPoolExecutor(4) as pool:
        pip = dict(zip(jobs, pool.map(lambda j: pip_resolves(index.url, *j), jobs), strict=True))
    disagreements = []
    for project, python in jobs:
        ours = check_installable(releases, project, Target(python, "linux"))
        mine = set(ours.pinned) if ours.verdict == "installable" else None
        if mine != pip[(project, python)]:
            disagreements.append(
                (project, python, ours.verdict, ours.detail, mine, pip[(project, python)])
            )
    assert disagreements == []


EXPECTED = {  # on this machine's Python (>= 3.8, < 3.99), Linux
    "ok-app": ("installable", "ok-lib==1.0"),  # 2.0 needs Python >= 3.99
    "conflict-app": ("conflict", "c-shared"),
    "bt-app": ("installable", "bt-helper==1.0"),  # backtracked from 2.0
    "rp-only": ("no-compatible-release", "Requires-Python >=3.99"),
    "plat-win": ("no-compatible-release", "no wheel for the target"),
    "plat-linux": ("installable", "plat-linux==1.0"),
    "yank-pin": ("installable", "yank-lib==1.0"),  # pinned, and only a yanked release matches
    "yank-loose": ("installable", "yank-lib==2.0"),
    "yank-lib": ("installable", "yank-lib==2.0"),
    "ok-lib": ("no-compatible-release", "Requires-Python >=3.99"),  # its latest release
    "yank-solo": ("no-compatible-release", "yanked"),
    "miss-app": ("missing-dependency", "not-on-the-index"),
    "too-new": ("no-compatible-release", "no release of ok-base matches >=9"),
    "extra-bad": ("conflict", "c-shared"),
    "extra-ok": ("installable", "c-shared==1.0"),  # what extra-lib[old] brings
    "pre-want": ("installable", "pre-lib==2.0b1"),  # nothing final matches >=1.5
    "pre-any": ("installable", "pre-lib==1.0"),
    "mark-app": ("installable", "ok-base==0.5"),  # the win32 / Python 2 requirements do not apply
    "broken-wheel": ("unknown-dependencies", "dependencies unknown"),
}


@pytest.mark.parametrize("project", sorted(EXPECTED))
def test_each_outcome(store: Path, project: str) -> None:
    verdict = check_installable(ReleaseIndex(store), project, Target(PYTHONS[1], "linux"))
    kind, evidence = EXPECTED[project]
    pins = " ".join(f"{n}=={v}" for n, v in verdict.pinned)
    assert verdict.verdict == kind, verdict.detail
    assert evidence in (pins if kind == "installable" else verdict.detail)


def test_windows_target_gets_the_windows_wheel(store: Path) -> None:
    releases = ReleaseIndex(store)
    assert check_installable(releases, "plat-win", Target("3.11", "win32")).verdict == "installable"
    assert check_installable(releases, "plat-linux", Target("3.11", "win32")).verdict == (
        "no-compatible-release"
    )


def test_too_deep_is_its_own_verdict(store: Path) -> None:
    verdict = check_installable(ReleaseIndex(store), "ok-app", Target("3.11"), max_rounds=1)
    assert verdict.verdict == "too-deep" and "1 resolver rounds" in verdict.detail


def test_command_writes_csv_and_json(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "inst"
    rc = main(
        [
            "installable",
            "--db",
            str(store),
            "--python",
            "3.8",
            "3.12",
            "--all",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    table = pd.read_csv(out / "installable.csv")
    assert len(table) == 2 * len(ROOTS)  # every project of the index, on each target
    assert set(table["verdict"]) <= set(VERDICTS)
    assert set(summary["share_installable"]) == {"py3.8-linux", "py3.12-linux"}
    assert (out / "installable.png").stat().st_size > 0
    same = installability_table(ReleaseIndex(store), ["ok-app"], [Target("3.8")])
    assert same.loc[0, "verdict"] == "installable"


def test_resolutions_on_a_dask_cluster_give_the_same_rows(store: Path, tmp_path: Path) -> None:
    """`--cluster local:2`: the resolutions as tasks of two worker processes, each reading the
    store itself; batches of three pairs, so each process resolves many batches with the index it
    keeps. The rows are those of one process resolving all."""
    from distributed import Client, LocalCluster

    targets = [Target("3.8"), Target("3.12", "win32")]
    here = installability_table(ReleaseIndex(store), ROOTS, targets)
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, dashboard_address="127.0.0.1:0"
        ) as lc,
        Client(lc) as client,  # type: ignore[no-untyped-call]
    ):
        elsewhere = Elsewhere(client.get_executor(pure=False), StoreSource.of(store), batch=3)
        there = installability_table(ReleaseIndex(store), ROOTS, targets, elsewhere=elsewhere)
        assert len(client.run(lambda: 1)) == 2  # two worker processes
    columns = ["project", "version", "target", "verdict", "resolved", "pinned", "detail"]
    assert there[columns].equals(here[columns])
    assert set(here["verdict"]) >= {"installable", "conflict", "missing-dependency"}

    out = tmp_path / "cli"
    args = ["installable", "--db", str(store), "--python", "3.8", "--all", "-q"]
    assert main([*args, "--out", str(out), "--cluster", "local:2"]) == 0
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    from_cluster = pd.read_csv(out / "installable.csv")
    from_one = pd.read_csv(tmp_path / "one" / "installable.csv")
    assert from_cluster[columns].equals(from_one[columns])


def test_report_includes_installability(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert (
        main(["report", "--db", str(store), "--out", str(out), "--installable", "3.8", "-q"]) == 0
    )
    packages = pd.read_csv(out / "packages.csv").set_index("name")
    assert packages.loc["conflict-app", "installable_py3.8-linux"] == "conflict"
    assert packages.loc["ok-app", "installable_py3.8-linux"] == "installable"
    summary = json.loads((out / "summary.json").read_text())
    assert 0 < summary["installability"]["share_installable"]["py3.8-linux"] < 1
    assert "projects" in summary and (out / "installable.png").exists()


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_the_newest_closure_shortcut_pins_what_the_resolver_pins(
    store: Path, platform: str
) -> None:
    """Every project the shortcut decides is installable with exactly the resolver's pins; the
    index has projects on both sides of it (a requirement an older release meets, a pre-release
    asked for, a dependency whose newest release excludes the target...)."""
    newest = NewestReleases(StoreSource.of(store))
    releases = ReleaseIndex(store)
    for python in (*PYTHONS, "3.13"):
        target = Target(python, platform)
        closures = clean_closures(newest, ROOTS, target)
        resolved = {p: check_installable(releases, p, target) for p in ROOTS}
        for project, pins in closures.items():
            assert resolved[project].verdict == "installable", (project, python)
            assert resolved[project].pinned == pins, (project, python)
        # and it decides every project whose resolution pins only newest releases (an
        # independent reading: the resolver's pins against each project's latest release)
        newest_only = {
            p
            for p, v in resolved.items()
            if v.verdict == "installable"
            and all(
                LATEST.get(n) is not None and Version(LATEST[n]) == Version(version)
                for n, version in v.pinned
            )
        }
        assert set(closures) == newest_only, python
        left = {p for p in ROOTS if p not in closures}
        assert any(resolved[p].verdict == "installable" for p in left)  # older releases pinned
        assert len(closures) >= 5
        # the table takes the shortcut and gives the same rows as without it
        table = installability_table(releases, ROOTS, [target], newest=newest)
        plain = installability_table(releases, ROOTS, [target])
        columns = ["project", "version", "verdict", "resolved", "pinned"]
        assert table[columns].equals(plain[columns])
        shortcut = table["detail"].eq(NEWEST_THROUGHOUT)
        assert shortcut.sum() == len(closures)
