"""The `depgraph` commands: one module each, its parser beside its handler. A command imports the
crawler, the sandbox or the analysis only when it runs: each costs start-up time (the crawler's
HTTP stack 0.3 s) that other commands never need."""

from __future__ import annotations

from . import (
    crawl,
    demo,
    dependents,
    export,
    failures,
    installable,
    load,
    report,
    sandbox,
    serve,
    show,
    status,
    update,
    why,
)

__all__ = ["COMMANDS"]

#: in the order `depgraph --help` lists them
COMMANDS = (
    crawl,
    update,
    demo,
    status,
    show,
    dependents,
    why,
    failures,
    serve,
    report,
    export,
    installable,
    load,
    sandbox,
)
