# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""The meetings admin API: coordinators of the case's municipality book, move and cancel."""

from __future__ import annotations

import uuid

from sqlmodel import select

from bot.meetings.reminders import ReminderWorker
from bot.staff.models import AuditEntry
from tests.admin_fixtures import API, AdminEnv, admin_env  # noqa: F401
from tests.fake_twilio import FakeTwilio
from tests.sms_support import PARENT, TEACHER, make_case, twilio_sender

BODY = {
    "kind": "nätverksmöte",
    "starts_at": "2026-11-26T10:00:00+01:00",
    "place": "Stadshuset, Storgatan 1",
    "contact_name": "Anna Lots",
    "contact_phone": "031-390 650",
    "participants": [{"phone": "070-174 06 05", "name": "Förälder"}, {"phone": TEACHER}],
}


async def _case(env: AdminEnv, municipality: str = "Degerfors") -> str:
    async with env.app.state.ctx.sessions() as session:
        case = await make_case(
            session, env.clock(), municipality=municipality, sender_ref=str(uuid.uuid4())
        )
        return case.id


async def _book(env: AdminEnv, case_id: str, who: str = "coordinator", **changes):
    return await env.client.post(
        f"{API}/cases/{case_id}/meetings", json={**BODY, **changes}, headers=env.auth(who)
    )


async def test_a_coordinator_books_a_meeting_and_its_follow_up(admin_env) -> None:
    case_id = await _case(admin_env)
    response = await _book(admin_env, case_id, follow_up_months=4)
    assert response.status_code == 201, response.text
    meeting, follow_up = response.json()["data"]
    assert [p["phone"] for p in meeting["participants"]] == [PARENT, TEACHER]
    assert meeting["contact_phone"] == "+4631390650"
    assert [s["status"] for s in meeting["sms"]] == ["pending"] * 4
    assert follow_up["kind"] == "uppföljning" and follow_up["follow_up_of"] == meeting["id"]
    assert follow_up["starts_at"].startswith("2027-03-26T09:00:00")  # 10:00 Stockholm
    listed = await admin_env.client.get(
        f"{API}/cases/{case_id}/meetings", headers=admin_env.auth("coordinator")
    )
    assert listed.json()["count"] == 2
    async with admin_env.app.state.ctx.sessions() as session:
        audits = (
            await session.exec(select(AuditEntry).where(AuditEntry.resource_type == "meeting"))
        ).all()
    assert len(audits) == 2


async def test_bad_fields_are_named(admin_env) -> None:
    case_id = await _case(admin_env)
    response = await _book(
        admin_env,
        case_id,
        place="BUP-mottagningen, Storgatan 3",
        contact_phone="12345",
        starts_at="2026-11-20T10:00:00+01:00",
        participants=[{"phone": "hej"}],
    )
    assert response.status_code == 422
    fields = {tuple(e["loc"][1:]) for e in response.json()["detail"]}
    assert fields == {("place",), ("contact_phone",), ("starts_at",), ("participants", 0, "phone")}
    naive = await _book(admin_env, case_id, starts_at="2026-11-26T10:00:00")
    assert naive.status_code == 422 and naive.json()["detail"][0]["loc"][-1] == "starts_at"


async def test_other_municipalities_and_roles_are_refused(admin_env) -> None:
    elsewhere = await _case(admin_env, municipality="Kristianstad")
    assert (await _book(admin_env, elsewhere)).status_code == 403
    assert (await _book(admin_env, elsewhere, who="admin")).status_code == 201
    mine = await _case(admin_env)
    assert (await _book(admin_env, mine, who="editor")).status_code == 403
    assert (await _book(admin_env, "no-such-case")).status_code == 404


async def test_moving_and_cancelling(admin_env) -> None:
    case_id = await _case(admin_env)
    meeting = (await _book(admin_env, case_id)).json()["data"][0]
    auth = admin_env.auth("coordinator")
    moved = await admin_env.client.patch(
        f"{API}/meetings/{meeting['id']}",
        headers=auth,
        json={"starts_at": "2026-12-02T13:00:00+01:00", "place": "Skolan, Parkvägen 2"},
    )
    assert moved.status_code == 200, moved.text
    states = sorted((s["kind"], s["status"]) for s in moved.json()["sms"])
    assert (
        states.count(("reminder", "retracted")) == 4 and states.count(("update", "pending")) == 2
    )
    cancelled = await admin_env.client.post(f"{API}/meetings/{meeting['id']}/cancel", headers=auth)
    assert cancelled.json()["status"] == "cancelled"
    assert sum(s["kind"] == "cancellation" for s in cancelled.json()["sms"]) == 2
    again = await admin_env.client.post(f"{API}/meetings/{meeting['id']}/cancel", headers=auth)
    assert again.status_code == 409


async def test_sms_that_failed_for_good_are_listed_for_coordinators(admin_env) -> None:
    case_id = await _case(admin_env)
    await _book(admin_env, case_id)
    fake = await FakeTwilio().start()
    sender = twilio_sender(fake)
    try:
        admin_env.clock.advance(days=1)  # the 48 h reminders are due
        fake.fail_next(2, status=400, code=21211)  # invalid number: not retried
        worker = ReminderWorker(admin_env.app.state.ctx.sessions, sender, admin_env.clock, "w")
        assert await worker.run_once() == 2
    finally:
        await sender.close()
        await fake.stop()
    response = await admin_env.client.get(
        f"{API}/sms/failed", headers=admin_env.auth("coordinator")
    )
    failed = response.json()["data"]
    assert len(failed) == 2 and {f["last_error"] for f in failed} == {"twilio 400/21211"}
    assert {f["to_phone"] for f in failed} == {PARENT, TEACHER}
