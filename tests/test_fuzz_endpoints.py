"""A bounded fuzz of every endpoint a client can reach: no answer may be a 5xx.

The operations: every one of the app's OpenAPI schema under /admin/api/v1 and /api/chat
(read from the schema, so a new route is fuzzed without editing this file), and the SMS and
Telegram webhooks with valid signatures. Each starts from a valid request (real ids, a
plausible body) so that an odd value reaches the code behind the first check:

- the sweep puts every value of FAMILIES (what a probe of the running product found answered
  with 500: NUL and lone surrogates, "²" and 5,000 digits, year 9999 with offsets, long text with
  lone CRs and a misspelt municipality, wrong types) into every path and query parameter,
  header, body field, CSV cell, HSDS package cell and webhook field, one at a time;
- then Hypothesis explores, EXPLORE derandomised examples per operation, with up to three
  places at once set to anything JSON or bytes can carry (binary uploads included).

About 2,700 requests per database: some 25 s on SQLite and 30 s on PostgreSQL here. The
coordinators' inbox is left out (tests/test_inbox.py covers its odd tokens and positions).
The app runs in an event loop of its own thread (with the fake Telegram and Twilio servers
it talks to); the test's thread sends the requests into it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

from admin.keys import create_key, create_user
from bot.app import build
from bot.clock import FakeClock
from bot.settings import Settings
from bot.staff.models import Role
from handlers.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH
from tests.conftest import drop_test_engine, make_test_engine, postgres_url
from tests.fake_telegram import FakeTelegram, message_update
from tests.fake_twilio import FakeTwilio
from tests.hsds_support import with_cell
from tests.sms_support import make_case

EXPLORE = 3  # Hypothesis examples per operation, after the sweep
PUBLIC = "https://familjeguiden.example"
SECRET = "fuzz-webhook-secret"
PARENT_CHAT = 777_123
FUZZED = ("/admin/api/v1/", "/api/chat")
T = TypeVar("T")

# --- odd values ---------------------------------------------------------------------------

# The kinds of input a probe of the running product found answered with 500, a few values each: the
# sweep puts every one of them into every parameter and field of every operation.
FAMILIES: dict[str, list[Any]] = {
    "unstorable text": ["Hej\x00då", "a\udfffb"],
    "numbers as text": ["²", "9" * 5000],
    "far dates": ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"],
    "odd text": ["x" * 20_000 + "\ra\rb Degerfosr 12345 https://hörby.se/ö"],
    "wrong types": [None, 10**30],
}
ODD_STRINGS = [
    "", " ", "NaN", "1e309", "null", "true", "<script>alert(1)</script>", "' OR 1=1 --",
    "javascript:alert(1)", "../../etc/passwd", "%00", "\u202e", 'W/"1"', '"1"', "ÅÄÖ",
    "20100101–1236", "\t\n", "\r", "\x00", "\ud800", "٣", "１２", "-1", "2147483648",
    "Degerfosr", "12345", "https://hörby.se/ö", "9999-12-31",
    *(v for family in FAMILIES.values() for v in family if isinstance(v, str)),
]  # fmt: skip
odd_text = st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=30))
# What Hypothesis explores with: anything JSON can carry, and raw bytes for uploads.
odd_value = st.one_of(
    odd_text,
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**31, 2**63, 10**30, 1e308, -0.0, 0.5]),
    st.booleans(),
    st.none(),
    st.lists(odd_text, max_size=3),
    st.dictionaries(odd_text, odd_text, max_size=2),
    st.binary(max_size=200),
)

# Values that pass validation, by field name: the odd value is the only thing wrong.
PLAUSIBLE: dict[str, Any] = {
    "name": "Ankaret",
    "municipalities": ["Degerfors"],
    "municipality": "Degerfors",
    "starts_at": "2026-11-26T10:00:00+01:00",
    "contact_name": "Anna Lots",
    "contact_phone": "031-390 650",
    "phone": "070-174 06 05",
    "place": "Stadshuset, Storgatan 1",
    "text": "Min son vill inte gå till skolan",
    "value": "0586-480 00",
    "code": "fuzzkod",
    "term": "soc",
    "expansions": ["socialtjänst"],
    "url": "https://www.degerfors.se",
    "website": "https://www.degerfors.se",
    "email": "info@degerfors.se",
    "categories": ["programverksamhet"],
}


def as_text(value: Any) -> str:
    """A value as a parameter, cell or form field carries it."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else json.dumps(value)


