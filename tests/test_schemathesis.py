"""Schemathesis against the app's own OpenAPI schema (in-process ASGI): the admin API must
answer every generated request without a 5xx and with responses matching its schema."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from admin.keys import create_key, create_user
from admin.models import Role
from bot.app import build
from bot.clock import FakeClock
from bot.db import create_all, make_engine, make_session_factory
from bot.settings import Settings
from directory.models import ContactKind, ContactPoint, Organization, Service

# Our own operations; other features' routers are covered by their own tests.
ADMIN_PATHS = (
    r"^/admin/api/v1/(services|organizations|categories|synonyms|users|keys|audit|export|import)"
)
KEY: dict[str, str] = {}
EXAMPLES = 6  # per operation: the whole run stays well under a minute


async def _prepare(engine: AsyncEngine, now: datetime) -> str:
    """Tables, an admin key, and a little data so reads and changes find something."""
    await create_all(engine)
    async with make_session_factory(engine)() as session:
        user = await create_user(
            session=session, name="st", role=Role.admin, municipalities=[], now=now
        )
        _row, key = await create_key(session=session, user_id=user.id, now=now)
        org = Organization(name="Degerfors kommun")
        service = Service(name="Familjecentralen", municipalities=["Degerfors"])
        service.organization_id = org.id
        session.add_all([org, service])
        await session.flush()
        session.add(
            ContactPoint(service_id=service.id, kind=ContactKind.phone, value="+4658648000")
        )
        await session.commit()
    return key


def _schema(tmp_path: Path) -> tuple[schemathesis.BaseSchema, AsyncEngine]:
    url = f"sqlite:///{tmp_path / 'st.db'}"
    # NullPool: the ASGI test client runs each request on its own event loop.
    engine = make_engine(url, poolclass=NullPool)
    clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    KEY["admin"] = asyncio.run(_prepare(engine, clock()))
    app = build(Settings(database_url=url), clock=clock, engine=engine, run_migrations=False)
    return schemathesis.openapi.from_asgi("/openapi.json", app).include(
        path_regex=ADMIN_PATHS
    ), engine


def _check(case: schemathesis.Case) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY['admin']}"},
        checks=[not_a_server_error, response_schema_conformance],
    )


# schemathesis' own pytest plugin (schema.parametrize / from_fixture) does not run under
# pytest 9, so each operation's Hypothesis strategy is driven here directly.
def test_admin_api_has_no_server_errors_and_keeps_its_schema(tmp_path: Path) -> None:
    schema, engine = _schema(tmp_path)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    try:
        for operation in operations:
            run = settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy())(_check))
            run()
    finally:
        asyncio.run(engine.dispose())
