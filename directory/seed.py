"""Load the bundled directory (`directory/data/*.json`) into an empty database, idempotently.

Every entry goes through the SQLModel Create models first, so a bad data file fails loudly
with the entry's name instead of landing half-valid in a parent's answer. Bundled rows get
deterministic ids (uuid5 of a fixed namespace and the name): every installation agrees on
them, and two workers seeding at once collide on the primary key instead of duplicating.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock, system_clock
from directory.encoder import Encoder, load_encoder
from directory.models import (
    Category,
    CategoryCreate,
    ContactPoint,
    ContactPointCreate,
    Organization,
    OrganizationCreate,
    Scope,
    Service,
    ServiceCreate,
    Synonym,
    SynonymBase,
)
from directory.synonyms import synonym_entries
from directory.vectors import store_vectors_for

if TYPE_CHECKING:
    from bot.context import AppContext

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
BUNDLED_NAMESPACE = uuid.UUID("6f1c1d2e-3b0a-5c7e-9a41-2d8f0b6e4c13")
_SERVICE_EXTRA_KEYS = frozenset({"organization", "contacts"})
M = TypeVar("M", bound=BaseModel)


class BundledDataError(ValueError):
    """A bundled data file is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class BundledService:
    service: ServiceCreate
    organization: str | None
    contacts: tuple[ContactPointCreate, ...]


@dataclass(frozen=True)
class BundledDirectory:
    categories: tuple[CategoryCreate, ...]
    organizations: tuple[OrganizationCreate, ...]
    services: tuple[BundledService, ...]
    synonyms: tuple[SynonymBase, ...]


def bundled_id(kind: str, key: str) -> str:
    """The deterministic id of a bundled row: kind is "service", "organization" or "category"."""
    return str(uuid.uuid5(BUNDLED_NAMESPACE, f"{kind}:{key}"))


# --- Reading and validating the files ---------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundledDataError(f"{path.name}: cannot read JSON: {exc}") from exc


