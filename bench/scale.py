"""Scale benchmark: 100,000 cards and 1,000,000 review-log rows, beside Anki.

One studytool store and one Anki collection (``anki`` from PyPI, the ``bench`` extra, FSRS
on) are built in temporary directories with the same content, then the same work is timed on
both in the same run. Nothing is cached between runs.

What is built (untimed; the time it took is printed):

* ``--cards`` Basic notes, one card each, added as ``bench store`` fills its collections
  (``sync_deck`` / ``col.add_notes`` in chunks of 10,000 notes, one deck "Bench").
* ``--log-rows`` review-log rows over the last two years, written in bulk (one executemany
  per 10,000 cards: studytool's ``bulk_insert`` into ``reviewlog``, ``col.db.executemany``
  into Anki's ``revlog``). The oldest 85% of the cards have a history (the rest stay new):
  0.3 to 1.7 times the mean number of reviews each (3 to 20 at the default sizes), at
  growing intervals, the first from new, then learning, review and, after a lapse,
  relearning; ratings about 10% Again / 10% Hard / 72% Good / 8% Easy on review cards (the
  last review always Good or Easy), answer times around 6 s (log-normal), and, on the
  studytool side, a typed answer with an automatic score on 5% of the rows (Anki has no such
  column). The same history (same seed) goes to both sides.
* Each reviewed card ends in the review state with the FSRS memory state its history implies
  (stability = its last interval, 2 to ~240 days; difficulty 2 to 9), last reviewed at its
  last log row and due between 7 days ago and 90 days ahead: about 7% of them are due today.
  On Anki: type/queue review, ``due`` as a day number (the collection is made two years old
  first), ``ivl``, ``reps``, ``lapses``, and the memory state in the card's ``data``.

What is timed (medians of rounds; each round runs both sides back to back, alternating which
goes first):

``pick+commit``
    Pick the next card and answer it Good, each answer committed: ``StudySession.next_card``
    + ``answer`` vs ``sched.get_queued_cards`` + ``answer_card``, serving the due reviews
    (new cards off on both sides), ``--picks`` cards per round, ``--rounds`` rounds, after an
    untimed warm-up: ``bench store``'s own measurement (``bench.store.measure_pick``), here
    with a million log rows behind it. Figure: ms per card. Target: <= 3x Anki.
``stats screen data``
    What the stats screen loads, in one call: studytool's stats worker (``list_decks`` +
    ``stats_series.load_series`` over all decks: reviews per day for a year, the 30-day due
    forecast, retention by week, the answer-score trend, the headline figures) vs the
    backend call behind Anki's statistics screen, ``col._backend.graphs(search="deck:current",
    days=365)`` (the screen's defaults; the deck holds every card), which computes that
    screen's every graph. One untimed warm-up each, ``--heavy-rounds`` rounds. Figure: ms per
    load. Target: <= 3x Anki, as for the per-card work.
``import N notes``
    Import ``--import`` new notes (built beforehand, parsing excluded) as one new file, in one
    call: ``sync_deck`` vs ``col.add_notes`` (as ``bench store``'s add), ``--heavy-rounds``
    rounds, each adding its own new notes (the collection grows by N a round). Twice:

    * ``new deck``: into a deck of its own, named after the file, which is what ``studytool
      import`` does without ``--deck`` (Anki: a new deck);
    * ``large deck``: into the deck that holds the ``--cards`` cards (``--deck Bench``, and
      ``bench store``'s add; Anki: its "Bench" deck).

    Figure: notes/s. Target: >= 0.5x Anki's rate, for both.

Targets apply to wall-clock time; each task has a CPU-time row for information (Anki fsyncs
every commit, studytool does not). Exit status: 0 when every target is met (or with
``--skip-anki``), 1 when one is missed, 2 on a usage error. A default run takes about four
minutes on two busy cores, of which building takes two and a half.

Usage: ``python -m bench scale [--cards N] [--log-rows N] [--rounds K] [--heavy-rounds K]
[--picks N] [--import N] [--skip-anki] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench import Report, Row, anki_baseline, render_table, store, summarize

DESCRIPTION = "scale: 100k cards, 1M review-log rows: pick+commit, stats, import 10k, vs Anki"

DEFAULT_CARDS = 100_000
DEFAULT_LOG_ROWS = 1_000_000
DEFAULT_ROUNDS = 5
DEFAULT_HEAVY_ROUNDS = 5
DEFAULT_PICKS = 500
DEFAULT_IMPORT = 10_000
DEFAULT_BUDGET_S = 40.0
# Targets from the issue (the same as bench store's): per-card work within 3x Anki's time,
# adding at least half Anki's rate; the stats load is held to the per-card target.
PICK_TARGET = 3.0
STATS_TARGET = 3.0
ADD_TARGET = 0.5

SEED = 20_240_607
HISTORY_DAYS = 730
REVIEWED_SHARE = 0.85
TYPED_SHARE = 0.05
CHUNK_CARDS = 10_000
DAY_S = 86_400.0
ANKI_STATS_SEARCH = "deck:current"
ANKI_STATS_DAYS = 365
ANKI_STATS_METHOD = f'col._backend.graphs(search="{ANKI_STATS_SEARCH}", days={ANKI_STATS_DAYS})'
OURS_STATS_METHOD = "stats_series.list_decks + load_series (all decks), as the stats screen"
# Rating odds (Again, Hard, Good, Easy) by the card's state before the review.
RATING_WEIGHTS = {
    0: (15, 10, 70, 5),  # new
    1: (15, 10, 70, 5),  # learning
    2: (10, 10, 72, 8),  # review
    3: (15, 5, 78, 2),  # relearning
}
RATINGS = (1, 2, 3, 4)
ANKI_REVLOG_TYPE = {0: 0, 1: 0, 2: 1, 3: 2}  # studytool state_before -> revlog type


# -- the history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardEnd:
    """Where a reviewed card's history leaves it: the review state, due at ``due``."""

    index: int  # the card's position in creation order
    stability: float  # days
    difficulty: float
    due: float  # epoch seconds
    last_review: float  # epoch seconds
    interval_days: int
    reps: int
    lapses: int


