"""The crawler's session reads the environment once per origin, with requests' own rules: proxy
variables, NO_PROXY and ~/.netrc credentials still apply (real loopback servers)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from depgraph.crawler.http import make_session


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    httpserver = HTTPServer(host="127.0.0.1")
    httpserver.start()
    yield httpserver
    httpserver.clear()
    httpserver.stop()


def test_netrc_credentials_are_sent_on_every_request(
    server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login reader password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    token = base64.b64encode(b"reader:s3cret").decode()
    server.expect_request(
        "/simple/", headers={"Authorization": f"Basic {token}"}
    ).respond_with_data("ok")
    session = make_session()
    answers = [session.get(server.url_for("/simple/")).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    assert len(server.log) == 3


def test_a_proxy_from_the_environment_carries_the_requests(
    server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the proxy is the loopback server: it receives the absolute URL of a host that does not exist
    monkeypatch.setenv("HTTP_PROXY", server.url_for("/").rstrip("/"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    server.expect_request("/simple/demo/").respond_with_data("via the proxy")
    session = make_session()
    for _ in range(2):
        answer = session.get("http://index.invalid/simple/demo/", timeout=5)
        assert (answer.status_code, answer.text) == (200, "via the proxy")
    assert [request.host for request, _ in server.log] == ["index.invalid", "index.invalid"]


def test_no_proxy_exempts_its_hosts(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: nothing answers
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.expect_request("/simple/").respond_with_data("direct")
    session = make_session()
    assert session.get(server.url_for("/simple/"), timeout=5).text == "direct"
