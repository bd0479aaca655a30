"""The `familjeguiden` command: serve, match, admin and db sub-commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn
from fastapi import FastAPI

from admin import cli as admin_cli
from bot.app import build
from bot.db import make_engine, migrate
from bot.settings import Settings
from directory.cli import add_match_parser
from handlers import inbox_cli


def server_config(app: FastAPI, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """How `serve` runs uvicorn. Its own proxy headers would trust X-Forwarded-For from
    127.0.0.1; the app decides instead, from TRUSTED_PROXIES (handlers/http_security.py)."""
    return uvicorn.Config(
        app, host=host, port=port, log_level=settings.log_level.lower(), proxy_headers=False
    )


def _serve(args: argparse.Namespace) -> int:
    settings = Settings()
    host = args.host or settings.host
    port = args.port or settings.port
    server = uvicorn.Server(server_config(build(settings), settings, host=host, port=port))
    server.run()
    return 0 if server.started else 3  # as uvicorn.run: 3 when start-up failed


def _db_upgrade(_args: argparse.Namespace) -> int:
    async def run() -> None:
        engine = make_engine(Settings().database_url)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(run())
    print("database is at the newest revision")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="familjeguiden", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web chat, APIs and (if configured) bots")
    serve.add_argument("--host", default=None, help="default 127.0.0.1 (HOST)")
    serve.add_argument("--port", type=int, default=None, help="default 8000 (PORT)")
    serve.set_defaults(func=_serve)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    # Feature sub-commands register themselves below (match, admin ...).
    inbox_cli.register(sub)  # inbox create-login
    admin_cli.register(sub)  # admin create-key
    add_match_parser(sub)  # match "fråga" / match --jsonl (the evaluation contract)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # Alembic lists every plugin it loads at INFO; only its migration lines are worth reading.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
