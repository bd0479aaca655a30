"""Inbox login sessions, kept on the server so they can be ended.

The signed cookie carries a random token; the table keeps only its hash, the user and the
expiry. Logout deletes the session; a new password deletes all of the user's sessions, so a
stolen cookie stops working at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.staff.models import InboxSession, StaffUser


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def start_session(
    *, session: AsyncSession, user_id: str, now: datetime, expires_at: datetime
) -> str:
    """A new session for the user; returns its token (for the cookie, never stored)."""
    # Logins are rare: a good moment to forget everybody's expired sessions.
    await session.exec(delete(InboxSession).where(col(InboxSession.expires_at) <= now))
    token = secrets.token_urlsafe(32)
    row = InboxSession(
        id=_session_id(token), user_id=user_id, created_at=now, expires_at=expires_at
    )
    session.add(row)
    await session.flush()
    return token


async def session_user(*, session: AsyncSession, token: str, now: datetime) -> StaffUser | None:
    """The user of a live (unexpired, not ended) session, or None."""
    query = (
        select(StaffUser)
        .join(InboxSession, col(InboxSession.user_id) == col(StaffUser.id))
        .where(InboxSession.id == _session_id(token), col(InboxSession.expires_at) > now)
    )
    return (await session.exec(query)).first()


async def end_session(*, session: AsyncSession, token: str) -> None:
    """Logout: this session ends (the caller commits)."""
    await session.exec(delete(InboxSession).where(col(InboxSession.id) == _session_id(token)))


async def end_user_sessions(*, session: AsyncSession, user_id: str) -> None:
    """A new password or a disabled account: every session of the user ends."""
    await session.exec(delete(InboxSession).where(col(InboxSession.user_id) == user_id))
