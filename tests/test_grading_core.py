"""The grading core without a model: thresholds, calibration, self-grading, loading, card inputs."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence

import pytest

from studytool.core import grading
from studytool.core.grading import (
    BackgroundGrader,
    CriterionResult,
    GradeResult,
    GraderUnavailable,
    GradingInputs,
    MistakeFound,
    RatingThresholds,
    SelfGrade,
    Verdict,
)
from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.ratings import Rating


def test_thresholds_map_scores_to_ratings_and_reject_bad_cut_points() -> None:
    cuts = RatingThresholds(0.3, 0.6, 0.9)
    assert [cuts.rating_for(s) for s in (0.0, 0.29, 0.3, 0.6, 0.89, 0.9, 1.0)] == [
        Rating.AGAIN, Rating.AGAIN, Rating.HARD, Rating.GOOD, Rating.GOOD, Rating.EASY, Rating.EASY,
    ]  # fmt: skip
    for bad in ((0.6, 0.3, 0.9), (-0.1, 0.5, 0.9), (0.1, 0.5, 1.5), (0.1, float("nan"), 0.9)):
        with pytest.raises(ValueError):
            RatingThresholds(*bad)
    shipped = RatingThresholds.default()
    assert 0 <= shipped.hard <= shipped.good <= shipped.easy <= 1


def test_fit_thresholds_needs_enough_pairs_and_two_ratings() -> None:
    assert grading.fit_thresholds([(0.5, Rating.GOOD)] * 29) is None
    assert grading.fit_thresholds([(0.5, Rating.GOOD)] * 100) is None  # one rating says nothing


def test_fit_thresholds_recovers_the_learners_cut_points() -> None:
    rng = random.Random(7)
    truth = RatingThresholds(0.2, 0.5, 0.8)
    pairs = [(score, truth.rating_for(score)) for score in (rng.random() for _ in range(400))]
    fitted = grading.fit_thresholds(pairs)
    assert fitted is not None
    for mine, real in zip(
        (fitted.hard, fitted.good, fitted.easy), (truth.hard, truth.good, truth.easy), strict=True
    ):
        assert abs(mine - real) < 0.02
    assert all(fitted.rating_for(s) == r for s, r in pairs)


def test_calibrate_reports_agreement_before_and_after() -> None:
    truth = RatingThresholds(0.1, 0.3, 0.5)
    pairs = [(i / 100, truth.rating_for(i / 100)) for i in range(100)]
    result = grading.calibrate(pairs, RatingThresholds(0.4, 0.7, 0.95))
    assert result.pairs == 100 and result.thresholds is not None
    assert result.agreement_before is not None and result.agreement_before < 0.5
    assert result.agreement_after == 1.0
    empty = grading.calibrate([])
    assert empty.thresholds is None and empty.agreement_before is None


def test_truncation_keeps_a_prefix_and_says_so() -> None:
    answer = " ".join(f"w{i}" for i in range(10_000))
    cut, truncated = grading.truncate_answer(answer)
    assert truncated and answer.startswith(cut)
    assert len(cut.split()) == grading.MAX_ANSWER_WORDS
    assert grading.truncate_answer("short answer") == ("short answer", False)


@pytest.mark.parametrize(
    ("kind", "ordinal", "has_criteria", "exact"),
    [
        ("basic", 0, True, False),
        ("interview", 0, True, False),
        ("reversed", 0, True, False),
        ("reversed", 1, False, False),
        ("cloze", 0, False, True),
    ],
)
def test_grading_inputs_apply_the_rubric_only_where_it_describes_the_answer(
    kind: str, ordinal: int, has_criteria: bool, exact: bool
) -> None:
    inputs = grading.grading_inputs(kind, ordinal, "front", "expected", ["one", "two"])
    assert inputs.question == "front" and inputs.reference == "expected"
    assert inputs.criteria == (["one", "two"] if has_criteria else [])
    assert inputs.exact is exact


def test_exact_match_ignores_case_spacing_and_punctuation() -> None:
    assert grading.matches_exactly("  Key-Value  cache. ", "key value cache")
    assert not grading.matches_exactly("value cache", "key value cache")
    assert not grading.matches_exactly("", "")


def _auto(verdicts: list[Verdict], rating: int = Rating.GOOD) -> GradeResult:
    return GradeResult(
        criteria=[CriterionResult(f"c{i}", v, 0.5) for i, v in enumerate(verdicts)],
        reference_similarity=0.7,
        score=0.7,
        suggested_rating=rating,
    )


def test_self_grading_flips_criteria_and_moves_the_suggestion() -> None:
    auto = _auto([Verdict.MET, Verdict.MET], Rating.GOOD)
    self_grade = SelfGrade.start(["c0", "c1"], auto)
    assert self_grade.suggested_rating == Rating.GOOD and not self_grade.flipped
    assert self_grade.final_record(Rating.GOOD) == {
        "by": "grader",
        "rating": Rating.GOOD,
        "changed": False,
        "criteria": [
            {"criterion": "c0", "verdict": "met"},
            {"criterion": "c1", "verdict": "met"},
        ],
    }
    assert self_grade.flip(1) is Verdict.PARTLY
    assert self_grade.suggested_rating == Rating.HARD  # 1.5 of 2
    assert self_grade.flip(1) is Verdict.MISSED
    assert self_grade.flip(0) is Verdict.PARTLY
    assert self_grade.suggested_rating == Rating.AGAIN  # 0.5 of 2
    record = self_grade.final_record(Rating.HARD)
    assert record["by"] == "learner" and record["changed"] and record["rating"] == Rating.HARD
    assert [c["verdict"] for c in record["criteria"]] == ["partly", "missed"]
    assert self_grade.flip(1) is Verdict.MET  # the cycle comes round


def test_self_grading_without_an_automatic_grade() -> None:
    self_grade = SelfGrade.start(["a", "b"], None)
    assert self_grade.verdicts == [Verdict.MISSED, Verdict.MISSED]
    assert self_grade.suggested_rating is None
    assert self_grade.flip(0) is Verdict.MET  # missed → met
    assert self_grade.flip(1) is Verdict.MET
    assert self_grade.suggested_rating == Rating.GOOD  # both met
    assert self_grade.final_record(Rating.EASY)["by"] == "learner"


def test_auto_grade_record_keeps_spans_and_verdicts() -> None:
    result = GradeResult(
        criteria=[CriterionResult("says x", Verdict.PARTLY, 0.41, "x-ish", (3, 8))],
        reference_similarity=0.5,
        score=0.45,
        suggested_rating=Rating.HARD,
        truncated=True,
    )
    record = result.to_record()
    assert record["by"] == "grader" and record["rating"] == Rating.HARD and record["score"] == 0.45
    assert record["criteria"][0] == {
        "criterion": "says x",
        "verdict": "partly",
        "similarity": 0.41,
        "evidence_span": [3, 8],
        "contradicted": False,
    }
    assert GradeResult.from_json(result.to_json()) == result


def _contradicting_grade(score: float) -> GradeResult:
    return GradeResult(
        criteria=[
            CriterionResult("says it stores keys", Verdict.MISSED, 0.9, "does not store keys", (4, 23), True),
            CriterionResult("says per layer", Verdict.MET, 0.8, "every layer", (30, 41)),
        ],
        reference_similarity=0.2,
        score=score,
        suggested_rating=Rating.HARD,
        mistakes=[MistakeFound("the cache stores attention weights", 0.8, "attention weights", (50, 67))],
        rating_ceiling=Rating.HARD,
    )


def test_a_contradiction_or_known_mistake_caps_the_suggestion_at_hard_whatever_the_cut_points() -> None:
    result = _contradicting_grade(0.95)
    generous = RatingThresholds(0.05, 0.1, 0.2)
    assert result.with_thresholds(generous).suggested_rating == Rating.HARD
    assert result.with_thresholds(RatingThresholds(0.96, 0.97, 0.98)).suggested_rating == Rating.AGAIN
    record = result.to_record()
    assert record["rating_ceiling"] == Rating.HARD and record["criteria"][0]["contradicted"] is True
    assert record["mistakes"][0]["mistake"] == "the cache stores attention weights"
    assert GradeResult.from_json(result.to_json()) == result
    lines = grading.format_grade(result)
    assert "✗ contradicted says it stores keys" in lines[1]
    assert "“does not store keys”" in lines[2]
    assert any("Known mistake: the cache stores attention weights" in line for line in lines)


def test_a_contradicted_criterion_is_always_missed() -> None:
    with pytest.raises(ValueError, match="contradicted criterion is missed"):
        CriterionResult("says x", Verdict.MET, 0.9, contradicted=True)


def test_not_sure_suggests_nothing_and_stays_unsure_with_any_cut_points() -> None:
    unsure = GradeResult([], 0.5, 0.6, None, notes=[grading.NOT_SURE_NOTE], unsure=True)
    assert unsure.rating_name == "not sure"
    assert unsure.with_thresholds(RatingThresholds(0.1, 0.2, 0.3)).suggested_rating is None
    assert SelfGrade.start([], unsure).suggested_rating is None
    assert grading.format_grade(unsure)[0] == "Score 0.60 → not sure: compare with the model answer"
    assert GradeResult.from_json(unsure.to_json()) == unsure
    with pytest.raises(ValueError, match="only an unsure grade"):
        GradeResult([], 0.5, 0.6, None)


def test_known_mistakes_go_with_the_rubric() -> None:
    forward = grading.grading_inputs("basic", 0, "q", "r", ["c"], mistakes=["m"])
    reverse = grading.grading_inputs("reversed", 1, "q", "r", ["c"], mistakes=["m"])
    assert forward.mistakes == ["m"] and reverse.mistakes == [] and reverse.criteria == []


def _failing_loader() -> grading.Grader:
    raise GraderUnavailable("The embedding model used for grading is not installed. Install it")


def test_blank_answers_are_graded_again_without_loading_the_model() -> None:
    def must_not_load() -> grading.Grader:
        raise AssertionError("the model was loaded for a blank answer")

    background = BackgroundGrader(load=must_not_load)
    result = background.grade(GradingInputs("q", "r", ["one"]), "  \n\t ")
    assert result.suggested_rating == Rating.AGAIN and result.score == 0.0
    assert [c.verdict for c in result.criteria] == [Verdict.MISSED]
    assert background.state == "idle"


def test_exact_cloze_answers_need_no_model() -> None:
    background = BackgroundGrader(load=_failing_loader)
    result = background.grade(GradingInputs("The {{...}} stores", "KV cache", [], exact=True), "kv cache")
    assert result.suggested_rating == Rating.GOOD and result.score == 1.0


def test_a_missing_model_is_a_clear_error_not_a_crash() -> None:
    background = BackgroundGrader(load=_failing_loader)
    background.start()
    with pytest.raises(GraderUnavailable, match="not installed. Install it"):
        background.grade(GradingInputs("q", "r", []), "an answer")
    assert background.state == "failed" and background.error is not None


def test_an_unexpected_loading_error_is_reported_too() -> None:
    def broken() -> grading.Grader:
        raise RuntimeError("boom")

    background = BackgroundGrader(load=broken)
    with pytest.raises(GraderUnavailable, match=r"could not be loaded \(RuntimeError: boom\)"):
        background.wait(timeout=5)


class _FixedGrader:
    """Stands in for the model only to check the wrapper's own logic (thresholds, errors)."""

    version = "fixed-test-grader"

    def __init__(self, score: float, fail: bool = False) -> None:
        self.score, self.fail = score, fail

    def grade(
        self, question: str, reference: str, criteria: list[str], answer: str, mistakes: Sequence[str] = ()
    ) -> GradeResult:
        if self.fail:
            raise IndexError("grader bug")
        return GradeResult([], 0.5, self.score, RatingThresholds.default().rating_for(self.score))


