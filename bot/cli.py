"""The `familjeguiden` command: serve, match, admin and db sub-commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI

from admin import cli as admin_cli
from bot.app import build
from bot.db import make_engine
from bot.jobs.locks import migrate_once
from bot.jobs.roles import run_worker, serve_workers
from bot.ops.log_format import logging_config
from bot.settings import Settings
from directory.cli import add_match_parser
from handlers import inbox_cli

APP_FACTORY = "bot.app:create_app"  # what each process of `serve --workers N` builds
WORKER_START_SECONDS = 60


def server_config(
    app: FastAPI | str, settings: Settings, *, host: str, port: int, **options: Any
) -> uvicorn.Config:
    """How `serve` runs uvicorn. Its own proxy headers would trust X-Forwarded-For from
    127.0.0.1; the app decides instead, from TRUSTED_PROXIES (handlers/http_security.py).
    `options`: factory and workers, for several processes."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        proxy_headers=False,
        # uvicorn's access log writes raw paths (GET /api/chat/<id>: a conversation's only
        # credential); the app logs each request by route template (handlers/request_log.py).
        access_log=False,
        # LOG_FORMAT and LOG_LEVEL: a worker process (the app named by its import path)
        # starts fresh and configures logging from this; a process that built the app has
        # done so already (_logging_set), and an embedding one (a test) keeps its own.
        log_config=_log_config(settings) if isinstance(app, str) else None,
        **options,
    )


def _log_config(settings: Settings) -> dict[str, Any]:
    return logging_config(log_format=settings.log_format, level=settings.log_level)


def _logging_set(settings: Settings) -> Settings:
    """This process logs as LOG_FORMAT and LOG_LEVEL say, from before build() (which logs)."""
    logging.config.dictConfig(_log_config(settings))
    return settings


def _serve(args: argparse.Namespace) -> int:
    settings = _logging_set(Settings())
    host = args.host or settings.host
    port = args.port or settings.port
    if args.workers > 1:
        config = server_config(
            APP_FACTORY,
            settings,
            host=host,
            port=port,
            factory=True,
            workers=args.workers,
            # A new worker imports the whole app before it answers uvicorn's health check
            # (seconds on a busy machine); the default 5 s restarts it while it starts.
            timeout_worker_healthcheck=WORKER_START_SECONDS,
        )
        return serve_workers(config, database_url=settings.database_url)
    server = uvicorn.Server(server_config(build(settings), settings, host=host, port=port))
    server.run()
    return 0 if server.started else 3  # as uvicorn.run: 3 when start-up failed


def _db_upgrade(_args: argparse.Namespace) -> int:
    async def run() -> None:
        engine = make_engine(Settings().database_url)
        await migrate_once(engine)
        await engine.dispose()

    asyncio.run(run())
    print("database is at the newest revision")
    return 0


def _worker(_args: argparse.Namespace) -> int:
    return run_worker(build(_logging_set(Settings()), run_background=True))


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"at least 1: {value}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="familjeguiden", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web chat, APIs and (if configured) bots")
    serve.add_argument("--host", default=None, help="default 127.0.0.1 (HOST)")
    serve.add_argument("--port", type=int, default=None, help="default 8000 (PORT)")
    serve.add_argument("--workers", type=_positive, default=1, help="HTTP processes (default 1)")
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="background work without HTTP: SMS, jobs, polling")
    worker.set_defaults(func=_worker)

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