def on_the_wire(text: str) -> bytes:
    """Lone surrogates cannot be UTF-8: sent as the bytes a broken client would send."""
    return text.encode("utf-8", "surrogatepass")


def raw(value: Any) -> bytes:
    """A whole upload body from a value: bytes as they are, anything else as its text."""
    return value if isinstance(value, bytes) else on_the_wire(as_text(value))


def dumps(value: Any) -> bytes:
    """JSON as a client would send it; lone surrogates travel as \\ud800 escapes."""
    return json.dumps(value, ensure_ascii=True, default=as_text).encode()


# --- the app in a thread of its own -------------------------------------------------------


class LoopThread:
    """An event loop running in a daemon thread; `run` waits for a coroutine's result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@dataclass
class Target:
    """The running app, its client, and real ids for path parameters."""

    client: httpx.AsyncClient
    key: str
    twilio_token: str
    twilio_sid: str
    ids: dict[str, str] = field(default_factory=dict)
    package: bytes = b""
    hsds: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)


async def _post(client: httpx.AsyncClient, key: str, path: str, body: Any) -> dict[str, Any]:
    response = await client.post(
        f"/admin/api/v1{path}", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _start(stack: AsyncExitStack, kind: str) -> Target:
    """Database, fakes, the app with its lifespan (the bundled directory), and data."""
    engine, schema = await make_test_engine(kind)

    async def drop(engine: AsyncEngine = engine, schema: str | None = schema) -> None:
        await drop_test_engine(engine, schema)

    stack.push_async_callback(drop)
    telegram = await stack.enter_async_context(FakeTelegram.running())
    twilio = await FakeTwilio().start()
    stack.push_async_callback(twilio.stop)
    clock = FakeClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    app = build(
        Settings(
            database_url="sqlite://",
            encoder="none",
            log_hash_salt="salt",
            public_base_url=PUBLIC,
            telegram_bot_token=telegram.token,
            telegram_api_base=telegram.url,
            telegram_webhook_secret=SECRET,
            twilio_account_sid=twilio.account_sid,
            twilio_auth_token=twilio.auth_token,
            twilio_from_number="+46701740699",
            twilio_api_base=twilio.url,
            sms_worker_enabled=False,
            chat_rate_per_client="off",
            chat_rate_per_conversation="off",
        ),
        clock=clock,
        engine=engine,
        run_migrations=False,
    )
    # The lifespan disposes of the engine at its end: it must close before the drop.
    await stack.enter_async_context(app.router.lifespan_context(app))
    transport = httpx.ASGITransport(app=app)
    client = await stack.enter_async_context(
        httpx.AsyncClient(transport=transport, base_url="http://test")
    )
    async with app.state.ctx.sessions() as session:
        admin = await create_user(
            session=session, name="fuzz", role=Role.admin, municipalities=[], now=clock()
        )
        _row, key = await create_key(session=session, user_id=admin.id, now=clock())
        # Another user and key for the users/keys routes to disable and revoke.
        other = await create_user(
            session=session, name="other", role=Role.editor, municipalities=["Osby"], now=clock()
        )
        other_key, _secret = await create_key(session=session, user_id=other.id, now=clock())
        case = await make_case(session, clock(), sender_ref="+46701740605")
        await session.commit()
    target = Target(client, key, twilio.auth_token, twilio.account_sid)
    org = await _post(client, key, "/organizations", {"name": "Fuzz kommun"})
    category = await _post(client, key, "/categories", {"code": "fuzz", "name": "Fuzz"})
    service = await _post(
        client, key, "/services", {"name": "Fuzzstället", "municipalities": ["Degerfors"]}
    )
    contact = await _post(
        client, key, f"/services/{service['id']}/contacts", {"kind": "phone", "value": "112"}
    )
    synonym = await _post(client, key, "/synonyms", {"term": "fuzz", "expansions": ["test"]})
    meeting = await _post(
        client,
        key,
        f"/cases/{case.id}/meetings",
        {
            "kind": "nätverksmöte",
            "starts_at": "2026-11-26T10:00:00+01:00",
            "place": "Stadshuset",
            "contact_name": "Anna Lots",
            "contact_phone": "031-390 650",
            "participants": [{"phone": "070-174 06 05"}],
        },
    )
    chat = await client.post("/api/chat", json={"text": "Min son vill inte gå till skolan"})
    target.ids = {
        "org_id": org["id"],
        "category_id": category["id"],
        "service_id": service["id"],
        "contact_id": contact["id"],
        "synonym_id": synonym["id"],
        "user_id": other.id,
        "key_id": other_key.id,
        "case_id": case.id,
        "meeting_id": meeting["data"][0]["id"],
        "conversation_id": chat.json()["conversation_id"],
    }
    auth = {"Authorization": f"Bearer {key}"}
    target.package = (await client.get("/admin/api/v1/export/hsds.zip", headers=auth)).content
    target.hsds = (await client.get("/admin/api/v1/export/hsds", headers=auth)).json()
    target.hsds["contents"] = target.hsds["contents"][:2]  # enough to reach every check
    target.schema = app.openapi()
    return target


class Running:
    """The target app in its loop thread, from start to a clean stop."""

    def __init__(self, kind: str) -> None:
        self.thread = LoopThread()
        self._stop: asyncio.Event | None = None
        self._done: asyncio.Future[None] | None = None
        self.target = self.thread.run(self._begin(kind))

    async def _begin(self, kind: str) -> Target:
        ready: asyncio.Future[Target] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._done = asyncio.ensure_future(self._hold(kind, ready))
        return await ready

    async def _hold(self, kind: str, ready: asyncio.Future[Target]) -> None:
        # One task enters and leaves every context (the lifespan may hold task groups).
        async with AsyncExitStack() as stack:
            try:
                ready.set_result(await _start(stack, kind))
            except BaseException as exc:
                ready.set_exception(exc)
                raise
            assert self._stop is not None
            await self._stop.wait()

    def request(self, make: Callable[[Target], Awaitable[httpx.Response]]) -> httpx.Response:
        return self.thread.run(make(self.target))

    def close(self) -> None:
        async def end() -> None:
            assert self._stop is not None and self._done is not None
            self._stop.set()
            await self._done

        try:
            self.thread.run(end())
        finally:
            self.thread.close()


# --- requests ------------------------------------------------------------------------------


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def baseline(schema: dict[str, Any], name: str, spec: dict[str, Any]) -> Any:
    """A valid value for a JSON schema: its required fields and those we have a plausible
    value for (a meeting's place, say: without one it never gets past the first check)."""
    schema = _resolve(schema, spec)
    if name in PLAUSIBLE:
        return PLAUSIBLE[name]
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return baseline(options[0], name, spec) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        wanted = [k for k in properties if k in schema.get("required", []) or k in PLAUSIBLE]
        return {k: baseline(properties[k], k, spec) for k in wanted}
    if kind == "array":
        count = schema.get("minItems", 0)
        return [baseline(schema.get("items", {}), name, spec) for _ in range(count)]
    if kind == "integer":
        return max(schema.get("minimum", 1), schema.get("default", 1) or 1)
    if kind == "boolean":
        return False
    return "x"


@dataclass
class Call:
    method: str
    url: str
    headers: list[tuple[str, bytes]]
    content: bytes = b""

    def __repr__(self) -> str:  # what a failure prints
        return f"{self.method} {self.url} headers={self.headers} body={self.content[:300]!r}"


@dataclass
class Operation:
    """One endpoint: the places an odd value can go, and a request with some of them set."""

    name: str
    slots: list[str]
    build: Callable[[dict[str, Any]], Call]


CSV_COLUMNS = {
    "name": "Ankaret",
    "municipalities": "Degerfors",
    "min_age": "13",
    "max_age": "18",
    "phones": "0586-480 00",
    "categories": "programverksamhet",
    "url": "https://www.degerfors.se",
}
ZIP_CELLS = [
    "services.csv/minimum_age",
    "services.csv/maximum_age",
    "services.csv/name",
    "services.csv/last_modified",
    "phones.csv/number",
    "service_areas.csv/name",
    "attributes.csv/value",
]


def _body(path: str, op: dict[str, Any], target: Target, put: dict[str, Any]) -> Any:
    """The request body and its content type, with the overrides `put` applied."""
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        if "body" in put:
            return dumps(put["body"]), b"application/json"
        if path.endswith("/import/hsds"):
            doc = json.loads(json.dumps(target.hsds))
            first = doc["contents"][0]
            first |= {k.split(":", 1)[1]: v for k, v in put.items() if k.startswith("hsds:")}
        else:
            doc = baseline(content["application/json"]["schema"], "", target.schema)
            doc |= {k.split(":", 1)[1]: v for k, v in put.items() if k.startswith("body:")}
        return dumps(doc), b"application/json"
    if "text/csv" in content:
        if "csv" in put:
            whole = put["csv"]
            return (
                whole if isinstance(whole, bytes) else on_the_wire(as_text(whole))
            ), b"text/csv"
        cells = {**CSV_COLUMNS, **{k[5:]: as_text(v) for k, v in put.items() if k[:5] == "cell:"}}
        text = ",".join(cells) + "\r\n" + ",".join(cells.values()) + "\r\n"
        return on_the_wire(text), b"text/csv"
    if "application/zip" in content:
        if "zip" in put:
            whole = put["zip"]
            return (
                whole if isinstance(whole, bytes) else on_the_wire(as_text(whole))
            ), b"application/zip"
        package = target.package
        for key, value in put.items():
            if key.startswith("zip:"):
                table, column = key[4:].split("/")
                package = with_cell(package, table, column, as_text(value))
        return package, b"application/zip"
    return b"", None


def admin_operation(method: str, path: str, op: dict[str, Any], target: Target) -> Operation:
    params = op.get("parameters", [])
    content = op.get("requestBody", {}).get("content", {})
    slots = [f"{p['in']}:{p['name']}" for p in params]
    if "application/json" in content and path.endswith("/import/hsds"):
        slots += ["body", *(f"hsds:{k}" for k in sorted(target.hsds["contents"][0]))]
    elif "application/json" in content:
        schema = _resolve(content["application/json"]["schema"], target.schema)
        slots += ["body", *(f"body:{k}" for k in schema.get("properties", {})), "body:unknown"]
    elif "text/csv" in content:
        slots += ["csv", *(f"cell:{c}" for c in CSV_COLUMNS)]
    elif "application/zip" in content:
        slots += ["zip", *(f"zip:{c}" for c in ZIP_CELLS)]

    def build(put: dict[str, Any]) -> Call:
        url, query = path, []
        headers = [("Authorization", f"Bearer {target.key}".encode())]
        for param in params:
            name, where = param["name"], param["in"]
            key = f"{where}:{name}"
            if where == "path":
                value = as_text(put[key]) if key in put else target.ids.get(name, "x")
                url = url.replace(f"{{{name}}}", quote(on_the_wire(value), ""))
            elif where == "query" and key in put:
                query.append(f"{name}={quote(on_the_wire(as_text(put[key])), '')}")
            elif where == "header":
                raw = on_the_wire(as_text(put[key])) if key in put else b'"1"'
                headers.append((name, bytes(b for b in raw if b not in (0, 10, 13))))
        body, kind = _body(path, op, target, put)
        if kind is not None:
            headers.append(("Content-Type", kind))
        return Call(method.upper(), url + ("?" + "&".join(query) if query else ""), headers, body)

    return Operation(f"{method.upper()} {path}", slots, build)


def sms_operation(path: str, target: Target) -> Operation:
    if path.endswith("/status"):
        form = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "ErrorCode": ""}
    else:
        form = {
            "MessageSid": "",
            "AccountSid": target.twilio_sid,
            "From": "+46701740605",
            "To": "+46701740699",
            "Body": "Min son vill inte gå till skolan",
            "NumMedia": "0",
        }

    def build(put: dict[str, Any]) -> Call:
        fields = {**form, "MessageSid": form["MessageSid"] or f"SM{uuid.uuid4().hex}"}
        for key, value in put.items():
            name = key.split(":", 1)[1]
            text = as_text(value).encode("utf-8", "replace").decode()  # a form is UTF-8
            fields[name] = text
        fields = {k: v for k, v in fields.items() if f"drop:{k}" not in put}
        signature = RequestValidator(target.twilio_token).compute_signature(PUBLIC + path, fields)
        body = httpx.Request("POST", "http://x", data=fields).content
        headers = [
            ("X-Twilio-Signature", signature.encode()),
            ("Content-Type", b"application/x-www-form-urlencoded"),
        ]
        return Call("POST", path, headers, body)

    slots = [f"form:{k}" for k in form] + [f"drop:{k}" for k in form]
    return Operation(f"POST {path}", slots, build)


