"""`studytool grade` and `studytool calibrate`, and grading in `review --plain`, on the real model."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from studytool.cli import main
from studytool.core.models import Card, ReviewLog
from studytool.core.store import open_store

from .conftest import NOW

DECK = """+++
name = "Grading deck"
+++
Q: What does the KV cache store, and why?
A: The keys and values of every earlier token, for every layer, so each new token does not recompute them.
id: kv
R:
- says it stores keys and values
- says it is kept for every layer
- says it avoids recomputing earlier tokens
"""
CLOZE_DECK = """+++
name = "Cloze deck"
+++
C: GPT-2 reads at most [1024] tokens at once.
R: says 1024 tokens
id: ctx

---

C: Llama 3's vocabulary has about [128,000] tokens; GPT-2's has [50,257].
id: vocab
"""


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["--no-bundled-decks", *args], input=stdin, catch_exceptions=False)


def _deck(tmp_path: Path) -> None:
    path = tmp_path / "grading.md"
    path.write_text(DECK, encoding="utf-8")
    assert run("import", str(path)).exit_code == 0


def test_grade_a_stored_card(tmp_path: Path) -> None:
    _deck(tmp_path)
    result = run("grade", "--card", "kv", "--answer", "Keys and values per layer, so nothing is recomputed.")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Score ") and "→ suggested" in lines[0]
    assert "says it stores keys and values" in result.output
    missing = run("grade", "--card", "nope", "--answer", "x")
    assert missing.exit_code == 1 and "no card with id 'nope'" in missing.output


def test_grade_a_cloze_card_grades_its_hidden_words(tmp_path: Path) -> None:
    _deck(tmp_path)
    (tmp_path / "cloze.md").write_text(CLOZE_DECK, encoding="utf-8")
    assert run("import", str(tmp_path / "cloze.md")).exit_code == 0
    right = run("grade", "--card", "ctx", "--answer", "1024")
    assert right.exit_code == 0, right.output
    assert right.output.startswith("Score 1.00 → suggested Good") and "says 1024 tokens" in right.output
    wrong = run("grade", "--card", "ctx", "--json", "--answer", "2048 tokens")
    assert json.loads(wrong.output)["suggested_rating"] <= 2
    # Several deletions: each is its own card, graded against its own hidden words.
    several = run("grade", "--card", "vocab", "--answer", "50,257")
    assert several.exit_code == 1 and "deletion(s) 1, 2; choose the one" in several.output
    second = run("grade", "--card", "vocab", "--ordinal", "2", "--answer", "50,257")
    assert second.output.startswith("Score 1.00")
    assert run("grade", "--card", "kv", "--ordinal", "1", "-a", "x").exit_code == 1


def test_grade_question_reference_criteria_as_json() -> None:
    result = run(
        "grade", "--question", "What does the KV cache store?",
        "--reference", "The keys and values of earlier tokens.",
        "--criterion", "says keys", "--criterion", "says values",
        "--answer", "It keeps the keys and the values.", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"criteria", "score", "suggested_rating", "reference_similarity", "truncated"}
    assert [c["criterion"] for c in data["criteria"]] == ["says keys", "says values"]
    assert data["suggested_rating"] in (1, 2, 3, 4)


def test_grade_reads_the_answer_from_standard_input() -> None:
    result = run(
        "grade", "-q", "Q?", "-r", "keys and values", "-a", "-", "--json", stdin="keys and values\n"
    )
    assert result.exit_code == 0 and json.loads(result.output)["score"] > 0.3


def test_grade_batch_keeps_order_and_reports_bad_lines(tmp_path: Path) -> None:
    batch = tmp_path / "answers.jsonl"
    lines = [
        {"question": "What is greedy decoding?", "reference": "Always taking the most likely token.",
         "criteria": ["says most likely token"], "answer": "Picking the highest-probability token each step."},
        "not json",
        {"question": "Q", "reference": "R", "answer": ""},
        {"question": "Q", "reference": 3, "answer": "x"},
        {"question": "What is greedy decoding?", "reference": "Always taking the most likely token.",
         "answer": "Sampling at random from the whole vocabulary."},
    ]  # fmt: skip
    batch.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    result = run("grade", "--batch", str(batch))
    assert result.exit_code == 1
    output = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [item["line"] for item in output] == [1, 2, 3, 4, 5]
    assert output[0]["suggested_rating"] in (1, 2, 3, 4) and len(output[0]["criteria"]) == 1
    assert output[1]["error"].startswith(f"{batch}:2: ")
    assert output[2]["suggested_rating"] == 1 and output[2]["score"] == 0.0
    assert output[3]["error"] == f'{batch}:4: "reference" must be a string'
    assert output[4]["score"] < output[0]["score"]
    assert "2 line(s) of the batch could not be graded" in result.output


def test_grade_usage_errors() -> None:
    assert run("grade", "--answer", "x").exit_code == 2
    assert run("grade", "-q", "Q", "--answer", "x").exit_code == 2
    both = run("grade", "--card", "kv", "-q", "Q", "-r", "R", "-a", "x")
    assert both.exit_code == 2 and "give one of" in both.output


def test_grade_a_blank_answer_needs_no_model(monkeypatch) -> None:
    monkeypatch.setenv("STUDYTOOL_JUDGE_DIR", "/no/such/model")
    result = run("grade", "-q", "Q", "-r", "R", "-a", "   ", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["suggested_rating"] == 1
    broken = run("grade", "-q", "Q", "-r", "R", "-a", "an answer")
    assert broken.exit_code == 1
    assert "The grader's files are missing (/no/such/model/manifest.json not found)" in broken.output


def test_plain_review_grades_typed_answers_and_stores_both_grades(tmp_path: Path) -> None:
    _deck(tmp_path)
    script = "It keeps the keys and values of each layer\nso earlier tokens are not recomputed\n\nf2\n\n"
    result = run("review", "--plain", stdin=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Score " in out and "1. " in out and "Enter = " in out
    assert "Saved: " in out
    store = open_store()
    with store.session() as session:
        (log,) = session.scalars(select(ReviewLog)).all()
    store.close()
    assert log.auto_score is not None and log.auto_rating in (1, 2, 3, 4)
    assert log.auto_grade["by"] == "grader" and len(log.auto_grade["criteria"]) == 3
    assert log.final_grade["by"] == "learner" and log.final_grade["changed"] is True
    assert log.final_grade["criteria"][1]["verdict"] != log.auto_grade["criteria"][1]["verdict"]
    assert log.rating == log.final_grade["rating"]


def test_plain_review_goes_on_when_the_model_is_missing(tmp_path: Path, monkeypatch) -> None:
    _deck(tmp_path)
    monkeypatch.setenv("STUDYTOOL_JUDGE_DIR", str(tmp_path / "gone"))
    result = run("review", "--plain", stdin="keys and values\n\n3\n")
    assert result.exit_code == 0, result.output
    assert "Grading is off for this session:" in result.output
    assert "Rubric:" in result.output and "Saved: Good" in result.output


def test_calibrate_needs_enough_graded_reviews_then_saves_cut_points(tmp_path: Path) -> None:
    _deck(tmp_path)
    assert "0 graded review(s) so far" in run("calibrate").output
    from studytool.ml.judge import shipped_version

    store = open_store()
    with store.session() as session:
        card = session.scalars(select(Card)).one()
        # The learner rated everything above 0.2 Good and everything below Again.
        for index in range(60):
            score = index / 60
            session.add(
                ReviewLog(
                    card_id=card.id, rating=3 if score >= 0.2 else 1, state_before=2,
                    reviewed_at=NOW + timedelta(minutes=index), auto_score=score, auto_rating=2,
                    auto_grade={"by": "grader", "grader": shipped_version(), "score": score},
                )
            )  # fmt: skip
        # Grades by an older grader: its scores are on another scale, so they do not count.
        for _ in range(40):
            session.add(
                ReviewLog(
                    card_id=card.id, rating=4, state_before=2, reviewed_at=NOW - timedelta(days=1),
                    auto_score=0.01, auto_rating=1, auto_grade={"by": "grader", "grader": "embedding-1:0"},
                )
            )  # fmt: skip
        session.commit()
    store.close()
    dry = run("calibrate", "--dry-run")
    assert "Fitted on 60 graded reviews." in dry.output and "Not saved" in dry.output
    saved = run("calibrate")
    assert "suggestion = your rating:" in saved.output and "→ 100%" in saved.output
    values = json.loads(run("settings", "grade_thresholds").output.split(" = ")[1])
    assert len(values) == 3 and abs(values[1] - 0.2) < 0.02
    assert "Back to the shipped cut points" in run("calibrate", "--reset").output
    assert run("settings", "grade_thresholds").output.strip() == "grade_thresholds = null"
