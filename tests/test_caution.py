"""The caution tier: a live danger word that no urgent situation covers still puts 112 first.

Urgent rules miss acute danger described in new words (measured on blind sets); the caution
line is the cheap safety net. It never sets `urgent`, so urgent precision is unchanged.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from directory.urgency import UrgencyRules, detect_urgency
from tests.test_web_api import app, chat, client  # noqa: F401  (fixtures and helper)

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


async def test_chat_answer_leads_with_112_on_caution_only(client) -> None:  # noqa: F811
    warned = await chat(client, ROOF)
    assert warned["urgent"] is False
    assert warned["messages"][0]["text"].startswith("Är någon i fara just nu: ring 112")
    calm = await chat(client, "Var finns öppen förskola för bebisar i Degerfors?")
    assert all("ring 112 direkt" not in m["text"] for m in calm["messages"])
