"""Field checks the models cannot express: phone numbers, e-mail, URLs, ages, municipalities.

Every failure becomes a 422 in FastAPI's own shape (`detail[].loc/msg/type`), naming the
field and the reason, so API callers see one error format whatever the source.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import urlparse

from email_validator import EmailNotValidError, validate_email
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from bot.sms.phone import is_short_code, to_e164
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


def normalise_phone(raw: str) -> str:
    """E.164 for ordinary numbers; short service numbers (112, 1177, 116 111) keep their digits."""
    digits = raw.replace(" ", "").replace("-", "")
    # Swedish short numbers never start with 0; "0712" is a truncated ordinary number.
    if is_short_code(raw) and len(digits) >= 3 and not digits.startswith("0"):
        return digits
    return to_e164(raw)


def normalise_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid e-mail address: {exc}") from None


def normalise_url(raw: str) -> str:
    value = raw.strip()
    parts = urlparse(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise ValueError("must be an http:// or https:// address")
    return value


@lru_cache(maxsize=1)
def _resolver() -> Any:
    return MunicipalityResolver.load()


def canonical_municipality(name: str) -> str:
    """The official spelling of one of Sweden's 290 municipalities, or ValueError."""
    found = _resolver().canonical(name) if name.strip() else None
    if not found:
        raise ValueError("not a Swedish municipality (use the official name, e.g. 'Degerfors')")
    return found


def check_contact(problems: Problems, kind: ContactKind, value: str) -> str:
    """Normalise a contact point's value for its kind (phone, e-mail, web...)."""
    checks = {
        ContactKind.phone: normalise_phone,
        ContactKind.email: normalise_email,
        ContactKind.web: normalise_url,
        ContactKind.chat: normalise_url,
    }
    check = checks.get(kind)
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


def _nul_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    # PostgreSQL cannot store NUL characters in text; refuse them as bad input, not a 500.
    if isinstance(value, str):
        return [path] if "\x00" in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _nul_paths(v, (*path, k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, (*path, i))]
    return []


def validate_as(model: type[M], data: dict[str, Any], problems: Problems | None = None) -> M:
    """Validate a (merged) dict against a model's full constraints; 422 naming the fields.

    With `problems`, errors are collected there instead and the (invalid) data is returned
    unvalidated via `model.model_construct`, so a caller can keep checking other items."""
    own = problems is None
    problems = problems or Problems()
    before = len(problems.errors)
    for path in _nul_paths(data):
        problems.loc_add(path, "must not contain NUL characters", "")
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_context=False):
            problems.loc_add(tuple(error["loc"]), error["msg"], error.get("input"))
        result = model.model_construct(**data)
    if own:
        problems.raise_if_any()
    return result if len(problems.errors) == before else model.model_construct(**data)
