"""`depgraph serve` as a real process on loopback, asked over HTTP and looked at in a real headless
browser: its answers are the report's numbers, its parameters are checked, it cannot write, and a
question that runs too long is stopped."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import requests

from depgraph.core.db import StatementTimeout
from depgraph.store import Store
from tests.lib.service import headless, served


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, Path]) -> tuple[Path, Path]:
    return demo_run


@pytest.fixture(scope="module")
def service(demo: tuple[Path, Path]) -> Iterator[str]:
    db, report = demo
    with served("--db", str(db), "--report", str(report)) as url:
        yield url


def get(url: str, **params: str | int) -> requests.Response:
    return requests.get(url, params=params, timeout=30)


def test_dependents_over_http_are_the_reports_counts(demo: tuple[Path, Path], service: str) -> None:
    table = pd.read_csv(demo[1] / "packages.csv").set_index("name")
    table = table[~table["missing"]]
    for name, row in table.iterrows():
        for params, column in (
            ({}, "direct_dependents"),
            ({"extras": 1}, "direct_dependents_with_extras"),
            ({"transitive": 1}, "transitive_dependents"),
        ):
            answer = get(f"{service}/api/dependents/{name}", **params).json()
            assert answer["count"] == len(answer["shown"]) == row[column], (name, column)
    assert table["direct_dependents"].max() > 0  # not a store without edges


def test_sorting_and_paging_keep_the_list_one_set(service: str) -> None:
    whole = get(f"{service}/api/dependents/demo-core", sort="dependents").json()
    counts = [row["dependents"] for row in whole["shown"]]
    assert counts == sorted(counts, reverse=True) and whole["count"] >= 3
    pages = [
        get(f"{service}/api/dependents/demo-core", sort="dependents", limit=1, offset=i).json()
        for i in range(whole["count"])
    ]
    assert [p["shown"][0] for p in pages] == whole["shown"]
    assert {p["count"] for p in pages} == {whole["count"]}


def test_why_project_failures_and_top(demo: tuple[Path, Path], service: str) -> None:
    path = get(f"{service}/api/why/demo-cli/demo-core").json()["path"]
    assert path[0]["from"] == "demo-cli" and path[-1]["name"] == "demo-core"
    assert get(f"{service}/api/why/demo-core/demo-cli").json()["path"] is None
    project = get(f"{service}/api/project/demo-http").json()
    table = pd.read_csv(demo[1] / "packages.csv").set_index("name")
    assert project["direct_dependents"] == table.loc["demo-http", "direct_dependents"]
    assert (
        project["report"]["transitive_dependents"]
        == table.loc["demo-http", "transitive_dependents"]
    )
    top = get(f"{service}/api/top", limit=3).json()
    expected = table[~table["missing"]].sort_values(
        ["direct_dependents"], ascending=False, kind="stable"
    )
    assert [r["direct_dependents"] for r in top["shown"]] == list(
        expected["direct_dependents"].head(3)
    )
    failures = get(f"{service}/api/failures").json()
    assert failures["failures"] == Store(demo[0], read_only=True).failures()[0]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/project/no-such-project", {}, 404),
        ("/api/project/x';DROP TABLE projects;--", {}, 400),
        ("/api/dependents/demo-core", {"limit": 100000}, 400),
        ("/api/dependents/demo-core", {"limit": "1 OR 1=1"}, 400),
        ("/api/dependents/demo-core", {"sort": "name; DELETE FROM releases"}, 400),
        ("/api/dependents/demo-core", {"transitive": "maybe"}, 400),
        ("/api/failures", {"stage": "page' OR '1'='1"}, 400),
        ("/api/top", {"by": "name"}, 400),
        ("/project/..%2F..%2Fetc%2Fpasswd", {}, 404),
        ("/project/a%00b", {}, 400),
    ],
)
def test_bad_questions_get_a_clear_error(
    service: str, path: str, params: dict[str, str | int], status: int
) -> None:
    answer = get(service + path, **params)
    assert answer.status_code == status
    assert answer.text and "Traceback" not in answer.text


def test_the_service_cannot_write(demo: tuple[Path, Path], service: str) -> None:
    before = hashlib.sha256(demo[0].read_bytes()).hexdigest()
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert requests.request(method, f"{service}/api/top", timeout=30).status_code == 405
    get(f"{service}/api/dependents/demo-core", transitive=1)
    assert hashlib.sha256(demo[0].read_bytes()).hexdigest() == before


def test_listening_beyond_loopback_must_be_asked_for(demo: tuple[Path, Path]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "depgraph", "serve", "--db", str(demo[0]), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "is not loopback: add --public" in done.stderr and "Traceback" not in done.stderr


def test_a_question_past_its_time_is_stopped(demo: tuple[Path, Path]) -> None:
    store = Store(demo[0], read_only=True, statement_seconds=0.2)
    endless = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    )
    with pytest.raises(StatementTimeout, match=r"past 0\.2 s"):
        store.db.execute(endless).fetchone()
    assert store.db.execute("SELECT count(*) FROM projects").fetchone()[0] > 0  # usable after


class _Tables(HTMLParser):
    """The text of each table's cells, by the table's id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._in = dict(attrs).get("id") or ""
            self.tables[self._in] = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None and data.strip():
            self.tables[self._in].append(data.strip())


def test_a_project_page_in_a_real_browser(
    demo: tuple[Path, Path], service: str, tmp_path: Path
) -> None:
    shot = tmp_path / "demo-core.png"
    url = f"{service}/project/demo-core?sort=dependents"
    taken = headless(url, f"--screenshot={shot}", "--window-size=1200,1400", folder=tmp_path)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", taken.stderr
    assert shot.stat().st_size > 10_000  # a page drawn, not a blank canvas
    dom = headless(url, "--dump-dom", folder=tmp_path)
    parsed = _Tables()
    parsed.feed(dom.stdout)
    dependents = get(f"{service}/api/dependents/demo-core", sort="dependents").json()["shown"]
    cells = parsed.tables["dependents"]
    # the browser's table: a header, then each dependent with its count, in the API's order
    assert cells == ["project", "dependents"] + [
        v for row in dependents for v in (row["name"], f"{row['dependents']:,}")
    ]


def test_without_a_report_the_store_alone_answers(demo: tuple[Path, Path], tmp_path: Path) -> None:
    table = pd.read_csv(demo[1] / "packages.csv").set_index("name")
    with served("--db", str(demo[0])) as url:
        top = get(f"{url}/api/top", limit=1000).json()
        assert top["source"] == "store"
        listed = table[table["direct_dependents"] > 0]
        assert {r["name"]: r["direct_dependents"] for r in top["shown"]} == dict(
            listed["direct_dependents"]
        )
        assert get(f"{url}/api/top", by="downloads").status_code == 400
        page = get(f"{url}/project/demo-core")
        assert page.status_code == 200 and "demo-http" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_name_only_listed_has_a_page_but_no_record(demo: tuple[Path, Path], service: str) -> None:
    missing = pd.read_csv(demo[1] / "missing.csv")
    name = str(missing["name"].iloc[0])
    assert get(f"{service}/api/project/{name}").status_code == 404
    page = get(f"{service}/project/{name}")
    assert page.status_code == 200 and "not in the store" in page.text
    assert f"Dependents ({missing['dependents'].iloc[0]:,})" in page.text
