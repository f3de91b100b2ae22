"""Crawls of real index servers on loopback, serving real sdists and wheels."""

from __future__ import annotations

import json
import sqlite3
import tarfile
import zipfile
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version

from depgraph.analysis import build_tables, dependents_table, load_graph
from depgraph.cli import main
from depgraph.crawler.access import IndexAccess
from depgraph.crawler.crawl import CrawlSummary
from depgraph.demo.distbuild import DistSpec, write_wheel
from depgraph.store import Store
from depgraph.wiring import run_crawl
from tests.conftest import corpus_entries
from tests.lib.faultserver import FlakyMirror
from tests.lib.helpers import crawl_cli, dump_store, query, requirement_set, stored_requirements
from tests.lib.mirror import write_static_mirror
from tests.lib.servers import IndexServer


def crawl_all(db: Path | str, server: IndexServer, workers: int = 8) -> CrawlSummary:
    return run_crawl(
        Store(db), IndexAccess(index_url=server.url, workers=workers), None, progress=False
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pypiserver_store(
    request: pytest.FixtureRequest,
    pypiserver_index: IndexServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path | str]:
    """The whole index crawled once per module, into each kind of store."""
    if request.param == "sqlite":
        db = tmp_path_factory.mktemp("crawl") / "pypiserver.sqlite"
        crawl_all(db, pypiserver_index)
        yield db
        return
    from tests.lib.pg import fresh_database

    with fresh_database() as url:
        crawl_all(url, pypiserver_index)
        yield url


def test_every_corpus_wheel_matches_stored_edges(
    pypiserver_store: Path | str, corpus: list[dict[str, Any]]
) -> None:
    for entry in corpus:
        stored = stored_requirements(pypiserver_store, entry["name"], entry["version"])
        expected = [r for r in entry["requires_dist"] if r != "pytz (>dev)"]  # invalid PEP 508
        assert requirement_set(stored) == requirement_set(expected), entry["name"]


def test_release_counts_states_and_sources(
    pypiserver_store: Path | str, index_folder: Path
) -> None:
    # the corpus' releases when ../shared is there, none in a bare clone: counted either way
    rows = {
        (p, v): (s, src)
        for p, v, s, src in query(
            pypiserver_store, "SELECT project, version, deps_state, metadata_source FROM releases"
        )
    }
    corpus = {(e["name"].lower().replace("_", "-"), e["version"]) for e in corpus_entries()}
    assert len(rows) == len(corpus) + 11 + 2  # corpus + demo releases + fixture extras
    for key in corpus:
        # pypiserver: HTML, ranges, no PEP 658
        assert rows[key] == ("known", "wheel-range"), key
    assert rows[("demo-static", "1.0")] == ("known", "sdist-pkg-info")
    assert rows[("demo-socks", "0.5")] == ("pending-sandbox", None)
    assert rows[("demo-dynamic", "0.2")] == ("pending-sandbox", None)
    [files] = query(pypiserver_store, "SELECT count(*), count(sha256) FROM files")
    # every file stored, each with its sha256
    assert files == (len(list(index_folder.iterdir())), files[0])


def test_celery_bad_requirement_is_recorded(
    pypiserver_store: Path | str, corpus: list[dict[str, Any]]
) -> None:
    rows = query(pypiserver_store, "SELECT reason, detail FROM failures WHERE project = 'celery'")
    assert [r[0] for r in rows] == ["bad-requirement"]
    assert "pytz (>dev)" in str(rows[0][1])


def test_platform_wheels_are_united_with_a_note(pypiserver_store: Path | str) -> None:
    assert sorted(stored_requirements(pypiserver_store, "plat-only", "1.0")) == [
        "numpyish>=1",
        "pywin32ish",
    ]
    [(note,)] = query(pypiserver_store, "SELECT note FROM releases WHERE project = 'plat-only'")
    assert isinstance(note, str) and "disagree" in note


def test_range_reads_fetch_a_fraction_of_a_big_wheel(
    pypiserver_index: IndexServer, tmp_path: Path
) -> None:
    summary = run_crawl(
        Store(tmp_path / "s.sqlite"),
        IndexAccess(index_url=pypiserver_index.url),
        ["big-wheel"],
        progress=False,
    )
    assert summary.releases_by_source == {"wheel-range": 1}
    assert summary.bytes_fetched < 40_000  # the wheel is > 400 kB


def test_crawl_twice_same_rows(
    pypiserver_index: IndexServer, pypiserver_store: Path | str, store_locator: str
) -> None:
    db = store_locator
    crawl_all(db, pypiserver_index)
    first = dump_store(db)
    second_summary = crawl_all(db, pypiserver_index)
    assert dump_store(db) == first == dump_store(pypiserver_store)
    assert second_summary.releases_unchanged == second_summary.releases  # nothing re-extracted


def test_interrupted_crawl_resumes_to_the_same_store(
    pypiserver_index: IndexServer, pypiserver_store: Path | str, store_locator: str
) -> None:
    from depgraph.crawler.crawl import Crawler
    from depgraph.crawler.fetch import Fetcher
    from depgraph.crawler.http import make_session
    from depgraph.crawler.index import IndexClient

    db = store_locator
    seen = []

    def stop_after_five(record: object) -> None:
        seen.append(record)
        if len(seen) == 5:
            raise KeyboardInterrupt

    fetcher = Fetcher(make_session())
    crawler = Crawler(
        Store(db), IndexClient(fetcher, pypiserver_index.url), fetcher, 2, stop_after_five
    )
    first = crawler.crawl(None)
    assert first.interrupted and first.projects == 5
    # projects that finished together with the fifth were committed in its transaction
    committed = len(dump_store(db)["projects"])
    assert committed >= 5
    second = crawl_all(db, pypiserver_index)
    total = len(dump_store(pypiserver_store)["projects"])
    assert second.resumed and second.projects == total - committed  # nothing done twice
    assert dump_store(db) == dump_store(pypiserver_store)


def test_json_index_uses_pep658(
    json_index: IndexServer, tmp_path: Path, corpus: list[dict[str, Any]]
) -> None:
    db = tmp_path / "json.sqlite"
    summary = crawl_all(db, json_index)
    assert summary.releases_by_source["pep658"] >= 40
    for entry in corpus:
        stored = stored_requirements(db, entry["name"], entry["version"])
        expected = [r for r in entry["requires_dist"] if r != "pytz (>dev)"]
        assert requirement_set(stored) == requirement_set(expected), entry["name"]


def test_cli_named_projects_json_summary(
    pypiserver_index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    rc = main(
        [
            "crawl",
            "--index-url",
            pypiserver_index.url,
            "--db",
            str(tmp_path / "c.sqlite"),
            "--project",
            "Demo_Core",  # any spelling: names are canonicalized
            "--project",
            "no-such-project",
            "--json",
            "--no-progress",
        ]
    )
    assert rc == 1  # a requested project the index does not have: named, non-zero
    captured = capsys.readouterr()
    assert "no-such-project" in captured.err
    out = json.loads(captured.out)
    assert out["problem_projects"] == ["no-such-project"]
    assert out["projects_by_status"] == {"ok": 1, "missing": 1}
    assert out["releases"] == 2
    assert out["failures_by_reason"] == {"page:http-404": 1}


def _outside_any_extra(requirement: Requirement) -> bool:
    """An independent reading: no marker, or one that holds with no extra requested on some
    common interpreter and platform."""
    if requirement.marker is None:
        return True
    platforms = (
        ("linux", "Linux", "posix"),
        ("win32", "Windows", "nt"),
        ("darwin", "Darwin", "posix"),
    )
    for python, (platform, system, os_name) in product(("2.7", "3.6", "3.8", "3.12"), platforms):
        env = {
            **default_environment(),
            "python_version": python,
            "python_full_version": f"{python}.0",
            "sys_platform": platform,
            "platform_system": system,
            "os_name": os_name,
            "extra": "",
        }
        if requirement.marker.evaluate(env):  # type: ignore[arg-type]
            return True
    return False


def test_direct_dependents_equal_an_independent_reading_of_the_metadata(
    pypiserver_store: Path | str, index_folder: Path
) -> None:
    """For every project: direct_dependents == the number of projects whose latest release's own
    metadata (read here straight from the wheels and static sdists, not from the store) lists it
    outside any extra."""
    latest: dict[str, tuple[Version, list[Path]]] = {}
    for f in index_folder.iterdir():
        if f.name.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(f.name)
        else:
            name, version = parse_sdist_filename(f.name)
        best = latest.get(name)
        if best is None or version > best[0]:
            latest[name] = (version, [f])
        elif version == best[0]:
            best[1].append(f)
    listing: dict[str, set[str]] = {}
    for project, (_version, files) in latest.items():
        metadata = _own_metadata(files)
        if metadata is None:
            continue  # pending-sandbox: unknown, in the store and here
        for line in metadata.get_all("Requires-Dist") or []:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue  # recorded as bad-requirement by the crawler too
            if _outside_any_extra(req):
                listing.setdefault(canonicalize_name(req.name), set()).add(project)
    table = dependents_table(load_graph(pypiserver_store)).set_index("name")
    expected = {target: len(sources - {target}) for target, sources in listing.items()}
    got = {name: int(n) for name, n in table["direct_dependents"].items() if n}
    assert got == {k: v for k, v in expected.items() if v}


def _own_metadata(files: list[Path]) -> Message | None:
    """A pure wheel's METADATA; else every platform wheel's Requires-Dist together (a release's
    platform wheels may differ); else a static sdist PKG-INFO; else None (unknown)."""
    wheels = sorted(f for f in files if f.name.endswith(".whl"))
    pure = [w for w in wheels if w.name.endswith("-none-any.whl")]
    if wheels:
        merged = Message()
        for wheel in pure[:1] or wheels:
            with zipfile.ZipFile(wheel) as zf:
                member = next(
                    n
                    for n in zf.namelist()
                    if n.endswith(".dist-info/METADATA") and n.count("/") == 1
                )
                for line in message_from_bytes(zf.read(member)).get_all("Requires-Dist") or []:
                    if line not in (merged.get_all("Requires-Dist") or []):
                        merged["Requires-Dist"] = line
        return merged
    for sdist in files:
        if sdist.name.endswith(".tar.gz"):
            with tarfile.open(sdist) as tf:
                info = next(
                    (
                        m
                        for m in tf.getmembers()
                        if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                    ),
                    None,
                )
                if info is None:
                    return None
                handle = tf.extractfile(info)
                assert handle is not None
                meta = message_from_bytes(handle.read())
            version = Version(meta.get("Metadata-Version", "1.0"))
            dynamic = {d.lower() for d in meta.get_all("Dynamic") or []}
            return meta if version >= Version("2.2") and "requires-dist" not in dynamic else None
    return None


@pytest.mark.parametrize("pep658", [False, True])
def test_console_scripts_are_stored_and_make_applications(tmp_path: Path, pep658: bool) -> None:
    """Read with the range reads that fetch METADATA; behind PEP 658 files only with
    --entry-points. A project with console scripts and no dependents is an application."""
    flat = tmp_path / "flat"
    write_wheel(DistSpec("tool", "1.0", ["lib-a"], scripts={"tool": "tool.cli:main"}), flat)
    write_wheel(DistSpec("lib-a", "1.0"), flat)
    mirror = write_static_mirror(flat, tmp_path / "mirror", core_metadata=pep658)
    with FlakyMirror(mirror, cut_once=False) as server:
        for db, extra in (
            (tmp_path / "plain.sqlite", []),
            (tmp_path / "ep.sqlite", ["--entry-points"]),
        ):
            assert crawl_cli(server.url, db, *extra) == 0
    for db, read in ((tmp_path / "plain.sqlite", not pep658), (tmp_path / "ep.sqlite", True)):
        rows = query(
            db,
            "SELECT r.project, r.entry_points_read, e.grp, e.name, e.value FROM releases r"
            " LEFT JOIN entry_points e ON e.release_id = r.id ORDER BY r.project",
        )
        if read:
            assert rows == [
                ("lib-a", 1, None, None, None),
                ("tool", 1, "console_scripts", "tool", "tool.cli:main"),
            ]
        else:
            assert rows == [("lib-a", None, None, None, None), ("tool", None, None, None, None)]
        table = build_tables(db).packages.set_index("name")
        # with evidence: an application; without it, the dependency count (1) says leaf
        assert table.loc["tool", "role"] == ("application" if read else "leaf")
        assert table.loc["lib-a", "role"] == "library"


def test_a_postgresql_store_reports_as_a_sqlite_store_does(
    pypiserver_index: IndexServer, tmp_path: Path
) -> None:
    """The same crawl into each kind of store: every report file identical, byte for byte."""
    from tests.lib.pg import fresh_database

    with fresh_database() as url:
        outputs = []
        for db in (tmp_path / "s.sqlite", url):
            crawl_all(db, pypiserver_index)
            out = tmp_path / ("pg" if db == url else "sqlite")
            assert main(["report", "--db", str(db), "--out", str(out), "-q"]) == 0
            outputs.append(out)
    sqlite_out, pg_out = outputs
    for name in ("packages.csv", "edges.csv", "broken_edges.csv", "pinning.csv", "missing.csv"):
        assert (sqlite_out / name).read_bytes() == (pg_out / name).read_bytes(), name
    summaries = [json.loads((o / "summary.json").read_text()) for o in outputs]
    stores = [summary["choices"].pop("store") for summary in summaries]
    # each store is consistent as of its own crawl's start: the same words, other seconds
    whole = [str(summary["coverage"].pop("whole_index")) for summary in summaries]
    assert [w.rsplit(" ", 1)[0] for w in whole] == [
        "a crawl of the whole index, consistent as of"
    ] * 2
    assert summaries[0] == summaries[1]
    assert "depgraph:***@" in stores[1]  # the password is never written down


def test_latest_only_and_since_read_only_the_chosen_releases(tmp_path: Path) -> None:
    """`crawl --latest-only` reads the release pip would pick (not a newer pre-release), stores
    the others as listed with `not-read` dependencies, and says so in `status` and the report; a
    later full crawl reads the rest. `--since` reads what was uploaded on or after a day."""
    import subprocess
    import sys

    from tests.lib.serial_index import SerialIndex

    def depgraph(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "depgraph", *args], capture_output=True, text=True, timeout=120
        )

    def states(db: Path) -> dict[tuple[str, str], str]:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT project, version, deps_state FROM releases")
            return {(p, v): s for p, v, s in rows}

    with SerialIndex(tmp_path / "files") as index:
        index.publish("lib", "1.0", [], "2020-01-01T00:00:00Z")
        index.publish("lib", "2.0", ["six"], "2024-01-01T00:00:00Z")
        index.publish("lib", "3.0rc1", ["six"], "2025-01-01T00:00:00Z")
        index.publish("app", "1.0", ["lib>=2"], "2021-01-01T00:00:00Z")
        db = tmp_path / "latest.sqlite"
        common = ("-i", index.url, "--sandbox", "none", "-q")
        done = depgraph("crawl", "--all", "--latest-only", "--db", str(db), *common)
        assert done.returncode == 0, done.stderr
        assert states(db) == {
            ("lib", "1.0"): "not-read",
            ("lib", "2.0"): "known",
            ("lib", "3.0rc1"): "not-read",  # pip passes over a pre-release
            ("app", "1.0"): "known",
        }
        fetched = {p for p in index.paths if p.startswith("/files/")}
        assert not any("1.0-py3" in p and "lib" in p for p in fetched)
        assert "the latest release" in depgraph("status", "--db", str(db)).stdout
        report = tmp_path / "report"
        assert depgraph("report", "--db", str(db), "--out", str(report)).returncode == 0
        choices = json.loads((report / "summary.json").read_text())["choices"]
        assert choices["releases_read_by_the_last_crawl"] == "the latest release"
        # a full crawl afterwards reads what the first one left
        assert depgraph("crawl", "--all", "--db", str(db), *common).returncode == 0
        assert set(states(db).values()) == {"known"}
        since = tmp_path / "since.sqlite"
        done = depgraph("crawl", "--all", "--since", "2024-06-01", "--db", str(since), *common)
        assert done.returncode == 0, done.stderr
        assert states(since) == {
            ("lib", "1.0"): "not-read",
            ("lib", "2.0"): "not-read",
            ("lib", "3.0rc1"): "known",
            ("app", "1.0"): "not-read",
        }
        bad = depgraph("crawl", "--all", "--since", "last week", "--db", str(since), *common)
        assert bad.returncode == 2 and "not a date as YYYY-MM-DD" in bad.stderr
