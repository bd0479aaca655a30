# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""Admin API for cases: municipality scope, reading with messages, replying to the parent."""

from __future__ import annotations

import uuid

from sqlmodel import select

from admin.keys import create_key, create_user
from bot.core.dto import Channel, Reply
from bot.staff.models import AuditEntry, Role
from tests.admin_fixtures import API, AdminEnv, admin_env  # noqa: F401
from tests.inbox_support import open_parent_case


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, to: str, reply: Reply) -> None:
        self.sent.append((to, reply.text))


async def make_case(env: AdminEnv, *, municipality: str = "Degerfors", channel=Channel.web):
    async with env.app.state.ctx.sessions() as session:
        return await open_parent_case(
            session,
            env.app.state.ctx.handoff,
            env.clock,
            municipality=municipality,
            channel=channel,
            sender_ref=str(uuid.uuid4()) if channel == Channel.web else "555",
        )


async def norrkoping_key(env: AdminEnv) -> dict[str, str]:
    async with env.app.state.ctx.sessions() as session:
        user = await create_user(
            session=session,
            name="Nils",
            role=Role.coordinator,
            municipalities=["Norrköping"],
            now=env.clock(),
        )
        _row, key = await create_key(session=session, user_id=user.id, now=env.clock())
        await session.commit()
    return {"Authorization": f"Bearer {key}"}


async def test_coordinator_lists_and_reads_their_cases(admin_env: AdminEnv) -> None:
    opened = await make_case(admin_env)
    listed = await admin_env.client.get(f"{API}/cases", headers=admin_env.auth("coordinator"))
    assert [c["id"] for c in listed.json()["data"]] == [opened.case.id]
    one = await admin_env.client.get(
        f"{API}/cases/{opened.case.id}", headers=admin_env.auth("coordinator")
    )
    body = one.json()
    assert body["consent_text"].startswith("Jag kan skicka din fråga")
    assert body["messages"][0]["text"].startswith("Min son mår dåligt")
    async with admin_env.app.state.ctx.sessions() as session:
        views = (await session.exec(select(AuditEntry).where(AuditEntry.action == "view"))).all()
    assert [(v.actor_id, v.resource_id) for v in views] == [
        (admin_env.user_ids["coordinator"], opened.case.id)
    ]


async def test_norrkoping_coordinator_gets_403_for_a_degerfors_case(admin_env: AdminEnv) -> None:
    opened = await make_case(admin_env)
    headers = await norrkoping_key(admin_env)
    assert (await admin_env.client.get(f"{API}/cases", headers=headers)).json()["data"] == []
    url = f"{API}/cases/{opened.case.id}"
    assert (await admin_env.client.get(url, headers=headers)).status_code == 403
    post = await admin_env.client.post(f"{url}/messages", json={"text": "hej"}, headers=headers)
    assert post.status_code == 403


async def test_editors_and_strangers_are_refused(admin_env: AdminEnv) -> None:
    assert (await admin_env.client.get(f"{API}/cases")).status_code == 401
    editor = await admin_env.client.get(f"{API}/cases", headers=admin_env.auth("editor"))
    assert editor.status_code == 403


async def test_a_reply_reaches_the_parent_on_telegram(admin_env: AdminEnv) -> None:
    telegram = RecordingSender()
    admin_env.app.state.ctx.senders[Channel.telegram] = telegram
    opened = await make_case(admin_env, channel=Channel.telegram)
    url = f"{API}/cases/{opened.case.id}/messages"
    answer = {"text": "Hej, jag är samordnare och hör av mig i morgon."}
    posted = await admin_env.client.post(url, json=answer, headers=admin_env.auth("coordinator"))
    assert posted.status_code == 201 and posted.json()["delivered"] is True
    assert posted.json()["case"]["status"] == "waiting_for_parent"
    assert telegram.sent == [("555", answer["text"])]


async def test_empty_text_names_the_field(admin_env: AdminEnv) -> None:
    opened = await make_case(admin_env)
    url = f"{API}/cases/{opened.case.id}/messages"
    for body in ({"text": ""}, {"text": "   "}, {}):
        posted = await admin_env.client.post(url, json=body, headers=admin_env.auth("coordinator"))
        assert posted.status_code == 422 and "text" in posted.text


async def test_notes_assign_and_close(admin_env: AdminEnv) -> None:
    opened = await make_case(admin_env)
    url, headers = f"{API}/cases/{opened.case.id}", admin_env.auth("coordinator")
    note = await admin_env.client.post(f"{url}/notes", json={"text": "Ring"}, headers=headers)
    assert note.status_code == 201
    assigned = await admin_env.client.post(f"{url}/assign", headers=headers)
    assert assigned.json()["assigned_to"] == admin_env.user_ids["coordinator"]
    closed = await admin_env.client.post(f"{url}/close", headers=headers)
    assert closed.json()["status"] == "closed"
    detail = (await admin_env.client.get(url, headers=headers)).json()
    assert [n["text"] for n in detail["notes"]] == ["Ring"]
    assert "1 (inte alls) till 5" in detail["messages"][-1]["text"]
