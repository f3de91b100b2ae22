"""What every pypi-depgraph package shares and nothing more: the store's schema, the connection
type, the definition of a requirement edge, the latest-release rule, and the error base.

Imports the standard library and `packaging` only, so the store, the sandbox and the analysis use it
without pulling in the crawler (or anything heavy).
"""

__all__ = ["__version__"]

__version__ = "0.5.0"
