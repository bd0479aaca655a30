# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""Directory editing through the admin API: versions, audit, validation, verification."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from tests.admin_fixtures import API, AdminEnv, admin_env, make_admin_env  # noqa: F401


async def _created(env: AdminEnv, **fields: Any) -> dict[str, Any]:
    resp = await env.create_service("editor", **fields)
    assert resp.status_code == 201, resp.text
    assert resp.headers["ETag"] == '"1"'
    return resp.json()


async def test_update_needs_if_match_and_refuses_a_stale_one(admin_env: AdminEnv) -> None:
    service = await _created(admin_env)
    url = f"{API}/services/{service['id']}"
    missing = await admin_env.client.patch(
        url, json={"cost": "Gratis"}, headers=admin_env.auth("editor")
    )
    assert missing.status_code == 428
    first = await admin_env.client.patch(
        url, json={"cost": "Gratis"}, headers=admin_env.auth("editor", etag='"1"')
    )
    assert first.status_code == 200
    assert first.headers["ETag"] == '"2"'
    assert first.json()["version"] == 2
    # A colleague still holding version 1 is told, not silently overwritten.
    second = await admin_env.client.patch(
        url, json={"cost": "200 kr"}, headers=admin_env.auth("editor", etag='"1"')
    )
    assert second.status_code == 412
    assert second.headers["ETag"] == '"2"'
    now = await admin_env.client.get(url, headers=admin_env.auth("reader"))
    assert now.json()["cost"] == "Gratis"
    for method in ("delete", "post"):
        path = url if method == "delete" else f"{url}/restore"
        stale = await admin_env.client.request(
            method, path, headers=admin_env.auth("editor", etag='"1"')
        )
        assert stale.status_code == 412, method
    verify = await admin_env.client.put(f"{url}/verify", headers=admin_env.auth("editor"))
    assert verify.status_code == 428


async def test_patch_changes_only_the_fields_sent(admin_env: AdminEnv) -> None:
    service = await _created(admin_env, description="Öppen förskola", min_age=0, max_age=6)
    resp = await admin_env.client.patch(
        f"{API}/services/{service['id']}",
        json={"summary": "Träffa andra föräldrar"},
        headers=admin_env.auth("editor", etag='"1"'),
    )
    body = resp.json()
    assert (body["summary"], body["description"], body["max_age"]) == (
        "Träffa andra föräldrar",
        "Öppen förskola",
        6,
    )


async def test_every_change_is_audited_with_before_and_after(admin_env: AdminEnv) -> None:
    service = await _created(admin_env)
    url = f"{API}/services/{service['id']}"
    admin_env.clock.advance(minutes=1)  # entries are ordered by time, newest first
    await admin_env.client.patch(
        url,
        json={"name": "Familjecentralen Pilgården"},
        headers=admin_env.auth("editor", etag='"1"'),
    )
    admin_env.clock.advance(minutes=1)
    await admin_env.client.delete(url, headers=admin_env.auth("editor", etag='"2"'))
    resp = await admin_env.client.get(
        f"{API}/audit",
        params={"resource_type": "service", "resource_id": service["id"]},
        headers=admin_env.auth("editor"),
    )
    entries = resp.json()["data"]
    assert [e["action"] for e in entries] == ["delete", "update", "create"]
    update = entries[1]
    assert update["actor_id"] == admin_env.user_ids["editor"]
    assert update["before"]["name"] == "Familjecentralen"
    assert update["after"]["name"] == "Familjecentralen Pilgården"
    assert (update["before"]["version"], update["after"]["version"]) == (1, 2)
    assert entries[0]["before"]["deleted_at"] is None
    assert entries[0]["after"]["deleted_at"] is not None
    assert entries[2]["before"] is None
    readers = await admin_env.client.get(f"{API}/audit", headers=admin_env.auth("reader"))
    assert readers.status_code == 403


async def test_soft_delete_hides_and_restore_brings_back(admin_env: AdminEnv) -> None:
    service = await _created(admin_env)
    url = f"{API}/services/{service['id']}"
    reader = admin_env.auth("reader")
    deleted = await admin_env.client.delete(url, headers=admin_env.auth("editor", etag='"1"'))
    assert deleted.status_code == 200
    live = await admin_env.client.get(f"{API}/services", headers=reader)
    gone = await admin_env.client.get(f"{API}/services", params={"deleted": True}, headers=reader)
    assert live.json()["count"] == 0
    assert [s["id"] for s in gone.json()["data"]] == [service["id"]]
    restored = await admin_env.client.post(
        f"{url}/restore", headers=admin_env.auth("editor", etag='"2"')
    )
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None
    assert (await admin_env.client.get(f"{API}/services", headers=reader)).json()["count"] == 1


def _error_locs(resp: Any) -> list[list[Any]]:
    assert resp.status_code == 422, resp.text
    return [e["loc"] for e in resp.json()["detail"]]