@dataclass(frozen=True)
class LogEntry:
    index: int  # the card's position in creation order
    ms: int  # when, epoch milliseconds (unique: Anki's revlog id)
    rating: int
    state_before: int  # 0 new, 1 learning, 2 review, 3 relearning
    duration_ms: int
    interval: int  # Anki's ivl: days (> 0) or seconds (< 0) until the next review
    last_interval: int
    score: float | None  # automatic score of a typed answer (studytool only)


class History:
    """A deterministic two-year review history for ``cards`` cards, ``log_rows`` rows."""

    def __init__(self, cards: int, log_rows: int, now: datetime, seed: int = SEED) -> None:
        self.cards = cards
        self.log_rows = log_rows
        self.now = now.timestamp()
        self.seed = seed
        reviewed = min(cards, max(1, round(cards * REVIEWED_SHARE)), log_rows) if log_rows else 0
        self.reviewed = reviewed
        rng = random.Random(seed)
        mean = log_rows / reviewed if reviewed else 0.0
        counts = [max(1, int(mean * rng.uniform(0.3, 1.7))) for _ in range(reviewed)]
        # Exactly log_rows in all: spread the difference one row at a time.
        missing = log_rows - sum(counts)
        position = 0
        while missing:
            step = 1 if missing > 0 else -1
            if counts[position] + step >= 1:
                counts[position] += step
                missing -= step
            position = (position + 1) % reviewed
        self.counts = counts

    def chunks(self, size: int = CHUNK_CARDS) -> Iterator[tuple[list[CardEnd], list[LogEntry]]]:
        """The reviewed cards' end states and log rows, ``size`` cards at a time."""
        used: set[int] = set()
        for start in range(0, self.reviewed, size):
            rng = random.Random(f"{self.seed}:{start}")
            ends: list[CardEnd] = []
            logs: list[LogEntry] = []
            for index in range(start, min(start + size, self.reviewed)):
                ends.append(self._card(rng, index, self.counts[index], used, logs))
            yield ends, logs

    def _card(
        self, rng: random.Random, index: int, count: int, used: set[int], logs: list[LogEntry]
    ) -> CardEnd:
        now = self.now
        due_in = rng.uniform(-7.0, 90.0)  # days; negative: overdue
        shortest = max(2.0, due_in + 1.0)
        interval = rng.uniform(shortest, shortest + 150.0)
        last = now + (due_in - interval) * DAY_S
        if count > 1:
            room = HISTORY_DAYS - (now - last) / DAY_S
            span = rng.uniform(min(room, 1.5 * count), room) * DAY_S
            first = last - span
            times = [first + span * (j / (count - 1)) ** 1.6 for j in range(count)]
        else:
            times = [last]
        state, lapses, previous = 0, 0, 0
        for j, moment in enumerate(times):
            ms = int(moment * 1000)
            while ms in used:
                ms += 1
            used.add(ms)
            final = j == count - 1
            rating = (
                rng.choice((3, 3, 3, 4))
                if final
                else rng.choices(RATINGS, RATING_WEIGHTS[state])[0]
            )
            gap = (times[j + 1] - moment) if not final else interval * DAY_S
            ivl = round(gap / DAY_S) if gap >= DAY_S else -round(gap)
            score = round(rng.uniform(0.2, 1.0), 2) if rng.random() < TYPED_SHARE else None
            duration = min(60_000, int(rng.lognormvariate(8.7, 0.6)))
            logs.append(LogEntry(index, ms, rating, state, duration, ivl, previous, score))
            previous = ivl
            if state == 2 and rating == 1:
                lapses += 1
            if state in (0, 1):
                state = 1 if rating == 1 else 2
            else:
                state = 3 if rating == 1 else 2
        return CardEnd(
            index=index,
            stability=interval,
            difficulty=rng.uniform(2.0, 9.0),
            due=now + due_in * DAY_S,
            last_review=last,
            interval_days=max(1, round(interval)),
            reps=count,
            lapses=lapses,
        )


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# -- writing the history: studytool ----------------------------------------------------------


