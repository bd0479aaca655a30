"""Latency of one match at 10,000 services, against a plain rapidfuzz WRatio scan.

A synthetic directory: 10,000 services spread over all 290 municipalities (plus national
ones), built from the bundled directory's real Swedish words mixed with generated ones, so
postings have realistic lengths. Each service has a stored vector (random unit vectors, read
back from the bytes the database holds), so the hybrid ranking runs as in the product.

Prints the index build time (wall and CPU: on a shared machine the CPU time is the cost) for
the first build in the process and for a hybrid one from stored vectors; the index's memory;
median and p95 per match for the lexical and the hybrid Matcher, split into reading the
question (triage rules, municipality, words) and ranking it; and the same for
`rapidfuzz.process.extract(query, name+description, WRatio)` (the baseline). Times do not
count the one query encoding, which triage shares (bench/triage_eval.py times it):
the synthetic questions are nonsense to e5 anyway, so a stand-in encoder gives each text a
fixed random unit vector, behind the product's CachedEncoder (its lookup is counted).

  .venv/bin/python bench/match_latency.py [--services 10000] [--queries 300]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process, utils

from directory.encoder import CachedEncoder
from directory.matcher import Matcher
from directory.matching import Query, ServiceCard
from directory.municipalities import MunicipalityResolver
from directory.synonyms import load_bundled_synonyms
from directory.text import words
from directory.triage import Triage, whole_text
from directory.urgency import UrgencyRules
from directory.vectors import from_bytes, to_bytes

DATA = Path(__file__).resolve().parents[1] / "directory" / "data" / "services.json"
SYLLABLES = ["an", "ber", "dal", "en", "fors", "gen", "hem", "il", "jo", "kal", "lin", "mo"]


def vocabulary(rng: random.Random) -> list[str]:
    real = sorted(
        {
            w
            for s in json.loads(DATA.read_text())["services"]
            for w in words(" ".join([s["description"], s["summary"], *s["keywords"]]))
            if len(w) > 3
        }
    )
    made = {"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(6000)}
    return real + sorted(made)


def synthetic_cards(
    n: int, places: list[str], vocab: list[str], rng: random.Random
) -> list[ServiceCard]:
    def text(k: int) -> str:
        return " ".join(rng.choices(vocab, k=k))

    cards = []
    for i in range(n):
        national = rng.random() < 0.02
        low = rng.randint(0, 15)
        places_served = () if national else tuple(rng.sample(places, rng.randint(1, 3)))
        cards.append(ServiceCard(
            id=f"s{i}", name=text(rng.randint(1, 3)).title(), summary=text(12),
            description=text(rng.randint(40, 120)),
            scope="national" if national else "municipality", municipalities=places_served,
            region=None, min_age=low, max_age=rng.randint(low, 20), access="open",
            access_note="", cost="", categories=(rng.choice(vocab),),
            keywords=tuple(text(rng.randint(1, 3)) for _ in range(10)), contacts=(), url=None,
            verified=False, urgent_service=False, assured_date=None,
        ))  # fmt: skip
    return cards


FILLER = [
    "jag",
    "min",
    "vi",
    "har",
    "och",
    "det",
    "som",
    "att",
    "inte",
    "är",
    "på",
    "i",
    "med",
    "för",
    "hur",
    "vad",
    "kan",
    "finns",
    "någon",
]


def question(vocab: list[str], places: list[str], rng: random.Random) -> Query:
    """A parent-sized question: 4-20 content words among ordinary function words."""
    content = rng.choices(vocab, k=rng.randint(4, 20))
    text = " ".join(w for c in content for w in (c, rng.choice(FILLER)))
    return Query(text, rng.choice(places), rng.randint(0, 18))


class StandIn:
    """e5's shape, not its cost: a fixed random unit vector per text."""

    name, dim = "stand-in", 384

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out

    passage = encode


def stored_vectors(cards: list[ServiceCard], dim: int, rng: np.random.Generator) -> list[bytes]:
    """Unit vectors as the service_vector table stores them (float32 bytes)."""
    raw = rng.standard_normal((len(cards), dim)).astype(np.float32)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    return [to_bytes(v) for v in raw]


