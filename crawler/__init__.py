"""pypi-depgraph crawler: reads a PyPI-compatible index into a durable store."""

from depgraph.core import __version__

__all__ = [
    "DEFAULT_DEADLINE",
    "EXTRACTOR_VERSION",
    "PYPI_DEFAULT_RPS",
    "PYPI_SIMPLE",
    "USER_AGENT",
    "__version__",
]

# Bumped whenever extraction logic changes what it would record, so old rows can be told apart
# (and re-extracted with `crawl --retry-failed` / a re-crawl).
EXTRACTOR_VERSION = "1"
#: who we are, in every request: the tool and its version; `access.user_agent` adds the contact
#: the user gives (`--contact`, DEPGRAPH_CONTACT), as PyPI asks of crawlers
USER_AGENT = f"pypi-depgraph/{__version__}"
#: seconds one request may take in all (connect, headers, body, urllib3's retries): a server that
#: trickles a byte a second never trips a read timeout, so the whole answer has a deadline
DEFAULT_DEADLINE = 300.0
#: the simple API root of pypi.org
PYPI_SIMPLE = "https://pypi.org/simple/"
#: requests per second against pypi.org when --max-rps is not given. PyPI publishes no limit; this
#: is well under what its CDN serves and what bandersnatch's default 10 workers send
PYPI_DEFAULT_RPS = 10.0
