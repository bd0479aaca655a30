from sqlmodel import select

from directory.models import Service
from tests import factories


async def test_a_service_round_trips(session, clock) -> None:
    steget = factories.service(
        clock(), name="Steget", municipalities=["Degerfors"], keywords=["missbruk"]
    )
    session.add(steget)
    await session.commit()
    found = (await session.exec(select(Service))).one()
    assert found.municipalities == ["Degerfors"] and found.keywords == ["missbruk"]
