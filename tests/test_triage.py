"""Triage: the bundled encoder and model, the three-outcome policy, and odd input.

The held-out writers' files (corpus/triage/w09, w10) were never trained or tuned on; the
figures asserted here guard the shipped model file, and bench/triage_eval.py prints them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from directory.encoder import CachedEncoder, E5Encoder, load_encoder
from directory.triage import Scored, Triage, TriageModel, calm, units
from directory.urgency import UrgencyRules

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "triage"
HELD_OUT = ("w09", "w10")


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage.load(load_encoder("e5"))


def _held_out() -> list[dict[str, object]]:
    return [
        json.loads(line)
        for writer in HELD_OUT
        for line in (CORPUS / f"{writer}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def test_encoder_gives_normalised_vectors_and_caches_them() -> None:
    counted = _Counting(E5Encoder())
    encoder = CachedEncoder(counted, size=2)
    first = encoder.encode(["min son vill inte gå till skolan", "my son refuses school"])
    assert first.shape == (2, 384)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-3)
    assert float(first[0] @ first[1]) > 0.8  # Swedish and English twins are close
    again = encoder.encode(["min son vill inte gå till skolan"])
    assert np.array_equal(again[0], first[0]) and counted.calls == 1
    encoder.encode(["a", "b", "c"])  # the cache keeps two: the oldest went
    encoder.encode(["min son vill inte gå till skolan"])
    assert counted.calls == 3
    assert encoder.encode([]).shape == (0, 384)


def test_the_encoder_setting_swaps_or_switches_off_the_semantic_tier() -> None:
    assert load_encoder("none") is None
    assert load_encoder("e5") is load_encoder("e5")  # one per process
    assert load_encoder("tests.test_triage:_tiny_encoder").name == "tiny"
    with pytest.raises(ValueError, match="module:factory"):
        load_encoder("nonsense")
    with pytest.raises(ValueError, match="retrain"):
        Triage.load(load_encoder("tests.test_triage:_tiny_encoder"))  # model is for e5
    assert Triage.load(None).model is None


@pytest.mark.slow  # 600 held-out messages encoded
def test_shipped_model_on_held_out_writers(triage: Triage) -> None:
    rows = _held_out()
    judged = [(bool(r["urgent"]), triage.assess(str(r["text"]))) for r in rows]
    acute = [u for truth, u in judged if truth]
    flagged = [truth for truth, u in judged if u.urgent]
    # Guards of the shipped model as measured (bench/triage_eval.py), not goals: the goal of
    # every acute message getting 112 first is missed by one message of 300 (README).
    assert sum(u.urgent for u in acute) / len(acute) >= 0.96  # recall
    assert sum(flagged) / len(flagged) >= 0.90  # precision
    assert sum(u.level != "none" for u in acute) / len(acute) >= 0.99  # 112 first


def test_laughter_and_emoji_never_silence_danger(triage: Triage) -> None:
    acute = [str(r["text"]) for r in _held_out() if r["urgent"]][:60]
    for text in acute:
        before = triage.assess(text).level
        for joke in (" lol", " 😅", " haha 😂 lol"):
            after = triage.assess(text + joke).level
            assert after != "none", text + joke
            assert before != "urgent" or after == "urgent", text + joke
    assert calm("han slår mig just nu 😅 lol") == "han slår mig just nu"


def test_odd_input_gets_an_answer(triage: Triage) -> None:
    for text in ["", "   ", "😭😭😭", "ابني لا يريد الذهاب إلى المدرسة", "x" * 10_000, "å" * 3000]:
        assert triage.assess(text).level in {"urgent", "caution", "none"}
    long = "Min son vill inte gå till skolan. " * 400
    assert len(units(long)[0]) <= 2000


@dataclass(frozen=True)
class _Scored(Triage):
    """The policy with a fixed model score, to test each branch on its own."""

    p: float = 0.0
    sentence: float = 0.0
    kind: str = "poisoning"

    def score(self, text: str, *, sentences: bool = True) -> Scored:
        return Scored(self.p, self.sentence, self.kind)


@pytest.fixture(scope="module")
def model() -> TriageModel:
    return TriageModel.load()


def test_policy_urgent_caution_none(model: TriageModel) -> None:
    rules = UrgencyRules.load()
    harmless = "Var finns öppen förskola i Degerfors?"
    ruled = "Min dotter har skrivit ett avskedsbrev och jag hittar henne inte"
    high, mid = model.urgent_at + 0.01, (model.caution_at + model.urgent_at) / 2

    confident = _Scored(rules, model, None, p=high).assess(harmless)
    assert confident.urgent and confident.kind == "poisoning"
    assert confident.services[0] == "SOS Alarm 112"
    unsure = _Scored(rules, model, None, p=mid).assess(harmless)
    assert unsure.level == "caution" and unsure.services == ("SOS Alarm 112",)
    assert _Scored(rules, model, None, p=0.0).assess(harmless).level == "none"
    # One sentence of a long message reads as acute on its own: caution, not urgent.
    sentence = _Scored(rules, model, None, p=0.0, sentence=high).assess(harmless)
    assert sentence.level == "caution"
    # The rules fire: urgent with the rule's kind, unless the model is sure it is harmless.
    assert _Scored(rules, model, None, p=mid).assess(ruled).kind == "suicide"
    vetoed = _Scored(rules, model, None, p=model.veto_below / 2).assess(ruled)
    assert vetoed.level == "caution"
    # Without a model (ENCODER=none) the rules judge alone.
    assert Triage(rules).assess(ruled).urgent and Triage(rules).assess(harmless).score is None


class _Counting:
    def __init__(self, inner: E5Encoder) -> None:
        self.inner, self.name, self.dim, self.calls = inner, inner.name, inner.dim, 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return self.inner.encode(texts)

    def passage(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return self.inner.passage(texts)


class _Tiny:
    name, dim = "tiny", 4

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 4), dtype=np.float32) / 2

    def passage(self, texts: list[str]) -> np.ndarray:
        return self.encode(texts)


def _tiny_encoder() -> _Tiny:
    return _Tiny()


@pytest.mark.slow
def test_the_training_script_runs_on_a_small_slice(tmp_path: Path) -> None:
    from tools.train_triage import main

    out = tmp_path / "model.npz"
    assert main(["--slice", "40", "--embedded", "4", "--no-cache", "--out", str(out)]) == 0
    trained = TriageModel.load(out)
    assert trained.encoder == E5Encoder.name and len(trained.kinds) >= 2
    assert 0 < trained.caution_at <= trained.urgent_at < 1
    vectors = E5Encoder().encode(["hej", "hjälp"])
    assert trained.probability(vectors, ["hej", "hjälp"]).shape == (2,)
