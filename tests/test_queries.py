"""The query commands answer with the report's own numbers: for every project of a crawled store,
`dependents` lists exactly as many projects as packages.csv counts (direct, with extras,
transitive); `why` gives a chain of real requirements; `show` what the store holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from depgraph.answers import GraphIndex
from depgraph.store import Store


def depgraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "depgraph", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def crawled(demo_run: tuple[Path, Path]) -> tuple[Path, pd.DataFrame]:
    table = pd.read_csv(demo_run[1] / "packages.csv").set_index("name")
    return demo_run[0], table


def test_dependents_agree_with_the_report_for_every_project(
    crawled: tuple[Path, pd.DataFrame],
) -> None:
    db, table = crawled
    store = Store(db, read_only=True)
    transitive = GraphIndex(str(db))
    counted = {
        name: (
            len(store.listed_by(name)),
            len(store.listed_by(name, extras=True)),
            len(transitive.transitive(name, extras=False)),
        )
        for name in table.index
    }
    expected = {
        name: (
            int(row["direct_dependents"]),
            int(row["direct_dependents_with_extras"]),
            int(row["transitive_dependents"]),
        )
        for name, row in table.iterrows()
    }
    assert counted == expected
    assert any(direct for direct, _, _ in counted.values())  # not a store without edges


def test_the_list_and_its_count_are_one_set(crawled: tuple[Path, pd.DataFrame]) -> None:
    db, table = crawled
    name = str(table["direct_dependents"].idxmax())
    done = depgraph("dependents", name, "--db", str(db), "--json", "--sort", "dependents")
    answer = json.loads(done.stdout)
    assert answer["count"] == len(answer["shown"]) == table.loc[name, "direct_dependents"]
    by = [row["dependents"] for row in answer["shown"]]
    assert by == sorted(by, reverse=True)


def test_why_gives_a_chain_of_real_requirements(crawled: tuple[Path, pd.DataFrame]) -> None:
    db, _ = crawled
    done = depgraph("why", "demo-cli", "demo-core", "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    path = json.loads(done.stdout)["path"]
    assert path[0]["from"] == "demo-cli" and path[-1]["name"] == "demo-core"
    store = Store(db, read_only=True)
    for step in path:  # each edge is what its project's latest release lists
        assert step["raw"] in {r["raw"] for r in store.lists(str(step["from"]))}
    none = depgraph("why", "demo-core", "demo-cli", "--db", str(db))
    assert none.returncode == 1 and none.stdout == "demo-core does not depend on demo-cli\n"


def test_show_says_what_the_store_holds(crawled: tuple[Path, pd.DataFrame]) -> None:
    db, table = crawled
    shown = json.loads(depgraph("show", "demo-http", "--db", str(db), "--json").stdout)
    assert (
        shown["status"] == "ok"
        and shown["direct_dependents"] == table.loc["demo-http", "direct_dependents"]
    )
    assert [r["is_latest"] for r in shown["releases"]] == [1]
    missing = depgraph("show", "no-such-project", "--db", str(db))
    assert (missing.returncode, missing.stderr) == (
        2,
        f"depgraph: no-such-project is not in the store {db}\n",
    )


def test_show_with_a_report_adds_role_reach_and_verdicts(
    demo_run: tuple[Path, Path], tmp_path: Path
) -> None:
    db, _ = demo_run
    report = tmp_path / "report"
    done = depgraph("report", "--db", str(db), "--out", str(report), "--installable", "3.12")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(report / "packages.csv").set_index("name")
    shown = json.loads(
        depgraph("show", "demo-core", "--db", str(db), "--report", str(report), "--json").stdout
    )
    facts = shown["report"]
    assert facts["role"] == table.loc["demo-core", "role"] == "library"
    assert facts["transitive_dependents"] == table.loc["demo-core", "transitive_dependents"]
    assert [v["target"] for v in facts["installability"]] == ["py3.12-linux"]
    versions = [r["version"] for r in shown["releases"]]
    assert versions == sorted(versions, reverse=True)  # newest first
    text = depgraph("show", "demo-core", "--db", str(db), "--report", str(report)).stdout
    assert "  role: library\n" in text and "installable on py3.12-linux: " in text
