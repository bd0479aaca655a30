"""HSDS export from the database, and the import plan (what a document would change).

An import makes the directory equal to the document: services in it are created or changed,
live services missing from it are soft-deleted (organizations and categories are only
created or changed, never deleted). The dry run computes the same plan without writing;
the real run applies it in one transaction with an audit entry per change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from admin.hsds import ServiceRecord, page, record_from_rows, to_hsds
from admin.validation import (
    Problems,
    contact_value_key,
    normalise_email,
    normalise_url,
)
from directory import crud
from directory.models import ContactKind, Organization, ServiceCreate

COMPARED = list(ServiceCreate.model_fields)  # includes assured_date (ServiceBase)


class ImportItem(BaseModel):
    id: str
    name: str
    fields: list[str] = []


class ImportReport(BaseModel):
    dry_run: bool
    created: list[ImportItem] = []
    changed: list[ImportItem] = []
    deleted: list[ImportItem] = []
    unchanged: int = 0
    organizations_created: int = 0
    organizations_changed: int = 0
    categories_created: int = 0
    categories_changed: int = 0


async def load_records(*, session: AsyncSession, deleted: bool = False) -> list[ServiceRecord]:
    services = await crud.all_services(session=session, deleted=deleted)
    orgs = {o.id: o for o in await crud.all_organizations(session=session)}
    categories = {c.code: c for c in await crud.all_categories(session=session)}
    contacts = await crud.contacts_by_service(
        session=session, service_ids=[s.id for s in services]
    )
    return [
        record_from_rows(
            s,
            organization=orgs.get(s.organization_id or ""),
            contacts=contacts[s.id],
            categories=categories,
        )
        for s in services
    ]


async def export_hsds(*, session: AsyncSession) -> dict[str, Any]:
    """Every live service as an HSDS 3.0 page (compiled/service.json per item)."""
    return page([to_hsds(r) for r in await load_records(session=session)])


# --- planning -------------------------------------------------------------------------------


@dataclass
class Plan:
    report: ImportReport
    records: dict[str, ServiceRecord]
    existing: dict[str, ServiceRecord]
    deleted_ids: set[str] = field(default_factory=set)


def _differences(old: ServiceRecord, new: ServiceRecord) -> list[str]:
    fields = [f for f in COMPARED if old.fields.get(f) != new.fields.get(f)]
    if _contact_keys(old) != _contact_keys(new):
        fields.append("contacts")
    return fields


# Fields an import normalises (as every edit does): a value equal to the stored one once
# normalised is the stored one. Data written before the check (the bundled directory's
# "116 111", say) must not read as changed on every round trip.
NORMALISED = {"url": normalise_url, "email": normalise_email, "website": normalise_url}


def same_value(field: str, stored: Any, given: Any) -> bool:
    if stored == given or not (isinstance(stored, str) and isinstance(given, str)):
        return stored == given
    try:
        return field in NORMALISED and NORMALISED[field](stored) == given
    except ValueError:
        return False


def keep_stored_forms(old: ServiceRecord, new: ServiceRecord) -> None:
    """Give the import the stored spelling of values that only differ in form."""
    for key in ("url", "email"):
        if same_value(key, old.fields.get(key), new.fields.get(key)):
            new.fields[key] = old.fields.get(key)
    stored = {c["id"]: c for c in old.contacts}
    for contact in new.contacts:
        was = stored.get(contact["id"])
        if was is not None and was["kind"] == contact["kind"] and was["value"] != contact["value"]:
            kind = ContactKind(was["kind"])
            if contact_value_key(kind, was["value"]) == contact["value"]:
                contact["value"] = was["value"]


def _contact_keys(record: ServiceRecord) -> list[tuple[Any, ...]]:
    return [
        (c["id"], c["kind"], c["value"], c["label"], c["note"], c["position"])
        for c in record.contacts
    ]


async def plan_import(
    *, session: AsyncSession, records: list[ServiceRecord], dry_run: bool
) -> Plan:
    live = {r.id: r for r in await load_records(session=session)}
    gone = {r.id: r for r in await load_records(session=session, deleted=True)}
    _check_organizations(records, {o.id for o in await crud.all_organizations(session=session)})
    report = ImportReport(dry_run=dry_run)
    plan = Plan(report=report, records={r.id: r for r in records}, existing=live | gone)
    for record in records:
        item = ImportItem(id=record.id, name=record.fields["name"])
        old = plan.existing.get(record.id)
        if old is None:
            report.created.append(item)
            continue
        keep_stored_forms(old, record)
        item.fields = _differences(old, record) + (["deleted_at"] if record.id in gone else [])
        if item.fields:
            report.changed.append(item)
        else:
            report.unchanged += 1
    for sid, old in live.items():
        if sid not in plan.records:
            plan.deleted_ids.add(sid)
            report.deleted.append(ImportItem(id=sid, name=old.fields["name"]))
    await _plan_shared(session, records, report)
    return plan


def _check_organizations(records: list[ServiceRecord], known: set[str]) -> None:
    known |= {r.organization["id"] for r in records if r.organization}
    problems = Problems(("body", "contents"))
    for index, record in enumerate(records):
        org_id = record.fields.get("organization_id")
        if org_id and org_id not in known:
            problems.loc_add((index, "organization_id"), "no such organization", org_id)
    problems.raise_if_any()


async def _plan_shared(
    session: AsyncSession, records: list[ServiceRecord], report: ImportReport
) -> None:
    orgs = {o.id: o for o in await crud.all_organizations(session=session)}
    for org in {r.organization["id"]: r.organization for r in records if r.organization}.values():
        old = orgs.get(org["id"])
        if old is None:
            report.organizations_created += 1
        elif org_changes(old, org):
            report.organizations_changed += 1
    cats = {c.code: c for c in await crud.all_categories(session=session)}
    for term in {t["code"]: t for r in records for t in r.terms}.values():
        old_cat = cats.get(term["code"])
        if old_cat is None:
            report.categories_created += 1
        elif (old_cat.name, old_cat.description) != (term["name"], term["description"]):
            report.categories_changed += 1


def org_changes(old: Organization, new: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "description", "email", "website")
    return {k: new.get(k) for k in keys if not same_value(k, getattr(old, k), new.get(k))}
