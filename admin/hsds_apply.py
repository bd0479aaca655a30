"""Applying an HSDS import plan: one transaction (the caller commits), an audit entry per
change, the document's ids and last_modified kept so a round trip gives the same export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from admin.hsds import ServiceRecord
from admin.hsds_sync import COMPARED, Plan, org_changes
from bot.staff import audit
from directory import crud
from directory.models import Category, ContactPoint, Organization, Service, ServiceCreate


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
) -> list[str]:
    """Write the plan in the caller's transaction (the caller commits once); returns the ids
    of the services created or changed."""
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
    return [sid for sid in plan.records if sid in created or sid in changed]


async def _apply_shared(w: Writer, records: list[ServiceRecord]) -> None:
    for org in {r.organization["id"]: r.organization for r in records if r.organization}.values():
        row = await crud.get_row(session=w.session, model=Organization, row_id=org["id"])
        if row is None:
            row = Organization.model_validate({**org, "created_at": w.now, "updated_at": w.now})
            w.session.add(row)
            await w.log("import", "organization", row.id, None, row)
        elif changes := org_changes(row, org):
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
    """The document's last_modified in UTC; the import's time when it has none we can use
    (unreadable, or so far out that UTC cannot hold it: 0001-01-01T00:00+14:00)."""
    if not isinstance(value, str) or not value:
        return fallback
    try:
        stamp = datetime.fromisoformat(value)
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
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