def telegram_operation() -> Operation:
    def build(put: dict[str, Any]) -> Call:
        update: dict[str, Any] = {"update_id": 1 + len(put)}
        update |= message_update(chat_id=PARENT_CHAT, text="Min son vill inte gå till skolan")
        for key, value in put.items():
            where, name = key.split(":", 1)
            (update if where == "update" else update["message"])[name] = value
        headers = [(SECRET_HEADER, SECRET.encode()), ("Content-Type", b"application/json")]
        return Call("POST", WEBHOOK_PATH, headers, dumps(update))

    slots = ["update:update_id", "update:message"] + [
        f"message:{k}" for k in ("text", "date", "message_id", "from", "entities", "chat")
    ]
    return Operation(f"POST {WEBHOOK_PATH}", slots, build)


def operations(target: Target) -> list[Operation]:
    """Every fuzzed operation of the app's schema (new routes are included by themselves)."""
    found: list[Operation] = []
    for path, ops in target.schema["paths"].items():
        for method, op in ops.items():
            if path.startswith(FUZZED):
                found.append(admin_operation(method, path, op, target))
            elif path.startswith("/sms/twilio"):
                found.append(sms_operation(path, target))
            elif path == WEBHOOK_PATH:
                found.append(telegram_operation())
    return found


def sweep(op: Operation) -> list[Call]:
    """Every family's values, one place at a time; the rest as a valid request has it (so the
    value reaches the code behind the first check)."""
    values = [value for family in FAMILIES.values() for value in family]
    return [
        op.build({slot: value})
        for slot in op.slots
        for value in (values[:1] if slot.startswith("drop:") else values)
    ]


