"""Is an instance (or nginx in front of them) ready to take traffic? Plain urllib: the
product does not depend on an HTTP client."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

POLL_SECONDS = 0.2


def status_of(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of GET `url`, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return None


def is_ready(base: str) -> bool:
    """/readyz answers 200: the database answers, migrations are current, the directory
    index is loaded (handlers/ops.py)."""
    return status_of(f"{base}/readyz") == 200


def wait_ready(base: str, *, timeout: float, alive: Callable[[], bool]) -> bool:
    """Poll until `base` is ready (True), the process died or `timeout` passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_ready(base):
            return True
        if not alive():
            return False
        time.sleep(POLL_SECONDS)
    return False
