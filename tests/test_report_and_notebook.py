"""The analysis end to end: a real crawl of a loopback index -> report files -> the notebook."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from depgraph.cli import main
from depgraph.crawler.access import IndexAccess
from depgraph.store import Store
from depgraph.wiring import run_crawl
from tests.conftest import ROOT, SHARED, need_shared
from tests.lib.servers import IndexServer

SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="module")
def crawled_store(pypiserver_index: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("report") / "crawl.sqlite"
    run_crawl(Store(db), IndexAccess(index_url=pypiserver_index.url), None, progress=False)
    return db


def test_report_command_writes_every_file(
    crawled_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    downloads = tmp_path / "downloads.csv"
    downloads.write_text(
        "project,downloads,installer\ndemo-http,1000,pip\ndemo-http,500,bandersnatch\n"
        "demo-core,10,pip\nsix,99999,pip\npluggy,700,pip\n"
    )
    out = tmp_path / "report"
    assert (
        main(
            [
                "report",
                "--db",
                str(crawled_store),
                "--out",
                str(out),
                "--downloads",
                str(downloads),
                "--graphml",
            ]
        )
        == 0
    )
    for name in (
        "packages.csv",
        "edges.csv",
        "broken_edges.csv",
        "pinning.csv",
        "cycles.csv",
        "missing.csv",
        "summary.json",
        "packages.parquet",
        "degree_distribution.png",
        "top_dependents.png",
        "dependents_vs_downloads.png",
        "graph.graphml",
    ):
        assert (out / name).stat().st_size > 0, name
    packages = pd.read_csv(out / "packages.csv").set_index("name")
    edges = pd.read_csv(out / "edges.csv")
    # demo-socks requires it too, but is pending-sandbox here (no sandbox in this crawl): unknown,
    # not counted
    assert sorted(edges.loc[edges["target"] == "demo-core", "source"]) == [
        "big-wheel",
        "demo-http",
        "demo-static",
        "demo-umbrella",
    ]
    assert packages.loc["demo-core", "direct_dependents"] == 4
    assert packages.loc["demo-missing-plugin", "missing"]
    assert (
        packages.loc["demo-http", "downloads"] == 1500
        and packages.loc["demo-http", "downloads_without_mirrors"] == 1000
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["choices"]["downloads_file"] == str(downloads)
    assert summary["choices"]["include_extras"] is False and summary["choices"]["python"] is None
    dictionary = (out / "README.md").read_text()
    for column in packages.reset_index().columns:  # every column is explained
        assert f"`{column}`" in dictionary or (
            column.endswith("_pct") and "`*_pct`" in dictionary
        ), column
    assert summary["cycles"] == 1 and summary["pinned_applications"] >= 1
    assert (
        summary["projects_with_unknown_dependencies"] == 3
    )  # pending-sandbox: no sandbox in this crawl
    pinning = pd.read_csv(out / "pinning.csv").set_index("name")
    # pins its own demo-* family, but not in lockstep with its own version: not a metapackage
    assert pinning.loc["demo-umbrella", "kind"] == "pinned-application"
    assert packages.loc["demo-umbrella", "role"] == "pinned-application"
    assert summary["filtered_dependents"]["frozen_environments_left_out"] == 0
    each = summary["filtered_dependents"]["each_filter"]
    assert each["frozen_environments"]["top_100_changed"] == 0  # no freezes in this index
    assert "spearman_with_downloads" in each["frozen_environments"]
    assert (packages["direct_dependents_filtered"] <= packages["direct_dependents"]).all()
    assert "demo-core" in capsys.readouterr().out
    import networkx as nx

    g = nx.read_graphml(out / "graph.graphml")
    assert (
        g.has_edge("demo-http", "demo-core") and g.nodes["demo-missing-plugin"]["missing"] is True
    )


def run_notebook(name: str, store: Path, downloads: Path | None) -> nbformat.NotebookNode:
    """Execute notebooks/<name> against `store` (and a downloads file, or none) and return it."""
    nb: nbformat.NotebookNode = nbformat.read(  # type: ignore[no-untyped-call]
        ROOT / "notebooks" / name, as_version=4
    )
    os.environ["DEPGRAPH_DB"] = str(store)
    os.environ["DEPGRAPH_DOWNLOADS"] = str(downloads) if downloads else "/nonexistent/downloads"
    try:
        NotebookClient(
            nb,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(ROOT / "notebooks")}},
        ).execute()
    finally:
        os.environ.pop("DEPGRAPH_DB")
        os.environ.pop("DEPGRAPH_DOWNLOADS", None)
    return nb


def _downloads_file() -> Path | None:
    downloads = SHARED_DATA / "top-pypi-packages" / "top-pypi-packages.min.json"
    # the download comparison cells run where ../shared has the data; the rest runs everywhere
    if os.environ.get("CI") == "true":
        need_shared(downloads)
    return downloads if downloads.exists() else None


def _outputs(nb: nbformat.NotebookNode) -> tuple[str, int]:
    cells = [c for c in nb.cells if c.cell_type == "code"]
    text = "".join(o.get("text", "") for c in cells for o in c.get("outputs", []))
    images = sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
    return text, images


@pytest.mark.parametrize("notebook", ["explore.ipynb", "dependents_vs_downloads.ipynb"])
def test_notebooks_run_against_a_crawled_store(crawled_store: Path, notebook: str) -> None:
    downloads = _downloads_file()
    text, images = _outputs(run_notebook(notebook, crawled_store, downloads))
    if notebook == "explore.ipynb":
        assert "projects (incl. required-but-missing)" in text
    assert ("spearman" in text) == (downloads is not None and notebook == "explore.ipynb")
    # plots render inline: importing analysis leaves the notebook's backend alone
    assert images if notebook == "explore.ipynb" or downloads is not None else True


@pytest.mark.parametrize("notebook", ["explore.ipynb", "dependents_vs_downloads.ipynb"])
def test_notebook_prose_holds_no_figures_of_its_own(notebook: str) -> None:
    """A figure in prose goes stale the day the data changes: figures are computed by the code
    cells (and shown by them), never typed into the text."""
    nb = nbformat.read(ROOT / "notebooks" / notebook, as_version=4)  # type: ignore[no-untyped-call]
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    figures = set(re.findall(r"\d[\d,.]*\d|\d+ ?%", prose))
    assert figures <= {"0.85"}  # (PageRank's damping: a definition's constant, not a finding)
    assert "../shared" not in json.dumps(nb)  # data is found through the parameters only


def test_the_notebooks_figures_are_the_datas(crawled_store: Path, tmp_path: Path) -> None:
    """What dependents_vs_downloads.ipynb says, checked against an independent reading of the
    same store and downloads: packages.csv of `depgraph report`, the downloads file read with
    json, the correlation recomputed with scipy."""
    downloads = _downloads_file()
    nb = run_notebook("dependents_vs_downloads.ipynb", crawled_store, downloads)
    said = "\n".join(
        o["data"]["text/markdown"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "text/markdown" in o.get("data", {})
    )
    report = tmp_path / "report"
    args = ["report", "--db", str(crawled_store), "--out", str(report)]
    assert main([*args, *(["--downloads", str(downloads)] if downloads else [])]) == 0
    packages = pd.read_csv(report / "packages.csv")
    crawled = packages[packages["crawl_state"] == "crawled"]
    holds = re.search(r"holds \*\*([\d,]+) projects\*\* with \*\*([\d,]+) direct", said)
    assert holds, said
    assert int(holds[1].replace(",", "")) == len(crawled)
    assert int(holds[2].replace(",", "")) == crawled["direct_dependents"].sum()
    if downloads is None:
        return
    from packaging.utils import canonicalize_name
    from scipy import stats

    rows = json.loads(downloads.read_text())["rows"]
    counts = {canonicalize_name(r["project"]): int(r["download_count"]) for r in rows}
    both = crawled.assign(dl=crawled["name"].map(counts)).dropna(subset=["dl"])
    both = both[both["dl"] > 0]
    over = re.search(
        r"Over the \*\*([\d,]+) projects\*\* present in both, .* is \*\*(-?[\d.]+)\*\*", said
    )
    if len(both) < 3:
        assert over is None
        return
    assert over, said
    rho = stats.spearmanr(both["direct_dependents"], both["dl"]).statistic
    assert int(over[1].replace(",", "")) == len(both)
    assert over[2] == f"{rho:.2f}"


def test_importing_analysis_leaves_the_matplotlib_backend_alone(
    tmp_path: Path, crawled_store: Path
) -> None:
    code = (
        "import matplotlib; import analysis; from analysis import write_report; "
        f"write_report({str(crawled_store)!r}, {str(tmp_path / 'r')!r}); "
        "print(matplotlib.get_backend())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "MPLBACKEND": "svg"},
        cwd=ROOT,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "svg"
    assert (tmp_path / "r" / "top_dependents.png").stat().st_size > 0


def test_a_script_without_a_main_guard_writes_a_report(tmp_path: Path, crawled_store: Path) -> None:
    """The report checks specifiers in a second process: a plain script (no `if __name__ ==
    "__main__"`), run from another folder, must not be run again by it (multiprocessing's spawn
    would) and the child must find the package this script imported."""
    script = tmp_path / "make_report.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from depgraph.analysis import write_report\n"
        f"summary = write_report({str(crawled_store)!r}, {str(tmp_path / 'r')!r})\n"
        "print(summary['unsatisfiable_edges'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().isdigit()  # printed once: the script ran once
    assert (tmp_path / "r" / "broken_edges.csv").exists()


def test_a_script_beside_files_named_like_standard_modules_writes_a_report(
    tmp_path: Path, crawled_store: Path
) -> None:
    """The specifier check's process gets the script's module search path, whose first folder is
    the script's: a `re.py` or `json.py` there must not hide the standard modules from the child,
    as it does not from the script, which had imported them already."""
    script = tmp_path / "make_report.py"
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from depgraph.analysis import write_report\n"
        "for shadow in ('re', 'json'):\n"
        "    with open(f'{shadow}.py', 'w') as f:\n"
        "        f.write(\"raise ImportError('the wrong module')\\n\")\n"
        f"print(write_report({str(crawled_store)!r}, {str(tmp_path / 'r')!r})['projects'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0
    assert (tmp_path / "re.py").exists()  # (the test did set the trap)


def test_the_report_command_ends_at_once_with_its_output_and_code(
    tmp_path: Path, crawled_store: Path
) -> None:
    """`depgraph report` ends without freeing what it built (`depgraph.cli.run`): what it printed
    (to a pipe: block-buffered) still arrives whole, and the exit codes are the documented ones."""
    command = [sys.executable, "-m", "depgraph", "report", "--out", str(tmp_path / "r")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as usual
    done = subprocess.run(
        [*command, "--db", str(crawled_store), "--json"], capture_output=True, env=env
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)  # the whole JSON document, flushed before the exit
    assert summary["projects"] > 0 and (tmp_path / "r" / "packages.csv").exists()
    failed = subprocess.run(
        [*command, "--db", str(tmp_path / "absent.sqlite")], capture_output=True, text=True, env=env
    )
    assert failed.returncode == 2
    assert failed.stderr.strip().startswith("depgraph: no store at")


def test_a_failed_specifier_check_says_why(tmp_path: Path) -> None:
    from depgraph.analysis.errors import AnalysisError
    from depgraph.analysis.unmet_worker import start_unmet_check

    with pytest.raises(AnalysisError, match=r"specifier check failed.*no store at"):
        start_unmet_check(tmp_path / "absent.sqlite").result()


def test_report_on_an_empty_store_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Store(tmp_path / "empty.sqlite")
    assert (
        main(["report", "--db", str(tmp_path / "empty.sqlite"), "--out", str(tmp_path / "r")]) == 2
    )
    assert "holds no projects yet" in capsys.readouterr().err
    assert (
        main(["report", "--db", str(tmp_path / "absent.sqlite"), "--out", str(tmp_path / "r")]) == 2
    )


def test_report_on_a_graph_without_edges(tmp_path: Path) -> None:
    from depgraph.crawler.importers import import_bigquery

    export = tmp_path / "one.jsonl"
    export.write_text('{"name": "lonely", "version": "1.0", "requires_dist": []}\n')
    import_bigquery(export, Store(tmp_path / "one.sqlite"))
    assert main(["report", "--db", str(tmp_path / "one.sqlite"), "--out", str(tmp_path / "r")]) == 0
    packages = pd.read_csv(tmp_path / "r" / "packages.csv")
    assert packages[
        ["name", "direct_dependents", "transitive_dependents", "role"]
    ].values.tolist() == [["lonely", 0, 0, "leaf"]]


def test_report_with_a_malformed_downloads_file(
    crawled_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "downloads.csv"
    bad.write_text("project,downloads\nrequests,12\nsix,lots\n")
    assert (
        main(
            [
                "report",
                "--db",
                str(crawled_store),
                "--out",
                str(tmp_path / "r"),
                "--downloads",
                str(bad),
            ]
        )
        == 2
    )
    assert (
        f"depgraph: {bad}:3: download count 'lots' is not a whole number" in capsys.readouterr().err
    )
