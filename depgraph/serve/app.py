"""The service's application (Starlette): a JSON API under /api and pages for a browser, both
answered by `depgraph.answers.Answers` over one store opened read-only.

Why Starlette and not Datasette: the questions (transitive dependents, a shortest requirement
chain, counts that must match the report's) are computations over the graph, not canned SQL; a
Datasette of the tables would answer "who lists X" but not "who reaches X" or "why". Starlette is
small, typed, and runs our functions as they are.

Bounds: every statement stops after `STATEMENT_SECONDS`; a page lists at most `MAX_PAGE` rows;
`why` looks at most at `MAX_VISITED` projects; every parameter is checked before use and reaches
SQL only as a bound value. Only GET and HEAD exist: the service cannot change the store."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from packaging.utils import canonicalize_name
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from depgraph.answers import MAX_PAGE, SORTS, Answers
from depgraph.core.db import StatementTimeout
from depgraph.core.errors import DepgraphError
from depgraph.errors import UsageError
from depgraph.report_view import ReportView
from depgraph.store import Store

__all__ = ["STATEMENT_SECONDS", "Service", "ServiceConfig", "make_app"]

#: the longest any one statement of the service may run
STATEMENT_SECONDS = 5.0
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,198}[A-Za-z0-9])?")
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class ServiceConfig:
    db: str
    report: Path | None = None
    downloads: Mapping[str, int] | None = None


class BadParameter(UsageError):
    """A request's parameter is not one the service takes (answered 400)."""


def _name(value: str, what: str = "name") -> str:
    if not _NAME.fullmatch(value):
        raise BadParameter(f"{what} {value[:80]!r} is not a project name")
    return canonicalize_name(value)


def _flag(request: Request, key: str) -> bool:
    value = request.query_params.get(key, "0").lower()
    if value not in ("0", "1", "true", "false", "yes", "no", ""):
        raise BadParameter(f"{key} must be 1 or 0, not {value[:20]!r}")
    return value in ("1", "true", "yes")


