"""Swedish SMS texts about meetings: when, where and whom to contact, nothing sensitive.

Like 1177's reminders, the text names no diagnosis, no service (BUP, socialtjänsten) and
nothing from the case: an SMS can be read by anyone holding the phone. Every character
is in the GSM-7 alphabet, so a reminder stays within two segments.
"""

from __future__ import annotations

import re
from datetime import datetime

import phonenumbers

from bot.meetings.reminder_plan import STOCKHOLM
from bot.sms.sms_models import Meeting, MeetingKind

WEEKDAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
MONTHS = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)  # fmt: skip
KIND_LABEL = {
    MeetingKind.natverksmote: "Nätverksmöte",
    MeetingKind.uppfoljning: "Uppföljningsmöte",
    MeetingKind.planeringsmote: "Planeringsmöte",
    MeetingKind.samordningsmote: "Samordningsmöte",
    MeetingKind.annat: "Möte",
}
# Words that reveal which service or problem a meeting is about; refused in SMS fields.
SENSITIVE = re.compile(
    r"\b(bup|barn- och ungdomspsykiatri\w*|psykiatri\w*|socialtjänst\w*|socialkontor\w*|"
    r"socialsekreterare\w*|ifo|individ- och familjeomsorg\w*|lss|habilitering\w*|"
    r"missbruk\w*|beroende\w*|familjebehandl\w*|barnahus\w*|kvinnojour\w*|ätstörning\w*|"
    r"adhd|autism\w*|diagnos\w*|orosanmälan\w*|utredning\w*|maria ungdom)\b",
    re.IGNORECASE,
)
REPLY_HINT = "Svara OK för att bekräfta eller ÄNDRA om du behöver en annan tid."


def sensitive_word(text: str | None) -> str | None:
    match = SENSITIVE.search(text or "")
    return match.group(0) if match else None


def when_text(at: datetime) -> str:
    """'tisdag 24 november kl. 10.00' in Stockholm time."""
    local = at.astimezone(STOCKHOLM)
    day = f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]}"
    return f"{day} kl. {local:%H.%M}"


def national(e164: str) -> str:
    """+46586480000 -> '0586-480 00', the form people dial in Sweden."""
    number = phonenumbers.parse(e164, "SE")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _where_and_contact(meeting: Meeting) -> str:
    parts = []
    if meeting.place:
        parts.append(f"Plats: {meeting.place}.")
    if meeting.link:
        parts.append(f"Länk: {meeting.link}")
    parts.append(
        f"Frågor eller förhinder? Kontakta {meeting.contact_name}, "
        f"{national(meeting.contact_phone)}."
    )
    return " ".join(parts)


def reminder_text(meeting: Meeting) -> str:
    head = f"Påminnelse: {KIND_LABEL[meeting.kind]} {when_text(meeting.starts_at)}."
    return f"{head} {_where_and_contact(meeting)} {REPLY_HINT}"


def update_text(meeting: Meeting) -> str:
    head = f"Ny tid: {KIND_LABEL[meeting.kind]} är flyttat till {when_text(meeting.starts_at)}."
    return f"{head} {_where_and_contact(meeting)} {REPLY_HINT}"


def cancellation_text(meeting: Meeting) -> str:
    label = KIND_LABEL[meeting.kind].lower()
    return (
        f"Inställt: {label}t {when_text(meeting.starts_at)} blir inte av. "
        f"Frågor? Kontakta {meeting.contact_name}, {national(meeting.contact_phone)}."
    )


def confirmed_text(meeting: Meeting) -> str:
    return f"Tack! Vi ses {when_text(meeting.starts_at)}."


def change_requested_text(meeting: Meeting) -> str:
    return (
        f"Tack, vi har meddelat {meeting.contact_name} att du behöver en annan tid. "
        f"Du kan också ringa {national(meeting.contact_phone)}."
    )
