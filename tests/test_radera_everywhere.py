""" "radera" leaves nothing of the parent in any table, on every channel.

One app runs the web chat, SMS (the fake Twilio server) and Telegram (the fake Bot API, with
the coordinators' group) on SQLite and PostgreSQL. A parent on each channel asks, consents,
gets a lots's reply, a note and a meeting with reminders for them and a teacher; SMS goes out
through the real twilio client and gets its delivery report. Then each parent says radera
in turn. Before it, the parents' traces together must reach every table that can hold
personal data (tests/personal_data.py derives the list from the schema, so a new table
cannot be left out silently); after it, no table holds anything of that parent, and the
other parents' data is untouched.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import select
from twilio.request_validator import RequestValidator

from admin.keys import create_key, create_user
from bot.app import build
from bot.cases import case_actions
from bot.cases.case_models import SupportCase
from bot.clock import FakeClock
from bot.core.dto import Channel
from bot.core.models import Conversation
from bot.settings import Settings
from bot.sms.sms_models import Meeting
from bot.staff.models import Role
from tests.factories import chat
from tests.fake_telegram import FakeTelegram, TelegramUser
from tests.fake_twilio import FakeTwilio
from tests.personal_data import KEPT_ON_PURPOSE, mentions, personal_tables

PUBLIC = "https://familjeguiden.example"
API = "/admin/api/v1"
GROUP = -1001234567
OUR_NUMBER = "+46701740699"
# Numbers from PTS's range for fiction (070-174 06 00-99).
SMS_PARENT = "+46701740605"
TELEGRAM_CHAT = 5550001


@dataclass
class Parent:
    channel: Channel
    word: str  # a made-up word in everything this parent and their lots write
    phone: str  # the parent's own number (their SMS address, or given for the meeting)
    teacher: str  # another participant of the parent's meeting
    address: str = ""  # web conversation id, SMS number or Telegram chat id
    message_sids: list[str] = field(default_factory=list)  # their texts, as Twilio named them

    def question(self) -> str:
        return f"Min son på 14 vill inte gå till skolan, han pratar bara om {self.word}"


@dataclass
class World:
    app: FastAPI
    client: httpx.AsyncClient
    twilio: FakeTwilio
    telegram: FakeTelegram
    clock: FakeClock
    lots_id: str = ""
    lots_key: str = ""
    sms_count: int = 0

    @property
    def ctx(self):
        return self.app.state.ctx

    _telegram_user: TelegramUser | None = None

    def telegram_user(self) -> TelegramUser:
        """The Telegram parent: one user, so their message ids keep counting."""
        if self._telegram_user is None:
            runtime = self.app.state.telegram
            self._telegram_user = TelegramUser(
                self.telegram, runtime.bot, runtime.dispatcher, chat_id=TELEGRAM_CHAT
            )
        return self._telegram_user

    async def twilio_post(self, path: str, form: dict[str, str]) -> httpx.Response:
        signature = RequestValidator(self.twilio.auth_token).compute_signature(PUBLIC + path, form)
        response = await self.client.post(
            path, data=form, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code in (200, 204), response.text
        return response

    async def sms_from(self, parent: Parent, body: str) -> None:
        self.sms_count += 1
        sid = f"SM{self.sms_count:032d}"
        parent.message_sids.append(sid)
        form = {"MessageSid": sid, "AccountSid": self.twilio.account_sid, "From": parent.phone,
                "To": OUR_NUMBER, "Body": body, "NumMedia": "0"}  # fmt: skip
        await self.twilio_post("/sms/twilio", form)


@pytest.fixture
async def world(
    engine, clock: FakeClock, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> AsyncIterator[World]:
    settings = Settings(
        database_url="sqlite://",
        public_base_url=PUBLIC,
        telegram_bot_token=SecretStr(fake_telegram.token),
        telegram_api_base=fake_telegram.url,
        telegram_coordinator_chat_id=GROUP,
        twilio_account_sid=fake_twilio.account_sid,
        twilio_auth_token=fake_twilio.auth_token,
        twilio_from_number=OUR_NUMBER,
        twilio_api_base=fake_twilio.url,
        sms_worker_enabled=False,  # the test runs the worker when it wants SMS to go out
    )
    app = build(settings, engine=engine, clock=clock, run_migrations=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            world = World(app, client, fake_twilio, fake_telegram, clock)
            async with world.ctx.sessions() as session:
                lots = await create_user(session=session, name="Anna Lots", role=Role.coordinator,
                                         municipalities=["Degerfors"], now=clock())  # fmt: skip
                _key, world.lots_key = await create_key(session=session, user_id=lots.id,
                                                        now=clock())  # fmt: skip
                world.lots_id = lots.id
                await session.commit()
            yield world


async def ask_and_consent(world: World, parent: Parent) -> None:
    """The parent's question, "talk to someone" and yes: a case opens."""
    if parent.channel == Channel.web:
        parent.address = (await chat(world.client, parent.question()))["conversation_id"]
        await chat(world.client, "Prata med en person", parent.address, action="handoff")
        await chat(world.client, "ja", parent.address)
    elif parent.channel == Channel.sms:
        parent.address = parent.phone
        for body in (parent.question(), "prata med någon", "ja"):
            await world.sms_from(parent, body)
    else:
        parent.address = str(TELEGRAM_CHAT)
        user = world.telegram_user()
        await user.says("/start degerfors")
        await user.says(parent.question())
        await user.presses("handoff")
        await user.presses("yes")


