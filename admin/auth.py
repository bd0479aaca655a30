"""Who is calling: API keys (`Authorization: Bearer <key>`), roles, and a failure rate limit.

Other routers reuse `Principal`, `get_principal` and `require_roles(...)`:

    @router.get("/cases")
    async def list_cases(who: Principal = Depends(require_roles(Role.coordinator))): ...

An admin passes every role check. Municipality checks are the caller's: use
`who.can_access(municipality)` (admins can access every municipality).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import ceil

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from admin.deps import CtxDep, SessionDep, utc_now
from admin.keys import find_key_owner
from bot.staff.models import Role

# Ten failed attempts per minute from one address, then 429 until the window clears.
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=1)
MAX_TRACKED_CLIENTS = 10_000
# Refresh last_used_at at most this often, so reads do not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)

bearer = HTTPBearer(auto_error=False, description="API key from `familjeguiden admin create-key`")


@dataclass(frozen=True)
class Principal:
    """The authenticated staff user behind a request."""

    user_id: str
    role: Role
    municipalities: frozenset[str] = field(default_factory=frozenset)
    key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    def can_access(self, municipality: str) -> bool:
        """Admins reach every municipality; everyone else only their own."""
        return self.is_admin or municipality.casefold() in self._folded

    def covers(self, municipalities: Iterable[str]) -> bool:
        """True when every given municipality is one of ours and there is at least one."""
        wanted = list(municipalities)
        if self.is_admin:
            return True
        return bool(wanted) and all(self.can_access(m) for m in wanted)

    @property
    def _folded(self) -> frozenset[str]:
        return frozenset(m.casefold() for m in self.municipalities)


class FailureLimiter:
    """Sliding window of failed authentications per client address, on the injected clock."""

    def __init__(self, *, max_failures: int = MAX_FAILURES, window: timedelta = FAILURE_WINDOW):
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}

    def retry_after(self, client: str, now: datetime) -> int | None:
        """Seconds until this client may try again, or None when it is not blocked."""
        times = self._prune(client, now)
        if not times:
            del self._failures[client]  # forget idle clients so the map stays small
            return None
        if len(times) < self.max_failures:
            return None
        return max(1, ceil((times[0] + self.window - now).total_seconds()))

    def fail(self, client: str, now: datetime) -> None:
        if len(self._failures) >= MAX_TRACKED_CLIENTS:
            self._sweep(now)  # many addresses failing once must not grow memory forever
        self._prune(client, now).append(now)

    def _sweep(self, now: datetime) -> None:
        for client in list(self._failures):
            if not self._prune(client, now):
                del self._failures[client]

    def _prune(self, client: str, now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


def get_limiter(request: Request) -> FailureLimiter:
    """The app's limiter, created on first use (one per app, never at import)."""
    limiter = getattr(request.app.state, "admin_auth_limiter", None)
    if limiter is None:
        limiter = FailureLimiter()
        request.app.state.admin_auth_limiter = limiter
    return limiter


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_principal(
    request: Request,
    ctx: CtxDep,
    session: SessionDep,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """Authenticate the bearer key; 401 when missing or wrong, 429 after repeated failures."""
    limiter = get_limiter(request)
    client = request.client.host if request.client else "unknown"
    now = utc_now(ctx)
    wait = limiter.retry_after(client, now)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed authentication attempts; try again later",
            headers={"Retry-After": str(wait)},
        )
    if credentials is None or not credentials.credentials:
        limiter.fail(client, now)
        raise _unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    found = await find_key_owner(session=session, key=credentials.credentials)
    if found is None:
        limiter.fail(client, now)
        raise _unauthorized("unknown or revoked API key")
    api_key, user = found
    if api_key.last_used_at is None or _aware(api_key.last_used_at) < now - LAST_USED_RESOLUTION:
        api_key.last_used_at = now
        session.add(api_key)
        await session.commit()
    return Principal(
        user_id=user.id,
        role=Role(user.role),
        municipalities=frozenset(user.municipalities or []),
        key_id=api_key.id,
    )


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for values stored as UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must have one of `roles` (admins always pass) or 403."""
    allowed = frozenset(roles) | {Role.admin}

    async def dependency(who: Principal = Depends(get_principal)) -> Principal:
        if who.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"needs role: {names}")
        return who

    return dependency


ANY_STAFF = (Role.admin, Role.editor, Role.coordinator, Role.reader)
require_reader = require_roles(*ANY_STAFF)
require_editor = require_roles(Role.editor)
require_admin = require_roles(Role.admin)


def forbid_municipality(municipality: str) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN, detail=f"no access to municipality: {municipality}"
    )
