"""Who is calling: API keys (`Authorization: Bearer <key>`), roles, and a failure rate limit.

Other routers reuse `Principal`, `get_principal` and `require_roles(...)`:

    @router.get("/cases")
    async def list_cases(who: Principal = Depends(require_roles(Role.coordinator))): ...

An admin passes every role check. Municipality checks are the caller's: use
`who.can_access(municipality)` (admins can access every municipality).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from admin.deps import CtxDep, LimitsDep, SessionDep, client_address, utc_now
from admin.keys import find_key_owner
from bot.settings import Rate
from bot.staff.limits import Bucket, RateLimits
from bot.staff.models import Role

# Ten failed attempts per minute from one address, then 429 until the window clears
# (settings.auth_failure_rate; these are the defaults of a FailureLimiter made by hand).
MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=1)
API_KEY_FAILURES = "api-key-failures"  # the limit's name (bot.staff.limits.Bucket)
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
    """Failed authentications per client address: a sliding window counted in the database
    (bot.staff.limits), so every app instance sees the same failures."""

    def __init__(
        self,
        bucket: Bucket | None = None,
        *,
        max_failures: int = MAX_FAILURES,
        window: timedelta = FAILURE_WINDOW,
    ) -> None:
        self.bucket = bucket or Bucket(API_KEY_FAILURES, Rate(max_failures, window))

    async def retry_after(self, limits: RateLimits, client: str, now: datetime) -> int | None:
        """Seconds until this client may try again, or None when it is not blocked."""
        return await limits.retry_after(now, self.bucket, client)

    async def fail(self, limits: RateLimits, client: str, now: datetime) -> None:
        await limits.add(now, self.bucket, client)


def get_limiter(request: Request) -> FailureLimiter:
    """The app's API-key limiter, made on first use from settings.auth_failure_rate."""
    limiter = getattr(request.app.state, "admin_auth_limiter", None)
    if limiter is None:
        rate = request.app.state.ctx.settings.auth_failure_rate
        limiter = FailureLimiter(Bucket(API_KEY_FAILURES, rate))
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
    limits: LimitsDep,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Principal:
    """Authenticate the bearer key; 401 when missing or wrong, 429 after repeated failures."""
    limiter = get_limiter(request)
    client = client_address(request)
    now = utc_now(ctx)
    wait = await limiter.retry_after(limits, client, now)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="too many failed authentication attempts; try again later",
            headers={"Retry-After": str(wait)},
        )
    if credentials is None or not credentials.credentials:
        await limiter.fail(limits, client, now)
        raise _unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    found = await find_key_owner(session=session, key=credentials.credentials)
    if found is None:
        await limiter.fail(limits, client, now)
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
