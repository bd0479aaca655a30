"""Field checks the models cannot express: phone numbers, e-mail, URLs, ages, municipalities.

Every failure becomes a 422 in FastAPI's own shape (`detail[].loc/msg/type`), naming the
field and the reason, so API callers see one error format whatever the source.

Bad input must never reach the database as a 500. What the models accept but the database
cannot store (NUL characters and lone surrogates in text: PostgreSQL refuses both) is refused
for every request by `refuse_unstorable` and for every imported cell by `validate_as`; numbers
written as text (CSV cells, HSDS packages, If-Match) are read by `whole_number` alone, which
takes ASCII digits only (`int("²")` raises, and 5,000 digits exceed Python's limit).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from bot.sms.phone import to_e164
from directory.models import ContactKind, Scope
from directory.municipalities import MunicipalityResolver

M = TypeVar("M", bound=BaseModel)


class Problems:
    """Collects field errors and raises them together as one 422."""

    def __init__(self, prefix: tuple[str | int, ...] = ("body",)) -> None:
        self.prefix = prefix
        self.errors: list[dict[str, Any]] = []

    def add(self, field: str | int, reason: str, value: Any) -> None:
        self.loc_add((field,), reason, value)

    def loc_add(self, loc: tuple[str | int, ...], reason: str, value: Any) -> None:
        self.errors.append(
            {
                "loc": [*self.prefix, *loc],
                "msg": reason,
                "type": "value_error",
                "input": value if isinstance(value, str | int | float | bool) else str(value),
            }
        )

    def raise_if_any(self) -> None:
        if self.errors:
            raise RequestValidationError(self.errors)


# --- text the database can store, numbers written as text -------------------------------

MAX_WHOLE_NUMBER_DIGITS = 9


def unstorable(value: str) -> str | None:
    """Why the database cannot store this text (NUL, a lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "is not valid Unicode text (a lone surrogate)"
    return None


def whole_number(text: str, *, max_digits: int = MAX_WHOLE_NUMBER_DIGITS) -> int:
    """A non-negative whole number written in ASCII digits, or ValueError saying so.

    `str.isdigit` is true for "²" and other Unicode digits that `int` refuses or reads
    differently, and `int` refuses more than 4,300 digits: both were 500s."""
    value = text.strip()
    if not value or not value.isascii() or not value.isdigit():
        raise ValueError("must be a whole number (digits 0-9)")
    if len(value.lstrip("0")) > max_digits:
        raise ValueError(f"must be a whole number of at most {max_digits} digits")
    return int(value)


# --- phone, e-mail, web address ---------------------------------------------------------

# Swedish short numbers a service may have: 112 (emergency), 1177 (healthcare), 113 13
# (information in a crisis), 114 14 (police), 116 xxx (EU helplines: 116 111 BRIS, 116 006
# victim support), 118 xxx (directory enquiries), 90 xxx (helplines: 90101 Självmordslinjen).
SHORT_NUMBER = re.compile(r"112|1177|11313|11414|116\d{3}|118\d{3}|90\d{3}")
_PHONE_SEPARATORS = re.compile(r"[\s\-\u2010-\u2013\u2212./()]")
PHONE_HINT = (
    "a Swedish phone number with its area code (0586-480 00, 070-123 45 67, +46 ...) or a "
    "short number such as 112, 1177, 114 14, 116 111 or 90101"
)


def normalise_phone(raw: str) -> str:
    """E.164 for Swedish numbers; short service numbers (112, 1177, 116 111) keep their digits."""
    digits = _PHONE_SEPARATORS.sub("", raw)
    if SHORT_NUMBER.fullmatch(digits):
        return digits
    if digits.isascii() and digits.isdigit() and len(digits) <= 6 and digits[:1] != "0":
        raise ValueError(f"not a known short number; use {PHONE_HINT}")
    try:
        number = to_e164(raw)
    except ValueError:
        raise ValueError(f"not a valid phone number; use {PHONE_HINT}") from None
    if phonenumbers.region_code_for_number(phonenumbers.parse(number)) != "SE":
        raise ValueError(f"not a Swedish number; use {PHONE_HINT}")
    return number


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None


_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.?")
# Characters a URI keeps as they are; everything else (å, ä, ö...) is %-encoded.
_URI_KEEP = "/?#[]@!$&'()*+,;=:-._~%"


def normalise_url(raw: str) -> str:
    """An http(s) address as a URI: an IRI's "ö" is %-encoded (in the host: IDNA, xn--)."""
    value = raw.strip()
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must be an http:// or https:// address without spaces")
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"must be an http:// or https:// address: {exc}") from None
    host, _colon, port = parts.netloc.partition(":")
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError("must be an http:// or https:// address")
    if "@" in parts.netloc:
        raise ValueError("must not contain a user name or password")
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise ValueError("the port must be a number 0-65535")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("the host name is not a valid domain name") from None
    if not _HOST.fullmatch(host):
        raise ValueError("the host name is not a valid domain name")
    netloc = f"{host}:{port}" if port else host
    path, query, fragment = (quote(p, safe=_URI_KEEP) for p in parts[2:])
    return urlunsplit((parts.scheme, netloc, path, query, fragment))


