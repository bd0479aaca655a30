"""Acute-danger triage on the held-out writers: rules alone, model alone, both; and its cost.

The held-out writers (corpus/triage/README.md: w09, w10) were never trained or tuned on. Each
message goes through the real Matcher over the bundled directory, so "emergency first" is
what a parent sees: an emergency service (SOS Alarm 112, Självmordslinjen, ...) as the first
result. Then the semantic step's latency per message (sentence encoding + both heads, cache
off), on this machine.

  .venv/bin/python bench/triage_eval.py [--show] [--writers w09 w10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bot.clock import system_clock
from bot.db import create_all, make_engine, make_session_factory
from directory.encoder import E5Encoder, load_encoder
from directory.matcher import Matcher
from directory.matching import Query
from directory.municipalities import MunicipalityResolver
from directory.seed import seed_bundled_directory
from directory.store import load_cards, load_synonyms
from directory.triage import Triage, TriageModel
from directory.urgency import UrgencyRules

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "triage"
HELD_OUT = ("w09", "w10")


@dataclass
class Score:
    acute: int = 0
    flagged: int = 0
    caught: int = 0
    first: int = 0  # acute messages with an emergency service first
    alarm_first: int = 0  # harmless messages with an emergency service first
    harmless: int = 0

    def line(self) -> str:
        pct = lambda a, b: f"{100 * a / b:5.1f} %" if b else "  n/a"  # noqa: E731
        return (
            f"recall {pct(self.caught, self.acute)}  precision {pct(self.caught, self.flagged)}"
            f"  emergency-first {pct(self.first, self.acute)} ({self.first}/{self.acute})"
            f"  harmless with emergency first {pct(self.alarm_first, self.harmless)}"
        )


async def bundled() -> tuple[list, dict]:
    engine = make_engine("sqlite://")
    await create_all(engine)
    async with make_session_factory(engine)() as session:
        await seed_bundled_directory(session=session, clock=system_clock)
        cards, synonyms = await load_cards(session=session), await load_synonyms(session=session)
    await engine.dispose()
    return cards, synonyms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", nargs="*", default=list(HELD_OUT))
    parser.add_argument("--show", action="store_true", help="print the acute messages missed")
    args = parser.parse_args()
    rows = [
        json.loads(line)
        for writer in args.writers
        for line in (CORPUS / f"{writer}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    cards, synonyms = asyncio.run(bundled())
    rules, encoder = UrgencyRules.load(), load_encoder()
    assert encoder is not None, "bench/triage_eval.py needs the encoder (ENCODER=e5)"
    model = TriageModel.load()
    silent = replace(rules, situations=(), caution=())  # the model alone: no rule fires
    variants = {
        "rules alone": Triage(rules),
        "model alone": Triage(silent, model, encoder),
        "rules + model": Triage(rules, model, encoder),
    }
    resolver = MunicipalityResolver.load()
    acute_n = sum(r["urgent"] for r in rows)
    print(f"held-out writers {', '.join(args.writers)}: {len(rows)} messages, {acute_n} acute")
    for name, triage in variants.items():
        matcher = Matcher.build(
            cards,
            synonyms=synonyms,
            resolver=resolver,
            triage=triage,
            default_municipality="Degerfors",
        )
        score, missed = Score(), []
        for row in rows:
            result = matcher.match(Query(row["text"]), limit=5)
            first = bool(result.hits) and result.hits[0].service.urgent_service
            acute = bool(row["urgent"])
            score.acute += acute
            score.harmless += not acute
            score.flagged += result.urgent
            score.caught += acute and result.urgent
            score.first += acute and first
            score.alarm_first += (not acute) and first
            if acute and not first:
                missed.append(row["text"])
        print(f"  {name:14} {score.line()}")
        if args.show and name == "rules + model":
            for text in missed:
                print(f"      no emergency first: {text[:120]}")

    # Triage's cost as the product runs it (rules, encoding, both heads), with no cache.
    plain = E5Encoder()
    plain.encode(["värm upp"])
    uncached = Triage(rules, model, plain)
    seconds = []
    for row in rows:
        started = time.perf_counter()
        uncached.assess(row["text"])
        seconds.append(time.perf_counter() - started)
    cuts = statistics.quantiles(seconds, n=20)
    print(
        f"triage per message ({len(seconds)}, rules + model, no cache): median "
        f"{statistics.median(seconds) * 1000:.1f} ms, p95 {cuts[18] * 1000:.1f} ms "
        f"(encoder {plain.name})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
