"""Every message of a conversation gets its own seq, whoever writes it and from where.

Two real OS processes (spawned, each with its own engine and pool) write into one
conversation at once, against one SQLite file and against PostgreSQL: every message is kept
and the seqs are exactly 1..n. Migration 0003 renumbers duplicates left by the old code.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.core import conversations
from bot.core.dto import Channel
from bot.core.models import Author, Conversation, ConversationMessage
from bot.db import alembic_config, create_all, make_engine, make_session_factory
from tests import factories
from tests.conftest import postgres_url

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # every message in the same instant: seq decides
PROCESSES = 2
TASKS = 2  # concurrent writers inside each process
TURNS = 25  # per writer; a turn stores the parent's message and the bot's reply together


async def _write_turns(url: str, options: dict[str, str], cid: str, name: str) -> None:
    engine = make_engine(url, connect_args=options) if options else make_engine(url)
    sessions = make_session_factory(engine)

    async def writer(task: int) -> None:
        for turn in range(TURNS):
            async with sessions() as session:
                conversation = await conversations.get_conversation(
                    session=session, conversation_id=cid
                )
                assert conversation is not None
                for author in (Author.parent, Author.bot):
                    await conversations.add_message(
                        session=session,
                        conversation=conversation,
                        author=author,
                        text=f"{name}-{task}-{turn}-{author}",
                        at=AT,
                    )
                await session.commit()

    try:
        await asyncio.gather(*(writer(task) for task in range(TASKS)))
    finally:
        await engine.dispose()


def _process(url: str, options: dict[str, str], cid: str, name: str, start) -> None:
    start.wait(timeout=60)  # all processes begin together
    asyncio.run(_write_turns(url, options, cid, name))


async def _conversation_in(url: str, options: dict[str, str]) -> str:
    engine = make_engine(url, connect_args=options) if options else make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            conversation = factories.conversation(AT, channel=Channel.web, sender_ref="x")
            session.add(conversation)
            await session.commit()
            return conversation.id
    finally:
        await engine.dispose()


async def _run_processes(url: str, options: dict[str, str]) -> str:
    cid = await _conversation_in(url, options)
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters, no inherited pools
    start = spawn.Barrier(PROCESSES)
    procs = [
        spawn.Process(target=_process, args=(url, options, cid, f"p{n}", start))
        for n in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        await asyncio.to_thread(proc.join, 120)
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES, "a writer process failed"
    return cid


async def _check(url: str, options: dict[str, str], cid: str) -> None:
    engine = make_engine(url, connect_args=options) if options else make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            messages = await conversations.list_messages(session=session, conversation_id=cid)
            conversation = await session.get(Conversation, cid)
    finally:
        await engine.dispose()
    total = PROCESSES * TASKS * TURNS * 2
    assert sorted(m.seq for m in messages) == list(range(1, total + 1))
    expected = {
        f"p{p}-{task}-{turn}-{author}"
        for p in range(PROCESSES)
        for task in range(TASKS)
        for turn in range(TURNS)
        for author in (Author.parent, Author.bot)
    }
    assert {m.text for m in messages} == expected  # none lost
    assert conversation is not None and conversation.last_seq == total
    # Each turn's reply directly follows its question: seq was taken inside the transaction.
    by_seq = {m.seq: m.text for m in messages}
    for seq, body in by_seq.items():
        if body.endswith("-parent"):
            assert by_seq[seq + 1] == body.removesuffix("parent") + "bot"


async def test_two_processes_on_one_sqlite_file_never_share_a_seq(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seq.db'}"
    engine = make_engine(url)
    await create_all(engine)
    await engine.dispose()
    cid = await _run_processes(url, {})
    await _check(url, {}, cid)


@pytest.mark.postgres
async def test_two_processes_on_postgresql_never_share_a_seq() -> None:
    url = postgres_url()
    schema = f"t_seq_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = {"options": f"-csearch_path={schema}"}
    try:
        engine = make_engine(url, connect_args=options)
        await create_all(engine)
        await engine.dispose()
        cid = await _run_processes(url, options)
        await _check(url, options, cid)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def test_a_duplicate_seq_is_refused_by_the_database(session, clock) -> None:
    conversation = factories.conversation(clock(), channel=Channel.web, sender_ref="d")
    session.add(conversation)
    await session.commit()
    for _ in range(2):
        session.add(
            ConversationMessage(
                conversation_id=conversation.id,
                author=Author.parent,
                text="hej",
                created_at=clock(),
                seq=7,
            )
        )
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_the_session_sees_the_numbers_it_took(session, clock) -> None:
    """A conversation made in the same transaction is numbered too, and last_seq follows."""
    conversation = factories.conversation(clock(), channel=Channel.sms, sender_ref="+4670")
    session.add(conversation)
    first = await conversations.add_message(
        session=session, conversation=conversation, author=Author.parent, text="a", at=clock()
    )
    second = await conversations.add_message(
        session=session, conversation=conversation, author=Author.bot, text="b", at=clock()
    )
    await session.commit()
    assert (first.seq, second.seq, conversation.last_seq) == (1, 2, 2)
    stored = (await session.exec(select(Conversation))).one()
    assert stored.last_seq == 2


# --- migration 0003 ------------------------------------------------------------------------


def _sync_database(kind: str, tmp_path: Path) -> tuple[str, dict[str, str], str | None]:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}", {}, None
    url = postgres_url().replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"t_m3_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return url, {"options": f"-csearch_path={schema}"}, schema


def _upgrade(conn, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0003_renumbers_duplicates_and_loses_nothing(kind: str, tmp_path: Path) -> None:
    url, options, schema = _sync_database(kind, tmp_path)
    engine = create_engine(url, connect_args=options)
    try:
        with engine.begin() as conn:
            _upgrade(conn, "0002")
            insert_conversation = text(
                "INSERT INTO conversation (id, channel, sender_ref, language, state, context,"
                " opted_out, created_at, updated_at, last_message_at, last_seq)"
                " VALUES (:id, 'web', :id, 'sv', 'idle', '{}', false, :at, :at, :at, :last)"
            )
            insert_message = text(
                "INSERT INTO conversation_message (id, conversation_id, author, text,"
                " created_at, seq, meta) VALUES (:id, :cid, 'parent', :text, :at, :seq, '{}')"
            )
            # As the old code left them: three at once stored as 7, 7, 7; last_seq behind.
            conn.execute(insert_conversation, {"id": "c1", "at": AT, "last": 7})
            conn.execute(insert_conversation, {"id": "c2", "at": AT, "last": 2})
            rows = [("c1", seq, seq) for seq in range(1, 7)]
            rows += [("c1", 7, 7), ("c1", 7, 8), ("c1", 7, 9), ("c1", 8, 10)]
            rows += [("c2", 1, 1), ("c2", 2, 2)]  # no duplicates: left exactly as it was
            for n, (cid, seq, minute) in enumerate(rows):
                conn.execute(
                    insert_message,
                    {"id": f"m{n}", "cid": cid, "text": f"{cid}-{minute}",
                     "at": AT + timedelta(minutes=minute), "seq": seq},
                )  # fmt: skip
            _upgrade(conn, "0003")
            stored = conn.execute(
                text(
                    "SELECT conversation_id, seq, text FROM conversation_message"
                    " ORDER BY conversation_id, created_at, seq"
                )
            ).all()
            last = dict(conn.execute(text("SELECT id, last_seq FROM conversation")).all())
            with pytest.raises(IntegrityError), conn.begin_nested():
                conn.execute(
                    insert_message,
                    {"id": "again", "cid": "c2", "text": "x", "at": AT, "seq": 2},
                )
    finally:
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
    c1 = [(seq, body) for cid, seq, body in stored if cid == "c1"]
    # The earliest of the three 7s keeps its number; the others follow the highest (8).
    assert c1 == [(n, f"c1-{n}") for n in range(1, 8)] + [
        (9, "c1-8"),
        (10, "c1-9"),
        (8, "c1-10"),
    ]
    assert [(seq, body) for cid, seq, body in stored if cid == "c2"] == [(1, "c2-1"), (2, "c2-2")]
    assert last == {"c1": 10, "c2": 2}
