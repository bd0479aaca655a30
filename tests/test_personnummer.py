"""Personnummer in the forms people write are redacted before storing; ordinary numbers stay.

Property tests generate the forms (12 or 10 digits, every dash a phone keyboard offers, "+"
for someone over 100, spaces, dots, dates written with separators, samordningsnummer, right
and wrong check digits) inside Swedish text, and the numbers that must never be taken for
one (service phone numbers as written, short numbers, dates, ages). The policy they hold
is in bot/core/privacy.py's docstring.
"""

from __future__ import annotations

import re
from datetime import date

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import FakeClock
from bot.core import conversations
from bot.core.dto import Channel
from bot.core.models import Author, ConversationMessage
from bot.core.privacy import REDACTED, redact
from tests import factories

EXAMPLES = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
DASHES = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"]
# What may come between the date and the last four digits.
SEPARATORS = [*DASHES, "+", " ", ".", " - ", " \u2013 ", "\u00a0"]
BEFORE = ["", "Min son ", "pnr: ", "hennes personnummer är ", "(", "Hej!\n", "nr "]
AFTER = ["", ".", ",", " tack", ")", "!\n", " och han går i skolan"]


def luhn_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(nine):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


@st.composite
def personnummer(draw: st.DrawFn) -> tuple[str, str]:
    """(the number as a person might write it, its last four digits)."""
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)))
    day = born.day + (60 if draw(st.booleans()) else 0)  # samordningsnummer
    yy, mm, dd = f"{born.year % 100:02d}", f"{born.month:02d}", f"{day:02d}"
    three = f"{draw(st.integers(0, 999)):03d}"
    right = luhn_digit(yy + mm + dd + three)
    check = right if draw(st.booleans()) else str(draw(st.integers(0, 9)))
    last = three + check
    year = draw(st.sampled_from([str(born.year), yy]))
    form = draw(st.sampled_from(["compact", "compact_separated", "grouped"]))
    if form == "compact":
        # Ten digits starting with 0 read as a mobile number unless the check digit is right.
        if len(year) == 2 and year.startswith("0"):
            last = three + right
        return f"{year}{mm}{dd}{last}", last
    if form == "compact_separated":
        return f"{year}{mm}{dd}{draw(st.sampled_from(SEPARATORS))}{last}", last
    inside = draw(st.sampled_from(["-", "\u2013", ".", " ", "/"]))
    before_last = draw(st.sampled_from([*DASHES, "+", " - ", inside]))
    return f"{year}{inside}{mm}{inside}{dd}{before_last}{last}", last


@given(number=personnummer(), before=st.sampled_from(BEFORE), after=st.sampled_from(AFTER))
@EXAMPLES
def test_every_written_form_is_redacted(number: tuple[str, str], before: str, after: str) -> None:
    written, _last = number
    stored = redact(f"{before}{written}{after}")
    assert stored == f"{before}{REDACTED}{after}", written
    assert redact(stored) == stored


@st.composite
def ordinary_number(draw: st.DrawFn) -> str:
    """Numbers that must stay: service phone numbers as written, short numbers, dates, ages."""
    kind = draw(st.sampled_from(["phone", "mobile", "short", "date", "age", "range", "time"]))
    digits = st.integers(0, 9).map(str)
    if kind == "phone":
        area = draw(st.sampled_from(["8", "11", "19", "20", "31", "40", "586", "771", "90"]))
        groups = draw(st.sampled_from([(3, 2, 2), (2, 2, 2), (3, 3, 2), (5,), (3, 2)]))
        parts = ["".join(draw(st.lists(digits, min_size=n, max_size=n))) for n in groups]
        spaced = " ".join(parts) if draw(st.booleans()) else "".join(parts)
        return f"0{area}{draw(st.sampled_from(['-', ' ', '–']))}{spaced}"
    if kind == "mobile":
        # Ten digits in a row: a mobile number, kept unless its check digit would be right.
        number = "07" + "".join(draw(st.lists(digits, min_size=8, max_size=8)))
        assume(luhn_digit(number[:9]) != number[9])
        return number
    if kind == "short":
        return draw(st.sampled_from(["112", "1177", "114 14", "116 111", "90101", "113 13"]))
    day = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)))
    if kind == "date":
        return draw(st.sampled_from([day.isoformat(), day.strftime("%Y%m%d"), f"{day.day}/5"]))
    if kind == "range":
        return f"{day.isoformat()} – {day.replace(day=1).isoformat()}"
    if kind == "time":
        return f"{day.isoformat()} {draw(st.integers(0, 23)):02d}{draw(st.integers(0, 59)):02d}"
    return f"{draw(st.integers(0, 120))} år"


@given(number=ordinary_number(), before=st.sampled_from(BEFORE), after=st.sampled_from(AFTER))
@EXAMPLES
def test_ordinary_numbers_are_left_alone(number: str, before: str, after: str) -> None:
    text = f"{before}ring {number}{after}"
    assert redact(text) == text


def test_the_forms_from_the_probe() -> None:
    for written in ("20100101–1236", "100101–1236", "2010-01-01-1236", "100101+1236"):
        assert redact(f"pnr {written}") == f"pnr {REDACTED}", written
    assert redact("Degerfors kommun 0586-48000, SOS 112") == "Degerfors kommun 0586-48000, SOS 112"


async def test_messages_are_stored_redacted(session: AsyncSession, clock: FakeClock) -> None:
    """Through the one write path every channel uses, on SQLite and PostgreSQL."""
    conversation = factories.conversation(clock(), channel=Channel.web, sender_ref="web-1")
    session.add(conversation)
    await session.flush()
    forms = ["20100101–1236", "100101 – 1236", "2010.01.01-1236", "101010+1235", "1001611236"]
    for written in forms:
        await conversations.add_message(
            session=session,
            conversation=conversation,
            author=Author.parent,
            text=f"Min dotter {written} vill inte äta",
            at=clock(),
        )
    await session.commit()
    stored = (await session.exec(select(ConversationMessage.text))).all()
    assert stored == [f"Min dotter {REDACTED} vill inte äta"] * len(forms)
    assert not any(re.search(r"\d", text) for text in stored)
