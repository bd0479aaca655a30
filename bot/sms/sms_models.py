"""SMS, meeting and reminder tables.

Datetimes are aware: sqlmodel stores them as UTC (timestamptz on PostgreSQL) and hands
them back in UTC on both databases.
Phone numbers are E.164, kept because messages must reach them; they are never logged.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from directory.models import new_id


class SmsOptOut(SQLModel, table=True):
    """A number that wrote STOPP: it gets nothing (replies, reminders) until START."""

    __tablename__ = "sms_opt_out"
    phone: str = Field(primary_key=True, max_length=20)
    opted_out_at: datetime = Field()


class SmsInboundSeen(SQLModel, table=True):
    """Each Twilio MessageSid once: Twilio re-posts a webhook it thinks failed."""

    __tablename__ = "sms_inbound_seen"
    message_sid: str = Field(primary_key=True, max_length=64)
    received_at: datetime = Field()
    # The TwiML we answered, returned again if Twilio retries (it never got the first).
    response: str | None = Field(default=None, sa_column=Column(Text))


class SmsDelivery(SQLModel, table=True):
    """The latest status Twilio reported for one outbound message (status callback)."""

    __tablename__ = "sms_delivery"
    message_sid: str = Field(primary_key=True, max_length=64)
    status: str = Field(max_length=20)
    error_code: str | None = Field(default=None, max_length=10)
    outbound_id: str | None = Field(default=None, max_length=36, index=True)
    updated_at: datetime = Field()


class MeetingKind(StrEnum):
    natverksmote = "nätverksmöte"
    uppfoljning = "uppföljning"
    planeringsmote = "planeringsmöte"
    samordningsmote = "samordningsmöte"
    annat = "möte"


class MeetingStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"


class Meeting(SQLModel, table=True):
    """A meeting for a case. Place and contact go out by SMS, so they must not be sensitive."""

    __tablename__ = "meeting"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="support_case.id", index=True, ondelete="CASCADE")
    municipality: str = Field(max_length=64, index=True)  # copied from the case, for scoping
    kind: MeetingKind
    starts_at: datetime = Field(index=True)
    duration_minutes: int = Field(default=60)
    place: str | None = Field(default=None, max_length=200)
    link: str | None = Field(default=None, max_length=500)
    contact_name: str = Field(max_length=100)
    contact_phone: str = Field(max_length=20)  # E.164
    status: MeetingStatus = Field(default=MeetingStatus.scheduled)
    follow_up_of: str | None = Field(default=None, foreign_key="meeting.id", ondelete="SET NULL")
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime
    updated_at: datetime


class ParticipantAnswer(StrEnum):
    none = "none"
    confirmed = "confirmed"  # answered OK
    change_requested = "change_requested"  # answered ÄNDRA


class MeetingParticipant(SQLModel, table=True):
    __tablename__ = "meeting_participant"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    meeting_id: str = Field(foreign_key="meeting.id", index=True, ondelete="CASCADE")
    name: str | None = Field(default=None, max_length=100)
    phone: str = Field(max_length=20, index=True)  # E.164
    answer: ParticipantAnswer = Field(default=ParticipantAnswer.none)
    answered_at: datetime | None = Field(default=None)


class OutboundKind(StrEnum):
    reminder = "reminder"
    update = "update"  # the meeting moved
    cancellation = "cancellation"
    message = "message"  # a reply or a coordinator's message sent outside a webhook


class OutboundStatus(StrEnum):
    pending = "pending"  # waiting for next_attempt_at
    claimed = "claimed"  # a worker holds it until lease_until
    sent = "sent"  # Twilio accepted it
    delivered = "delivered"
    failed = "failed"  # gave up: coordinators see this
    expired = "expired"  # its meeting had started: never sent late
    retracted = "retracted"  # meeting moved or cancelled
    opted_out = "opted_out"  # the number wrote STOPP


class OutboundSms(SQLModel, table=True):
    """The durable SMS queue: reminders, meeting updates and queued messages.

    Workers claim due rows atomically (see bot.meetings.reminders); `claim_token` fences a worker
    whose lease ran out, so its late result cannot overwrite a newer claim.
    """

    __tablename__ = "outbound_sms"
    __table_args__ = (
        Index("ix_outbound_sms_due", "status", "next_attempt_at"),
        Index("ix_outbound_sms_lease", "status", "lease_until"),
    )
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    kind: OutboundKind
    meeting_id: str | None = Field(
        default=None, foreign_key="meeting.id", index=True, ondelete="CASCADE"
    )
    participant_id: str | None = Field(
        default=None, foreign_key="meeting_participant.id", ondelete="CASCADE"
    )
    to_phone: str = Field(max_length=20)
    body: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime = Field()
    next_attempt_at: datetime = Field()
    expires_at: datetime | None = Field(default=None)  # meeting start
    status: OutboundStatus = Field(default=OutboundStatus.pending)
    attempts: int = Field(default=0)
    claimed_by: str | None = Field(default=None, max_length=64)
    claim_token: str | None = Field(default=None, max_length=36)
    lease_until: datetime | None = Field(default=None)
    twilio_sid: str | None = Field(default=None, max_length=64, unique=True)
    last_error: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None)
    created_at: datetime
    updated_at: datetime
