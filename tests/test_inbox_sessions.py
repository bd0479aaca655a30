"""Inbox sessions live on the server: logout and a new password end them, a copied cookie is
then worth nothing; several app instances share them; the table never holds the token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.app import build
from bot.clock import FakeClock
from bot.settings import Settings
from bot.staff.models import InboxSession, Role
from handlers.inbox_auth import SESSION_COOKIE, create_login
from tests.inbox_support import CSRF_INPUT, PASSWORD, add_coordinator, login

SECRET = "s" * 64


def make_app(engine: AsyncEngine, clock: FakeClock) -> FastAPI:
    settings = Settings(database_url="sqlite://", encoder="none", session_secret=SECRET)
    return build(settings, clock=clock, engine=engine, run_migrations=False)


@asynccontextmanager
async def browser(app: FastAPI, cookie: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """One browser: its own cookie jar (optionally holding a copied session cookie)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if cookie is not None:
            client.cookies.set(SESSION_COOKIE, cookie)
        yield client


async def logged_in(client: httpx.AsyncClient) -> bool:
    response = await client.get("/inbox")
    return response.status_code == 200


async def test_logout_ends_the_session_on_the_server(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    app = make_app(engine, clock)
    await add_coordinator(app.state.ctx.sessions, clock, username="anna", municipality="Degerfors")
    async with browser(app) as laptop, browser(app) as phone:
        token = await login(laptop, "anna")
        await login(phone, "anna")
        copied = laptop.cookies.get(SESSION_COOKIE)
        assert copied and await logged_in(laptop) and await logged_in(phone)
        out = await laptop.post("/inbox/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/inbox/login"
        async with browser(app, copied) as thief:
            assert not await logged_in(thief)  # the cookie is still signed, the session gone
        assert await logged_in(phone)  # logging out one browser leaves the other


async def test_a_new_password_ends_every_session(engine: AsyncEngine, clock: FakeClock) -> None:
    app = make_app(engine, clock)
    sessions = app.state.ctx.sessions
    await add_coordinator(sessions, clock, username="anna", municipality="Degerfors")
    async with browser(app) as laptop, browser(app) as phone:
        await login(laptop, "anna")
        await login(phone, "anna")
        async with sessions() as session:
            await create_login(
                session=session,
                username="anna",
                password="ett-nytt-lösenord",
                name="Anna",
                role=Role.coordinator,
                municipalities=["Degerfors"],
                now=clock(),
            )
            await session.commit()
        assert not await logged_in(laptop) and not await logged_in(phone)
        await login(laptop, "anna", "ett-nytt-lösenord")
        assert await logged_in(laptop)


async def test_sessions_hold_across_instances_and_expire(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    first, second = make_app(engine, clock), make_app(engine, clock)
    await add_coordinator(
        first.state.ctx.sessions, clock, username="anna", municipality="Degerfors"
    )
    async with browser(first) as client:
        await login(client, "anna")
        cookie = client.cookies.get(SESSION_COOKIE)
        assert cookie is not None
    async with browser(second, cookie) as other:
        page = await other.get("/inbox")
        assert page.status_code == 200  # the other instance knows the session
        form = {"csrf_token": CSRF_INPUT.search(page.text).group(1)}  # type: ignore[union-attr]
        assert (await other.post("/inbox/logout", data=form)).status_code == 303
    async with browser(first, cookie) as again:
        assert not await logged_in(again)  # ... and its end
    async with first.state.ctx.sessions() as session:
        rows = list((await session.exec(select(InboxSession))).all())
    assert rows == []
    async with browser(first) as client:
        await login(client, "anna")
        cookie = client.cookies.get(SESSION_COOKIE)
        async with first.state.ctx.sessions() as session:
            [row] = (await session.exec(select(InboxSession))).all()
        assert cookie is not None and row.id not in cookie  # only a hash of the token
        clock.advance(hours=10, seconds=1)
        assert not await logged_in(client)
        await login(client, "anna", PASSWORD)  # a new login sweeps the expired session
    async with first.state.ctx.sessions() as session:
        assert len((await session.exec(select(InboxSession))).all()) == 1
