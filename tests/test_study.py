from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Card, Note, ReviewLog
from studytool.core.ratings import Rating
from studytool.core.scheduling import format_interval
from studytool.core.study import StudyError, StudySession, study_day_bounds

from .conftest import NOW

DECK = """+++
name = "Study"
+++
Q: First?
A: one

Q: Second?
A: two
kind: reversed

C: The [KV cache] holds [keys and values].

Q: Fourth?
A: four
"""


@pytest.fixture
def study(store, settings) -> StudySession:
    sync_deck(store, parse_text(DECK, "study.md"), now=NOW - timedelta(days=1))
    return StudySession(store, settings=settings)


def test_new_cards_come_in_file_order_and_siblings_are_buried(study) -> None:
    seen = []
    now = NOW
    while (card := study.next_card(now)) is not None:
        seen.append((card.front, card.ordinal))
        study.answer(card.card_id, Rating.EASY, now)
    # The reverse of "Second?" and the second cloze wait for tomorrow (buried siblings).
    assert seen == [
        ("First?", 0),
        ("Second?", 0),
        ("The [...] holds keys and values.", 1),
        ("Fourth?", 0),
    ]
    tomorrow = study_day_bounds(NOW, 4)[1] + timedelta(minutes=1)
    fronts = []
    while (card := study.next_card(tomorrow)) is not None and card.reps == 0:
        fronts.append(card.front)
        study.answer(card.card_id, Rating.GOOD, tomorrow)
    assert fronts == ["two", "The KV cache holds [...]."]


def test_cloze_and_reverse_faces(study, store) -> None:
    with store.session() as session:
        ids = dict(
            session.execute(
                select(Card.ordinal, Card.id).join(Note).where(Note.kind == "cloze")
            ).all()
        )
    second = study.get(ids[2])
    assert second.front == "The KV cache holds [...]."
    assert second.back == "The KV cache holds **keys and values**."
    assert second.expected == "keys and values"


def test_due_learning_cards_come_before_new_ones(study) -> None:
    first = study.next_card(NOW)
    study.answer(first.card_id, Rating.AGAIN, NOW)  # back in 1 minute
    assert study.next_card(NOW + timedelta(seconds=5)).front == "Second?"
    assert study.next_card(NOW + timedelta(minutes=2)).card_id == first.card_id


def test_interval_preview_as_anki_shows_it(study) -> None:
    card = study.next_card(NOW)
    previews = {r.label: format_interval(d) for r, d in study.preview(card.card_id, NOW).items()}
    assert previews == {"Again": "1m", "Hard": "6m", "Good": "10m", "Easy": "8d"}
    study.answer(card.card_id, Rating.GOOD, NOW)
    later = NOW + timedelta(minutes=10)
    previews = {r.label: format_interval(d) for r, d in study.preview(card.card_id, later).items()}
    assert previews == {"Again": "1m", "Hard": "10m", "Good": "2d", "Easy": "4d"}


def test_daily_new_limit(store, settings) -> None:
    sync_deck(
        store, parse_text("".join(f"Q: q{i}?\nA: a\n\n" for i in range(10)), "many.md"), now=NOW
    )
    study = StudySession(store, settings=settings.replace(new_cards_per_day=3))
    assert study.counts(NOW).new == 3
    for _ in range(3):
        card = study.next_card(NOW)
        study.answer(card.card_id, Rating.EASY, NOW)
    assert study.next_card(NOW) is None
    assert study.counts(NOW).new == 0
    assert study.next_card(NOW + timedelta(days=1)) is not None


def test_daily_review_limit(store, settings) -> None:
    sync_deck(
        store, parse_text("".join(f"Q: q{i}?\nA: a\n\n" for i in range(4)), "many.md"), now=NOW
    )
    study = StudySession(store, settings=settings.replace(reviews_per_day=2))
    for _ in range(4):
        study.answer(study.next_card(NOW).card_id, Rating.EASY, NOW)
    later = NOW + timedelta(days=60)
    assert study.counts(later).review == 2
    for _ in range(2):
        study.answer(study.next_card(later).card_id, Rating.GOOD, later)
    assert study.next_card(later) is None


