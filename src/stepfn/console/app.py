"""The console as a Starlette application: pages, their JSON twins, the actions, the
execution event stream and the static files.

``console_app(engine, token=...)`` is mounted under ``/console`` (``console_routes``
gives that mount and the redirect from ``/``). Every page answers HTML, or JSON with
``?format=json`` or under ``/api/`` (``/console/api/executions`` is the twin of
``/console/executions``), as datasette does.

Safety: templates autoescape everything; the graph's JSON is embedded with ``tojson``
(which escapes ``<``, ``>`` and ``&``) and drawn with text nodes only; the
Content-Security-Policy allows scripts from the console's own files only, never inline
ones; nothing changes without a POST carrying the console's token (a ``csrf`` form
field or an ``X-CSRF-Token`` header), compared in constant time. ``authorize`` (a
callable taking the request, returning whether it may go on) is the hook for the
server's ``--auth sigv4``.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from jinja2 import Environment, FileSystemLoader
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepfn.console import pages
from stepfn.console.feed import ChangeFeed
from stepfn.console.graph import ancestors
from stepfn.console.outcome import OutcomeTracker
from stepfn.errors import ServiceError

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
NOT_FOUND = ("ExecutionDoesNotExist", "StateMachineDoesNotExist", "ResourceNotFound")
HEARTBEAT_SECONDS = 15.0
# An execution's input is at most 256 KiB; URL-encoding may triple it.
MAX_POST_BYTES = 1024 * 1024

Authorize = Callable[[Request], bool]


def basic_credentials(keys: Mapping[str, str]) -> Authorize:
    """An ``authorize`` hook for ``--auth sigv4`` servers: HTTP Basic credentials, the
    user an access key id of ``keys`` and the password its secret key."""

    def authorize(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        secret = keys.get(user)
        return secret is not None and hmac.compare_digest(secret, password)

    return authorize


Page = Callable[[Request], dict[str, Any]]


class SecurityHeaders:
    """Adds the Content-Security-Policy and its companions to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return "" if value is None else str(value)


def _quote(value: Any) -> str:
    return quote(str(value), safe=":/")


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    env.filters["when"] = _when
    env.filters["q"] = _quote
    env.filters["pretty"] = pages.pretty
    env.globals["urlencode"] = urlencode
    return env


