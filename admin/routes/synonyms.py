"""Synonyms: the everyday words the matcher also accepts for a term ("soc" -> socialtjänst).

They affect every municipality's answers, so editors may add and change them and only
admins delete them (a hard delete; the audit log keeps the old values)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from admin import editing
from admin.auth import Principal, require_admin, require_editor, require_reader
from admin.concurrency import IfMatch, set_etag
from admin.deps import CtxDep, SessionDep
from admin.routes.common import CREATE_ERRORS, READ_ERRORS, WRITE_ERRORS, Limit, Offset
from admin.schemas import SynonymCreate, SynonymPublic, SynonymsPublic, SynonymUpdate
from admin.validation import validate_as
from directory import crud
from directory.models import Synonym

router = APIRouter(prefix="/synonyms", tags=["synonyms"])
SynonymId = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9-]+$")]
RTYPE = "synonym"


def _anyone(_row: Synonym) -> None:
    """Synonyms carry no municipality; the role check already happened."""


def _conflict(term: str, language: str) -> HTTPException:
    return HTTPException(
        status.HTTP_409_CONFLICT, detail=f"synonym exists for term {term!r} ({language})"
    )


@router.get("", response_model=SynonymsPublic, responses=READ_ERRORS)
async def list_synonyms(
    session: SessionDep,
    _who: Principal = Depends(require_reader),
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> SynonymsPublic:
    """List synonyms by term."""
    rows, total = await crud.list_synonyms(session=session, q=q, limit=limit, offset=offset)
    return SynonymsPublic(data=[SynonymPublic.model_validate(r) for r in rows], count=total)


@router.post(
    "", response_model=SynonymPublic, status_code=status.HTTP_201_CREATED, responses=CREATE_ERRORS
)
async def create_synonym(
    body: SynonymCreate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    who: Principal = Depends(require_editor),
) -> Synonym:
    """Add a synonym; 409 when the term exists in that language."""
    data = validate_as(SynonymCreate, body.model_dump())
    if await crud.find_synonym(session=session, term=data.term, language=data.language):
        raise _conflict(data.term, data.language)
    row = editing.new_row(Synonym, data.model_dump(), ctx)
    row = await editing.create(session=session, ctx=ctx, who=who, row=row, resource_type=RTYPE)
    set_etag(response, row.version)
    return row


@router.get("/{synonym_id}", response_model=SynonymPublic, responses=READ_ERRORS)
async def read_synonym(
    synonym_id: SynonymId,
    session: SessionDep,
    response: Response,
    _who: Principal = Depends(require_reader),
) -> Synonym:
    """One synonym; the ETag is its version."""
    row = await editing.load(
        session=session, model=Synonym, row_id=synonym_id, resource_type=RTYPE
    )
    set_etag(response, row.version)
    return row


@router.patch("/{synonym_id}", response_model=SynonymPublic, responses=WRITE_ERRORS)
async def update_synonym(
    synonym_id: SynonymId,
    body: SynonymUpdate,
    session: SessionDep,
    ctx: CtxDep,
    response: Response,
    if_match: IfMatch = None,
    who: Principal = Depends(require_editor),
) -> Synonym:
    """Change a synonym; needs If-Match."""
    changes = body.model_dump(exclude_unset=True)

    async def mutate(row: Synonym) -> None:
        merged = {**row.model_dump(include=set(SynonymCreate.model_fields)), **changes}
        data = validate_as(SynonymCreate, merged)
        other = await crud.find_synonym(session=session, term=data.term, language=data.language)
        if other is not None and other.id != row.id:
            raise _conflict(data.term, data.language)
        row.sqlmodel_update(data.model_dump())

    row = await editing.change(
        session=session,
        ctx=ctx,
        who=who,
        model=Synonym,
        row_id=synonym_id,
        if_match=if_match,
        resource_type=RTYPE,
        action="update",
        mutate=mutate,
        authorise=_anyone,
    )
    set_etag(response, row.version)
    return row


@router.delete("/{synonym_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE_ERRORS)
async def delete_synonym(
    synonym_id: SynonymId,
    session: SessionDep,
    ctx: CtxDep,
    if_match: IfMatch = None,
    who: Principal = Depends(require_admin),
) -> Response:
    """Delete a synonym (admins only); needs If-Match."""
    await editing.remove(
        session=session,
        ctx=ctx,
        who=who,
        model=Synonym,
        row_id=synonym_id,
        if_match=if_match,
        resource_type=RTYPE,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
