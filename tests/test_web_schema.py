"""Schemathesis against the web chat API (in-process ASGI): no generated request may get a
5xx, and every answer must match the OpenAPI schema the app publishes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.pool import NullPool

from bot.app import build
from bot.clock import FakeClock
from bot.db import create_all, make_engine
from bot.settings import Settings

EXAMPLES = 40  # per operation; the core answers in milliseconds


def _check(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])


def test_chat_api_has_no_server_errors_and_keeps_its_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'chat.db'}"
    # NullPool: the ASGI test client runs each request on its own event loop.
    engine = make_engine(url, poolclass=NullPool)
    asyncio.run(create_all(engine))
    clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    app = build(
        Settings(database_url=url, telegram_bot_token=None),
        clock=clock,
        engine=engine,
        run_migrations=False,
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=r"^/api/chat")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 2
    try:
        for operation in operations:
            settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy())(_check))()
    finally:
        asyncio.run(engine.dispose())
