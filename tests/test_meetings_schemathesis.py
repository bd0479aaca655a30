"""Schemathesis against the meetings admin API (in-process ASGI): generated requests never
get a 5xx, and answers match the OpenAPI schema. A case and a meeting exist, so the fuzzer's
requests reach the validation and the data functions, not only the 404s."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from admin.keys import create_key, create_user
from bot.app import build
from bot.clock import FakeClock
from bot.db import create_all, make_engine, make_session_factory
from bot.meetings.meetings import schedule_meeting
from bot.settings import Settings
from bot.staff.models import Role
from tests.sms_support import make_case, plan

PATHS = r"^/admin/api/v1/(cases/[^/]+/meetings|meetings|sms)"
KEY: dict[str, str] = {}
EXAMPLES = 8


async def _prepare(engine: AsyncEngine, now: datetime) -> str:
    await create_all(engine)
    async with make_session_factory(engine)() as session:
        user = await create_user(
            session=session, name="c", role=Role.coordinator, municipalities=["Degerfors"], now=now
        )
        _row, key = await create_key(session=session, user_id=user.id, now=now)
        case = await make_case(session, now)
        await schedule_meeting(
            session=session,
            case=case,
            plan=plan(now + timedelta(days=3)),
            created_by=user.id,
            now=now,
        )
        await session.commit()
    return key


def test_meetings_api_has_no_server_errors_and_keeps_its_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'st.db'}"
    engine = make_engine(url, poolclass=NullPool)  # each ASGI request runs on its own loop
    clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    KEY["c"] = asyncio.run(_prepare(engine, clock()))
    app = build(Settings(database_url=url), clock=clock, engine=engine, run_migrations=False)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=PATHS)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8

    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(
            headers={"Authorization": f"Bearer {KEY['c']}"},
            checks=[not_a_server_error, response_schema_conformance],
        )

    try:
        for operation in operations:
            settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy())(check))()
    finally:
        asyncio.run(engine.dispose())
