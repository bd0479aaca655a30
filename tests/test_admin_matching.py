# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""An edit through the admin API is found by the matcher at once (no waiting for a refresh)."""

from __future__ import annotations

from directory.matching import Query
from tests.admin_fixtures import API, AdminEnv, admin_env  # noqa: F401


async def _names(env: AdminEnv, text: str) -> list[str]:
    matcher = await env.app.state.ctx.directory.get()
    result = matcher.match(Query(text=text, municipality="Degerfors"))
    return [hit.service.name for hit in result.hits]


async def test_created_changed_and_deleted_services_show_in_matching_at_once(
    admin_env: AdminEnv,
) -> None:
    assert "Sagostunden" not in await _names(admin_env, "sagostund för småbarn")  # index built
    created = await admin_env.create_service(
        name="Sagostunden",
        description="Sagostund på biblioteket för småbarn och föräldrar.",
        keywords=["sagostund", "bibliotek"],
        max_age=6,
    )
    assert created.status_code == 201
    # The fake clock has not moved, so only the admin API's invalidation can explain this.
    assert (await _names(admin_env, "sagostund för småbarn"))[0] == "Sagostunden"
    url = f"{API}/services/{created.json()['id']}"
    renamed = await admin_env.client.patch(
        url,
        json={"name": "Sagostund på biblioteket"},
        headers=admin_env.auth("editor", etag='"1"'),
    )
    assert renamed.status_code == 200
    assert (await _names(admin_env, "sagostund för småbarn"))[0] == "Sagostund på biblioteket"
    await admin_env.client.delete(url, headers=admin_env.auth("editor", etag='"2"'))
    assert "Sagostund på biblioteket" not in await _names(admin_env, "sagostund för småbarn")
