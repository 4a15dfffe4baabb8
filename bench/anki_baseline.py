"""The Anki side of the store benchmark: the same work, done by Anki's own backend.

``anki`` (PyPI) is a benchmark-only dependency (``pip install -e '.[bench]'``). Everything
here uses Anki's public Python API (``anki.collection.Collection`` and the v3 scheduler),
read from the installed package (anki 25.x/26.x), with FSRS switched on so both sides
schedule with the same algorithm:

* FSRS: ``col.set_config("fsrs", True)``; the backend reads this key as its FSRS switch
  (answers then carry an FSRS memory state, which :meth:`AnkiCollection.check_fsrs` verifies).
* Adding: ``col.add_notes([AddNoteRequest(note, deck_id), ...])``, one backend call and one
  transaction per batch. It is Anki's fastest public path: ``col.add_note`` in a loop is about
  ten times slower (one transaction per note). Building the ``Note`` objects (``col.new_note``
  and setting the fields) happens outside the timed region, as building the drafts does on
  the studytool side.
* Picking and committing, as Anki's reviewer does it: ``col.sched.get_queued_cards(
  fetch_limit=1)``, then ``col.sched.build_answer(card=..., states=..., rating=GOOD)`` and
  ``col.sched.answer_card(...)`` (which commits).
* Daily limits: Anki caps both at 9999 and counts new cards against the review limit, so
  both are set to 9999 and raised with ``col.sched.extend_limits`` (custom study's "increase
  today's limit") before each phase, so no round runs out of cards. That rebuilds Anki's
  queue (about 40 ms at 100k cards); the untimed warm-up picks absorb the rebuild.
* Durability: Anki opens its collection in WAL mode with ``synchronous = FULL``, so every
  commit (each answer) waits for an fsync; studytool uses WAL with ``synchronous = NORMAL``
  (no fsync per commit). On a busy disk that alone can make Anki's wall time several times
  its CPU time, which is why the benchmark prints CPU time as well.
* Review cards due today are made in setup (untimed) with one SQL UPDATE through ``col.db``:
  type/queue review, due today, interval 10 days, FSRS memory state stability 10 days,
  difficulty 5, last review 10 days ago, in Anki's card ``data`` JSON (``s``, ``d``, ``dr``,
  ``lrt``). The studytool side gives its review cards the same state.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ADD_METHOD = "col.add_notes([AddNoteRequest, ...]) (one batch)"
PICK_METHOD = "sched.get_queued_cards(fetch_limit=1) + build_answer(GOOD) + answer_card"
ANKI_LIMIT_MAX = 9999


def anki_version() -> str | None:
    """The installed anki version, or None when the package cannot be imported."""
    try:
        import anki.buildinfo
        import anki.collection  # noqa: F401  (the native backend loads here)
    except Exception:  # ImportError, or a broken native module
        return None
    return str(getattr(anki.buildinfo, "version", "unknown"))


def anki_import_error() -> str | None:
    try:
        import anki.collection  # noqa: F401
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


class AnkiCollection:
    """A throwaway Anki collection in its own temporary directory, FSRS on, one deck."""

    def __init__(self, directory: Path | None = None) -> None:
        from anki.collection import Collection

        self._own_dir = directory is None
        if directory is None:
            directory = Path(tempfile.mkdtemp(prefix="bench-anki-"))
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        # Typed as Any: the stubs allow for legacy schedulers and a closed database, which
        # this freshly created, v3-scheduler collection never has.
        self.col: Any = Collection(str(self.directory / "collection.anki2"))
        self.col.set_config("fsrs", True)
        self.notetype = self.col.models.by_name("Basic")
        assert self.notetype is not None, "Anki's stock 'Basic' note type is missing"
        deck_id = self.col.decks.id("Bench")
        assert deck_id is not None
        self.deck_id: Any = deck_id
        self.col.decks.select(deck_id)
        self.set_daily_limits(new=ANKI_LIMIT_MAX, reviews=ANKI_LIMIT_MAX)

    # -- set-up ---------------------------------------------------------------------------

    def set_daily_limits(self, *, new: int, reviews: int) -> None:
        conf = self.col.decks.config_dict_for_deck_id(self.deck_id)
        conf["new"]["perDay"] = min(new, ANKI_LIMIT_MAX)
        conf["rev"]["perDay"] = min(reviews, ANKI_LIMIT_MAX)
        self.col.decks.update_config(conf)

    def backdate(self, days: int) -> None:
        """Make the collection ``days`` days old (its creation stamp, ``col.crt``), so day
        numbers (review cards' ``due``, ``sched.today``) can lie in a history that long.

        The backend reads the stamp when it opens the collection, so this closes and reopens
        it; call it before adding anything.
        """
        from anki.collection import Collection

        self.col.crt = int(self.col.crt) - days * 86_400
        path = self.col.path
        self.col.close()
        self.col = Collection(path)

    def extend_today(self, *, new: int, reviews: int) -> None:
        """Raise today's limits (Anki's custom study), so a timed round never runs dry."""
        self.col.sched.extend_limits(new, reviews)

    def build_requests(
        self, notes: Sequence[tuple[str, str]], deck_id: Any | None = None
    ) -> list[Any]:
        """Note objects ready to add (untimed: the counterpart of building NoteDrafts), to
        the benchmark's deck or to ``deck_id``."""
        from anki.collection import AddNoteRequest

        deck_id = self.deck_id if deck_id is None else deck_id
        requests = []
        for front, back in notes:
            note = self.col.new_note(self.notetype)
            note.fields[0] = front
            note.fields[1] = back
            requests.append(AddNoteRequest(note=note, deck_id=deck_id))
        return requests

    def add_requests(self, requests: Sequence[Any]) -> tuple[float, float]:
        """Add prepared notes in one batch; returns (wall, CPU) seconds of the add call."""
        cpu = time.process_time()
        start = time.perf_counter()
        self.col.add_notes(requests)
        return time.perf_counter() - start, time.process_time() - cpu

    def add_notes(self, notes: Sequence[tuple[str, str]], *, chunk: int = 10_000) -> None:
        """Untimed bulk fill."""
        for start in range(0, len(notes), chunk):
            self.add_requests(self.build_requests(notes[start : start + chunk]))

    def card_count(self) -> int:
        return int(self.col.card_count())

    def card_ids(self) -> list[int]:
        """Card ids in creation order (the order the notes were added)."""
        return [int(cid) for cid in self.col.db.list("select id from cards order by id")]

    def make_reviews_due_today(
        self,
        card_ids: Sequence[int],
        *,
        stability_days: float,
        difficulty: float,
        days_since_review: int,
        desired_retention: float = 0.9,
    ) -> None:
        """Turn cards into review cards due today with the given FSRS memory state (setup)."""
        assert self.col.db is not None
        today = self.col.sched.today
        data = json.dumps(
            {
                "s": stability_days,
                "d": difficulty,
                "dr": desired_retention,
                "lrt": int(time.time()) - days_since_review * 86_400,
            }
        )
        ids = list(card_ids)
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            marks = ",".join(str(int(cid)) for cid in chunk)
            self.col.db.execute(
                "update cards set type = 2, queue = 2, due = ?, ivl = ?, factor = 2500, reps = 1, "
                f"left = 0, data = ? where type = 0 and id in ({marks})",
                today,
                days_since_review,
                data,
            )
        # A deck-options change makes the backend rebuild its study queues from the database.
        conf = self.col.decks.config_dict_for_deck_id(self.deck_id)
        self.col.decks.update_config(conf)

    # -- the measured work ----------------------------------------------------------------

    def counts(self) -> tuple[int, int, int]:
        """(new, learning, review) cards the scheduler would show today."""
        queued = self.col.sched.get_queued_cards(fetch_limit=1)
        return (queued.new_count, queued.learning_count, queued.review_count)

    def pick_and_commit(self, n: int) -> tuple[float, float, int]:
        """Pick the next card and answer it Good, ``n`` times.

        Returns (wall seconds, CPU seconds, cards done).
        """
        from anki.cards import Card
        from anki.scheduler.v3 import CardAnswer

        sched = self.col.sched
        col = self.col
        good = CardAnswer.GOOD
        done = 0
        cpu = time.process_time()
        start = time.perf_counter()
        for _ in range(n):
            queued = sched.get_queued_cards(fetch_limit=1)
            if not queued.cards:
                break
            top = queued.cards[0]
            card = Card(col, backend_card=top.card)
            card.timer_started = time.time() - 1.0  # a 1 s answer, as on the studytool side
            sched.answer_card(sched.build_answer(card=card, states=top.states, rating=good))
            done += 1
        return time.perf_counter() - start, time.process_time() - cpu, done

    def check_fsrs(self) -> bool:
        """True when answered cards carry an FSRS memory state (FSRS really is on)."""
        assert self.col.db is not None
        cid = self.col.db.scalar("select id from cards where reps > 0 order by mod desc limit 1")
        if cid is None:
            return False
        return self.col.get_card(cid).memory_state is not None

    def close(self) -> None:
        try:
            self.col.close()
        finally:
            if self._own_dir:
                shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> AnkiCollection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
