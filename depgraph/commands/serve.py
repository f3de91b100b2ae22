"""`depgraph serve`: the store (and a report) as a read-only HTTP service: a JSON API and pages."""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import UsageError
from ..exitcodes import ExitCode
from . import checks
from .options import Subparsers, add_db, add_downloads, download_counts, existing_store

__all__ = ["add_parser", "run"]

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def add_parser(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve",
        parents=[common],
        help="a read-only HTTP service: JSON API and pages for a browser",
        description="Serves the store read-only on loopback: /api/project/NAME, "
        "/api/dependents/NAME (transitive, extras, sort, limit, offset), /api/why/A/B, "
        "/api/failures, /api/top, and pages at / and /project/NAME. With --report, a report's "
        "metrics, downloads, installability and history join the pages. Stops on Ctrl-C.",
    )
    add_db(p)
    p.add_argument(
        "--report",
        type=checks.existing_folder,
        help="a report folder of this store (`depgraph report --out DIR`)",
    )
    add_downloads(p, "to sort dependents by (default: the report's, if any)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default %(default)s); another than loopback needs --public",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="allow listening on an address other hosts can reach",
    )
    p.add_argument(
        "--port", type=checks.port, default=8765, help="port (default %(default)s; 0: any free)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from depgraph.serve.app import Service, ServiceConfig, make_app
    except ModuleNotFoundError as exc:
        raise UsageError(f"serve needs {exc.name}: pip install 'pypi-depgraph[serve]'") from None
    if args.host not in LOOPBACK and not args.public:
        raise UsageError(f"--host {args.host} is not loopback: add --public to serve it")
    existing_store(args.db, reads_only=True)  # a clear error before anything loads
    downloads = download_counts(args.downloads)
    started = time.monotonic()
    service = Service(ServiceConfig(args.db, args.report, downloads))
    service.warm()
    app = make_app(service)
    print(
        f"serve: {service.store.name} ready in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    _announce_port(server)
    server.run()
    return ExitCode.OK


def _announce_port(server: object) -> None:
    """Print the address once the socket listens (the port is chosen by the system with 0)."""
    import uvicorn

    assert isinstance(server, uvicorn.Server)
    startup = server.startup

    async def started(sockets: object = None) -> None:
        await startup(sockets)  # type: ignore[arg-type]
        for listening in server.servers:
            for sock in listening.sockets:
                host, port = sock.getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                print(f"serve: listening on http://{shown}:{port}/", file=sys.stderr, flush=True)

    server.startup = started  # type: ignore[method-assign]
