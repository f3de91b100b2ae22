"""Core-metadata parsing on bytes: every metadata version, and every kind of bad input."""

from __future__ import annotations

import pytest

from depgraph.core.requirements import parse_requirement
from depgraph.core.schema import RequirementKind
from depgraph.crawler.metadata import parse_core_metadata


def meta(*lines: str, version: str = "2.1") -> bytes:
    return (
        "\n".join([f"Metadata-Version: {version}", "Name: sample", "Version: 1.0", *lines])
        + "\n\nbody\n"
    ).encode()


def test_metadata_1_0_has_no_requirements() -> None:
    m = parse_core_metadata(meta("Summary: old", version="1.0"))
    assert (m.metadata_version, m.name, m.version, m.edges, m.problems) == (
        "1.0",
        "sample",
        "1.0",
        [],
        [],
    )


def test_metadata_1_1_legacy_requires_become_edges() -> None:
    m = parse_core_metadata(meta("Requires: Foo (>=1.0)", "Requires: bar", version="1.1"))
    assert [(e.name, e.specifier, e.kind) for e in m.edges] == [
        ("foo", ">=1.0", "run"),
        ("bar", "", "run"),
    ]


def test_requires_is_ignored_when_requires_dist_is_present() -> None:
    m = parse_core_metadata(meta("Requires: old", "Requires-Dist: new", version="1.2"))
    assert [e.name for e in m.edges] == ["new"]


@pytest.mark.parametrize("version", ["2.1", "2.2", "2.3", "2.4"])
def test_modern_metadata_extras_and_markers(version: str) -> None:
    m = parse_core_metadata(
        meta(
            "Requires-Python: >=3.8",
            "Provides-Extra: Socks",
            "Requires-Dist: urllib3 (<3,>=1.21.1)",
            'Requires-Dist: PySocks!=1.5.7,>=1.5.6; extra == "Socks"',
            "Requires-Dist: importlib-metadata; python_version < \"3.10\" and extra == 'socks'",
            "Requires-Dist: certifi[extra1,extra2]>=2017.4.17",
            version=version,
        )
    )
    assert m.requires_python == ">=3.8"
    got = [(e.name, e.specifier, e.extra, e.kind, e.extras) for e in m.edges]
    assert got == [
        ("urllib3", "<3,>=1.21.1", None, "run", ""),
        ("pysocks", "!=1.5.7,>=1.5.6", "socks", "extra", ""),
        ("importlib-metadata", "", "socks", "extra", ""),
        ("certifi", ">=2017.4.17", None, "run", "extra1,extra2"),
    ]
    assert m.edges[2].marker == 'python_version < "3.10" and extra == "socks"'
    assert m.problems == []


def test_pep643_static_vs_dynamic() -> None:
    assert parse_core_metadata(meta("Requires-Dist: a", version="2.2")).requires_dist_is_static
    assert not parse_core_metadata(
        meta("Dynamic: Requires-Dist", version="2.2")
    ).requires_dist_is_static
    assert not parse_core_metadata(meta("Requires-Dist: a", version="2.1")).requires_dist_is_static


def test_bad_requirement_is_recorded_and_the_rest_kept() -> None:
    m = parse_core_metadata(
        meta("Requires-Dist: pytz (>dev)", "Requires-Dist: good>=1", "Requires-Dist: ???")
    )
    assert [e.name for e in m.edges] == ["good"]
    assert [p.reason for p in m.problems] == ["bad-requirement", "bad-requirement"]
    assert "pytz (>dev)" in m.problems[0].detail and "???" in m.problems[1].detail


def test_non_utf8_is_read_as_latin1_and_recorded() -> None:
    data = meta("Author: Ren\xe9").decode().encode("latin-1") + b""
    data = data.replace(b"Version: 1.0\n", b"Version: 1.0\nRequires-Dist: caf\xe9-lib>=1\n")
    m = parse_core_metadata(data)
    assert m.problems[0].reason == "non-utf8"
    assert m.name == "sample"


def test_duplicated_fields() -> None:
    m = parse_core_metadata(meta("Requires-Dist: a", "Requires-Dist: a", "Name: other"))
    assert [e.name for e in m.edges] == ["a"]
    reasons = sorted(p.reason for p in m.problems)
    assert reasons == ["duplicate-requirement", "unreadable-field"]
    assert m.name == "sample"  # the first Name wins


def test_missing_metadata_version_and_garbage() -> None:
    m = parse_core_metadata(b"\x00\xff garbage without headers")
    assert any(p.reason == "missing-field" for p in m.problems)
    assert m.edges == []


def test_parse_requirement_kind_follows_extra() -> None:
    assert [(e.kind, e.extra) for e in parse_requirement("x; extra == 'dev'")] == [("extra", "dev")]
    assert [e.kind for e in parse_requirement("x", kind=RequirementKind.SETUP)] == ["setup"]


@pytest.mark.parametrize(
    "marker, expected",
    [
        # (base install?, extras) by evaluating the marker, never by reading it
        ('extra == "a" or extra == "b"', [("run", None), ("extra", "a"), ("extra", "b")][1:]),
        ('python_version < "3.8" or extra == "x"', [("run", None), ("extra", "x")]),
        ('extra == "Socks_Proxy" and sys_platform == "win32"', [("extra", "socks-proxy")]),
        ('"dev" == extra', [("extra", "dev")]),
        ('sys_platform == "win32"', [("run", None)]),
        ('extra != "minimal"', [("run", None)]),
        ('(extra == "a" or python_version >= "3") and extra == "b"', [("extra", "b")]),
    ],
)
def test_extra_membership_comes_from_evaluating_the_marker(
    marker: str, expected: list[tuple[str, str | None]]
) -> None:
    edges = parse_requirement(f"dep>=1; {marker}")
    assert [(e.kind, e.extra) for e in edges] == expected
    assert {e.marker for e in edges} == {str(edges[0].marker)}  # the marker is kept whole
