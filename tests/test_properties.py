"""Property tests: the parsers of untrusted bytes never crash; bad input comes back as data."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from crawler.errors import IndexPageError
from crawler.index import group_releases, parse_project_page
from crawler.metadata import parse_core_metadata

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
