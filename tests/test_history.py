"""The index as it stood on a date (`report --as-of`), and dependents month by month
(`report --history`), from a real crawl of a PEP 691 index that gives upload times (PEP 700)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pandas as pd
import pytest

from depgraph.cli import main
from depgraph.demo.distbuild import DistSpec, write_wheel
from tests.lib.faultserver import FlakyMirror
from tests.lib.helpers import crawl_cli
from tests.lib.mirror import write_static_mirror
from tests.lib.pg import fresh_database

# (spec, upload time)
RELEASES = [
    (DistSpec("lib", "1.0"), "2020-01-15T10:00:00+00:00"),
    (DistSpec("lib", "2.0"), "2021-06-01T10:00:00+00:00"),
    (DistSpec("app-a", "1.0", ["lib"]), "2020-03-01T10:00:00+00:00"),
    (DistSpec("app-a", "2.0"), "2021-03-01T10:00:00+00:00"),  # drops lib
    (DistSpec("app-b", "1.0", ["lib>=2"]), "2021-01-10T10:00:00+00:00"),
    (DistSpec("app-c", "1.0", ["lib"]), "2022-02-01T10:00:00+00:00"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def dated_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path | str]:
    """The dated index crawled into each kind of store (the as-of views differ by dialect)."""
    folder = tmp_path_factory.mktemp("dated")
    times = {}
    for spec, when in RELEASES:
        times[write_wheel(spec, folder / "flat").name] = when
    mirror = write_static_mirror(folder / "flat", folder / "mirror", upload_times=times)
    with ExitStack() as stack:
        if request.param == "sqlite":
            db: Path | str = folder / "dated.sqlite"
        else:
            db = stack.enter_context(fresh_database())
        with FlakyMirror(mirror, cut_once=False) as server:
            assert crawl_cli(server.url, db) == 0
        yield db


def report(db: Path | str, out: Path, *extra: str) -> int:
    """`depgraph report` of `db` into `out`; the exit code."""
    return main(["report", "--db", str(db), "--out", str(out), "-q", *extra])


def lib_dependents(db: Path | str, out: Path, *extra: str) -> int:
    assert report(db, out, *extra) == 0
    packages = pd.read_csv(out / "packages.csv").set_index("name")
    return int(packages.loc["lib", "direct_dependents"])


@pytest.mark.parametrize(
    "as_of, expected",
    [
        ("2020-02-01", 0),  # lib is there, app-a not yet
        ("2020-12-31", 1),  # app-a 1.0
        ("2021-03-31", 1),  # app-a 2.0 dropped lib; app-b came
        ("2022-12-31", 2),  # app-b, app-c
    ],
)
def test_report_as_of_a_date(
    dated_store: Path | str, tmp_path: Path, as_of: str, expected: int
) -> None:
    assert lib_dependents(dated_store, tmp_path / "r", "--as-of", as_of) == expected
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["choices"]["as_of"] == as_of
    # with dates, the age filter is on, and its effect stated on its own
    assert summary["filtered_dependents"]["stale_cutoff"] is not None
    assert set(summary["filtered_dependents"]["each_filter"]) == {
        "frozen_environments",
        "stale_projects",
    }


def test_as_of_picks_the_latest_release_of_that_day(
    dated_store: Path | str, tmp_path: Path
) -> None:
    assert report(dated_store, tmp_path / "r", "--as-of", "2021-01-31") == 0
    packages = pd.read_csv(tmp_path / "r" / "packages.csv").set_index("name")
    assert packages.loc["lib", "latest_version"] == 1.0  # 2.0 came in June
    assert packages.loc["app-a", "latest_version"] == 1.0
    assert "app-c" not in packages.index  # no release yet


def test_history_month_by_month(dated_store: Path | str, tmp_path: Path) -> None:
    out = tmp_path / "h"
    assert report(dated_store, out, "--history", "36", "--history-top", "3") == 0
    history = pd.read_csv(out / "history.csv")
    lib = history[history["name"] == "lib"].set_index("month")["direct_dependents"]
    assert lib["2020-01-31"] == 0 and lib["2020-03-31"] == 1 and lib["2021-02-28"] == 2
    assert lib["2021-03-31"] == 1 and lib["2022-02-28"] == 2
    assert (out / "history.png").stat().st_size > 0


def test_a_store_without_dates_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flat = tmp_path / "flat"
    write_wheel(DistSpec("undated", "1.0"), flat)
    mirror = write_static_mirror(flat, tmp_path / "mirror")
    db = tmp_path / "undated.sqlite"
    with FlakyMirror(mirror, cut_once=False) as server:
        assert crawl_cli(server.url, db) == 0
    assert report(db, tmp_path / "r", "--as-of", "2024-01-01") == 2
    err = capsys.readouterr().err
    assert "has no upload times" in err
    assert report(db, tmp_path / "r", "--as-of", "last year") == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