class OursWriter:
    """Writes history chunks into a studytool store, in bulk."""

    def __init__(self, side: store.StudytoolStore) -> None:
        from sqlalchemy import select

        from studytool.core.models import Card

        self.side = side
        card = Card.__table__  # type: ignore[attr-defined]
        with side.store.session() as session:
            self.card_ids = [
                int(cid) for cid in session.execute(select(card.c.id).order_by(card.c.id)).scalars()
            ]
        engine = side.store.engine
        processor = card.c.due.type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
        self._when: Callable[[datetime], Any] = processor or (lambda value: value)
        self._update = (
            "UPDATE card SET state = 2, step = NULL, stability = ?, difficulty = ?, due = ?, "
            "last_review = ?, reps = ?, lapses = ? WHERE id = ?"
        )

    def write(self, ends: Sequence[CardEnd], logs: Sequence[LogEntry]) -> None:
        from studytool.core.models import ReviewLog
        from studytool.core.store import bulk_insert

        ids = self.card_ids
        rows: list[dict[str, Any]] = [
            {
                "card_id": ids[entry.index],
                "rating": entry.rating,
                "state_before": entry.state_before,
                "reviewed_at": _utc(entry.ms / 1000),
                "duration_ms": entry.duration_ms,
                "typed_answer": None if entry.score is None else "a typed answer",
                "auto_score": entry.score,
                "auto_rating": None if entry.score is None else min(4, 1 + int(entry.score * 4)),
                "auto_grade": None,
                "final_grade": None,
                "undo": {},
            }
            for entry in logs
        ]
        when = self._when
        updates = [
            (
                end.stability,
                end.difficulty,
                when(_utc(end.due)),
                when(_utc(end.last_review)),
                end.reps,
                end.lapses,
                ids[end.index],
            )
            for end in ends
        ]
        with self.side.store.write_connection() as connection:
            bulk_insert(connection, ReviewLog.__table__, rows)  # type: ignore[attr-defined]
            connection.exec_driver_sql(self._update, updates)


# -- writing the history: Anki ----------------------------------------------------------------