async def test_validation_names_field_and_reason(admin_env: AdminEnv) -> None:
    bad_email = await admin_env.create_service(email="inte-en-adress")
    bad_url = await admin_env.create_service(url="ftp://example.org")
    ages = await admin_env.create_service(min_age=12, max_age=6)
    place = await admin_env.create_service(municipalities=["Gotham"])
    no_place = await admin_env.create_service(municipalities=[])
    assert _error_locs(bad_email) == [["body", "email"]]
    assert "e-mail" in bad_email.json()["detail"][0]["msg"]
    assert _error_locs(bad_url) == [["body", "url"]]
    assert _error_locs(ages) == [["body", "min_age"]]
    assert _error_locs(place) == [["body", "municipalities", 0]]
    assert "municipality" in place.json()["detail"][0]["msg"]
    assert _error_locs(no_place) == [["body", "municipalities"]]
    nul = await admin_env.create_service(name="a\x00b")
    assert _error_locs(nul) == [["body", "name"]]


async def test_patch_validates_the_merged_service(admin_env: AdminEnv) -> None:
    service = await _created(admin_env, min_age=6, max_age=12)
    url = f"{API}/services/{service['id']}"
    too_old = await admin_env.client.patch(
        url, json={"min_age": 13}, headers=admin_env.auth("editor", etag='"1"')
    )
    no_name = await admin_env.client.patch(
        url, json={"name": None}, headers=admin_env.auth("editor", etag='"1"')
    )
    assert _error_locs(too_old) == [["body", "min_age"]]
    assert _error_locs(no_name) == [["body", "name"]]
    unchanged = await admin_env.client.get(url, headers=admin_env.auth("reader"))
    assert unchanged.headers["ETag"] == '"1"'


async def test_municipality_names_are_stored_in_their_official_form(admin_env: AdminEnv) -> None:
    service = await _created(admin_env, municipalities=["degerfors kommun"])
    assert service["municipalities"] == ["Degerfors"]


async def test_contact_points_are_normalised_and_checked(admin_env: AdminEnv) -> None:
    service = await _created(admin_env)
    url = f"{API}/services/{service['id']}/contacts"
    editor = admin_env.auth("editor")
    phone = await admin_env.client.post(
        url, json={"kind": "phone", "value": "0586-480 00"}, headers=editor
    )
    short = await admin_env.client.post(
        url, json={"kind": "phone", "value": "116 111", "label": "BRIS"}, headers=editor
    )
    assert phone.status_code == short.status_code == 201
    assert phone.json()["value"] == "+4658648000"
    assert short.json()["value"] == "116111"
    bad = await admin_env.client.post(
        url, json={"kind": "phone", "value": "07-12"}, headers=editor
    )
    mail = await admin_env.client.post(url, json={"kind": "email", "value": "a@"}, headers=editor)
    web = await admin_env.client.post(
        url, json={"kind": "web", "value": "javascript:alert(1)"}, headers=editor
    )
    for resp in (bad, mail, web):
        assert _error_locs(resp) == [["body", "value"]]
    assert "phone" in bad.json()["detail"][0]["msg"]
    listed = await admin_env.client.get(f"{API}/services/{service['id']}", headers=editor)
    assert [c["value"] for c in listed.json()["contacts"]] == ["+4658648000", "116111"]
    other = await admin_env.client.post(
        url,
        json={"kind": "web", "value": "https://a.se"},
        headers=admin_env.auth("editor_kristianstad"),
    )
    assert other.status_code == 403
    changed = await admin_env.client.patch(
        f"{url}/{phone.json()['id']}",
        json={"note": "vardagar 8-16"},
        headers=admin_env.auth("editor", etag='"1"'),
    )
    assert changed.status_code == 200
    assert changed.json()["version"] == 2


async def test_verify_sets_todays_swedish_date_and_stale_lists_the_rest(
    admin_env: AdminEnv,
) -> None:
    never = await _created(admin_env, name="Aldrig kontrollerad")
    fresh = await _created(admin_env, name="Nyss kontrollerad")
    old = await _created(admin_env, name="Gammal")
    editor = admin_env.auth("editor")
    # 23:30 UTC on 22 Nov is already 23 Nov in Stockholm.
    from datetime import UTC, datetime

    admin_env.clock.now = datetime(2025, 11, 22, 23, 30, tzinfo=UTC)
    resp = await admin_env.client.put(
        f"{API}/services/{old['id']}/verify", headers={**editor, "If-Match": '"1"'}
    )
    assert resp.json()["assured_date"] == "2025-11-23"
    admin_env.clock.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    resp = await admin_env.client.put(
        f"{API}/services/{fresh['id']}/verify", headers={**editor, "If-Match": '"1"'}
    )
    assert resp.status_code == 200
    assert resp.json()["assured_date"] == "2026-11-23"
    assert resp.json()["verified"] is True
    stale = await admin_env.client.get(f"{API}/services", params={"stale": True}, headers=editor)
    assert {s["name"] for s in stale.json()["data"]} == {never["name"]}
    admin_env.clock.advance(days=1)
    stale = await admin_env.client.get(f"{API}/services", params={"stale": True}, headers=editor)
    assert {s["name"] for s in stale.json()["data"]} == {never["name"], old["name"]}


