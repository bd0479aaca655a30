# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""HSDS 3.0 export and import: schema-valid, lossless round trip, dry run and real run."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.validation import normalise_phone
from bot.clock import FakeClock
from directory.seed import seed_bundled_directory
from tests.admin_fixtures import (  # noqa: F401
    API,
    AdminEnv,
    admin_env,
    make_admin_env,
    sqlite_admin_env,
)
from tests.conftest import drop_test_engine, make_test_engine, shared_path


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads(shared_path("hsds-3.0", "compiled", name).read_text())
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _page_validator() -> Draft202012Validator:
    """The HSDS API's paginated answer, its remote $ref resolved to the local file."""
    openapi = json.loads(shared_path("hsds-3.0", "openapi.json").read_text())
    schema = dict(openapi["components"]["schemas"]["Page"])
    item = json.loads(shared_path("hsds-3.0", "compiled", "service_list.json").read_text())
    schema["properties"] = {**schema["properties"], "contents": {"type": "array", "items": item}}
    schema["required"] = ["total_items", "contents"]
    return Draft202012Validator(schema, format_checker=FormatChecker())


async def _post(
    env: AdminEnv, path: str, body: dict[str, Any], who: str = "admin"
) -> dict[str, Any]:
    resp = await env.client.post(f"{API}{path}", json=body, headers=env.auth(who))
    assert resp.status_code == 201, resp.text
    return resp.json()


async def _seed(env: AdminEnv) -> None:
    """A small directory using every field and contact kind the model has."""
    org = await _post(
        env,
        "/organizations",
        {
            "name": "Degerfors kommun",
            "website": "https://www.degerfors.se",
            "email": "kommun@degerfors.se",
        },
    )
    await _post(
        env,
        "/categories",
        {"code": "stodgrupp", "name": "Stödgrupp", "description": "Samtal i grupp"},
    )
    await _post(env, "/categories", {"code": "barn", "name": "Barn"})
    steget = await _post(
        env,
        "/services",
        {
            "name": "Steget",
            "organization_id": org["id"],
            "municipalities": ["Degerfors"],
            "description": "Stödgrupper för barn vars förälder har missbruk.",
            "summary": "Stödgrupp för barn",
            "min_age": 6,
            "max_age": 16,
            "access": "open",
            "access_note": "Föräldrarnas samtycke krävs",
            "cost": "Gratis",
            "languages": ["sv", "en"],
            "categories": ["stodgrupp", "barn"],
            "keywords": ["missbruk", "psykisk ohälsa"],
            "url": "https://www.degerfors.se/steget",
            "source": "seed 004",
            "verified": True,
        },
    )
    for contact in (
        {"kind": "phone", "value": "0586-480 00", "label": "Växel", "note": "vardagar 8-16"},
        {"kind": "email", "value": "steget@degerfors.se", "label": "Steget"},
        {"kind": "web", "value": "https://www.degerfors.se/steget"},
        {"kind": "chat", "value": "https://chat.degerfors.se"},
        {"kind": "address", "value": "Pilgården, Degerfors", "label": "Besöksadress"},
        {"kind": "opening_hours", "value": "Mån-fre 8-16", "note": "stängt i juli"},
    ):
        await _post(env, f"/services/{steget['id']}/contacts", contact)
    await env.client.put(
        f"{API}/services/{steget['id']}/verify", headers=env.auth("admin", etag='"1"')
    )
    bris = await _post(
        env,
        "/services",
        {
            "name": "BRIS",
            "scope": "national",
            "municipalities": [],
            "urgent_service": False,
            "max_age": 18,
        },
    )
    await _post(
        env,
        f"/services/{bris['id']}/contacts",
        {"kind": "phone", "value": "116 111", "label": "Barn"},
    )
    await _post(
        env,
        "/services",
        {
            "name": "Lotsen",
            "scope": "region",
            "region": "Skåne nordost",
            "municipalities": ["Kristianstad", "Osby"],
            "access": "referral",
        },
    )


async def _export(env: AdminEnv) -> dict[str, Any]:
    resp = await env.client.get(f"{API}/export/hsds", headers=env.auth("reader"))
    assert resp.status_code == 200
    return resp.json()