def contact_value_key(kind: ContactKind, value: str) -> str:
    """A contact value in its stored form, for comparing: "116 111" and "116111" are one
    number. Values that do not normalise (older data) compare as written."""
    try:
        return CONTACT_CHECKS[kind](value) if kind in CONTACT_CHECKS else value.strip()
    except ValueError:
        return value.strip()


# --- municipalities, categories ----------------------------------------------------------


@lru_cache(maxsize=1)
def _resolver() -> Any:
    return MunicipalityResolver.load()


def canonical_municipality(name: str) -> str:
    """The official spelling of one of Sweden's 290 municipalities, or ValueError.

    Case, missing å/ä/ö and "kommun" are forgiven; a misspelling is not corrected silently
    (the likely name is offered instead)."""
    found = _resolver().canonical(name, typos=False) if name.strip() else None
    if found:
        return found
    likely = _resolver().canonical(name) if name.strip() else None
    if likely:
        raise ValueError(f"not a Swedish municipality; did you mean '{likely}'?")
    raise ValueError("not a Swedish municipality (use the official name, e.g. 'Degerfors')")


def check_categories(
    problems: Problems, codes: Iterable[str], *, known: set[str], kept: Iterable[str] = ()
) -> None:
    """Every category code must be one of the category list's (`kept`: codes the row already
    had, which stay even if their category was deleted since)."""
    allowed = known | set(kept)
    for index, code in enumerate(codes):
        if code not in allowed:
            problems.loc_add(
                ("categories", index),
                "not a category code (GET /admin/api/v1/categories lists them)",
                code,
            )


# --- dates and times ----------------------------------------------------------------------


def check_moment(
    problems: Problems, field: str, value: datetime, *, after: datetime, before: datetime
) -> None:
    """An aware time after `after` and before `before`. The upper bound matters: pydantic
    takes 9999-12-31T23:59-14:00, which overflows as soon as anything turns it into UTC."""
    if value <= after:
        problems.add(field, "must be in the future", value.isoformat())
    elif value >= before:
        problems.add(field, f"must be before {before.date().isoformat()}", value.isoformat())


CONTACT_CHECKS = {
    ContactKind.phone: normalise_phone,
    ContactKind.email: normalise_email,
    ContactKind.web: normalise_url,
    ContactKind.chat: normalise_url,
}


def check_contact(problems: Problems, kind: ContactKind, value: str) -> str:
    """Normalise a contact point's value for its kind (phone, e-mail, web...)."""
    check = CONTACT_CHECKS.get(kind)
    if check is None:
        return value.strip()
    try:
        return check(value)
    except ValueError as exc:
        problems.add("value", f"{kind.value}: {exc}", value)
        return value


