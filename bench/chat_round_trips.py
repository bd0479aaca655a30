"""Database round trips of one POST /api/chat, per kind of turn, on SQLite and PostgreSQL.

Builds the app in this process (as `familjeguiden serve` does, ENCODER=e5, the bundled
directory) on a temporary SQLite file and on a fresh PostgreSQL schema, sends a question and
its follow-ups through the ASGI interface, and counts what reaches the database for each:
statements, commits, and PostgreSQL's BEGIN (psycopg sends it; SQLite's driver begins with
the first write, in the same call). The rate limit's counting is included. `--show` prints
the statements.

  .venv/bin/python bench/chat_round_trips.py [--show] [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the product's packages beside it

from bot.app import build, import_models  # noqa: E402
from bot.db import make_engine  # noqa: E402
from bot.settings import Settings  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
QUESTION = "Min son på 14 vill inte gå till skolan och sitter hemma hela dagarna"
TURNS = [
    ("question, new conversation", QUESTION, None, True),
    ("fler", "fler", None, False),
    ("button: details of 1", "1", "detail:1", False),
    ("vad kostar det?", "vad kostar det?", None, False),
    ("button: more", "Fler", "more", False),
    ("hjälp", "hjälp", None, False),
    ("tack", "tack", None, False),
    ("question, same conversation", "Hon är också ledsen och äter dåligt", None, False),
]


@asynccontextmanager
async def database(kind: str, postgres: str) -> AsyncIterator[tuple[str, AsyncEngine]]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/trips.db"
            engine = make_engine(url)
            yield url, engine
            await engine.dispose()
        return
    schema = f"trips_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield postgres, engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def count(kind: str, postgres: str, show: bool) -> list[int]:
    counts: list[int] = []
    async with database(kind, postgres) as (url, engine):
        trips: list[str] = []

        def statement(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
            trips.append(" ".join(sql.split())[:100])

        def begin(_conn: object) -> None:
            if engine.dialect.name == "postgresql":
                trips.append("BEGIN")

        settings = Settings(
            database_url=url,
            encoder="e5",
            telegram_bot_token=None,
            twilio_account_sid=None,
            chat_rate_per_client="1000000/minute",
            chat_rate_per_conversation="1000000/minute",
        )
        app = build(settings, engine=engine)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await client.post("/api/chat", json={"text": QUESTION})  # the index, built
                sync = engine.sync_engine
                event.listen(sync, "before_cursor_execute", statement)
                event.listen(sync, "commit", lambda _conn: trips.append("COMMIT"))
                event.listen(sync, "begin", begin)
                cid = None
                for label, words, action, new in TURNS:
                    trips.clear()
                    body = {"conversation_id": None if new else cid, "text": words}
                    response = await client.post("/api/chat", json={**body, "action": action})
                    response.raise_for_status()
                    cid = response.json()["conversation_id"]
                    counts.append(len(trips))
                    if show:
                        print(f"{kind} · {label}: {len(trips)}")
                        print("".join(f"    {t}\n" for t in trips), end="")
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--show", action="store_true", help="print every statement")
    args = parser.parse_args()
    import_models()
    kinds = args.databases.split(",")
    table = {kind: asyncio.run(count(kind, args.postgres, args.show)) for kind in kinds}
    print(f"{'round trips per turn':<30}" + "".join(f"{k:>10}" for k in kinds))
    for row, (label, *_) in enumerate(TURNS):
        print(f"{label:<30}" + "".join(f"{table[k][row]:>10}" for k in kinds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
