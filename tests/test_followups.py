"""Follow-ups about listed services answered as asked: opening hours, cost, contact, place, who
it is for; by number, position, name or the one in focus; from the directory's fields only.

The core runs on SQLite and PostgreSQL with a keyword directory double and no encoder (the
rules alone); the last tests run the whole app with the bundled directory and the learned head.
"""

from __future__ import annotations

import re

import pytest

from bot.clock import FakeClock
from bot.core.conversation import ConversationCore
from bot.core.intents import Aspect, aspect_asked
from directory.matching import Contact
from tests.conversation_doubles import FakeDirectory, FakeMatcher, card, say, web_core
from tests.factories import chat

CARDS = [
    card(
        "Familjecentralen",
        "sömn bebis",
        max_age=6,
        contacts=(
            Contact("address", "Pilgården, Degerfors", "Här finns vi"),
            Contact("opening_hours", "Mån-fre 9-12", "Öppna förskolan"),
        ),
    ),
    card(
        "Elevhälsan",
        "sömn skola",
        min_age=6,
        max_age=19,
        access="via_school",
        access_note="Kontakta mentor eller kurator på barnets skola.",
        cost="Gratis",
        summary_en="The school's health team.",
    ),
    card(
        "BRIS",
        "sömn ensam",
        scope="national",
        municipalities=(),
        cost="Gratis",
        summary_en="Children can call or chat with BRIS.",
        contacts=(
            Contact("phone", "116 111", "BRIS för barn och unga", "Gratis"),
            Contact("opening_hours", "Dygnet runt", "Telefon"),
        ),
    ),
    card("Steget", "sömn alkohol"),
]


@pytest.fixture
def core(sessions, clock: FakeClock) -> ConversationCore:
    return web_core(sessions, clock, directory=FakeDirectory(FakeMatcher(cards=list(CARDS))))


async def listed(core: ConversationCore, question: str = "han har svårt med sömn") -> None:
    shown = await say(core, question)
    assert [s.name for s in shown.services] == ["Familjecentralen", "Elevhälsan", "BRIS"]


@pytest.mark.parametrize(
    ("text", "aspect"),
    [
        ("har dom öppet på helger?", Aspect.opening_hours),
        ("vilka tider kan man ringa dem", Aspect.opening_hours),
        ("vad kostar det?", Aspect.cost),
        ("hur kontaktar jag dem?", Aspect.contact),
        ("kan jag få mejladressen", Aspect.contact),
        ("var ligger det?", Aspect.location),
        ("vart e familjecentralen", Aspect.location),
        ("vem är den första till?", Aspect.audience),
        ("Who is the second one intended for?", Aspect.audience),
        ("oppettider for nummer 2", Aspect.opening_hours),
        ("berätta mer om den andra", None),
        ("mer info om öppna förskolan", None),
    ],
)
def test_what_a_follow_up_asks(text: str, aspect: Aspect | None) -> None:
    assert aspect_asked(text) == aspect


async def test_opening_hours_of_each_listed_service_and_kindly_when_unknown(core) -> None:
    await listed(core)
    reply = await say(core, "har dom öppet på helger?")
    assert reply.text.split("\n\n") == [
        "Familjecentralen har öppet:\nMån-fre 9-12 (Öppna förskolan)",
        "Jag har tyvärr inga öppettider för Elevhälsan.\n"
        "Kontakta mentor eller kurator på barnets skola.",
        "BRIS har öppet:\nDygnet runt (Telefon)",
    ]
    assert [b.action for b in reply.buttons] == ["detail:1", "detail:2", "detail:3", "handoff"]


async def test_by_position_then_the_one_in_focus_and_no_invented_contact(core) -> None:
    await listed(core)
    cost = await say(core, "vad kostar den andra?")
    assert cost.text == "Elevhälsan: Gratis"
    contact = await say(core, "hur når jag dem?")  # the one just asked about
    assert contact.text == (
        "Jag har inga telefonnummer eller adresser till Elevhälsan.\n"
        "Kontakta mentor eller kurator på barnets skola."
    )
    assert not re.search(r"\d", contact.text)
    audience = await say(core, "vem är den till?")
    assert audience.text.startswith("Elevhälsan är för barn och unga 6–19 år.")


async def test_by_name_and_by_number(core) -> None:
    await listed(core)
    place = await say(core, "var ligger familjecentralen?")
    assert place.text == "Här finns Familjecentralen:\nAdress (Här finns vi): Pilgården, Degerfors"
    national = await say(core, "var finns bris?")
    assert national.text == (
        "BRIS är en nationell tjänst, så du når den var du än bor.\n"
        "Fråga dem gärna direkt:\nTelefon (BRIS för barn och unga): 116 111 (Gratis)"
    )
    hours = await say(core, "öppettider för nummer 3")
    assert hours.text == "BRIS har öppet:\nDygnet runt (Telefon)"
    assert [s.name for s in hours.services] == ["BRIS"]
    who = await say(core, "vem är familjecentralen för")
    assert who.text.startswith("Familjecentralen är för barn och unga 0–6 år.")


async def test_english_answers_stay_english(core) -> None:
    await listed(core, "my son has problems with sömn, what can I do")
    hours = await say(core, "what are the opening hours of the first one?")
    assert hours.text == "Familjecentralen is open:\nMån-fre 9-12"
    contact = await say(core, "how do I contact the third one?")
    assert contact.text == ("How to reach BRIS:\nPhone: 116 111\nYou can contact them directly.")
    where = await say(core, "where is the second one?")
    assert where.text == (
        "Sorry, I have no address for Elevhälsan.\nIt is for people who live in Degerfors.\n"
        "Through the school, e.g. the pupil health team or the mentor."
    )
    # Words that are neither Swedish nor English keep the conversation's language.
    again = await say(core, "skola bebis ensam")
    assert again.text.startswith(("Here are", "I am not sure"))


async def test_without_a_list_or_in_a_long_question_it_is_a_new_question(core) -> None:
    first = await say(core, "har dom öppet på helger?")  # nothing listed yet
    assert "öppettider" not in first.text and "har öppet" not in first.text
    await listed(core)
    long = await say(core, "vad kostar det att gå till någon om sömn, han sover bara fyra timmar")
    assert long.text.startswith(("Här är några", "Jag är inte säker"))


def _text(reply: dict) -> str:
    return "\n".join(m["text"] for m in reply["messages"])


async def test_the_bundled_directory_through_the_web_chat(client) -> None:
    """The learned head and the real directory: the attribute asked, with the service name."""
    first = await chat(client, "Var finns öppen förskola för bebisar i Degerfors?")
    cid = first["conversation_id"]
    names = [s["name"] for s in first["services"]]
    assert "Familjecentralen" in names
    where = _text(await chat(client, "var ligger familjecentralen nånstans", cid))
    assert where.startswith("Här finns Familjecentralen:")
    assert "Pilgården" in where and "Telefon" not in where
    hours = _text(await chat(client, "har dom öppet på helger?", cid))
    assert hours.startswith("Jag har tyvärr inga öppettider för Familjecentralen.")
    english = await chat(client, "what does it cost?", cid)
    assert _text(english).startswith("I do not know what Familjecentralen costs")
