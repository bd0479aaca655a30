"""The HSDS 3.0 tabular data package: one CSV per table plus datapackage.json, zipped.

Columns and file names follow `hsds-3.0/compiled/tabular.json` (and simple/schema.csv);
nested objects become rows in their own table, linked by their *_id columns.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from typing import Any

from admin.validation import whole_number

_COLUMNS = {
    "organization": (
        "organizations.csv",
        "id name alternate_name description email website tax_status tax_id "
        "year_incorporated legal_status logo uri parent_organization_id",
    ),
    "service": (
        "services.csv",
        "id organization_id program_id name alternate_name description url email status "
        "interpretation_services application_process fees_description wait_time fees "
        "accreditations eligibility_description minimum_age maximum_age assured_date "
        "assurer_email licenses alert last_modified",
    ),
    "phone": (
        "phones.csv",
        "id location_id service_id organization_id contact_id service_at_location_id "
        "number extension type description",
    ),
    "contact": (
        "contacts.csv",
        "id organization_id service_id service_at_location_id location_id name title "
        "department email",
    ),
    "schedule": (
        "schedules.csv",
        "id service_id location_id service_at_location_id valid_from valid_to dtstart "
        "timezone until count wkst freq interval byday byweekno bymonthday byyearday "
        "description opens_at closes_at schedule_link attending_type notes",
    ),
    "service_area": (
        "service_areas.csv",
        "id service_id name description extent extent_type uri",
    ),
    "language": (
        "languages.csv",
        "id service_id location_id phone_id name code note",
    ),
    "attribute": (
        "attributes.csv",
        "id link_id taxonomy_term_id link_type link_entity value",
    ),
    "taxonomy_term": (
        "taxonomy_terms.csv",
        "id code name description parent_id taxonomy language taxonomy_id term_uri",
    ),
    "location": (
        "locations.csv",
        "id location_type url organization_id name alternate_name description "
        "transportation latitude longitude external_identifier external_identifier_type",
    ),
    "service_at_location": (
        "service_at_location.csv",
        "id service_id location_id description",
    ),
}
TABLES: dict[str, tuple[str, list[str]]] = {
    name: (path, columns.split()) for name, (path, columns) in _COLUMNS.items()
}
# Nested arrays of a service (or of its children) and the table each one fills.
CHILDREN = {
    "phones": "phone",
    "contacts": "contact",
    "schedules": "schedule",
    "service_areas": "service_area",
    "languages": "language",
    "attributes": "attribute",
    "service_at_locations": "service_at_location",
}


class _Rows:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in TABLES}

    def add(self, table: str, item: dict[str, Any]) -> None:
        columns = TABLES[table][1]
        self.tables[table].setdefault(item["id"], {c: item.get(c) for c in columns})
        for key, child_table in CHILDREN.items():
            for child in item.get(key) or []:
                self.add(child_table, child)
        if table == "attribute" and item.get("taxonomy_term"):
            self.add("taxonomy_term", item["taxonomy_term"])
        if table == "service_at_location" and item.get("location"):
            self.add("location", item["location"])


def tables_from_services(services: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Flatten HSDS service documents into rows per table (each row once, by id)."""
    rows = _Rows()
    for service in services:
        if service.get("organization"):
            rows.add("organization", service["organization"])
        rows.add("service", service)
    return {name: list(by_id.values()) for name, by_id in rows.tables.items()}


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def datapackage(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "name": "familjeguiden-hsds",
        "profile": "tabular-data-package",
        "resources": [
            {
                "name": name,
                "path": TABLES[name][0],
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {"fields": [{"name": c, "type": "string"} for c in TABLES[name][1]]},
            }
            for name in tables
        ],
    }


def package_zip(services: list[dict[str, Any]]) -> bytes:
    """The zipped data package: datapackage.json and one CSV per HSDS table."""
    tables = tables_from_services(services)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", json.dumps(datapackage(tables), indent=2))
        for name, rows in tables.items():
            path, columns = TABLES[name]
            archive.writestr(path, _csv(columns, rows))
    return buffer.getvalue()


# --- reading a package back -----------------------------------------------------------------


MAX_UNPACKED_BYTES = 200_000_000  # a zip bomb is refused before anything is unpacked


class PackageError(ValueError):
    """The upload is not a readable HSDS data package."""


def _read_tables(data: bytes) -> dict[str, list[dict[str, Any]]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise PackageError("the package unpacks to more than 200 MB")
        tables: dict[str, list[dict[str, Any]]] = {}
        for table, (path, _columns) in TABLES.items():
            if path in names:
                text = archive.read(path).decode("utf-8-sig")
                rows = csv.DictReader(io.StringIO(text, newline=""))
                tables[table] = [{k: v for k, v in r.items() if k and v} for r in rows]
    except (
        zipfile.BadZipFile,
        UnicodeDecodeError,
        csv.Error,
        KeyError,
        OSError,
        EOFError,
        zlib.error,
        NotImplementedError,  # a compression method zipfile does not have
        RuntimeError,  # an encrypted member
    ) as exc:
        raise PackageError(f"not a zipped HSDS data package: {exc}") from None
    if "service" not in tables:
        raise PackageError("the package has no services.csv")
    return tables


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(str(row.get(key, "")), []).append(row)
    return grouped


def _number(value: Any) -> Any:
    """CSV cells are text; HSDS ages are numbers. Anything else ("²", 5,000 digits) stays
    text, for the import's checks to name (422)."""
    try:
        return whole_number(value) if isinstance(value, str) else value
    except ValueError:
        return value


def services_from_package(data: bytes) -> list[dict[str, Any]]:
    """Rebuild nested HSDS service documents from a zipped tabular package."""
    t = _read_tables(data)
    terms = {row["id"]: row for row in t.get("taxonomy_term", []) if row.get("id")}
    attributes = _by(t.get("attribute", []), "link_id")
    for rows in attributes.values():
        for attr in rows:
            if attr.get("taxonomy_term_id") in terms:
                attr["taxonomy_term"] = terms[attr["taxonomy_term_id"]]
    locations = {row["id"]: row for row in t.get("location", []) if row.get("id")}
    orgs = {row["id"]: row for row in t.get("organization", []) if row.get("id")}

    def with_attrs(row: dict[str, Any]) -> dict[str, Any]:
        return row | {"attributes": attributes.get(row.get("id", ""), [])}

    children = {key: _by(t.get(table, []), "service_id") for key, table in CHILDREN.items()}
    services = []
    for row in t["service"]:
        sid = row.get("id", "")
        service = with_attrs(row)
        for key in ("minimum_age", "maximum_age"):
            if key in service:
                service[key] = _number(service[key])
        if row.get("organization_id") in orgs:
            service["organization"] = orgs[row["organization_id"]]
        for key in ("phones", "contacts", "schedules"):
            service[key] = [with_attrs(r) for r in children[key].get(sid, [])]
        service["service_areas"] = children["service_areas"].get(sid, [])
        service["languages"] = children["languages"].get(sid, [])
        service["service_at_locations"] = [
            sal | {"location": with_attrs(locations.get(sal.get("location_id", ""), {}))}
            for sal in children["service_at_locations"].get(sid, [])
        ]
        services.append(service)
    return services
