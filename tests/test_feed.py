"""The RSS feed `update --follow` polls between reads of the root: what is new, conditional
requests, and hostile feeds refused with a clear error (served on loopback)."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from depgraph.crawler.errors import FetchError
from depgraph.crawler.feed import MAX_FEED_BYTES, UpdatesFeed, feed_url_for
from depgraph.crawler.http import make_session


def _feed(*items: str) -> str:
    body = "".join(
        f"<item><title>{i}</title><link>https://x.invalid/{i}</link><pubDate>d</pubDate></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'
    )


def _poller(server: HTTPServer) -> UpdatesFeed:
    return UpdatesFeed(server.url_for("/rss/updates.xml"), make_session(pool_size=1, retries=0))


def test_new_items_and_a_quiet_feed(httpserver: HTTPServer) -> None:
    served = {"body": _feed("a 1.0")}
    asked: list[str | None] = []

    def handler(request: Request) -> Response:
        asked.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == f'"{len(served["body"])}"':
            return Response(status=304)
        return Response(
            served["body"], content_type="text/xml", headers={"ETag": f'"{len(served["body"])}"'}
        )

    httpserver.expect_request("/rss/updates.xml").respond_with_handler(handler)
    feed = _poller(httpserver)
    assert feed.changed()  # the first poll: everything is new
    assert not feed.changed()  # 304: nothing new
    served["body"] = _feed("b 2.0", "a 1.0")
    assert feed.changed()
    served["body"] = _feed("a 1.0")  # an item gone and none new: nothing to read
    assert not feed.changed()
    assert asked[0] is None and asked[1] is not None  # conditional after the first


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("<html><body>maintenance</body></html>", "not an RSS feed: its root element is <html>"),
        ("{not xml", "not an RSS feed: ParseError"),
        (
            '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            "<rss><channel><title>&b;</title></channel></rss>",
            "not an RSS feed: EntitiesForbidden",
        ),
        ("<rss><channel>" + "x" * (MAX_FEED_BYTES + 10) + "</channel></rss>", "larger than"),
    ],
    ids=["html", "not-xml", "entity-expansion", "oversized"],
)
def test_a_hostile_feed_is_refused(httpserver: HTTPServer, body: str, says: str) -> None:
    httpserver.expect_request("/rss/updates.xml").respond_with_data(body, content_type="text/xml")
    with pytest.raises(FetchError, match=says.replace("(", r"\(")):
        _poller(httpserver).changed()


def test_a_failing_feed_is_a_fetch_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/rss/updates.xml").respond_with_data("no", status=503)
    with pytest.raises(FetchError, match="503"):
        _poller(httpserver).changed()


def test_the_feed_of_pypi_and_of_nowhere_else() -> None:
    assert feed_url_for("https://pypi.org/simple/") == "https://pypi.org/rss/updates.xml"
    assert feed_url_for("http://127.0.0.1:8080/simple/") is None