def test_undo_restores_state_and_removes_log(study, store) -> None:
    card = study.next_card(NOW)
    before = study.get(card.card_id)
    study.answer(card.card_id, Rating.GOOD, NOW, typed_answer="one")
    assert study.next_card(NOW).card_id != card.card_id
    restored = study.undo()
    assert restored.card_id == card.card_id and restored.reps == before.reps == 0
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ReviewLog)) == 0
        assert session.get(Card, card.card_id).last_review is None
    assert study.next_card(NOW).card_id == card.card_id
    with pytest.raises(StudyError, match="nothing to undo"):
        study.undo()


def test_undo_unburies_siblings(study) -> None:
    study.answer(study.next_card(NOW).card_id, Rating.EASY, NOW)
    second = study.next_card(NOW)
    assert second.front == "Second?"
    study.answer(second.card_id, Rating.EASY, NOW)
    study.undo()
    study.answer(second.card_id, Rating.AGAIN, NOW)  # now in learning; its reverse was buried again
    fronts = []
    while (card := study.next_card(NOW)) is not None and card.reps == 0:
        fronts.append(card.front)
        study.answer(card.card_id, Rating.EASY, NOW)
    assert "two" not in fronts


def test_leech_is_tagged_and_suspended_after_threshold_lapses(store, settings) -> None:
    sync_deck(store, parse_text("Q: hard one?\nA: a\n", "leech.md"), now=NOW)
    study = StudySession(store, settings=settings.replace(leech_threshold=3))
    card_id = study.next_card(NOW).card_id
    now = NOW
    study.answer(card_id, Rating.EASY, now)
    results = []
    for _ in range(3):
        now += timedelta(days=30)
        results.append(study.answer(card_id, Rating.AGAIN, now))  # a lapse
        now += timedelta(minutes=15)
        study.answer(card_id, Rating.GOOD, now)  # relearnt
    assert [r.became_leech for r in results] == [False, False, True]
    with store.session() as session:
        card = session.get(Card, card_id)
        assert card.lapses == 3 and card.suspended
        assert "leech" in session.get(Note, card.note_id).tags
    assert study.next_card(now + timedelta(days=365)) is None


def test_typed_answer_with_control_characters_is_stored(study, store) -> None:
    card = study.next_card(NOW)
    study.answer(card.card_id, Rating.GOOD, NOW, typed_answer="nul\x00 and \x1b[31mred\x1b[0m ✓")
    with store.session() as session:
        log = session.scalars(select(ReviewLog)).one()
    assert log.typed_answer == "nul and \x1b[31mred\x1b[0m ✓"


def test_each_rating_is_committed_before_the_next_card(study, store, tmp_path) -> None:
    card = study.next_card(NOW)
    study.answer(card.card_id, Rating.GOOD, NOW, duration_ms=4200, typed_answer="one")
    # A second, independent connection sees the rating at once.
    from studytool.core.store import open_store

    other = open_store(store.url)
    with other.session() as session:
        log = session.scalars(select(ReviewLog)).one()
    other.close()
    assert (log.card_id, log.rating, log.duration_ms, log.typed_answer, log.state_before) == (
        card.card_id,
        3,
        4200,
        "one",
        0,
    )


def test_deck_filter_and_unknown_deck(store, settings) -> None:
    sync_deck(store, parse_text("Q: a?\nA: a\n", "a.md"), deck_name="A", now=NOW)
    sync_deck(store, parse_text("Q: b?\nA: b\n", "b.md"), deck_name="B", now=NOW)
    assert StudySession(store, ["B"], settings).next_card(NOW).deck == "B"
    with pytest.raises(StudyError, match="no deck named 'C'"):
        StudySession(store, ["C"], settings)


def test_bury_and_suspend(study) -> None:
    card = study.next_card(NOW)
    study.bury(card.card_id, NOW)
    assert study.next_card(NOW).card_id != card.card_id
    study.set_suspended(card.card_id)
    assert study.next_card(NOW + timedelta(days=2)).card_id != card.card_id


