"""`familjeguiden match`: the evaluation contract (JSON lines in, JSON lines out)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from directory.cli import answer_lines, parse_line
from directory.matcher import Matcher
from tests import factories

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return factories.small_matcher()


def run_lines(m: Matcher, lines: list[str]) -> list[dict]:
    out = io.StringIO()
    answer_lines(m, io.StringIO("\n".join(lines) + "\n"), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_answer_per_line_in_order(matcher: Matcher) -> None:
    answers = run_lines(
        matcher,
        [
            json.dumps({"text": "skolfrånvaro", "municipality": None, "age": None}),
            json.dumps({"text": "fritid kompisar", "municipality": "Osby", "age": 12}),
        ],
    )
    assert [a["results"][0]["name"] for a in answers] == ["Elevhälsan", "Fritidsgården Osby"]
    for a in answers:
        assert a["urgent"] is False
        assert all(set(r) >= {"name", "score"} for r in a["results"])
        assert len(a["results"]) >= 3


def test_bad_lines_get_an_error_and_the_rest_still_run(matcher: Matcher) -> None:
    good = json.dumps({"text": "kurator", "municipality": None, "age": None})
    answers = run_lines(
        matcher,
        ["{not json", '["a list"]', '{"text": 5}', '{"text": "x", "age": "old"}', "", good],
    )
    assert len(answers) == 5  # the blank line is not an input
    for bad in answers[:4]:
        assert bad["results"] == [] and bad["urgent"] is False and bad["error"]
    assert "text" in answers[2]["error"] and "age" in answers[3]["error"]
    assert answers[4]["results"][0]["name"] == "Elevhälsan"


def test_parse_line_accepts_nulls_and_numeric_strings() -> None:
    q = parse_line('{"text": "hej", "municipality": null, "age": "7"}')
    assert (q.text, q.municipality, q.age) == ("hej", None, 7)


@pytest.mark.slow
def test_the_installed_command_answers_jsonl_on_a_fresh_database(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fg.db'}"}
    lines = [
        {"text": "Min son 14 vill inte gå till skolan", "municipality": None, "age": 14},
        {
            "text": "min 4-åring är borta, vi hittar honom inte vid sjön",
            "municipality": None,
            "age": None,
        },
        "not json",
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "match", "--jsonl"],
        input=stdin, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=True,
    )  # fmt: skip
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == 3
    assert "Elevhälsan" in [r["name"] for r in answers[0]["results"][:3]]
    assert answers[1]["urgent"] is True and answers[1]["triage"] == "urgent"
    assert answers[1]["results"][0]["name"] == "SOS Alarm 112"
    assert answers[2]["error"] and answers[2]["results"] == []


def test_single_question_prints_json_and_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fg.db'}")
    assert main(["match", "vi bor i Osby och vår son har autism", "--age", "6", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["municipality"] == "Osby" and answer["age"] == 6
    assert answer["results"][0]["name"] == "Barn- och ungdomshabiliteringen"
    assert main(["match", "min son skolkar", "--municipality", "Degerfors"]) == 0
    text = capsys.readouterr().out
    assert "Kommun: Degerfors" in text and "1. Elevhälsan" in text


def test_missing_question_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["match"]) == 2
    assert "skriv en fråga" in capsys.readouterr().err
