"""Coordinator logins for the inbox: scrypt passwords, a signed session cookie, CSRF tokens.

itsdangerous is not a dependency, so the session cookie is signed here with HMAC-SHA256
over settings.session_secret: `<base64 payload>.<hex signature>`, payload {uid, exp}.
CSRF uses the double-submit pattern: a random cookie value that every POST form echoes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from admin.models import Role, StaffUser

SESSION_COOKIE = "fg_inbox"
CSRF_COOKIE = "fg_inbox_csrf"
SESSION_LIFETIME = timedelta(hours=10)  # one working day, then log in again
INBOX_ROLES = (Role.coordinator, Role.admin)
# scrypt cost: n=2**14, r=8, p=1 (about 16 MB, tens of milliseconds), as OWASP suggests.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or stored.count("$") != 2:
        return False
    scheme, salt_hex, digest_hex = stored.split("$")
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def _sign(payload: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def make_session_cookie(*, user_id: str, now: datetime, secret: str) -> str:
    body = json.dumps({"uid": user_id, "exp": int((now + SESSION_LIFETIME).timestamp())})
    payload = base64.urlsafe_b64encode(body.encode())
    return f"{payload.decode()}.{_sign(payload, secret)}"


def read_session_cookie(value: str | None, *, now: datetime, secret: str) -> str | None:
    """The user id in a valid, unexpired cookie; None for anything else."""
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(_sign(payload.encode(), secret), signature):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict) or int(data.get("exp", 0)) < now.timestamp():
        return None
    uid = data.get("uid")
    return uid if isinstance(uid, str) else None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(*, cookie: str | None, submitted: str | None) -> bool:
    return bool(cookie and submitted) and hmac.compare_digest(str(cookie), str(submitted))


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
    """Create an inbox login, or set the password and scope of an existing username."""
    if len(password) < 10:
        raise ValueError("password: at least 10 characters")
    user = await find_login(session=session, username=username) or StaffUser(
        name=name, role=role, username=username.strip().lower(), created_at=now
    )
    user.name, user.role, user.municipalities = name, role, municipalities
    user.password_hash = hash_password(password)
    session.add(user)
    await session.flush()
    return user
