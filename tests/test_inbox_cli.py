"""`familjeguiden inbox create-login` creates a working coordinator login."""

from __future__ import annotations

import asyncio

import pytest

from bot.cli import main
from bot.db import create_all, make_engine, make_session_factory
from handlers.inbox_auth import authenticate


def test_create_login_reads_the_password_from_the_environment(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'fg.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("FG_INBOX_PASSWORD", "ett-långt-lösenord")

    async def prepare() -> None:
        engine = make_engine(url)
        await create_all(engine)
        await engine.dispose()

    async def check(password: str) -> list[str] | None:
        engine = make_engine(url)
        async with make_session_factory(engine)() as session:
            user = await authenticate(session=session, username="Anna", password=password)
        await engine.dispose()
        return [*user.municipalities, user.telegram_user_id] if user else None

    asyncio.run(prepare())
    args = ["inbox", "create-login", "--username", "Anna", "--municipality", "Degerfors"]
    assert main([*args, "--telegram-user-id", "777001"]) == 0
    assert asyncio.run(check("ett-långt-lösenord")) == ["Degerfors", 777001]
    assert asyncio.run(check("fel")) is None


def test_a_coordinator_needs_a_municipality_and_a_long_password(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fg.db'}")
    monkeypatch.setenv("FG_INBOX_PASSWORD", "kort")
    assert main(["inbox", "create-login", "--username", "anna"]) == 2
    args = ["inbox", "create-login", "--username", "anna", "--municipality", "Degerfors"]
    assert main(args) == 2  # "kort" is too short
    with pytest.raises(SystemExit):
        main(["inbox", "create-login"])
