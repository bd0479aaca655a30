# ruff: noqa: F811  (pytest fixtures are imported from tests.admin_fixtures)
"""The editors' API keeps the directory clean: misspelt municipalities,
phone numbers, category codes and URLs are checked, not guessed; a second service with a
live one's name and place is 409; an HSDS export imported at once changes nothing; and the
README's curl examples work as written against a running server."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from admin.validation import (
    Problems,
    check_categories,
    check_contact,
    check_service,
    normalise_phone,
    validate_as,
)
from directory.models import ServiceCreate
from directory.seed import load_bundled_directory
from tests import factories
from tests.admin_fixtures import API, AdminEnv, admin_env  # noqa: F401
from tests.conftest import skip_or_fail

README = Path(__file__).resolve().parents[1] / "README.md"


def named(response: httpx.Response, *loc: str | int) -> str:
    """The message of the 422 error at `loc`."""
    assert response.status_code == 422, response.text
    found = [e["msg"] for e in response.json()["detail"] if tuple(e["loc"]) == loc]
    assert found, response.text
    return found[0]


@pytest.fixture
async def seeded(admin_env: AdminEnv) -> AsyncIterator[AdminEnv]:
    """The admin environment with the bundled directory loaded (the app's start-up)."""
    async with admin_env.app.router.lifespan_context(admin_env.app):
        yield admin_env


# --- field checks -------------------------------------------------------------------------


async def test_a_misspelt_municipality_is_refused_naming_the_likely_one(
    admin_env: AdminEnv,
) -> None:
    got = await admin_env.create_service("admin", municipalities=["Degerfosr"])
    assert "did you mean 'Degerfors'?" in named(got, "body", "municipalities", 0)
    got = await admin_env.create_service("admin", municipalities=["Xyzzyby"])
    assert "not a Swedish municipality" in named(got, "body", "municipalities", 0)
    listed = await admin_env.client.get(f"{API}/services", headers=admin_env.auth("reader"))
    assert listed.json()["count"] == 0
    # The name itself in any case, without å/ä/ö or with "kommun" is the name, not a guess.
    got = await admin_env.create_service(
        "admin", municipalities=["degerfors kommun", "Orebro", "Hässleholms kommun"]
    )
    assert got.status_code == 201, got.text
    assert got.json()["municipalities"] == ["Degerfors", "Örebro", "Hässleholm"]


@pytest.mark.parametrize("value", ["12345", "1234", "0712", "070-123", "+1 212 555 0100", "²"])
async def test_phone_numbers_that_are_not_swedish_numbers_are_refused(
    admin_env: AdminEnv, value: str
) -> None:
    service = (await admin_env.create_service("editor")).json()
    got = await admin_env.client.post(
        f"{API}/services/{service['id']}/contacts",
        json={"kind": "phone", "value": value},
        headers=admin_env.auth("editor"),
    )
    assert "phone:" in named(got, "body", "value")


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("0586-480 00", "+4658648000"),
        ("070-123 45 67", "+46701234567"),
        ("+46 11 15 39 85", "+4611153985"),
        ("020-50 50 50", "+4620505050"),
        ("112", "112"),
        ("1177", "1177"),
        ("114 14", "11414"),
        ("116 111", "116111"),
        ("90101", "90101"),
    ],
)
def test_swedish_numbers_and_short_numbers_are_taken(value: str, stored: str) -> None:
    assert normalise_phone(value) == stored


def test_the_bundled_directory_passes_every_check() -> None:
    """The stricter rules must hold for the data we ship (its contact details are never
    changed to fit a rule: a rule that fails them is wrong)."""
    bundled = load_bundled_directory()
    codes = {c.code for c in bundled.categories}
    for entry in bundled.services:
        problems = Problems(("service", entry.service.name))
        data = validate_as(ServiceCreate, entry.service.model_dump(), problems)
        check_service(data.model_dump(), problems)
        check_categories(problems, entry.service.categories, known=codes)
        for contact in entry.contacts:
            check_contact(problems, contact.kind, contact.value)
        assert problems.errors == [], problems.errors
    places = [
        (e.service.name.casefold(), m) for e in bundled.services for m in e.service.municipalities
    ]
    assert len(places) == len(set(places)), "the bundled directory lists a service twice"