async def test_every_exported_service_validates_against_hsds_3(admin_env: AdminEnv) -> None:
    await _seed(admin_env)
    doc = await _export(admin_env)
    assert doc["total_items"] == len(doc["contents"]) == 3
    one, listed = _validator("service.json"), _validator("service_list.json")
    for service in doc["contents"]:
        assert not list(one.iter_errors(service)), service["name"]
        assert not list(listed.iter_errors(service)), service["name"]
    assert not list(_page_validator().iter_errors(doc))
    steget = next(s for s in doc["contents"] if s["name"] == "Steget")
    assert steget["assured_date"] == "2026-11-23"
    assert [p["number"] for p in steget["phones"]] == ["+4658648000"]
    assert [a["name"] for a in steget["service_areas"]] == ["Degerfors"]
    terms = [a["taxonomy_term"]["code"] for a in steget["attributes"] if a.get("taxonomy_term")]
    assert terms == ["stodgrupp", "barn"]
    assert steget["organization"]["name"] == "Degerfors kommun"


async def test_schema_check_would_catch_a_broken_service(admin_env: AdminEnv) -> None:
    await _seed(admin_env)
    service = (await _export(admin_env))["contents"][0]
    del service["status"]
    assert list(_validator("service.json").iter_errors(service))


async def _second_env(
    engine: AsyncEngine, clock: FakeClock
) -> tuple[Any, AsyncEngine, str | None]:
    kind = "sqlite" if engine.dialect.name == "sqlite" else "postgres"
    other, schema = await make_test_engine(kind)
    return make_admin_env(other, clock), other, schema


async def test_export_import_into_empty_database_export_is_identical(
    admin_env: AdminEnv, engine: AsyncEngine, clock: FakeClock
) -> None:
    await _seed(admin_env)
    first = await _export(admin_env)
    envs, other, schema = await _second_env(engine, clock)
    try:
        empty = await anext(envs)
        clock.advance(days=3)  # the import happens later; the document keeps its own times
        dry = await empty.client.post(
            f"{API}/import/hsds", json=first, headers=empty.auth("admin")
        )
        assert dry.status_code == 200, dry.text
        assert (len(dry.json()["created"]), dry.json()["deleted"], dry.json()["dry_run"]) == (
            3,
            [],
            True,
        )
        assert (await _export(empty))["total_items"] == 0
        real = await empty.client.post(
            f"{API}/import/hsds",
            params={"dry_run": False},
            json=first,
            headers=empty.auth("admin"),
        )
        assert real.status_code == 200, real.text
        second = await _export(empty)
        assert second == first
        again = await empty.client.post(
            f"{API}/import/hsds", json=first, headers=empty.auth("admin")
        )
        assert (again.json()["created"], again.json()["changed"], again.json()["unchanged"]) == (
            [],
            [],
            3,
        )
        await envs.aclose()
    finally:
        await drop_test_engine(other, schema)


async def test_csv_package_imports_back_into_an_empty_database(
    admin_env: AdminEnv, engine: AsyncEngine, clock: FakeClock
) -> None:
    await _seed(admin_env)
    first = await _export(admin_env)
    package = await admin_env.client.get(f"{API}/export/hsds.zip", headers=admin_env.auth("admin"))
    envs, other, schema = await _second_env(engine, clock)
    try:
        empty = await anext(envs)
        upload = {**empty.auth("admin"), "Content-Type": "application/zip"}
        dry = await empty.client.post(
            f"{API}/import/hsds.zip", content=package.content, headers=upload
        )
        assert dry.status_code == 200, dry.text
        assert len(dry.json()["created"]) == 3
        real = await empty.client.post(
            f"{API}/import/hsds.zip",
            params={"dry_run": False},
            content=package.content,
            headers=upload,
        )
        assert real.status_code == 200, real.text
        assert await _export(empty) == first
        junk = await empty.client.post(
            f"{API}/import/hsds.zip", content=b"PK no zip", headers=upload
        )
        assert junk.status_code == 422
        assert junk.json()["detail"][0]["loc"] == ["body", "package"]
        await envs.aclose()
    finally:
        await drop_test_engine(other, schema)


