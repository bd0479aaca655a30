"""Optimistic concurrency: reads send `ETag: "<version>"`, writes must send `If-Match`.

An update without If-Match is refused with 428, and one naming an older version with 412,
so no editor silently overwrites a colleague's change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, HTTPException, Response, status

from admin.validation import whole_number

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='The ETag from your last read, e.g. "3"; required for every change.',
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def expected_version(if_match: str | None) -> int:
    """The version the caller last saw; 428 when missing, 412 when it cannot be a version."""
    if if_match is None or not if_match.strip():
        raise HTTPException(
            status.HTTP_428_PRECONDITION_REQUIRED,
            detail='If-Match header required: send the ETag from your last read, e.g. "3"',
        )
    tag = if_match.strip().removeprefix("W/").strip('"')
    try:
        return whole_number(tag)  # ASCII digits only: a header may carry "²" (latin-1)
    except ValueError:
        raise HTTPException(
            status.HTTP_412_PRECONDITION_FAILED,
            detail="If-Match does not name a version of this resource; read it again",
        ) from None


def stale(current: int) -> HTTPException:
    return HTTPException(
        status.HTTP_412_PRECONDITION_FAILED,
        detail=f"changed by someone else meanwhile (now version {current}); read it again",
        headers={"ETag": etag(current)},
    )
