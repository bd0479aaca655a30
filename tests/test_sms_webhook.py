"""The Twilio webhook through the whole app: signed requests, the real conversation core,
TwiML answers, STOPP/START, HJÄLP, retries of a MessageSid, status callbacks, and the
queued REST path through the real twilio client to the fake Twilio server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from twilio.request_validator import RequestValidator

from bot.app import build
from bot.cases.cases import list_notes
from bot.core.dto import Channel, Reply
from bot.core.models import Author, Conversation, ConversationMessage
from bot.db import create_all, make_engine
from bot.meetings.meetings import schedule_meeting
from bot.meetings.reminder_plan import STOCKHOLM
from bot.settings import Settings
from bot.sms.gsm import is_gsm7, segments
from bot.sms.sender import SmsOptedOut
from bot.sms.sms_models import OutboundSms, SmsDelivery, SmsInboundSeen
from tests.fake_twilio import FakeTwilio
from tests.sms_support import PARENT, make_case, plan

PUBLIC = "https://familjeguiden.example"
SCHOOL = "Min son på 14 vill inte gå till skolan längre och sitter hemma hela dagarna"


@dataclass
class Sms:
    app: FastAPI
    client: httpx.AsyncClient
    fake: FakeTwilio
    seq: int = 0

    def sign(self, path: str, form: dict[str, str], token: str | None = None) -> str:
        validator = RequestValidator(token or self.fake.auth_token)
        return validator.compute_signature(PUBLIC + path, form)

    async def text(self, body: str, *, sender: str = PARENT, sid: str | None = None):
        self.seq += 1
        form = {
            "MessageSid": sid or f"SM{self.seq:032d}",
            "AccountSid": self.fake.account_sid,
            "From": sender,
            "To": "+46701740699",
            "Body": body,
            "NumMedia": "0",
        }
        headers = {"X-Twilio-Signature": self.sign("/sms/twilio", form)}
        return await self.client.post("/sms/twilio", data=form, headers=headers)

    async def answer(self, body: str, **kw) -> list[str]:
        response = await self.text(body, **kw)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/xml")
        return [
            unescape(m)
            for m in re.findall(r"<Message[^>]*>(.*?)</Message>", response.text, flags=re.S)
        ]

    @property
    def ctx(self):
        return self.app.state.ctx


def unescape(xml_text: str) -> str:
    return (
        xml_text.replace("&quot;", '"')
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
    )


@pytest.fixture
async def sms(engine, clock) -> AsyncIterator[Sms]:
    fake = await FakeTwilio().start()
    settings = Settings(
        database_url="sqlite://",
        telegram_bot_token=None,
        public_base_url=PUBLIC,
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=fake.auth_token,
        twilio_from_number="+46701740699",
        twilio_api_base=fake.url,
        sms_worker_enabled=False,
    )
    app = build(settings, engine=engine, clock=clock, run_migrations=False)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                yield Sms(app, client, fake)
    finally:
        await fake.stop()


async def _parent_messages(sms: Sms) -> list[str]:
    async with sms.ctx.sessions() as session:
        query = (
            select(ConversationMessage)
            .join(Conversation)
            .where(
                Conversation.channel == Channel.sms,
                Conversation.sender_ref == PARENT,
                ConversationMessage.author == Author.parent,
            )
        )
        return [m.text for m in (await session.exec(query)).all()]


async def test_a_parents_question_is_answered_by_sms(sms) -> None:
    [reply] = await sms.answer(SCHOOL, sender="070-174 06 05")  # normalised to E.164
    assert re.search(r"\n1\. .+\n(.+\n)?\n2\. .+\n(.+\n)?\n3\. ", reply)  # all three services
    assert "Svaren gäller Degerfors" in reply
    assert is_gsm7(reply) and segments(reply) <= 3
    assert re.search(r"\n\d\. Fler[^\n]*\n\d\. [^\n]+\nSvara 1, 2, 3, 4 eller 5\.$", reply)
    assert await _parent_messages(sms) == [SCHOOL]
    # "4" is the "Fler" choice on SMS, not service number 4.
    [more] = await sms.answer("4")
    assert more.startswith("Här är fler förslag") or "inga fler" in more


async def test_stopp_silences_everything_until_start(sms) -> None:
    [stopped] = await sms.answer("STOPP")
    assert "inga fler sms" in stopped and "START" in stopped
    assert await sms.answer(SCHOOL) == []
    assert await _parent_messages(sms) == []  # not even handed to the core
    with pytest.raises(SmsOptedOut):  # the coordinator is told it cannot go out
        await sms.ctx.senders[Channel.sms].send(PARENT, Reply("Hej, det är Anna."))
    assert await sms.app.state.sms.worker.run_once() == 0 and sms.fake.sent == []
    [started] = await sms.answer("start")
    assert "Välkommen tillbaka" in started
    [reply] = await sms.answer(SCHOOL)
    assert "Svara" in reply


async def test_help_explains_in_swedish_or_english(sms) -> None:
    [sv] = await sms.answer("Hjälp")
    [en] = await sms.answer("HELP")
    assert "STOPP" in sv and "112" in sv and segments(sv) <= 2
    assert "Reply STOP" in en


@pytest.mark.parametrize("how", ["unsigned", "wrong token", "request url", "tampered"])
async def test_forged_or_unsigned_requests_are_refused_and_not_processed(sms, how) -> None:
    form = {"MessageSid": "SM" + "f" * 32, "From": PARENT, "Body": SCHOOL}
    signature = {
        "unsigned": None,
        "wrong token": sms.sign("/sms/twilio", form, token="not-the-token"),
        "request url": RequestValidator(sms.fake.auth_token).compute_signature(
            "http://test/sms/twilio", form
        ),
        "tampered": sms.sign("/sms/twilio", {**form, "Body": "hej"}),
    }[how]
    headers = {"X-Twilio-Signature": signature} if signature else {}
    response = await sms.client.post("/sms/twilio", data=form, headers=headers)
    assert response.status_code == 403
    assert await _parent_messages(sms) == []
    async with sms.ctx.sessions() as session:
        assert (await session.exec(select(SmsInboundSeen))).all() == []


async def test_a_repeated_message_sid_is_processed_once(sms) -> None:
    first = await sms.text(SCHOOL, sid="SM" + "1" * 32)
    again = await sms.text(SCHOOL, sid="SM" + "1" * 32)
    assert first.status_code == again.status_code == 200
    assert again.text == first.text  # Twilio retried because it never got the first answer
    assert await _parent_messages(sms) == [SCHOOL]


async def test_a_signed_request_without_from_names_the_field(sms) -> None:
    form = {"MessageSid": "SM" + "2" * 32, "Body": "hej"}
    headers = {"X-Twilio-Signature": sms.sign("/sms/twilio", form)}
    response = await sms.client.post("/sms/twilio", data=form, headers=headers)
    assert response.status_code == 400 and "From" in response.json()["detail"]


async def test_ok_to_a_reminder_lands_on_the_case(sms, clock) -> None:
    async with sms.ctx.sessions() as session:
        case = await make_case(session, clock())
        starts = datetime(2026, 11, 26, 10, 0, tzinfo=STOCKHOLM)
        await schedule_meeting(
            session=session, case=case, plan=plan(starts), created_by=None, now=clock()
        )
        await session.commit()
    clock.advance(days=1)
    assert await sms.app.state.sms.worker.run_once() == 2  # the 48 h reminders, via REST
    assert [m.to for m in sms.fake.sent].count(PARENT) == 1
    [thanks] = await sms.answer("OK")
    assert thanks == "Tack! Vi ses torsdag 26 november kl. 10.00."
    async with sms.ctx.sessions() as session:
        notes = await list_notes(session=session, case_id=case.id)
    assert [n.text for n in notes] == [
        "SMS-svar: En deltagare bekräftar nätverksmöte torsdag 26 november kl. 10.00."
    ]
    assert await _parent_messages(sms) == []  # the core never saw it


async def test_delivery_status_is_recorded_and_must_be_signed(sms) -> None:
    await sms.ctx.senders[Channel.sms].send(PARENT, Reply("Hej från din lots."))
    await sms.app.state.sms.worker.run_once()
    sid = sms.fake.sent[0].sid
    assert sms.fake.sent[0].status_callback == PUBLIC + "/sms/twilio/status"
    form = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": sms.fake.account_sid}
    unsigned = await sms.client.post("/sms/twilio/status", data=form)
    assert unsigned.status_code == 403
    headers = {"X-Twilio-Signature": sms.sign("/sms/twilio/status", form)}
    signed = await sms.client.post("/sms/twilio/status", data=form, headers=headers)
    assert signed.status_code == 204
    async with sms.ctx.sessions() as session:
        delivery = await session.get(SmsDelivery, sid)
        row = (await session.exec(select(OutboundSms))).one()
    assert delivery is not None and delivery.status == "delivered"
    assert row.status.value == "delivered" and delivery.outbound_id == row.id


async def test_the_apps_own_worker_sends_queued_messages(tmp_path, clock) -> None:
    # A file database: the worker runs beside the request, on its own connection (the
    # in-memory test database shares one connection, which concurrent tasks cannot).
    engine = make_engine(f"sqlite:///{tmp_path / 'fg.db'}")
    await create_all(engine)
    fake = await FakeTwilio().start()
    settings = Settings(
        database_url="sqlite://",
        telegram_bot_token=None,
        public_base_url=PUBLIC,
        twilio_account_sid=fake.account_sid,
        twilio_auth_token=fake.auth_token,
        twilio_messaging_service_sid="MG" + "0" * 32,
        twilio_api_base=fake.url,
    )
    app = build(settings, engine=engine, clock=clock, run_migrations=False)
    try:
        async with app.router.lifespan_context(app):  # starts the worker loop
            sender = app.state.ctx.senders[Channel.sms]
            await sender.send("070-174 06 05", Reply("Hej! Anna här, jag ringer dig i morgon."))
            await fake.wait_for(1)  # the queued sender woke the worker: no polling delay
    finally:
        await fake.stop()
    [message] = fake.sent
    assert message.to == PARENT and message.messaging_service_sid == "MG" + "0" * 32
    assert message.body == "Hej! Anna här, jag ringer dig i morgon."
