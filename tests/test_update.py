"""Incremental updates against indexes that change between crawls, and crawls killed at random."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from depgraph.cli import main
from depgraph.crawler.access import IndexAccess
from depgraph.crawler.update import Changelog, update
from depgraph.demo import build_demo_index
from depgraph.demo.distbuild import DistSpec, write_sdist, write_wheel
from depgraph.store import Store
from depgraph.store.reader import KeptStoreSource, StoreSource
from depgraph.wiring import crawler_for, run_crawl
from tests.conftest import ROOT
from tests.lib.helpers import dump_store
from tests.lib.mirror import write_static_mirror
from tests.lib.servers import ChangelogServer, IndexServer


def first_state(flat: Path) -> None:
    build_demo_index(flat)
    write_wheel(DistSpec("churn", "1.0", ["demo-core"]), flat)
    write_wheel(DistSpec("churn", "1.1", ["demo-core>=1.1"]), flat)
    write_wheel(DistSpec("doomed", "0.1", ["six"]), flat)
    write_wheel(DistSpec("replaced", "2.0", ["attrs"]), flat)


def change(flat: Path) -> dict[str, str]:
    """Every kind of change an index sees; returns the yanked files for the mirror writer."""
    write_wheel(DistSpec("churn", "1.2", ["demo-core>=1.1", "demo-http"]), flat)  # new release
    write_sdist(
        DistSpec("churn", "1.1", ["demo-core>=1.1"]), flat, "static"
    )  # new file, old release
    (flat / "churn-1.0-py3-none-any.whl").unlink()  # removed release
    (flat / "doomed-0.1-py3-none-any.whl").unlink()  # removed project
    write_wheel(DistSpec("replaced", "2.0", ["attrs", "cattrs"]), flat)  # same filename, new bytes
    write_wheel(DistSpec("newcomer", "0.1", ["churn"]), flat)  # new project
    return {
        "demo_http-2.0-py3-none-any.whl": "security hole",
        "demo_http-2.0.tar.gz": "security hole",
    }  # yanked


def kept_reads(source: StoreSource) -> list[pd.DataFrame]:
    """What a report reads of a store, in one order whatever the database's."""
    columns = ("source", "target", "version", "specifier", "extra", "extras", "id")
    older = source.older_edges()
    return [
        source.nodes(),
        source.requirements(columns=columns).sort_values("id", ignore_index=True),
        older.sort_values(list(older.columns), ignore_index=True),
    ]


def test_update_equals_a_fresh_full_crawl(tmp_path: Path, store_locator: str) -> None:
    """An incremental update of either kind of store equals a fresh crawl into SQLite; what a
    follow's report keeps of its reads, with the projects the update wrote read again, equals
    the store read whole."""
    flat, mirror = tmp_path / "flat", tmp_path / "mirror"
    first_state(flat)
    write_static_mirror(flat, mirror)
    db = store_locator
    with IndexServer(mirror, "static") as server:
        run_crawl(Store(db), IndexAccess(index_url=server.url), None, progress=False)
        with crawler_for(Store(db), IndexAccess(index_url=server.url), progress=False) as crawler:
            unchanged = update(Store(db), crawler)
        assert unchanged.crawl.projects_by_status == {"unchanged": unchanged.crawl.projects}
        assert unchanged.crawl.bytes_fetched < 2000  # 304s and the root page only
        kept = KeptStoreSource.open(db)
        kept_reads(kept)
        yanked = change(flat)
        write_static_mirror(flat, mirror, yanked=yanked)
        store = Store(db)
        with crawler_for(store, IndexAccess(index_url=server.url), progress=False) as crawler:
            result = update(store, crawler)
        written = store.take_written()
        assert written == {"churn", "replaced", "demo-http", "newcomer", "doomed"}
        kept.changed(written)  # only these read again: the same frames as read whole
        for ours, whole in zip(kept_reads(kept), kept_reads(StoreSource(db)), strict=True):
            pd.testing.assert_frame_equal(ours, whole)
        fresh = tmp_path / "fresh.sqlite"
        run_crawl(Store(fresh), IndexAccess(index_url=server.url), None, progress=False)
    assert result.new == ["newcomer"] and result.removed == ["doomed"]
    assert (
        result.crawl.projects_by_status["ok"] == 4
    )  # churn, replaced, demo-http (yanked), newcomer
    assert result.consistent_to and result.consistent_to.startswith("time ")
    incremental, full = dump_store(db), dump_store(fresh)
    assert incremental == full
    releases = {(r[0], r[1]): r for r in incremental["releases"]}
    assert ("churn", "1.0") not in releases and ("churn", "1.2") in releases
    assert releases[("demo-http", "2.0")][2] == 1  # yanked
    reqs = {(r[0], r[3]) for r in incremental["requirements"]}
    assert ("replaced", "cattrs") in reqs


