"""The web chat's message path: what a turn costs the database and the encoder, and that a
question being encoded holds up nobody else (the event loop, nor other chats on SQLite).

The app runs on the real encoder behind a gate (ENCODER=module:factory): the test decides
when a question's encoding may finish, so "while it is being encoded" needs no timing.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import numpy as np
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.app import build
from bot.clock import FakeClock
from bot.core.commits import GroupCommit
from bot.core.dto import Channel, Inbound
from bot.core.models import ConversationMessage
from bot.db import create_all, make_engine, make_session_factory
from bot.settings import Settings
from directory.encoder import E5Encoder
from directory.index import RememberingTriage
from directory.urgency import Urgency

ENCODER = f"{__name__}:gated_encoder"
WAIT = 60  # seconds: a bound on a hang, never reached when the code is right


class GatedEncoder:
    """The product's e5 encoder; each question's encoding waits at the gate (open unless a
    test closes it) and is counted."""

    def __init__(self) -> None:
        self.inner = E5Encoder()
        self.name, self.dim = self.inner.name, self.inner.dim
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()  # an encoding reached the closed gate
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if not self.gate.is_set():
            self.waiting.set()
            assert self.gate.wait(WAIT), "the test never opened the gate"
        return self.inner.encode(texts)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.passage(texts)


_GATED = GatedEncoder()


def gated_encoder() -> GatedEncoder:
    """The ENCODER factory (one per process, as every encoder is)."""
    return _GATED


@asynccontextmanager
async def running_app(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url="sqlite://", encoder=ENCODER, telegram_bot_token=None, twilio_account_sid=None
    )
    app = build(settings, engine=engine, clock=clock, run_migrations=False)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def chat_client(engine: AsyncEngine, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(engine, clock) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def say(
    client: httpx.AsyncClient, text: str, cid: str | None = None, action: str | None = None
) -> dict[str, object]:
    body = {"conversation_id": cid, "text": text, "action": action}
    response = await asyncio.wait_for(client.post("/api/chat", json=body), WAIT)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_chat_turn_goes_on_while_another_chats_question_is_encoded(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """Encoding runs off the event loop and outside SQLite's one-writer lock: another chat's
    turn (and /healthz) are answered while a question's encoding cannot finish."""
    async with chat_client(engine, clock) as client:
        waiting = await say(client, "hej")  # a conversation, and the directory index built
        _GATED.gate.clear()
        _GATED.waiting.clear()
        try:
            text = f"Min dotter på 9 är rädd för att gå till skolan ({uuid.uuid4().hex[:6]})"
            question = asyncio.create_task(say(client, text))
            assert await asyncio.to_thread(_GATED.waiting.wait, WAIT)
            assert (await asyncio.wait_for(client.get("/healthz"), WAIT)).status_code == 200
            other = await say(client, "hjälp", str(waiting["conversation_id"]))
            new = await say(client, "hej")
            assert other["messages"] and new["messages"]
            assert not question.done()  # all of that while the question was still encoding
        finally:
            _GATED.gate.set()
        answered = await asyncio.wait_for(question, WAIT)
        assert answered["services"]


FOLLOW_UPS = [
    ("fler", None),
    ("1", "detail:1"),
    ("vad kostar det?", None),
    ("Fler", "more"),
    ("2", None),
    ("hjälp", None),
    ("tack", None),
]
# Database round trips (statements, commits, and PostgreSQL's BEGIN) for one turn, rate
# limit included: see bench/chat_round_trips.py for what they are.
MOST_ROUND_TRIPS = {"sqlite": 8, "postgresql": 9}


