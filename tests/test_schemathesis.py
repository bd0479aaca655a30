"""Schemathesis against the app's own OpenAPI schema (in-process ASGI): the admin API must
answer every generated request without a 5xx and with responses matching its schema."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import product
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from admin.auth import FailureLimiter
from admin.keys import create_key, create_user
from bot.app import build
from bot.clock import FakeClock
from bot.db import create_all, make_engine, make_session_factory
from bot.settings import Settings, normalise_database_url
from bot.staff.models import Role
from directory.models import ContactKind
from tests import factories
from tests.conftest import postgres_url

# Our own operations; other features' routers are covered by their own tests.
ADMIN_PATHS = (
    r"^/admin/api/v1/(services|organizations|categories|synonyms|users|keys|audit|export|import)"
)
KEY: dict[str, str] = {}
# Examples per operation and mode: the whole run stays well under a minute.
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 4}
MODES = list(EXAMPLES)


async def _prepare(engine: AsyncEngine, now: datetime) -> str:
    """Tables, an admin key, and a little data so reads and changes find something."""
    await create_all(engine)
    async with make_session_factory(engine)() as session:
        user = await create_user(
            session=session, name="st", role=Role.admin, municipalities=[], now=now
        )
        _row, key = await create_key(session=session, user_id=user.id, now=now)
        org = factories.organization(now, name="Degerfors kommun")
        service = factories.service(now, name="Familjecentralen", municipalities=["Degerfors"])
        service.organization_id = org.id
        session.add_all([org, service])
        await session.flush()
        session.add(
            factories.contact(
                now, service_id=service.id, kind=ContactKind.phone, value="+4658648000"
            )
        )
        await session.commit()
    return key


def _sqlite_engine(tmp_path: Path) -> tuple[AsyncEngine, Callable[[], None]]:
    # NullPool: the ASGI test client runs each request on its own event loop.
    engine = make_engine(f"sqlite:///{tmp_path / 'st.db'}", poolclass=NullPool)
    return engine, lambda: asyncio.run(engine.dispose())


def _postgres_engine() -> tuple[AsyncEngine, Callable[[], None]]:
    """A fresh schema on the test server; NullPool for the same reason as on SQLite."""
    url = normalise_database_url(postgres_url())
    schema = f"st_{uuid.uuid4().hex[:12]}"

    async def ddl(statement: str) -> None:
        admin = create_async_engine(url, poolclass=NullPool)
        async with admin.begin() as conn:
            await conn.execute(text(statement))
        await admin.dispose()

    asyncio.run(ddl(f'CREATE SCHEMA "{schema}"'))
    options = {"options": f"-csearch_path={schema}"}
    engine = create_async_engine(url, poolclass=NullPool, connect_args=options)

    def drop() -> None:
        asyncio.run(engine.dispose())
        asyncio.run(ddl(f'DROP SCHEMA "{schema}" CASCADE'))

    return engine, drop


def _schema(engine: AsyncEngine) -> schemathesis.BaseSchema:
    clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    KEY["admin"] = asyncio.run(_prepare(engine, clock()))
    settings_ = Settings(database_url=str(engine.url))
    app = build(settings_, clock=clock, engine=engine, run_migrations=False)
    # Negative cases send broken keys too; without this the failure limit would turn the
    # rest of the run into 429s and hide what the routes do with bad input.
    app.state.admin_auth_limiter = FailureLimiter(max_failures=1_000_000)
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=ADMIN_PATHS)


def _check(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY['admin']}"},
        checks=[not_a_server_error, response_schema_conformance],
    )


def _run(engine: AsyncEngine) -> None:
    schema = _schema(engine)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation, mode in product(operations, MODES):
        run = settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )(given(case=operation.as_strategy(mode))(_check))
        run()


# schemathesis' own pytest plugin (schema.parametrize / from_fixture) does not run under
# pytest 9, so each operation's Hypothesis strategy is driven here directly.
def test_admin_api_has_no_server_errors_and_keeps_its_schema(tmp_path: Path) -> None:
    engine, close = _sqlite_engine(tmp_path)
    try:
        _run(engine)
    finally:
        close()


@pytest.mark.postgres
def test_admin_api_on_postgres_has_no_server_errors() -> None:
    """PostgreSQL is stricter (NUL characters, column lengths): the same run against it."""
    engine, close = _postgres_engine()
    try:
        _run(engine)
    finally:
        close()
