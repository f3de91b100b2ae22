"""What every pypi-depgraph package shares and nothing more: the store's schema and the error base.

Imports only the standard library, so `sandbox` and `analysis` can use it without pulling in the
crawler (or anything heavy).
"""

__all__ = ["__version__"]

__version__ = "0.2.0"
