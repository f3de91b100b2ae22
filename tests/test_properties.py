"""Property tests: the parsers of untrusted bytes never crash; bad input comes back as data."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from depgraph.crawler.errors import IndexPageError
from depgraph.crawler.index import group_releases, parse_project_page
from depgraph.crawler.metadata import parse_core_metadata

FIELDS = [
    "Metadata-Version",
    "Name",
    "Version",
    "Requires-Dist",
    "Requires",
    "Provides-Extra",
    "Dynamic",
    "Requires-Python",
    "Summary",
]

header_lines = st.lists(
    st.tuples(st.sampled_from(FIELDS), st.text(max_size=40)).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    max_size=12,
).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2000), header_lines))
def test_core_metadata_parser_never_raises(data: bytes) -> None:
    meta = parse_core_metadata(data)
    assert all(p.reason for p in meta.problems)
    for edge in meta.edges:
        assert edge.name == edge.name.lower()


CONTENT_TYPES = [
    "text/html",
    "application/vnd.pypi.simple.v1+json",
    "application/vnd.pypi.simple.v1+html",
    "application/json",
    "text/plain",
]

json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "meta",
                    "name",
                    "files",
                    "url",
                    "filename",
                    "hashes",
                    "yanked",
                    "api-version",
                    "core-metadata",
                    "versions",
                    "size",
                ]
            ),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=2000),
        json_like.map(lambda v: __import__("json").dumps(v).encode()),
        st.text(max_size=300).map(
            lambda t: f'<html><a href="{t}">{t}</a></html>'.encode("utf-8", "surrogatepass")
        ),
    ),
    st.sampled_from(CONTENT_TYPES),
)
def test_project_page_parser_raises_only_index_page_error(body: bytes, content_type: str) -> None:
    try:
        page = parse_project_page("demo", body, content_type, "http://127.0.0.1:1/simple/demo/")
    except IndexPageError as exc:
        assert exc.url.endswith("/simple/demo/")
        return
    group_releases(
        canonicalize_name("demo"), page
    )  # whatever parsed, grouping it must not crash either


# versions and specifiers from a small alphabet, so that they meet: pre-, post-, dev- and local
# releases, epochs, and every operator, wildcards included
_releases = st.sampled_from(["1", "1.0", "1.4", "1.4.5", "2", "2.0.1", "10.2"])
_suffixes = st.sampled_from(["", "a1", "rc2", ".post1", ".dev0", "+local.7", "b1.dev3"])
_versions = st.builds(
    lambda epoch, release, suffix: f"{epoch}{release}{suffix}",
    st.sampled_from(["", "", "1!"]),
    _releases,
    _suffixes,
)
_operators = st.sampled_from(["==", "!=", ">=", ">", "<", "<=", "~=", "==*", "!=*", "==="])


def _clause(op: str, version: str) -> str | None:
    if op.endswith("*"):
        public = version.split("+")[0]
        if any(tag in public for tag in ("a", "b", "rc", "post", "dev")):
            return None  # a wildcard takes a plain release prefix
        return f"{op[:-1]}{public}.*"
    if op == "~=" and ("." not in version.split("!")[-1] or "+" in version):
        return None
    if op in ("<", ">", "<=", ">=") and "+" in version:
        return None
    return f"{op}{version}"


_specifiers = st.lists(st.tuples(_operators, _versions), min_size=1, max_size=3).map(
    lambda items: ",".join(c for c in (_clause(op, v) for op, v in items) if c)
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.tuples(_versions, st.booleans()), min_size=1, max_size=8, unique_by=lambda t: t[0]),
    st.lists(_specifiers.filter(bool), min_size=1, max_size=6),
    st.one_of(st.none(), st.integers(min_value=0, max_value=7)),
)
def test_unsatisfiable_edges_agree_with_checking_every_release(
    releases: list[tuple[str, bool]], specifiers: list[str], latest: int | None
) -> None:
    """The shortcuts of `unsatisfiable_edges` (a witness release checked by key intervals, exact
    pins by their text, bisection) give what packaging gives when every known release is tried
    (pre-releases allowed; yanked ones only for an exact pin, PEP 592), whichever release the
    store selected as the latest, or none."""
    import pandas as pd
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    from depgraph.analysis.health import unsatisfiable_edges

    versions = pd.DataFrame(
        [("lib", v, int(y), int(i == latest)) for i, (v, y) in enumerate(releases)],
        columns=["project", "version", "yanked", "is_latest"],
    )
    reqs = pd.DataFrame(
        [(f"app-{i}", "lib", s, None, None) for i, s in enumerate(specifiers)],
        columns=["source", "target", "specifier", "marker", "extra"],
    )
    expected = set()
    for i, text in enumerate(specifiers):
        try:
            spec = SpecifierSet(text)
        except InvalidSpecifier:
            expected.add((f"app-{i}", "bad-specifier"))
            continue
        exact = any(s.operator in ("==", "===") and "*" not in s.version for s in spec)
        pool = [Version(v) for v, y in releases if exact or not y]
        if not any(spec.contains(v, prereleases=True) for v in pool):
            expected.add((f"app-{i}", "no-matching-release"))
    broken = unsatisfiable_edges(reqs, versions)
    assert set(zip(broken["source"], broken["reason"], strict=True)) == expected
    # the report's worker gives the same as rows of its input
    from depgraph.analysis.satisfiable import unmet_reading

    selected = versions[versions["is_latest"] == 1][["project", "version", "yanked"]]
    if selected.empty:  # (none selected: a stand-in that is no witness)
        selected = versions[["project", "version"]].head(1).assign(yanked=1)
    rows = unmet_reading(
        reqs["target"],
        reqs["specifier"],
        lambda names: selected[selected["project"].isin(names)],
        lambda names: versions[["project", "version", "yanked"]],
    ).rows
    assert rows["row"].is_monotonic_increasing
    got = set(zip(reqs["source"].take(rows["row"]), rows["reason"], strict=True))
    assert got == expected


_plain_versions = st.builds(
    lambda epoch, release: f"{epoch}{release}",
    st.sampled_from(["", "1!"]),
    st.sampled_from(["0.9", "1", "1.0", "1.0.0", "1.4", "1.4.5", "1.5", "2", "2.0.1", "10.2"]),
)


@settings(max_examples=600, deadline=None)
@given(_plain_versions, _specifiers.filter(bool))
def test_key_intervals_read_plain_releases_as_packaging_does(version: str, specifier: str) -> None:
    """For a plain final release, a specifier's clauses read as intervals of version keys admit
    exactly what packaging's `contains` admits (pre-releases allowed), clause by clause."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    from depgraph.analysis.satisfiable import _interval

    try:
        clauses = list(SpecifierSet(specifier))
    except InvalidSpecifier:
        return
    release = Version(version)
    for clause in clauses:
        interval = _interval(clause.operator, clause.version)
        if interval is not None:
            assert interval.admits(release._key) == clause.contains(release, prereleases=True), (
                clause,
                release,
            )


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789.a+!²", max_size=12))
def test_plain_release_keys_are_packagings_keys(text: str) -> None:
    """The key read off a plain release text without packaging is packaging's own key."""
    from packaging.version import InvalidVersion, Version

    from depgraph.analysis.satisfiable import _plain_key

    key = _plain_key(text)
    if key is not None:
        assert key == Version(text)._key
    else:
        try:
            version = Version(text)
        except InvalidVersion:
            return
        plain = not (version.pre or version.post or version.dev or version.local or version.epoch)
        assert not plain or text != str(version), text  # a canonical plain text is always read