class Console:
    """The console's handlers over one Engine."""

    def __init__(
        self,
        engine: Any,
        token: str,
        authorize: Authorize | None,
        feed: ChangeFeed,
    ) -> None:
        self.engine = engine
        self.token = token
        self.authorize = authorize
        self.feed = feed
        self.env = _templates()

    # --- answering -----------------------------------------------------------------------

    @staticmethod
    def wants_json(request: Request) -> bool:
        """Whether the JSON twin was asked for."""
        path = request.scope.get("route_path") or request.url.path
        base = request.scope.get("root_path", "")
        relative = path[len(base) :] if path.startswith(base) else path
        return request.query_params.get("format") == "json" or relative.startswith("/api/")

    def render(
        self, request: Request, template: str, data: dict[str, Any], status: int = 200
    ) -> Response:
        """The page as HTML, or its JSON twin."""
        if self.wants_json(request):
            return JSONResponse(pages.jsonable(data), status_code=status)
        base = request.scope.get("root_path", "")
        html = self.env.get_template(template).render(
            base=base, csrf=self.token, request=request, **data
        )
        return HTMLResponse(html, status_code=status)

    def failure(self, request: Request, status: int, code: str, message: str) -> Response:
        """An error page (or its JSON) naming what was wrong."""
        return self.render(request, "error.html", {"error": code, "message": message}, status)

    async def guarded(self, request: Request, act: Callable[[], Awaitable[Response]]) -> Response:
        """``act`` unless the request is not authorized; Engine and parameter errors
        become 4xx pages, never a traceback."""
        if self.authorize is not None and not self.authorize(request):
            refused = self.failure(
                request, 401, "Unauthorized", "This console asks for credentials"
            )
            # The browser asks for them: the access key id and the secret key.
            refused.headers["WWW-Authenticate"] = 'Basic realm="stepfn", charset="UTF-8"'
            return refused
        try:
            return await act()
        except ServiceError as exc:
            status = 404 if exc.code in NOT_FOUND else exc.status
            return self.failure(request, status, exc.code, exc.message)
        except pages.BadParameter as exc:
            return self.failure(request, 400, "BadParameter", str(exc))

    def page(self, template: str, gather: Page) -> Callable[[Request], Awaitable[Response]]:
        """A GET endpoint: ``gather`` runs in a thread (the Engine blocks), and the page
        is rendered there too, so the event loop does not wait on a template."""

        def answer(request: Request) -> Response:
            return self.render(request, template, gather(request))

        async def endpoint(request: Request) -> Response:
            async def act() -> Response:
                return await run_in_threadpool(answer, request)

            return await self.guarded(request, act)

        return endpoint

    # --- pages ---------------------------------------------------------------------------

    def machines(self, request: Request) -> dict[str, Any]:
        return pages.machines_page(self.engine, request.query_params.get("next") or None)

    def machine(self, request: Request) -> dict[str, Any]:
        return pages.machine_page(self.engine, request.path_params["arn"])

    def executions(self, request: Request) -> dict[str, Any]:
        q = request.query_params
        return pages.executions_page(
            self.engine, q.get("machine") or None, q.get("status") or None, q.get("next") or None
        )

    def execution(self, request: Request) -> dict[str, Any]:
        return pages.execution_page(self.engine, request.path_params["arn"])

    def history(self, request: Request) -> dict[str, Any]:
        q = request.query_params
        return pages.history_page(
            self.engine, request.path_params["arn"], q.get("type") or None, q.get("next") or None
        )

    def iterations(self, request: Request) -> dict[str, Any]:
        return pages.iterations_page(self.engine, request.path_params["arn"])

    # --- actions -------------------------------------------------------------------------

    async def fields(self, request: Request) -> dict[str, str]:
        """The POST's fields, from a form (URL-encoded: the console's forms send nothing
        else, so no multipart parser is needed) or a JSON object."""
        body = await request.body()
        if len(body) > MAX_POST_BYTES:
            raise pages.BadParameter(f"body: larger than {MAX_POST_BYTES} bytes")
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                value = json.loads(body)
            except ValueError:
                raise pages.BadParameter("body: not JSON") from None
            if not isinstance(value, dict):
                raise pages.BadParameter("body: not a JSON object")
            return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise pages.BadParameter("body: not UTF-8") from None
        return {k: v[-1] for k, v in form.items()}

    def token_ok(self, request: Request, fields: dict[str, str]) -> bool:
        """Whether the POST carries the console's token."""
        given = request.headers.get("x-csrf-token") or fields.get("csrf") or ""
        return hmac.compare_digest(given.encode(), self.token.encode())

    def action(
        self, act: Callable[[Request, dict[str, str]], tuple[str, dict[str, Any]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A POST endpoint: refused without the token; then ``act`` runs in a thread and
        gives the page to go to (a 303 for forms, JSON for the twin)."""

        async def endpoint(request: Request) -> Response:
            async def run() -> Response:
                fields = await self.fields(request)
                if not self.token_ok(request, fields):
                    return self.failure(
                        request, 403, "Forbidden", "This action needs the console's CSRF token"
                    )
                where, result = await run_in_threadpool(act, request, fields)
                if self.wants_json(request) or request.headers.get("x-csrf-token"):
                    return JSONResponse(pages.jsonable(result))
                return RedirectResponse(request.scope.get("root_path", "") + where, 303)

            return await self.guarded(request, run)

        return endpoint

    def start(self, request: Request, fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
        arn = request.path_params["arn"]
        text = fields.get("input", "{}").strip() or "{}"
        try:
            json.loads(text)
        except ValueError as exc:
            raise pages.BadParameter(f"input: not valid JSON ({exc})") from None
        options: dict[str, Any] = {"stateMachineArn": arn, "input": text}
        if fields.get("name"):
            options["name"] = fields["name"]
        out = self.engine.start_execution(**options)
        return f"/executions/{_quote(out['executionArn'])}", out

    def stop(self, request: Request, fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
        arn = request.path_params["arn"]
        options = {k: fields[k] for k in ("error", "cause") if fields.get(k)}
        out = self.engine.stop_execution(executionArn=arn, **options)
        return f"/executions/{_quote(arn)}", out

    def redrive(self, request: Request, fields: dict[str, str]) -> tuple[str, dict[str, Any]]:
        arn = request.path_params["arn"]
        out = self.engine.redrive_execution(executionArn=arn)
        return f"/executions/{_quote(arn)}", out

    # --- the live stream -----------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        """Server-sent events for an execution page: each state's outcome whenever new
        events are committed, until the execution stops."""
        arn = request.path_params["arn"]
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return self.failure(request, 400, "BadParameter", "after: not an event id")

        def prepare() -> OutcomeTracker:
            machine = self.engine.describe_state_machine_for_execution(executionArn=arn)
            graph, _ = pages.graph_of(machine["definition"])
            tracker = OutcomeTracker(ancestors(graph))
            tracker.feed(pages.whole_history(self.engine, arn))
            return tracker

        async def act() -> Response:
            tracker = await run_in_threadpool(prepare)
            return StreamingResponse(
                self.stream(arn, tracker, after),
                media_type="text/event-stream",
                headers={"cache-control": "no-store", "x-accel-buffering": "no"},
            )

        return await self.guarded(request, act)

    async def stream(self, arn: str, tracker: OutcomeTracker, after: int) -> AsyncIterator[str]:
        """The stream's messages: a first one when the page is behind, then one per batch
        of committed events, then the last when the execution has stopped."""
        loop_time = 0.0
        if after < tracker.last_event_id or tracker.status != "RUNNING":
            yield self.message(tracker, [])
        while tracker.status == "RUNNING":
            new = await self.feed.subscribe(arn, tracker.last_event_id)
            if new:
                tracker.feed(new)
                loop_time = 0.0
                yield self.message(tracker, new)
            else:
                loop_time += self.feed.poll_seconds
                if loop_time >= HEARTBEAT_SECONDS:
                    loop_time = 0.0
                    yield ": still running\n\n"

    @staticmethod
    def message(tracker: OutcomeTracker, new: list[dict[str, Any]]) -> str:
        """One server-sent event (JSON on one ``data`` line)."""
        body = {
            "status": tracker.status,
            "lastEventId": tracker.last_event_id,
            "states": tracker.snapshot(),
            "events": [
                {"id": e["id"], "type": e["type"], "timestamp": _when(e["timestamp"])} for e in new
            ],
        }
        return f"id: {tracker.last_event_id}\ndata: {json.dumps(body)}\n\n"


def console_app(
    engine: Any,
    *,
    token: str,
    authorize: Authorize | None = None,
    feed: ChangeFeed | None = None,
) -> Starlette:
    """The console over ``engine``, to mount under ``/console``.

    ``token`` is the CSRF token every POST must carry; ``authorize`` (optional) decides
    whether a request may see or do anything (the hook for ``--auth sigv4``); ``feed``
    is the change feed the engine publishes to (a feed that reads the history through
    the Engine when none is given).
    """
    if not token:
        raise ValueError("console_app: token must not be empty")
    console = Console(engine, token, authorize, feed or ChangeFeed(engine))
    view = console.page
    listed: list[tuple[str, str, Page]] = [
        ("/", "machines.html", console.machines),
        ("/state-machines/{arn:path}", "machine.html", console.machine),
        ("/executions", "executions.html", console.executions),
        ("/executions/{arn:path}/history", "history.html", console.history),
        ("/executions/{arn:path}/iterations", "iterations.html", console.iterations),
        ("/executions/{arn:path}", "execution.html", console.execution),
    ]
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        Route("/state-machines/{arn:path}/start", console.action(console.start), methods=["POST"]),
        Route("/executions/{arn:path}/stop", console.action(console.stop), methods=["POST"]),
        Route("/executions/{arn:path}/redrive", console.action(console.redrive), methods=["POST"]),
        Route("/executions/{arn:path}/events", console.events, methods=["GET"]),
    ]
    for path, template, gather in listed:
        api_path = "/api" + (path if path != "/" else "/state-machines")
        routes.append(Route(api_path, view(template, gather), methods=["GET"]))
        routes.append(Route(path, view(template, gather), methods=["GET"]))
    app = Starlette(routes=routes)
    app.add_middleware(SecurityHeaders)
    return app


def console_routes(
    engine: Any,
    *,
    token: str,
    authorize: Authorize | None = None,
    feed: ChangeFeed | None = None,
) -> list[BaseRoute]:
    """The console mounted under ``/console``, and ``/`` redirecting to it: routes to add
    to the server's application."""

    async def home(request: Request) -> Response:
        return RedirectResponse(request.scope.get("root_path", "") + "/console/", 307)

    app = console_app(engine, token=token, authorize=authorize, feed=feed)
    return [Route("/", home, methods=["GET"]), Mount("/console", app=app)]
