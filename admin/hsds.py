"""Open Referral HSDS 3.0 mapping: our directory rows <-> HSDS service documents.

Both directions go through `ServiceRecord`, so export and import cannot drift apart.
Fields HSDS has are mapped natively (cost -> fees_description, access_note ->
application_process, municipalities -> service_areas, categories -> taxonomy terms,
keywords -> attributes); what HSDS has no field for (summary and its English twin
summary_en, scope, region, access, source, verified, urgent_service, a contact point's
kind/label/position) travels in
`attributes` with link_type "familjeguiden:*" and a JSON value, so the round trip is lossless.
Ids of derived HSDS objects (languages, areas, attributes) are uuid5s of the service id,
so exporting the same directory twice gives the same document.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from directory.models import Category, ContactKind, ContactPoint, Organization, Service

NS = uuid.UUID("6f1c5a52-2d0e-4a53-9a55-6b0e1f3c9a10")  # Familjeguiden's uuid5 namespace
SERVICE_EXT = "familjeguiden:service"
CONTACT_EXT = "familjeguiden:contact_point"
# Service fields HSDS has no place for; kept in the service's extension attribute.
EXTENSION_FIELDS = (
    "summary",
    "summary_en",
    "scope",
    "region",
    "access",
    "source",
    "verified",
    "urgent_service",
)
CONTACT_FIELDS = ("id", "kind", "value", "label", "note", "position")
# What the HSDS object of a contact point cannot say; the value itself stays native.
CONTACT_EXT_FIELDS = ("kind", "label", "note", "position")
ORG_FIELDS = ("id", "name", "description", "email", "website")
TERM_FIELDS = ("id", "code", "name", "description")
VIRTUAL = (ContactKind.web, ContactKind.chat)


def derived_id(*parts: object) -> str:
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


@dataclass
class ServiceRecord:
    """One service as the directory holds it, independent of rows or HSDS."""

    fields: dict[str, Any]  # id, organization_id, ServiceBase fields, last_modified
    organization: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.fields["id"])


# --- rows -> record ---------------------------------------------------------------------


def utc_iso(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_from_rows(
    service: Service,
    *,
    organization: Organization | None,
    contacts: list[ContactPoint],
    categories: dict[str, Category],
) -> ServiceRecord:
    fields = service.model_dump(
        mode="json", exclude={"created_at", "updated_at", "deleted_at", "version"}
    )
    fields["last_modified"] = utc_iso(service.updated_at)
    org = organization.model_dump(mode="json", include=set(ORG_FIELDS)) if organization else None
    return ServiceRecord(
        fields=fields,
        organization=org,
        contacts=[c.model_dump(mode="json", include=set(CONTACT_FIELDS)) for c in contacts],
        terms=[_term(code, categories.get(code)) for code in service.categories],
    )


def _term(code: str, category: Category | None) -> dict[str, Any]:
    if category is None:  # a code no category row describes yet
        return {"id": derived_id("category", code), "code": code, "name": code, "description": ""}
    return category.model_dump(mode="json", include=set(TERM_FIELDS))


# --- record -> HSDS ---------------------------------------------------------------------


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """HSDS strings may be absent but not null; empty optional text is left out."""
    return {k: v for k, v in data.items() if v is not None and v != ""}


def _ext(link_id: str, link_type: str, entity: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": derived_id(link_id, link_type),
        "link_id": link_id,
        "link_type": link_type,
        "link_entity": entity,
        "value": json.dumps(value, ensure_ascii=False, sort_keys=True),
    }


def to_hsds(record: ServiceRecord) -> dict[str, Any]:
    """The HSDS 3.0 service object (validates against compiled/service.json)."""
    f = record.fields
    sid = record.id
    doc = _compact(
        {
            "id": sid,
            "organization_id": f.get("organization_id"),
            "name": f["name"],
            "alternate_name": f.get("alternate_name"),
            "description": f.get("description"),
            "url": f.get("url"),
            "email": f.get("email"),
            "status": f["status"],
            "fees_description": f.get("cost"),
            "application_process": f.get("access_note"),
            "minimum_age": f["min_age"],
            "maximum_age": f["max_age"],
            "assured_date": f.get("assured_date"),
            "last_modified": f.get("last_modified"),
        }
    )
    if record.organization:
        doc["organization"] = _compact(record.organization) | {
            "description": record.organization.get("description") or ""
        }
    doc |= _contacts_to_hsds(sid, record.contacts)
    doc["service_areas"] = [
        {
            "id": derived_id(sid, "area", m),
            "service_id": sid,
            "name": m,
            "extent_type": "municipality",
        }
        for m in f.get("municipalities") or []
    ]
    doc["languages"] = [
        {"id": derived_id(sid, "language", code), "service_id": sid, "code": code}
        for code in f.get("languages") or []
    ]
    doc["attributes"] = _service_attributes(record)
    return doc


def _service_attributes(record: ServiceRecord) -> list[dict[str, Any]]:
    sid = record.id
    attributes = [
        {
            "id": derived_id(sid, "category", term["code"]),
            "link_id": sid,
            "link_type": "category",
            "link_entity": "service",
            "taxonomy_term_id": term["id"],
            "taxonomy_term": _compact(term) | {"description": term.get("description") or ""},
        }
        for term in record.terms
    ]
    attributes += [
        {
            "id": derived_id(sid, "keyword", index, word),
            "link_id": sid,
            "link_type": "keyword",
            "link_entity": "service",
            "value": word,
        }
        for index, word in enumerate(record.fields.get("keywords") or [])
    ]
    extension = {k: record.fields.get(k) for k in EXTENSION_FIELDS}
    attributes.append(_ext(sid, SERVICE_EXT, "service", extension))
    return attributes


def _contacts_to_hsds(sid: str, contacts: list[dict[str, Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "phones": [],
        "contacts": [],
        "schedules": [],
        "service_at_locations": [],
    }
    for c in contacts:
        cid, kind = c["id"], ContactKind(c["kind"])
        extra = {k: c[k] for k in CONTACT_EXT_FIELDS}
        attrs = [_ext(cid, CONTACT_EXT, _entity(kind), extra)]
        if kind == ContactKind.phone:
            item = {"id": cid, "service_id": sid, "number": c["value"], "type": "voice"}
            out["phones"].append(
                _compact(item | {"description": c["note"]}) | {"attributes": attrs}
            )
        elif kind == ContactKind.email:
            item = {"id": cid, "service_id": sid, "name": c["label"], "email": c["value"]}
            out["contacts"].append(_compact(item) | {"attributes": attrs})
        elif kind == ContactKind.opening_hours:
            item = {"id": cid, "service_id": sid, "description": c["value"], "notes": c["note"]}
            out["schedules"].append(_compact(item) | {"attributes": attrs})
        else:
            out["service_at_locations"].append(_location(sid, c, kind, attrs))
    return out


def _entity(kind: ContactKind) -> str:
    return {
        ContactKind.phone: "phone",
        ContactKind.email: "contact",
        ContactKind.opening_hours: "schedule",
    }.get(kind, "location")


def _location(
    sid: str, c: dict[str, Any], kind: ContactKind, attrs: list[dict[str, Any]]
) -> dict[str, Any]:
    virtual = kind in VIRTUAL
    location = _compact(
        {
            "id": c["id"],
            "location_type": "virtual" if virtual else "physical",
            "url": c["value"] if virtual else None,
            "name": c["label"],
            "description": None if virtual else c["value"],
        }
    )
    return {
        "id": derived_id(c["id"], "service_at_location"),
        "service_id": sid,
        "location_id": c["id"],
        "location": location | {"attributes": attrs},
    }


def page(services: list[dict[str, Any]]) -> dict[str, Any]:
    """The HSDS API's paginated list shape, holding the whole directory on one page."""
    return {
        "total_items": len(services),
        "total_pages": 1,
        "page_number": 1,
        "size": len(services),
        "first_page": True,
        "last_page": True,
        "empty": not services,
        "contents": services,
    }


