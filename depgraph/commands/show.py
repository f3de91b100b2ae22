"""`depgraph show NAME`: one project as the store knows it: its page, releases, sources,
verification, failures, what it lists and how many list it."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..exitcodes import ExitCode
from ..output import print_json
from . import checks
from .options import Subparsers, add_db, existing_store

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "show",
        parents=[common],
        help="one project: releases, sources, failures, dependencies, dependents",
        description="What the store knows of one project: its page, its releases with where "
        "their dependencies came from and whether those bytes were verified, its failures, what "
        "its latest release lists and how many projects list it.",
    )
    p.add_argument("name", type=checks.project_name, help="the project")
    add_db(p)
    p.add_argument(
        "--report",
        type=checks.existing_folder,
        help="a report folder of this store: adds the project's role, transitive dependents, "
        "downloads and installability verdicts",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from packaging.utils import canonicalize_name

    from ..answers import Answers

    name = canonicalize_name(args.name)
    store = existing_store(args.db, reads_only=True)
    record = Answers(store).project(name)
    if record is None:
        raise UsageError(f"{name} is not in the store {store.name}")
    if args.report is not None:
        from ..report_view import ReportView

        record["report"] = ReportView.open(args.report).metrics(name)
    if args.json:
        print_json(record)
        return ExitCode.OK
    print(
        f"{name}: page {record['status']}, {len(record['releases'])} releases, "  # type: ignore[arg-type]
        f"{record['failures']} failures; {record['direct_dependents']} direct dependents "
        f"({record['direct_dependents_with_extras']} with extras)"
    )
    facts = record.get("report") or {}
    assert isinstance(facts, dict)
    for key, value in facts.items():
        if key == "installability":
            for verdict in value:
                detail = f" ({verdict['detail']})" if verdict["detail"] else ""
                print(f"  installable on {verdict['target']}: {verdict['verdict']}{detail}")
        elif value is not None:
            print(f"  {key.replace('_', ' ')}: {value}")
    for rel in record["releases"]:  # type: ignore[attr-defined]
        verified = {1: "verified", 0: "unverified"}.get(rel["deps_verified"], "")
        latest = " (latest)" if rel["is_latest"] else ""
        yanked = " yanked" if rel["yanked"] else ""
        print(
            f"  {rel['version']}{latest}{yanked}: {rel['deps_state']}, "
            f"{rel['metadata_source'] or 'no source'} {verified}".rstrip()
        )
    for req in record["requires"]:  # type: ignore[attr-defined]
        print(f"  requires {req['raw']}")
    return ExitCode.OK
