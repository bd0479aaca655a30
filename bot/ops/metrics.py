"""Every Prometheus metric of the app, defined once, and their text exposition.

Metrics are process-wide by nature (prometheus-client keeps them in its default registry), so
they are module attributes; features count with one line where the event happens. With
several worker processes (`serve --workers N`) set PROMETHEUS_MULTIPROC_DIR to an empty
directory before the workers start: each process then writes its values there and a scrape
adds them up (prometheus_client.multiprocess). Labels never carry ids, paths or text.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    Metric,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
PREFIX = "familjeguiden_"
# Methods outside these are counted as "other": a label value must not come from the client.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    PREFIX + "http_requests",
    "HTTP requests answered, by route template, method and status class (2xx ...)",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    PREFIX + "http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template",
    ["route", "method", "status"],
)
MESSAGES = Counter(
    PREFIX + "messages",
    "Parent messages the conversation core answered (redeliveries not counted), by channel",
    ["channel"],
)
URGENT_ANSWERS = Counter(
    PREFIX + "urgent_answers",
    "Answers that led with the emergency guidance (triage said urgent), by channel",
    ["channel"],
)
HANDOFFS = Counter(
    PREFIX + "handoffs",
    "Cases opened (or reopened) for a coordinator after the parent consented, by channel",
    ["channel"],
)
SMS_SEND_FAILURES = Counter(
    PREFIX + "sms_send_failures",
    "Failed SMS, retried or given up: stage=send (Twilio refused or did not answer the"
    " send), stage=delivery (Twilio reported it failed or undelivered)",
    ["stage"],
)
INDEX_BUILD_SECONDS = Histogram(
    PREFIX + "directory_index_build_seconds",
    "Time to (re)build the directory index: reading the directory and building the matcher",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)


def status_class(status: int) -> str:
    """200 -> "2xx": a bounded label."""
    return f"{status // 100}xx"


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def _registry() -> CollectorRegistry:
    """This process's registry, or all worker processes' values in multiprocess mode."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


class _Computed(Collector):
    """Families computed at scrape time (e.g. from the database), exposed once."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def exposition(computed: Iterable[Metric] = ()) -> bytes:
    """The text exposition of every metric, plus families computed for this scrape."""
    extra = CollectorRegistry(auto_describe=False)
    extra.register(_Computed(computed))
    return generate_latest(_registry()) + generate_latest(extra)
