# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""Who may do what in the admin API: 401, 403 across roles and municipalities, 429."""

from __future__ import annotations

from admin.keys import hash_key
from bot.staff.models import ApiKey
from tests.admin_fixtures import API, AdminEnv, admin_env, service_body, sqlite_admin_env  # noqa: F401


async def test_missing_or_unknown_key_is_401_with_challenge(admin_env: AdminEnv) -> None:
    missing = await admin_env.client.get(f"{API}/services")
    wrong = await admin_env.client.get(
        f"{API}/services", headers={"Authorization": "Bearer fgk_not-a-real-key"}
    )
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert "missing API key" in missing.json()["detail"]


async def test_keys_are_stored_hashed(admin_env: AdminEnv) -> None:
    async with admin_env.app.state.ctx.sessions() as session:
        from sqlmodel import select

        rows = (await session.exec(select(ApiKey))).all()
    plain = set(admin_env.keys.values())
    assert {r.key_hash for r in rows} == {hash_key(k) for k in plain}
    assert not plain & {r.key_hash for r in rows}


async def test_every_role_reads_the_directory(admin_env: AdminEnv) -> None:
    for who in ("admin", "editor", "coordinator", "reader"):
        resp = await admin_env.client.get(f"{API}/services", headers=admin_env.auth(who))
        assert resp.status_code == 200, who


async def test_reader_and_coordinator_cannot_write(admin_env: AdminEnv) -> None:
    for who in ("reader", "coordinator"):
        resp = await admin_env.client.post(
            f"{API}/services", json=service_body(), headers=admin_env.auth(who)
        )
        assert resp.status_code == 403, who


async def test_editor_writes_only_own_municipalities(admin_env: AdminEnv) -> None:
    own = await admin_env.create_service("editor")
    other = await admin_env.create_service("editor", municipalities=["Kristianstad"])
    shared = await admin_env.create_service("editor", municipalities=["Degerfors", "Karlskoga"])
    national = await admin_env.create_service("editor", scope="national", municipalities=[])
    assert own.status_code == 201
    assert (other.status_code, shared.status_code, national.status_code) == (403, 403, 403)


async def test_editor_cannot_change_or_move_across_municipalities(admin_env: AdminEnv) -> None:
    created = await admin_env.create_service("editor")
    url = f"{API}/services/{created.json()['id']}"
    by_other = await admin_env.client.patch(
        url, json={"name": "X"}, headers=admin_env.auth("editor_kristianstad", etag='"1"')
    )
    moved = await admin_env.client.patch(
        url,
        json={"municipalities": ["Kristianstad"]},
        headers=admin_env.auth("editor", etag='"1"'),
    )
    assert (by_other.status_code, moved.status_code) == (403, 403)
    after = await admin_env.client.get(url, headers=admin_env.auth("reader"))
    assert after.json()["municipalities"] == ["Degerfors"]
    assert after.headers["ETag"] == '"1"'


async def test_regional_service_needs_an_editor_covering_the_region(admin_env: AdminEnv) -> None:
    body = {
        "scope": "region",
        "region": "Skåne nordost",
        "municipalities": ["Kristianstad", "Osby"],
    }
    partial = await admin_env.create_service("editor_kristianstad", **body)
    whole = await admin_env.create_service("editor_skane", **body)
    assert (partial.status_code, whole.status_code) == (403, 201)


async def test_national_services_are_admin_only(admin_env: AdminEnv) -> None:
    created = await admin_env.create_service("admin", scope="national", municipalities=[])
    assert created.status_code == 201
    resp = await admin_env.client.patch(
        f"{API}/services/{created.json()['id']}",
        json={"summary": "x"},
        headers=admin_env.auth("editor_skane", etag='"1"'),
    )
    assert resp.status_code == 403


async def test_editor_cannot_manage_users_keys_or_delete_shared_things(
    admin_env: AdminEnv,
) -> None:
    editor = admin_env.auth("editor")
    user = await admin_env.client.post(
        f"{API}/users", json={"name": "N", "role": "admin"}, headers=editor
    )
    key = await admin_env.client.post(
        f"{API}/users/{admin_env.user_ids['editor']}/keys", headers=editor
    )
    keys = await admin_env.client.get(f"{API}/keys", headers=editor)
    assert (user.status_code, key.status_code, keys.status_code) == (403, 403, 403)
    org = await admin_env.client.post(f"{API}/organizations", json={"name": "O"}, headers=editor)
    assert org.status_code == 201
    deleted = await admin_env.client.delete(
        f"{API}/organizations/{org.json()['id']}", headers=admin_env.auth("editor", etag='"1"')
    )
    assert deleted.status_code == 403


async def test_admin_creates_user_and_key_that_works_until_revoked(admin_env: AdminEnv) -> None:
    admin = admin_env.auth("admin")
    user = await admin_env.client.post(
        f"{API}/users",
        json={"name": "Eva", "role": "editor", "municipalities": ["hassleholm"]},
        headers=admin,
    )
    assert user.status_code == 201
    assert user.json()["municipalities"] == ["Hässleholm"]
    key = await admin_env.client.post(f"{API}/users/{user.json()['id']}/keys", headers=admin)
    assert key.status_code == 201
    plain = key.json()["key"]
    listed = await admin_env.client.get(f"{API}/keys", headers=admin)
    assert plain not in listed.text
    theirs = {"Authorization": f"Bearer {plain}"}
    made = await admin_env.client.post(
        f"{API}/services", json=service_body(municipalities=["Hässleholm"]), headers=theirs
    )
    assert made.status_code == 201
    revoked = await admin_env.client.delete(f"{API}/keys/{key.json()['id']}", headers=admin)
    assert revoked.status_code == 200
    after = await admin_env.client.get(f"{API}/services", headers=theirs)
    assert after.status_code == 401


async def test_editor_user_needs_municipalities(admin_env: AdminEnv) -> None:
    resp = await admin_env.client.post(
        f"{API}/users", json={"name": "N", "role": "editor"}, headers=admin_env.auth("admin")
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "municipalities"]


async def test_repeated_failures_are_rate_limited(admin_env: AdminEnv) -> None:
    env = admin_env
    bad = {"Authorization": "Bearer fgk_wrong"}
    codes = [(await env.client.get(f"{API}/services", headers=bad)).status_code for _ in range(10)]
    assert codes == [401] * 10
    blocked = await env.client.get(f"{API}/services", headers=env.auth("admin"))
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    env.clock.advance(seconds=61)
    again = await env.client.get(f"{API}/services", headers=env.auth("admin"))
    assert again.status_code == 200
