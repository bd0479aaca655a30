"""Train the intent head (bot/core/data/intent_model.npz) on labelled chat turns.

Reads corpus/intents/*.jsonl except the held-out writer (HELD_OUT, measured only by
bench/intent_eval.py), encodes each turn with the product's encoder (the same string triage
encodes), and fits a multinomial logistic regression on the e5 vector and hashed character
n-grams. Prints leave-one-writer-out accuracy over the training writers.

  .venv/bin/pip install -e '.[train]' && .venv/bin/python tools/train_intents.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bot.core.intent_model import CHAR_BUCKETS, unit_ngrams
from directory.encoder import load_encoder
from directory.triage import whole_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "intents"
OUT = Path(__file__).resolve().parents[1] / "bot" / "core" / "data" / "intent_model.npz"
HELD_OUT = ("i09",)  # i04 and i08 were read for rules: training data since
DENSE_SCALE = 2.0  # the sentence vector's weight beside the unit-length n-gram block


def read_writers(exclude: tuple[str, ...]) -> dict[str, list[dict]]:
    writers = {}
    for path in sorted(CORPUS.glob("i*.jsonl")):
        if path.stem not in exclude:
            lines = path.read_text(encoding="utf-8").splitlines()
            writers[path.stem] = [json.loads(line) for line in lines if line.strip()]
    return writers


def matrix(texts: list[str]):  # type: ignore[no-untyped-def]
    from scipy.sparse import csr_matrix, hstack  # with scikit-learn (the [train] extra)

    encoder = load_encoder("e5")
    assert encoder is not None
    dense = DENSE_SCALE * np.vstack([encoder.encode([whole_text(t) or t]) for t in texts])
    rows, cols, values = [], [], []
    for i, text in enumerate(texts):
        for bucket, value in unit_ngrams(text).items():
            rows.append(i)
            cols.append(bucket)
            values.append(value)
    chars = csr_matrix((values, (rows, cols)), shape=(len(texts), CHAR_BUCKETS))
    return hstack([csr_matrix(dense), chars]).tocsr(), encoder.name


def main(argv: list[str]) -> int:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c", type=float, default=10.0)
    args = parser.parse_args(argv)
    writers = read_writers(HELD_OUT)
    cases = [c for w in writers.values() for c in w]
    x, encoder = matrix([c["text"] for c in cases])
    y = np.array([c["intent"] for c in cases])
    who = np.array([c["writer"] for c in cases])
    print(f"leave-one-writer-out over {', '.join(writers)} ({len(cases)} turns, C={args.c}):")
    for writer in writers:
        train = who != writer
        model = LogisticRegression(C=args.c, max_iter=5000).fit(x[train], y[train])
        print(f"  {writer}: {np.mean(model.predict(x[~train]) == y[~train]):.1%}")
    model = LogisticRegression(C=args.c, max_iter=5000).fit(x, y)
    dim = x.shape[1] - CHAR_BUCKETS
    np.savez_compressed(
        OUT,
        labels=np.array(model.classes_),
        dense=(model.coef_[:, :dim] * DENSE_SCALE).astype(np.float32),
        chars=model.coef_[:, dim:].astype(np.float32),
        bias=model.intercept_.astype(np.float32),
        encoder=np.array(encoder),
    )
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