def _fuzz(kind: str) -> None:
    running = Running(kind)

    def check(call: Call) -> None:
        response = running.request(
            lambda t: t.client.request(
                call.method, call.url, headers=call.headers, content=call.content
            )
        )
        assert response.status_code < 500, f"{call!r} -> {response.text[:500]}"

    try:
        ops = operations(running.target)
        names = {op.name for op in ops}
        assert len(ops) >= 60, names
        assert {"POST /sms/twilio", "POST /telegram/webhook", "POST /api/chat"} <= names
        for op in ops:
            for call in sweep(op):
                check(call)
            if not op.slots:
                continue
            # Then Hypothesis: several places at once, with anything JSON or bytes can hold.
            puts = st.dictionaries(st.sampled_from(op.slots), odd_value, min_size=1, max_size=3)
            settings(
                max_examples=EXPLORE,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )(given(call=puts.map(op.build))(check))()
    finally:
        running.close()


# An update without a known type (a "message" of null) is, as in production, a warning that
# aiogram logs, not an error; the suite's warnings-as-errors would make it one.
UNKNOWN_UPDATE = pytest.mark.filterwarnings("ignore:Detected unknown update type:RuntimeWarning")


@UNKNOWN_UPDATE
def test_no_endpoint_answers_5xx_on_sqlite() -> None:
    _fuzz("sqlite")


@UNKNOWN_UPDATE
@pytest.mark.postgres
def test_no_endpoint_answers_5xx_on_postgres() -> None:
    """PostgreSQL is the stricter one: NUL in text, integer ranges, types."""
    postgres_url()  # skips (fails in CI) here, in the test's thread, without a server
    _fuzz("postgres")
