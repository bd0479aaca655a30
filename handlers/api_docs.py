"""The API's try-it page (/docs): Swagger UI from its CDN, started by a script file rather
than FastAPI's inline script, so the page keeps a Content-Security-Policy without inline
script (handlers/http_security.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
SWAGGER = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"


def make_router(title: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=HERE / "templates")

    @router.get("/docs", response_class=HTMLResponse)
    async def api_docs(request: Request) -> HTMLResponse:
        """OpenAPI try-it page for /openapi.json."""
        context = {"title": title, "swagger": SWAGGER}
        return templates.TemplateResponse(request, "api_docs.html", context)

    return router
