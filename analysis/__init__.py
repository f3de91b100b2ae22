"""Analysis of a pypi-depgraph store: reverse-dependency metrics, graph health, downloads, reports.

    from depgraph.analysis import load_graph, dependents_table, compare_downloads, read_downloads
    G = load_graph("crawl.sqlite")            # DependencyGraph; G.to_networkx() for networkx
    table = dependents_table(G)               # one row per project, every metric in a column

Reads the store only; never the network.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time each loads on first use
    from .build import load_graph, target_environment
    from .downloads import compare_downloads, read_downloads
    from .errors import AnalysisError, DownloadsFormatError, EmptyStoreError
    from .export import write_export
    from .graph import DependencyGraph
    from .health import (
        cycles,
        missing_dependencies,
        unknown_dependencies,
        unsatisfiable_edges,
    )
    from .installability import check_installable, installability_table, write_installability
    from .metrics import dependents_table
    from .pinning import classify_pinning
    from .reach import transitive_dependents
    from .report import ReportTables, build_tables, write_report
    from .roles import assign_roles
    from .targets import Target

#: where each public name lives: `import analysis` stays cheap (a worker process that only checks
#: specifiers does not load matplotlib, scipy and networkx)
_HOME = {
    "AnalysisError": "errors",
    "DependencyGraph": "graph",
    "DownloadsFormatError": "errors",
    "EmptyStoreError": "errors",
    "ReportTables": "report",
    "Target": "targets",
    "assign_roles": "roles",
    "build_tables": "report",
    "check_installable": "installability",
    "classify_pinning": "pinning",
    "compare_downloads": "downloads",
    "cycles": "health",
    "dependents_table": "metrics",
    "installability_table": "installability",
    "load_graph": "build",
    "missing_dependencies": "health",
    "read_downloads": "downloads",
    "target_environment": "build",
    "transitive_dependents": "reach",
    "unknown_dependencies": "health",
    "unsatisfiable_edges": "health",
    "write_export": "export",
    "write_installability": "installability",
    "write_report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AnalysisError",
    "DependencyGraph",
    "DownloadsFormatError",
    "EmptyStoreError",
    "ReportTables",
    "Target",
    "assign_roles",
    "build_tables",
    "check_installable",
    "classify_pinning",
    "compare_downloads",
    "cycles",
    "dependents_table",
    "installability_table",
    "load_graph",
    "missing_dependencies",
    "read_downloads",
    "target_environment",
    "transitive_dependents",
    "unknown_dependencies",
    "unsatisfiable_edges",
    "write_export",
    "write_installability",
    "write_report",
]
