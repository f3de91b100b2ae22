"""pypi-depgraph, the application: the `depgraph` command line and the wiring that composes the
crawler, the sandbox and the analysis. The packages it composes know nothing of it.
"""

from depgraph.core import __version__

__all__ = ["__version__"]
