"""`python -m depgraph ...` is the `depgraph` command."""

from .cli import main

raise SystemExit(main())