def _validate(model: type[M], raw: Any, where: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise BundledDataError(f"{where}: {exc}") from exc


def _parse_service(raw: dict[str, Any], where: str) -> BundledService:
    unknown = set(raw) - set(ServiceCreate.model_fields) - _SERVICE_EXTRA_KEYS
    if unknown:
        raise BundledDataError(f"{where}: unknown fields {sorted(unknown)}")
    fields = {k: v for k, v in raw.items() if k not in _SERVICE_EXTRA_KEYS}
    service = _validate(ServiceCreate, fields, where)
    contacts = tuple(
        _validate(ContactPointCreate, c, f"{where} contact {i}")
        for i, c in enumerate(raw.get("contacts", []))
    )
    _check_service_rules(service, where)
    return BundledService(service, raw.get("organization"), contacts)


def _check_service_rules(service: ServiceCreate, where: str) -> None:
    """Rules the models cannot express: the scope decides who is served."""
    if service.min_age > service.max_age:
        raise BundledDataError(f"{where}: min_age {service.min_age} > max_age {service.max_age}")
    if service.scope == Scope.national and service.municipalities:
        raise BundledDataError(f"{where}: a national service lists no municipalities")
    if service.scope != Scope.national and not service.municipalities:
        raise BundledDataError(f"{where}: scope {service.scope} needs its municipalities")
    if service.scope == Scope.region and not service.region:
        raise BundledDataError(f"{where}: a region-scoped service needs region")


def _check_references(directory: BundledDirectory) -> None:
    codes = {c.code for c in directory.categories}
    orgs = {o.name for o in directory.organizations}
    names: set[str] = set()
    for entry in directory.services:
        where = f"services.json '{entry.service.name}'"
        if entry.service.name in names:
            raise BundledDataError(f"{where}: duplicate name")
        names.add(entry.service.name)
        if missing := set(entry.service.categories) - codes:
            raise BundledDataError(f"{where}: unknown categories {sorted(missing)}")
        if entry.organization is not None and entry.organization not in orgs:
            raise BundledDataError(f"{where}: unknown organization '{entry.organization}'")


def _parse_synonyms(path: Path) -> tuple[SynonymBase, ...]:
    if not path.exists():  # written by the matcher's owner; optional for the seed
        return ()
    try:
        entries = synonym_entries(_read_json(path))
    except ValueError as exc:
        raise BundledDataError(f"{path.name}: {exc}") from exc
    synonyms = tuple(_validate(SynonymBase, raw, f"{path.name} {where}") for where, raw in entries)
    seen: set[tuple[str, str]] = set()
    for syn in synonyms:
        if (syn.term, syn.language) in seen:
            raise BundledDataError(f"{path.name}: duplicate term {syn.term!r} ({syn.language})")
        seen.add((syn.term, syn.language))
    return synonyms


def load_bundled_directory(data_dir: Path = DATA_DIR) -> BundledDirectory:
    """Read and validate the bundled files; raises BundledDataError naming the bad entry."""
    categories = tuple(
        _validate(CategoryCreate, raw, f"categories.json entry {i} ({raw.get('code')!r})")
        for i, raw in enumerate(_read_json(data_dir / "categories.json"))
    )
    data = _read_json(data_dir / "services.json")
    organizations = tuple(
        _validate(OrganizationCreate, raw, f"services.json organization {raw.get('name')!r}")
        for raw in data.get("organizations", [])
    )
    services = tuple(
        _parse_service(raw, f"services.json '{raw.get('name', f'entry {i}')}'")
        for i, raw in enumerate(data["services"])
    )
    directory = BundledDirectory(
        categories, organizations, services, _parse_synonyms(data_dir / "synonyms.json")
    )
    _check_references(directory)
    return directory


# --- Writing to the database ------------------------------------------------------------


async def _count(session: AsyncSession, model: type[Any]) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def _add_categories(
    session: AsyncSession, directory: BundledDirectory, now: datetime
) -> None:
    existing = set((await session.exec(select(Category.code))).all())
    for cat in directory.categories:
        if cat.code not in existing:
            row_id = bundled_id("category", cat.code)
            session.add(Category(**cat.model_dump(), id=row_id, created_at=now, updated_at=now))


async def _add_organizations(
    session: AsyncSession, directory: BundledDirectory, now: datetime
) -> dict[str, str]:
    """Insert missing organizations; returns name -> id (an editor's row with the name wins)."""
    rows = await session.exec(select(Organization).where(Organization.deleted_at.is_(None)))
    ids = {org.name: org.id for org in rows.all()}
    for org in directory.organizations:
        if org.name not in ids:
            ids[org.name] = bundled_id("organization", org.name)
            session.add(
                Organization(**org.model_dump(), id=ids[org.name], created_at=now, updated_at=now)
            )
    return ids


async def _add_services(
    session: AsyncSession, directory: BundledDirectory, org_ids: dict[str, str], now: datetime
) -> list[str]:
    # The models declare no relationships, so flush parents before children (foreign keys).
    await session.flush()
    contacts: list[ContactPoint] = []
    for entry in directory.services:
        service_id = bundled_id("service", entry.service.name)
        data = entry.service.model_dump()
        if entry.organization is not None:
            data["organization_id"] = org_ids[entry.organization]
        session.add(Service(**data, id=service_id, created_at=now, updated_at=now))
        contacts.extend(
            ContactPoint(
                **contact.model_dump(),
                service_id=service_id,
                position=position,
                created_at=now,
                updated_at=now,
            )
            for position, contact in enumerate(entry.contacts)
        )
    await session.flush()
    session.add_all(contacts)
    return [bundled_id("service", entry.service.name) for entry in directory.services]


async def _insert(
    session: AsyncSession,
    directory: BundledDirectory,
    now: datetime,
    *,
    services: bool,
    synonyms: bool,
    encoder: Encoder | None,
) -> None:
    if services:
        await _add_categories(session, directory, now)
        org_ids = await _add_organizations(session, directory, now)
        ids = await _add_services(session, directory, org_ids, now)
        await store_vectors_for(session=session, encoder=encoder, ids=ids, now=now)
    if synonyms:
        session.add_all(Synonym(**s.model_dump(), updated_at=now) for s in directory.synonyms)
    await session.commit()


async def _seeded_by_another(session: AsyncSession, *, services: bool, synonyms: bool) -> bool:
    """After a key conflict: did a concurrent worker insert what we were about to insert?"""
    if services and await _count(session, Service) == 0:
        return False
    return not (synonyms and await _count(session, Synonym) == 0)


async def seed_bundled_directory(
    *,
    session: AsyncSession,
    clock: Clock | None = None,
    data_dir: Path = DATA_DIR,
    encoder: Encoder | None = None,
) -> int:
    """Load the bundled directory when the database has no services; returns services added.

    Synonyms are seeded on their own when the synonym table is empty, so a synonyms file
    added after the first start still arrives. A second call inserts nothing. With an
    encoder, the new services' vectors are computed here, once (see `directory.vectors`).
    """
    directory = load_bundled_directory(data_dir)
    now = (clock or system_clock)()
    seed_services = await _count(session, Service) == 0
    seed_synonyms = bool(directory.synonyms) and await _count(session, Synonym) == 0
    if not (seed_services or seed_synonyms):
        return 0
    try:
        await _insert(
            session,
            directory,
            now,
            services=seed_services,
            synonyms=seed_synonyms,
            encoder=encoder,
        )
    except IntegrityError:
        await session.rollback()
        if not await _seeded_by_another(session, services=seed_services, synonyms=seed_synonyms):
            raise
        log.info("bundled directory was seeded concurrently by another process")
        return 0
    added = len(directory.services) if seed_services else 0
    synonyms = len(directory.synonyms) if seed_synonyms else 0
    log.info("seeded bundled directory: %d services, %d synonyms", added, synonyms)
    return added


async def seed_on_startup(ctx: AppContext) -> None:
    """Start-up hook: a new installation starts with the bundled directory."""
    async with ctx.sessions() as session:
        await seed_bundled_directory(
            session=session, clock=ctx.clock, encoder=load_encoder(ctx.settings.encoder)
        )
