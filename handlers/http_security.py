"""What every HTTP answer carries and every request body may be: security headers, body-size
caps, and which proxies' X-Forwarded-For the app believes.

Pure ASGI middleware (no BaseHTTPMiddleware: bodies stream through untouched):

- headers: a Content-Security-Policy without inline script on every answer; the web chat may
  be framed by the sites in settings.chat_embed_origins, everything else by nobody
  (frame-ancestors 'none', X-Frame-Options DENY); nosniff, no referrer; inbox pages and
  /api/chat are never cached (no-store).
- bodies: at most settings.max_body_bytes (imports: max_import_bytes), refused with 413 as the
  bytes arrive (a Content-Length over the cap before any is read), never read whole first.
- proxies: X-Forwarded-For / -Proto count only from settings.trusted_proxies (default none).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.settings import Settings

IMPORTS = "/admin/api/v1/import/"
# Pages of our own: scripts, styles and data only from this origin, no inline script.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"
)
# JSON, webhooks, files: nothing to run, nothing to load.
API_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'"
# The API's try-it page loads Swagger UI from its CDN; it sets inline styles (never scripts).
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def _is_chat_page(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


def headers_for(path: str, embed_origins: list[str]) -> dict[str, str]:
    """The security headers of an answer to `path`."""
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    if _is_chat_page(path):
        # Embeddable on the municipalities' sites; X-Frame-Options cannot list several
        # origins, so the CSP alone says who may frame it.
        ancestors = " ".join(["'self'", *embed_origins])
        headers["Content-Security-Policy"] = f"{PAGE_POLICY}; frame-ancestors {ancestors}"
        return headers
    headers["X-Frame-Options"] = "DENY"
    if path == "/docs":
        policy = DOCS_POLICY
    elif path == "/inbox" or path.startswith("/inbox/"):
        policy = PAGE_POLICY
    else:
        policy = API_POLICY
    headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
    private = path.startswith("/api/chat") or (
        (path == "/inbox" or path.startswith("/inbox/")) and not path.startswith("/inbox/static/")
    )
    if private:  # a parent's conversation, a case: never kept by a browser or a proxy
        headers["Cache-Control"] = "no-store"
    return headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, embed_origins: list[str]) -> None:
        self.app = app
        self.embed_origins = embed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"], self.embed_origins)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyCaps:
    """Starlette's streaming body limit, with a larger cap under /admin/api/v1/import/."""

    def __init__(self, app: ASGIApp, *, default: int, imports: int) -> None:
        self.default = RequestBodyLimitMiddleware(app, max_body_size=default)
        self.imports = RequestBodyLimitMiddleware(app, max_body_size=imports)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        capped = self.imports if scope.get("path", "").startswith(IMPORTS) else self.default
        await capped(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware; the last added runs first: proxies, headers (so a 413 has them
    too), then the body caps."""
    app.add_middleware(
        BodyCaps, default=settings.max_body_bytes, imports=settings.max_import_bytes
    )
    app.add_middleware(SecurityHeaders, embed_origins=settings.chat_embed_origins)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