async def test_follow_ups_take_few_round_trips_and_no_encoding(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    trips: list[str] = []

    def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        trips.append(sql)

    def commit(_conn: object) -> None:
        trips.append("COMMIT")

    def begin(_conn: object) -> None:
        if dialect == "postgresql":  # psycopg sends it; SQLite's driver begins with the write
            trips.append("BEGIN")

    dialect = engine.dialect.name
    listeners = [("before_cursor_execute", statement), ("commit", commit), ("begin", begin)]
    async with chat_client(engine, clock) as client:
        first = await say(client, f"Min son på 14 vill inte gå till skolan ({uuid.uuid4().hex})")
        cid = str(first["conversation_id"])
        for name, listener in listeners:
            event.listen(engine.sync_engine, name, listener)
        try:
            for text, action in FOLLOW_UPS:
                trips.clear()
                encoded = _GATED.calls
                data = await say(client, text, cid, action)
                assert data["messages"], text
                assert _GATED.calls == encoded, f"{text!r} was encoded"
                assert len(trips) <= MOST_ROUND_TRIPS[dialect], (text, trips)
        finally:
            for name, listener in listeners:
                event.remove(engine.sync_engine, name, listener)


class CountedSyncs(GroupCommit):
    syncs = 0

    def _sync(self) -> None:
        type(self).syncs += 1
        super()._sync()


async def test_turns_waiting_together_share_one_disk_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    try:
        await create_all(engine)
        group = CountedSyncs.for_engine(engine)
        assert isinstance(group, CountedSyncs) and GroupCommit.for_engine(None) is None
        await asyncio.gather(*(group.durable() for _ in range(10)))
        assert CountedSyncs.syncs == 1  # every caller was waiting before the sync began
        await group.durable()
        assert CountedSyncs.syncs == 2  # a later commit needs a later sync
    finally:
        await engine.dispose()


async def test_chat_turns_on_a_sqlite_file_are_stored_and_leave_full_sync(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Turns commit without syncing and then sync together; the connections go back to the
    pool with SQLite's FULL setting, which every other writer keeps."""
    engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    try:
        await create_all(engine)
        async with engine.connect() as conn:
            before = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        async with chat_client(engine, clock) as client:
            answered = await asyncio.gather(*(say(client, "hej") for _ in range(8)))
        ids = {str(a["conversation_id"]) for a in answered}
        async with make_session_factory(engine)() as session:
            stored = (await session.exec(select(ConversationMessage))).all()
        assert len(ids) == 8 and {m.conversation_id for m in stored} == ids
        assert sorted(m.seq for m in stored) == [1] * 8 + [2] * 8
        for _ in range(3):  # whichever pooled connection comes back
            async with engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == before
    finally:
        await engine.dispose()


async def test_two_first_messages_at_once_make_one_conversation(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """A conversation is stored with its first turn: two first messages racing (PostgreSQL
    lets them) both find none, one commit fails on the unique address, and that turn is
    retried into the conversation the other made."""
    async with running_app(engine, clock) as app:
        core = app.state.ctx.core
        sender = f"+4670{uuid.uuid4().int % 10**7:07d}"
        turns = [
            Inbound(channel=Channel.sms, sender_ref=sender, text=text, received_at=clock())
            for text in ("hej", "hjälp")
        ]
        done = await asyncio.gather(*(core.exchange(turn) for turn in turns))
        assert done[0].conversation_id == done[1].conversation_id
        async with make_session_factory(engine)() as session:
            stored = (await session.exec(select(ConversationMessage))).all()
        assert sorted(m.seq for m in stored) == [1, 2, 3, 4]


class CountedRules(RememberingTriage):
    def _rules(self, text: str) -> Urgency:
        object.__setattr__(self, "ruled", getattr(self, "ruled", 0) + 1)
        return super()._rules(text)


def test_a_text_is_triaged_once_however_often_it_is_asked() -> None:
    """The core triages a question before its turn and the matcher again while ranking: the
    second judgement is the first one, kept."""
    triage = CountedRules.load(None)
    acute = "min dotter har tagit en massa tabletter och svarar knappt"
    first = triage.assess(acute)
    assert first.urgent and triage.assess(acute) is first
    assert not triage.assess("var finns öppna förskolan?").urgent
    assert triage.ruled == 2  # type: ignore[attr-defined]
