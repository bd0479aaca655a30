"""Swedish normalisation: folding, stems, compounds, typos."""

from __future__ import annotations

import pytest

from directory.text import Vocabulary, fold, stem, tokens, words


def test_fold_removes_case_and_diacritics() -> None:
    assert fold("Skolfrånvaro ÄR Över") == "skolfranvaro ar over"
    assert fold("Café") == "cafe"


def test_words_split_on_punctuation_and_hyphens() -> None:
    assert words("IOR-samarbete, 4-åring!") == ["ior", "samarbete", "4", "aring"]


def test_tokens_keep_the_written_form() -> None:
    assert tokens("Vad är SIG?") == [("vad", "Vad"), ("ar", "är"), ("sig", "SIG")]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("skolan", "skola"),
        ("kuratorn", "kurator"),
        ("socialtjänsten", "socialtjänst"),
        ("föräldrarna", "föräldrar"),
        ("tabletter", "tablett"),
        ("gått", "går"),
        ("gick", "gå"),
    ],
)
def test_inflected_forms_share_a_stem(a: str, b: str) -> None:
    assert stem(fold(a)) == stem(fold(b))


def test_different_words_keep_different_stems() -> None:
    assert stem("skola") != stem("skolk")


@pytest.fixture
def vocab() -> Vocabulary:
    return Vocabulary(
        words("skola frånvaro hemma sitta missbruk problem sömn tablett föräldrar möte kurator")
    )


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("skolfranvaro", ("skola", "frånvaro")),
        ("hemmasittare", ("hemma", "sitta")),
        ("missbruksproblem", ("missbruk", "problem")),
        ("somntabletter", ("sömn", "tabletter")),
        ("foraldramote", ("föräldrar", "möte")),
    ],
)
def test_compounds_split_into_known_parts(vocab: Vocabulary, word: str, parts: tuple) -> None:
    assert vocab.split(word) == tuple(stem(fold(p)) for p in parts)


def test_unknown_or_short_words_do_not_split(vocab: Vocabulary) -> None:
    assert vocab.split("elefantsnabel") == ()
    assert vocab.split("skola") == ()


def test_typos_map_to_the_nearest_known_word(vocab: Vocabulary) -> None:
    assert vocab.correct("kuratr") == "kurator"
    assert vocab.correct("missbrukk") == "missbruk"


def test_typo_correction_leaves_known_short_and_far_words(vocab: Vocabulary) -> None:
    assert vocab.correct("kurator") is None  # known already
    assert vocab.correct("kurtr") is None  # under six letters: too many real words nearby
    assert vocab.correct("zebra") is None