async def test_import_reports_changes_and_deletions_then_applies_them(admin_env: AdminEnv) -> None:
    await _seed(admin_env)
    doc = await _export(admin_env)
    steget = next(s for s in doc["contents"] if s["name"] == "Steget")
    steget["description"] = "Nya uppgifter"
    steget["phones"][0]["attributes"] = []  # as another system would send it
    steget["phones"][0]["number"] = "0586 480 01"
    doc["contents"] = [s for s in doc["contents"] if s["name"] != "Lotsen"]
    admin = admin_env.auth("admin")
    dry = (await admin_env.client.post(f"{API}/import/hsds", json=doc, headers=admin)).json()
    assert [(c["name"], c["fields"]) for c in dry["changed"]] == [
        ("Steget", ["description", "contacts"])
    ]
    assert [d["name"] for d in dry["deleted"]] == ["Lotsen"]
    assert len((await _export(admin_env))["contents"]) == 3  # nothing written yet
    admin_env.clock.advance(minutes=5)  # audit entries are ordered by time
    real = await admin_env.client.post(
        f"{API}/import/hsds", params={"dry_run": False}, json=doc, headers=admin
    )
    assert real.status_code == 200
    after = await _export(admin_env)
    assert sorted(s["name"] for s in after["contents"]) == ["BRIS", "Steget"]
    changed = next(s for s in after["contents"] if s["name"] == "Steget")
    assert changed["description"] == "Nya uppgifter"
    assert changed["phones"][0]["number"] == "+4658648001"
    audit = await admin_env.client.get(
        f"{API}/audit", params={"resource_id": changed["id"]}, headers=admin
    )
    assert audit.json()["data"][0]["action"] == "import"
    assert audit.json()["data"][0]["after"]["description"] == "Nya uppgifter"


async def test_import_refuses_bad_data_naming_the_item(admin_env: AdminEnv) -> None:
    await _seed(admin_env)
    doc = await _export(admin_env)
    doc["contents"][1]["minimum_age"] = 30
    doc["contents"][2]["service_areas"] = [{"id": "x", "name": "Atlantis"}]
    resp = await admin_env.client.post(
        f"{API}/import/hsds", params={"dry_run": False}, json=doc, headers=admin_env.auth("admin")
    )
    assert resp.status_code == 422
    locs = [e["loc"] for e in resp.json()["detail"]]
    assert ["body", "contents", 1, "min_age"] in locs
    assert ["body", "contents", 2, "municipalities", 0] in locs
    editor = await admin_env.client.post(
        f"{API}/import/hsds", json=doc, headers=admin_env.auth("editor")
    )
    assert editor.status_code == 403


async def test_csv_data_package_has_every_table(admin_env: AdminEnv) -> None:
    await _seed(admin_env)
    resp = await admin_env.client.get(f"{API}/export/hsds.zip", headers=admin_env.auth("reader"))
    assert resp.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(resp.content))
    package = json.loads(archive.read("datapackage.json"))
    paths = {r["path"] for r in package["resources"]}
    assert {
        "services.csv",
        "organizations.csv",
        "phones.csv",
        "attributes.csv",
        "taxonomy_terms.csv",
    } <= paths
    services = list(csv.DictReader(io.StringIO(archive.read("services.csv").decode())))
    assert sorted(s["name"] for s in services) == ["BRIS", "Lotsen", "Steget"]
    phones = list(csv.DictReader(io.StringIO(archive.read("phones.csv").decode())))
    assert {p["number"] for p in phones} == {"+4658648000", "116111"}
    steget = next(s for s in services if s["name"] == "Steget")
    assert all(p["service_id"] for p in phones)
    assert steget["id"] in {p["service_id"] for p in phones}