# -- counts, as Anki shows them -------------------------------------------------------------------


def _numbered_deck(name: str, cards: int) -> str:
    return f'+++\nname = "{name}"\n+++\n' + "".join(
        f"Q: {name} {number}?\nA: a\n\n" for number in range(cards)
    )


@pytest.fixture
def two_decks(store, settings):
    """Alpha: 2 reviews due, 7 cards in learning, 3 new; Beta: 14 new. 20 new cards a day,
    7 of them introduced today."""
    sync_deck(store, parse_text(_numbered_deck("Alpha", 12), "alpha.md"), now=NOW - timedelta(11))
    sync_deck(store, parse_text(_numbered_deck("Beta", 14), "beta.md"), now=NOW - timedelta(11))
    limits = settings.replace(new_cards_per_day=20, bury_siblings=False)
    earlier = StudySession(store, settings=limits)
    for _ in range(2):
        earlier.answer(
            earlier.next_card(NOW - timedelta(10)).card_id, Rating.EASY, NOW - timedelta(10)
        )
    today = StudySession(store, settings=limits)
    unseen = [card_id for card_id, state in _alpha_cards(store) if state == 0]
    for card_id in unseen[:7]:
        today.answer(card_id, Rating.AGAIN, NOW)
    return limits


def test_counts_keep_learning_out_of_due_and_cap_new(store, two_decks) -> None:
    """The trial: Learn 7 and Due 7 with no review due; 14 new shown while review offered 4."""
    counts = StudySession(store, settings=two_decks).counts(NOW + timedelta(minutes=2))
    assert (counts.new, counts.learning, counts.review) == (13, 7, 2)  # 20 - 7 new left
    tight = StudySession(store, settings=two_decks.replace(new_cards_per_day=11))
    assert tight.counts(NOW).new == 4  # 11 - 7, though 17 new cards wait


def test_counts_by_deck_agree_with_each_decks_review(store, two_decks) -> None:
    now = NOW + timedelta(minutes=2)
    everything = StudySession(store, settings=two_decks)
    rows = {row.name: row for row in everything.counts_by_deck(now)}
    assert list(rows) == ["Alpha", "Beta"]
    alpha, beta = rows["Alpha"], rows["Beta"]
    assert (alpha.today.new, alpha.today.learning, alpha.today.review, alpha.cards) == (3, 7, 2, 12)
    # Beta has 14 new cards, but today's limit leaves 13 (shared by every deck, as in Anki).
    assert (beta.today.new, beta.today.learning, beta.today.review, beta.cards) == (13, 0, 0, 14)
    for name, row in rows.items():
        assert StudySession(store, [name], settings=two_decks).counts(now) == row.today
    one = StudySession(store, ["Beta"], settings=two_decks)
    assert [row.name for row in one.counts_by_deck(now)] == ["Beta"]


def test_counts_leave_out_buried_and_suspended_cards(store, two_decks) -> None:
    study = StudySession(store, ["Alpha"], settings=two_decks)
    learning = [card_id for card_id, state in _alpha_cards(store) if state == 1]
    study.bury(learning[0], NOW)
    study.set_suspended(learning[1])
    now = NOW + timedelta(minutes=2)
    counts = study.counts(now)
    assert (counts.learning, counts.review) == (5, 2)
    (alpha,) = study.counts_by_deck(now)
    assert alpha.today == counts and alpha.cards == 12
    # The next study day the buried card is back (the suspended one is not).
    tomorrow = study_day_bounds(NOW, 4)[1] + timedelta(minutes=1)
    assert study.counts(tomorrow).learning == 6


def _alpha_cards(store) -> list[tuple[int, int]]:
    from studytool.core.models import Deck

    with store.session() as session:
        return [
            (row.id, row.state if row.reps else 0)
            for row in session.execute(
                select(Card.id, Card.state, Card.reps)
                .join(Note, Note.id == Card.note_id)
                .join(Deck, Deck.id == Note.deck_id)
                .where(Deck.name == "Alpha")
                .order_by(Card.id)
            )
        ]