# --- HSDS -> record ---------------------------------------------------------------------


def _objects(container: Any, key: str) -> list[dict[str, Any]]:
    """The objects in a list field; anything else (foreign or broken data) is skipped."""
    value = container.get(key) if isinstance(container, dict) else None
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _object(container: Any, key: str) -> dict[str, Any] | None:
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, dict) else None


def _ext_value(item: dict[str, Any], link_type: str) -> dict[str, Any] | None:
    for attr in _objects(item, "attributes"):
        if attr.get("link_type") == link_type and isinstance(attr.get("value"), str):
            try:
                value = json.loads(attr["value"])
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def from_hsds(doc: dict[str, Any]) -> ServiceRecord:
    """Read one HSDS service (ours or another system's) into a record; types are checked
    by the caller, so odd values pass through to be reported as 422, never a crash."""
    attributes = _objects(doc, "attributes")
    ext = _ext_value(doc, SERVICE_EXT) or {}
    areas = [a.get("name") for a in _objects(doc, "service_areas") if a.get("name")]
    org = _object(doc, "organization")
    fields: dict[str, Any] = {
        "id": doc.get("id"),
        "organization_id": doc.get("organization_id") or (org or {}).get("id"),
        "name": doc.get("name"),
        "alternate_name": doc.get("alternate_name"),
        "description": doc.get("description") or "",
        "url": doc.get("url"),
        "email": doc.get("email"),
        "status": doc.get("status") or "active",
        "cost": doc.get("fees_description") or "",
        "access_note": doc.get("application_process") or "",
        "min_age": _age(doc.get("minimum_age"), 0),
        "max_age": _age(doc.get("maximum_age"), 20),
        "assured_date": doc.get("assured_date"),
        "last_modified": doc.get("last_modified"),
        "municipalities": areas,
        "languages": [lang.get("code") for lang in _objects(doc, "languages") if lang.get("code")],
        "keywords": [a.get("value") for a in attributes if a.get("link_type") == "keyword"],
        "scope": "municipality" if areas else "national",
    }
    fields |= {k: ext[k] for k in EXTENSION_FIELDS if k in ext}
    terms = [_term_from(term) for a in attributes if (term := _object(a, "taxonomy_term"))]
    fields["categories"] = [t["code"] for t in terms]
    return ServiceRecord(
        fields=fields,
        organization={k: org.get(k) for k in ORG_FIELDS} if org else None,
        contacts=_contacts_from(doc),
        terms=terms,
    )


