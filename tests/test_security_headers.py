"""Security headers on every answer: a CSP without inline script, nosniff, no referrer; the
inbox refuses framing and is never cached, and so is /api/chat; the web chat may be framed
by the municipalities' sites named in CHAT_EMBED_ORIGINS, and by nobody else."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build
from bot.clock import FakeClock
from bot.settings import Settings

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
ORIGINS = "https://www.degerfors.se, https://*.orebro.se"


@pytest.fixture
async def client(sqlite_engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url="sqlite://",
        encoder="none",
        telegram_bot_token=None,
        chat_embed_origins=ORIGINS,
    )
    app = build(settings, clock=clock, engine=sqlite_engine, run_migrations=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


def policy(response: httpx.Response) -> dict[str, str]:
    """The CSP's directives by name."""
    parts = [
        p.strip().split(" ", 1) for p in response.headers["content-security-policy"].split(";")
    ]
    return {name: (rest[0] if rest else "") for name, *rest in parts}


def common(response: httpx.Response) -> dict[str, str]:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    found = policy(response)
    assert "unsafe-inline" not in found.get("script-src", "")
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    return found


async def test_the_chat_page_runs_only_its_own_scripts_and_embeds_on_listed_sites(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/", params={"kommun": "Degerfors"})
    found = common(page)
    assert found["script-src"] == "'self'" and found["default-src"] == "'self'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert found["frame-ancestors"] == "'self' https://www.degerfors.se https://*.orebro.se"
    assert "x-frame-options" not in page.headers  # it cannot name several sites
    script = await client.get("/static/chat.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"


async def test_the_inbox_refuses_framing_and_caching(client: httpx.AsyncClient) -> None:
    for path in ("/inbox/login", "/inbox", "/inbox/stats", "/inbox/cases/x/messages.json"):
        response = await client.get(path)
        found = common(response)
        assert found["frame-ancestors"] == "'none'", path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store", path
    style = await client.get("/inbox/static/inbox.css")
    assert style.status_code == 200 and "no-store" not in style.headers.get("cache-control", "")


async def test_the_chat_api_is_never_cached_nor_framed(client: httpx.AsyncClient) -> None:
    sent = await client.post("/api/chat", json={"conversation_id": None, "text": "hej"})
    history = await client.get(f"/api/chat/{sent.json()['conversation_id']}")
    refused = await client.post("/api/chat", content=b"x" * 2_000_000)
    for response in (sent, history, refused):
        found = common(response)
        assert response.headers["cache-control"] == "no-store"
        assert found["default-src"] == "'none'" and found["frame-ancestors"] == "'none'"
    assert refused.status_code == 413


async def test_the_api_docs_page_starts_from_a_file(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    found = common(docs)
    assert found["frame-ancestors"] == "'none'"
    assert found["script-src"] == "'self' https://cdn.jsdelivr.net"
    assert re.findall(r"<script[^>]*>", docs.text)[-1] == '<script src="/static/api-docs.js">'
    assert (await client.get("/static/api-docs.js")).status_code == 200
    assert (await client.get("/redoc")).status_code == 404


def test_no_template_has_inline_script_style_or_handlers() -> None:
    for template in (HANDLERS / "templates").glob("*.html"):
        source = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), template.name
        assert not re.search(r"\son[a-z]+\s*=", source, re.IGNORECASE), template.name
        assert not re.search(r"\sstyle\s*=|<style", source, re.IGNORECASE), template.name
        assert "javascript:" not in source, template.name


@pytest.mark.parametrize(
    "bad",
    [
        "https://www.degerfors.se/sida",
        "https://a.se; script-src *",
        "javascript:alert(1)",
        "www.degerfors.se",
        "https://user@a.se",
    ],
)
def test_embedding_sites_must_be_origins(bad: str) -> None:
    with pytest.raises(ValidationError, match="chat_embed_origins"):
        Settings(_env_file=None, chat_embed_origins=bad)


@pytest.mark.parametrize("bad", ["everyone", "10.0.0.300", "*"])
def test_trusted_proxies_must_be_addresses_or_networks(bad: str) -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(_env_file=None, trusted_proxies=bad)
    assert Settings(_env_file=None).trusted_proxies == []  # nobody, unless named