async def says(world: World, parent: Parent, text: str) -> None:
    if parent.channel == Channel.web:
        await chat(world.client, text, parent.address)
    elif parent.channel == Channel.sms:
        await world.sms_from(parent, text)
    else:
        await world.telegram_user().says(text)


async def radera(world: World, parent: Parent) -> None:
    if parent.channel == Channel.web:
        await chat(world.client, "radera", parent.address)
        assert (await chat(world.client, "radera ja", parent.address))["deleted"] is True
    elif parent.channel == Channel.sms:
        await world.sms_from(parent, "radera")
        await world.sms_from(parent, "radera ja")
    else:
        user = world.telegram_user()
        await user.says("/radera")
        await user.presses("delete_yes")


async def the_case(world: World, parent: Parent) -> SupportCase:
    async with world.ctx.sessions() as session:
        query = (
            select(SupportCase)
            .join(Conversation, Conversation.id == SupportCase.conversation_id)
            .where(Conversation.channel == parent.channel)
            .where(Conversation.sender_ref == parent.address)
        )
        return (await session.exec(query)).one()


async def lots_works_on(world: World, parent: Parent) -> None:
    """A reply and a note (audited), and a meeting booked through the admin API."""
    case = await the_case(world, parent)
    for action, text in (("reply", f"Hej! Jag hör av mig om {parent.word}."),
                         ("note", f"Ringde skolan om {parent.word}.")):  # fmt: skip
        async with world.ctx.sessions() as session:
            case = await session.get(SupportCase, case.id)
            await case_actions.run_action(action, session=session, ctx=world.ctx, case=case,
                                          actor_id=world.lots_id, text=text)  # fmt: skip
    starts = (world.clock() + timedelta(days=3)).replace(hour=10, minute=0, microsecond=0)
    meeting = {
        "kind": "nätverksmöte",
        "starts_at": starts.isoformat(),
        "place": f"Storgatan 1, rummet {parent.word}",
        "contact_name": "Anna Lots",
        "contact_phone": "031-390 650",
        "participants": [
            {"phone": parent.phone, "name": f"Förälder {parent.word}"},
            {"phone": parent.teacher, "name": "Lärare"},
        ],
    }
    auth = {"Authorization": f"Bearer {world.lots_key}"}
    booked = await world.client.post(f"{API}/cases/{case.id}/meetings", json=meeting, headers=auth)
    assert booked.status_code == 201, booked.text


async def send_sms_and_reports(world: World) -> None:
    """The worker sends what is due through the real twilio client; Twilio reports back."""
    await world.app.state.sms.worker.run_once()
    for sms in world.twilio.sent:
        form = {"MessageSid": sms.sid, "MessageStatus": "delivered", "To": sms.to}
        await world.twilio_post("/sms/twilio/status", form)


async def traces(world: World, parent: Parent) -> dict[str, list[str]]:
    """Every cell, in any table, that belongs to this parent."""
    async with world.ctx.sessions() as session:
        own = (
            await session.exec(
                select(Conversation.id).where(
                    Conversation.channel == parent.channel,
                    Conversation.sender_ref == parent.address,
                )
            )
        ).all()
        cases = (
            await session.exec(select(SupportCase.id).where(SupportCase.conversation_id.in_(own)))
        ).all()
        meetings = (await session.exec(select(Meeting.id).where(Meeting.case_id.in_(cases)))).all()
        numbers = {parent.phone, parent.teacher}
        twilio_sids = [sms.sid for sms in world.twilio.sent if sms.to in numbers]
        tokens = [parent.word, parent.address, *numbers, *own, *cases, *meetings,
                  *parent.message_sids, *twilio_sids]  # fmt: skip
        return await mentions(session, tokens)


async def test_radera_leaves_nothing_of_the_parent_on_any_channel(world: World) -> None:
    parents = [
        Parent(Channel.web, "Zebrakvitter", phone="+46701740611", teacher="+46701740621"),
        Parent(Channel.sms, "Kanelgrävling", phone=SMS_PARENT, teacher="+46701740622"),
        Parent(Channel.telegram, "Xylofonbjörn", phone="+46701740613", teacher="+46701740623"),
    ]
    for parent in parents:
        await ask_and_consent(world, parent)
        await lots_works_on(world, parent)
        await says(world, parent, f"Tack! En sak till om {parent.word}.")
    await send_sms_and_reports(world)
    assert any(sms.to == SMS_PARENT and "Jag hör av mig" in sms.body for sms in world.twilio.sent)

    before = {parent.channel: await traces(world, parent) for parent in parents}
    reached = set().union(*(set(found) for found in before.values()))
    assert personal_tables() - set(KEPT_ON_PURPOSE) <= reached, (
        "tables that can hold personal data but this test put nothing of a parent in: "
        "extend the scenario (and radera) to them"
    )

    for n, parent in enumerate(parents):
        await radera(world, parent)
        assert await traces(world, parent) == {}, f"left after radera on {parent.channel}"
        for other in parents[n + 1 :]:
            assert set(await traces(world, other)) == set(before[other.channel]), (
                f"radera on {parent.channel} touched the {other.channel} parent's data"
            )


def test_the_list_of_personal_tables_comes_from_the_schema() -> None:
    tables = personal_tables()
    assert {"conversation", "conversation_message", "outbound_sms", "meeting_participant",
            "telegram_relay", "sms_inbound_seen", "case_note"} <= tables  # fmt: skip
    assert not tables & {"service", "category", "synonym", "service_vector", "office_hours"}
    assert all(re.fullmatch(r"[a-z_]+", name) for name in KEPT_ON_PURPOSE)
