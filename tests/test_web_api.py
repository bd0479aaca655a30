"""The web chat's JSON API and page, through the whole app (real directory, real core)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cases.case_models import SupportCase
from bot.core import conversations
from bot.core.dto import Channel, Inbound
from bot.core.models import Author
from tests import factories

HANDLERS = Path(__file__).resolve().parents[1] / "handlers"
SCHOOL = "Min son på 14 vill inte gå till skolan längre och sitter hemma hela dagarna"


chat = factories.chat


async def test_question_returns_the_contract(client) -> None:
    data = await chat(client, SCHOOL)
    assert uuid.UUID(data["conversation_id"]).version == 4
    assert data["urgent"] is False
    assert data["messages"] and all(m["text"] for m in data["messages"])
    names = [s["name"] for s in data["services"]]
    assert 1 <= len(names) <= 3 and all(name in data["messages"][-1]["text"] for name in names)
    actions = [b["action"] for b in data["messages"][-1]["buttons"]]
    assert "more" in actions and "handoff" in actions and "detail:1" in actions
    assert "Svaren gäller Degerfors" in data["messages"][-1]["text"]


async def test_follow_ups_continue_the_same_conversation(client) -> None:
    first = await chat(client, SCHOOL)
    cid = first["conversation_id"]
    more = await chat(client, "fler", cid)
    assert more["conversation_id"] == cid
    assert not {s["id"] for s in more["services"]} & {s["id"] for s in first["services"]}
    detail = await chat(client, "1", cid, action="detail:1")
    assert detail["services"][0]["name"] == first["services"][0]["name"]
    history = (await client.get(f"/api/chat/{cid}")).json()["messages"]
    assert [m["author"] for m in history] == ["parent", "bot"] * 3


async def test_urgent_message_puts_emergency_guidance_first(client) -> None:
    data = await chat(client, "min dotter har tagit en massa tabletter och svarar knappt")
    assert data["urgent"] is True
    assert data["messages"][0]["urgent"] is True and "112" in data["messages"][0]["text"]
    assert data["services"][0]["name"] == "SOS Alarm 112"


async def test_municipality_from_the_embedding_page(client) -> None:
    data = await chat(client, SCHOOL, municipality="Norrköping")
    assert "Svaren gäller" not in data["messages"][-1]["text"]
    assert "Elevhälsan" not in {s["name"] for s in data["services"]}  # a Degerfors service


async def test_coordinator_replies_show_in_the_polled_history(app, client) -> None:
    data = await chat(client, SCHOOL)
    cid, seen = data["conversation_id"], data["last_seq"]
    ctx = app.state.ctx
    async with ctx.sessions() as session:
        conv = await conversations.get_conversation(session=session, conversation_id=cid)
        await conversations.add_message(
            session=session,
            conversation=conv,
            author=Author.coordinator,
            text="Hej!",
            at=ctx.clock(),
        )
        await session.commit()
    new = (await client.get(f"/api/chat/{cid}", params={"after": seen})).json()["messages"]
    assert [(m["author"], m["text"]) for m in new] == [("coordinator", "Hej!")]


async def test_handoff_through_the_web_opens_a_case(app, client) -> None:
    cid = (await chat(client, SCHOOL))["conversation_id"]
    consent = await chat(client, "Prata med en person", cid, action="handoff")
    assert [b["action"] for b in consent["messages"][0]["buttons"]] == ["yes", "no"]
    ack = await chat(client, "ja", cid)
    assert ack["messages"][0]["text"]
    async with app.state.ctx.sessions() as session:
        cases = (await session.exec(select(SupportCase))).all()
    assert [c.conversation_id for c in cases] == [cid]


async def test_radera_deletes_the_conversation(client) -> None:
    cid = (await chat(client, SCHOOL))["conversation_id"]
    await chat(client, "radera", cid)
    done = await chat(client, "radera ja", cid)
    assert done["deleted"] is True
    assert (await client.get(f"/api/chat/{cid}")).status_code == 404


async def test_same_question_same_answer_on_web_and_telegram(app, client) -> None:
    web = await chat(client, SCHOOL)
    ctx = app.state.ctx
    inbound = Inbound(Channel.telegram, "4711", SCHOOL, ctx.clock())
    telegram = await ctx.core.handle(inbound)
    assert [r.text for r in telegram] == [m["text"] for m in web["messages"]]


@pytest.mark.parametrize("text", ["", "   ", "😂🙈", "a" * 10_000])
async def test_odd_input_gets_a_friendly_answer(client, text: str) -> None:
    data = await chat(client, text)
    assert data["messages"] and data["messages"][0]["text"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"conversation_id": None}, "text"),
        ({"conversation_id": None, "text": "a" * 10_001}, "text"),
        ({"conversation_id": "abc", "text": "hej"}, "conversation_id"),
        ({"conversation_id": None, "text": 5}, "text"),
        ({"text": "hej", "municipality": "x" * 65}, "municipality"),
    ],
)
async def test_invalid_requests_get_422_naming_the_field(client, body: dict, field: str) -> None:
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"][-1] == field and detail[0]["msg"]


async def test_not_json_is_422_and_unknown_conversation_is_404(client) -> None:
    response = await client.post(
        "/api/chat", content=b"text=hej", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422
    assert (await client.get(f"/api/chat/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/api/chat/not-a-uuid")).status_code == 422


async def test_telegram_conversations_cannot_be_read_through_the_web_api(app, client) -> None:
    ctx = app.state.ctx
    await ctx.core.handle(Inbound(Channel.telegram, "4711", "hej", ctx.clock()))
    async with ctx.sessions() as session:
        conv = await conversations.find_conversation(
            session=session, channel=Channel.telegram, sender_ref="4711"
        )
    assert (await client.get(f"/api/chat/{conv.id}")).status_code == 404
    taken = await client.post("/api/chat", json={"conversation_id": conv.id, "text": "hej"})
    assert taken.status_code == 404


@pytest.mark.parametrize("text", ["nul\x00byte", "half \ud800 surrogate", "esc\x1b[31m"])
async def test_control_characters_are_dropped_not_500(client, text: str) -> None:
    body = json.dumps({"text": text}, ensure_ascii=True)
    response = await client.post(
        "/api/chat", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    cid = response.json()["conversation_id"]
    stored = (await client.get(f"/api/chat/{cid}")).json()["messages"][0]["text"]
    assert "\x00" not in stored and "\x1b" not in stored


async def test_unencodable_input_in_a_bad_field_is_still_a_422(client) -> None:
    body = json.dumps({"conversation_id": "x\ud800", "text": "hej"}, ensure_ascii=True)
    response = await client.post(
        "/api/chat", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "conversation_id"]


async def test_page_is_accessible_offline_and_embeddable(client) -> None:
    page = await client.get("/", params={"kommun": "Norrköping"})
    assert page.status_code == 200 and 'lang="sv"' in page.text
    assert 'data-kommun="Norrköping"' in page.text
    assert '<label for="text">' in page.text and 'aria-live="polite"' in page.text
    for name in ("chat.js", "chat.css"):
        asset = await client.get(f"/static/{name}")
        assert asset.status_code == 200
    sources = page.text + (HANDLERS / "static/chat.js").read_text()
    sources += (HANDLERS / "static/chat.css").read_text()
    assert not re.search(r"(src|href)=\"https?://|@import|url\(https?:", sources)
    assert (await client.get("/static/other.js")).status_code == 404


async def test_page_escapes_the_kommun_parameter(client) -> None:
    page = await client.get("/", params={"kommun": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in page.text


@pytest.mark.parametrize("after", ["-1", "99999999999999999999", "x"])
async def test_bad_poll_positions_are_422(client, after: str) -> None:
    cid = (await chat(client, "hej"))["conversation_id"]
    response = await client.get(f"/api/chat/{cid}", params={"after": after})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "after"
