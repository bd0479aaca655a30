"""Shared fixtures: a fresh database per test (SQLite always, PostgreSQL when configured).

PostgreSQL runs when TEST_DATABASE_URL is set (CI sets it); each test gets its own schema.
With FG_REQUIRE_SERVICES=1 (CI), a missing PostgreSQL or chromium fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import build, import_models
from bot.clock import FakeClock
from bot.db import SessionFactory, create_all, make_engine, make_session_factory
from bot.settings import Settings

import_models()  # create_all makes the tables of every imported model
STOCKHOLM = ZoneInfo("Europe/Stockholm")
REQUIRE_SERVICES = os.environ.get("FG_REQUIRE_SERVICES") == "1"
# Fixtures of the fake servers (fake_telegram ...), available to every test.
pytest_plugins = ["tests.fake_telegram", "tests.fake_twilio"]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # screenshots
# As root with no network: no sandbox, and no background calls home that the machine refuses.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the HSDS zip upload serializer before any schemathesis schema is loaded.

    schemathesis remembers which media types it can serialize; registering inside one test
    is too late when another schemathesis test ran first.
    """
    from schemathesis.transport.requests import REQUESTS_TRANSPORT, binary_serializer

    REQUESTS_TRANSPORT.serializer("application/zip")(binary_serializer)


def skip_or_fail(reason: str) -> None:
    """Skip with a clear reason, or fail in CI where every service must be present."""
    if REQUIRE_SERVICES:
        pytest.fail(f"FG_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


# The project's shared folder (seeds, directory spec, HSDS schemas, dev set) lies beside the
# checkout on development machines and in CI; a plain clone elsewhere does not have it.
SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """A file or folder under ../shared, or a clear skip (a failure in CI) when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        skip_or_fail(
            f"this test reads {path}, which lies beside the checkout only in CI and on "
            "development machines (the project's shared folder)"
        )
    return path


def postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        skip_or_fail(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/test)"
        )
    return url  # type: ignore[return-value]


async def make_test_engine(kind: str) -> tuple[AsyncEngine, str | None]:
    """An empty database with every table: in-memory SQLite, or a fresh Postgres schema."""
    if kind == "sqlite":
        engine = make_engine("sqlite://")
        await create_all(engine)
        return engine, None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(postgres_url())
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    engine = make_engine(postgres_url(), connect_args={"options": f"-csearch_path={schema}"})
    await create_all(engine)
    return engine, schema


async def drop_test_engine(engine: AsyncEngine, schema: str | None) -> None:
    if schema is not None:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    """A fresh database per test, on SQLite and (when configured) on PostgreSQL."""
    eng, schema = await make_test_engine(request.param)
    yield eng
    await drop_test_engine(eng, schema)


@pytest.fixture
async def sqlite_engine() -> AsyncIterator[AsyncEngine]:
    """SQLite only, for tests whose subject is not the database."""
    eng, schema = await make_test_engine("sqlite")
    yield eng
    await drop_test_engine(eng, schema)


@pytest.fixture
async def pg_engine() -> AsyncIterator[AsyncEngine]:
    """PostgreSQL only (row locking, several workers)."""
    eng, schema = await make_test_engine("postgres")
    yield eng
    await drop_test_engine(eng, schema)


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return make_session_factory(engine)


@pytest.fixture
async def session(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    """Monday 23 Nov 2026, 10:00 in Stockholm: office hours."""
    return FakeClock(datetime(2026, 11, 23, 10, 0, tzinfo=STOCKHOLM))


@pytest.fixture
def chromium_path() -> str:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        skip_or_fail(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    return CHROMIUM


# The whole app on the test's database and clock, and an HTTP client for it (web chat tests).
@pytest.fixture
async def app(engine, clock: FakeClock) -> AsyncIterator[FastAPI]:
    settings = Settings(database_url="sqlite://", telegram_bot_token=None, twilio_account_sid=None)
    application = build(settings, engine=engine, clock=clock, run_migrations=False)
    async with application.router.lifespan_context(application):  # seeds the directory
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