async def test_list_filters_and_paging(admin_env: AdminEnv) -> None:
    category = {"code": "stodgrupp", "name": "Stödgrupp"}
    await admin_env.client.post(
        f"{API}/categories", json=category, headers=admin_env.auth("admin")
    )
    await _created(
        admin_env,
        name="Steget",
        min_age=6,
        max_age=16,
        categories=["stodgrupp"],
        keywords=["missbruk"],
    )
    await _created(admin_env, name="Familjecentralen", min_age=0, max_age=6)
    await admin_env.create_service("editor_skane", name="Lotsen", municipalities=["Kristianstad"])
    reader = admin_env.auth("reader")

    async def names(**params: Any) -> list[str]:
        resp = await admin_env.client.get(f"{API}/services", params=params, headers=reader)
        return [s["name"] for s in resp.json()["data"]]

    assert await names(municipality="Kristianstad") == ["Lotsen"]
    assert await names(age=10, municipality="Degerfors") == ["Steget"]
    assert await names(category="stodgrupp") == ["Steget"]
    assert await names(q="MISSBRUK") == ["Steget"]
    page = await admin_env.client.get(
        f"{API}/services", params={"limit": 2, "offset": 1}, headers=reader
    )
    assert page.json()["count"] == 3
    assert [s["name"] for s in page.json()["data"]] == ["Lotsen", "Steget"]


async def test_categories_organizations_and_synonyms(admin_env: AdminEnv) -> None:
    editor = admin_env.auth("editor")
    cat = await admin_env.client.post(
        f"{API}/categories", json={"code": "stodgrupp", "name": "Stödgrupp"}, headers=editor
    )
    dup = await admin_env.client.post(
        f"{API}/categories", json={"code": "stodgrupp", "name": "X"}, headers=editor
    )
    assert (cat.status_code, dup.status_code) == (201, 409)
    org = await admin_env.client.post(
        f"{API}/organizations",
        json={"name": "Degerfors kommun", "website": "https://www.degerfors.se"},
        headers=editor,
    )
    assert org.status_code == 201
    bad = await admin_env.client.post(
        f"{API}/organizations", json={"name": "X", "email": "nej"}, headers=editor
    )
    assert _error_locs(bad) == [["body", "email"]]
    linked = await admin_env.create_service(organization_id=org.json()["id"])
    missing = await admin_env.create_service(
        organization_id="00000000-0000-0000-0000-000000000000"
    )
    assert linked.status_code == 201
    assert _error_locs(missing) == [["body", "organization_id"]]
    syn = await admin_env.client.post(
        f"{API}/synonyms", json={"term": "soc", "expansions": ["socialtjänst"]}, headers=editor
    )
    assert syn.status_code == 201
    url = f"{API}/synonyms/{syn.json()['id']}"
    changed = await admin_env.client.patch(
        url, json={"expansions": ["socialtjänsten"]}, headers=admin_env.auth("editor", etag='"1"')
    )
    assert changed.json()["expansions"] == ["socialtjänsten"]
    not_editor = await admin_env.client.delete(url, headers=admin_env.auth("editor", etag='"2"'))
    stale = await admin_env.client.delete(url, headers=admin_env.auth("admin", etag='"1"'))
    gone = await admin_env.client.delete(url, headers=admin_env.auth("admin", etag='"2"'))
    assert (not_editor.status_code, stale.status_code, gone.status_code) == (403, 412, 204)
    assert (await admin_env.client.get(url, headers=editor)).status_code == 404


async def test_concurrent_edits_with_the_same_version_one_wins(
    pg_engine: AsyncEngine, clock: FakeClock
) -> None:
    """Two editors send their change at the same moment: one gets 200, the other 412."""
    async for env in make_admin_env(pg_engine, clock):
        service = await _created(env)
        url = f"{API}/services/{service['id']}"
        headers = env.auth("editor", etag='"1"')
        first, second = await asyncio.gather(
            env.client.patch(url, json={"cost": "Gratis"}, headers=headers),
            env.client.patch(url, json={"cost": "100 kr"}, headers=headers),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 412]
        winner = first if first.status_code == 200 else second
        now = await env.client.get(url, headers=env.auth("reader"))
        assert now.json()["cost"] == winner.json()["cost"]
        assert now.headers["ETag"] == '"2"'
