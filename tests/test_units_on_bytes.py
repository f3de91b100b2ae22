"""Unit tests on saved bytes (tests/data: real distributions of `tiny-lib` and its project page as
pypiserver and simple-repository-server served it): range reads of a wheel, the metadata ladder,
the crawl's work units, the sdist build path, and the cgroup limiter's reading and writing of
cgroup files. A real `Fetcher` runs over `SavedSession`; only the socket is left out."""

from __future__ import annotations

import functools
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from depgraph.core.schema import DepsState, FileKind, RequirementKind
from depgraph.crawler.access import IndexAccess, SandboxAccess
from depgraph.crawler.crawl import ProjectTask
from depgraph.crawler.errors import ArchiveError, ClusterLost, HashMismatchError
from depgraph.crawler.fetch import Fetcher
from depgraph.crawler.index import parse_project_page
from depgraph.crawler.ladder import extract_release
from depgraph.crawler.lazywheel import TAIL, metadata_member, read_wheel_metadata
from depgraph.crawler.sdist_builds import (
    SandboxSummary,
    build_one,
    build_pending,
    edges_from_result,
)
from depgraph.crawler.tasks import BatchResult, _sessions, crawl_batch
from depgraph.sandbox import Limits, SandboxResult
from depgraph.sandbox.cgroups import ProcessLimiter, own_cgroup
from depgraph.store import DistFile, SandboxCandidate, Store
from tests.lib.fakes import SavedSession

DATA = Path(__file__).resolve().parent / "data"
WHEEL = DATA / "tiny_lib-1.0-py3-none-any.whl"
STATIC = DATA / "tiny_lib-1.0.tar.gz"
DYNAMIC = DATA / "tiny_lib-0.9.tar.gz"
BASE = "http://index.test/files/"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def served(*paths: Path, **switches: object) -> SavedSession:
    files = {BASE + p.name: (p.read_bytes(), "application/octet-stream") for p in paths}
    return SavedSession(files, **switches)  # type: ignore[arg-type]


def dist(path: Path, *, sha256: str | None = "real", size: bool = True) -> DistFile:
    wheel = path.suffix == ".whl"
    version = path.name.split("-")[1].removesuffix(".tar.gz")
    return DistFile(
        filename=path.name,
        url=BASE + path.name,
        project="tiny-lib",  # type: ignore[arg-type]
        version=version,
        kind=FileKind.WHEEL if wheel else FileKind.SDIST,
        sha256=digest(path) if sha256 == "real" else sha256,
        size=path.stat().st_size if size else None,
        yanked=False,
        yanked_reason=None,
        requires_python=None,
        core_metadata=False,
        core_metadata_sha256=None,
        upload_time=None,
        pure=wheel,
    )


# --- range reads of a wheel --------------------------------------------------------------------


def test_metadata_by_ranges_reads_a_fraction_of_the_wheel() -> None:
    session = served(WHEEL)
    fetcher = Fetcher(session)
    got = read_wheel_metadata(fetcher, BASE + WHEEL.name, WHEEL.name, digest(WHEEL), None)
    assert got.method == "wheel-range" and got.member == "tiny_lib-1.0.dist-info/METADATA"
    assert b"Requires-Dist: requests>=2.0" in got.data
    assert b"[console_scripts]" in got.entry_points
    assert fetcher.counter.bytes < WHEEL.stat().st_size // 4
    assert session.asked[0] == ("GET", BASE + WHEEL.name, f"bytes=-{TAIL}")


def test_a_server_refusing_suffix_ranges_is_asked_its_size_then_an_explicit_range() -> None:
    session = served(WHEEL, refuse_suffix=True)
    fetcher = Fetcher(session)
    got = read_wheel_metadata(fetcher, BASE + WHEEL.name, WHEEL.name, digest(WHEEL), None)
    assert got.method == "wheel-range"
    assert [a[0] for a in session.asked[:3]] == ["GET", "HEAD", "GET"]
    assert "index.test" in fetcher.no_suffix_ranges