def changelog_server() -> ChangelogServer:
    """A started server; the test stops it in its finally block."""
    return ChangelogServer().__enter__()


JSON = "application/vnd.pypi.simple.v1+json"


def serve_page(
    httpserver: HTTPServer,
    project: str,
    serial: int,
    files: list[dict[str, Any]],
    oneshot: bool = False,
) -> None:
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": project, "files": files})
    expect = httpserver.expect_oneshot_request if oneshot else httpserver.expect_request
    expect(f"/simple/{project}/").respond_with_data(
        body, content_type=JSON, headers={"X-PyPI-Last-Serial": str(serial)}
    )


def serve_root(
    httpserver: HTTPServer, names: list[str], serials: dict[str, int] | None = None
) -> None:
    """The JSON root; with `serials`, each project's `_last-serial` as PyPI gives it."""
    projects = [{"name": n, **({"_last-serial": serials[n]} if serials else {})} for n in names]
    meta: dict[str, object] = {"api-version": "1.1"}
    if serials:
        meta["_last-serial"] = max(serials.values())
    root = {"meta": meta, "projects": projects}
    httpserver.expect_request("/simple/").respond_with_data(json.dumps(root), content_type=JSON)


def test_root_serials_tell_what_changed_without_xmlrpc(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """PEP 691 JSON root with `_last-serial` per project: one request for the whole index, then
    only the projects whose serial moved; a page older than the root's serial is a stale CDN copy,
    retried; a project that left the root is removed. No changelog is asked."""
    alpha = write_wheel(DistSpec("alpha", "1.0", ["six"]), tmp_path)
    beta = write_wheel(DistSpec("beta", "0.1", ["alpha"]), tmp_path)

    def entry(wheel: Path) -> dict[str, Any]:
        return {
            "filename": wheel.name,
            "url": httpserver.url_for(f"/files/{wheel.name}"),
            "hashes": {},
        }

    for wheel in (alpha, beta):
        httpserver.expect_request(f"/files/{wheel.name}").respond_with_data(wheel.read_bytes())
    serve_root(httpserver, ["alpha", "beta", "gone"], {"alpha": 10, "beta": 11, "gone": 5})
    serve_page(httpserver, "alpha", 10, [entry(alpha)])
    serve_page(httpserver, "beta", 11, [])
    serve_page(httpserver, "gone", 5, [])
    store = Store(tmp_path / "s.sqlite")
    access = IndexAccess(index_url=httpserver.url_for("/simple/"))
    with crawler_for(store, access, progress=False) as crawler:
        first = update(store, crawler)
    assert first.mode == "root-serials" and first.consistent_to == "serial 11"
    assert first.new == ["alpha", "beta", "gone"]
    # beta moves to serial 12 (its first page answer is the CDN's old copy); gone leaves
    httpserver.clear()
    for wheel in (alpha, beta):
        httpserver.expect_request(f"/files/{wheel.name}").respond_with_data(wheel.read_bytes())
    serve_root(httpserver, ["alpha", "beta"], {"alpha": 10, "beta": 12})
    serve_page(httpserver, "beta", 11, [], oneshot=True)
    serve_page(httpserver, "beta", 12, [entry(beta)], oneshot=True)
    with crawler_for(store, access, progress=False) as crawler:
        second = update(store, crawler)
    asked = [r.path for r, _ in httpserver.log]
    assert asked.count("/simple/") == 1 and "/simple/alpha/" not in asked
    assert asked.count("/simple/beta/") == 2  # stale, then fresh
    assert second.removed == ["gone"] and second.consistent_to == "serial 12"
    assert store.get_meta("consistent_serial") == "12"
    assert store.project_names() == {"alpha", "beta"}
    rows = store.db.execute(
        "SELECT q.name FROM requirements q JOIN releases r ON r.id = q.release_id"
        " WHERE r.project = 'beta'"
    ).fetchall()
    assert rows == [("alpha",)]


def test_changelog_update_skips_unchanged_and_waits_out_stale_pages(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    wheel = write_wheel(DistSpec("alpha", "1.0", ["six"]), tmp_path)
    entry = {
        "filename": wheel.name,
        "url": httpserver.url_for(f"/files/{wheel.name}"),
        "hashes": {},
    }
    log = changelog_server()
    try:
        log.rows = [("alpha", "1.0", 0, "new release", 10), ("beta", "", 0, "create", 11)]
        serve_root(httpserver, ["alpha", "beta"])
        httpserver.expect_request(f"/files/{wheel.name}").respond_with_data(wheel.read_bytes())
        serve_page(httpserver, "alpha", 10, [entry])
        serve_page(httpserver, "beta", 11, [])
        store = Store(tmp_path / "s.sqlite")
        with crawler_for(
            store, IndexAccess(index_url=httpserver.url_for("/simple/")), progress=False
        ) as crawler:
            first = update(
                store, crawler, Changelog(log.url)
            )  # no serial yet: everything, then serial 11
        assert first.new == ["alpha", "beta"] and first.consistent_to == "serial 11"
        # beta changes at serial 12, but the CDN first serves its old page (serial 11): stale
        log.rows.append(("beta", "0.1", 0, "new release", 12))
        httpserver.clear()
        serve_root(httpserver, ["alpha", "beta"])
        beta = write_wheel(DistSpec("beta", "0.1", ["alpha"]), tmp_path)
        httpserver.expect_request(f"/files/{beta.name}").respond_with_data(beta.read_bytes())
        serve_page(httpserver, "beta", 11, [], oneshot=True)
        serve_page(
            httpserver,
            "beta",
            12,
            [
                {
                    "filename": beta.name,
                    "url": httpserver.url_for(f"/files/{beta.name}"),
                    "hashes": {},
                }
            ],
            oneshot=True,
        )
        with crawler_for(
            store, IndexAccess(index_url=httpserver.url_for("/simple/")), progress=False
        ) as crawler:
            second = update(store, crawler, Changelog(log.url))
        asked = [r.path for r, _ in httpserver.log]
        assert "/simple/alpha/" not in asked  # unchanged since serial 11: not fetched
        assert asked.count("/simple/beta/") == 2  # stale, then fresh
        assert second.consistent_to == "serial 12"
        assert store.get_meta("consistent_serial") == "12"
        rows = store.db.execute(
            "SELECT q.name FROM requirements q JOIN releases r ON r.id = q.release_id"
            " WHERE r.project = 'beta'"
        ).fetchall()
        assert rows == [("alpha",)]
    finally:
        log.__exit__()


def test_a_page_that_stays_stale_leaves_the_store_unconsistent(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    serve_root(httpserver, ["gamma"])
    serve_page(httpserver, "gamma", 5, [])
    log = changelog_server()
    try:
        log.rows = [("gamma", "", 0, "create", 5)]
        store = Store(tmp_path / "s.sqlite")
        with crawler_for(
            store, IndexAccess(index_url=httpserver.url_for("/simple/")), progress=False
        ) as crawler:
            assert update(store, crawler, Changelog(log.url)).consistent_to == "serial 5"
        log.rows.append(("gamma", "1.0", 0, "new release", 6))  # the page never catches up
        with crawler_for(
            store, IndexAccess(index_url=httpserver.url_for("/simple/")), progress=False
        ) as crawler:
            crawler.stale_delay = 0.1
            result = update(store, crawler, Changelog(log.url))
        assert result.consistent_to is None and result.crawl.incomplete == 1
        assert store.get_meta("consistent_serial") == "5"
        reasons = [
            r[0] for r in store.db.execute("SELECT reason FROM failures WHERE project = 'gamma'")
        ]
        assert reasons and set(reasons) == {"stale-page"}
    finally:
        log.__exit__()


def crawl_command(index_url: str, db: Path, workers: int) -> list[str]:
    """`depgraph crawl --all` as a separate process, slowed to 12 requests/s."""
    return [
        sys.executable,
        "-m",
        "depgraph",
        "crawl",
        "--index-url",
        index_url,
        "--db",
        str(db),
        "--all",
        "--workers",
        str(workers),
        "--no-progress",
        "--sandbox",
        "none",
        "--max-rps",
        "12",
    ]


@pytest.fixture(scope="module")
def many_projects_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """80 projects of real wheels and static sdists (the kill test needs a crawl of some length,
    with or without ../shared's corpus)."""
    folder = tmp_path_factory.mktemp("many")
    for i in range(80):
        spec = DistSpec(f"many-{i:02d}", "1.0", [f"many-{(i + 1) % 80:02d}>=1"])
        write_wheel(spec, folder)
        write_sdist(spec, folder)
    with IndexServer(folder, "pypiserver") as server:
        yield server


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume(
    many_projects_index: IndexServer, tmp_path: Path
) -> None:
    """The final store equals an uninterrupted crawl's, whatever instant the crawl was killed at."""
    pypiserver_index = many_projects_index
    reference = tmp_path / "reference.sqlite"
    run_crawl(
        Store(reference),
        IndexAccess(index_url=pypiserver_index.url, workers=1),
        None,
        progress=False,
    )
    db = tmp_path / "killed.sqlite"
    # --max-rps stretches the crawl to ~20 s, so that every kill lands mid-crawl
    cmd = crawl_command(pypiserver_index.url, db, workers=2)
    rng = random.Random(1234)
    kills = 0
    for _ in range(14):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 2.0))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 10
    assert subprocess.run(cmd, cwd=ROOT, capture_output=True).returncode == 0
    assert dump_store(db) == dump_store(reference)


def test_sigterm_stops_cleanly_and_resumes(
    many_projects_index: IndexServer, tmp_path: Path
) -> None:
    pypiserver_index = many_projects_index
    db = tmp_path / "term.sqlite"
    cmd = crawl_command(pypiserver_index.url, db, workers=1)
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    time.sleep(2.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted (run again to resume)" in out
    rerun = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0 and "(resumed)" in rerun.stdout


def test_cli_update_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flat, mirror = tmp_path / "flat", tmp_path / "mirror"
    first_state(flat)
    write_static_mirror(flat, mirror)
    db = str(tmp_path / "c.sqlite")
    with IndexServer(mirror, "static") as server:
        assert (
            main(
                [
                    "crawl",
                    "--index-url",
                    server.url,
                    "--db",
                    db,
                    "--all",
                    "--no-progress",
                    "--sandbox",
                    "none",
                ]
            )
            == 0
        )
        capsys.readouterr()
        assert (
            main(
                [
                    "update",
                    "--db",
                    db,
                    "--no-progress",
                    "--sandbox",
                    "none",
                    "--json",
                    "--max-rps",
                    "200",
                ]
            )
            == 0
        )
        out = json.loads(capsys.readouterr().out)
    assert out["mode"] == "conditional" and out["projects_by_status"] == {
        "unchanged": out["projects"]
    }
    assert main(["status", "--db", db, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (
        status["consistent_at"] and status["index_url"] == server.url and status["releases"] == 15
    )
    assert main(["status", "--db", db]) == 0  # the same, as text
    text = capsys.readouterr().out
    assert "15 releases" in text and f"index: {server.url}" in text


def test_follow_keeps_the_store_and_its_report_fresh(tmp_path: Path) -> None:
    """`update --follow --report DIR`, a real process against an index receiving an upload: the
    next cycle reads only what the root's serials say changed, the report is rebuilt, Ctrl-C
    between cycles ends it with exit 0."""
    import subprocess
    import sys
    import time

    import pandas as pd

    from tests.lib.follow_process import FollowProcess
    from tests.lib.serial_index import SerialIndex

    db, report = tmp_path / "s.sqlite", tmp_path / "report"
    with SerialIndex(tmp_path / "files") as index:
        index.publish("lib", "1.0", [])
        index.publish("app", "1.0", ["lib"])
        common = ["--db", str(db), "--sandbox", "none", "-q"]
        crawl = [sys.executable, "-m", "depgraph", "crawl", "--all", "-i", index.url, *common]
        assert subprocess.run(crawl, capture_output=True, timeout=120).returncode == 0
        with FollowProcess("--interval", "1", "--report", str(report), *common) as follow:
            first = follow.next_cycle()
            assert first["cycle"] == 1 and first["mode"] == "root-serials"
            assert first["projects"] == 0 and first["report_seconds"] is not None  # no report yet
            before = len(index.paths)
            uploaded = time.monotonic()
            index.publish("tool", "1.0", ["lib"])
            while not (cycle := follow.next_cycle())["new_projects"]:
                assert cycle["report_seconds"] is None  # nothing changed: the report stands
            lag = time.monotonic() - uploaded
            assert cycle["projects"] == 1 and cycle["report_seconds"] is not None
            assert lag < 30
            packages = pd.read_csv(report / "packages.csv").set_index("name")
            assert packages.loc["lib", "direct_dependents"] == 2
            asked = index.paths[before:]
            assert "/simple/tool/" in asked and "/simple/app/" not in asked
    assert follow.returncode in (0, 130), follow.err
    assert "Traceback" not in follow.err


def test_a_follows_report_equals_a_fresh_report_after_every_kind_of_change(
    tmp_path: Path,
) -> None:
    """A follow rebuilds its report from the reads of the last one with only the projects it
    wrote read again: after new releases (the selected one changing, older ones gaining
    edges), a new project, a removed one and several at once, every file of its report is the
    file a fresh `depgraph report` of the same store writes."""
    from tests.lib.follow_process import FollowProcess
    from tests.lib.serial_index import SerialIndex

    db, report, fresh = tmp_path / "s.sqlite", tmp_path / "report", tmp_path / "fresh"
    common = ["--db", str(db), "--sandbox", "none", "-q"]

    def report_cycle(follow: FollowProcess) -> None:
        """Cycles until one rebuilt the report, then until one changed nothing."""
        while follow.next_cycle()["report_seconds"] is None:
            pass
        while follow.next_cycle()["report_seconds"] is not None:
            pass

    def same_reports() -> None:
        shutil.rmtree(fresh, ignore_errors=True)
        done = subprocess.run(
            [sys.executable, "-m", "depgraph", "report", "--db", str(db), "--out", str(fresh)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        files = sorted(p.name for p in fresh.iterdir() if p.suffix in (".csv", ".json"))
        assert "packages.csv" in files and "edges.csv" in files
        assert files == sorted(p.name for p in report.iterdir() if p.suffix in (".csv", ".json"))
        for name in files:
            if name == "summary.json":  # but the consistency point, which quiet cycles advance
                ours, theirs = (json.loads((d / name).read_text()) for d in (report, fresh))
                for summary in (ours, theirs):
                    assert summary["coverage"].pop("whole_index").startswith("a crawl of the")
                assert ours == theirs
            else:
                assert (report / name).read_bytes() == (fresh / name).read_bytes(), name

    with SerialIndex(tmp_path / "files") as index:
        index.publish("lib", "1.0", [])
        index.publish("app", "1.0", ["lib", "six"])
        index.publish("old", "1.0", ["lib"])
        index.publish("tool", "0.9", ["app>=1"])
        crawl = [sys.executable, "-m", "depgraph", "crawl", "--all", "-i", index.url, *common]
        assert subprocess.run(crawl, capture_output=True, timeout=120).returncode == 0
        with FollowProcess("--interval", "0.5", "--report", str(report), *common) as follow:
            report_cycle(follow)  # the first report: the whole store read
            same_reports()
            # a new selected release: app 1.0's edges become older ones
            index.publish("app", "2.0", ["lib>=1", "attrs", 'rich; extra == "cli"'])
            report_cycle(follow)
            same_reports()
            packages = pd.read_csv(report / "packages.csv").set_index("name")
            # six only app 1.0 required: no node now; attrs is app 2.0's
            assert "six" not in packages.index and packages.loc["attrs", "direct_dependents"] == 1
            index.publish("newbie", "0.1", ["app>=2", "nowhere"])  # a new project
            report_cycle(follow)
            same_reports()
            index.remove("old")  # a project leaves the index
            report_cycle(follow)
            same_reports()
            assert "old" not in set(pd.read_csv(report / "packages.csv")["name"])
            for project, version, requires in (
                ("lib", "2.0", ["six"]),
                ("tool", "1.0", ["app>=3"]),
                ("newbie", "0.2", []),
            ):
                index.publish(project, version, requires)
            report_cycle(follow)
            same_reports()
    assert follow.returncode in (0, 130), follow.err
    assert "Traceback" not in follow.err


def test_follow_reads_the_root_only_when_the_feed_shows_an_upload(tmp_path: Path) -> None:
    """With an RSS feed of uploads, follow mode polls the feed each cycle and reads the root
    (PyPI's: tens of megabytes) only when the feed lists something new."""
    import subprocess
    import sys

    from tests.lib.follow_process import FollowProcess
    from tests.lib.serial_index import SerialIndex

    db = tmp_path / "s.sqlite"
    with SerialIndex(tmp_path / "files") as index:
        index.publish("lib", "1.0", [])
        common = ["--db", str(db), "--sandbox", "none", "-q"]
        crawl = [sys.executable, "-m", "depgraph", "crawl", "--all", "-i", index.url, *common]
        assert subprocess.run(crawl, capture_output=True, timeout=120).returncode == 0
        options = ("--interval", "0.3", "--feed-url", index.feed_url, "--root-every", "3600")
        with FollowProcess(*options, *common) as follow:
            assert follow.next_cycle()["mode"] == "root-serials"  # the first reads the root
            quiet = [follow.next_cycle() for _ in range(5)]
            assert {c["mode"] for c in quiet} == {"feed-quiet"}
            roots = index.paths.count("/simple/")
            index.publish("tool", "1.0", ["lib"])
            while (cycle := follow.next_cycle())["mode"] == "feed-quiet":
                pass
            assert cycle["mode"] == "root-serials" and cycle["new_projects"] == 1
            assert index.paths.count("/simple/") == roots + 1
            # a few cycles more read the root (a CDN may lag behind the feed), then quiet again
            modes = [follow.next_cycle()["mode"] for _ in range(12)]
            assert modes[0] == "root-serials" and modes[-1] == "feed-quiet"
    assert follow.returncode in (0, 130), follow.err
    assert "Traceback" not in follow.err
