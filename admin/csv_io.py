"""Plain CSV import for editors who keep the directory in a spreadsheet: one row per service.

Columns (header row required; comma or semicolon separated; UTF-8, or Excel's Windows-1252):
  id                 existing service to change; empty = match by name + municipalities, or new
  name               required
  organization       organization name (created when no organization has that name)
  municipalities, languages, categories, keywords, phones
                     lists: separate items with "|" or ","
  description, summary, summary_en (the summary in English), status, scope, region, min_age,
  max_age, access, access_note, cost, url, email, source, verified (ja/nej),
  urgent_service (ja/nej)
A column that is present sets the field (an empty cell clears it); a missing column leaves
the field as it is. `phones` replaces the service's phone numbers (kept when unchanged).
CSV import never deletes; use DELETE on the service for that.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import HTTPException, status
from sqlmodel.ext.asyncio.session import AsyncSession

from admin.auth import Principal
from admin.hsds_sync import ImportItem, ImportReport
from admin.validation import (
    Problems,
    check_categories,
    check_service,
    contact_value_key,
    normalise_phone,
    validate_as,
    whole_number,
)
from bot.staff import audit
from directory import crud
from directory.models import (
    ContactKind,
    ContactPoint,
    Organization,
    OrganizationCreate,
    Service,
    ServiceCreate,
)

LIST_COLUMNS = ("municipalities", "languages", "categories", "keywords", "phones")
INT_COLUMNS = ("min_age", "max_age")
BOOL_COLUMNS = ("verified", "urgent_service")
TEXT_COLUMNS = (
    "name", "description", "summary", "summary_en", "status", "scope", "region", "access",
    "access_note", "cost", "url", "email", "source", "alternate_name",
)  # fmt: skip
KNOWN = {"id", "organization", *LIST_COLUMNS, *INT_COLUMNS, *BOOL_COLUMNS, *TEXT_COLUMNS}
MAX_ROWS = 5000
YES = {"ja", "j", "yes", "y", "true", "1", "x"}
NO = {"nej", "n", "no", "false", "0", ""}


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")  # "CSV" saved by Excel on Windows


def read_rows(text: str) -> list[dict[str, str]]:
    """Rows keyed by lower-case column name; 422 for an unusable header or an unreadable row
    (a cell over the csv module's 131,072 characters, say). Lines may end in CR LF, LF or a
    lone CR (old Mac spreadsheets)."""
    problems = Problems(("body",))
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _rows(reader, first, problems)
    except csv.Error as exc:
        line = reader.reader.line_num  # DictReader's own count lags one line behind
        problems.loc_add(("row", line), f"not readable as CSV: {exc}", "")
        problems.raise_if_any()
        raise


def _rows(reader: csv.DictReader[str], first: str, problems: Problems) -> list[dict[str, str]]:
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "name" not in header and "id" not in header:
        problems.add("header", "needs a header row with at least 'name' (or 'id')", first[:200])
    unknown = [h for h in header if h not in KNOWN]
    if unknown:
        problems.add("header", f"unknown columns: {', '.join(unknown)}", first[:200])
    problems.raise_if_any()
    reader.fieldnames = header
    rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    if len(rows) > MAX_ROWS:
        problems.add("rows", f"at most {MAX_ROWS} rows per import", len(rows))
        problems.raise_if_any()
    return rows


def _items(cell: str) -> list[str]:
    return [part.strip() for part in re.split(r"[|,]", cell) if part.strip()]


def row_changes(row: dict[str, str], problems: Problems) -> dict[str, Any]:
    """The service fields a row sets (typed), from the columns it has."""
    changes: dict[str, Any] = {}
    for key, cell in row.items():
        if key in LIST_COLUMNS:
            changes[key] = _items(cell)
        elif key in INT_COLUMNS:
            try:
                changes[key] = whole_number(cell, max_digits=3)
            except ValueError as exc:
                problems.add(key, f"{exc} (years)", cell[:50])
        elif key in BOOL_COLUMNS:
            if cell.lower() not in YES | NO:
                problems.add(key, "must be ja or nej", cell)
            changes[key] = cell.lower() in YES
        elif key in TEXT_COLUMNS:
            changes[key] = cell or (
                None if key in ("url", "email", "region", "alternate_name") else ""
            )
    return changes


@dataclass
class RowPlan:
    number: int
    service: Service | None
    values: dict[str, Any]
    phones: list[str] | None
    organization: str | None
    fields: list[str] = field(default_factory=list)
    reported: ImportItem | None = None


@dataclass
class CsvPlan:
    report: ImportReport
    rows: list[RowPlan]


async def plan_csv(
    *,
    session: AsyncSession,
    who: Principal,
    rows: list[dict[str, str]],
    dry_run: bool,
    allow_duplicate: bool = False,
) -> CsvPlan:
    """Check every row and work out what it would change; 422/403/409 naming the row."""
    live = await crud.all_services(session=session)
    by_id = {s.id: s for s in live}
    contacts = await crud.contacts_by_service(session=session, service_ids=list(by_id))
    orgs = {o.name.casefold(): o for o in await crud.all_organizations(session=session)}
    known = await crud.category_codes(session=session)
    problems = Problems(("body",))
    plan = CsvPlan(report=ImportReport(dry_run=dry_run), rows=[])
    for number, row in enumerate(rows, start=2):  # spreadsheet row numbers (1 = header)
        local = Problems(("body", "row", number))
        service = _find(row, live, by_id, local)
        changes = row_changes(row, local)
        phones = changes.pop("phones", None)
        base = service.model_dump(include=set(ServiceCreate.model_fields)) if service else {}
        merged = {**base, **changes}
        data = validate_as(ServiceCreate, merged, local)
        values = check_service(data.model_dump(), local) if not local.errors else merged
        if not local.errors:
            kept = service.categories if service else []
            check_categories(local, values["categories"], known=known, kept=kept)
        phones = _phones(phones, local)
        org_name = row.get("organization") or None
        if org_name:
            org_problems = Problems(local.prefix)
            validate_as(OrganizationCreate, {"name": org_name}, org_problems)
            for error in org_problems.errors:
                error["loc"] = [*local.prefix, "organization"]
            local.errors.extend(org_problems.errors)
        problems.errors.extend(local.errors)
        if local.errors:
            continue
        _authorise(who, number, service, values)
        if service is None and not allow_duplicate:
            others = [(s.name, s.municipalities, f"service {s.id}") for s in live]
            others += [
                (r.values["name"], r.values["municipalities"], f"row {r.number}")
                for r in plan.rows
                if r.service is None
            ]
            _refuse_duplicate(number, values, others)
        item = RowPlan(number, service, values, phones, org_name)
        item.fields = _changed(item, contacts.get(service.id, []) if service else [], orgs)
        plan.rows.append(item)
        _report(plan.report, item)
    problems.raise_if_any()
    return plan


def _find(
    row: dict[str, str], live: list[Service], by_id: dict[str, Service], problems: Problems
) -> Service | None:
    if row.get("id"):
        found = by_id.get(row["id"])
        if found is None:
            problems.add("id", "no live service with this id", row["id"])
        return found
    name = row.get("name", "").casefold()
    wanted = {m.casefold() for m in _items(row.get("municipalities", ""))}
    for service in live:
        if (
            service.name.casefold() == name
            and {m.casefold() for m in service.municipalities} == wanted
        ):
            return service
    return None


def _refuse_duplicate(
    number: int, values: dict[str, Any], others: list[tuple[str, list[str], str]]
) -> None:
    """409 for a new row parents would see as the double of a live service or an earlier
    row (`others`: name, municipalities, which): the same name, a municipality in common."""
    for name, places, which in others:
        if crud.same_name(name, values["name"]) and crud.serve_the_same_place(
            places, values["municipalities"]
        ):
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                detail=(
                    f"row {number}: {name!r} ({', '.join(places) or 'the whole country'}) "
                    f"duplicates {which}; give its id to change it, or send "
                    "?allow_duplicate=true to add another"
                ),
            )


def _phones(cells: list[str] | None, problems: Problems) -> list[str] | None:
    if cells is None:
        return None
    numbers: list[str] = []
    for index, cell in enumerate(cells):
        try:
            numbers.append(normalise_phone(cell))
        except ValueError as exc:
            problems.loc_add(("phones", index), f"phone: {exc}", cell)
    return numbers


def _authorise(
    who: Principal, number: int, service: Service | None, values: dict[str, Any]
) -> None:
    for municipalities in (
        [*service.municipalities] if service else None,
        values["municipalities"],
    ):
        if municipalities is not None and not who.covers(municipalities):
            place = ", ".join(municipalities) or "nationell"
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"row {number}: no access to {place}"
            )


def _changed(
    item: RowPlan, contacts: list[ContactPoint], orgs: dict[str, Organization]
) -> list[str]:
    if item.service is None:
        return []
    current = item.service.model_dump(include=set(ServiceCreate.model_fields))
    fields = [k for k, v in item.values.items() if k != "organization_id" and current.get(k) != v]
    current_phones = [_phone_key(c.value) for c in contacts if c.kind == ContactKind.phone]
    if item.phones is not None and item.phones != current_phones:
        fields.append("phones")
    if item.organization is not None:
        org = orgs.get(item.organization.casefold())
        if org is None or org.id != item.service.organization_id:
            fields.append("organization")
    return fields


def _report(report: ImportReport, item: RowPlan) -> None:
    if item.service is None:
        report.created.append(ImportItem(id="", name=item.values["name"]))
    elif item.fields:
        report.changed.append(
            ImportItem(id=item.service.id, name=item.values["name"], fields=item.fields)
        )
    else:
        report.unchanged += 1


# --- applying ---------------------------------------------------------------------------


async def apply_csv(
    *, session: AsyncSession, plan: CsvPlan, actor_id: str, now: datetime
) -> list[str]:
    """Write every planned row in the caller's transaction (the caller commits once); returns
    the ids of the services written."""
    written: list[str] = []
    orgs = {o.name.casefold(): o for o in await crud.all_organizations(session=session)}
    for item in plan.rows:
        if item.service is not None and not item.fields:
            continue
        if item.organization:
            item.values["organization_id"] = await _organization(
                session, orgs, item.organization, now
            )
        row = item.service or Service(created_at=now, version=0, **{"name": item.values["name"]})
        before = audit.snapshot(item.service) if item.service else None
        row.sqlmodel_update({**item.values, "version": row.version + 1, "updated_at": now})
        session.add(row)
        await session.flush()
        if item.phones is not None:
            await _sync_phones(session, row.id, item.phones, now)
        await audit.record(
            session=session,
            actor_id=actor_id,
            action="import",
            resource_type="service",
            resource_id=row.id,
            before=before,
            after=row,
            at=now,
        )
        if item.reported is not None and item.service is None:
            item.reported.id = row.id
        written.append(row.id)
    return written


async def _organization(
    session: AsyncSession, orgs: dict[str, Organization], name: str, now: datetime
) -> str:
    org = orgs.get(name.casefold())
    if org is None:
        org = Organization(name=name, created_at=now, updated_at=now)
        session.add(org)
        await session.flush()
        orgs[name.casefold()] = org
    return org.id


def _phone_key(value: str) -> str:
    return contact_value_key(ContactKind.phone, value)


async def _sync_phones(
    session: AsyncSession, service_id: str, numbers: list[str], now: datetime
) -> None:
    current = (await crud.contacts_by_service(session=session, service_ids=[service_id]))[
        service_id
    ]
    phones = [c for c in current if c.kind == ContactKind.phone]
    # "116 111" as stored is the row's 116111: kept as written, not replaced.
    keep = {_phone_key(c.value): c for c in phones if _phone_key(c.value) in numbers}
    for contact in phones:
        if _phone_key(contact.value) not in numbers:
            contact.deleted_at, contact.version, contact.updated_at = now, contact.version + 1, now
            session.add(contact)
    position = max((c.position for c in current), default=-1) + 1
    for number in numbers:
        if number not in keep:
            phone = ContactPoint(service_id=service_id, kind=ContactKind.phone, value=number)
            phone.position, phone.created_at, phone.updated_at = position, now, now
            session.add(phone)
            position += 1
