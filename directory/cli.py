"""`familjeguiden match`: rank services for a question, one at a time or as JSON lines.

This is the outside evaluation contract:
  familjeguiden match "fråga" [--municipality M] [--age N] [--json]
  familjeguiden match --jsonl   < {"text": ..., "municipality": ..., "age": ...} per line
Each JSON line gets one answer line, in order; a bad line gets an "error" and no results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any, TextIO

from sqlalchemy import inspect

from bot.clock import system_clock
from bot.db import create_all, make_engine, make_session_factory
from bot.jobs.locks import migrate_once
from bot.settings import Settings
from directory.index import DirectoryIndex
from directory.matcher import Matcher
from directory.matching import MatchResult, Query
from directory.seed import seed_bundled_directory

log = logging.getLogger(__name__)


def add_match_parser(sub: Any) -> None:
    """Register the `match` sub-command on the top-level parser's subparsers."""
    p = sub.add_parser("match", help="rank directory services for a parent's question")
    p.add_argument("text", nargs="?", help="the question (omit with --jsonl)")
    p.add_argument("--municipality", default=None, help="the family's municipality")
    p.add_argument("--age", type=int, default=None, help="the child's age in years")
    p.add_argument("--limit", type=int, default=5, help="how many services (default 5)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON object")
    out.add_argument("--jsonl", action="store_true", help="JSON lines on stdin -> stdout")
    p.set_defaults(func=run_match)


def run_match(args: argparse.Namespace) -> int:
    if not args.jsonl and not (args.text or "").strip():
        print('skriv en fråga, t.ex. familjeguiden match "min son skolkar"', file=sys.stderr)
        return 2
    matcher = asyncio.run(_load_matcher(Settings()))
    limit = max(1, args.limit)
    if args.jsonl:
        _utf8(sys.stdin, encoding="utf-8-sig")  # a leading BOM is not part of line 1
        _utf8(sys.stdout)
        answer_lines(matcher, sys.stdin, sys.stdout, limit=limit)
        return 0
    result = matcher.match(Query(args.text, args.municipality, args.age), limit=limit)
    _utf8(sys.stdout)
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        print(render_text(result))
    return 0


async def _load_matcher(settings: Settings) -> Matcher:
    """Migrate (or create) the schema, seed an empty database, build the index once."""
    engine = make_engine(settings.database_url)
    try:
        await migrate_once(engine)  # beside running instances: one at a time
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        if "service" not in tables:  # no migration creates it yet: fall back to the models
            await create_all(engine)
        sessions = make_session_factory(engine)
        async with sessions() as session:
            await seed_bundled_directory(session=session)
        index = DirectoryIndex(
            sessions,
            default_municipality=settings.default_municipality,
            clock=system_clock,
            encoder=settings.encoder,
        )
        return await index.get()
    finally:
        await engine.dispose()


def _utf8(stream: TextIO, *, encoding: str = "utf-8") -> None:
    """Swedish text must not depend on the caller's locale (LANG=C pipes)."""
    if hasattr(stream, "reconfigure"):
        stream.reconfigure(encoding=encoding, errors="replace")


def result_json(result: MatchResult) -> dict[str, Any]:
    return {
        "results": [
            {"name": h.service.name, "score": h.score, "reason": h.reason, "id": h.service.id}
            for h in result.hits
        ],
        "urgent": result.urgent,
        # urgent, caution (the 112 line leads; SOS Alarm 112 first) or none
        "triage": result.triage,
        "confident": result.confident,
        "municipality": result.municipality,
        "municipality_source": str(result.municipality_source),
        "age": result.age,
    }


def parse_line(line: str) -> Query:
    """One input line as a Query; ValueError names the field that is wrong."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("each line must be a JSON object")
    text = data.get("text")
    if not isinstance(text, str):
        raise ValueError("field 'text' must be a string")
    municipality = data.get("municipality")
    if municipality is not None and not isinstance(municipality, str):
        raise ValueError("field 'municipality' must be a string or null")
    return Query(text, municipality or None, _age(data.get("age")))


def _age(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("field 'age' must be a whole number or null")
    try:
        age = int(float(value))
    except ValueError:
        raise ValueError("field 'age' must be a whole number or null") from None
    if not 0 <= age <= 120:
        raise ValueError("field 'age' must be between 0 and 120")
    return age


def answer_lines(matcher: Matcher, lines: TextIO, out: TextIO, *, limit: int = 5) -> None:
    """One answer line per non-blank input line, in order; never stops on a bad line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            answer = result_json(matcher.match(parse_line(line), limit=limit))
        except ValueError as exc:  # includes json.JSONDecodeError
            answer = {"results": [], "urgent": False, "error": str(exc)}
        except Exception as exc:  # a bug must not lose the lines after this one
            log.exception("match failed on line %d", number)
            answer = {
                "results": [],
                "urgent": False,
                "error": f"internal error: {type(exc).__name__}",
            }
        out.write(json.dumps(answer, ensure_ascii=False) + "\n")
        out.flush()


def render_text(result: MatchResult) -> str:
    where = f"{result.municipality} ({result.municipality_source})"
    head = [f"Kommun: {where}   Ålder: {result.age if result.age is not None else '-'}"]
    if result.urgent:
        head.append("AKUT: ring 112 om någon är i fara just nu.")
    if not result.confident:
        head.append("Ingen säker träff: en lots kan hjälpa dig vidare.")
    rows = [
        f"{i}. {h.service.name}  ({h.score:.1f})  {h.reason}" for i, h in enumerate(result.hits, 1)
    ]
    return "\n".join(head + rows)
