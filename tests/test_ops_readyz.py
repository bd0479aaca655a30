"""/healthz and /readyz: ready only when the database answers, its schema is at the newest
migration and the directory index is loaded; otherwise 503 naming what is not, and nothing
about how to reach the database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build
from bot.clock import FakeClock
from bot.db import make_engine
from bot.settings import Settings
from tests.conftest import drop_test_engine, postgres_url

PASSWORD = "pw-never-shown-4711"
ALL_OK = {"database": "ok", "migrations": "ok", "directory_index": "ok"}


async def _empty_database(kind: str) -> tuple[AsyncEngine, str | None]:
    """A database with no tables at all: the app's start-up migrates it."""
    if kind == "sqlite":
        return make_engine("sqlite://"), None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url())
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    options = {"options": f"-csearch_path={schema}"}
    return make_engine(postgres_url(), connect_args=options), schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def migrated(
    request: pytest.FixtureRequest, clock: FakeClock
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app as `serve` starts it: migrations at start-up, then the bundled directory."""
    engine, schema = await _empty_database(request.param)
    settings = Settings(database_url="sqlite://", encoder="none", telegram_bot_token=None)
    app = build(settings, engine=engine, clock=clock, run_migrations=True)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield app, client
    await drop_test_engine(engine, schema)


async def test_healthz_answers_while_the_process_lives(client) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_a_migrated_database_is_ready_and_the_probe_loads_the_index(migrated) -> None:
    """Nobody has written yet, so no index was built: the first probe builds it, so an
    instance behind a prober becomes ready without waiting for a first message."""
    app, client = migrated
    assert not app.state.ctx.directory.loaded
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": ALL_OK}
    assert app.state.ctx.directory.loaded


async def test_a_database_not_migrated_is_not_ready(client) -> None:
    """The tests' databases are made from the models, with no Alembic revision stamped."""
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {**ALL_OK, "migrations": "not at head"},
    }


async def test_an_index_that_cannot_load_is_not_ready(
    migrated, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = migrated
    async with app.state.ctx.engine.begin() as conn:  # the directory cannot be read whole
        await conn.execute(text("DROP TABLE synonym"))
    with caplog.at_level(logging.WARNING, logger="handlers.ops"):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {**ALL_OK, "directory_index": "not loaded"}
    assert "directory index not loaded" in caplog.text


async def test_an_unreachable_database_is_not_ready_and_its_address_stays_secret(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens on port 1: the driver's error (which names host, port and user) is
    neither answered nor logged."""
    url = f"postgresql://familjeguiden:{PASSWORD}@127.0.0.1:1/nowhere"
    settings = Settings(database_url=url, encoder="none", telegram_bot_token=None)
    app = build(settings, clock=clock, run_migrations=False)  # no start-up: it would fail
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.INFO):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/readyz")
    await app.state.ctx.engine.dispose()
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "unreachable",
        "migrations": "unknown",
        "directory_index": "not loaded",
    }
    for secret in (PASSWORD, "127.0.0.1:1", "nowhere", "familjeguiden:"):
        assert secret not in response.text and secret not in caplog.text
