"""HTTPS end to end, and every byte retried or verified, against real servers on loopback.

- a TLS static mirror (pages, range reads, PEP 658 files) and a TLS XML-RPC changelog, signed by a
  throw-away CA (trustme): trusted through --cert, REQUESTS_CA_BUNDLE or SSL_CERT_FILE, refused
  with one clear line without it;
- a mirror that cuts the first answer on every path, answers ranges with a malformed 206, or is
  listed with a wrong sha256: every release ends known (retried, or read whole and verified), and
  what was not verified says so in the store, the summary and the report.
"""

from __future__ import annotations

import json
import re
import sqlite3
import ssl
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import trustme

from depgraph.cli import main
from depgraph.core.schema import SCHEMA_VERSION
from depgraph.crawler import PYPI_SIMPLE, USER_AGENT
from depgraph.demo.distbuild import DistSpec, write_sdist, write_wheel
from depgraph.store import Store
from tests.lib.faultserver import FlakyMirror
from tests.lib.helpers import dump_store
from tests.lib.mirror import write_static_mirror
from tests.lib.servers import ChangelogServer, IndexServer

SPECS = [
    DistSpec("tls-core", "1.0"),
    DistSpec("tls-http", "2.0", ["tls-core>=1.0"], {"socks": ["pysocks"]}),
    DistSpec("tls-cli", "0.3", ["tls-http[socks]>=2.0", "click>=8"]),
]


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flat")
    for spec in SPECS:
        write_wheel(spec, folder)
        write_sdist(spec, folder)
    return folder


