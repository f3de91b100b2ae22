"""Metrics and health flags on small hand-built graphs with known answers, and downloads files."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from depgraph.analysis import (
    DownloadsFormatError,
    compare_downloads,
    cycles,
    dependents_table,
    missing_dependencies,
    read_downloads,
    unsatisfiable_edges,
)
from depgraph.analysis.build import edges_from_requirements, target_environment
from depgraph.analysis.centrality import pagerank
from depgraph.analysis.graph import DependencyGraph, from_edge_frame
from depgraph.analysis.health import self_loops
from depgraph.analysis.pinning import classify_pinning
from depgraph.analysis.reach import transitive_dependents
from depgraph.analysis.report import filtered_dependents
from depgraph.analysis.roles import assign_roles
from depgraph.analysis.synthetic import synthetic_graph


def graph(edges: list[tuple[str, str, bool]], nodes: list[str] | None = None) -> DependencyGraph:
    frame = pd.DataFrame(edges, columns=["source", "target", "via_extra"])
    node_frame = pd.DataFrame({"name": nodes}) if nodes is not None else None
    return from_edge_frame(frame, node_frame)


# app -> web -> http -> core; cli -> http; a <-> b (cycle) -> core; loop -> loop; tool -[extra]->
# web
HAND = [
    ("app", "web", False),
    ("web", "http", False),
    ("http", "core", False),
    ("cli", "http", False),
    ("a", "b", False),
    ("b", "a", False),
    ("b", "core", False),
    ("loop", "loop", False),
    ("tool", "web", True),
    ("tool", "ghost", False),
]
NODES = ["app", "web", "http", "core", "cli", "a", "b", "loop", "tool"]  # ghost is not on the index


@pytest.fixture
def hand() -> pd.DataFrame:
    return dependents_table(graph(HAND, NODES)).set_index("name")


def test_direct_and_transitive_dependents(hand: pd.DataFrame) -> None:
    assert hand.loc["core", "direct_dependents"] == 2  # http, b
    assert hand.loc["core", "transitive_dependents"] == 6  # http, web, app, cli, b, a
    assert hand.loc["http", "transitive_dependents"] == 3  # web, app, cli
    assert (
        hand.loc["a", "transitive_dependents"] == 1 and hand.loc["b", "transitive_dependents"] == 1
    )
    assert hand.loc["loop", "direct_dependents"] == 0  # a self-loop is not a dependent
    assert hand.loc["app", "transitive_dependents"] == 0


def test_extras_only_and_with_extras(hand: pd.DataFrame) -> None:
    assert hand.loc["web", "direct_dependents"] == 1
    assert hand.loc["web", "dependents_via_extras_only"] == 1
    assert hand.loc["web", "direct_dependents_with_extras"] == 2
    with_extras = dependents_table(graph(HAND, NODES), include_extras=True).set_index("name")
    assert with_extras.loc["core", "transitive_dependents"] == 7  # + tool through web


def test_missing_cycles_self_loops() -> None:
    g = graph(HAND, NODES)
    assert missing_dependencies(g).to_dict("records") == [{"name": "ghost", "dependents": 1}]
    assert cycles(g) == [["a", "b"]]
    assert self_loops(g) == ["loop"]


def test_percentiles_and_any_version() -> None:
    latest = graph(HAND, NODES)
    old = graph([*HAND, ("app", "core", False), ("tool", "core", False)], NODES)
    table = dependents_table(latest, any_version=old).set_index("name")
    assert table.loc["core", "direct_dependents_any_version"] == 4
    assert table.loc["core", "direct_dependents_pct"] == 1.0
    assert 0 < table.loc["app", "direct_dependents_pct"] < 1


@pytest.mark.parametrize("seed", range(4))
def test_transitive_matches_networkx_ancestors(seed: int) -> None:
    g = nx.gnp_random_graph(400, 0.006, seed=seed, directed=True)
    dg = DependencyGraph.from_networkx(g)
    expected = np.array([len(nx.ancestors(g, n) - {n}) for n in dg.names])
    adj = dg.adjacency()
    assert (transitive_dependents(adj, words=1, engine="bitsets") == expected).all()  # many chunks
    assert (transitive_dependents(adj, engine="bitsets") == expected).all()
    assert (transitive_dependents(adj, engine="networkit") == expected).all()


def test_pagerank_matches_networkx() -> None:
    g = nx.gnp_random_graph(300, 0.02, seed=3, directed=True)
    dg = DependencyGraph.from_networkx(g)
    ref = nx.pagerank(g)
    assert np.allclose(pagerank(dg.adjacency()), [ref[n] for n in dg.names], atol=1e-9)


def test_synthetic_graph_has_the_requested_shape() -> None:
    g = synthetic_graph(20_000, 80_000, seed=1)
    assert g.n == 20_000 and len(g.edges) == 80_000
    direct = dependents_table(g)["direct_dependents"]
    assert (direct == 0).mean() > 0.5 and direct.max() > 100 * direct.mean()  # heavy tail


def reqs(rows: list[tuple[str, str, str, str | None, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (s, t, "1.0", spec, m, x, "run" if x is None else "extra", f"{t}{spec}")
            for s, t, spec, m, x in rows
        ],
        columns=["source", "target", "version", "specifier", "marker", "extra", "kind", "raw"],
    )


def test_unsatisfiable_edges_handle_prereleases_and_yanks() -> None:
    versions = pd.DataFrame(
        [
            ("lib", "1.0", 0),
            ("lib", "2.0b1", 0),
            ("lib", "3.0", 1),
            ("lib", "5.0-final-r2", 0),  # not PEP 440: matches nothing, as in pip >= 24
            ("pre", "1.0a1", 0),
            ("legacy", "0.85b.dev-r107", 0),
        ],
        columns=["project", "version", "yanked"],
    )
    r = reqs(
        [
            (
                "a",
                "lib",
                ">=1.5",
                None,
                None,
            ),  # only 2.0b1: pip takes a pre-release when nothing else fits
            ("b", "lib", ">=3", None, None),  # only a yanked release: not for a range
            ("c", "lib", "==3.0", None, None),  # yanked but pinned exactly: allowed (PEP 592)
            ("d", "lib", ">=4", None, None),  # nothing
            ("e", "pre", ">=1.0a1", None, None),
            ("f", "elsewhere", ">=1", None, None),  # not on the index: a missing dependency
            ("g", "legacy", ">=0", None, None),  # on the index, but no PEP 440 version
        ]
    )
    broken = unsatisfiable_edges(r, versions)
    assert broken[["source", "reason"]].values.tolist() == [
        ["b", "no-matching-release"],
        ["d", "no-matching-release"],
        ["g", "no-matching-release"],
    ]


def test_pinning_tells_metapackages_freezes_and_pinned_applications() -> None:
    rows: list[tuple[str, str, str, str | None, str | None]] = [
        # pyobjc: its own family, pinned in lockstep (every version here is 1.0)
        ("pyobjc", "pyobjc-core", "==1.0", None, None),
        ("pyobjc", "pyobjc-framework-cocoa", "==1.0", None, None),
        ("pyobjc", "docs", ">=1", None, "docs"),  # extras do not count
        # a pinned application: unrelated projects, a couple of pins
        ("wheelr", "click", "==4.0", None, None),
        ("wheelr", "wheel", "===0.24.0", None, None),
        # not all pinned, or a wildcard: none of the three
        ("half", "x", "==1.0", None, None),
        ("half", "y", ">=2", None, None),
        ("wild", "x", "==1.*", None, None),
    ]
    # a pasted freeze: 25 unrelated exact pins and one loose requirement
    rows += [("nlp-freeze", f"unrelated-{i}", f"=={i}.0", None, None) for i in range(25)]
    rows += [("nlp-freeze", "loose", ">=1", None, None)]
    got = classify_pinning(reqs(rows)).set_index("name")
    assert got["kind"].to_dict() == {
        "pyobjc": "metapackage",
        "wheelr": "pinned-application",
        "nlp-freeze": "frozen-environment",
    }
    assert got.loc["pyobjc", "lockstep"] == 1.0 and got.loc["nlp-freeze", "pins"] == 25


def test_filtered_dependents_leave_frozen_environments_out() -> None:
    rows: list[tuple[str, str, str, str | None, str | None]] = [
        ("freeze", f"lib-{i}", "==1.0", None, None) for i in range(30)
    ]
    rows += [("app", "lib-0", ">=1", None, None)]
    frame = reqs(rows)
    graph = from_edge_frame(edges_from_requirements(frame))
    counts, filters, each = filtered_dependents(graph, classify_pinning(frame))
    assert list(each) == ["frozen_environments"]  # no dates: no age filter
    by_name = dict(zip(graph.names, counts, strict=True))
    assert by_name["lib-0"] == 1 and by_name["lib-1"] == 0  # the freeze's pins carry no signal
    assert filters["frozen_environments_left_out"] == 1 and filters["stale_cutoff"] is None


def test_markers_evaluated_for_a_target_environment() -> None:
    r = reqs(
        [
            ("a", "win", "", 'sys_platform == "win32"', None),
            ("a", "old", "", 'python_version < "3.8"', None),
            ("a", "always", "", None, None),
            ("a", "test", "", 'extra == "test"', "test"),
        ]
    )
    kept = edges_from_requirements(r, target_environment("3.12", "linux"))
    assert kept["target"].tolist() == ["always", "test"]
    assert edges_from_requirements(r, None)["target"].tolist() == ["win", "old", "always", "test"]


def test_roles() -> None:
    table = pd.DataFrame(
        {
            "name": ["lib", "pytest-foo", "meta", "app", "leaf"],
            "direct_dependents": [3, 1, 0, 0, 0],
            "direct_dependencies": [1, 1, 4, 9, 1],
        }
    )
    pinning = pd.DataFrame({"name": ["meta"], "kind": ["metapackage"]})
    assert assign_roles(table, pinning).tolist() == [
        "library",
        "plugin",
        "metapackage",
        "application",
        "leaf",
    ]


# --- downloads --------------------------------------------------------------------------------


def test_downloads_csv_with_installers(tmp_path: Path) -> None:
    path = tmp_path / "bq.csv"
    path.write_text(
        "project,downloads,installer\nRequests,100,pip\nrequests,40,bandersnatch\nsix,5,uv\n"
    )
    d = read_downloads(path).set_index("name")
    assert (
        d.loc["requests", "downloads"] == 140
        and d.loc["requests", "downloads_without_mirrors"] == 100
    )
    assert d.loc["six", "downloads_without_mirrors"] == 5


def test_downloads_json_formats(tmp_path: Path) -> None:
    top = tmp_path / "top.json"
    top.write_text(json.dumps({"rows": [{"project": "Foo_Bar", "download_count": 7}]}))
    assert read_downloads(top).to_dict("records") == [
        {"name": "foo-bar", "downloads": 7, "downloads_without_mirrors": 7}
    ]
    stats = tmp_path / "pypistats.json"
    stats.write_text(
        json.dumps(
            {
                "package": "numpy",
                "type": "overall_downloads",
                "data": [
                    {"category": "with_mirrors", "date": "2024-01-01", "downloads": 10},
                    {"category": "without_mirrors", "date": "2024-01-01", "downloads": 8},
                ],
            }
        )
    )
    assert read_downloads(stats).to_dict("records") == [
        {"name": "numpy", "downloads": 10, "downloads_without_mirrors": 8}
    ]


@pytest.mark.parametrize(
    "content, where, message",
    [
        ("project,downloads\nfoo,12\nbar,many\n", ":3", "not a whole number"),
        ("project,downloads\nfoo,-1\n", ":2", "negative"),
        ("name;count\n", ":1", "lacks a project"),
        ("project,downloads\n,3\n", ":2", "empty project name"),
        ('{"rows": [{"project": "x"}]}', "", "rows[0] lacks"),
        ('{"rows": [', ":1", "not JSON"),
    ],
)
def test_malformed_downloads_name_file_and_line(
    tmp_path: Path, content: str, where: str, message: str
) -> None:
    path = tmp_path / "d.csv"
    path.write_text(content)
    with pytest.raises(DownloadsFormatError) as err:
        read_downloads(path)
    assert f"{path}{where}:" in str(err.value) and message in str(err.value)


def test_compare_downloads_correlation_and_outliers() -> None:
    table = pd.DataFrame(
        {
            "name": list("abcdef"),
            "direct_dependents": [60, 50, 40, 30, 20, 10],
            "role": ["library"] * 6,
        }
    )
    downloads = pd.DataFrame({"name": list("abcdef"), "downloads": [600, 500, 400, 300, 1, 1000]})
    comp = compare_downloads(table, downloads, top_k=2, outliers=1)
    assert comp["projects_compared"] == 6
    assert -1 < float(comp["spearman"]) < 1  # type: ignore[arg-type]
    assert comp["depended_not_downloaded"]["name"].tolist() == ["e"]  # type: ignore[index]
    assert comp["downloaded_not_depended"]["name"].tolist() == ["f"]  # type: ignore[index]


def test_extras_requested_of_a_dependency_bring_its_extra_requirements() -> None:
    rows = pd.DataFrame(
        [
            # cli requires http[socks]; http's socks extra requires socks[fast]; socks' fast extra
            # requires speedups
            ("cli", "http", None, None, "socks"),
            ("http", "core", None, None, ""),
            ("http", "socks", 'extra == "socks"', "socks", "fast"),
            ("socks", "speedups", 'extra == "fast"', "fast", ""),
            ("docs-user", "http", 'extra == "docs"', "docs", "socks"),  # asks through its own extra
        ],
        columns=["source", "target", "marker", "extra", "extras"],
    )
    edges = edges_from_requirements(rows)
    got = set(map(tuple, edges[["source", "target", "via_extra"]].values.tolist()))
    assert ("cli", "socks", False) in got and ("cli", "speedups", False) in got
    assert ("docs-user", "socks", True) in got and ("docs-user", "speedups", True) in got
    table = dependents_table(from_edge_frame(edges)).set_index("name")
    # direct: only what a project's own metadata lists outside extras: nobody lists speedups so
    # (socks through its extra "fast", cli only by asking for http[socks] -> socks[fast])
    assert table.loc["speedups", "direct_dependents"] == 0
    assert table.loc["socks", "direct_dependents"] == 0  # http lists it in an extra only
    assert table.loc["speedups", "dependents_via_requested_extras"] == 1  # cli, at run time
    assert table.loc["socks", "dependents_via_requested_extras"] == 1
    # but cli does reach them, as pip installs http[socks]
    assert table.loc["speedups", "transitive_dependents"] >= 1
    assert table.loc["http", "direct_dependents"] == 1  # cli; docs-user only through an extra


def test_an_own_extra_edge_and_an_implied_one_do_not_make_a_runtime_dependent() -> None:
    """A lists C only in its extra `docs`, and gets C at run time through B[y]: A is not a direct
    (run-time) dependent of C, but it does reach C."""
    rows = pd.DataFrame(
        [
            ("a", "c", 'extra == "docs"', "docs", ""),
            ("a", "b", None, None, "y"),
            ("b", "c", 'extra == "y"', "y", ""),
        ],
        columns=["source", "target", "marker", "extra", "extras"],
    )
    table = dependents_table(from_edge_frame(edges_from_requirements(rows))).set_index("name")
    assert table.loc["c", "direct_dependents"] == 0
    assert table.loc["c", "direct_dependents_with_extras"] == 2  # a (docs) and b (y)
    assert table.loc["c", "dependents_via_requested_extras"] == 1  # a, through b[y]
    assert table.loc["c", "transitive_dependents"] == 1


def test_report_csv_reads_back_as_pandas_own_csv_does(tmp_path: Path) -> None:
    """The report's Arrow CSV writer: every value a pandas reader gets back is what it gets from
    `to_csv`, with commas, quotes, newlines, gaps, booleans, unicode and floats in the fields."""
    from depgraph.analysis.csvout import write_csv

    frame = pd.DataFrame(
        {
            "name": ["plain", 'has "quotes"', "has,comma", "multi\nline", "ünïcode", None],
            "count": [0, 1, 2, 3, 4, 5],
            "share": [0.5, 1.0, float("nan"), 1e-7, 0.026511646809931698, 2.0],
            "flag": [True, False, True, False, True, False],
            "maybe": [True, None, False, None, True, True],
            "text": pd.array(["a", None, "c", "", "e", "f"], dtype="str"),
        }
    )
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(frame, tmp_path / "arrow.csv")
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "arrow.csv"), pd.read_csv(tmp_path / "pandas.csv")
    )


@pytest.fixture(scope="module")
def repeating_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A crawled store whose older releases repeat the same requirements many times, under
    markers and extras."""
    from tests.lib.helpers import crawl_cli
    from tests.lib.serial_index import SerialIndex

    folder = tmp_path_factory.mktemp("repeating")
    with SerialIndex(folder / "files") as index:
        for name in ("lib", "old", "py2", "extra-only"):
            index.publish(name, "1.0", [])
        for n in range(256):  # the repeats of one pair sum to 0 in 8 bits
            index.publish("app", f"0.{n}", ["lib", 'py2; python_version < "3"'])
        index.publish("app", "1.0", ["old; extra == 'x'"])
        index.publish("tool", "0.1", ["extra-only; extra == 'cli'", "app"])
        index.publish("tool", "1.0", [])
        assert crawl_cli(index.url, folder / "s.sqlite", "--all") == 0
    return folder / "s.sqlite"


