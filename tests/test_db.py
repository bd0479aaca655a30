from sqlmodel import select

from directory.models import Service


async def test_a_service_round_trips(session) -> None:
    session.add(Service(name="Steget", municipalities=["Degerfors"], keywords=["missbruk"]))
    await session.commit()
    found = (await session.exec(select(Service))).one()
    assert found.municipalities == ["Degerfors"] and found.keywords == ["missbruk"]