def check_optional(problems: Problems, data: dict[str, Any], field: str, check: Any) -> None:
    value = data.get(field)
    if value is None or value == "":
        data[field] = None
        return
    try:
        data[field] = check(value)
    except ValueError as exc:
        problems.add(field, str(exc), value)


def check_municipalities(problems: Problems, names: Iterable[str]) -> list[str]:
    result: list[str] = []
    for index, name in enumerate(names):
        try:
            canonical = canonical_municipality(name)
        except ValueError as exc:
            problems.loc_add(("municipalities", index), str(exc), name)
            continue
        if canonical not in result:
            result.append(canonical)
    return result


def check_service(data: dict[str, Any], problems: Problems | None = None) -> dict[str, Any]:
    """Validate and normalise a whole (merged) service; raises 422 unless `problems` is given."""
    own = problems is None
    problems = problems or Problems()
    check_optional(problems, data, "email", normalise_email)
    check_optional(problems, data, "url", normalise_url)
    given = data.get("municipalities") or []
    data["municipalities"] = check_municipalities(problems, given)
    if data.get("min_age", 0) > data.get("max_age", 20):
        problems.add("min_age", "min_age must not be greater than max_age", data["min_age"])
    scope = Scope(data.get("scope", Scope.municipality))
    if scope != Scope.national and not given:
        problems.add("municipalities", f"a {scope.value} service needs its municipalities", [])
    if own:
        problems.raise_if_any()
    return data


def check_organization(data: dict[str, Any], problems: Problems | None = None) -> dict[str, Any]:
    """Validate an organization's e-mail and website; raises 422 unless `problems` is given."""
    own = problems is None
    problems = problems or Problems()
    check_optional(problems, data, "email", normalise_email)
    check_optional(problems, data, "website", normalise_url)
    if own:
        problems.raise_if_any()
    return data


Loc = tuple[str | int, ...]


def unstorable_paths(value: Any, path: Loc = ()) -> list[tuple[Loc, str]]:
    """Where in a JSON-like value there is text the database cannot store, and why."""
    if isinstance(value, str):
        reason = unstorable(value)
        return [(path, reason)] if reason else []
    if isinstance(value, dict):
        found = [(path, r) for k in value if isinstance(k, str) and (r := unstorable(k))]
        return found + [p for k, v in value.items() for p in unstorable_paths(v, (*path, k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in unstorable_paths(v, (*path, i))]
    return []


async def refuse_unstorable(request: Request) -> None:
    """A dependency of the whole admin API: 422 naming the parameter or body field that
    holds text the database cannot store, before any route reads it."""
    problems = Problems(())
    for where, params in (("path", request.path_params), ("query", request.query_params)):
        for name, value in params.items():
            if isinstance(value, str) and (reason := unstorable(value)):
                problems.loc_add((where, name), reason, "")
    content_type = request.headers.get("content-type", "")
    if not content_type or "json" in content_type:
        body = await request.body()  # FastAPI has read it already: this is its cached copy
        # JSON writes both as \u escapes; only then is the body worth parsing twice.
        if b"\\u0000" in body or b"\\ud" in body.lower():
            try:
                data = json.loads(body)
            except ValueError:
                data = None  # FastAPI answers malformed JSON itself
            for loc, reason in unstorable_paths(data, ("body",)):
                problems.loc_add(loc, reason, "")
    problems.raise_if_any()


def validate_as(model: type[M], data: dict[str, Any], problems: Problems | None = None) -> M:
    """Validate a (merged) dict against a model's full constraints; 422 naming the fields.

    With `problems`, errors are collected there instead and the (invalid) data is returned
    unvalidated via `model.model_construct`, so a caller can keep checking other items."""
    own = problems is None
    problems = problems or Problems()
    before = len(problems.errors)
    for path, reason in unstorable_paths(data):
        problems.loc_add(path, reason, "")
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_context=False):
            problems.loc_add(tuple(error["loc"]), error["msg"], error.get("input"))
        result = model.model_construct(**data)
    if own:
        problems.raise_if_any()
    return result if len(problems.errors) == before else model.model_construct(**data)
