"""Limits on the web chat: per client address and per conversation (429 with Retry-After),
trusted proxies only, a cap on a conversation's messages ("radera" still works), the history
a page at a time, and request bodies refused (413) as they arrive, never read whole."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.keys import create_key, create_user
from bot.app import build
from bot.cli import server_config
from bot.clock import FakeClock
from bot.core import conversations
from bot.core.models import Author
from bot.db import create_all, make_engine
from bot.settings import Settings
from bot.staff.models import Role
from tests.factories import on_loopback

MB = 1_000_000


@contextlib.asynccontextmanager
async def chat_app(
    engine: AsyncEngine, clock: FakeClock, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app (rules-only triage) with these settings, and a client for it."""
    base = {"database_url": "sqlite://", "encoder": "none", "telegram_bot_token": None}
    app = build(Settings(**{**base, **settings}), clock=clock, engine=engine, run_migrations=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def post(
    client: httpx.AsyncClient, text: str, cid: str | None = None, **headers: str
) -> httpx.Response:
    body = {"conversation_id": cid, "text": text}
    return await client.post("/api/chat", json=body, headers=headers)


async def test_one_client_gets_429_with_retry_after_and_forwarded_for_changes_nothing(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with chat_app(engine, clock, chat_rate_per_client="3/minute") as client:
        # Without a trusted proxy, a rotating X-Forwarded-For is just a header.
        codes = [
            (await post(client, "hej", **{"X-Forwarded-For": f"203.0.113.{n}"})).status_code
            for n in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        refused = await post(client, "hej")
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "try again in 60 s" in refused.json()["detail"]
        clock.advance(seconds=60)
        assert (await post(client, "hej")).status_code == 200


async def test_a_trusted_proxy_names_the_client_and_nobody_else_does(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    settings = {"chat_rate_per_client": "1/minute", "trusted_proxies": "127.0.0.1"}
    async with chat_app(engine, clock, **settings) as client:  # the test client is 127.0.0.1
        first = {"X-Forwarded-For": "198.51.100.7"}
        assert (await post(client, "hej", **first)).status_code == 200
        assert (await post(client, "hej", **first)).status_code == 429
        other = {"X-Forwarded-For": "198.51.100.8"}
        assert (await post(client, "hej", **other)).status_code == 200
        # The client's own X-Forwarded-For is forwarded too; only the address the proxy saw
        # (the rightmost untrusted one) counts.
        forged = {"X-Forwarded-For": "10.9.9.9, 198.51.100.7"}
        assert (await post(client, "hej", **forged)).status_code == 429


async def test_one_conversation_gets_429_while_others_go_on(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with chat_app(engine, clock, chat_rate_per_conversation="3/minute") as client:
        cid = (await post(client, "hej")).json()["conversation_id"]
        codes = [(await post(client, "fler", cid)).status_code for _ in range(3)]
        assert codes == [200, 200, 429]  # the first "hej" started it without an id
        assert (await post(client, "hej")).status_code == 200  # a new conversation
        clock.advance(seconds=61)
        assert (await post(client, "fler", cid)).status_code == 200


async def test_a_full_conversation_takes_only_radera(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    async with chat_app(engine, clock, chat_max_messages=10) as client:
        cid = (await post(client, "hej")).json()["conversation_id"]
        while (await post(client, "hej", cid)).status_code == 200:
            pass
        full = await post(client, "Min son vill inte gå till skolan", cid)
        assert full.status_code == 409
        assert full.json()["detail"].startswith("conversation_id: the conversation has reached 10")
        history = (await client.get(f"/api/chat/{cid}")).json()["messages"]
        assert [m["seq"] for m in history] == list(range(1, 11))  # nothing more was stored
        asked = await post(client, "radera", cid)
        assert asked.status_code == 200
        done = await post(client, "ja", cid)
        assert done.status_code == 200 and done.json()["deleted"] is True
        assert (await client.get(f"/api/chat/{cid}")).status_code == 404


async def test_the_history_comes_a_page_at_a_time(engine: AsyncEngine, clock: FakeClock) -> None:
    async with chat_app(engine, clock, chat_history_page=10) as client:
        cid = (await post(client, "hej")).json()["conversation_id"]
        async with client.app.state.ctx.sessions() as session:  # type: ignore[attr-defined]
            conversation = await conversations.get_conversation(
                session=session, conversation_id=cid
            )
            assert conversation is not None
            for n in range(23):
                await conversations.add_message(
                    session=session,
                    conversation=conversation,
                    author=Author.coordinator,
                    text=f"svar {n}",
                    at=clock(),
                )
            await session.commit()
        seen, after, pages = [], 0, 0
        while True:
            page = (await client.get(f"/api/chat/{cid}", params={"after": after})).json()
            pages += 1
            assert len(page["messages"]) <= 10
            seen += [m["seq"] for m in page["messages"]]
            if not page["has_more"]:
                break
            after = page["messages"][-1]["seq"]
        assert seen == list(range(1, 26)) and pages == 3  # hej, its answer, 23 replies
        small = (await client.get(f"/api/chat/{cid}", params={"after": 20, "limit": 2})).json()
        assert [m["seq"] for m in small["messages"]] == [21, 22] and small["has_more"]
        larger = await client.get(f"/api/chat/{cid}", params={"limit": 500})
        assert len(larger.json()["messages"]) == 10  # never more than a page
        too_many = await client.get(f"/api/chat/{cid}", params={"limit": 5000})
        assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"][-1] == "limit"


def counting(total: int, chunk: int = 64 * 1024) -> tuple[Callable[[], int], Any]:
    """A streamed body of `total` bytes, and how many bytes the app has pulled from it."""
    pulled = [0]

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            piece = min(chunk, total - sent)
            pulled[0] += piece
            sent += piece
            yield b" " * piece

    return (lambda: pulled[0]), body()


async def test_a_10_mb_body_is_refused_before_it_is_read_whole(
    sqlite_engine: AsyncEngine, clock: FakeClock
) -> None:
    async with chat_app(sqlite_engine, clock) as client:
        # Announced: refused before a byte of it is read.
        read, body = counting(10 * MB)
        headers = {"Content-Type": "application/json", "Content-Length": str(10 * MB)}
        refused = await client.post("/api/chat", content=body, headers=headers)
        assert refused.status_code == 413 and read() == 0
        # Streamed without a length: refused as soon as it passes the cap (1 MB).
        read, body = counting(10 * MB)
        refused = await client.post(
            "/api/chat", content=body, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 413 and MB < read() <= MB + 64 * 1024
        # Every endpoint: the inbox's forms and the admin API too.
        for path in ("/inbox/login", "/inbox/logout", "/admin/api/v1/services"):
            read, body = counting(10 * MB)
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            assert (await client.post(path, content=body, headers=form)).status_code == 413
            assert read() <= MB + 64 * 1024


async def test_imports_have_their_own_larger_cap(
    sqlite_engine: AsyncEngine, clock: FakeClock
) -> None:
    async with chat_app(sqlite_engine, clock, max_import_bytes=3 * MB) as client:
        async with client.app.state.ctx.sessions() as session:  # type: ignore[attr-defined]
            user = await create_user(
                session=session, name="a", role=Role.admin, municipalities=[], now=clock()
            )
            _row, key = await create_key(session=session, user_id=user.id, now=clock())
            await session.commit()
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}
        rows = "name,municipalities\n" + "".join(f"Tjänst {n},Degerfors\n" for n in range(80_000))
        assert MB < len(rows.encode()) < 3 * MB
        url = "/admin/api/v1/import/csv"
        taken = await client.post(url, params={"dry_run": "true"}, content=rows, headers=auth)
        # Read whole and judged (too many rows), not refused for its size.
        assert taken.status_code == 422, taken.text
        assert taken.json()["detail"][0]["loc"] == ["body", "rows"]
        assert (
            await client.post("/admin/api/v1/services", content=rows, headers=auth)
        ).status_code == 413
        read, body = counting(10 * MB)
        refused = await client.post(url, content=body, headers=auth)
        assert refused.status_code == 413 and 3 * MB < read() <= 3 * MB + 64 * 1024


@contextlib.asynccontextmanager
async def served_as_by_serve(url: str, clock: FakeClock, **settings: Any) -> AsyncIterator[str]:
    """The app under uvicorn exactly as `familjeguiden serve` configures it, on loopback."""
    base = {"database_url": url, "encoder": "none", "telegram_bot_token": None}
    config = Settings(**{**base, **settings})
    engine = make_engine(url)  # the app's lifespan disposes of it
    await create_all(engine)
    app = build(config, clock=clock, engine=engine, run_migrations=False)
    server = uvicorn.Server(server_config(app, config, host="127.0.0.1", port=0))
    async with on_loopback(server) as url:
        yield url


async def two_addresses_say(url: str) -> tuple[int, int]:
    """Two messages that claim two client addresses in X-Forwarded-For: their statuses."""
    body = {"conversation_id": None, "text": "hej"}
    async with httpx.AsyncClient(base_url=url) as client:
        codes = [
            (await client.post("/api/chat", json=body, headers={"X-Forwarded-For": a})).status_code
            for a in ("1.1.1.1", "2.2.2.2")
        ]
    return codes[0], codes[1]


async def test_serve_believes_no_forwarded_for_unless_told(
    tmp_path: Path, clock: FakeClock
) -> None:
    """uvicorn by itself would take X-Forwarded-For from 127.0.0.1 (the test's address)."""
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    async with served_as_by_serve(db, clock, chat_rate_per_client="1/minute") as url:
        assert await two_addresses_say(url) == (200, 429)
    clock.advance(minutes=2)
    told = {"chat_rate_per_client": "1/minute", "trusted_proxies": "127.0.0.1"}
    async with served_as_by_serve(db, clock, **told) as url:
        assert await two_addresses_say(url) == (200, 200)
