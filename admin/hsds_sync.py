"""HSDS export from, and import into, the database.

An import makes the directory equal to the document: services in it are created or changed,
live services missing from it are soft-deleted (organizations and categories are only
created or changed, never deleted). The dry run computes the same plan without writing;
the real run applies it in one transaction with an audit entry per change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from admin import audit
from admin.hsds import ORG_FIELDS, ServiceRecord, from_hsds, page, record_from_rows, to_hsds
from admin.validation import (
    Problems,
    check_contact,
    check_organization,
    check_service,
    validate_as,
)
from directory import crud
from directory.models import (
    Category,
    CategoryCreate,
    ContactKind,
    ContactPoint,
    ContactPointCreate,
    Organization,
    OrganizationCreate,
    Service,
    ServiceCreate,
)

ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")
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


# --- reading and checking a document -----------------------------------------------------


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
        elif _org_changes(old, org):
            report.organizations_changed += 1
    cats = {c.code: c for c in await crud.all_categories(session=session)}
    for term in {t["code"]: t for r in records for t in r.terms}.values():
        old_cat = cats.get(term["code"])
        if old_cat is None:
            report.categories_created += 1
        elif (old_cat.name, old_cat.description) != (term["name"], term["description"]):
            report.categories_changed += 1


def _org_changes(old: Organization, new: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "description", "email", "website")
    return {k: new.get(k) for k in keys if getattr(old, k) != new.get(k)}


# --- applying -------------------------------------------------------------------------------


@dataclass
class Writer:
    session: AsyncSession
    actor_id: str | None
    now: datetime

    async def log(self, action: str, rtype: str, rid: str, before: Any, after: Any) -> None:
        await audit.record(
            session=self.session,
            actor_id=self.actor_id,
            action=action,
            resource_type=rtype,
            resource_id=rid,
            before=before,
            after=after,
            at=self.now,
        )


async def apply_import(
    *, session: AsyncSession, plan: Plan, actor_id: str | None, now: datetime
) -> None:
    """Write the plan in the caller's transaction (the caller commits once)."""
    w = Writer(session=session, actor_id=actor_id, now=now)
    await _apply_shared(w, list(plan.records.values()))
    changed = {i.id for i in plan.report.changed}
    created = {i.id for i in plan.report.created}
    for sid, record in plan.records.items():
        if sid in created:
            await _create_service(w, record)
        elif sid in changed:
            await _change_service(w, record)
    for sid in plan.deleted_ids:
        row = await crud.get_row(session=session, model=Service, row_id=sid)
        if row is not None:
            before = audit.snapshot(row)
            row.deleted_at, row.version, row.updated_at = now, row.version + 1, now
            session.add(row)
            await w.log("import", "service", sid, before, row)
    await session.flush()


async def _apply_shared(w: Writer, records: list[ServiceRecord]) -> None:
    for org in {r.organization["id"]: r.organization for r in records if r.organization}.values():
        row = await crud.get_row(session=w.session, model=Organization, row_id=org["id"])
        if row is None:
            row = Organization.model_validate({**org, "created_at": w.now, "updated_at": w.now})
            w.session.add(row)
            await w.log("import", "organization", row.id, None, row)
        elif changes := _org_changes(row, org):
            before = audit.snapshot(row)
            row.sqlmodel_update({**changes, "version": row.version + 1, "updated_at": w.now})
            w.session.add(row)
            await w.log("import", "organization", row.id, before, row)
    for term in {t["code"]: t for r in records for t in r.terms}.values():
        cat = await crud.get_category_by_code(session=w.session, code=term["code"])
        if cat is None:
            taken = await crud.get_row(session=w.session, model=Category, row_id=term["id"])
            fresh = {k: v for k, v in term.items() if k != "id" or taken is None}
            cat = Category.model_validate({**fresh, "created_at": w.now, "updated_at": w.now})
            w.session.add(cat)
            await w.log("import", "category", cat.id, None, cat)
        elif (cat.name, cat.description) != (term["name"], term["description"]):
            before = audit.snapshot(cat)
            cat.sqlmodel_update(
                {
                    "name": term["name"],
                    "description": term["description"],
                    "version": cat.version + 1,
                    "updated_at": w.now,
                }
            )
            w.session.add(cat)
            await w.log("import", "category", cat.id, before, cat)
    await w.session.flush()


def _service_values(record: ServiceRecord) -> dict[str, Any]:
    """Typed values (enums, dates) for the row; the record holds their JSON forms."""
    typed = ServiceCreate.model_validate({k: record.fields.get(k) for k in COMPARED})
    return {k: getattr(typed, k) for k in COMPARED}


def _stamp(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return fallback
    return fallback


async def _create_service(w: Writer, record: ServiceRecord) -> None:
    # Keep the document's last_modified, so export -> import -> export is the same document.
    stamp = _stamp(record.fields.get("last_modified"), w.now)
    row = Service.model_validate(
        {**_service_values(record), "id": record.id, "created_at": w.now, "updated_at": stamp}
    )
    w.session.add(row)
    await w.session.flush()
    for contact in record.contacts:
        await _upsert_contact(w, row.id, contact, None)
    await w.log("import", "service", row.id, None, row)


async def _change_service(w: Writer, record: ServiceRecord) -> None:
    row = await crud.get_row(session=w.session, model=Service, row_id=record.id)
    assert row is not None  # planned from the same session
    before = audit.snapshot(row)
    row.sqlmodel_update(_service_values(record))
    row.deleted_at, row.version, row.updated_at = None, row.version + 1, w.now
    w.session.add(row)
    existing = (await crud.contacts_by_service(session=w.session, service_ids=[row.id]))[row.id]
    existing += (
        await crud.contacts_by_service(session=w.session, service_ids=[row.id], deleted=True)
    )[row.id]
    by_id = {c.id: c for c in existing}
    for contact in record.contacts:
        await _upsert_contact(w, row.id, contact, by_id.pop(contact["id"], None))
    for leftover in by_id.values():
        if leftover.deleted_at is None:
            leftover.deleted_at, leftover.version, leftover.updated_at = (
                w.now,
                leftover.version + 1,
                w.now,
            )
            w.session.add(leftover)
    await w.log("import", "service", row.id, before, row)


async def _upsert_contact(
    w: Writer, service_id: str, contact: dict[str, Any], row: ContactPoint | None
) -> None:
    values = {k: contact[k] for k in ("kind", "value", "label", "note", "position")}
    if row is None:
        taken = await crud.get_row(session=w.session, model=ContactPoint, row_id=contact["id"])
        fresh = {"id": contact["id"]} if taken is None else {}
        w.session.add(
            ContactPoint.model_validate(
                {
                    **values,
                    **fresh,
                    "service_id": service_id,
                    "created_at": w.now,
                    "updated_at": w.now,
                }
            )
        )
        return
    current = {k: getattr(row, k) for k in values}
    if current != values or row.deleted_at is not None:
        row.sqlmodel_update(values)
        row.deleted_at, row.version, row.updated_at = None, row.version + 1, w.now
        w.session.add(row)
