"""docs/cli.md, the command-line reference, rendered from the parser itself: every command's
description, usage and options as `depgraph COMMAND --help` prints them (at 100 columns).

    python -m depgraph.clidoc > docs/cli.md
"""

from __future__ import annotations

import argparse
import functools

from .cli import build_parser

__all__ = ["render"]

WIDTH = 100


def _commands(
    parser: argparse.ArgumentParser, prefix: str
) -> list[tuple[str, argparse.ArgumentParser]]:
    """(command line, parser) of every command and subcommand, in the order help lists them."""
    found = [(prefix, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _commands(sub, f"{prefix} {name}")
    return found


def _help(parser: argparse.ArgumentParser) -> str:
    kind = parser.formatter_class
    parser.formatter_class = functools.partial(kind, width=WIDTH)  # type: ignore[call-arg]
    try:
        return parser.format_help().rstrip()
    finally:
        parser.formatter_class = kind


def render() -> str:
    """The reference as Markdown."""
    from . import config

    parts = [
        "# Command-line reference",
        "",
        "Generated from the parser: `python -m depgraph.clidoc > docs/cli.md` (a test keeps it "
        "current).",
        "",
        "## Defaults",
        "",
        *(config.__doc__ or "").strip().splitlines(),
    ]
    for line, parser in _commands(build_parser(), "depgraph"):
        parts += ["", f"## `{line}`", "", "```text", _help(parser), "```"]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    print(render(), end="")
