"""Log output: the human format for one machine, or one JSON object a line (LOG_FORMAT=json)
for a log collector. Both go through the standard logging module.

`logging_config` is a dictConfig that `serve` hands to uvicorn, so each worker process
(`serve --workers N` starts fresh interpreters) configures itself the same way. Fields given
with `extra=` (the request log's route, method, status, duration_ms) become JSON keys.
Both formats hide PostgreSQL's DETAIL lines, which quote row values (see `scrub`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Every attribute a LogRecord has of its own: anything else came in through `extra=`.
# uvicorn's color_message is its message again, with terminal colours.
_RECORD_KEYS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
# A PostgreSQL error quotes the values it refused: "Key (conversation_id, seq)=(<id>, 5)
# already exists", "Failing row contains (...)". The engines hide SQL parameters
# (bot.db.make_engine); these lines come from the server's own message.
_DETAIL = re.compile(r"^DETAIL:.*$", re.MULTILINE)


def scrub(text: str) -> str:
    """The text without PostgreSQL's DETAIL lines (a conversation id, a message body)."""
    return _DETAIL.sub("DETAIL:  [hidden: it may quote row values]", text)


class TextFormatter(logging.Formatter):
    """The human format, scrubbed."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RECORD_KEYS})
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to sys.stderr as it is at each record, as logging's last resort does: a
    process that swaps stderr after start-up (a test capturing output) still gets the lines."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """StreamHandler sets its stream; this one always writes to the current stderr."""


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The whole process's logging: the root logger in the chosen format; uvicorn's loggers
    pass theirs up to it (its access log is off: the app logs requests by route template)."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"main": {"()": f"{__name__}.{StderrHandler.__name__}", "formatter": "main"}},
        "root": {"handlers": ["main"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
            # Alembic lists every plugin it loads at INFO; only its migration lines matter.
            "alembic.runtime.plugins": {"level": "WARNING"},
        },
    }