async def test_category_codes_come_from_the_category_list(admin_env: AdminEnv) -> None:
    admin = admin_env.auth("admin")
    got = await admin_env.create_service("editor", categories=["stodgrupp"])
    assert "not a category code" in named(got, "body", "categories", 0)
    category = await admin_env.client.post(
        f"{API}/categories", json={"code": "stodgrupp", "name": "Stödgrupp"}, headers=admin
    )
    created = await admin_env.create_service("editor", categories=["stodgrupp"])
    assert created.status_code == 201, created.text
    # A category deleted since stays on the services that have it: other edits still work.
    await admin_env.client.delete(
        f"{API}/categories/{category.json()['id']}", headers={**admin, "If-Match": '"1"'}
    )
    service_id = created.json()["id"]
    patched = await admin_env.client.patch(
        f"{API}/services/{service_id}",
        json={"cost": "Gratis"},
        headers=admin_env.auth("editor", etag='"1"'),
    )
    assert patched.status_code == 200, patched.text
    again = await admin_env.client.patch(
        f"{API}/services/{service_id}",
        json={"categories": ["stodgrupp", "påhittad"]},
        headers=admin_env.auth("editor", etag='"2"'),
    )
    assert "not a category code" in named(again, "body", "categories", 1)


async def test_an_address_with_a_raw_o_umlaut_is_stored_percent_encoded(
    admin_env: AdminEnv,
) -> None:
    got = await admin_env.create_service(
        "editor", url="https://www.degerfors.se/förskola-och-skola?sök=stöd"
    )
    assert got.status_code == 201, got.text
    assert got.json()["url"] == (
        "https://www.degerfors.se/f%C3%B6rskola-och-skola?s%C3%B6k=st%C3%B6d"
    )
    web = await admin_env.client.post(
        f"{API}/services/{got.json()['id']}/contacts",
        json={"kind": "web", "value": "https://hörby.se/"},
        headers=admin_env.auth("editor"),
    )
    assert web.status_code == 201 and web.json()["value"] == "https://xn--hrby-5qa.se/"
    for bad in ("https://www.degerfors .se", "ftp://degerfors.se", "https://a.se:99999/"):
        refused = await admin_env.create_service("editor", name="Annan", url=bad)
        assert named(refused, "body", "url")


# --- duplicates ---------------------------------------------------------------------------


async def test_a_second_service_with_a_live_ones_name_and_place_is_409(
    admin_env: AdminEnv,
) -> None:
    first = (await admin_env.create_service("editor", name="Steget")).json()
    twin = await admin_env.create_service("editor", name="  steget ")
    assert twin.status_code == 409, twin.text
    assert first["id"] in twin.json()["detail"] and "allow_duplicate" in twin.json()["detail"]
    overlapping = await admin_env.create_service(
        "admin", name="Steget", municipalities=["Karlskoga", "Degerfors"]
    )
    assert overlapping.status_code == 409
    elsewhere = await admin_env.create_service("admin", name="Steget", municipalities=["Osby"])
    assert elsewhere.status_code == 201
    asked = await admin_env.client.post(
        f"{API}/services",
        params={"allow_duplicate": True},
        json={"name": "Steget", "municipalities": ["Degerfors"]},
        headers=admin_env.auth("editor"),
    )
    assert asked.status_code == 201
    listed = await admin_env.client.get(
        f"{API}/services", params={"q": "steget"}, headers=admin_env.auth("reader")
    )
    assert listed.json()["count"] == 3
    # Renaming another service into the same place is the same double.
    other = (await admin_env.create_service("editor", name="Pinocchio")).json()
    renamed = await admin_env.client.patch(
        f"{API}/services/{other['id']}",
        json={"name": "STEGET"},
        headers=admin_env.auth("editor", etag='"1"'),
    )
    assert renamed.status_code == 409
    # A deleted service is no double: its name may be used again.
    await admin_env.client.delete(
        f"{API}/services/{other['id']}", headers=admin_env.auth("editor", etag='"1"')
    )
    again = await admin_env.create_service("editor", name="Pinocchio")
    assert again.status_code == 201


