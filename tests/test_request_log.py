"""Logs: one line per request by route template (JSON with LOG_FORMAT=json), uvicorn's access
log off, and no conversation id, body or query string in any line the app writes.
"""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cli import server_config
from bot.clock import FakeClock
from bot.db import SessionFactory
from bot.ops.log_format import JsonFormatter, TextFormatter, logging_config
from bot.settings import Settings
from handlers.request_log import RequestRecorder
from tests import factories
from tests.conversation_doubles import FakeDirectory, say, web_core

SCHOOL = "Min son på 14 vill inte gå till skolan längre och sitter hemma hela dagarna"
ACUTE = "min dotter har tagit en massa tabletter och svarar knappt"
REQUEST_LOG = "handlers.request_log"
LINE_KEYS = {"time", "level", "logger", "message", "route", "method", "status", "duration_ms"}
CONFIGURED = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic.runtime.plugins")


def formatted(records: list[logging.LogRecord]) -> str:
    """Every record as both formats would write it."""
    lines = [f.format(r) for r in records for f in (TextFormatter(), JsonFormatter())]
    return "\n".join(lines)


async def test_one_json_line_per_request_by_route_template(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    cid = (await factories.chat(client, SCHOOL))["conversation_id"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=REQUEST_LOG):
        assert (await client.get(f"/api/chat/{cid}?after=1&limit=10")).status_code == 200
    [record] = [r for r in caplog.records if r.name == REQUEST_LOG]
    line = json.loads(JsonFormatter().format(record))
    assert set(line) == LINE_KEYS
    assert (line["route"], line["method"], line["status"]) == (
        "/api/chat/{conversation_id}",
        "GET",
        200,
    )
    assert line["level"] == "INFO" and line["logger"] == REQUEST_LOG
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")
    assert line["message"] == f"GET /api/chat/{{conversation_id}} 200 {line['duration_ms']} ms"
    assert cid not in formatted([record]) and "after" not in formatted([record])


async def test_no_log_line_holds_a_conversation_id_or_a_message(
    client, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole conversation (question, handoff, an acute message, history, radera) at the
    production level: every line, in both formats, names routes and channels only."""
    with caplog.at_level(logging.INFO):
        cid = (await factories.chat(client, SCHOOL))["conversation_id"]
        await factories.chat(client, "Prata med en person", cid, action="handoff")
        await factories.chat(client, "ja", cid)
        await factories.chat(client, ACUTE, cid)
        await client.get(f"/api/chat/{cid}", params={"after": 0})
        await factories.chat(client, "radera", cid)
        assert (await factories.chat(client, "radera ja", cid))["deleted"] is True
    # The app's own lines (httpx is this test's client: the product does not use it).
    written = formatted([r for r in caplog.records if not r.name.startswith("httpx")])
    assert "POST /api/chat 200" in written and "a web conversation was deleted" in written
    for private in (cid, cid.split("-")[0], "skolan", "tabletter"):
        assert private not in written


async def test_a_failed_reply_is_logged_without_the_conversation_id(
    sessions: SessionFactory, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    directory = FakeDirectory()
    directory.matcher.fail = True
    core = web_core(sessions, clock, directory=directory)
    with caplog.at_level(logging.INFO):
        assert "något gick fel" in (await say(core, "skolan")).text
    [failure] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failure.getMessage() == "reply failed in a web conversation"
    assert failure.exc_info is not None  # the traceback is kept, for whoever fixes it
    async with sessions() as session:
        ids = (await session.exec(text("SELECT id FROM conversation"))).all()  # type: ignore[call-overload]
    assert ids and all(row[0] not in formatted(caplog.records) for row in ids)


async def test_database_errors_never_quote_row_values(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLAlchemy would list the statement's parameters, PostgreSQL quotes the key in its
    DETAIL line: both would put a conversation id (or a message) in the log."""
    secret = "6f1c1f0e-0000-4000-8000-00000000c1d0"
    async with engine.connect() as conn:
        await conn.execute(text("CREATE TEMPORARY TABLE seen (id VARCHAR(36) PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO seen VALUES (:id)"), {"id": secret})
        with pytest.raises(IntegrityError) as refused:
            await conn.execute(text("INSERT INTO seen VALUES (:id)"), {"id": secret})
        await conn.rollback()
    assert secret not in str(refused.value).split("DETAIL")[0]  # no parameters listed
    with caplog.at_level(logging.ERROR):
        try:
            raise RuntimeError("storing failed") from refused.value
        except RuntimeError:
            logging.getLogger("tests.db").exception("turn failed")
    written = formatted(caplog.records)
    assert "IntegrityError" in written or "UniqueViolation" in written
    assert secret not in written


def _recorded_app(timer_values: list[float]) -> FastAPI:
    app = FastAPI()

    @app.get("/boom/{item_id}")
    async def boom(item_id: str) -> None:
        raise RuntimeError(f"broke on {item_id}")

    app.add_middleware(RequestRecorder, routes=app.routes, timer=iter(timer_values).__next__)
    return app


async def test_an_error_is_logged_as_a_500_and_an_unknown_path_as_unmatched(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _recorded_app([10.0, 10.25, 20.0, 20.5])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.INFO, logger=REQUEST_LOG):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/boom/item-31337?q=x")).status_code == 500
            assert (await client.post("/nowhere/item-31337")).status_code == 404
    lines = [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == REQUEST_LOG
    ]
    assert [(li["route"], li["method"], li["status"], li["duration_ms"]) for li in lines] == [
        ("/boom/{item_id}", "GET", 500, 250.0),
        ("unmatched", "POST", 404, 500.0),
    ]
    assert "31337" not in formatted([r for r in caplog.records if r.name == REQUEST_LOG])


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """dictConfig changes the process's loggers: put them back for the tests after."""
    root = logging.getLogger()
    kept = (root.handlers[:], root.level)
    others = {
        name: (lg.handlers[:], lg.level, lg.propagate, lg.disabled)
        for name in CONFIGURED
        for lg in [logging.getLogger(name)]
    }
    yield
    root.handlers[:] = kept[0]
    root.setLevel(kept[1])
    for name, (handlers, level, propagate, disabled) in others.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate, logger.disabled = handlers, propagate, disabled
        logger.setLevel(level)


def test_each_worker_process_logs_json_when_told_and_no_access_log(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """serve --workers N: uvicorn configures every fresh worker process from log_config."""
    settings = Settings(database_url="sqlite://", log_format="json", log_level="INFO")
    config = server_config(
        "bot.app:create_app", settings, host="127.0.0.1", port=0, factory=True, workers=2
    )
    assert config.access_log is False
    assert config.log_config == logging_config(log_format="json", level="INFO")
    access = logging.getLogger("uvicorn.access")  # uvicorn applied it, as a worker does
    assert access.handlers == [] and access.propagate is False
    capsys.readouterr()
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 4711)
    logging.getLogger("tests.x").info("GET %s", "/x", extra={"route": "/x", "status": 200})
    logging.getLogger("alembic.runtime.plugins").info("setup plugin x")  # held back
    started, line = [json.loads(li) for li in capsys.readouterr().err.splitlines()]
    assert (started["logger"], started["level"]) == ("uvicorn.error", "INFO")
    assert started["message"] == "Started server process [4711]"
    assert (line["message"], line["route"], line["status"]) == ("GET /x", "/x", 200)


def test_one_process_keeps_the_logging_its_process_set_and_text_is_the_default(
    restored_logging: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`serve` configures logging itself before it builds the app (build() logs); uvicorn,
    given the app, leaves it alone (so does any process that embeds it, such as a test)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert settings.log_format == "text"
    root = logging.getLogger()
    handlers = root.handlers[:]
    config = server_config(FastAPI(), settings, host="127.0.0.1", port=0)
    assert config.access_log is False and config.log_config is None
    assert root.handlers == handlers
    logging.config.dictConfig(logging_config(log_format="text", level="INFO"))
    capsys.readouterr()
    logging.getLogger("tests.x").warning("disk %s", "full")
    [written] = capsys.readouterr().err.splitlines()
    assert written.endswith(" WARNING tests.x disk full") and not written.startswith("{")
