"""Staff users and their API keys (admins only).

Users and keys are not edited in place, so they carry no version: a user is created or
disabled, a key is created (shown once) or revoked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from admin.auth import Principal, require_admin
from admin.deps import CtxDep, SessionDep, utc_now
from admin.keys import create_key, create_user, get_key, get_user, list_keys, list_users
from admin.routes.common import CREATE_ERRORS, READ_ERRORS
from admin.schemas import (
    ApiKeyCreated,
    ApiKeyPublic,
    ApiKeysPublic,
    StaffUserCreate,
    StaffUserPublic,
    StaffUsersPublic,
)
from admin.validation import Problems, check_municipalities, validate_as
from bot.staff import audit
from bot.staff.models import ApiKey, Role, StaffUser

router = APIRouter(tags=["users and keys"])
Id = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]


def _key_snapshot(row: ApiKey) -> dict[str, object]:
    return row.model_dump(mode="json", exclude={"key_hash"})


async def _user(session: SessionDep, user_id: str) -> StaffUser:
    user = await get_user(session=session, user_id=user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"user {user_id} not found")
    return user


@router.get("/users", response_model=StaffUsersPublic, responses=READ_ERRORS)
async def read_users(
    session: SessionDep, _who: Principal = Depends(require_admin)
) -> StaffUsersPublic:
    """All staff users."""
    rows = await list_users(session=session)
    return StaffUsersPublic(
        data=[StaffUserPublic.model_validate(u) for u in rows], count=len(rows)
    )


@router.post(
    "/users",
    response_model=StaffUserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def add_user(
    body: StaffUserCreate,
    session: SessionDep,
    ctx: CtxDep,
    who: Principal = Depends(require_admin),
) -> StaffUser:
    """Create a staff user; editors and coordinators need their municipalities."""
    data = validate_as(StaffUserCreate, body.model_dump())
    problems = Problems()
    municipalities = check_municipalities(problems, data.municipalities)
    if data.role in (Role.editor, Role.coordinator) and not data.municipalities:
        problems.add("municipalities", f"a {data.role.value} needs at least one municipality", [])
    problems.raise_if_any()
    now = utc_now(ctx)
    user = await create_user(
        session=session, name=data.name, role=data.role, municipalities=municipalities, now=now
    )
    await audit.record(
        session=session,
        actor_id=who.user_id,
        action="create",
        resource_type="staff_user",
        resource_id=user.id,
        before=None,
        after=user.model_dump(exclude={"password_hash"}),
        at=now,
    )
    await session.commit()
    return user


@router.get("/users/{user_id}", response_model=StaffUserPublic, responses=READ_ERRORS)
async def read_user(
    user_id: Id, session: SessionDep, _who: Principal = Depends(require_admin)
) -> StaffUser:
    """One staff user."""
    return await _user(session, user_id)


@router.delete("/users/{user_id}", response_model=StaffUserPublic, responses=READ_ERRORS)
async def disable_user(
    user_id: Id, session: SessionDep, ctx: CtxDep, who: Principal = Depends(require_admin)
) -> StaffUser:
    """Disable a user: their keys stop working at once."""
    user = await _user(session, user_id)
    before = user.model_dump(exclude={"password_hash"})
    now = utc_now(ctx)
    user.disabled_at = user.disabled_at or now
    session.add(user)
    await audit.record(
        session=session,
        actor_id=who.user_id,
        action="delete",
        resource_type="staff_user",
        resource_id=user.id,
        before=before,
        after=user.model_dump(exclude={"password_hash"}),
        at=now,
    )
    await session.commit()
    return user


@router.post(
    "/users/{user_id}/keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    responses=CREATE_ERRORS,
)
async def add_key(
    user_id: Id, session: SessionDep, ctx: CtxDep, who: Principal = Depends(require_admin)
) -> ApiKeyCreated:
    """Create an API key for the user; the key is in this answer only."""
    user = await _user(session, user_id)
    if user.disabled_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="user is disabled")
    now = utc_now(ctx)
    row, plain = await create_key(session=session, user_id=user.id, now=now)
    await audit.record(
        session=session,
        actor_id=who.user_id,
        action="create",
        resource_type="api_key",
        resource_id=row.id,
        before=None,
        after=_key_snapshot(row),
        at=now,
    )
    await session.commit()
    return ApiKeyCreated.model_validate({**row.model_dump(), "key": plain})


@router.get("/keys", response_model=ApiKeysPublic, responses=READ_ERRORS)
async def read_keys(
    session: SessionDep,
    _who: Principal = Depends(require_admin),
    user_id: Annotated[str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$")] = None,
) -> ApiKeysPublic:
    """API keys (never the keys themselves), optionally for one user."""
    rows = await list_keys(session=session, user_id=user_id)
    return ApiKeysPublic(data=[ApiKeyPublic.model_validate(k) for k in rows], count=len(rows))


@router.delete("/keys/{key_id}", response_model=ApiKeyPublic, responses=READ_ERRORS)
async def revoke_key(
    key_id: Id, session: SessionDep, ctx: CtxDep, who: Principal = Depends(require_admin)
) -> ApiKey:
    """Revoke a key: it stops working at once."""
    row = await get_key(session=session, key_id=key_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"key {key_id} not found")
    before = _key_snapshot(row)
    now = utc_now(ctx)
    row.revoked_at = row.revoked_at or now
    session.add(row)
    await audit.record(
        session=session,
        actor_id=who.user_id,
        action="delete",
        resource_type="api_key",
        resource_id=row.id,
        before=before,
        after=_key_snapshot(row),
        at=now,
    )
    await session.commit()
    return row
