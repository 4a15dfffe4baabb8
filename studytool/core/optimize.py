"""Fitting FSRS parameters to the learner's own review history (``studytool optimize``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from studytool.core.models import ReviewLog
from studytool.core.store import Store

# fsrs' optimizer learns only from reviews made on a later day than the card's previous
# review, and hands back the default parameters unless it has at least one mini-batch
# (512) of them; asking for fewer would only pretend to optimize.
MIN_REVIEWS = 512


class NotEnoughReviews(Exception):
    def __init__(self, have: int, need: int = MIN_REVIEWS) -> None:
        self.have, self.need = have, need
        super().__init__(
            f"{have} usable reviews in the log (reviews of a card on a later day than its previous "
            f"review); optimizing needs at least {need} ({need - have} more). "
            "Until then the default FSRS-6 parameters are used."
        )


@dataclass(frozen=True)
class OptimizeResult:
    parameters: tuple[float, ...]
    reviews_used: int
    cards_used: int


def collect_review_logs(store: Store) -> list[Any]:
    import fsrs

    with store.session() as session:
        rows = session.execute(
            select(
                col(ReviewLog.card_id),
                col(ReviewLog.rating),
                col(ReviewLog.reviewed_at),
                col(ReviewLog.duration_ms),
            ).order_by(col(ReviewLog.reviewed_at))
        ).all()
    return [
        fsrs.ReviewLog(
            card_id=card_id, rating=fsrs.Rating(rating), review_datetime=at, review_duration=ms
        )
        for card_id, rating, at, ms in rows
    ]


def count_usable_reviews(logs: list[Any]) -> int:
    """Reviews made on a later (UTC) day than the same card's previous review, as fsrs counts them."""
    previous: dict[int, Any] = {}
    usable = 0
    for log in logs:  # ordered by time
        before = previous.get(log.card_id)
        if before is not None and (log.review_datetime - before).days > 0:
            usable += 1
        previous[log.card_id] = log.review_datetime
    return usable


def optimize_parameters(store: Store, min_reviews: int = MIN_REVIEWS) -> OptimizeResult:
    """Fit FSRS parameters with fsrs' optimizer; raises NotEnoughReviews below ``min_reviews``."""
    logs = collect_review_logs(store)
    usable = count_usable_reviews(logs)
    if usable < min_reviews:
        raise NotEnoughReviews(usable, min_reviews)
    # Imported here: the optimizer pulls in torch and pandas, which nothing else in core needs.
    from fsrs import Optimizer

    parameters = Optimizer(logs).compute_optimal_parameters()
    return OptimizeResult(
        parameters=tuple(float(p) for p in parameters),
        reviews_used=len(logs),
        cards_used=len({log.card_id for log in logs}),
    )
