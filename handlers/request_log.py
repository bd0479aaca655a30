"""One log line and the HTTP metrics of every request, by route template.

The label and the log say `/api/chat/{conversation_id}`, never the path itself: a web chat's
id is the only credential of its conversation. Query strings, bodies and client addresses are
never read. Pure ASGI middleware, added last so it runs first and sees every answer (a 413 of
the body caps, a 500 of an error).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fastapi import routing as fastapi_routing
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.ops import metrics

log = logging.getLogger(__name__)
UNMATCHED = "unmatched"  # no route: a 404 for a path that is not ours


class RouteTemplates:
    """The full template of a matched route, include_router prefixes included (the route in
    the request's scope knows only its own part since FastAPI 0.137)."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._routes = routes
        self._full: dict[int, str] | None = None

    def of(self, scope: Scope, *, root_path: str) -> str:
        route = scope.get("route")
        if route is None:
            mounted = scope.get("root_path", "")[len(root_path) :]
            return f"{mounted}/{{path}}" if mounted else UNMATCHED  # e.g. /inbox/static
        if self._full is None:  # routes are all in place once requests come
            self._full = _full_paths(self._routes)
        return self._full.get(id(route)) or getattr(route, "path_format", UNMATCHED)


def _full_paths(routes: list[BaseRoute]) -> dict[int, str]:
    """Each route's full template, by id (a Route's __eq__ makes it unhashable). Older
    FastAPI copied included routes with their full path, so the route's own is right there."""
    contexts = getattr(fastapi_routing, "iter_route_contexts", None)
    if contexts is None:
        return {}
    return {id(c.original_route): c.path_format or "" for c in contexts(routes)}


class RequestRecorder:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[BaseRoute],
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.templates = RouteTemplates(routes)
        self.timer = timer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, root_path = self.timer(), scope.get("root_path", "")
        status = 500  # unless an answer starts: an error that escaped becomes a 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            route = self.templates.of(scope, root_path=root_path)
            self.record(route, scope["method"], status, self.timer() - started)

    def record(self, route: str, method: str, status: int, seconds: float) -> None:
        method, status_class = metrics.method_label(method), metrics.status_class(status)
        metrics.HTTP_REQUESTS.labels(route, method, status_class).inc()
        metrics.HTTP_LATENCY.labels(route, method, status_class).observe(seconds)
        duration_ms = round(seconds * 1000, 1)
        log.info(
            "%s %s %d %.1f ms",
            method,
            route,
            status,
            duration_ms,
            extra={"route": route, "method": method, "status": status, "duration_ms": duration_ms},
        )
