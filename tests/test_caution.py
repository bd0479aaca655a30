"""The caution tier, and triage on every turn of a chat.

The rules' caution tier: a live danger word that no urgent situation covers still puts the
112 line first; the services listed are the ones that fit the question.

Urgent rules miss acute danger described in new words (measured on blind sets); the caution
line is the cheap safety net. It never sets `urgent`, so urgent precision is unchanged.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from bot.core.conversations import get_conversation
from directory.urgency import UrgencyRules, detect_urgency
from tests.factories import chat

ROOF = "Min dotter sitter uppe på taket och svarar inte när vi ropar"


@pytest.fixture(scope="module")
def rules() -> UrgencyRules:
    return UrgencyRules.load()


def test_caution_concepts_are_defined_in_the_lexicon(rules: UrgencyRules) -> None:
    data = json.loads(resources.files("directory").joinpath("data/urgency.json").read_text())
    assert data["caution_concepts"], "caution list is empty"
    assert set(data["caution_concepts"]) <= set(rules.lexicon)


@pytest.mark.parametrize(
    "text",
    [ROOF, "My daughter is on the roof and won't answer me", "Jag tror min son har blivit slagen"],
)
def test_live_danger_word_gives_caution_not_urgent(rules: UrgencyRules, text: str) -> None:
    found = detect_urgency(text, rules)
    assert found.caution and not found.urgent and found.services == ()


@pytest.mark.parametrize(
    "text",
    [
        "Han sa att han inte har slagit henne",  # negated
        "Min son klättrade på taket i sommarstugan förra året",  # past
        "Vi har en 9-åring som har svårt att somna",  # no danger word
        "jag dör av skratt åt min 4-åring",  # idiom
    ],
)
def test_harmless_messages_get_no_caution(rules: UrgencyRules, text: str) -> None:
    assert not detect_urgency(text, rules).caution


async def test_chat_answer_leads_with_112_on_danger_only(client) -> None:
    warned = await chat(client, ROOF)  # the rules say caution; the trained model may say urgent
    assert warned["messages"][0]["text"].lower().startswith("är någon i fara just nu")
    assert warned["services"][0]["name"] == "SOS Alarm 112"
    calm = await chat(client, "Var finns öppen förskola för bebisar i Degerfors?")
    # No 112 line and no emergency line listed (a service's own contacts may name 112).
    assert not any(m["text"].lower().startswith("är någon i fara") for m in calm["messages"])
    assert "SOS Alarm 112" not in [s["name"] for s in calm["services"]]


async def test_caution_leads_with_the_112_line_then_the_services_that_fit(client) -> None:
    unsure = await chat(client, "Jag tror min son har blivit slagen")  # caution, not urgent
    assert unsure["urgent"] is False
    assert unsure["messages"][0]["text"].lower().startswith("är någon i fara just nu")
    listed = [s["name"] for s in unsure["services"]]
    assert listed and listed[0] != "SOS Alarm 112"


ACUTE = "min dotter har precis svalt en hel burk sömntabletter och vi får inte liv i henne"


async def test_every_turn_is_triaged_and_an_acute_one_marks_the_conversation(
    app,
    client,
) -> None:
    first = await chat(client, "Var finns öppen förskola för bebisar i Degerfors?")
    cid = first["conversation_id"]
    assert first["urgent"] is False
    await chat(client, "Prata med en person", cid, action="handoff")
    opened = await chat(client, "Ja", cid, action="yes")  # a coordinator now answers
    assert opened["urgent"] is False
    acute = await chat(client, ACUTE, cid)  # relayed to the coordinator, and triaged
    assert acute["urgent"] is True
    assert acute["messages"][0]["text"].startswith("Är någon i fara just nu? Ring 112")
    async with app.state.ctx.sessions() as session:
        conversation = await get_conversation(session=session, conversation_id=cid)
    assert conversation is not None and conversation.context["urgent"] is True
    assert conversation.state == "with_coordinator"


@pytest.mark.parametrize(
    "text",
    ["😭😭😭", "ابني لا يريد الذهاب إلى المدرسة ماذا أفعل", "hjälp " * 1666, "   .   "],
    ids=["emoji", "arabic", "10000-chars", "punctuation"],
)
async def test_odd_messages_get_an_answer_not_a_crash(client, text: str) -> None:
    answer = await chat(client, text[:10_000])
    assert answer["messages"] and all(m["text"].strip() for m in answer["messages"])
    assert "Förlåt, något gick fel" not in answer["messages"][0]["text"]