async def test_csv_rows_that_would_double_a_live_service_are_409(admin_env: AdminEnv) -> None:
    await admin_env.create_service("editor", name="Steget")
    sheet = "name;municipalities\nSteget;Degerfors|Karlskoga\n"

    async def post(text: str, **params: Any) -> httpx.Response:
        return await admin_env.client.post(
            f"{API}/import/csv",
            params={"dry_run": True, **params},
            content=text.encode(),
            headers={**admin_env.auth("admin"), "Content-Type": "text/csv"},
        )

    got = await post(sheet)
    assert got.status_code == 409 and "row 2" in got.json()["detail"]
    assert (await post(sheet, allow_duplicate=True)).status_code == 200
    twice = await post("name;municipalities\nNytt;Osby\nnytt;Osby\n")
    assert twice.status_code == 409 and "row 3" in twice.json()["detail"]
    same = await post("name;municipalities\nSteget;Degerfors\n")  # the row changes that one
    assert same.status_code == 200 and same.json()["unchanged"] == 1


# --- HSDS round trip ----------------------------------------------------------------------


async def test_an_hsds_export_imported_at_once_changes_nothing(seeded: AdminEnv) -> None:
    admin = seeded.auth("admin")
    exported = await seeded.client.get(f"{API}/export/hsds", headers=admin)
    package = (await seeded.client.get(f"{API}/export/hsds.zip", headers=admin)).content
    services = exported.json()["contents"]
    assert len(services) >= 20
    # The bundled phones are stored as written ("116 111"); the import checks them into
    # their normalised form ("116111"): that is the same number, not a change.
    assert any(p["number"] == "116 111" for s in services for p in s["phones"])
    zipped = {**admin, "Content-Type": "application/zip"}
    for report in (
        await seeded.client.post(
            f"{API}/import/hsds", params={"dry_run": False}, json=exported.json(), headers=admin
        ),
        await seeded.client.post(
            f"{API}/import/hsds.zip", params={"dry_run": False}, content=package, headers=zipped
        ),
    ):
        assert report.status_code == 200, report.text
        data = report.json()
        assert (data["created"], data["changed"], data["deleted"]) == ([], [], []), data
        assert data["unchanged"] == len(services)
        assert data["organizations_changed"] == data["categories_changed"] == 0
    after = await seeded.client.get(f"{API}/export/hsds", headers=admin)
    assert after.json() == exported.json()


# --- the README, as written ---------------------------------------------------------------


def _readme_examples() -> str:
    """The bash blocks of the README's *Editing the directory* section that need no files of
    the reader's own (the CSV example needs their spreadsheet)."""
    section = README.read_text(encoding="utf-8").split("## Editing the directory", 1)[1]
    section = section.split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return "\n".join(b for b in blocks if "$API" in b and "tjanster.csv" not in b)


async def test_the_readme_examples_work_when_copied(admin_env: AdminEnv, tmp_path: Path) -> None:
    """Run with bash and curl against uvicorn serving the app with the bundled directory,
    as a reader would after `familjeguiden serve` and `admin create-key`."""
    if not (shutil.which("curl") and shutil.which("python3")):
        skip_or_fail("the README examples run with curl and python3")
    script = _readme_examples()
    assert "If-Match" in script and "import/hsds" in script
    async with factories.served(admin_env.app) as base:
        # Every example as printed, but stop at the first one that fails (curl -f).
        shell = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            shell + script.replace("http://127.0.0.1:8000", base),
            cwd=tmp_path,
            env={**os.environ, "FG_KEY": admin_env.keys["admin"]},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        # Inside the lifespan: at its end the app lets the (in-memory) database go.
        listed = await admin_env.client.get(
            f"{API}/services", params={"q": "Ankaret"}, headers=admin_env.auth("reader")
        )
    output = out.decode()
    assert process.returncode == 0, output[-2000:] + err.decode()[-2000:]
    assert re.search(r'etag: "1"\r?\n', output, flags=re.I), output[:2000]
    assert '"created":[],"changed":[],"deleted":[]' in output
    assert '"key":"fgk_' in err.decode()
    # The examples did what they say: the service went from version 1 to 5.
    [service] = listed.json()["data"]
    assert service["version"] == 5 and service["cost"] == "Gratis" and service["verified"]
    assert [c["value"] for c in service["contacts"]] == ["+4658648000"]
