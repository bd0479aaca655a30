"""A database that is away answers 503 + Retry-After (not a 500 that closes the connection,
which behind nginx turns the next request on it into a 502); the log quotes no driver text."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from handlers import db_unavailable

DRIVER_TEXT = "connection to postgresql://fg:s3cret@db/fg failed"


def _app(error: Exception) -> FastAPI:
    app = FastAPI()
    db_unavailable.install(app)

    @app.post("/api/chat/{conversation_id}")
    async def boom(conversation_id: str) -> None:
        raise error

    return app


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, ConnectionError(DRIVER_TEXT)),
        InterfaceError("SELECT 1", {}, ConnectionError(DRIVER_TEXT)),
        PoolTimeout(DRIVER_TEXT),
    ],
)
async def test_database_away_is_503_with_retry_after(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=_app(error))
    with caplog.at_level(logging.WARNING, logger=db_unavailable.__name__):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer = await client.post("/api/chat/4df45e5d-5749-4f5c-9c7e-77b6d6d2f5c5")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert "try again" in answer.json()["detail"]
    logged = caplog.text
    assert "database unavailable" in logged
    assert "s3cret" not in logged and "4df45e5d" not in logged


async def test_other_errors_are_not_hidden() -> None:
    transport = httpx.ASGITransport(app=_app(ValueError("a bug")), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/api/chat/x")
    assert answer.status_code == 500
