"""Shared set-up for the inbox, admin cases API and browser tests: coordinators and cases."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import SupportCase
from bot.cases.handoff import CaseHandoff
from bot.clock import FakeClock
from bot.core import conversations
from bot.core.dto import Channel
from bot.core.models import Author, Conversation
from bot.db import SessionFactory
from bot.staff.models import Role, StaffUser
from handlers.inbox_auth import create_login
from tests import factories

PASSWORD = "rätt-lösenord-1"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Opened:
    case: SupportCase
    conversation: Conversation


async def add_coordinator(
    sessions: SessionFactory, clock: FakeClock, *, username: str, municipality: str
) -> StaffUser:
    async with sessions() as session:
        user = await create_login(
            session=session,
            username=username,
            password=PASSWORD,
            name=f"Lots {municipality}",
            role=Role.coordinator,
            municipalities=[municipality],
            now=clock(),
        )
        await session.commit()
        return user


async def open_parent_case(
    session: AsyncSession,
    handoff: CaseHandoff,
    clock: FakeClock,
    *,
    municipality: str,
    channel: Channel = Channel.web,
    sender_ref: str = "4711",
    question: str = "Min son mår dåligt, vem kan jag prata med?",
) -> Opened:
    """A parent conversation with one question, consent given, and its case."""
    conversation = factories.conversation(
        clock(), channel=channel, sender_ref=sender_ref, municipality=municipality
    )
    if channel == Channel.web:
        conversation.id = sender_ref
    session.add(conversation)
    await conversations.add_message(
        session=session, conversation=conversation, author=Author.parent, text=question, at=clock()
    )
    opened = await handoff.open_case(
        session=session,
        conversation=conversation,
        consent_text=handoff.consent_text(conversation=conversation),
        at=clock(),
    )
    await session.commit()
    case = await session.get(SupportCase, opened.case_id)
    assert case is not None
    return Opened(case=case, conversation=conversation)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token for later POSTs."""
    page = await client.get("/inbox/login")
    token = CSRF_INPUT.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"username": username, "password": password, "csrf_token": token}
    response = await client.post("/inbox/login", data=form)
    assert response.status_code == 303, response.text
    return token
