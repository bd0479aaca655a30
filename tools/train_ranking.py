"""Train the fusion weights of the hybrid ranking (directory/data/ranking_model.json).

Reads the ranking corpus (corpus/ranking/*.jsonl: parents' questions with the services that
are acceptable answers, one file per writer), builds the product's Matcher over the bundled
directory with stored service vectors, and fits a logistic regression on every candidate's
features (directory.ranking.FEATURES) with label "an acceptable answer". The writers in
HELD_OUT are never read here: bench/ranking_eval.py reports them.

Prints leave-one-writer-out top-1/top-3 over the training writers (the real match path, the
urgent and coordinator rules included) for each confidence threshold, and keeps the best.

  .venv/bin/pip install -e '.[train]' && .venv/bin/python tools/train_ranking.py
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.clock import system_clock
from bot.db import create_all, make_engine, make_session_factory
from directory.encoder import load_encoder
from directory.examples import Examples
from directory.matcher import Matcher
from directory.matching import Query
from directory.municipalities import MunicipalityResolver
from directory.ranking import FEATURES, MODEL_PATH, RankingModel
from directory.seed import seed_bundled_directory
from directory.store import load_cards, load_synonyms
from directory.text import name_key
from directory.triage import Triage, whole_text
from directory.vectors import load_vectors

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "ranking"
HELD_OUT = ("r05", "r06")  # writer-disjoint evaluation (bench/ranking_eval.py); never read here
THRESHOLDS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


same_name = name_key  # names compared as bench/eval_dev.py compares them


def read_writers(exclude: tuple[str, ...]) -> dict[str, list[dict]]:
    writers: dict[str, list[dict]] = {}
    for path in sorted(CORPUS.glob("r*.jsonl")):
        if path.stem in exclude:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        writers[path.stem] = [json.loads(line) for line in lines if line.strip()]
    return writers


async def bundled_matcher(ranking: RankingModel) -> Matcher:
    """The bundled directory as the product builds it (in-memory SQLite, stored vectors)."""
    engine = make_engine("sqlite://")
    encoder = load_encoder("e5")
    try:
        await create_all(engine)
        async with make_session_factory(engine)() as session:
            await seed_bundled_directory(session=session, clock=system_clock, encoder=encoder)
            cards = await load_cards(session=session)
            synonyms = await load_synonyms(session=session)
            assert encoder is not None
            vectors = await load_vectors(session=session, encoder=encoder)
    finally:
        await engine.dispose()
    return Matcher.build(
        cards,
        synonyms=synonyms,
        resolver=MunicipalityResolver.load(),
        triage=Triage.load(encoder),
        default_municipality="Degerfors",
        encoder=encoder,
        vectors=vectors,
        ranking=ranking,
    )


def query(case: dict) -> Query:
    return Query(case["text"], case.get("municipality"), case.get("age"))


def examples(matcher: Matcher, cases: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for case in cases:
        wanted = {same_name(n) for n in case["expected_any"]}
        for c in matcher.candidates(matcher.read(query(case))):
            rows.append(c.features())
            labels.append(same_name(matcher.cards[c.doc].name) in wanted)
    return np.asarray(rows, dtype=float), np.asarray(labels, dtype=bool)


def fit(x: np.ndarray, y: np.ndarray, confident_at: float, c: float) -> RankingModel:
    from sklearn.linear_model import LogisticRegression  # the [train] extra

    model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    weights = tuple(round(float(w), 4) for w in model.coef_[0])
    return RankingModel(weights, round(float(model.intercept_[0]), 4), confident_at)


def example_bank(matcher: Matcher, writers: dict[str, list[dict]]) -> Examples:
    """Every training question as a query vector with its acceptable services."""
    assert matcher.encoder is not None
    cases = [c for w in writers.values() for c in w]
    vectors = np.vstack(
        [matcher.encoder.encode([whole_text(c["text"]) or c["text"]]) for c in cases]
    )
    return Examples.of(
        vectors,
        [c["expected_any"] for c in cases],
        [c["writer"] for c in cases],
        encoder=matcher.encoder.name,
    )


def top_k(matcher: Matcher, cases: list[dict]) -> tuple[int, int]:
    top1 = top3 = 0
    for case in cases:
        wanted = {same_name(n) for n in case["expected_any"]}
        names = [same_name(h.service.name) for h in matcher.match(query(case), limit=5).hits]
        top1 += bool(names) and names[0] in wanted
        top3 += any(n in wanted for n in names[:3])
    return top1, top3


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)

    placeholder = RankingModel((0.0,) * len(FEATURES), 0.0, 0.0)
    matcher = asyncio.run(bundled_matcher(placeholder))
    matcher.assess = functools.lru_cache(maxsize=None)(matcher.assess)  # type: ignore[method-assign]
    writers = read_writers(exclude=HELD_OUT)
    bank = example_bank(matcher, writers)

    def features(writer: str, unseen: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """A writer's rows, their example votes from other writers not in `unseen` (a
        question never votes for itself, and the writer scored in a fold is never seen)."""
        matcher.examples = bank.without({writer, *unseen})
        return examples(matcher, writers[writer])

    # The model for questions no example is near: the same rows without any example's vote.
    matcher.examples = None
    alone_rows = {w: examples(matcher, cases) for w, cases in writers.items()}

    def both(held: str | None, threshold: float) -> RankingModel:
        """Both models, fitted on every writer but `held`."""
        kept = [w for w in writers if w != held]
        rows = [features(w, {held} if held else set()) for w in kept]
        alone_x = np.vstack([alone_rows[w][0] for w in kept])
        alone_y = np.concatenate([alone_rows[w][1] for w in kept])
        alone = fit(alone_x, alone_y, threshold, args.c)
        x, y = np.vstack([r[0] for r in rows]), np.concatenate([r[1] for r in rows])
        return replace(fit(x, y, threshold, args.c), alone=alone)

    print(f"leave-one-writer-out over {', '.join(writers)} (C={args.c}):")
    totals = {t: [0, 0] for t in THRESHOLDS}
    n = sum(len(c) for c in writers.values())
    for held in writers:
        fold = both(held, 0.0)
        matcher.examples = bank.without({held})
        for threshold in THRESHOLDS:
            alone = replace(fold.alone, confident_at=threshold) if fold.alone else None
            matcher.ranking = replace(fold, confident_at=threshold, alone=alone)
            one, three = top_k(matcher, writers[held])
            totals[threshold][0] += one
            totals[threshold][1] += three
    for threshold, (one, three) in totals.items():
        print(f"  confident at P>={threshold:.2f}: top-1 {one / n:.1%}  top-3 {three / n:.1%}")
    # Among equally good thresholds the highest: offer the coordinator whenever it costs nothing.
    best = max(THRESHOLDS, key=lambda t: (totals[t][0] + totals[t][1], t))

    model = both(None, best)
    assert model.alone is not None
    bank.save()
    one, three = totals[best]
    args.out.write_text(
        json.dumps(
            {
                "_provenance": (
                    f"tools/train_ranking.py: logistic regression (C={args.c}) on "
                    f"the candidates of {n} questions by writers {', '.join(writers)} "
                    f"(corpus/ranking); held out, never read: {', '.join(HELD_OUT)}. "
                    f"Leave-one-writer-out at this threshold: top-1 {one / n:.1%}, "
                    f"top-3 {three / n:.1%}."
                ),
                "features": list(FEATURES),
                "weights": list(model.weights),
                "bias": model.bias,
                "confident_at": model.confident_at,
                "alone": {
                    "weights": list(model.alone.weights),
                    "bias": model.alone.bias,
                    "confident_at": model.alone.confident_at,
                },
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out}: weights {dict(zip(FEATURES, model.weights, strict=True))}")
    print(f"bias {model.bias}, confident at P>={best}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
