"""The child's age told in words, as a year of birth or as a correction: the core notes it and
answers the last question again for that age (SQLite and PostgreSQL, the keyword directory
double, no encoder: the rules alone)."""

from __future__ import annotations

import pytest

from bot.clock import FakeClock
from bot.core.conversation import ConversationCore
from tests.conversation_doubles import FakeDirectory, say, web_core

QUESTION = "skola och oro"


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def core(sessions, clock: FakeClock, directory: FakeDirectory) -> ConversationCore:
    return web_core(sessions, clock, directory=directory)


@pytest.mark.parametrize(
    ("correction", "age"),
    [
        ("hon är tre och ett halvt", 3),
        ("han fyller åtta i mars", 8),
        ("nej hon är femton inte fem", 15),
        ("nej fel av mig, han är 15 inte 5. skrev för fort", 15),
        ("she is twelve", 12),
    ],
)
async def test_the_last_question_is_answered_again_for_the_age(
    core, directory: FakeDirectory, correction: str, age: int
) -> None:
    await say(core, QUESTION)
    again = await say(core, correction)
    intros = (f"Här är förslag för ett barn som är {age} år:", f"for a child aged {age}:")
    assert any(intro in again.text for intro in intros)
    query = directory.matcher.queries[-1]
    assert (query.text, query.age) == (QUESTION, age)


async def test_a_year_of_birth_is_read_with_the_injected_clock(
    core, directory: FakeDirectory, clock: FakeClock
) -> None:
    await say(core, QUESTION)
    again = await say(core, "han är född 2017")
    age = clock().year - 2017
    assert f"Här är förslag för ett barn som är {age} år:" in again.text
    assert directory.matcher.queries[-1].age == age
    clock.advance(days=400)  # the same words a year later: a year older
    await say(core, "han är född 2017")
    assert directory.matcher.queries[-1].age == clock().year - 2017


async def test_an_age_in_a_new_question_outranks_the_one_told_before(
    core, directory: FakeDirectory, clock: FakeClock
) -> None:
    await say(core, QUESTION)
    await say(core, "hon är femton")
    await say(core, "min son född 2020 bråkar på förskolan")
    assert directory.matcher.queries[-1].age == clock().year - 2020
    await say(core, "skola igen")  # no age in it: the one said last holds
    assert directory.matcher.queries[-1].age == clock().year - 2020


async def test_an_age_alone_before_any_question_is_noted(core) -> None:
    noted = await say(core, "hon är tre och ett halvt")
    assert noted.text == "Tack! Skriv din fråga, så tar jag hänsyn till att barnet är 3 år."


async def test_a_question_that_mentions_an_age_is_still_a_question(
    core, directory: FakeDirectory
) -> None:
    await say(core, QUESTION)
    reply = await say(core, "hon är tre år och bråkar om sömn")
    assert "Här är förslag för ett barn" not in reply.text
    assert directory.matcher.queries[-1].text == "hon är tre år och bråkar om sömn"
    assert directory.matcher.queries[-1].age == 3