@pytest.fixture(scope="module")
def pep658_mirror(flat: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_static_mirror(flat, tmp_path_factory.mktemp("m658"))


@pytest.fixture(scope="module")
def range_mirror(flat: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No PEP 658 files: wheels' METADATA come by HTTP ranges."""
    return write_static_mirror(flat, tmp_path_factory.mktemp("mrange"), core_metadata=False)


class Certs:
    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        self.leaf = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_pem = folder / "ca.pem"
        self.chain_pem, self.key_pem = folder / "chain.pem", folder / "key.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self.key_pem.write_bytes(self.leaf.private_key_pem.bytes())
        self.chain_pem.write_bytes(b"".join(p.bytes() for p in self.leaf.cert_chain_pems))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.leaf.configure_cert(context)
        return context


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_index(pep658_mirror: Path, certs: Certs) -> Iterator[IndexServer]:
    with IndexServer(
        pep658_mirror, "static", tls=(certs.chain_pem, certs.key_pem, certs.ca_pem)
    ) as server:
        yield server


@pytest.fixture(scope="module")
def tls_range_index(range_mirror: Path, certs: Certs) -> Iterator[IndexServer]:
    with IndexServer(
        range_mirror, "static", tls=(certs.chain_pem, certs.key_pem, certs.ca_pem)
    ) as server:
        yield server


@pytest.fixture(autouse=True)
def no_trust_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)


def crawl(url: str, db: Path, *extra: str) -> int:
    return main(
        [
            "crawl",
            "--index-url",
            url,
            "--db",
            str(db),
            "--all",
            "--sandbox",
            "none",
            "--json",
            *extra,
        ]
    )


def sources(db: Path) -> dict[str, tuple[str, str | None, int | None]]:
    with sqlite3.connect(db) as conn:
        return {
            p: (s, src, v)
            for p, s, src, v in conn.execute(
                "SELECT project, deps_state, metadata_source, deps_verified FROM releases"
            )
        }


def test_tls_index_trusted_through_cert(
    tls_index: IndexServer, certs: Certs, tmp_path: Path
) -> None:
    assert tls_index.url.startswith("https://")
    db = tmp_path / "tls.sqlite"
    assert crawl(tls_index.url, db, "--cert", str(certs.ca_pem)) == 0
    # pages over TLS, then PEP 658 files (hash-verified) over TLS
    assert sources(db) == {s.dist.replace("_", "-"): ("known", "pep658", 1) for s in SPECS}


def test_tls_range_reads(tls_range_index: IndexServer, certs: Certs, tmp_path: Path) -> None:
    db = tmp_path / "ranges.sqlite"
    assert crawl(tls_range_index.url, db, "--cert", str(certs.ca_pem)) == 0
    assert sources(db) == {s.dist.replace("_", "-"): ("known", "wheel-range", 0) for s in SPECS}


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_tls_trust_from_the_environment(
    tls_index: IndexServer,
    certs: Certs,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    monkeypatch.setenv(variable, str(certs.ca_pem))
    assert crawl(tls_index.url, tmp_path / "env.sqlite") == 0


def test_an_untrusted_certificate_is_refused_in_one_line(
    tls_index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "refused.sqlite"
    assert crawl(tls_index.url, db) == 2  # certifi's CAs do not know our throw-away CA
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"depgraph: {tls_index.url}")
    assert "CERTIFICATE_VERIFY_FAILED" in err[0] or "certificate verify failed" in err[0]


def test_a_certificate_signed_by_another_ca_is_refused(
    tls_index: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    assert crawl(tls_index.url, tmp_path / "other.sqlite", "--cert", str(other)) == 2
    assert "certificate verify failed" in capsys.readouterr().err.lower()


def test_tls_changelog_update(
    tls_index: IndexServer, certs: Certs, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The changelog is signed by a second CA: trusted with a bundle of both, refused with the
    index's CA alone, in one line that names the changelog call."""
    db = tmp_path / "update.sqlite"
    assert crawl(tls_index.url, db, "--cert", str(certs.ca_pem)) == 0
    (tmp_path / "changelog-certs").mkdir()
    other = Certs(tmp_path / "changelog-certs")
    both = tmp_path / "both.pem"
    both.write_bytes(certs.ca_pem.read_bytes() + other.ca_pem.read_bytes())
    with ChangelogServer(tls=other.server_context()) as log:
        assert log.url.startswith("https://")
        serial = log.add("tls-core", "new release")
        base = [
            "update",
            "--db",
            str(db),
            "--changelog-url",
            log.url,
            "--sandbox",
            "none",
            "--json",
        ]
        capsys.readouterr()
        assert main([*base, "--cert", str(both)]) == 0
        first = json.loads(capsys.readouterr().out)
        assert first["mode"] == "changelog" and first["consistent_to"] == f"serial {serial}"
        log.add("tls-http", "new release")
        assert main([*base, "--cert", str(both)]) == 0
        second = json.loads(capsys.readouterr().out)
        assert second["projects"] == 1  # only what the changelog named
        assert main([*base, "--cert", str(certs.ca_pem)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"depgraph: {log.url}: changelog_")
        assert "certificate verify failed" in err[0]
    assert log.user_agents and set(log.user_agents) == {USER_AGENT}


def test_cut_bodies_are_retried_on_every_kind_of_request(
    pep658_mirror: Path, range_mirror: Path, tmp_path: Path
) -> None:
    for mirror in (pep658_mirror, range_mirror):
        clean, flaky = (
            tmp_path / f"clean-{mirror.name}.sqlite",
            tmp_path / f"flaky-{mirror.name}.sqlite",
        )
        with FlakyMirror(mirror, cut_once=False) as server:
            assert crawl(server.url, clean) == 0
            server.cut_once = True  # the same server (and URLs), now cutting every first answer
            assert crawl(server.url, flaky) == 0
        kinds = {_kind(path) for path in server.cut}
        expected = {"page", "metadata-file"} if mirror == pep658_mirror else {"page", "wheel"}
        assert expected <= kinds, kinds  # each kind of request was cut once, and retried
        assert dump_store(flaky) == dump_store(clean)
    # whole downloads too (--verify-hashes reads every wheel whole)
    with FlakyMirror(range_mirror) as server:
        db = tmp_path / "flaky-whole.sqlite"
        assert crawl(server.url, db, "--verify-hashes") == 0
    assert any(p.endswith(".whl") for p in server.cut)
    assert {s[0] for s in sources(db).values()} == {"known"}


def _kind(path: str) -> str:
    if path.startswith("/simple/"):
        return "page"
    return "metadata-file" if path.endswith(".metadata") else "wheel"


@pytest.mark.parametrize("fault", ["malformed_206", "short_206"])
def test_an_unusable_range_answer_falls_back_to_a_verified_download(
    range_mirror: Path, tmp_path: Path, fault: str
) -> None:
    wheel = next(
        p.name
        for p in (range_mirror / "packages").iterdir()
        if p.name.startswith("tls_http") and p.name.endswith(".whl")
    )
    faults = {"malformed_206": {wheel}} if fault == "malformed_206" else {}
    shorts = {wheel} if fault == "short_206" else set()
    with FlakyMirror(
        range_mirror, cut_once=False, malformed_206=faults.get(fault), short_206=shorts
    ) as server:
        db = tmp_path / f"{fault}.sqlite"
        assert crawl(server.url, db) == 0
    got = sources(db)
    assert got["tls-http"] == ("known", "wheel-download", 1)
    assert got["tls-core"] == ("known", "wheel-range", 0)
    with sqlite3.connect(db) as conn:
        note = conn.execute("SELECT note FROM releases WHERE project = 'tls-http'").fetchone()[0]
        reqs = {
            r[0]
            for r in conn.execute(
                "SELECT raw FROM requirements q JOIN releases r ON r.id = q.release_id"
                " WHERE r.project = 'tls-http'"
            )
        }
        failures = conn.execute("SELECT count(*) FROM failures").fetchone()[0]
    assert "range read failed" in note
    assert reqs == {"tls-core>=1.0", 'pysocks; extra == "socks"'}
    assert failures == 0  # nothing recorded as failed: the fallback answered


@pytest.fixture
def wrong_hash_mirror(range_mirror: Path, tmp_path: Path) -> Path:
    """The range mirror, but the index lists tls-cli's wheel with a wrong sha256."""
    import shutil

    copy = tmp_path / "wrong-hash"
    shutil.copytree(range_mirror, copy)
    page = copy / "simple" / "tls-cli" / "index.html"
    html = page.read_text()
    wheel_link = re.search(r'href="([^"]+\.whl)#sha256=([0-9a-f]{64})"', html)
    assert wheel_link is not None
    page.write_text(html.replace(wheel_link.group(2), "0" * 64))
    return copy


def test_a_wrong_hash_under_ranges_is_stored_as_unverified(
    wrong_hash_mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "unverified.sqlite"
    with FlakyMirror(wrong_hash_mirror, cut_once=False) as server:
        capsys.readouterr()
        assert crawl(server.url, db) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["releases_by_verification"] == {"unverified": 3}
    assert sources(db)["tls-cli"] == ("known", "wheel-range", 0)  # a range read cannot tell
    assert main(["status", "--db", str(db), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["known_releases_by_verification"] == {"unverified": 3}
    out = tmp_path / "report"
    assert main(["report", "--db", str(db), "--out", str(out), "-q"]) == 0
    packages = pd.read_csv(out / "packages.csv").set_index("name")
    assert packages.loc["tls-cli", "deps_verified"] == 0
    assert (
        json.loads((out / "summary.json").read_text())["projects_with_unverified_dependencies"] == 3
    )


def test_verify_hashes_stores_no_dependencies_from_a_wrong_hash(
    wrong_hash_mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "verified.sqlite"
    with FlakyMirror(wrong_hash_mirror, cut_once=False) as server:
        capsys.readouterr()
        assert crawl(server.url, db, "--verify-hashes") == 0
        wheel_requests = [r for r in server.requests if r[1].endswith(".whl")]
    summary = json.loads(capsys.readouterr().out)
    got = sources(db)
    assert got["tls-core"] == ("known", "wheel-download", 1)
    # tls-cli: the wheel's hash is wrong (no dependencies from it); its sdist's PKG-INFO is
    # static and verified, so that is what the release is read from
    assert got["tls-cli"] == ("known", "sdist-pkg-info", 1)
    assert summary["releases_by_verification"] == {"verified": 3}
    assert summary["failures_by_reason"] == {"wheel:hash-mismatch": 1}
    assert wheel_requests and not any(r[3] for r in wheel_requests)  # whole files, no ranges


def test_verify_hashes_with_only_a_bad_wheel_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = tmp_path / "flat"
    write_wheel(DistSpec("lonely", "1.0", ["attrs"]), flat)
    mirror = write_static_mirror(flat, tmp_path / "mirror", core_metadata=False)
    page = mirror / "simple" / "lonely" / "index.html"
    page.write_text(re.sub(r"sha256=[0-9a-f]{64}", "sha256=" + "1" * 64, page.read_text()))
    db = tmp_path / "lonely.sqlite"
    with FlakyMirror(mirror, cut_once=False) as server:
        assert crawl(server.url, db, "--verify-hashes") == 0
    assert sources(db)["lonely"] == ("failed", None, None)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM requirements").fetchone()[0] == 0
        reasons = [r[0] for r in conn.execute("SELECT stage || ':' || reason FROM failures")]
    assert reasons == ["wheel:hash-mismatch"]


def test_user_agent_names_the_tool_and_the_contact_and_can_be_overridden(
    pep658_mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEPGRAPH_CONTACT", raising=False)
    with FlakyMirror(pep658_mirror, cut_once=False) as server:
        runs = [
            (crawl(server.url, tmp_path / "ua1.sqlite"), len(server.requests)),
            (crawl(server.url, tmp_path / "ua2.sqlite", "--contact", "me@example.org"), 0),
        ]
        runs[1] = (runs[1][0], len(server.requests))
        monkeypatch.setenv("DEPGRAPH_CONTACT", "https://example.org/study")
        runs.append((crawl(server.url, tmp_path / "ua3.sqlite"), len(server.requests)))
        custom = ("--user-agent", "my-study/1.0 (me@x)")
        runs.append((crawl(server.url, tmp_path / "ua4.sqlite", *custom), len(server.requests)))
    assert [rc for rc, _ in runs] == [0, 0, 0, 0]
    agents = [r[2] for r in server.requests]
    ends = [0] + [n for _, n in runs]
    seen = [set(agents[ends[i] : ends[i + 1]]) for i in range(4)]
    assert seen[0] == {USER_AGENT} and re.fullmatch(r"pypi-depgraph/[0-9][^ ]*", USER_AGENT)
    assert seen[1] == {f"{USER_AGENT} (contact: me@example.org)"}
    assert seen[2] == {f"{USER_AGENT} (contact: https://example.org/study)"}
    assert seen[3] == {"my-study/1.0 (me@x)"}


def test_a_crawl_of_pypi_without_a_contact_is_warned_about(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Decided before any request: the warning comes from building the index access."""
    from depgraph.cli import build_parser
    from depgraph.commands.options import index_access

    monkeypatch.delenv("DEPGRAPH_CONTACT", raising=False)
    args = build_parser().parse_args(["crawl", "--project", "x"])
    assert index_access(args, PYPI_SIMPLE).user_agent == USER_AGENT
    assert "crawling pypi.org without a contact" in capsys.readouterr().err
    args = build_parser().parse_args(["crawl", "--project", "x", "--contact", "me@example.org"])
    assert index_access(args, PYPI_SIMPLE).user_agent.endswith("(contact: me@example.org)")
    assert capsys.readouterr().err == ""
    args = build_parser().parse_args(
        ["crawl", "--project", "x", "--index-url", "http://127.0.0.1:1/simple/"]
    )
    index_access(args, args.index_url)
    assert capsys.readouterr().err == ""


def test_every_request_is_counted_404s_included(
    pep658_mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FlakyMirror(pep658_mirror) as server:
        capsys.readouterr()
        rc = main(
            [
                "crawl",
                "--index-url",
                server.url,
                "--db",
                str(tmp_path / "n.sqlite"),
                "--project",
                "tls-core",
                "--project",
                "no-such-name",
                "--sandbox",
                "none",
                "--json",
            ]
        )
        made = len(server.requests)
    assert rc == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["requests"] == made  # cut answers and the 404 included


def test_a_store_of_schema_1_is_migrated(tmp_path: Path) -> None:
    db = tmp_path / "v1.sqlite"
    Store(db).close()
    with sqlite3.connect(db) as conn:  # what a schema-1 store looks like: no deps_verified
        conn.execute("ALTER TABLE releases DROP COLUMN deps_verified")
        conn.execute("ALTER TABLE releases DROP COLUMN entry_points_read")
        conn.execute("ALTER TABLE projects DROP COLUMN page_url")
        conn.execute("ALTER TABLE files DROP COLUMN final_url")
        conn.execute("ALTER TABLE crawl_runs DROP COLUMN owner")
        conn.execute("DROP TABLE entry_points")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.execute("INSERT INTO projects VALUES ('old', 'old', 'x', NULL, NULL, NULL, 'ok', 't')")
        conn.execute(
            "INSERT INTO releases (project, version, yanked, deps_state, files_digest,"
            " extractor_version) VALUES ('old', '1.0', 0, 'known', '', '1')"
        )
    Store(db)
    with sqlite3.connect(db) as conn:
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert version == (str(SCHEMA_VERSION),)
        assert conn.execute("SELECT project, deps_verified FROM releases").fetchall() == [
            ("old", None)
        ]
