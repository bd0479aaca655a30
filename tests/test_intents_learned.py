"""The learned intent head in the running dialogue (bundled directory, e5): what the rules
leave as a question is read in the parent's own words."""

from __future__ import annotations

from bot.core.intent_model import IntentModel
from directory.encoder import load_encoder
from tests.factories import chat


def _text(reply: dict) -> str:
    return "\n".join(m["text"] for m in reply["messages"])


def test_the_head_is_for_the_bundled_encoder_and_knows_every_intent() -> None:
    model = IntentModel.load()
    assert model.encoder == load_encoder("e5").name  # type: ignore[union-attr]
    assert {"person", "delete", "more", "cost", "location", "new_question"} <= set(model.labels)


async def test_a_person_asked_for_inside_a_long_question_gets_answers_and_the_offer(
    client,
) -> None:
    text = (
        "Min dotter mår dåligt och vi vet inte vart vi ska vända oss, "
        "hon vill inte gå till skolan. Kan jag få prata med en person?"
    )
    reply = await chat(client, text)
    assert reply["services"], "the question is answered"
    assert any(b["action"] == "yes" for m in reply["messages"] for b in m["buttons"])
    cid = reply["conversation_id"]
    opened = await chat(client, "ja gärna", cid)
    assert "lots" in _text(opened).lower()


async def test_a_negated_wish_stays_a_question(client) -> None:
    reply = await chat(client, "Min son är 14 och han vill inte prata med någon om hur han mår")
    assert reply["services"]
    assert not any(b["action"] == "yes" for m in reply["messages"] for b in m["buttons"])


async def test_follow_ups_by_position_and_by_name(client) -> None:
    first = await chat(client, "Min pappa dricker för mycket och jag är 10 år, finns det hjälp?")
    cid = first["conversation_id"]
    names = [s["name"] for s in first["services"]]
    second = await chat(client, "berätta mer om den andra", cid)
    assert second["services"][0]["name"] == names[1]
    named = await chat(client, f"vad gör {names[0]} egentligen?", cid)
    assert named["services"][0]["name"] == names[0]


async def test_a_municipality_correction_answers_the_last_question_again(client) -> None:
    first = await chat(client, "Min son på 9 har svårt att hantera ilska hemma")
    cid = first["conversation_id"]
    again = await chat(client, "vi bor i Norrköping förresten", cid)
    assert "Norrköping" in _text(again) and again["services"]
    assert "Familjeteam 7-15" in [s["name"] for s in again["services"]]


async def test_deleting_in_ordinary_words_asks_and_deletes(client) -> None:
    first = await chat(client, "My son is 12 and is bullied at school")
    cid = first["conversation_id"]
    ask = await chat(client, "please delete everything I wrote here", cid)
    assert any(b["action"] == "delete_yes" for m in ask["messages"] for b in m["buttons"])
    await chat(client, "yes erase it all", cid)
    assert (await client.get(f"/api/chat/{cid}")).status_code == 404