def decoded(stored: list[bytes], dim: int) -> dict[str, np.ndarray]:
    """What DirectoryIndex hands the Matcher: service id -> vector, decoded from bytes."""
    out = {}
    for i, raw in enumerate(stored):
        vector = from_bytes(raw, dim)
        assert vector is not None
        out[f"s{i}"] = vector
    return out


def timed(fn, items: list, clock=time.perf_counter) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for item in items:
        start = clock()
        fn(item)
        out.append((clock() - start) * 1000)
    return out


def summary(label: str, ms: list[float]) -> tuple[float, float]:
    p95 = statistics.quantiles(ms, n=20)[-1]
    med = statistics.median(ms)
    print(f"{label:28} median {med:8.2f} ms   p95 {p95:8.2f} ms   ({len(ms)} queries)")
    return med, p95


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--baseline-queries", type=int, default=10)
    args = ap.parse_args(argv)
    rng = random.Random(7)
    resolver = MunicipalityResolver.load()
    places = resolver.all()
    vocab = vocabulary(rng)
    cards = synthetic_cards(args.services, places, vocab, rng)
    encoder = CachedEncoder(StandIn())
    stored = stored_vectors(cards, encoder.dim, np.random.default_rng(7))
    triage = Triage(UrgencyRules.load())

    def build(vectors: bool) -> Matcher:
        return Matcher.build(
            cards,
            synonyms=load_bundled_synonyms(),
            resolver=resolver,
            triage=triage,
            default_municipality="Degerfors",
            encoder=encoder if vectors else None,
            vectors=decoded(stored, encoder.dim) if vectors else None,
        )

    def timed_build(label: str, vectors: bool) -> Matcher:
        wall, cpu = time.perf_counter(), time.thread_time()
        matcher = build(vectors=vectors)
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        print(f"index build, {label}: {wall:.2f} s ({cpu:.2f} s CPU) for {len(cards)} services")
        return matcher

    # The first build in a process is the one a starting app waits for (cold word caches).
    lexical = timed_build("lexical, first in the process", vectors=False)
    hybrid = timed_build("hybrid from stored vectors", vectors=True)
    tracemalloc.start()
    kept = build(vectors=True)
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"index memory (hybrid, traced): {size / 2**20:.0f} MB")
    del kept
    queries = [question(vocab, places, rng) for _ in range(args.queries)]
    for q in queries:  # encoded once, as triage does for every message before ranking
        encoder.encode([whole_text(q.text)])
    for matcher in (lexical, hybrid):
        matcher.match(queries[0])  # warm caches the way a running app has them
    summary("lexical Matcher.match", timed(lambda q: lexical.match(q, limit=5), queries))
    ours = summary("hybrid Matcher.match", timed(lambda q: hybrid.match(q, limit=5), queries))
    # On a shared machine wall time includes waiting for a core; CPU time is the cost itself.
    cpu = timed(lambda q: hybrid.match(q, limit=5), queries, clock=time.thread_time)
    summary("hybrid (CPU time)", cpu)
    # The two halves of a match: reading (triage rules, municipality, words) and ranking.
    readings = []
    reading_ms = timed(lambda q: readings.append(hybrid.read(q)), queries, clock=time.thread_time)
    summary("  reading (CPU time)", reading_ms)
    ranking_ms = timed(lambda r: hybrid.answer(r, limit=5), readings, clock=time.thread_time)
    summary("  ranking (CPU time)", ranking_ms)
    choices = [f"{c.name} {c.description}" for c in cards]
    base_q = queries[: args.baseline_queries]
    plain = summary(
        "rapidfuzz WRatio scan",
        timed(
            lambda q: process.extract(
                q.text, choices, scorer=fuzz.WRatio, processor=utils.default_process, limit=5
            ),
            base_q,
        ),
    )
    ratio = f"median {plain[0] / ours[0]:.0f}x   p95 {plain[1] / ours[1]:.0f}x"
    print(f"ratio (baseline / matcher): {ratio}")
    print(f"(load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