@pytest.mark.parametrize(
    ("python", "include_extras"), [(None, False), (None, True), ("3.12", False), ("2.7", True)]
)
def test_any_version_counts_of_a_crawled_store_are_its_rows_read_by_sets(
    repeating_store: Path, python: str | None, include_extras: bool
) -> None:
    """`direct_dependents_any_version` of a crawled store equals a reading of the stored rows by
    sets: the projects whose some known release lists the name (markers held for the Python,
    extras only when included)."""
    import sqlite3

    from packaging.markers import Marker

    from depgraph.analysis.report import build_tables

    environment = target_environment(python) if python else None
    packages = build_tables(
        repeating_store, include_extras=include_extras, environment=environment
    ).packages.set_index("name")

    with sqlite3.connect(repeating_store) as conn:
        rows = conn.execute(
            "SELECT r.project, q.name, q.marker, q.extra FROM requirements q"
            " JOIN releases r ON r.id = q.release_id WHERE r.deps_state = 'known'"
            " AND q.kind IN ('run', 'extra')"
        ).fetchall()
    held = {
        (source, target)
        for source, target, marker, extra in rows
        if (include_extras or extra is None)
        and (
            environment is None
            or marker is None
            or Marker(marker).evaluate({**environment, "extra": extra or ""})
        )
        and source != target
    }
    for name in packages.index:
        expected = len({s for s, t in held if t == name})
        assert packages.loc[name, "direct_dependents_any_version"] == expected, name
    assert packages.loc["lib", "direct_dependents_any_version"] == 1
