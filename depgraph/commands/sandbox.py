"""`depgraph sandbox`: the sdist build sandbox's image, a one-off extraction, cleanup."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..exitcodes import ExitCode
from ..output import print_json
from .options import Subparsers, add_limit_options, sandbox_access

__all__ = ["add_parser", "run"]


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    sbx = sub.add_parser(
        "sandbox",
        help="the sdist build sandbox: image, one-off extraction, cleanup",
        description="Build sdists in disposable containers (Docker) or bubblewrap, with no "
        "network and CPU/memory/pid/time limits, and report the requirements they declare.",
    )
    sbx_sub = sbx.add_subparsers(dest="sandbox_command", required=True)
    bi = sbx_sub.add_parser(
        "build-image",
        parents=[common],
        help="build the sandbox image offline (debootstrap + docker import)",
    )
    bi.add_argument(
        "--if-missing", action="store_true", help="do nothing when the image and rootfs exist"
    )
    bi.add_argument("--tag", default=None, help="image tag (default pypi-depgraph-sandbox:latest)")
    bi.add_argument(
        "--no-python2",
        action="store_true",
        help="skip the Python 2.7 sandbox (Debian 11's python2.7, for setup.py that only runs on "
        "Python 2)",
    )
    ex = sbx_sub.add_parser(
        "extract",
        parents=[common],
        help="build one sdist in the sandbox and print what it declares as JSON",
    )
    ex.add_argument("sdist", type=Path, help="path of a .tar.gz / .zip sdist")
    ex.add_argument(
        "--backend",
        choices=("auto", "docker", "bwrap"),
        default="auto",
        help="(default %(default)s)",
    )
    ex.add_argument(
        "--python",
        choices=("auto", "3", "2.7"),
        default="auto",
        help="the interpreter that runs the build: auto tries Python 3, then Python 2.7 when the "
        "failure shows Python 2 code (default %(default)s)",
    )
    add_limit_options(ex)
    sbx_sub.add_parser(
        "cleanup", parents=[common], help="remove sandbox containers left behind by a crash"
    )
    sbx.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.sandbox_command == "build-image":
        from depgraph.sandbox.image import build_image

        tag = build_image(
            args.tag or "pypi-depgraph-sandbox:latest",
            if_missing=args.if_missing,
            log=(lambda _: None) if args.json else print,
            python2=not args.no_python2,
        )
        if args.json:
            print_json({"image": tag})
        return ExitCode.OK
    if args.sandbox_command == "cleanup":
        from depgraph.sandbox.cleanup import remove_leftovers

        removed = remove_leftovers()
        if args.json:
            print_json({"removed": removed})
        else:
            print(
                f"removed {len(removed)} leftover sandbox containers"
                + (f": {', '.join(removed)}" if removed else "")
            )
        return ExitCode.OK
    if not args.sdist.is_file():
        raise UsageError(f"no such sdist: {args.sdist}")
    from ..wiring import open_chosen_sandbox

    sandbox = open_chosen_sandbox(sandbox_access(args, kind=args.backend), quiet=True)
    if sandbox is None:  # "auto" on a machine with neither backend (the message was printed)
        return ExitCode.USAGE
    result = sandbox.extract(args.sdist)
    print(result.to_json())  # JSON is this command's only output
    return ExitCode.OK if result.ok else ExitCode.PARTIAL