class AnkiWriter:
    """Writes history chunks into an Anki collection, through ``col.db.executemany``."""

    def __init__(self, anki: anki_baseline.AnkiCollection, day_start: float) -> None:
        self.anki = anki
        self.card_ids = anki.card_ids()
        self.today = int(anki.col.sched.today)
        self.day_start = day_start  # epoch seconds: when today's study day began

    def write(self, ends: Sequence[CardEnd], logs: Sequence[LogEntry]) -> None:
        db = self.anki.col.db
        ids = self.card_ids
        # In one transaction: on its own, each statement of an executemany commits (and
        # fsyncs) by itself.
        db.transact(lambda: self._write(db, ids, ends, logs))

    def _write(
        self, db: Any, ids: list[int], ends: Sequence[CardEnd], logs: Sequence[LogEntry]
    ) -> None:
        import json

        db.executemany(
            "insert into revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
            "values (?, ?, -1, ?, ?, ?, ?, ?, ?)",
            [
                (
                    entry.ms,
                    ids[entry.index],
                    entry.rating,
                    entry.interval,
                    entry.last_interval,
                    0 if entry.state_before in (0, 1) else 2500,
                    entry.duration_ms,
                    ANKI_REVLOG_TYPE[entry.state_before],
                )
                for entry in logs
            ],
        )
        stamp = int(time.time())
        db.executemany(
            "update cards set type = 2, queue = 2, due = ?, ivl = ?, factor = 2500, reps = ?, "
            "lapses = ?, left = 0, mod = ?, usn = -1, data = ? where id = ?",
            [
                (
                    self.today + math.floor((end.due - self.day_start) / DAY_S),
                    end.interval_days,
                    end.reps,
                    end.lapses,
                    stamp,
                    json.dumps(
                        {
                            "s": round(end.stability, 4),
                            "d": round(end.difficulty, 4),
                            "dr": 0.9,
                            "lrt": int(end.last_review),
                        }
                    ),
                    ids[end.index],
                )
                for end in ends
            ],
        )


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Options:
    cards: int = DEFAULT_CARDS
    log_rows: int = DEFAULT_LOG_ROWS
    rounds: int = DEFAULT_ROUNDS
    heavy_rounds: int = DEFAULT_HEAVY_ROUNDS
    picks: int = DEFAULT_PICKS
    add: int = DEFAULT_IMPORT
    budget: float = DEFAULT_BUDGET_S
    anki: bool = True
    json: str | None = None
    quiet: bool = False


@dataclass
class Built:
    ours: store.StudytoolStore
    anki: anki_baseline.AnkiCollection | None
    seconds: dict[str, float] = field(default_factory=dict)
    due_reviews: dict[str, int] = field(default_factory=dict)

    def close(self) -> None:
        try:
            self.ours.close()
        finally:
            if self.anki is not None:
                self.anki.close()


def _log(options: Options, message: str) -> None:
    if not options.quiet:
        print(f"  {message}", file=sys.stderr, flush=True)


def build(options: Options, use_anki: bool, now: datetime | None = None) -> Built:
    """The studytool store and (with ``use_anki``) the Anki collection, filled alike."""
    from studytool.core.study import study_day_bounds

    now = now or datetime.now(UTC)
    history = History(options.cards, options.log_rows, now)
    notes = store.note_texts(options.cards)
    built = Built(ours=store.StudytoolStore(), anki=None)
    try:
        seconds = built.seconds
        _log(options, f"studytool: adding {options.cards:,} notes")
        start = time.perf_counter()
        built.ours.add_notes(notes)
        seconds["studytool notes"] = time.perf_counter() - start
        ours = OursWriter(built.ours)
        anki_writer = None
        if use_anki:
            _log(options, f"Anki: adding {options.cards:,} notes")
            start = time.perf_counter()
            built.anki = anki_baseline.AnkiCollection()
            built.anki.backdate(HISTORY_DAYS + 30)
            built.anki.add_notes(notes)
            seconds["Anki notes"] = time.perf_counter() - start
            hour = built.ours.store.load_settings().day_starts_at_hour
            day_start = study_day_bounds(now, hour)[0].timestamp()
            anki_writer = AnkiWriter(built.anki, day_start)
        _log(
            options,
            f"writing {options.log_rows:,} review-log rows over {history.reviewed:,} cards "
            "to each side",
        )
        writing = {"studytool history": 0.0, "Anki history": 0.0}
        start = time.perf_counter()
        for ends, logs in history.chunks():
            done = time.perf_counter()
            ours.write(ends, logs)
            writing["studytool history"] += time.perf_counter() - done
            if anki_writer is not None:
                done = time.perf_counter()
                anki_writer.write(ends, logs)
                writing["Anki history"] += time.perf_counter() - done
        seconds["generating the history"] = time.perf_counter() - start - sum(writing.values())
        seconds["studytool history"] = writing["studytool history"]
        if anki_writer is not None:
            seconds["Anki history"] = writing["Anki history"]
        session = built.ours.session(new_per_day=0)
        built.due_reviews["studytool"] = session.counts(now).review
        if built.anki is not None:
            # Deck options saved: the backend rebuilds its queues from the database.
            built.anki.set_daily_limits(new=0, reviews=anki_baseline.ANKI_LIMIT_MAX)
            built.due_reviews["Anki"] = _anki_due_reviews(built.anki)
    except BaseException:
        built.close()
        raise
    return built