def test_a_server_ignoring_ranges_gives_the_whole_wheel_verified() -> None:
    fetcher = Fetcher(served(WHEEL, ignore_ranges=True))
    got = read_wheel_metadata(fetcher, BASE + WHEEL.name, WHEEL.name, digest(WHEEL), None)
    assert got.method == "wheel-download" and b"Requires-Dist" in got.data
    with pytest.raises(HashMismatchError):
        read_wheel_metadata(fetcher, BASE + WHEEL.name, WHEEL.name, "0" * 64, None)


def test_a_lying_content_range_falls_back_to_the_verified_whole_file() -> None:
    size = WHEEL.stat().st_size
    fetcher = Fetcher(served(WHEEL, claimed_total=512 << 30))
    got = read_wheel_metadata(fetcher, BASE + WHEEL.name, WHEEL.name, digest(WHEEL), size)
    assert got.method == "wheel-download"
    assert got.note is not None and "contradicts the listed size" in got.note
    assert got.fallback == "range-contradicts-size"


def test_a_wheel_needs_exactly_one_top_level_dist_info() -> None:
    assert metadata_member(["a/x.py", "a-1.dist-info/METADATA"]) == "a-1.dist-info/METADATA"
    for names in (["a/x.py"], ["a-1.dist-info/METADATA", "b-1.dist-info/METADATA"]):
        with pytest.raises(ArchiveError):
            metadata_member(names)


# --- the ladder --------------------------------------------------------------------------------


def test_the_ladder_reads_the_wheel_before_the_sdist() -> None:
    found = extract_release(Fetcher(served(WHEEL, STATIC)), [dist(STATIC), dist(WHEEL)])
    assert found.deps_state == DepsState.KNOWN and found.source == "wheel-range"
    assert found.verified is False  # ranges never hold the whole file to check its digest
    runtime = {(e.name, e.extra) for e in found.edges if e.kind != RequirementKind.EXTRA}
    assert runtime == {("requests", None), ("colorama", None)}
    assert {(e.name, e.extra) for e in found.edges if e.kind == RequirementKind.EXTRA} == {
        ("pysocks", "socks")
    }
    assert found.requires_python == ">=3.8"


def test_with_verify_hashes_the_ladder_reads_the_whole_wheel() -> None:
    found = extract_release(Fetcher(served(WHEEL)), [dist(WHEEL)], verify_hashes=True)
    assert (found.source, found.verified) == ("wheel-download", True)
    found = extract_release(Fetcher(served(WHEEL)), [dist(WHEEL, sha256=None)], verify_hashes=True)
    assert found.deps_state == DepsState.FAILED
    assert [f.reason for f in found.failures] == ["no-index-digest"]


def test_a_static_pkg_info_answers_and_a_dynamic_one_waits_for_the_sandbox() -> None:
    found = extract_release(Fetcher(served(STATIC)), [dist(STATIC)])
    assert (found.deps_state, found.source) == (DepsState.KNOWN, "sdist-pkg-info")
    assert {e.name for e in found.edges} >= {"requests", "colorama"}
    waiting = extract_release(Fetcher(served(DYNAMIC)), [dist(DYNAMIC)])
    assert waiting.deps_state == DepsState.PENDING_SANDBOX and waiting.edges == []


def test_a_wheel_that_is_gone_leaves_the_sdist_to_answer() -> None:
    found = extract_release(Fetcher(served(STATIC)), [dist(WHEEL), dist(STATIC)])
    assert found.source == "sdist-pkg-info"
    assert [(f.stage, f.reason) for f in found.failures] == [("wheel", "http-404")]


# --- saved index pages -------------------------------------------------------------------------