BROKEN = [
    {"contents": "nope"},
    [1, 2],
    [{"id": "a", "name": "X", "status": "active", "attributes": [1, {"link_type": "keyword"}]}],
    [{"id": "a", "name": "X", "service_areas": "Degerfors", "phones": [{"number": {}}]}],
    [{"id": "a" * 80, "name": 5, "minimum_age": "sex", "organization": {"name": ["x"]}}],
    [{"id": "b", "name": "Y", "attributes": [{"taxonomy_term": {"id": "z" * 50, "code": 7}}]}],
    [
        {
            "id": "c",
            "name": "Z",
            "service_at_locations": [{"location": {"addresses": [{"city": 1}]}}],
        }
    ],
    [
        {
            "id": "d",
            "name": "W",
            "phones": [
                {
                    "id": "p",
                    "number": "112",
                    "attributes": [
                        {"link_type": "familjeguiden:contact_point", "value": '{"position": "x"}'}
                    ],
                }
            ],
        }
    ],
]


@pytest.mark.parametrize("doc", BROKEN)
async def test_broken_documents_are_422_never_500(sqlite_admin_env: AdminEnv, doc: Any) -> None:
    resp = await sqlite_admin_env.client.post(
        f"{API}/import/hsds", json=doc, headers=sqlite_admin_env.auth("admin")
    )
    assert resp.status_code == 422, resp.text
    assert all(e["loc"][0] == "body" for e in resp.json()["detail"])


async def test_plain_hsds_from_another_system_is_mapped(sqlite_admin_env: AdminEnv) -> None:
    env = sqlite_admin_env
    foreign = {
        "id": "0b6f3f52-8d1f-4f6a-9a2e-2f0f8c1e9b11",
        "name": "Fritidsgården",
        "status": "active",
        "description": "Öppen verksamhet för unga.",
        "minimum_age": 13.0,
        "maximum_age": 18,
        "fees_description": "Gratis",
        "service_areas": [{"id": "a1", "name": "Hässleholm"}],
        "phones": [{"id": "p1", "number": "0451-26 70 00", "description": "vardagar"}],
        "schedules": [{"id": "s1", "byday": "MO,WE", "opens_at": "15:00", "closes_at": "21:00"}],
        "service_at_locations": [
            {
                "id": "l1",
                "location": {
                    "id": "loc1",
                    "location_type": "physical",
                    "addresses": [{"address_1": "Storgatan 1", "city": "Hässleholm"}],
                },
            }
        ],
    }
    resp = await env.client.post(
        f"{API}/import/hsds", params={"dry_run": False}, json=[foreign], headers=env.auth("admin")
    )
    assert resp.status_code == 200, resp.text
    got = await env.client.get(f"{API}/services/{foreign['id']}", headers=env.auth("reader"))
    service = got.json()
    assert (service["municipalities"], service["scope"], service["min_age"]) == (
        ["Hässleholm"],
        "municipality",
        13,
    )
    assert service["cost"] == "Gratis"
    assert [(c["kind"], c["value"]) for c in service["contacts"]] == [
        ("phone", "+46451267000"),
        ("opening_hours", "MO,WE 15:00-21:00"),
        ("address", "Storgatan 1, Hässleholm"),
    ]


def _with_e164_phones(doc: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    for service in copy["contents"]:
        for phone in service.get("phones", []):
            phone["number"] = normalise_phone(phone["number"])
    return copy


async def test_the_bundled_directory_exports_valid_and_round_trips(
    admin_env: AdminEnv, engine: AsyncEngine, clock: FakeClock
) -> None:
    async with admin_env.app.state.ctx.sessions() as session:
        added = await seed_bundled_directory(session=session, clock=clock)
    assert added >= 20
    first = await _export(admin_env)
    assert first["total_items"] == added
    one = _validator("service.json")
    for service in first["contents"]:
        assert not list(one.iter_errors(service)), service["name"]
    envs, other, schema = await _second_env(engine, clock)
    try:
        empty = await anext(envs)
        real = await empty.client.post(
            f"{API}/import/hsds",
            params={"dry_run": False},
            json=first,
            headers=empty.auth("admin"),
        )
        assert real.status_code == 200, real.text
        # The bundled data keeps numbers as written ("011-15 39 85"); an import stores
        # every number in E.164 like an API edit does, and changes nothing else.
        assert await _export(empty) == _with_e164_phones(first)
        await envs.aclose()
    finally:
        await drop_test_engine(other, schema)
