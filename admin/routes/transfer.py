"""Export and import: Open Referral HSDS 3.0 (JSON and the CSV data package) and plain CSV.

Every import has a dry run (the default) reporting what would be created, changed and
deleted; `dry_run=false` applies the same plan in one transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response, status

from admin.auth import Principal, require_admin, require_editor, require_reader
from admin.csv_io import apply_csv, decode, plan_csv, read_rows
from admin.deps import CtxDep, SessionDep, utc_now
from admin.editing import directory_changed, service_vectors
from admin.hsds_apply import apply_import
from admin.hsds_check import read_document
from admin.hsds_sync import ImportReport, export_hsds, plan_import
from admin.hsds_tables import PackageError, package_zip, services_from_package
from admin.routes.common import errors
from admin.validation import Problems

router = APIRouter(tags=["import and export"])
DryRun = Annotated[bool, Query(description="only report what would change (default)")]
IMPORT_ERRORS = errors(401, 403, 429)
MAX_UPLOAD_BYTES = 20_000_000
CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": "one row per service; see the README for the columns",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


async def _read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing (413) before reading more than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE,
                detail=f"upload larger than {limit // 1_000_000} MB",
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/export/hsds", responses=errors(401, 403, 429))
async def export_hsds_json(
    session: SessionDep, _who: Principal = Depends(require_reader)
) -> dict[str, Any]:
    """The live directory as an HSDS 3.0 page of services (one page holds everything)."""
    return await export_hsds(session=session)


@router.get(
    "/export/hsds.zip",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, **errors(401, 403, 429)},
)
async def export_hsds_package(
    session: SessionDep, _who: Principal = Depends(require_reader)
) -> Response:
    """The HSDS tabular data package: datapackage.json plus one CSV per table, zipped."""
    doc = await export_hsds(session=session)
    return Response(
        package_zip(doc["contents"]),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="familjeguiden-hsds.zip"'},
    )


@router.post("/import/hsds", response_model=ImportReport, responses=IMPORT_ERRORS)
async def import_hsds(
    session: SessionDep,
    ctx: CtxDep,
    body: Annotated[
        dict[str, Any] | list[Any],
        Body(description="an HSDS page (as exported) or a list of HSDS services"),
    ],
    dry_run: DryRun = True,
    who: Principal = Depends(require_admin),
) -> ImportReport:
    """Make the directory equal to an HSDS document (admins only; it can delete services)."""
    return await _import(session, ctx, who, body, dry_run=dry_run)


async def _import(
    session: SessionDep, ctx: CtxDep, who: Principal, body: Any, *, dry_run: bool
) -> ImportReport:
    records = read_document(body)
    plan = await plan_import(session=session, records=records, dry_run=dry_run)
    if not dry_run:
        now = utc_now(ctx)
        written = await apply_import(session=session, plan=plan, actor_id=who.user_id, now=now)
        await service_vectors(session=session, ctx=ctx, ids=written, now=now)
        await session.commit()
        await directory_changed(ctx)
    return plan.report


ZIP_BODY = {
    "requestBody": {
        "required": True,
        "description": "the zipped HSDS tabular data package, as GET /export/hsds.zip gives it",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/import/hsds.zip",
    response_model=ImportReport,
    responses={**IMPORT_ERRORS, **errors(413)},
    openapi_extra=ZIP_BODY,
)
async def import_hsds_package(
    request: Request,
    session: SessionDep,
    ctx: CtxDep,
    dry_run: DryRun = True,
    who: Principal = Depends(require_admin),
) -> ImportReport:
    """Like POST /import/hsds, from the zipped CSV data package (admins only)."""
    data = await _read_limited(request, MAX_UPLOAD_BYTES)
    try:
        services = services_from_package(data)
    except PackageError as exc:
        problems = Problems(("body",))
        problems.add("package", str(exc), "")
        problems.raise_if_any()
        raise
    return await _import(session, ctx, who, services, dry_run=dry_run)


@router.post(
    "/import/csv",
    response_model=ImportReport,
    responses={**IMPORT_ERRORS, **errors(409, 413)},
    openapi_extra=CSV_BODY,
)
async def import_csv(
    request: Request,
    session: SessionDep,
    ctx: CtxDep,
    dry_run: DryRun = True,
    allow_duplicate: Annotated[
        bool, Query(description="create rows even where a live service has their name and place")
    ] = False,
    who: Principal = Depends(require_editor),
) -> ImportReport:
    """Create or change services from a spreadsheet (CSV); editors within their municipalities.
    A new row with the name and a municipality of a live service is 409 (see allow_duplicate)."""
    rows = read_rows(decode(await _read_limited(request, MAX_UPLOAD_BYTES)))
    plan = await plan_csv(
        session=session, who=who, rows=rows, dry_run=dry_run, allow_duplicate=allow_duplicate
    )
    if not dry_run:
        now = utc_now(ctx)
        written = await apply_csv(session=session, plan=plan, actor_id=who.user_id, now=now)
        await service_vectors(session=session, ctx=ctx, ids=written, now=now)
        await session.commit()
        await directory_changed(ctx)
    return plan.report
