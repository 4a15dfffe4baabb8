"""Fitting FSRS parameters to the learner's own review history (``studytool optimize``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from studytool.core.models import ReviewLog
from studytool.core.store import Store

# FSRS needs a few hundred reviews before fitted parameters beat the defaults; Anki asks for
# a similar amount before it lets its optimizer run.
MIN_REVIEWS = 400


class NotEnoughReviews(Exception):
    def __init__(self, have: int, need: int = MIN_REVIEWS) -> None:
        self.have, self.need = have, need
        super().__init__(
            f"{have} reviews in the log; optimizing needs at least {need} "
            f"({need - have} more). Until then the default FSRS-6 parameters are used."
        )


@dataclass(frozen=True)
class OptimizeResult:
    parameters: tuple[float, ...]
    reviews_used: int
    cards_used: int


def collect_review_logs(store: Store) -> list[object]:
    import fsrs

    with store.session() as session:
        rows = session.execute(
            select(ReviewLog.card_id, ReviewLog.rating, ReviewLog.reviewed_at, ReviewLog.duration_ms).order_by(
                ReviewLog.reviewed_at
            )
        ).all()
    return [
        fsrs.ReviewLog(card_id=card_id, rating=fsrs.Rating(rating), review_datetime=at, review_duration=ms)
        for card_id, rating, at, ms in rows
    ]


def optimize_parameters(store: Store, min_reviews: int = MIN_REVIEWS) -> OptimizeResult:
    """Fit FSRS parameters with fsrs' optimizer; raises NotEnoughReviews below ``min_reviews``."""
    logs = collect_review_logs(store)
    if len(logs) < min_reviews:
        raise NotEnoughReviews(len(logs), min_reviews)
    # Imported here: the optimizer pulls in torch and pandas, which nothing else in core needs.
    from fsrs import Optimizer

    parameters = Optimizer(logs).compute_optimal_parameters()
    return OptimizeResult(
        parameters=tuple(float(p) for p in parameters),
        reviews_used=len(logs),
        cards_used=len({log.card_id for log in logs}),  # type: ignore[attr-defined]
    )
