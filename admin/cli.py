"""`familjeguiden admin create-key`: create a staff user with a fresh API key.

This is how the first admin key is made. The key is printed once, alone on the last line
(so scripts can take `tail -n 1`), and stored only as a hash.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC

from admin.keys import create_key, create_user
from admin.validation import canonical_municipality
from bot.clock import system_clock
from bot.db import make_engine, make_session_factory
from bot.jobs.locks import migrate_once
from bot.settings import Settings
from bot.staff.models import Role


async def create_staff_key(
    *, database_url: str, role: Role, name: str, municipalities: list[str]
) -> tuple[str, str]:
    """Migrate the database, create the user and a key; returns (user id, plain key)."""
    engine = make_engine(database_url)
    try:
        await migrate_once(engine)  # beside running instances: one at a time
        now = system_clock().astimezone(UTC)
        async with make_session_factory(engine)() as session:
            user = await create_user(
                session=session, name=name, role=role, municipalities=municipalities, now=now
            )
            _row, plain = await create_key(session=session, user_id=user.id, now=now)
            await session.commit()
            return user.id, plain
    finally:
        await engine.dispose()


def _municipalities(names: list[str]) -> list[str]:
    return [canonical_municipality(name) for name in names]


def _create_key(args: argparse.Namespace) -> int:
    role = Role(args.role)
    try:
        municipalities = _municipalities(args.municipality or [])
    except ValueError as exc:
        sys.stderr.write(f"error: municipality: {exc}\n")
        return 2
    if role in (Role.editor, Role.coordinator) and not municipalities:
        sys.stderr.write(f"error: municipality: {role.value} keys need at least one\n")
        return 2
    user_id, key = asyncio.run(
        create_staff_key(
            database_url=Settings().database_url,
            role=role,
            name=args.name or f"{role.value} key",
            municipalities=municipalities,
        )
    )
    print(f"created {role.value} user {user_id}; the key is shown only now:")
    print(key)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `admin create-key` to the `familjeguiden` command."""
    admin = sub.add_parser("admin", help="admin API keys")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser("create-key", help="create a staff user and an API key")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", default=None, help="who the key is for")
    create.add_argument(
        "--municipality",
        action="append",
        default=None,
        help="a municipality the user works for (repeat for several); not for admin",
    )
    create.set_defaults(func=_create_key)
