"""Coordinator logins for the inbox: scrypt passwords, a signed session cookie, CSRF tokens.

Passwords: scrypt, stored with their parameters (`scrypt$n=16384,r=8,p=1$<salt>$<digest>`),
so the cost can be raised later without breaking stored hashes. The session cookie is signed
with itsdangerous over settings.session_secret; its payload {sid, exp} names a server-side
session (bot.staff.sessions: logout and a new password end it) and carries an expiry from
the injected clock (itsdangerous' own timestamps would read the wall clock). CSRF uses the
double-submit pattern: a random cookie value that every POST form echoes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from itsdangerous import BadData, URLSafeSerializer
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.staff.models import Role, StaffUser
from bot.staff.sessions import end_user_sessions

SESSION_COOKIE = "fg_inbox"
CSRF_COOKIE = "fg_inbox_csrf"
SESSION_LIFETIME = timedelta(hours=10)  # one working day, then log in again
INBOX_ROLES = (Role.coordinator, Role.admin)
# scrypt cost: n=2**14, r=8, p=1 (about 16 MB, tens of milliseconds), as OWASP suggests.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_DKLEN = 32
_COOKIE_SALT = "familjeguiden-inbox-session"  # keeps these signatures apart from other uses


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=_DKLEN, **_SCRYPT)
    cost = ",".join(f"{k}={v}" for k, v in _SCRYPT.items())
    return f"scrypt${cost}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Checks against the parameters stored with the hash. Hashes from before parameters
    were stored (`scrypt$<salt>$<digest>`) used today's defaults."""
    parts = (stored or "").split("$")
    if len(parts) == 3:
        parts.insert(1, ",".join(f"{k}={v}" for k, v in _SCRYPT.items()))
    if len(parts) != 4 or parts[0] != "scrypt":
        return False
    try:
        cost = {k: int(v) for k, v in (item.split("=") for item in parts[1].split(","))}
        salt, expected = bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
        if set(cost) != set(_SCRYPT):
            return False
        digest = hashlib.scrypt(password.encode(), salt=salt, dklen=len(expected), **cost)
    except ValueError:  # malformed numbers, hex or scrypt parameters
        return False
    return hmac.compare_digest(digest, expected)


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=_COOKIE_SALT)


def make_session_cookie(*, session_token: str, now: datetime, secret: str) -> str:
    expires = int((now + SESSION_LIFETIME).timestamp())
    return str(_serializer(secret).dumps({"sid": session_token, "exp": expires}))


def read_session_cookie(value: str | None, *, now: datetime, secret: str) -> str | None:
    """The session token in a valid, unexpired cookie; None for anything else."""
    if not value:
        return None
    try:
        data = _serializer(secret).loads(value)
    except (BadData, UnicodeError):  # forged, truncated or not even ASCII
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
        return None
    if data["exp"] < now.timestamp():
        return None
    token = data.get("sid")
    return token if isinstance(token, str) else None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(*, cookie: str | None, submitted: str | None) -> bool:
    # As bytes: compare_digest refuses str with non-ASCII characters (a forged token).
    if not (cookie and submitted):
        return False
    return hmac.compare_digest(str(cookie).encode(), str(submitted).encode())


async def find_login(*, session: AsyncSession, username: str) -> StaffUser | None:
    query = select(StaffUser).where(StaffUser.username == username.strip().lower())
    return (await session.exec(query)).first()


async def authenticate(*, session: AsyncSession, username: str, password: str) -> StaffUser | None:
    """The enabled coordinator (or admin) with this username and password, else None."""
    user = await find_login(session=session, username=username)
    if user is None:
        hash_password(password)  # same work either way: do not reveal which usernames exist
        return None
    if user.disabled_at is not None or user.role not in INBOX_ROLES:
        return None
    return user if verify_password(password, user.password_hash) else None


async def create_login(
    *,
    session: AsyncSession,
    username: str,
    password: str,
    name: str,
    role: Role,
    municipalities: list[str],
    now: datetime,
) -> StaffUser:
    """Create an inbox login, or set the password and scope of an existing username (which
    ends every session it has: whoever held the old password is logged out)."""
    if len(password) < 10:
        raise ValueError("password: at least 10 characters")
    existing = await find_login(session=session, username=username)
    if existing is not None:
        await end_user_sessions(session=session, user_id=existing.id)
    user = existing or StaffUser(
        name=name, role=role, username=username.strip().lower(), created_at=now
    )
    user.name, user.role, user.municipalities = name, role, municipalities
    user.password_hash = hash_password(password)
    session.add(user)
    await session.flush()
    return user
