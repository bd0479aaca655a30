# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""Plain CSV import for editors: dry run reports, real run writes in one go."""

from __future__ import annotations

from typing import Any

from tests.admin_fixtures import API, AdminEnv, admin_env  # noqa: F401

SHEET = (
    "name;municipalities;min_age;max_age;phones;keywords;organization;verified\n"
    "Steget;Degerfors;6;16;0586-480 00;missbruk|stödgrupp;Degerfors kommun;ja\n"
    "Familjecentralen;Degerfors;0;6;;öppen förskola;Degerfors kommun;nej\n"
)


async def _import(env: AdminEnv, text: str, *, dry_run: bool, who: str = "editor") -> Any:
    return await env.client.post(
        f"{API}/import/csv",
        params={"dry_run": dry_run},
        content=text.encode(),
        headers={**env.auth(who), "Content-Type": "text/csv"},
    )


async def _services(env: AdminEnv) -> list[dict[str, Any]]:
    resp = await env.client.get(f"{API}/services", headers=env.auth("reader"))
    return resp.json()["data"]


async def test_dry_run_reports_and_writes_nothing(admin_env: AdminEnv) -> None:
    resp = await _import(admin_env, SHEET, dry_run=True)
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["dry_run"] is True
    assert [c["name"] for c in report["created"]] == ["Steget", "Familjecentralen"]
    assert await _services(admin_env) == []


async def test_real_run_creates_then_changes_by_name(admin_env: AdminEnv) -> None:
    created = await _import(admin_env, SHEET, dry_run=False)
    assert created.status_code == 200, created.text
    services = {s["name"]: s for s in await _services(admin_env)}
    steget = services["Steget"]
    assert [c["value"] for c in steget["contacts"]] == ["+4658648000"]
    assert steget["keywords"] == ["missbruk", "stödgrupp"]
    assert steget["verified"] is True
    assert steget["organization_id"] == services["Familjecentralen"]["organization_id"]
    changed_sheet = (
        "name,municipalities,max_age\nSteget,Degerfors,18\nFamiljecentralen,Degerfors,6\n"
    )
    dry = (await _import(admin_env, changed_sheet, dry_run=True)).json()
    assert [(c["name"], c["fields"]) for c in dry["changed"]] == [("Steget", ["max_age"])]
    assert dry["unchanged"] == 1
    real = await _import(admin_env, changed_sheet, dry_run=False)
    assert real.status_code == 200
    after = {s["name"]: s for s in await _services(admin_env)}
    assert after["Steget"]["max_age"] == 18
    assert after["Steget"]["version"] == 2
    assert after["Steget"]["keywords"] == ["missbruk", "stödgrupp"]  # column absent: kept
    assert after["Familjecentralen"]["version"] == 1


async def test_bad_rows_are_named_and_nothing_is_written(admin_env: AdminEnv) -> None:
    sheet = (
        "name,municipalities,min_age,phones,email,organization\n"
        "Bra,Degerfors,3,,,\n"
        "Dålig,Gotham,tre,12,nej@,\n"
        "Ingen kommun,,3,,,\n"
        f"Lång organisation,Degerfors,3,,,{'x' * 300}\n"
    )
    resp = await _import(admin_env, sheet, dry_run=False)
    assert resp.status_code == 422
    locs = [e["loc"] for e in resp.json()["detail"]]
    assert ["body", "row", 3, "min_age"] in locs
    assert ["body", "row", 3, "phones", 0] in locs
    assert ["body", "row", 4, "municipalities"] in locs
    assert ["body", "row", 5, "organization"] in locs
    assert await _services(admin_env) == []
    header = await _import(admin_env, "namn,kommun\nx,y\n", dry_run=True)
    assert header.status_code == 422
    assert header.json()["detail"][0]["loc"] == ["body", "header"]


async def test_editor_cannot_import_into_another_municipality(admin_env: AdminEnv) -> None:
    sheet = "name,municipalities\nLotsen,Kristianstad\n"
    resp = await _import(admin_env, sheet, dry_run=True)
    assert resp.status_code == 403
    assert "row 2" in resp.json()["detail"]
    reader = await _import(admin_env, sheet, dry_run=True, who="reader")
    assert reader.status_code == 403
    ok = await _import(admin_env, sheet, dry_run=False, who="editor_skane")
    assert ok.status_code == 200
