"""Analysis of a pypi-depgraph store: reverse-dependency metrics, graph health, downloads, reports.

    from analysis import load_graph, dependents_table, compare_downloads, read_downloads
    G = load_graph("crawl.sqlite")            # DependencyGraph; G.to_networkx() for networkx
    table = dependents_table(G)               # one row per project, every metric in a column

Reads the store only; never the network.
"""

from .build import load_graph, target_environment
from .downloads import compare_downloads, read_downloads
from .errors import AnalysisError, DownloadsFormatError, EmptyStoreError
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
    "write_installability",
    "write_report",
]
