"""Importers: public data sets in their own formats -> the same store the crawler writes."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from depgraph.analysis import load_graph
from depgraph.crawler.errors import ImportFormatError
from depgraph.crawler.importers import import_bigquery, import_pypi_deps_db
from depgraph.store import Store
from tests.conftest import SHARED, need_shared
from tests.lib.helpers import query


def write_bucket(folder: Path, kind: str, name: str, data: dict[str, Any]) -> None:
    (folder / kind).mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / kind / name, "wt") as fh:
        json.dump(data, fh)


@pytest.fixture
def deps_db(tmp_path: Path) -> Path:
    """Two buckets in mach-nix's format, aliases included."""
    folder = tmp_path / "pypi-deps-db"
    write_bucket(
        folder,
        "sdist",
        "00.json.gz",
        {
            "app": {
                "1.0": {"27": {"install_requires": ["lib>=1"]}, "310": "27"},
                "2.0": {
                    "310": {
                        "install_requires": ["lib>=2", "other"],
                        "extras_require": {
                            "fast": ["speedups"],
                            # setuptools' conditional base requirement, not an extra
                            ":python_version < '3.4'": ["enum34"],
                        },
                        "setup_requires": ["setuptools_scm"],
                        "tests_require": ["pytest"],
                        "python_requires": [">=3.8"],
                    },
                    "39": "310",
                },
                "2.0.post1": "2.0",
            },
            "broken": {"0.1": {"310": {"install_requires": ["ok-dep", "bad dep ((("]}}},
        },
    )
    write_bucket(
        folder,
        "wheel",
        "01.json.gz",
        {
            "lib": {
                "py3": {
                    "1.0": {"lib-1.0-py3-none-any.whl": {"requires_dist": ["six (>=1.0)"]}},
                    "2.1": {"lib-2.1-py3-none-any.whl": "1.0@lib-1.0-py3-none-any.whl"},
                    # a pre-release: not what pip picks, so not the release imported
                    "3.0rc1": {"lib-3.0rc1-py3-none-any.whl": {"requires_dist": ["nope"]}},
                }
            },
        },
    )
    return folder


def test_pypi_deps_db_latest_release_with_provenance(deps_db: Path, store_locator: str) -> None:
    db = store_locator
    summary = import_pypi_deps_db(deps_db, Store(db))
    assert (summary.projects, summary.releases, summary.bad_requirements) == (3, 3, 1)
    latest = {
        (p, v): src
        for p, v, src in query(
            db, "SELECT project, version, metadata_source FROM releases WHERE is_latest = 1"
        )
    }
    reqs = sorted(
        query(
            db,
            "SELECT r.project, q.name, q.kind, q.extra FROM requirements q"
            " JOIN releases r ON r.id = q.release_id",
        ),
        key=repr,
    )
    versions = sorted(
        str(r[0]) for r in query(db, "SELECT version FROM releases WHERE project = 'app'")
    )
    failures = query(db, "SELECT project, reason FROM failures")
    assert latest == {
        ("app", "2.0.post1"): "import:pypi-deps-db/sdist-py310",
        ("lib", "2.1"): "import:pypi-deps-db/wheel",
        ("broken", "0.1"): "import:pypi-deps-db/sdist-py310",
    }
    assert ("app", "speedups", "extra", "fast") in reqs and (
        "app",
        "setuptools-scm",
        "setup",
        None,
    ) in reqs
    assert ("app", "pytest", "test", None) in reqs and ("lib", "six", "run", None) in reqs
    assert ("app", "enum34", "run", None) in reqs  # `enum34; python_version < "3.4"`
    assert versions == ["1.0", "2.0", "2.0.post1"]  # older versions kept for satisfiability checks
    assert failures == [("broken", "bad-requirement")]
    g = load_graph(db)
    missing = {"other", "speedups", "six", "ok-dep", "enum34"}
    assert set(g.nodes.loc[g.nodes["missing"], "name"]) == missing


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_bigquery_export(tmp_path: Path, suffix: str) -> None:
    rows = [
        ("Foo", "1.0", ["bar>=1"]),
        ("foo", "1.2", ["bar>=2", 'baz; extra == "x"']),
        ("bar", "2.0", []),
    ]
    path = tmp_path / f"export{suffix}"
    if suffix == ".csv":
        path.write_text(
            "name,version,requires_dist\n"
            + "".join(
                f'{n},{v},"{json.dumps(r).replace(chr(34), chr(34) * 2)}"\n' for n, v, r in rows
            )
        )
    else:
        path.write_text(
            "".join(
                json.dumps({"name": n, "version": v, "requires_dist": r}) + "\n" for n, v, r in rows
            )
        )
    db = tmp_path / "s.sqlite"
    summary = import_bigquery(path, Store(db))
    assert summary.releases == 2  # latest of each project
    with sqlite3.connect(db) as conn:
        reqs = sorted(
            conn.execute(
                "SELECT r.project, r.version, q.raw, q.source FROM requirements q"
                " JOIN releases r ON r.id = q.release_id"
            )
        )
    assert reqs == [
        ("foo", "1.2", "bar>=2", "import:bigquery/distribution_metadata"),
        ("foo", "1.2", 'baz; extra == "x"', "import:bigquery/distribution_metadata"),
    ]


def test_bigquery_bad_row_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text('{"name": "a", "version": "1", "requires_dist": []}\n{"name": "b", \n')
    with pytest.raises(ImportFormatError, match=r"export.jsonl:2: not JSON"):
        import_bigquery(path, Store(tmp_path / "s.sqlite"))


@pytest.mark.slow
def test_real_pypi_deps_db_bucket(tmp_path: Path) -> None:
    """One real bucket of the 2023 mach-nix data set imports without a crash and yields a graph."""
    folder = tmp_path / "one-bucket"
    for kind in ("sdist", "wheel"):
        (folder / kind).mkdir(parents=True)
        src = need_shared(SHARED / "data" / "pypi-deps-db" / kind / "00.json.gz")
        (folder / kind / "00.json.gz").write_bytes(src.read_bytes())
    db = tmp_path / "s.sqlite"
    summary = import_pypi_deps_db(folder, Store(db))
    assert summary.projects > 1000 and summary.requirements > 1000
    g = load_graph(db)
    assert len(g.edges) > 1000
