"""`familjeguiden inbox create-login`: create (or reset) a coordinator's inbox login.

The password is read from FG_INBOX_PASSWORD or stdin (prompted without echo on a
terminal), never from the command line, where it would land in shell history.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from bot.clock import system_clock
from bot.db import make_engine, make_session_factory
from bot.settings import Settings
from bot.staff.models import Role
from handlers.inbox_auth import create_login

PASSWORD_ENV = "FG_INBOX_PASSWORD"


def _read_password() -> str:
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return getpass.getpass("Lösenord: ")
    return sys.stdin.readline().rstrip("\n")


def _create_login(args: argparse.Namespace) -> int:
    if args.role == "coordinator" and not args.municipality:
        sys.stderr.write("error: municipality: a coordinator needs at least one\n")
        return 2
    password = _read_password()

    async def run() -> str:
        engine = make_engine(Settings().database_url)
        try:
            async with make_session_factory(engine)() as session:
                user = await create_login(
                    session=session,
                    username=args.username,
                    password=password,
                    name=args.name or args.username,
                    role=Role(args.role),
                    municipalities=args.municipality or [],
                    now=system_clock(),
                )
                if args.telegram_user_id is not None:  # may answer in the coordinators' group
                    user.telegram_user_id = args.telegram_user_id
                await session.commit()
                return user.id
        finally:
            await engine.dispose()

    try:
        user_id = asyncio.run(run())
    except ValueError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stdout.write(f"inbox login '{args.username.lower()}' ready (staff user {user_id})\n")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    inbox = sub.add_parser("inbox", help="the coordinators' web inbox")
    inbox_sub = inbox.add_subparsers(dest="inbox_command", required=True)
    create = inbox_sub.add_parser(
        "create-login", help=f"create or reset a login (password from {PASSWORD_ENV} or stdin)"
    )
    create.add_argument("--username", required=True)
    create.add_argument("--name", default=None, help="shown in the inbox (default: username)")
    create.add_argument("--role", choices=["coordinator", "admin"], default="coordinator")
    create.add_argument(
        "--municipality", action="append", help="repeat for several (coordinators need one)"
    )
    create.add_argument(
        "--telegram-user-id",
        type=int,
        default=None,
        help="link a Telegram account, so replies in the coordinators' group are relayed",
    )
    create.set_defaults(func=_create_login)
