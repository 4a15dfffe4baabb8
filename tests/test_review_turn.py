"""The review turn in core (studytool.core.review_turn), which the Review screen and plain
review both drive: what a reveal grades, what a rating stores, and undo as a stack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from studytool.core.grading import CriterionResult, GradeResult, GraderUnavailable, Verdict
from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Card, ReviewLog
from studytool.core.ratings import Rating
from studytool.core.review_turn import GradingPlan, Review
from studytool.core.study import StudySession

from .conftest import NOW

DECK = """+++
name = "Turns"
+++
Q: What does the KV cache store?
A: The keys and values of earlier tokens.
R:
- says it stores keys and values
- says earlier tokens are not recomputed
H: think of attention's inputs

Q: Second?
A: two

Q: Third?
A: three
"""


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.seconds = 0.0

    def wall(self):
        return self.now

    def monotonic(self) -> float:
        return self.seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def review(store, settings, clock) -> Review:
    sync_deck(store, parse_text(DECK, "turns.md"), now=NOW - timedelta(days=1))
    session = StudySession(store, settings=settings)
    return Review(session, clock=clock.wall, timer=clock.monotonic)


def a_grade(verdicts: list[Verdict], suggested: int = 3) -> GradeResult:
    criteria = [
        CriterionResult(criterion=text, verdict=verdict, similarity=0.9)
        for text, verdict in zip(
            ["says it stores keys and values", "says earlier tokens are not recomputed"],
            verdicts,
            strict=True,
        )
    ]
    return GradeResult(
        criteria=criteria, reference_similarity=0.8, score=0.8, suggested_rating=suggested
    )


def card_flags(store, card_id: int) -> tuple[bool, object]:
    with store.session() as session:
        card = session.get(Card, card_id)
        return card.suspended, card.buried_until


def log_rows(store) -> list[ReviewLog]:
    with store.session() as session:
        return list(session.scalars(select(ReviewLog).order_by(ReviewLog.id)))


def test_a_submitted_answer_is_graded_and_stored_with_its_grade(review, store, clock) -> None:
    turn = review.next_card()
    assert turn.card.front == "What does the KV cache store?"
    assert review.hint() == "think of attention's inputs"
    assert review.hint() is None
    assert review.reveal("keys and values", submit=True) is GradingPlan.GRADE
    review.graded(a_grade([Verdict.MET, Verdict.MISSED], suggested=2))
    assert turn.suggested_rating == 2
    clock.seconds = 4.2
    result = review.rate(Rating.HARD)
    assert result.rating is Rating.HARD
    assert review.turn.card.front == "Second?"
    (log,) = log_rows(store)
    assert (log.typed_answer, log.auto_rating, log.duration_ms) == ("keys and values", 2, 4200)
    assert log.final_grade["by"] == "grader"
    assert review.most_missed() == [("says earlier tokens are not recomputed", 1)]


def test_blank_submission_is_again_and_a_plain_reveal_grades_nothing(review) -> None:
    turn = review.next_card()
    assert review.reveal("   ", submit=True) is GradingPlan.DONE
    assert turn.suggested_rating == int(Rating.AGAIN)
    review.rate(Rating.AGAIN)
    turn = review.turn
    assert review.reveal("", submit=False) is GradingPlan.NONE
    assert turn.grade is None and turn.suggested_rating is None


def test_a_grader_that_is_gone_turns_grading_off_for_the_session(review) -> None:
    review.next_card()
    assert review.reveal("x", submit=True) is GradingPlan.GRADE
    reason = review.grading_failed(GraderUnavailable("one bad answer"), grader_gone=False)
    assert reason == "one bad answer" and review.grading_off_reason is None
    review.grading_failed(GraderUnavailable("model files are missing"), grader_gone=True)
    review.rate(Rating.GOOD)
    assert review.reveal("y", submit=True) is GradingPlan.OFF
    assert review.grading_off_reason == "model files are missing"


def test_undo_after_bury_unburies_that_card_and_keeps_the_earlier_rating(review, store) -> None:
    first = review.next_card()
    review.reveal("", submit=False)
    review.rate(Rating.GOOD)
    second = review.turn
    review.bury()
    assert card_flags(store, second.card.card_id)[1] is not None
    undone = review.undo()
    assert undone.what == "bury" and undone.turn.card.card_id == second.card.card_id
    assert card_flags(store, second.card.card_id) == (False, None)
    assert len(log_rows(store)) == 1  # the earlier rating stands
    # The next undo takes back that rating, and its card returns as it was answered.
    undone = review.undo()
    assert undone.what == "answer" and undone.turn.card.card_id == first.card.card_id
    assert log_rows(store) == [] and review.rated == []
    assert review.undo() is None


def test_undo_after_suspend_restores_the_card_exactly(review, store) -> None:
    turn = review.next_card()
    review.suspend()
    assert card_flags(store, turn.card.card_id)[0] is True
    assert review.undo().what == "suspend"
    assert card_flags(store, turn.card.card_id) == (False, None)
    assert review.turn.card.card_id == turn.card.card_id


def test_undoing_a_rating_restores_the_typed_answer_and_the_corrected_grade(review) -> None:
    turn = review.next_card()
    review.reveal("it keeps keys and values", submit=True)
    review.graded(a_grade([Verdict.MET, Verdict.MISSED]))
    review.flip(1)  # missed → met
    review.rate(Rating.GOOD)
    undone = review.undo()
    restored = undone.turn
    assert restored is review.turn
    assert (restored.typed, restored.revealed) == ("it keeps keys and values", True)
    assert restored.self_grade.verdicts == [Verdict.MET, Verdict.MET]
    assert restored.card.reps == 0  # the card as stored again, before the rating
    # Then the flip itself can be undone, back to the grader's own suggestion.
    assert review.undo().what == "flip"
    assert restored.self_grade.verdicts == [Verdict.MET, Verdict.MISSED]
    assert not restored.self_grade.flipped
    assert turn.card.card_id == restored.card.card_id


def test_flips_undo_one_at_a_time(review) -> None:
    review.next_card()
    review.reveal("keys", submit=True)
    review.graded(a_grade([Verdict.MET, Verdict.MISSED], suggested=2))
    assert review.flip(0) is Verdict.PARTLY
    assert review.flip(0) is Verdict.MISSED
    assert review.turn.suggested_rating == int(Rating.AGAIN)
    review.undo()
    assert review.turn.self_grade.verdicts[0] is Verdict.PARTLY
    review.undo()
    assert review.turn.self_grade.verdicts[0] is Verdict.MET
    assert review.turn.suggested_rating == 2
    assert not review.can_undo
