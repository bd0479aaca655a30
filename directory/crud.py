"""Write-side and admin-list data functions for the directory (used by the admin API).

Lists filter on the JSON list columns (municipalities, categories) and on folded text in
Python after a SQL pre-filter: JSON functions and Unicode case folding differ between
SQLite and PostgreSQL, and a directory is small enough (thousands of rows) for this.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from directory.models import Category, ContactPoint, Organization, Service, Synonym

Row = TypeVar("Row", bound=SQLModel)


async def get_row(*, session: AsyncSession, model: type[Row], row_id: str) -> Row | None:
    return await session.get(model, row_id, populate_existing=True)


async def claim_version(
    *, session: AsyncSession, model: type[SQLModel], row_id: str, expected: int
) -> bool:
    """Bump the version only if it is still `expected` (one guarded UPDATE, so two
    concurrent editors cannot both win); the caller then re-reads and changes the row."""
    table: Any = model
    result = await session.exec(
        update(table)
        .where(table.id == row_id, table.version == expected)
        .values(version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _page(rows: Sequence[Row], *, limit: int, offset: int) -> tuple[list[Row], int]:
    return list(rows[offset : offset + limit]), len(rows)


def _deleted_filter(stmt: Any, model: Any, deleted: bool) -> Any:
    return stmt.where(
        col(model.deleted_at).is_not(None) if deleted else col(model.deleted_at).is_(None)
    )


def _matches_text(q: str, *fields: Any) -> bool:
    needle = q.casefold()
    for value in fields:
        items = value if isinstance(value, list) else [value]
        if any(needle in str(item or "").casefold() for item in items):
            return True
    return False


async def list_organizations(
    *,
    session: AsyncSession,
    q: str | None = None,
    deleted: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Organization], int]:
    stmt = _deleted_filter(select(Organization), Organization, deleted).order_by(
        col(Organization.name), col(Organization.id)
    )
    rows = list((await session.exec(stmt)).all())
    if q:
        rows = [o for o in rows if _matches_text(q, o.name, o.description)]
    return _page(rows, limit=limit, offset=offset)


async def list_categories(
    *, session: AsyncSession, deleted: bool = False, limit: int = 50, offset: int = 0
) -> tuple[list[Category], int]:
    stmt = _deleted_filter(select(Category), Category, deleted).order_by(col(Category.code))
    return _page(list((await session.exec(stmt)).all()), limit=limit, offset=offset)


async def category_codes(*, session: AsyncSession) -> set[str]:
    """The codes of the live categories: the list services may refer to."""
    stmt = _deleted_filter(select(Category.code), Category, deleted=False)
    return set((await session.exec(stmt)).all())


async def get_category_by_code(*, session: AsyncSession, code: str) -> Category | None:
    return (await session.exec(select(Category).where(Category.code == code))).first()


async def list_services(
    *,
    session: AsyncSession,
    municipality: str | None = None,
    category: str | None = None,
    age: int | None = None,
    q: str | None = None,
    stale_before: date | None = None,
    deleted: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Service], int]:
    """Services matching every given filter, by name, with the total before paging.

    `stale_before`: only services never verified or last verified before that date."""
    stmt = _deleted_filter(select(Service), Service, deleted)
    if age is not None:
        stmt = stmt.where(col(Service.min_age) <= age, col(Service.max_age) >= age)
    if stale_before is not None:
        stmt = stmt.where(
            col(Service.assured_date).is_(None) | (col(Service.assured_date) < stale_before)
        )
    stmt = stmt.order_by(col(Service.name), col(Service.id))
    rows = list((await session.exec(stmt)).all())
    if municipality:
        wanted = municipality.casefold()
        rows = [s for s in rows if wanted in (m.casefold() for m in s.municipalities)]
    if category:
        rows = [s for s in rows if category in s.categories]
    if q:
        rows = [
            s
            for s in rows
            if _matches_text(q, s.name, s.alternate_name, s.summary, s.description, s.keywords)
        ]
    return _page(rows, limit=limit, offset=offset)


def same_name(a: str, b: str) -> bool:
    """Service names as parents read them: case and spacing do not make another service."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def serve_the_same_place(a: Sequence[str], b: Sequence[str]) -> bool:
    """A national service (no municipalities) is shown everywhere, so it overlaps any."""
    return not a or not b or bool(set(a) & set(b))


async def find_duplicate(
    *,
    session: AsyncSession,
    name: str,
    municipalities: Sequence[str],
    exclude_id: str | None = None,
) -> Service | None:
    """A live service parents would see beside this one as its double: the same name and a
    municipality in common."""
    for service in await all_services(session=session):
        if (
            service.id != exclude_id
            and same_name(service.name, name)
            and serve_the_same_place(service.municipalities, municipalities)
        ):
            return service
    return None


async def all_services(*, session: AsyncSession, deleted: bool = False) -> list[Service]:
    stmt = _deleted_filter(select(Service), Service, deleted).order_by(
        col(Service.name), col(Service.id)
    )
    return list((await session.exec(stmt)).all())


async def all_organizations(*, session: AsyncSession) -> list[Organization]:
    return list((await session.exec(select(Organization))).all())


async def all_categories(*, session: AsyncSession) -> list[Category]:
    return list((await session.exec(select(Category))).all())


async def contacts_by_service(
    *, session: AsyncSession, service_ids: Sequence[str], deleted: bool = False
) -> dict[str, list[ContactPoint]]:
    """Contact points per service, in display order (one query for a whole page)."""
    result: dict[str, list[ContactPoint]] = {sid: [] for sid in service_ids}
    if not service_ids:
        return result
    stmt = _deleted_filter(
        select(ContactPoint).where(col(ContactPoint.service_id).in_(list(service_ids))),
        ContactPoint,
        deleted,
    ).order_by(col(ContactPoint.position), col(ContactPoint.created_at), col(ContactPoint.id))
    for contact in (await session.exec(stmt)).all():
        result[contact.service_id].append(contact)
    return result


async def next_contact_position(*, session: AsyncSession, service_id: str) -> int:
    contacts = await contacts_by_service(session=session, service_ids=[service_id])
    return max((c.position for c in contacts[service_id]), default=-1) + 1


async def list_synonyms(
    *, session: AsyncSession, q: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Synonym], int]:
    stmt = select(Synonym).order_by(col(Synonym.term), col(Synonym.language))
    rows = list((await session.exec(stmt)).all())
    if q:
        rows = [s for s in rows if _matches_text(q, s.term, s.expansions)]
    return _page(rows, limit=limit, offset=offset)


async def find_synonym(*, session: AsyncSession, term: str, language: str) -> Synonym | None:
    stmt = select(Synonym).where(Synonym.term == term, Synonym.language == language)
    return (await session.exec(stmt)).first()
