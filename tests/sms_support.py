"""Helpers for the SMS and meeting tests: a case to hang meetings on, a Twilio sender."""
# Numbers are from PTS's range for fiction (070-174 06 00-99, 031-390 600-699).

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cases.case_models import SupportCase
from bot.core.dto import Channel
from bot.meetings.meetings import MeetingPlan, ParticipantPlan
from bot.sms.sender import TwilioConfig, TwilioSms
from bot.sms.sms_models import MeetingKind
from tests import factories
from tests.fake_twilio import FakeTwilio

PARENT = "+46701740605"
TEACHER = "+46701740606"
CONTACT = "+4631390650"


async def make_case(
    session: AsyncSession,
    at: datetime,
    *,
    municipality: str = "Degerfors",
    sender_ref: str = PARENT,
) -> SupportCase:
    """An SMS parent's case, consented at `at` (the test's clock)."""
    conversation = factories.conversation(at, channel=Channel.sms, sender_ref=sender_ref)
    case = factories.support_case(
        at,
        conversation_id=conversation.id,
        municipality=municipality,
        consent_text="Jag vill att en lots kontaktar mig.",
        consented_at=at,
    )
    session.add(conversation)
    await session.flush()
    session.add(case)
    await session.commit()
    return case


def plan(starts_at: datetime, *, phones: tuple[str, ...] = (PARENT, TEACHER)) -> MeetingPlan:
    return MeetingPlan(
        kind=MeetingKind.natverksmote,
        starts_at=starts_at,
        contact_name="Anna Lots",
        contact_phone=CONTACT,
        place="Stadshuset, Storgatan 1",
        participants=[ParticipantPlan(phone=p) for p in phones],
    )


def twilio_sender(fake: FakeTwilio) -> TwilioSms:
    config = TwilioConfig(
        account_sid=fake.account_sid,
        auth_token=fake.auth_token,
        from_number="+46701740699",
        api_base=fake.url,
    )
    return TwilioSms(config)
