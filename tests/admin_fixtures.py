"""Shared set-up for the admin API tests: an app on the test database, staff users of every
role with their API keys, and a client that talks to the app in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.keys import create_key, create_user
from bot.app import build
from bot.clock import FakeClock
from bot.settings import Settings
from bot.staff.models import Role

API = "/admin/api/v1"
SKANE_NORDOST = ["Kristianstad", "Hässleholm", "Bromölla", "Osby", "Perstorp", "Östra Göinge"]
STAFF: dict[str, tuple[Role, list[str]]] = {
    "admin": (Role.admin, []),
    "editor": (Role.editor, ["Degerfors"]),
    "editor_skane": (Role.editor, SKANE_NORDOST),
    "editor_kristianstad": (Role.editor, ["Kristianstad"]),
    "coordinator": (Role.coordinator, ["Degerfors"]),
    "reader": (Role.reader, []),
}

# A meeting body the admin API accepts (one parent), for tests that need a meeting.
MEETING = {
    "kind": "nätverksmöte",
    "starts_at": "2026-11-26T10:00:00+01:00",
    "place": "Stadshuset, Storgatan 1",
    "contact_name": "Anna Lots",
    "contact_phone": "031-390 650",
    "participants": [{"phone": "070-174 06 05", "name": "Förälder"}],
}


@dataclass
class AdminEnv:
    app: FastAPI
    client: httpx.AsyncClient
    clock: FakeClock
    keys: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str, *, etag: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.keys[who]}"}
        if etag is not None:
            headers["If-Match"] = etag
        return headers

    async def create_service(self, who: str = "editor", **fields: Any) -> httpx.Response:
        body = {"name": "Familjecentralen", "municipalities": ["Degerfors"], **fields}
        return await self.client.post(f"{API}/services", json=body, headers=self.auth(who))


def service_body(**fields: Any) -> dict[str, Any]:
    return {"name": "Familjecentralen", "municipalities": ["Degerfors"], **fields}


async def make_admin_env(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[AdminEnv]:
    app = build(
        Settings(database_url="sqlite://"), clock=clock, engine=engine, run_migrations=False
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        env = AdminEnv(app=app, client=client, clock=clock)
        async with app.state.ctx.sessions() as session:
            for name, (role, municipalities) in STAFF.items():
                user = await create_user(
                    session=session,
                    name=name,
                    role=role,
                    municipalities=municipalities,
                    now=clock(),
                )
                _row, env.keys[name] = await create_key(
                    session=session, user_id=user.id, now=clock()
                )
                env.user_ids[name] = user.id
            await session.commit()
        yield env


@pytest.fixture
async def admin_env(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[AdminEnv]:
    async for env in make_admin_env(engine, clock):
        yield env


@pytest.fixture
async def sqlite_admin_env(
    sqlite_engine: AsyncEngine, clock: FakeClock
) -> AsyncIterator[AdminEnv]:
    async for env in make_admin_env(sqlite_engine, clock):
        yield env