def _anki_due_reviews(anki: anki_baseline.AnkiCollection) -> int:
    assert anki.col.db is not None
    return int(
        anki.col.db.scalar(
            "select count() from cards where queue = 2 and due <= ?", anki.col.sched.today
        )
    )


def _count(side: str, table: str, built: Built) -> int:
    if side == "studytool":
        from sqlalchemy import text

        with built.ours.store.session() as session:
            return int(session.execute(text(f"select count(*) from {table}")).scalar_one())
    assert built.anki is not None and built.anki.col.db is not None
    return int(built.anki.col.db.scalar(f"select count() from {table}"))


def load_stats_ours(side: store.StudytoolStore) -> Any:
    """What the stats screen's worker loads (no deck filter)."""
    from studytool.core.stats_series import list_decks, load_series

    list_decks(side.store)
    return load_series(side.store, datetime.now(UTC))


def load_stats_anki(anki: anki_baseline.AnkiCollection) -> Any:
    return anki.col._backend.graphs(search=ANKI_STATS_SEARCH, days=ANKI_STATS_DAYS)


def _timed(action: Callable[[], Any]) -> tuple[float, float]:
    cpu = time.process_time()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start, time.process_time() - cpu


def measure_stats(options: Options, built: Built) -> store.Samples:
    """Rounds of loading the stats screen's data (ms per load), after one warm-up each."""
    samples = store.Samples()
    anki = built.anki
    load_stats_ours(built.ours)
    if anki is not None:
        load_stats_anki(anki)
    for r in range(options.heavy_rounds):

        def ours() -> None:
            wall, cpu = _timed(lambda: load_stats_ours(built.ours))
            samples.ours.append(1000 * wall)
            samples.ours_cpu.append(1000 * cpu)

        def theirs() -> None:
            if anki is None:
                return
            wall, cpu = _timed(lambda: load_stats_anki(anki))
            samples.anki.append(1000 * wall)
            samples.anki_cpu.append(1000 * cpu)

        store._alternate(r, ours, theirs)
        _log(options, f"stats round {r + 1}/{options.heavy_rounds} done")
    return samples


IMPORT_TARGETS = ("new deck", "large deck")


def add_ours(
    side: store.StudytoolStore, notes: Sequence[tuple[str, str]], into: str
) -> tuple[float, float]:
    """Import prepared drafts as one new file; returns (wall, CPU) seconds of ``sync_deck``.

    ``into="new deck"``: the file's own deck, named after it (what ``studytool import`` does
    without ``--deck``); ``into="large deck"``: "Bench" (``bench store``'s add).
    """
    from studytool.core.importing.sync import sync_deck

    parsed = side.parsed_deck(notes)
    if into == "large deck":
        return side.add(parsed)
    cpu = time.process_time()
    start = time.perf_counter()
    report = sync_deck(side.store, parsed, now=datetime.now(UTC))
    elapsed = time.perf_counter() - start, time.process_time() - cpu
    assert len(report.added) == len(notes), report.summary()
    return elapsed


def measure_import(options: Options, built: Built, into: str) -> store.Samples:
    """Rounds of importing ``--import`` new notes (notes/s): each round a new file, into a
    deck of its own (``into="new deck"``) or into the large deck (``into="large deck"``)."""
    samples = store.Samples()
    anki = built.anki
    offset = options.cards + IMPORT_TARGETS.index(into) * options.heavy_rounds * options.add
    for r in range(options.heavy_rounds):
        notes = store.note_texts(options.add, offset=offset + r * options.add)

        def ours(notes: list[tuple[str, str]] = notes) -> None:
            wall, cpu = add_ours(built.ours, notes, into)
            samples.ours.append(options.add / wall)
            samples.ours_cpu.append(options.add / max(cpu, 1e-9))

        def theirs(notes: list[tuple[str, str]] = notes, r: int = r) -> None:
            if anki is None:
                return
            deck_id = anki.col.decks.id(f"Import {r + 1}") if into == "new deck" else None
            requests = anki.build_requests(notes, deck_id)
            wall, cpu = anki.add_requests(requests)
            samples.anki.append(options.add / wall)
            samples.anki_cpu.append(options.add / max(cpu, 1e-9))

        store._alternate(r, ours, theirs)
        _log(options, f"import ({into}) round {r + 1}/{options.heavy_rounds} done")
    return samples


