from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Card
from studytool.core.optimize import MIN_REVIEWS, NotEnoughReviews, optimize_parameters
from studytool.core.ratings import Rating
from studytool.core.study import StudySession

from .conftest import NOW


def simulate_reviews(store, settings, cards: int, days: int, seed: int = 7) -> int:
    """A learner who forgets harder cards more often, reviewing each card when it is due.

    Reviews go through StudySession.answer (the real write path) but skip the queue, which
    would only make the test slower.
    """
    sync_deck(
        store,
        parse_text("".join(f"Q: fact {i}?\nA: {i}\n\n" for i in range(cards)), "sim.md"),
        now=NOW,
    )
    study = StudySession(store, settings=settings)
    with store.session() as session:
        card_ids = list(session.scalars(select(Card.id)))
    rng = random.Random(seed)
    end = NOW + timedelta(days=days)
    reviews = 0
    for card_id in card_ids:
        difficulty = rng.random()
        now = NOW + timedelta(hours=rng.randrange(0, 48))
        while now < end:
            reps = study.get(card_id).reps
            recalled = rng.random() > 0.1 + 0.5 * difficulty / (1 + reps)
            result = study.answer(
                card_id, Rating.GOOD if recalled else Rating.AGAIN, now, duration_ms=3000
            )
            reviews += 1
            now = max(result.due, now + timedelta(minutes=1))
    return reviews


def test_not_enough_reviews_says_how_many_more(store, settings) -> None:
    simulate_reviews(store, settings, cards=3, days=2)
    with pytest.raises(NotEnoughReviews, match=f"optimizing needs at least {MIN_REVIEWS}"):
        optimize_parameters(store)


def test_optimizer_fits_parameters_that_the_scheduler_accepts(store, settings) -> None:
    reviews = simulate_reviews(store, settings, cards=60, days=120)
    assert reviews >= MIN_REVIEWS
    result = optimize_parameters(store)
    assert result.reviews_used == reviews
    assert len(result.parameters) == 21
    from fsrs.scheduler import DEFAULT_PARAMETERS

    assert result.parameters != tuple(DEFAULT_PARAMETERS)  # it really fitted something
    tuned = settings.replace(fsrs_parameters=result.parameters)
    store.save_settings(tuned)
    study = StudySession(store)
    assert study.scheduler.parameters == result.parameters
