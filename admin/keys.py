"""Data functions for staff users and their API keys (keys are stored only as hashes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.staff.models import ApiKey, Role, StaffUser

KEY_PREFIX_LEN = 12


def new_key() -> str:
    """A fresh high-entropy key; 'fgk_' makes a leaked key easy to recognise in scanners."""
    return "fgk_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    # Keys carry 256 random bits, so a plain sha256 is enough (no password stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()


async def create_user(
    *,
    session: AsyncSession,
    name: str,
    role: Role,
    municipalities: list[str],
    now: datetime,
) -> StaffUser:
    user = StaffUser(name=name, role=role, municipalities=municipalities, created_at=now)
    session.add(user)
    await session.flush()
    return user


async def create_key(*, session: AsyncSession, user_id: str, now: datetime) -> tuple[ApiKey, str]:
    """Create a key for the user; the plain key is returned once and never stored."""
    plain = new_key()
    row = ApiKey(
        user_id=user_id,
        prefix=plain[:KEY_PREFIX_LEN],
        key_hash=hash_key(plain),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row, plain


async def find_key_owner(*, session: AsyncSession, key: str) -> tuple[ApiKey, StaffUser] | None:
    """The live key row and its enabled user for a presented key, or None."""
    stmt = (
        select(ApiKey, StaffUser)
        .join(StaffUser, col(StaffUser.id) == col(ApiKey.user_id))
        .where(ApiKey.prefix == key[:KEY_PREFIX_LEN])
        .where(col(ApiKey.revoked_at).is_(None))
        .where(col(StaffUser.disabled_at).is_(None))
    )
    digest = hash_key(key)
    for api_key, user in (await session.exec(stmt)).all():
        if hmac.compare_digest(api_key.key_hash, digest):
            return api_key, user
    return None


async def list_users(*, session: AsyncSession) -> list[StaffUser]:
    return list((await session.exec(select(StaffUser).order_by(col(StaffUser.created_at)))).all())


async def get_user(*, session: AsyncSession, user_id: str) -> StaffUser | None:
    return await session.get(StaffUser, user_id)


async def list_keys(*, session: AsyncSession, user_id: str | None = None) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(col(ApiKey.created_at))
    if user_id is not None:
        stmt = stmt.where(ApiKey.user_id == user_id)
    return list((await session.exec(stmt)).all())


async def get_key(*, session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id)