def _int(request: Request, key: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(key)
    if text is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", text) or not low <= int(text) <= high:
        raise BadParameter(f"{key} must be a whole number from {low} to {high}, not {text[:20]!r}")
    return int(text)


def _choice(request: Request, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = request.query_params.get(key, default)
    if value not in choices:
        raise BadParameter(f"{key} must be one of {', '.join(choices)}, not {value[:40]!r}")
    return value


class Service:
    """The state the routes share: the store, the report, the answers."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.store = Store(config.db, read_only=True, statement_seconds=STATEMENT_SECONDS)
        self.report = ReportView.open(config.report) if config.report else None
        downloads = config.downloads
        if downloads is None and self.report is not None:
            downloads = self.report.downloads()
        self.answers = Answers(self.store, downloads)
        self._top: list[tuple[str, int]] | None = None
        self.pages = Environment(
            loader=PackageLoader("depgraph.serve"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.pages.filters["number"] = _number

    def warm(self) -> None:
        """What the questions are answered from: the graph index (seconds to build on a
        PyPI-size store) and the top list."""
        self.answers.graph_index()
        self.top("direct_dependents", 1, 0)

    def sorts(self) -> tuple[str, ...]:
        return SORTS if self.answers.downloads is not None else ("name", "dependents")

    def top(self, by: str, limit: int, offset: int) -> dict[str, object]:
        if self.report is not None:
            count, rows = self.report.top(by, limit, offset)
            return {"by": by, "count": count, "offset": offset, "shown": rows, "source": "report"}
        if by != "direct_dependents":
            raise BadParameter("without a report (--report DIR) only by=direct_dependents")
        if self._top is None:
            graph = self.answers.graph_index()
            counts = graph.direct_counts[False]
            self._top = sorted(
                ((graph.names[i], int(counts[i])) for i in counts.nonzero()[0].tolist()),
                key=lambda pair: (-pair[1], pair[0]),
            )
        page = self._top[offset : offset + limit]
        return {
            "by": by,
            "count": len(self._top),
            "offset": offset,
            "shown": [{"name": n, by: c} for n, c in page],
            "source": "store",
        }

    def project(self, name: str, listed_too: bool = False) -> dict[str, object]:
        """The project's record; with `listed_too`, a name the store has no page of but other
        projects list gets a record of its own (`status` "not-stored")."""
        record = self.answers.project(name)
        if record is None and listed_too:
            record = self.answers.listed_only(name)
        if record is None:
            raise HTTPException(404, f"{name} is not in the store")
        if self.report is not None:
            record["report"] = self.report.metrics(name)
            record["history"] = self.report.history_of(name)
        return record

    def page(self, template: str, **values: Any) -> HTMLResponse:
        html = self.pages.get_template(template).render(store=self.store.name, **values)
        return HTMLResponse(html, headers=_HEADERS)


def make_app(service: Service) -> Starlette:
    config = service.config

    def api_project(request: Request) -> Response:
        return _json(service.project(_name(request.path_params["name"])))

    def api_dependents(request: Request) -> Response:
        page = service.answers.dependents(
            _name(request.path_params["name"]),
            transitive=_flag(request, "transitive"),
            extras=_flag(request, "extras"),
            sort=_choice(request, "sort", "name", service.sorts()),
            limit=_int(request, "limit", 50, 1, MAX_PAGE),
            offset=_int(request, "offset", 0, 0, 10**9),
        )
        return _json(page.as_dict())

    def api_why(request: Request) -> Response:
        source = _name(request.path_params["source"], "source")
        target = _name(request.path_params["target"], "target")
        path = service.answers.why(source, target, _flag(request, "extras"))
        return _json({"source": source, "target": target, "path": path})

    def api_failures(request: Request) -> Response:
        project = request.query_params.get("project")
        stage, reason = request.query_params.get("stage"), request.query_params.get("reason")
        for key, value in (("stage", stage), ("reason", reason)):
            if value is not None and not re.fullmatch(r"[a-z0-9:_-]{1,60}", value):
                raise BadParameter(f"{key} {value[:40]!r} is not a stage or reason name")
        return _json(
            service.answers.failures(
                stage=stage,
                reason=reason,
                project=_name(project, "project") if project else None,
                limit=_int(request, "limit", 50, 1, MAX_PAGE),
                offset=_int(request, "offset", 0, 0, 10**9),
            )
        )

    def api_top(request: Request) -> Response:
        by = _choice(
            request,
            "by",
            "direct_dependents",
            ("direct_dependents", "transitive_dependents", "downloads", "pagerank"),
        )
        limit = _int(request, "limit", 50, 1, MAX_PAGE)
        return _json(service.top(by, limit, _int(request, "offset", 0, 0, 10**9)))

    def api_index(request: Request) -> Response:
        return _json(
            {
                "store": service.store.name,
                "report": str(config.report) if config.report else None,
                "endpoints": {
                    "/api/project/{name}": "releases, sources, failures, requirements, counts",
                    "/api/dependents/{name}": "transitive, extras, sort "
                    f"({'|'.join(service.sorts())}), limit (<= {MAX_PAGE}), offset",
                    "/api/why/{source}/{target}": "extras",
                    "/api/failures": "stage, reason, project, limit, offset",
                    "/api/top": "by, limit, offset",
                },
            }
        )

    def home(request: Request) -> Response:
        wanted = request.query_params.get("q")
        if wanted:
            return RedirectResponse(f"/project/{_name(wanted)}", status_code=303)
        by = "downloads" if service.answers.downloads is not None else "direct_dependents"
        top = service.top("direct_dependents", 25, 0)
        return service.page("home.html", top=top, by=by, report=config.report)

    def project_page(request: Request) -> Response:
        name = _name(request.path_params["name"])
        record = service.project(name, listed_too=True)
        sort = _choice(
            request,
            "sort",
            "downloads" if "downloads" in service.sorts() else "dependents",
            service.sorts(),
        )
        offset = _int(request, "offset", 0, 0, 10**9)
        dependents = service.answers.dependents(name, sort=sort, limit=50, offset=offset)
        return service.page(
            "project.html",
            name=name,
            record=record,
            dependents=dependents,
            sorts=service.sorts(),
            history_chart=_history_chart(record.get("history")),
        )

    def why_page(request: Request) -> Response:
        source = _name(request.query_params.get("source", ""), "source")
        target = _name(request.query_params.get("target", ""), "target")
        path = service.answers.why(source, target, _flag(request, "extras"))
        return service.page("why.html", source=source, target=target, path=path)

    def failures_page(request: Request) -> Response:
        offset = _int(request, "offset", 0, 0, 10**9)
        answer = service.answers.failures(limit=100, offset=offset)
        return service.page("failures.html", answer=answer)

    routes = [
        Route("/", _guarded(home, html=True)),
        Route("/project/{name}", _guarded(project_page, html=True)),
        Route("/why", _guarded(why_page, html=True)),
        Route("/failures", _guarded(failures_page, html=True)),
        Route("/api", _guarded(api_index)),
        Route("/api/project/{name}", _guarded(api_project)),
        Route("/api/dependents/{name}", _guarded(api_dependents)),
        Route("/api/why/{source}/{target}", _guarded(api_why)),
        Route("/api/failures", _guarded(api_failures)),
        Route("/api/top", _guarded(api_top)),
    ]
    return Starlette(routes=routes)


def _json(data: object) -> JSONResponse:
    return JSONResponse(_jsonable(data), headers=_HEADERS)


def _jsonable(data: object) -> object:
    if isinstance(data, dict):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    item = getattr(data, "item", None)
    return item() if callable(item) else data


def _guarded(
    handler: Callable[[Request], Response], html: bool = False
) -> Callable[[Request], Response]:
    """The handler with its failures answered, never a traceback: a bad parameter 400, an
    unknown project 404, a query past its time 503, anything else of ours 500 with its
    message."""

    def answer(request: Request) -> Response:
        try:
            return handler(request)
        except HTTPException as exc:
            return _error(exc.status_code, str(exc.detail), html)
        except BadParameter as exc:
            return _error(400, str(exc), html)
        except StatementTimeout as exc:
            return _error(503, f"the question took too long to answer: {exc}", html)
        except UsageError as exc:
            return _error(400, str(exc), html)
        except DepgraphError as exc:
            return _error(500, str(exc), html)

    answer.__name__ = handler.__name__
    return answer


def _error(status: int, message: str, html: bool) -> Response:
    if html:
        from html import escape

        body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"
        return HTMLResponse(body, status_code=status, headers=_HEADERS)
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=_HEADERS)


def _number(value: object) -> str:
    """A count with thousands separators, a share or score to four significant digits."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return f"{int(value):,}"


def _history_chart(history: object) -> dict[str, object] | None:
    """An SVG polyline of direct dependents by month (drawn by the page: no image to fetch)."""
    if not isinstance(history, list) or len(history) < 2:
        return None
    values = [int(point["direct_dependents"]) for point in history]
    top = max(values) or 1
    width, height = 560, 160
    step = width / (len(values) - 1)
    points = " ".join(
        f"{i * step:.1f},{height - v / top * (height - 10):.1f}" for i, v in enumerate(values)
    )
    return {
        "points": points,
        "width": width,
        "height": height,
        "first": history[0]["month"],
        "last": history[-1]["month"],
        "top": top,
    }