_names = st.sampled_from(["a", "b", "c", "d", "e"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(_names, st.booleans(), _names, st.sampled_from([None, "x"])),
        max_size=25,
    ),
    st.booleans(),
)
def test_any_version_dependents_count_every_known_release(
    rows: list[tuple[str, bool, str, str | None]], include_extras: bool
) -> None:
    """`direct_dependents_any_version` of a node is the number of other projects with some known
    release (selected or older) listing it, outside extras unless they are included: counted
    here from the rows, by sets."""
    import pandas as pd

    from depgraph.analysis.build import edges_from_requirements
    from depgraph.analysis.graph import from_edge_frame
    from depgraph.analysis.report import any_version_dependents

    frame = pd.DataFrame(
        [(s, "1" if latest else "0", t, "", None, x, "") for s, latest, t, x in rows],
        columns=["source", "version", "target", "specifier", "marker", "extra", "extras"],
    )
    latest = frame[frame["version"] == "1"]
    nodes = pd.DataFrame({"name": ["a", "b", "c", "d", "e"]})
    graph = from_edge_frame(edges_from_requirements(latest), nodes)
    counts = any_version_dependents(
        graph, frame[frame["version"] == "0"], include_extras=include_extras
    )
    expected = {
        name: len({s for s, _, t, x in rows if t == name and s != t and (include_extras or not x)})
        for name in nodes["name"]
    }
    assert dict(zip(graph.names, counts.tolist(), strict=True)) == expected


def test_any_version_dependents_count_a_dependent_once_however_often_it_repeats() -> None:
    """A project whose 256 older releases each list a name is one dependent of it (the counts
    are kept in 8 bits: a sum of the repeats would wrap to 0)."""
    import pandas as pd

    from depgraph.analysis.build import edges_from_requirements
    from depgraph.analysis.graph import from_edge_frame
    from depgraph.analysis.report import any_version_dependents

    nodes = pd.DataFrame({"name": ["a", "b", "x"]})
    latest = pd.DataFrame({"source": ["b"], "target": ["x"], "extra": [None], "marker": [None]})
    graph = from_edge_frame(edges_from_requirements(latest), nodes)
    older = pd.DataFrame(
        {
            "source": ["a"] * 256,
            "target": ["x"] * 256,
            "extra": [None] * 256,
            "marker": [None] * 256,
        }
    )
    assert any_version_dependents(graph, older).tolist() == [0, 0, 2]
