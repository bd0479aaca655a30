"""Example questions vote for services (directory.examples), and only when they are near."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from directory.examples import ABSTAIN_AT, Examples
from directory.ranking import Candidate, RankingModel


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def bank() -> Examples:
    return Examples.of(
        np.vstack([unit(1, 0, 0), unit(0.99, 0.14, 0), unit(0, 1, 0)]),
        [["1177 Vårdguiden"], ["1177 Vårdguiden", "BUP"], ["Elevhälsan"]],
        ["r01", "r02", "r03"],
        encoder="test",
    )


def test_the_nearest_examples_vote_and_the_closest_counts_most() -> None:
    votes = bank().votes(unit(1, 0.05, 0))
    assert set(votes) == {"1177 vardguiden", "bup", "elevhalsan"}  # folded names
    assert votes["1177 vardguiden"] > 0.99  # both near examples name it
    assert votes["elevhalsan"] < 1e-6  # far: exp(-cosine gap / temperature)
    assert 0.3 < votes["bup"] < 0.7


def test_a_question_unlike_every_example_gets_no_vote() -> None:
    far = unit(0, 0, 1) * 0.5 + unit(1, 0, 0) * 0.5
    assert float(bank().vectors[0] @ (far / np.linalg.norm(far))) < ABSTAIN_AT
    assert bank().votes(far / np.linalg.norm(far)) == {}


def test_a_writer_is_never_voted_for_by_their_own_questions() -> None:
    rest = bank().without({"r01", "r02"})
    assert rest.writers == ("r03",)
    assert set(rest.votes(unit(0, 1, 0))) == {"elevhalsan"}


def test_saved_examples_load_back_for_their_encoder_only(tmp_path: Path) -> None:
    path = tmp_path / "examples.npz"
    bank().save(path)
    loaded = Examples.load("test", path)
    assert loaded is not None
    assert loaded.answers == bank().answers and loaded.writers == bank().writers
    assert np.allclose(loaded.vectors, bank().vectors, atol=1e-3)
    assert Examples.load("another-encoder", path) is None
    assert Examples.load("test", tmp_path / "missing.npz") is None


def test_the_bundled_examples_hold_no_held_out_writer() -> None:
    from tools.train_ranking import HELD_OUT

    model = RankingModel.load()
    bundled = Examples.load("multilingual-e5-small-q4")  # directory.encoder's e5
    assert bundled is not None and len(bundled.writers) >= 600
    assert not set(bundled.writers) & set(HELD_OUT)
    assert model.alone is not None  # questions no example is near rank without them


def test_without_a_near_example_the_model_without_examples_ranks() -> None:
    alone = RankingModel((1.0,) + (0.0,) * 9, 0.0, 0.5)
    model = RankingModel((0.0,) * 9 + (1.0,), 0.0, 0.5, alone=alone)

    def candidate(near: bool) -> Candidate:
        return Candidate(doc=0, lexical=0.9, lexical_rank=0, dense_gap=0.0, dense_rank=0,
                         helpline=False, coordinator=False, local=True, narrow=False,
                         triage="none", neighbours=0.0, near=near)  # fmt: skip

    far, near = [candidate(False)], [candidate(True)]
    assert model.pick(far) is alone
    assert model.pick(near) is model
