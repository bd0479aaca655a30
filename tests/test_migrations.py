"""The Alembic migrations produce exactly the models' schema, and run down and up again.

Tests create tables straight from the models (fast); the app migrates. This test is what
keeps the two the same.
"""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from bot.app import import_models
from bot.db import alembic_config
from tests.conftest import postgres_url


def _sync_url(kind: str, tmp_path) -> tuple[str, dict]:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}", {}
    schema = "t_migrations"
    url = postgres_url().replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return url, {"options": f"-csearch_path={schema}"}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_match_models_and_go_down_and_up(kind: str, tmp_path) -> None:
    import_models()
    url, connect_args = _sync_url(kind, tmp_path)
    engine = create_engine(url, connect_args=connect_args)
    with engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        command.upgrade(config, "head")
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ; generate a revision: {diff}"