def _age(value: Any, default: int) -> Any:
    if value is None:
        return default
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _term_from(term: dict[str, Any]) -> dict[str, Any]:
    code = term.get("code") or term.get("name") or ""
    return {
        "id": term.get("id") or derived_id("category", code),
        "code": code,
        "name": term.get("name") or code,
        "description": term.get("description") or "",
    }


def _contacts_from(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for phone in _objects(doc, "phones"):
        found.append(_contact(phone, "phone", phone.get("number"), "", phone.get("description")))
    for person in _objects(doc, "contacts"):
        if person.get("email"):
            found.append(_contact(person, "email", person["email"], person.get("name"), ""))
    for sched in _objects(doc, "schedules"):
        hours = sched.get("description") or _hours(sched)
        found.append(_contact(sched, "opening_hours", hours, "", sched.get("notes")))
    for sal in _objects(doc, "service_at_locations"):
        loc = _object(sal, "location") or {}
        virtual = loc.get("location_type") == "virtual"
        where = loc.get("description") or _address(loc) or loc.get("name")
        value = loc.get("url") if virtual else where
        found.append(_contact(loc, "web" if virtual else "address", value, loc.get("name"), ""))
    if all(type(c.get("position")) is int for c in found):
        found.sort(key=lambda c: c["position"])
    for index, contact in enumerate(found):
        contact.setdefault("position", index)
    return found


def _contact(item: dict[str, Any], kind: str, value: Any, label: Any, note: Any) -> dict[str, Any]:
    native = {
        "id": item.get("id"),
        "kind": kind,
        "value": value or "",
        "label": label or "",
        "note": note or "",
    }
    ext = _ext_value(item, CONTACT_EXT) or {}
    return native | {k: ext[k] for k in CONTACT_EXT_FIELDS if k in ext}


def _hours(schedule: dict[str, Any]) -> str:
    """Opening hours as text from another system's structured schedule ("MO,TU 09:00-16:00")."""
    opens, closes = schedule.get("opens_at"), schedule.get("closes_at")
    span = f"{opens}-{closes}" if opens and closes else ""
    return " ".join(str(p) for p in (schedule.get("byday"), span) if p)


def _address(location: dict[str, Any]) -> str:
    for address in _objects(location, "addresses"):
        parts = [address.get("address_1"), address.get("postal_code"), address.get("city")]
        return ", ".join(str(p) for p in parts if p)
    return ""
