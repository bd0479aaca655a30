"""Read-side data functions for the directory: service cards, synonyms, the revision stamp."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from directory.matching import Contact, ServiceCard
from directory.models import ContactPoint, Service, ServiceStatus, Synonym


def _card(service: Service, contacts: Sequence[ContactPoint]) -> ServiceCard:
    return ServiceCard(
        id=service.id,
        name=service.name,
        summary=service.summary,
        description=service.description,
        scope=str(service.scope),
        municipalities=tuple(service.municipalities),
        region=service.region,
        min_age=service.min_age,
        max_age=service.max_age,
        access=str(service.access),
        access_note=service.access_note,
        cost=service.cost,
        categories=tuple(service.categories),
        keywords=tuple(service.keywords),
        contacts=tuple(Contact(str(c.kind), c.value, c.label, c.note) for c in contacts),
        url=service.url,
        verified=service.verified,
        urgent_service=service.urgent_service,
        assured_date=service.assured_date,
        alternate_name=service.alternate_name,
        summary_en=service.summary_en,
    )


def _is_listed() -> Any:
    """Services parents may be shown: active and not deleted."""
    return (Service.status == ServiceStatus.active) & col(Service.deleted_at).is_(None)


async def _contacts_by_service(
    session: AsyncSession, service_ids: Sequence[str]
) -> dict[str, list[ContactPoint]]:
    if not service_ids:
        return {}
    statement = (
        select(ContactPoint)
        .where(col(ContactPoint.service_id).in_(service_ids))
        .where(col(ContactPoint.deleted_at).is_(None))
        .order_by(col(ContactPoint.position), col(ContactPoint.created_at))
    )
    grouped: dict[str, list[ContactPoint]] = defaultdict(list)
    for contact in (await session.exec(statement)).all():
        grouped[contact.service_id].append(contact)
    return grouped


async def load_cards(*, session: AsyncSession) -> list[ServiceCard]:
    """Every active, not deleted service with its contacts in position order, by name."""
    statement = select(Service).where(_is_listed()).order_by(col(Service.name), col(Service.id))
    services = (await session.exec(statement)).all()
    contacts = await _contacts_by_service(session, [s.id for s in services])
    return [_card(s, contacts.get(s.id, [])) for s in services]


async def get_service_card(*, session: AsyncSession, service_id: str) -> ServiceCard | None:
    """One listed service's card, or None when it is unknown, deleted or not active."""
    statement = select(Service).where(Service.id == service_id).where(_is_listed())
    service = (await session.exec(statement)).first()
    if service is None:
        return None
    contacts = await _contacts_by_service(session, [service.id])
    return _card(service, contacts.get(service.id, []))


async def load_synonyms(*, session: AsyncSession) -> dict[str, dict[str, list[str]]]:
    """language -> term -> expansions, as editors left them."""
    synonyms: dict[str, dict[str, list[str]]] = defaultdict(dict)
    statement = select(Synonym).order_by(col(Synonym.language), col(Synonym.term))
    for syn in (await session.exec(statement)).all():
        synonyms[syn.language][syn.term] = list(syn.expansions)
    return dict(synonyms)


async def directory_revision(*, session: AsyncSession) -> str:
    """A cheap stamp that changes whenever matching data changes (the index rebuilds on it).

    Count catches inserts and hard deletes, max(updated_at) catches edits that touch the
    timestamp, and sum(version) catches edits that only bump the version.
    """
    parts: list[str] = []
    for model in (Service, ContactPoint, Synonym):
        statement = select(
            func.count(), func.max(model.updated_at), func.coalesce(func.sum(model.version), 0)
        ).select_from(model)
        count, updated, versions = (await session.exec(statement)).one()
        stamp = updated.isoformat() if updated is not None else "-"
        parts.append(f"{model.__tablename__}:{count}:{stamp}:{versions}")
    return "|".join(parts)