def _stats_rows(samples: store.Samples) -> list[Row]:
    """The wall-clock row (with the target) and its CPU-time companion (for information)."""
    return [
        Row(
            task=task,
            unit="ms",
            ours=summarize(ours),
            baseline=summarize(anki),
            higher_is_better=False,
            target=target,
            decimals=0,
        )
        for task, ours, anki, target in (
            ("stats screen data", samples.ours, samples.anki, STATS_TARGET),
            ("  same, CPU time", samples.ours_cpu, samples.anki_cpu, None),
        )
    ]


def _store_options(options: Options, picks: int) -> store.Options:
    return store.Options(
        cards=options.cards,
        rounds=options.rounds,
        picks=picks,
        budget=options.budget,
        anki=options.anki,
        quiet=options.quiet,
    )


def run(options: Options) -> Report:
    """Build, measure, and return the report (progress on stderr)."""
    version = anki_baseline.anki_version() if options.anki else None
    use_anki = version is not None
    report = Report(
        benchmark="scale",
        rows=[],
        parameters={
            "cards": options.cards,
            "log_rows": options.log_rows,
            "rounds": options.rounds,
            "heavy_rounds": options.heavy_rounds,
            "picks_per_round": options.picks,
            "import": options.add,
            "budget_s": options.budget,
            "history_days": HISTORY_DAYS,
            "reviewed_share": REVIEWED_SHARE,
        },
        baseline={
            "name": "anki",
            "version": version,
            "pick_method": anki_baseline.PICK_METHOD,
            "stats_method": ANKI_STATS_METHOD,
            "add_method": anki_baseline.ADD_METHOD,
        },
    )
    report.parameters["studytool_stats_method"] = OURS_STATS_METHOD
    if options.anki and not use_anki:
        report.notes.append(
            "Anki baseline skipped: the `anki` package cannot be imported "
            f"({anki_baseline.anki_import_error()}). "
            "Install the bench extra: pip install -e '.[bench]'"
        )
        print(report.notes[-1], file=sys.stderr)
    elif not options.anki:
        report.notes.append("Anki baseline skipped (--skip-anki)")

    started = time.perf_counter()
    built = build(options, use_anki)
    try:
        build_s = time.perf_counter() - started
        report.parameters["build_seconds"] = {
            "total": round(build_s, 1),
            **{name: round(value, 1) for name, value in built.seconds.items()},
        }
        sides = ["studytool"] + (["Anki"] if built.anki is not None else [])
        report.parameters["stored"] = {
            side: {
                "cards": _count(side, "card" if side == "studytool" else "cards", built),
                "log_rows": _count(side, "reviewlog" if side == "studytool" else "revlog", built),
                "due_reviews": built.due_reviews[side],
            }
            for side in sides
        }
        for side in sides:
            stored = report.parameters["stored"][side]
            if stored["cards"] != options.cards or stored["log_rows"] != options.log_rows:
                raise RuntimeError(f"{side} was not built as asked: {stored}")
        size = f"@{options.cards // 1000}k" if options.cards >= 1000 else f"@{options.cards}"

        # 1. Pick + commit: the due reviews, with the history behind them.
        due = min(built.due_reviews.values())
        picks = options.picks
        affordable = (due - store.WARM_UP_PICKS - 1) // options.rounds
        if affordable < picks:
            picks = max(1, affordable)
            report.notes.append(
                f"only {due} reviews are due: rounds pick {picks} cards instead of {options.picks}"
            )
        _log(options, f"pick+commit: {options.rounds} rounds of {picks} cards per side")
        samples, picks_used, notes = store.measure_pick(
            _store_options(options, picks),
            built.ours,
            built.anki,
            new_per_day=0,
            label="review",
        )
        report.notes += notes
        report.parameters["picks_used"] = picks_used
        report.rows += store._rows(
            f"pick+commit {size} (due reviews)", samples, rate=False, target=PICK_TARGET
        )
        if built.anki is not None and not built.anki.check_fsrs():
            report.notes.append("warning: Anki's answered cards carry no FSRS memory state")

        # 2. The stats screen's data.
        _log(options, f"stats screen data: {options.heavy_rounds} rounds per side")
        report.rows += _stats_rows(measure_stats(options, built))

        # 3. Importing into the large collection: a new file's own deck, then the large deck.
        for into in IMPORT_TARGETS:
            _log(
                options,
                f"importing {options.add:,} notes ({into}): {options.heavy_rounds} rounds per side",
            )
            report.rows += store._rows(
                f"import {options.add:,} notes {size} ({into})",
                measure_import(options, built, into),
                rate=True,
                target=ADD_TARGET,
            )
    finally:
        built.close()
    report.parameters["total_seconds"] = round(time.perf_counter() - started, 1)
    return report


