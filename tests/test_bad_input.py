# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""Bad input to the admin API is a 4xx naming the field and the reason, never a 500.

Each case is one a probe of the running product found answering 500 (most on PostgreSQL, which
refuses NUL in text): NUL in a case id, a reply, a note and meeting fields, a meeting in
year 9999, CSV files with a lone CR, binary content, a cell over 131,072 characters or an
age written "²" or with 5,000 digits, an HSDS package with age "²", an If-Match of "²".
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.admin_fixtures import API, MEETING, AdminEnv, admin_env  # noqa: F401
from tests.hsds_support import with_cell
from tests.sms_support import make_case


def refused(response: httpx.Response, *loc: str | int, reason: str = "") -> dict[str, Any]:
    """A 422 whose detail names `loc` (and `reason` in its message); returns that error."""
    assert response.status_code == 422, response.text
    errors = [e for e in response.json()["detail"] if tuple(e["loc"]) == loc]
    assert errors, f"{loc} not named in {response.text}"
    assert reason in errors[0]["msg"], errors[0]["msg"]
    return errors[0]


async def _case(env: AdminEnv) -> str:
    async with env.app.state.ctx.sessions() as session:
        return (await make_case(session, env.clock(), sender_ref=str(uuid.uuid4()))).id


async def test_nul_in_a_case_id_reply_and_note(admin_env: AdminEnv) -> None:
    case_id = await _case(admin_env)
    coordinator = admin_env.auth("coordinator")
    nul = "must not contain NUL characters"
    got = await admin_env.client.get(f"{API}/cases/ab%00cd", headers=coordinator)
    refused(got, "path", "case_id", reason=nul)
    for kind in ("messages", "notes"):
        url = f"{API}/cases/{case_id}/{kind}"
        got = await admin_env.client.post(url, json={"text": "Hej\x00då"}, headers=coordinator)
        refused(got, "body", "text", reason=nul)
    # A lone surrogate (JSON "\ud800") cannot be stored either.
    got = await admin_env.client.post(
        f"{API}/cases/{case_id}/notes",
        content=b'{"text": "Hej \\ud800"}',
        headers={**coordinator, "Content-Type": "application/json"},
    )
    refused(got, "body", "text", reason="lone surrogate")
    got = await admin_env.client.get(
        f"{API}/audit", params={"resource_id": "x\x00"}, headers=admin_env.auth("admin")
    )
    refused(got, "query", "resource_id", reason=nul)
    # Nothing was stored on the way: the case reads as before.
    case = await admin_env.client.get(f"{API}/cases/{case_id}", headers=coordinator)
    assert case.status_code == 200 and case.json()["notes"] == []


async def test_nul_in_meeting_fields(admin_env: AdminEnv) -> None:
    case_id = await _case(admin_env)
    body = {
        **MEETING,
        "place": "Stadshuset\x00",
        "contact_name": "Anna\x00",
        "participants": [{"phone": "070-174 06 05", "name": "För\x00älder"}],
    }
    got = await admin_env.client.post(
        f"{API}/cases/{case_id}/meetings", json=body, headers=admin_env.auth("coordinator")
    )
    for loc in (("place",), ("contact_name",), ("participants", 0, "name")):
        refused(got, "body", *loc, reason="NUL")


@pytest.mark.parametrize(
    ("starts_at", "reason"),
    [
        ("9999-12-31T23:59:59+00:00", "must be before 2028-11-23"),
        ("9999-12-31T23:59:59-14:00", "must be before 2028-11-23"),
        ("2031-01-01T10:00:00+01:00", "must be before 2028-11-23"),
        ("0001-01-01T00:00:00+14:00", "must be in the future"),
    ],
)
async def test_meetings_out_of_range(admin_env: AdminEnv, starts_at: str, reason: str) -> None:
    case_id = await _case(admin_env)
    coordinator = admin_env.auth("coordinator")
    got = await admin_env.client.post(
        f"{API}/cases/{case_id}/meetings",
        json={**MEETING, "starts_at": starts_at},
        headers=coordinator,
    )
    refused(got, "body", "starts_at", reason=reason)
    booked = await admin_env.client.post(
        f"{API}/cases/{case_id}/meetings", json=MEETING, headers=coordinator
    )
    assert booked.status_code == 201, booked.text
    meeting_id = booked.json()["data"][0]["id"]
    moved = await admin_env.client.patch(
        f"{API}/meetings/{meeting_id}",
        json={"starts_at": starts_at, "place": "Stadshuset"},
        headers=coordinator,
    )
    refused(moved, "body", "starts_at", reason=reason)


async def _csv(env: AdminEnv, body: bytes, *, dry_run: bool = True) -> httpx.Response:
    return await env.client.post(
        f"{API}/import/csv",
        params={"dry_run": dry_run},
        content=body,
        headers={**env.auth("editor"), "Content-Type": "text/csv"},
    )