def test_saved_pages_of_both_servers_list_the_same_files() -> None:
    html = parse_project_page(
        "tiny-lib",
        (DATA / "tiny-lib.pypiserver.html").read_bytes(),
        "text/html",
        "http://index.test/simple/tiny-lib/",
    )
    json_page = parse_project_page(
        "tiny-lib",
        (DATA / "tiny-lib.pep691.json").read_bytes(),
        "application/vnd.pypi.simple.v1+json",
        "http://index.test/simple/tiny-lib/",
    )
    names = sorted(p.filename for p in html.packages)
    assert (
        names
        == sorted(p.filename for p in json_page.packages)
        == sorted([WHEEL.name, STATIC.name, DYNAMIC.name])
    )
    shas = {p.filename: p.digests.get("sha256") for p in html.packages}
    assert shas[WHEEL.name] == digest(WHEEL)


# --- the crawl's work units --------------------------------------------------------------------


def saved_index() -> SavedSession:
    """tiny-lib's page as pypiserver served it, and the files it links to."""
    page = (DATA / "tiny-lib.pypiserver.html").read_bytes()
    return SavedSession(
        {"http://index.test/simple/tiny-lib/": (page, "text/html")}
        | {
            f"http://index.test/packages/{p.name}": (p.read_bytes(), "application/octet-stream")
            for p in (WHEEL, STATIC, DYNAMIC)
        }
    )


def crawled(session: SavedSession) -> BatchResult:
    access = IndexAccess(index_url="http://index.test/simple/", workers=1)
    _sessions[access] = (session, None)  # the worker's session for this index
    try:
        return crawl_batch(access, [ProjectTask("tiny-lib", known={})])
    finally:
        del _sessions[access]


def test_crawl_batch_reads_a_project_from_its_saved_page() -> None:
    session = saved_index()
    result = crawled(session)
    (record,) = result.records
    states = {
        r.version: (r.extraction.deps_state, r.extraction.source)
        for r in record.releases
        if r.extraction is not None
    }
    assert states == {
        "1.0": (DepsState.KNOWN, "wheel-range"),
        "0.9": (DepsState.PENDING_SANDBOX, None),
    }
    assert result.requests == len(session.asked) and result.bytes_fetched > 0


# --- the sdist build path ----------------------------------------------------------------------


