"""A report tells a project nobody crawled from one the index does not have: every node of
packages.csv and missing.csv carries its crawl_state, and downloads are compared over crawled
projects only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.lib.hostile_index import HostileIndex, honest


def depgraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "depgraph", *args], capture_output=True, text=True, timeout=180
    )


def states(report: Path) -> dict[str, str]:
    table = pd.read_csv(report / "packages.csv")
    return dict(zip(table["name"], table["crawl_state"], strict=True))


def test_not_crawled_is_not_missing_from_the_index(tmp_path: Path) -> None:
    chain = {
        "app": honest("json", ["lib-a>=1", "not-on-the-index"]),
        "lib-a": honest("html", ["lib-b"]),
        "lib-b": honest("json", []),
    }
    downloads = tmp_path / "downloads.csv"
    # lib-a and lib-b are downloaded a lot: over every node they would make the comparison
    downloads.write_text("project,downloads\napp,10\nlib-a,5000\nlib-b,9000\nunrelated,3\n")
    with HostileIndex(tmp_path, chain) as index:
        common = ("--index-url", index.url, "--sandbox", "none", "-q")
        alone, whole = tmp_path / "alone.sqlite", tmp_path / "whole.sqlite"
        # app, and a name the index answers 404 for
        asked = ("--project", "app", "--project", "not-on-the-index")
        depgraph("crawl", *asked, "--db", str(alone), *common)
        depgraph("crawl", "--all", "--db", str(whole), *common)
    report = tmp_path / "alone-report"
    done = depgraph(
        "report", "--db", str(alone), "--out", str(report), "--downloads", str(downloads)
    )
    assert done.returncode == 0, done.stderr
    assert states(report) == {
        "app": "crawled",
        "lib-a": "not-crawled",  # on the index, but only app was asked for
        "not-on-the-index": "not-on-index",  # the index answered 404 for it
    }
    missing = pd.read_csv(report / "missing.csv")
    assert dict(zip(missing["name"], missing["crawl_state"], strict=True)) == {
        "lib-a": "not-crawled",
        "not-on-the-index": "not-on-index",
    }
    summary = json.loads((report / "summary.json").read_text())
    assert summary["coverage"] == {
        "whole_index": None,
        "crawled": 1,
        "page_failed": 0,
        "not_on_index": 1,
        "not_crawled": 1,
    }
    # one crawled project has downloads: too few to compare, whatever lib-a's count is
    assert summary["comparison"] == {"projects_compared": 1}

    # a complete crawl of the whole index: a name with no page was not on the index
    report = tmp_path / "whole-report"
    assert depgraph("report", "--db", str(whole), "--out", str(report)).returncode == 0
    assert states(report) == {
        "app": "crawled",
        "lib-a": "crawled",
        "lib-b": "crawled",
        "not-on-the-index": "not-on-index",
    }
    summary = json.loads((report / "summary.json").read_text())
    assert str(summary["coverage"]["whole_index"]).startswith("a crawl of the whole index")


def test_an_import_of_every_project_is_a_whole_index(tmp_path: Path) -> None:
    from tests.test_importers import write_bucket

    folder = tmp_path / "pypi-deps-db"
    write_bucket(
        folder, "sdist", "00.json.gz", {"app": {"1.0": {"310": {"install_requires": ["gone"]}}}}
    )
    db, report = tmp_path / "s.sqlite", tmp_path / "report"
    assert depgraph("import", "pypi-deps-db", str(folder), "--db", str(db)).returncode == 0
    assert depgraph("report", "--db", str(db), "--out", str(report)).returncode == 0
    assert states(report) == {"app": "crawled", "gone": "not-on-index"}
    summary = json.loads((report / "summary.json").read_text())
    assert summary["coverage"]["whole_index"] == "pypi-deps-db import of pypi-deps-db"