@pytest.mark.parametrize(
    ("body", "loc", "reason"),
    [
        (bytes(range(256)) * 8, ("body", "header"), "needs a header row"),
        (b"name,municipalities\nSte\x00get,Degerfors\n", ("body", "row", 2, "name"), "NUL"),
        (
            b"name,description\nSteget," + b"a" * 131_073 + b"\n",
            ("body", "row", 2),
            "field larger than field limit (131072)",
        ),
        (
            "name,municipalities,min_age\nSteget,Degerfors,²\n".encode(),
            ("body", "row", 2, "min_age"),
            "must be a whole number",
        ),
        (
            ("name,municipalities,min_age\nSteget,Degerfors," + "9" * 5000 + "\n").encode(),
            ("body", "row", 2, "min_age"),
            "at most 3 digits",
        ),
        (
            "name,municipalities,max_age\nSteget,Degerfors,٣\n".encode(),
            ("body", "row", 2, "max_age"),
            "digits 0-9",
        ),
    ],
)
async def test_bad_csv_is_refused_naming_the_row(
    admin_env: AdminEnv, body: bytes, loc: tuple[Any, ...], reason: str
) -> None:
    for dry_run in (True, False):
        refused(await _csv(admin_env, body, dry_run=dry_run), *loc, reason=reason)
    listed = await admin_env.client.get(f"{API}/services", headers=admin_env.auth("reader"))
    assert listed.json()["count"] == 0


async def test_csv_with_lone_cr_line_ends_is_read(admin_env: AdminEnv) -> None:
    """Old Mac spreadsheets end lines with a lone CR: rows, not an error."""
    body = b"name,municipalities,min_age\rSteget,Degerfors,6\rPinocchio,Degerfors,6\r"
    got = await _csv(admin_env, body, dry_run=False)
    assert got.status_code == 200, got.text
    assert [c["name"] for c in got.json()["created"]] == ["Steget", "Pinocchio"]
    # A CR inside a cell splits the row like any line end: the broken half is named.
    got = await _csv(admin_env, b"name,municipalities\nFam\rilj,Degerfors\n")
    refused(got, "body", "row", 2, "municipalities", reason="needs its municipalities")


@pytest.mark.parametrize(
    ("column", "value", "field", "reason"),
    [
        ("minimum_age", "²", "min_age", "valid integer"),
        ("maximum_age", "9" * 5000, "max_age", ""),
    ],
)
async def test_hsds_package_with_odd_age(
    admin_env: AdminEnv, column: str, value: str, field: str, reason: str
) -> None:
    admin = admin_env.auth("admin")
    assert (await admin_env.create_service("admin")).status_code == 201
    package = (await admin_env.client.get(f"{API}/export/hsds.zip", headers=admin)).content
    got = await admin_env.client.post(
        f"{API}/import/hsds.zip",
        params={"dry_run": False},
        content=with_cell(package, "services.csv", column, value),
        headers={**admin, "Content-Type": "application/zip"},
    )
    refused(got, "body", "contents", 0, field, reason=reason)


async def test_hsds_last_modified_out_of_range_keeps_the_export_working(
    admin_env: AdminEnv,
) -> None:
    admin = admin_env.auth("admin")
    service = {
        "id": "7d8f3c2a-0000-4000-8000-000000000001",
        "name": "Steget",
        "status": "active",
        "service_areas": [{"name": "Degerfors"}],
        "last_modified": "0001-01-01T00:00:00+14:00",
    }
    got = await admin_env.client.post(
        f"{API}/import/hsds", params={"dry_run": False}, json=[service], headers=admin
    )
    assert got.status_code == 200, got.text
    exported = await admin_env.client.get(f"{API}/export/hsds", headers=admin)
    assert exported.status_code == 200
    [doc] = exported.json()["contents"]
    assert doc["last_modified"].startswith("2026-11-23")  # the import's time instead


# Header bytes are read as latin-1: b"\xb2" arrives as "²", which str.isdigit accepts.
@pytest.mark.parametrize("tag", [b'"\xb2"', '"٣"'.encode(), b'"' + b"9" * 5000 + b'"', b"W/"])
async def test_if_match_that_is_no_version_is_412(admin_env: AdminEnv, tag: bytes) -> None:
    created = (await admin_env.create_service("editor")).json()
    got = await admin_env.client.patch(
        f"{API}/services/{created['id']}",
        json={"cost": "Gratis"},
        headers=[*admin_env.auth("editor").items(), ("If-Match", tag)],
    )
    assert got.status_code == 412, got.text
    assert "does not name a version" in got.json()["detail"]