class SavedSandbox:
    """A sandbox whose answers are saved results, keyed by sdist name; `raises` for one that
    breaks (a backend that throws)."""

    name = "saved"
    limits = Limits()

    def __init__(self, answers: dict[str, SandboxResult], raises: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.answers, self.raises = answers, raises
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def extract(self, sdist: Path) -> SandboxResult:
        name = sdist.name.split("-", 1)[1]  # the build path prefixes the release id
        with self.lock:
            self.seen.append(name)
        if name in self.raises:
            raise OSError(f"the sandbox broke on {name}")
        return self.answers[name]


def test_edges_from_a_build_keep_each_line_once_and_name_the_bad_ones() -> None:
    result = SandboxResult(
        True,
        "saved",
        requires_dist=["requests", "requests", 'six; extra == "x"', "not a requirement!"],
        setup_requires=["setuptools"],
    )
    edges, bad = edges_from_result(result)
    assert [(e.name, e.kind, e.extra) for e in edges] == [
        ("requests", RequirementKind.RUN, None),
        ("six", RequirementKind.EXTRA, "x"),
        ("setuptools", RequirementKind.SETUP, None),
    ]
    assert len(bad) == 1 and bad[0].startswith("'not a requirement!'")


def test_a_build_that_breaks_costs_only_its_release_and_is_retried(tmp_path: Path) -> None:
    session = saved_index()
    store = Store(tmp_path / "s.sqlite")
    (record,) = crawled(session).records
    store.write_project(record, "http://index.test/simple/", "test")
    (pending,) = store.sandbox_candidates()
    assert (pending.version, pending.filename) == ("0.9", DYNAMIC.name)
    ok = SandboxResult(True, "saved", method="pep517-metadata", requires_dist=["requests"])

    def build_with(sandbox: SavedSandbox, retry: bool) -> SandboxSummary:
        todo = store.sandbox_candidates(retry_failed=retry)
        with ThreadPoolExecutor(2) as pool:
            build = functools.partial(build_one, Fetcher(session), sandbox, tmp_path)
            return build_pending(store, todo, pool, build, "saved")

    broken = build_with(SavedSandbox({}, raises={DYNAMIC.name}), retry=False)
    assert broken.by_outcome == {"failed:task-failed": 1}
    assert store.sandbox_candidates() == []  # failed: not built again unless asked
    rebuilt = build_with(SavedSandbox({DYNAMIC.name: ok}), retry=True)
    assert rebuilt.by_outcome == {"pep517-metadata": 1}
    counts = store.counts()
    assert counts["releases_by_state"] == {"known": 2}


def test_a_lost_cluster_stops_the_builds(tmp_path: Path) -> None:
    def lost_build(c: SandboxCandidate) -> tuple[SandboxCandidate, SandboxResult]:
        raise ConnectionResetError("scheduler gone")

    todo = SandboxCandidate(1, "tiny-lib", "0.9", DYNAMIC.name, BASE + DYNAMIC.name, None)  # type: ignore[arg-type]
    with ThreadPoolExecutor(1) as pool, pytest.raises(ClusterLost):
        build_pending(
            Store(tmp_path / "s.sqlite"),
            [todo],
            pool,
            lost_build,
            "c",
            lost=lambda exc: isinstance(exc, ConnectionResetError),
        )


def test_the_sandbox_access_is_hashable_data() -> None:
    """A worker keys its sandbox by the access it was sent: equal accesses share one."""
    one, two = SandboxAccess(kind="docker"), SandboxAccess(kind="docker")
    assert one == two and hash(one) == hash(two)


# --- cgroups -----------------------------------------------------------------------------------

V1 = """\
9:name=systemd:/
8:pids:/build
4:memory:/build
1:cpu,cpuacct:/build
0::/
"""
V2 = "0::/user.slice/session-2.scope\n"


def test_own_cgroup_reads_v1_and_v2_membership(tmp_path: Path) -> None:
    assert own_cgroup(V1, "memory", tmp_path) == tmp_path / "memory" / "build"
    assert own_cgroup(V1, "cpu", tmp_path) == tmp_path / "cpu" / "build"
    assert own_cgroup(V1, "blkio", tmp_path) is None
    assert own_cgroup(V2, None, tmp_path) is None  # no v2 hierarchy mounted at the root
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    assert own_cgroup(V2, None, tmp_path) == tmp_path / "user.slice" / "session-2.scope"
    assert own_cgroup("garbage\n\n0::/x\n", None, tmp_path) == tmp_path / "x"


def test_a_v2_group_is_made_beside_ours_with_the_limits_and_removed(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    ours = tmp_path / "user.slice" / "session-2.scope"
    ours.mkdir(parents=True)
    (ours.parent / "cgroup.subtree_control").write_text("cpu memory pids\n")
    membership = tmp_path / "proc-self-cgroup"
    membership.write_text(V2)
    limits = Limits(memory_mb=512, pids=64, cpus=0.5)
    with ProcessLimiter(limits, root=tmp_path, membership=membership) as limiter:
        assert limiter.mode == "cgroup2"
        (group,) = limiter.groups
        assert group.parent == ours.parent
        assert (group / "memory.max").read_text() == str(512 << 20)
        assert (group / "memory.swap.max").read_text() == "0"
        assert (group / "pids.max").read_text() == "64"
        assert (group / "cpu.max").read_text() == "50000 100000"
        argv, options = limiter.launch(["python3", "-c", "pass"])
        assert argv[:2] == ["sh", "-c"] and str(group / "cgroup.procs") in argv[2]
        assert options == {"start_new_session": True}
        (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
        assert limiter.oom_killed()
        (group / "memory.events").unlink()
        for name in ("memory.max", "memory.swap.max", "pids.max", "cpu.max"):
            (group / name).unlink()
    assert not group.exists()


def test_v1_hierarchies_get_one_group_each(tmp_path: Path) -> None:
    for controller in ("memory", "pids", "cpu"):
        (tmp_path / controller / "build").mkdir(parents=True)
    (tmp_path / "memory" / "build" / "memory.memsw.limit_in_bytes").write_text("0")
    membership = tmp_path / "proc-self-cgroup"
    membership.write_text(V1.replace("1:cpu,cpuacct", "1:cpu"))
    limiter = ProcessLimiter(Limits(memory_mb=256), root=tmp_path, membership=membership)
    with limiter:
        assert limiter.mode == "cgroup1" and len(limiter.groups) == 3
        memory = limiter.memory_group
        assert memory is not None
        assert (memory / "memory.limit_in_bytes").read_text() == str(256 << 20)
        (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
        (memory / "memory.failcnt").write_text("2\n")
        assert limiter.oom_killed()  # the limit was hit, even where no kill is counted
        for group in limiter.groups:
            for path in group.iterdir():
                path.unlink()


def test_no_writable_cgroup_means_rlimits(tmp_path: Path) -> None:
    membership = tmp_path / "proc-self-cgroup"
    membership.write_text(V1)  # the hierarchies it names do not exist under tmp_path
    with ProcessLimiter(Limits(), root=tmp_path, membership=membership) as limiter:
        assert limiter.mode == "rlimit" and limiter.groups == []
        argv, options = limiter.launch(["true"])
        assert argv == ["true"] and "preexec_fn" in options
        assert not limiter.oom_killed()
    with ProcessLimiter(Limits(), root=tmp_path, membership=tmp_path / "absent") as limiter:
        assert limiter.mode == "rlimit"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'{"meta": {"api-version": "1.1", "_last-serial": 9}, "projects": [{"name": "A_b",'
            b' "_last-serial": 7}, {"name": "c", "_last-serial": "9"}]}',
            (["a-b", "c"], {"a-b": 7, "c": 9}, 9),
        ),
        # one project without a serial: none of them can be trusted to say what is unchanged
        (
            b'{"meta": {"api-version": "1.0"}, "projects": [{"name": "a", "_last-serial": 7},'
            b' {"name": "b"}]}',
            (["a", "b"], None, None),
        ),
        # a serial that is no plain decimal is no serial
        (
            b'{"meta": {"api-version": "1.1"}, "projects":'
            b' [{"name": "a", "_last-serial": "\\u00b2"}]}',
            (["a"], None, None),
        ),
        # two spellings of one name: it changed when the later one did
        (
            b'{"meta": {"api-version": "1.1"}, "projects": [{"name": "A", "_last-serial": 3},'
            b' {"name": "a", "_last-serial": 5}]}',
            (["a"], {"a": 5}, None),
        ),
    ],
)
def test_a_json_root_gives_names_and_serials(
    body: bytes, expected: tuple[list[str], dict[str, int] | None, int | None]
) -> None:
    from depgraph.crawler.index import _json_root

    listing = _json_root("http://i/simple/", body)
    assert (listing.names, listing.serials, listing.serial) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "not JSON"),
        (b'{"meta": {"api-version": "2.0"}, "projects": []}', "unsupported API version"),
        (b'{"meta": {"api-version": "1.0"}, "projects": [{"nom": "a"}]}', "list of projects"),
        (b'{"meta": {"api-version": "1.0"}, "projects": {"a": 1}}', "list of projects"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
    ],
)
def test_a_bad_json_root_is_a_page_error(body: bytes, message: str) -> None:
    from depgraph.crawler.errors import IndexPageError
    from depgraph.crawler.index import _json_root

    with pytest.raises(IndexPageError, match=message):
        _json_root("http://i/simple/", body)
