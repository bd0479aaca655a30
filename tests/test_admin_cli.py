"""`familjeguiden admin create-key` bootstraps a working key, printed alone on the last line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from bot.app import build
from bot.cli import main
from bot.db import make_engine
from bot.settings import Settings


async def _status_with(key: str, url: str) -> int:
    engine = make_engine(url)
    app = build(Settings(database_url=url), engine=engine, run_migrations=False)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.get(
                "/admin/api/v1/users", headers={"Authorization": f"Bearer {key}"}
            )
            return resp.status_code
    finally:
        await engine.dispose()


def test_create_key_bootstraps_an_admin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fg.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["admin", "create-key", "--role", "admin", "--name", "Driften"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("fgk_") and " " not in key
    assert asyncio.run(_status_with(key, url)) == 200
    assert asyncio.run(_status_with(key + "x", url)) == 401


def test_editor_key_needs_a_real_municipality(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fg.db'}")
    assert main(["admin", "create-key", "--role", "editor"]) == 2
    assert main(["admin", "create-key", "--role", "editor", "--municipality", "Gotham"]) == 2
    assert "municipality" in capsys.readouterr().err
