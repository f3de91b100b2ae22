"""`python -m depgraph ...` is the `depgraph` command."""

from .cli import run

# guarded: a process the report spawns imports this module again, as `__mp_main__`
if __name__ == "__main__":
    run()