def test_the_learners_calibrated_thresholds_decide_the_suggestion() -> None:
    background = BackgroundGrader(load=lambda: _FixedGrader(0.5))
    assert background.grade(GradingInputs("q", "r", []), "a").suggested_rating == (
        RatingThresholds.default().rating_for(0.5)
    )
    background.set_thresholds(RatingThresholds(0.1, 0.2, 0.45))
    assert background.grade(GradingInputs("q", "r", []), "a").suggested_rating == Rating.EASY


def test_a_grader_failure_on_one_answer_becomes_grader_unavailable() -> None:
    background = BackgroundGrader(load=lambda: _FixedGrader(0.5, fail=True))
    with pytest.raises(GraderUnavailable, match="failed on this answer"):
        background.grade(GradingInputs("q", "r", []), "a")


def test_loading_happens_once_across_threads() -> None:
    calls = []
    gate = threading.Event()

    def slow() -> grading.Grader:
        calls.append(1)
        gate.wait(5)
        return _FixedGrader(0.9)

    background = BackgroundGrader(load=slow)
    for _ in range(5):
        background.start()
    assert background.state == "loading"
    gate.set()
    background.wait(5)
    assert calls == [1] and background.state == "ready"


def test_card_grading_inputs_by_key(store) -> None:
    text = "Q: What is a token?\nA: A piece of text.\nid: tok\nR:\n- says piece of text\n"
    sync_deck(store, parse_text(text, "one.md"), deck_name="One")
    sync_deck(store, parse_text(text, "two.md"), deck_name="Two")
    sync_deck(store, parse_text("Q: Other?\nA: x\nid: other\n", "three.md"), deck_name="Three")
    with pytest.raises(grading.CardNotFound, match="2 decks have a card 'tok' .*--deck"):
        grading.card_grading_inputs(store, "tok")
    inputs = grading.card_grading_inputs(store, "tok", deck="One")
    assert inputs == GradingInputs("What is a token?", "A piece of text.", ["says piece of text"])
    with pytest.raises(grading.CardNotFound, match="no card with id 'nope'"):
        grading.card_grading_inputs(store, "nope")


def test_format_grade_lists_criteria_with_evidence() -> None:
    result = GradeResult(
        criteria=[
            CriterionResult("says keys", Verdict.MET, 0.9, "the keys", (0, 8)),
            CriterionResult("says per layer", Verdict.MISSED, 0.1),
        ],
        reference_similarity=0.8,
        score=0.62,
        suggested_rating=Rating.GOOD,
        notes=["The answer is longer than 1,000 words; only the first 1,000 were graded."],
    )
    lines = grading.format_grade(result, numbered=True)
    assert lines[0] == "Score 0.62 → suggested Good"
    assert lines[1] == "  1. ✓ met     says keys"
    assert lines[2].strip() == "“the keys”"
    assert lines[3] == "  2. ✗ missed  says per layer"
    assert lines[-1].startswith("  Note: The answer is longer")
