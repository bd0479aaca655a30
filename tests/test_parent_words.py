"""A person, or deletion, asked for in the parent's own words, inside longer messages too; a
yes to the offer of a person (SQLite and PostgreSQL, keyword directory double, no encoder)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.clock import FakeClock
from bot.core.conversation import ConversationCore
from bot.core.dto import Reply
from bot.core.models import Conversation
from tests.conversation_doubles import RecordingHandoff, say_all, web_core

CONSENT = "Är det okej? Svara ja eller nej."


@pytest.fixture
def handoff() -> RecordingHandoff:
    return RecordingHandoff()


@pytest.fixture
def core(sessions, clock: FakeClock, handoff: RecordingHandoff) -> ConversationCore:
    return web_core(sessions, clock, handoff=handoff)


def asks_consent(replies: list[Reply]) -> bool:
    return any(r.text.endswith(CONSENT) or r.text.endswith("Answer yes or no.") for r in replies)


@pytest.mark.parametrize(
    "text",
    [
        "Jag är inte så van med datorer och skola. Kan jag få prata med en riktig människa om "
        "det här istället?",
        "jag orkar inte ringa runt om skola till tio ställen, kan inte ni höra av er till mig "
        "istället?",
        "det är kaos med skola och sömn, mamma är ensam med oss. kan inte nån människa bara "
        "höra av sig till mamma o hjälpa henne?",
        "Vi vill förstå vad skolan gör nu och vilket stöd som finns, och vi skulle gärna också "
        "få tala med en person direkt.",
    ],
)
async def test_a_person_asked_for_inside_a_longer_message(core, handoff, text: str) -> None:
    replies = await say_all(core, text)
    assert replies[0].services, "the question is answered"
    assert asks_consent(replies)
    opened = await say_all(core, "jaa kör")
    assert handoff.opened and opened[0].text == "Tack! En lots hör av sig."


@pytest.mark.parametrize(
    "text",
    [
        "Min son är 14 och han vill inte prata med någon om skola",
        "Hon har börjat prata med en person på nätet som är mycket äldre, skola går dåligt",
        "Skolan hör av sig varje dag och jag vet inte vad jag ska göra med oro",
    ],
)
async def test_a_person_mentioned_is_not_asked_for(core, text: str) -> None:
    assert not asks_consent(await say_all(core, text))


@pytest.mark.parametrize(
    "text", ["kan nån ringa mig", "Can someone call me?", "kan jag bli uppringd av en lots?"]
)
async def test_short_requests_to_be_called(core, text: str) -> None:
    assert asks_consent(await say_all(core, text))


async def test_in_english_the_consent_question_is_english(core) -> None:
    text = "could someone from your side call my mom instead? her swedish isnt great"
    replies = await say_all(core, text)
    assert replies[-1].text.endswith("Is that okay? Answer yes or no.")


async def test_a_yes_to_the_offer_of_a_person_asks_for_consent(core, handoff) -> None:
    [listing] = await say_all(core, "skola sömn oro")
    assert "Vill du prata med en person?" in listing.text
    assert asks_consent(await say_all(core, "Ja det vill jag gärna"))
    await say_all(core, "japp")
    assert len(handoff.opened) == 1


async def test_no_to_the_offer_and_yes_without_an_offer_open_nothing(core, handoff) -> None:
    await say_all(core, "skola sömn oro")
    assert not asks_consent(await say_all(core, "ok tack för hjälpen"))  # a thanks, not a yes
    await say_all(core, "skola sömn oro")
    assert not asks_consent(await say_all(core, "nej tack"))
    assert not asks_consent(await say_all(core, "ja"))  # the offer was the answer before
    assert handoff.opened == []


async def test_deleting_in_ordinary_words(core, sessions) -> None:
    await say_all(core, "skola sömn oro")
    [ask] = await say_all(core, "nej förresten, kan du sudda allt vi skrivit")
    assert [b.action for b in ask.buttons] == ["delete_yes", "no"]
    [done] = await say_all(core, "ja, allt")
    assert done.text.startswith("Klart.")
    async with sessions() as session:
        assert (await session.exec(select(Conversation))).all() == []


async def test_do_not_delete_is_not_a_request_to_delete(core) -> None:
    await say_all(core, "skola sömn oro")
    [reply] = await say_all(core, "radera inte allt, jag har en fråga till om skola")
    assert "delete_yes" not in [b.action for b in reply.buttons]
