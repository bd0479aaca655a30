"""Seeding the bundled directory and reading it back (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import build
from bot.clock import FakeClock
from bot.context import AppContext
from bot.db import SessionFactory, make_session_factory
from bot.settings import Settings
from directory.models import (
    Category,
    ContactPoint,
    Organization,
    Service,
    ServiceStatus,
    Synonym,
)
from directory.seed import DATA_DIR, bundled_id, seed_bundled_directory, seed_on_startup
from directory.store import directory_revision, get_service_card, load_cards, load_synonyms
from tests import factories

SYNONYMS = [
    {"term": "soc", "expansions": ["socialtjänsten"], "language": "sv"},
    {"term": "school", "expansions": ["skola", "elevhälsan"], "language": "en"},
]


async def _count(session: AsyncSession, model: type) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


def _data_dir(tmp_path: Path, *, synonyms: bool) -> Path:
    """A copy of the bundled directory, with or without a synonyms file."""
    target = tmp_path / ("with" if synonyms else "without")
    target.mkdir()
    for name in ("categories.json", "services.json"):
        shutil.copy(DATA_DIR / name, target / name)
    if synonyms:
        (target / "synonyms.json").write_text(json.dumps(SYNONYMS), encoding="utf-8")
    return target


async def test_seed_loads_everything_with_deterministic_ids(
    session: AsyncSession, clock: FakeClock
) -> None:
    assert await seed_bundled_directory(session=session, clock=clock) == 24
    assert await _count(session, Service) == 24
    categories = json.loads((DATA_DIR / "categories.json").read_text(encoding="utf-8"))
    assert await _count(session, Category) == len(categories)
    steget = await session.get(Service, bundled_id("service", "Steget"))
    assert steget is not None and steget.created_at == clock()
    org = await session.get(Organization, steget.organization_id)
    assert org is not None and org.name == "Degerfors kommun"


async def test_seed_is_idempotent(session: AsyncSession, clock: FakeClock) -> None:
    await seed_bundled_directory(session=session, clock=clock)
    before = [await _count(session, m) for m in (Service, ContactPoint, Category, Organization)]
    assert await seed_bundled_directory(session=session, clock=clock) == 0
    after = [await _count(session, m) for m in (Service, ContactPoint, Category, Organization)]
    assert after == before


async def test_seed_leaves_an_existing_directory_alone(
    session: AsyncSession, clock: FakeClock
) -> None:
    session.add(factories.service(clock(), name="Egen tjänst", municipalities=["Osby"]))
    await session.commit()
    assert await seed_bundled_directory(session=session, clock=clock) == 0
    assert await _count(session, Service) == 1


async def test_synonyms_seeded_with_the_directory_or_later(
    session: AsyncSession, clock: FakeClock, tmp_path: Path
) -> None:
    plain = _data_dir(tmp_path, synonyms=False)
    assert await seed_bundled_directory(session=session, clock=clock, data_dir=plain) == 24
    assert await _count(session, Synonym) == 0
    data_dir = _data_dir(tmp_path, synonyms=True)
    assert await seed_bundled_directory(session=session, clock=clock, data_dir=data_dir) == 0
    assert await load_synonyms(session=session) == {
        "en": {"school": ["skola", "elevhälsan"]},
        "sv": {"soc": ["socialtjänsten"]},
    }
    await seed_bundled_directory(session=session, clock=clock, data_dir=data_dir)
    assert await _count(session, Synonym) == 2
    assert await _count(session, Service) == 24


async def test_load_cards_shape_and_contact_order(session: AsyncSession, clock: FakeClock) -> None:
    await seed_bundled_directory(session=session, clock=clock)
    cards = {card.name: card for card in await load_cards(session=session)}
    assert len(cards) == 24
    team = cards["Familjeteam 7-15"]
    assert team.municipalities == ("Norrköping",)
    assert (team.min_age, team.max_age, team.access) == (7, 15, "via_social_services")
    assert [(c.kind, c.value) for c in team.contacts[:2]] == [
        ("phone", "011-15 39 85"),
        ("phone", "011-15 00 00"),
    ]
    assert cards["SOS Alarm 112"].urgent_service and cards["SOS Alarm 112"].scope == "national"
    assert isinstance(team.keywords, tuple) and "familjebehandling" in team.keywords


async def test_cards_leave_out_deleted_and_closed_services(
    session: AsyncSession, clock: FakeClock
) -> None:
    await seed_bundled_directory(session=session, clock=clock)
    steget = await session.get(Service, bundled_id("service", "Steget"))
    pinocchio = await session.get(Service, bundled_id("service", "Pinocchio"))
    assert steget is not None and pinocchio is not None
    steget.deleted_at = clock()
    pinocchio.status = ServiceStatus.temporarily_closed
    await session.commit()
    names = {card.name for card in await load_cards(session=session)}
    assert len(names) == 22 and not names & {"Steget", "Pinocchio"}
    assert await get_service_card(session=session, service_id=steget.id) is None


async def test_get_service_card(session: AsyncSession, clock: FakeClock) -> None:
    await seed_bundled_directory(session=session, clock=clock)
    card = await get_service_card(session=session, service_id=bundled_id("service", "BRIS"))
    assert card is not None and card.name == "BRIS"
    assert [c.value for c in card.contacts if c.kind == "phone"] == ["116 111"]
    assert await get_service_card(session=session, service_id="no-such-id") is None


async def test_revision_changes_when_the_directory_changes(
    session: AsyncSession, clock: FakeClock
) -> None:
    await seed_bundled_directory(session=session, clock=clock)
    first = await directory_revision(session=session)
    assert await directory_revision(session=session) == first
    service = await session.get(Service, bundled_id("service", "Elevhälsan"))
    assert service is not None
    service.keywords = [*service.keywords, "skolångest"]
    service.updated_at = clock.advance(minutes=5)
    await session.commit()
    second = await directory_revision(session=session)
    assert second != first
    service.version += 1  # an edit that forgot the timestamp still counts
    await session.commit()
    third = await directory_revision(session=session)
    assert third != second
    session.add(Synonym(term="kurre", expansions=["kurator"], updated_at=clock()))
    await session.commit()
    assert await directory_revision(session=session) != third


async def test_startup_hook_is_registered_and_seeds(
    engine: AsyncEngine, sessions: SessionFactory, clock: FakeClock
) -> None:
    settings = Settings(database_url="sqlite://")
    app = build(settings, clock=clock, engine=engine, run_migrations=False)
    assert app.state.startup_hooks[0] is seed_on_startup
    ctx = AppContext(settings=settings, engine=engine, sessions=sessions, clock=clock)
    await seed_on_startup(ctx)
    await seed_on_startup(ctx)
    async with sessions() as session:
        assert await _count(session, Service) == 24


async def test_two_workers_seeding_at_once_insert_one_copy(pg_engine: AsyncEngine) -> None:
    sessions = make_session_factory(pg_engine)

    async def seed() -> int:
        async with sessions() as session:
            return await seed_bundled_directory(session=session)

    results = await asyncio.gather(seed(), seed())
    assert sorted(results) == [0, 24]
    async with sessions() as session:
        assert await _count(session, Service) == 24
