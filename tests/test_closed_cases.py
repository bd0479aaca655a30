# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""A closed case takes no reply, whichever way the lots answers (admin API, Telegram group),
until the parent writes again and so reopens it. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import select

from bot.cases.case_actions import CaseClosed, run_action
from bot.cases.case_models import CaseStatus, SupportCase
from bot.core.conversations import add_message, list_messages
from bot.core.models import Author, Conversation
from bot.staff.models import AuditEntry
from tests.admin_fixtures import API, AdminEnv, admin_env  # noqa: F401
from tests.test_admin_cases import make_case
from tests.test_telegram_coordinators import ANNA_TG, PARENT, Group, consent, run_group


async def stored(env_sessions, conversation_id: str) -> list[tuple[Author, str]]:
    async with env_sessions() as session:
        found = await list_messages(session=session, conversation_id=conversation_id)
    return [(m.author, m.text) for m in found]


async def test_the_api_answers_409_and_stores_nothing(admin_env: AdminEnv) -> None:
    opened = await make_case(admin_env)
    url, headers = f"{API}/cases/{opened.case.id}", admin_env.auth("coordinator")
    assert (await admin_env.client.post(f"{url}/close", headers=headers)).status_code == 200
    sessions = admin_env.app.state.ctx.sessions
    before = await stored(sessions, opened.conversation.id)

    refused = await admin_env.client.post(
        f"{url}/messages", json={"text": "Hej igen!"}, headers=headers
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"case {opened.case.id}: the case is closed; it takes a reply again once the parent writes"
    )
    assert await stored(sessions, opened.conversation.id) == before
    async with sessions() as session:
        actions = (await session.exec(select(AuditEntry.action))).all()
        case = await session.get(SupportCase, opened.case.id)
    assert "reply" not in actions and case is not None and case.status == CaseStatus.closed

    # Notes still work on a closed case; the parent writing reopens it for replies.
    note = await admin_env.client.post(f"{url}/notes", json={"text": "Klart"}, headers=headers)
    assert note.status_code == 201
    handoff = admin_env.app.state.ctx.handoff
    async with sessions() as session:
        conversation = await session.get(Conversation, opened.conversation.id)
        assert conversation is not None
        message = await add_message(
            session=session,
            conversation=conversation,
            author=Author.parent,
            text="Det blev värre igen",
            at=admin_env.clock(),
        )
        await handoff.parent_wrote(session=session, conversation=conversation, message=message)
        await session.commit()
    again = await admin_env.client.post(
        f"{url}/messages", json={"text": "Jag ringer dig."}, headers=headers
    )
    assert again.status_code == 201 and again.json()["case"]["status"] == "waiting_for_parent"


async def test_run_action_refuses_before_changing_anything(admin_env: AdminEnv) -> None:
    opened = await make_case(admin_env)
    ctx = admin_env.app.state.ctx
    async with ctx.sessions() as session:
        case = await session.get(SupportCase, opened.case.id)
        assert case is not None
        await run_action("close", session=session, ctx=ctx, case=case, actor_id=None)
        with pytest.raises(CaseClosed):
            await run_action("reply", session=session, ctx=ctx, case=case, actor_id=None, text="x")
        assert case.first_reply_at is None and case.status == CaseStatus.closed


@pytest.fixture
async def any_db_group(engine, clock, fake_telegram) -> AsyncIterator[Group]:
    async for env in run_group(engine, clock, fake_telegram):
        yield env


async def test_the_telegram_group_is_told_and_the_parent_gets_nothing(
    any_db_group: Group,
) -> None:
    group = any_db_group
    parent = group.parent()
    await consent(parent)
    ctx = group.app.state.ctx
    async with ctx.sessions() as session:
        [case] = (await session.exec(select(SupportCase))).all()
        await ctx.handoff.close(session=session, case=case, ask_satisfaction=False)
    sent_before = list(group.fake.sent_texts(chat_id=PARENT))
    stored_before = await stored(group.sessions, case.conversation_id)

    await group.coordinator_says(
        "Hej, en sak till!", from_id=ANNA_TG, thread_id=case.telegram_thread_id
    )
    assert group.posts()[-1]["text"] == (
        f"Ärende {case.id[:8]} är avslutat, så svaret skickades inte till föräldern. "
        "Ärendet öppnas igen när föräldern skriver."
    )
    assert group.fake.sent_texts(chat_id=PARENT) == sent_before
    assert await stored(group.sessions, case.conversation_id) == stored_before

    # The parent writes again: the case reopens and the lots's answer goes through.
    await parent.says("Hej, det har blivit värre igen")
    await group.coordinator_says(
        "Jag ringer dig nu.", from_id=ANNA_TG, thread_id=case.telegram_thread_id
    )
    assert group.fake.sent_texts(chat_id=PARENT)[-1] == "Jag ringer dig nu."
