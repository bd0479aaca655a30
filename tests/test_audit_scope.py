# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""The audit log is read like the resources it describes: an editor reads the directory's
entries only, never a meeting's (names, phone numbers, places), a case's, a staff user's or an
API key's; admins read everything."""

from __future__ import annotations

import uuid

from admin.keys import create_key, create_user
from bot.staff.models import Role
from tests.admin_fixtures import API, MEETING, AdminEnv, admin_env  # noqa: F401
from tests.sms_support import make_case


async def _norrkoping_editor(env: AdminEnv) -> dict[str, str]:
    async with env.app.state.ctx.sessions() as session:
        user = await create_user(
            session=session,
            name="Redaktör Norrköping",
            role=Role.editor,
            municipalities=["Norrköping"],
            now=env.clock(),
        )
        _row, key = await create_key(session=session, user_id=user.id, now=env.clock())
        await session.commit()
    return {"Authorization": f"Bearer {key}"}


async def _everything_audited(env: AdminEnv) -> dict[str, str]:
    """A Degerfors meeting (and its case view), a user and a key, and a service: the id of
    each kind of resource."""
    async with env.app.state.ctx.sessions() as session:
        case = await make_case(session, env.clock(), sender_ref=str(uuid.uuid4()))
    booked = await env.client.post(
        f"{API}/cases/{case.id}/meetings", json=MEETING, headers=env.auth("coordinator")
    )
    assert booked.status_code == 201, booked.text
    viewed = await env.client.get(f"{API}/cases/{case.id}", headers=env.auth("coordinator"))
    assert viewed.status_code == 200
    user = await env.client.post(
        f"{API}/users",
        json={"name": "Eva", "role": "editor", "municipalities": ["Degerfors"]},
        headers=env.auth("admin"),
    )
    key = await env.client.post(f"{API}/users/{user.json()['id']}/keys", headers=env.auth("admin"))
    assert key.status_code == 201, key.text
    service = await env.create_service("editor")
    assert service.status_code == 201
    return {
        "meeting": booked.json()["data"][0]["id"],
        "case": case.id,
        "staff_user": user.json()["id"],
        "api_key": key.json()["id"],
        "service": service.json()["id"],
    }


async def test_an_editor_reads_only_the_directory_entries(admin_env: AdminEnv) -> None:
    ids = await _everything_audited(admin_env)
    norrkoping = await _norrkoping_editor(admin_env)
    for who in (norrkoping, admin_env.auth("editor")):
        everything = await admin_env.client.get(f"{API}/audit", headers=who)
        assert everything.status_code == 200
        entries = everything.json()["data"]
        assert {e["resource_type"] for e in entries} == {"service"}
        assert everything.json()["count"] == len(entries) == 1
        assert "Stadshuset" not in everything.text and "390650" not in everything.text
        # Asking by id finds nothing outside the directory.
        for kind in ("meeting", "case", "staff_user", "api_key"):
            by_id = await admin_env.client.get(
                f"{API}/audit", params={"resource_id": ids[kind]}, headers=who
            )
            assert by_id.json() == {"data": [], "count": 0}, kind
            by_type = await admin_env.client.get(
                f"{API}/audit", params={"resource_type": kind}, headers=who
            )
            assert by_type.status_code == 403
            assert by_type.json()["detail"].startswith("resource_type: editors read the audit")


async def test_an_admin_reads_every_entry(admin_env: AdminEnv) -> None:
    ids = await _everything_audited(admin_env)
    everything = await admin_env.client.get(
        f"{API}/audit", params={"limit": 100}, headers=admin_env.auth("admin")
    )
    kinds = {e["resource_type"] for e in everything.json()["data"]}
    assert kinds == {"meeting", "case", "staff_user", "api_key", "service"}
    meeting = await admin_env.client.get(
        f"{API}/audit", params={"resource_id": ids["meeting"]}, headers=admin_env.auth("admin")
    )
    assert meeting.json()["data"][0]["after"]["place"] == "Stadshuset, Storgatan 1"


async def test_coordinators_and_readers_read_no_audit(admin_env: AdminEnv) -> None:
    for who in ("coordinator", "reader"):
        response = await admin_env.client.get(f"{API}/audit", headers=admin_env.auth(who))
        assert response.status_code == 403