def print_report(report: Report) -> None:
    baseline = f"Anki {report.baseline['version']}" if report.baseline.get("version") else "Anki"
    p = report.parameters
    built = p.get("build_seconds", {})
    print(
        f"scale benchmark: {p['cards']:,} cards, {p['log_rows']:,} review-log rows over "
        f"{p['history_days']} days; medians of {p['rounds']} rounds (pick+commit, "
        f"{p.get('picks_used', p['picks_per_round']):,} cards a round) and "
        f"{p['heavy_rounds']} rounds (stats, import); ± = half the min-max spread"
    )
    if built:
        parts = ", ".join(
            f"{name} {value:.1f} s" for name, value in built.items() if name != "total"
        )
        print(
            f"built in {built['total']:.1f} s ({parts}); whole run {p.get('total_seconds', 0):.0f} s"
        )
    for side, stored in p.get("stored", {}).items():
        print(
            f"{side}: {stored['cards']:,} cards, {stored['log_rows']:,} log rows, "
            f"{stored['due_reviews']:,} reviews due"
        )
    print(render_table(report.rows, baseline_name=baseline))
    print(f"studytool stats: {p['studytool_stats_method']}")
    if report.baseline.get("version"):
        print(f"Anki pick+commit: {report.baseline['pick_method']}, FSRS on")
        print(f"Anki stats: {report.baseline['stats_method']}")
        print(f"Anki import: {report.baseline['add_method']}")
    for note in report.notes:
        print(f"note: {note}")


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench scale", description=DESCRIPTION)
    add = parser.add_argument
    add("--cards", type=int, default=DEFAULT_CARDS, help="cards stored (%(default)s)")
    add(
        "--log-rows",
        type=int,
        default=DEFAULT_LOG_ROWS,
        help="review-log rows stored (%(default)s)",
    )
    add(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help="pick+commit rounds (%(default)s)",
    )
    add(
        "--heavy-rounds",
        type=int,
        default=DEFAULT_HEAVY_ROUNDS,
        help="stats and import rounds (%(default)s)",
    )
    add(
        "--picks",
        type=int,
        default=DEFAULT_PICKS,
        help="cards picked+committed per round and side (%(default)s)",
    )
    add(
        "--import",
        dest="add",
        type=int,
        default=DEFAULT_IMPORT,
        help="notes imported per round (%(default)s)",
    )
    add(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        help="seconds of timed pick+commit per side; fewer picks a round if studytool is "
        "slower than that allows (default %(default)s; 0 = no limit)",
    )
    add("--skip-anki", dest="anki", action="store_false", help="studytool figures only")
    add("--json", metavar="PATH", help="also write the results as JSON to PATH")
    add("--quiet", action="store_true", help="no progress lines on stderr")
    ns = parser.parse_args(list(argv))
    if ns.cards < 10 or ns.log_rows < 1 or ns.add < 1:
        parser.error("--cards must be at least 10, and --log-rows and --import at least 1")
    if ns.rounds < 1 or ns.heavy_rounds < 1 or ns.picks < 1:
        parser.error("--rounds, --heavy-rounds and --picks must be at least 1")
    answered = ns.picks * ns.rounds + store.WARM_UP_PICKS + 1
    if answered > anki_baseline.ANKI_LIMIT_MAX:
        parser.error(
            f"--picks x --rounds (+{store.WARM_UP_PICKS + 1} warm-up) = {answered}: keep it "
            f"within Anki's daily limit, {anki_baseline.ANKI_LIMIT_MAX}"
        )
    return Options(
        cards=ns.cards,
        log_rows=ns.log_rows,
        rounds=ns.rounds,
        heavy_rounds=ns.heavy_rounds,
        picks=ns.picks,
        add=ns.add,
        budget=ns.budget,
        anki=ns.anki,
        json=ns.json,
        quiet=ns.quiet,
    )


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    report = run(options)
    print_report(report)
    if options.json:
        report.write_json(options.json)
        print(f"results written to {options.json}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
