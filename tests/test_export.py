"""`depgraph export`: the graph and its metrics as Parquet, CSV or SQLite, read back by plain
pyarrow, pandas and sqlite3 (never this tool's code), equal to the report of the same store, every
column described."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest


def depgraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "depgraph", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, Path]) -> tuple[Path, Path]:
    return demo_run


def read_back(folder: Path, fmt: str) -> dict[str, pd.DataFrame]:
    tables = ("packages", "edges", "requirements")
    if fmt == "parquet":
        return {t: pq.read_table(folder / f"{t}.parquet").to_pandas() for t in tables}
    if fmt == "csv":
        return {t: pd.read_csv(folder / f"{t}.csv") for t in tables}
    with sqlite3.connect(folder / "depgraph.sqlite") as conn:
        return {t: pd.read_sql(f"SELECT * FROM {t}", conn) for t in (*tables, "columns")}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "sqlite"])
def test_an_export_is_the_report_and_describes_itself(
    demo: tuple[Path, Path], tmp_path: Path, fmt: str
) -> None:
    db, report = demo
    out = tmp_path / "export"
    done = depgraph("export", "--db", str(db), "--out", str(out), "--format", fmt, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    tables = read_back(out, fmt)
    packages = pd.read_csv(report / "packages.csv")
    edges = pd.read_csv(report / "edges.csv")
    got = tables["packages"].set_index("name")
    assert sorted(got.index) == sorted(packages["name"])
    for column in ("direct_dependents", "transitive_dependents", "direct_dependents_with_extras"):
        assert got[column].astype(int).to_dict() == packages.set_index("name")[column].to_dict()
    pairs = {(r.source, r.target, bool(r.via_extra)) for r in tables["edges"].itertuples()}
    assert pairs == {(r.source, r.target, bool(r.via_extra)) for r in edges.itertuples()}
    assert record["rows"] == {t: len(tables[t]) for t in ("packages", "edges", "requirements")}
    assert (out / "README.md").read_text().startswith("# What every column")
    # every column has a meaning a reader without this tool can look up
    if fmt == "parquet":
        for table in ("packages", "edges", "requirements"):
            schema = pq.read_schema(out / f"{table}.parquet")
            empty = [f.name for f in schema if not (f.metadata or {}).get(b"description")]
            assert empty == [], table
    elif fmt == "sqlite":
        described = tables["columns"]
        assert (described["description"] != "").all()
        assert set(described.loc[described["table_name"] == "packages", "column_name"]) == set(
            tables["packages"].columns
        )


def test_an_export_replaces_an_export_and_nothing_else(
    demo: tuple[Path, Path], tmp_path: Path
) -> None:
    db, _ = demo
    out = tmp_path / "export"
    assert depgraph("export", "--db", str(db), "--out", str(out), "--format", "csv").returncode == 0
    done = depgraph("export", "--db", str(db), "--out", str(out), "--format", "parquet")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "edges.parquet",
        "export.json",
        "packages.parquet",
        "requirements.parquet",
    ]  # the CSV files of the earlier export are gone
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    refused = depgraph("export", "--db", str(db), "--out", str(other))
    assert refused.returncode == 2 and "not an earlier export" in refused.stderr
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
