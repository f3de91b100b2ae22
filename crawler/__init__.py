"""pypi-depgraph crawler: reads a PyPI-compatible index into a durable store."""

__all__ = ["EXTRACTOR_VERSION", "USER_AGENT", "__version__"]

__version__ = "0.1.0"
# Bumped whenever extraction logic changes what it would record, so old rows can be told apart
# (and re-extracted with `crawl --retry-failed` / a re-crawl).
EXTRACTOR_VERSION = "1"
USER_AGENT = f"pypi-depgraph/{__version__} (+dependency-graph crawler)"
