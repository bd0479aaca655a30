"""Reading an HSDS document for import: every service, contact point, taxonomy term and
organization is validated and normalised like an API edit, and all problems are reported
together as one 422 naming where they are (`body.contents[i]...`)."""

from __future__ import annotations

import re
from typing import Any

from admin.hsds import ORG_FIELDS, ServiceRecord, from_hsds
from admin.validation import (
    Problems,
    check_contact,
    check_organization,
    check_service,
    validate_as,
)
from directory.models import (
    CategoryCreate,
    ContactKind,
    ContactPointCreate,
    OrganizationCreate,
    ServiceCreate,
)

ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


def read_document(body: Any) -> list[ServiceRecord]:
    """Records from an HSDS page (or a bare list of services); 422 naming bad items."""
    items = body.get("contents") if isinstance(body, dict) else body
    problems = Problems(("body", "contents"))
    if not isinstance(items, list):
        problems.add("contents", "expected an HSDS page with 'contents' or a list", "")
        problems.raise_if_any()
    records: list[ServiceRecord] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.add(index, "each service must be an object", "")
            continue
        record = from_hsds(item)
        _check_record(record, Problems(("body", "contents", index)), problems, seen)
        records.append(record)
    problems.raise_if_any()
    return records


def _has_id(value: Any) -> bool:
    return isinstance(value, str) and bool(ID.match(value))


def _present(data: dict[str, Any], keys: Any) -> dict[str, Any]:
    return {k: data[k] for k in keys if data.get(k) is not None}


def _check_record(record: ServiceRecord, local: Problems, total: Problems, seen: set[str]) -> None:
    """Validate and normalise one imported service in place; errors go to `total`."""
    sid = record.fields.get("id")
    if not _has_id(sid) or sid in seen:
        local.add("id", "needs a unique id (letters, digits, '-', at most 36)", str(sid))
    seen.add(str(sid))
    data = validate_as(ServiceCreate, _present(record.fields, ServiceCreate.model_fields), local)
    if not local.errors:
        record.fields |= check_service(data.model_dump(mode="json"), local)
    for index, contact in enumerate(record.contacts):
        _check_contact(contact, Problems((*local.prefix, "contacts", index)), local)
    for index, term in enumerate(record.terms):
        where = Problems((*local.prefix, "taxonomy_terms", index))
        validate_as(CategoryCreate, _present(term, ("code", "name", "description")), where)
        if not _has_id(term["id"]):
            where.add("id", "needs an id (letters, digits, '-', at most 36)", str(term["id"]))
        local.errors.extend(where.errors)
    if record.organization is not None:
        where = Problems((*local.prefix, "organization"))
        org = validate_as(OrganizationCreate, _present(record.organization, ORG_FIELDS), where)
        if not where.errors:
            record.organization |= check_organization(org.model_dump(mode="json"), where)
        if not _has_id(record.organization.get("id")):
            where.add("id", "needs an id (letters, digits, '-', at most 36)", "")
        local.errors.extend(where.errors)
    total.errors.extend(local.errors)


def _check_contact(contact: dict[str, Any], local: Problems, parent: Problems) -> None:
    if not _has_id(contact.get("id")):
        local.add("id", "needs an id (letters, digits, '-', at most 36)", str(contact.get("id")))
    if type(contact.get("position")) is not int or not 0 <= contact["position"] < 10_000:
        local.add("position", "must be a whole number", str(contact.get("position")))
    fields = ("kind", "value", "label", "note")
    data = validate_as(ContactPointCreate, _present(contact, fields), local)
    if not local.errors:
        contact["value"] = check_contact(local, ContactKind(data.kind), data.value)
        contact |= {"label": data.label, "note": data.note, "kind": data.kind.value}
    parent.errors.extend(local.errors)
