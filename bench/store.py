"""Store benchmark: adding notes, and picking + committing the next card at 100k cards.

The same work runs on studytool's store and on Anki's backend (``anki`` from PyPI, the
``bench`` extra) in the same run, and the table gives studytool's figures as ratios to
Anki's. What is measured (see also ``bench/anki_baseline.py``):

``add N notes``
    A fresh, empty store (and a fresh Anki collection) per round; N Basic notes, built
    beforehand (``NoteDraft``\\ s / Anki ``Note``\\ s: parsing and object building are
    excluded), written in one call: ``sync_deck`` vs ``col.add_notes``. Figure: notes/s.

``pick+commit``
    One store and one collection holding ``--cards`` cards (filled untimed, in chunks of
    10,000 notes). Each round picks the next card and answers it Good ``--picks`` times, each
    answer committed in its own transaction: ``StudySession.next_card`` + ``answer`` vs
    ``get_queued_cards`` + ``answer_card``. Figure: ms per card (round time / cards). Two
    queues are measured, one after the other:

    * ``new``: every card is new; daily new limit raised (9999 each side).
    * ``review``: then half the cards (those never answered) become review cards due now,
      with the same FSRS memory state on both sides (stability 10 d, difficulty 5, last
      review 10 days ago), and the new-card limit is set to 0, so only reviews are served.

Each round of each task runs studytool and Anki back to back, alternating which goes
first, so drift on a noisy machine hits both sides alike. Figures are medians over
``--rounds`` rounds, with the spread (± half of max - min, relative to the median). The
targets (add >= 0.5x Anki's rate, pick+commit <= 3x Anki's time) apply to wall-clock time;
each task also gets a CPU-time row, for information: Anki fsyncs every commit
(``synchronous = FULL``) and studytool does not, so on a busy disk Anki's wall time can be
several times its CPU time.

If studytool's warm-up shows it cannot do ``--picks`` cards per round within ``--budget``
seconds per queue, both sides pick fewer (at least 50) and a note says so, so the whole run
stays within about five minutes on a two-core machine. Exit status: 0 when every target is
met (or there is no baseline to compare with), 1 when one is missed.

Usage: ``python -m bench store [--cards N] [--add N] [--rounds K] [--picks N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import Report, Row, anki_baseline, render_table, summarize

DESCRIPTION = "store: add notes, and pick + commit the next card at 100k cards, vs Anki"

DEFAULT_CARDS = 100_000
DEFAULT_ADD = 10_000
DEFAULT_ROUNDS = 5
DEFAULT_PICKS = 1_000
# Timed pick+commit seconds per side and queue: when studytool is slow, fewer cards are
# picked per round (never fewer than MIN_PICKS), so the run stays within a few minutes.
DEFAULT_BUDGET_S = 40.0
MIN_PICKS = 50
WARM_UP_PICKS = 20
FILL_CHUNK = 10_000
REVIEW_SHARE = 0.5
# Targets from the issue: pick+commit within 3x Anki's time per card; adding at least half
# Anki's rate.
PICK_TARGET = 3.0
ADD_TARGET = 0.5
# The FSRS memory state review cards get in the "review" queue, on both sides.
REVIEW_STABILITY_DAYS = 10.0
REVIEW_DIFFICULTY = 5.0
REVIEW_DAYS_SINCE = 10


def note_texts(count: int, offset: int = 0) -> list[tuple[str, str]]:
    """Distinct question/answer pairs of a realistic length."""
    return [
        (
            f"Card {i}: what does the attention layer compute for token position {i % 512}?",
            f"Answer {i}: a weighted sum of value vectors, weights softmax(QK^T / sqrt(d)).",
        )
        for i in range(offset, offset + count)
    ]


# -- studytool side ---------------------------------------------------------------------------


class StudytoolStore:
    """A studytool store in its own temporary directory."""

    def __init__(self) -> None:
        from studytool.core.store import open_store

        self.directory = Path(tempfile.mkdtemp(prefix="bench-studytool-"))
        self.store = open_store(f"sqlite:///{self.directory / 'studytool.db'}")
        self._files = 0

    def parsed_deck(self, notes: Sequence[tuple[str, str]]) -> Any:
        """The drafts a parser would produce (untimed: parsing is excluded)."""
        from studytool.core.importing.drafts import NoteDraft, ParsedDeck
        from studytool.core.models import NoteKind

        self._files += 1
        drafts = [
            NoteDraft(kind=NoteKind.BASIC, question=q, answer=a, line=i + 1)
            for i, (q, a) in enumerate(notes)
        ]
        return ParsedDeck(source=f"bench-{self._files}.md", format="primary", notes=drafts)

    def add(self, parsed: Any) -> tuple[float, float]:
        """Write prepared drafts; returns (wall, CPU) seconds of the ``sync_deck`` call."""
        from studytool.core.importing.sync import sync_deck

        now = datetime.now(UTC)
        cpu = time.process_time()
        start = time.perf_counter()
        report = sync_deck(self.store, parsed, deck_name="Bench", now=now)
        elapsed = time.perf_counter() - start, time.process_time() - cpu
        assert len(report.added) == len(parsed.notes), report.summary()
        return elapsed

    def add_notes(self, notes: Sequence[tuple[str, str]], *, chunk: int = FILL_CHUNK) -> None:
        """Untimed bulk fill, one "file" per chunk."""
        for start in range(0, len(notes), chunk):
            self.add(self.parsed_deck(notes[start : start + chunk]))

    def card_count(self) -> int:
        from sqlalchemy import func, select

        from studytool.core.models import Card

        with self.store.session() as session:
            return int(session.execute(select(func.count()).select_from(Card)).scalar_one())

    def make_reviews_due_now(self, share: float) -> int:
        """The last ``share`` of the cards (by id), if never answered, become due reviews."""
        from sqlalchemy import select, update
        from sqlmodel import col

        from studytool.core.models import Card

        now = datetime.now(UTC)
        with self.store.transaction() as session:
            ids = list(session.execute(select(col(Card.id)).order_by(col(Card.id))).scalars())
            chosen = ids[len(ids) - int(len(ids) * share) :]
            for start in range(0, len(chosen), 5000):
                chunk = chosen[start : start + 5000]
                session.execute(
                    update(Card)
                    .where(col(Card.id).in_(chunk), col(Card.reps) == 0)
                    .values(
                        state=2,  # fsrs.State.Review
                        step=None,
                        stability=REVIEW_STABILITY_DAYS,
                        difficulty=REVIEW_DIFFICULTY,
                        last_review=now - timedelta(days=REVIEW_DAYS_SINCE),
                        due=now - timedelta(minutes=1),
                        reps=1,
                    )
                )
        return len(chosen)

    def session(self, *, new_per_day: int) -> Any:
        from studytool.core.study import StudySession

        settings = self.store.load_settings().replace(
            new_cards_per_day=new_per_day, reviews_per_day=99_999, enable_fuzzing=False
        )
        return StudySession(self.store, settings=settings)

    def close(self) -> None:
        try:
            self.store.close()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def studytool_pick_and_commit(session: Any, n: int) -> tuple[float, float, int]:
    """Pick the next card and answer it Good, ``n`` times.

    Returns (wall seconds, CPU seconds, cards done).
    """
    done = 0
    cpu = time.process_time()
    start = time.perf_counter()
    for _ in range(n):
        now = datetime.now(UTC)
        queued = session.next_card(now)
        if queued is None:
            break
        session.answer(queued.card_id, rating=3, now=now, duration_ms=1000)
        done += 1
    return time.perf_counter() - start, time.process_time() - cpu, done


# -- the run ----------------------------------------------------------------------------------


@dataclass
class Options:
    cards: int = DEFAULT_CARDS
    add: int = DEFAULT_ADD
    rounds: int = DEFAULT_ROUNDS
    picks: int = DEFAULT_PICKS
    budget: float = DEFAULT_BUDGET_S
    anki: bool = True
    json: str | None = None
    quiet: bool = False


@dataclass
class Samples:
    """Per-round figures of one task: wall-clock and CPU, studytool and Anki."""

    ours: list[float] = field(default_factory=list)
    anki: list[float] = field(default_factory=list)
    ours_cpu: list[float] = field(default_factory=list)
    anki_cpu: list[float] = field(default_factory=list)


def _log(options: Options, message: str) -> None:
    if not options.quiet:
        print(f"  {message}", file=sys.stderr, flush=True)


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _alternate(round_index: int, first: Callable[[], None], second: Callable[[], None]) -> None:
    """Run both sides, swapping which goes first every other round."""
    order = (first, second) if round_index % 2 == 0 else (second, first)
    for action in order:
        gc.collect()
        action()


def measure_add(options: Options, use_anki: bool) -> Samples:
    """Rounds of adding ``--add`` prepared notes to a fresh store / collection (notes/s)."""
    samples = Samples()
    notes = note_texts(options.add)
    for r in range(options.rounds):

        def ours() -> None:
            side = StudytoolStore()
            try:
                parsed = side.parsed_deck(notes)
                wall, cpu = side.add(parsed)
                samples.ours.append(options.add / wall)
                samples.ours_cpu.append(options.add / max(cpu, 1e-9))
            finally:
                side.close()

        def anki() -> None:
            if not use_anki:
                return
            with anki_baseline.AnkiCollection() as col:
                requests = col.build_requests(notes)
                wall, cpu = col.add_requests(requests)
                samples.anki.append(options.add / wall)
                samples.anki_cpu.append(options.add / max(cpu, 1e-9))

        _alternate(r, ours, anki)
        _log(options, f"add round {r + 1}/{options.rounds} done")
    return samples


def measure_pick(
    options: Options,
    ours: StudytoolStore,
    anki: anki_baseline.AnkiCollection | None,
    *,
    new_per_day: int,
    label: str,
) -> tuple[Samples, int, list[str]]:
    """Rounds of pick+commit on both sides.

    Returns the samples (ms/card), the cards picked per round and side, and notes.
    """
    samples = Samples()
    notes: list[str] = []
    session = ours.session(new_per_day=new_per_day)
    # Warm-up (untimed): first-query compilation and caches, on both sides. Its per-card
    # time (less the first, cold pick) sizes the rounds to the time budget.
    warm_up = min(WARM_UP_PICKS, options.picks)
    studytool_pick_and_commit(session, 1)
    seconds, _, done = studytool_pick_and_commit(session, warm_up)
    picks = options.picks
    if done and options.budget > 0:
        affordable = int(options.budget / options.rounds / (seconds / done))
        if affordable < picks:
            picks = max(min(MIN_PICKS, options.picks), affordable)
            notes.append(
                f"{label}: studytool took {1000 * seconds / done:.1f} ms/card in warm-up, "
                f"so rounds pick {picks} cards instead of {options.picks} "
                f"(--budget {options.budget:g} s)"
            )
    if anki is not None:
        # Raise today's limits once for the whole phase; that rebuilds Anki's queue, which
        # the warm-up then does, so no timed round pays for a queue rebuild.
        total = warm_up + 1 + picks * options.rounds
        anki.extend_today(new=total if new_per_day else 0, reviews=total)
        anki.pick_and_commit(warm_up + 1)
    for r in range(options.rounds):

        def run_ours(r: int = r) -> None:
            wall, cpu, done = studytool_pick_and_commit(session, picks)
            if done < picks:
                notes.append(f"{label}: studytool ran out of cards after {done} in round {r + 1}")
            if done:
                samples.ours.append(1000 * wall / done)
                samples.ours_cpu.append(1000 * cpu / done)

        def run_anki(r: int = r) -> None:
            if anki is None:
                return
            wall, cpu, done = anki.pick_and_commit(picks)
            if done < picks:
                notes.append(f"{label}: Anki ran out of cards after {done} in round {r + 1}")
            if done:
                samples.anki.append(1000 * wall / done)
                samples.anki_cpu.append(1000 * cpu / done)

        _alternate(r, run_ours, run_anki)
        _log(
            options,
            f"pick+commit ({label}) round {r + 1}/{options.rounds} done ({picks} cards/side)",
        )
    return samples, picks, notes


def _rows(task: str, samples: Samples, *, rate: bool, target: float) -> list[Row]:
    """The wall-clock row (with the target) and its CPU-time companion (for information)."""
    unit, decimals = ("notes/s", 0) if rate else ("ms/card", 3)
    return [
        Row(
            task=task,
            unit=unit,
            ours=summarize(samples.ours),
            baseline=summarize(samples.anki),
            higher_is_better=rate,
            target=target,
            decimals=decimals,
        ),
        Row(
            task="  same, CPU time",
            unit=unit,
            ours=summarize(samples.ours_cpu),
            baseline=summarize(samples.anki_cpu),
            higher_is_better=rate,
            decimals=decimals,
        ),
    ]


def run(options: Options) -> Report:
    """Run the store benchmark and return its report (printing progress to stderr)."""
    version = anki_baseline.anki_version() if options.anki else None
    use_anki = version is not None
    report = Report(
        benchmark="store",
        rows=[],
        parameters={
            "cards": options.cards,
            "add": options.add,
            "rounds": options.rounds,
            "picks_per_round": options.picks,
            "budget_s": options.budget,
            "review_share": REVIEW_SHARE,
        },
        baseline={
            "name": "anki",
            "version": version,
            "add_method": anki_baseline.ADD_METHOD,
            "pick_method": anki_baseline.PICK_METHOD,
        },
    )
    if options.anki and not use_anki:
        report.notes.append(
            "Anki baseline skipped: the `anki` package cannot be imported "
            f"({anki_baseline.anki_import_error()}). "
            "Install the bench extra: pip install -e '.[bench]'"
        )
        print(report.notes[-1], file=sys.stderr)

    # 1. Adding notes to an empty store.
    _log(options, f"adding {options.add:,} notes, {options.rounds} rounds per side")
    add = measure_add(options, use_anki)
    report.rows += _rows(f"add {options.add:,} notes", add, rate=True, target=ADD_TARGET)

    # 2. Pick + commit with --cards cards stored.
    notes = note_texts(options.cards)
    ours = StudytoolStore()
    anki = anki_baseline.AnkiCollection() if use_anki else None
    try:
        _log(options, f"filling studytool with {options.cards:,} cards (untimed)")
        fill_ours = _timed(lambda: ours.add_notes(notes))
        fill_anki = None
        if anki is not None:
            _log(options, f"filling Anki with {options.cards:,} cards (untimed)")
            fill_anki = _timed(lambda: anki.add_notes(notes))
        report.parameters["fill_seconds"] = {
            "studytool": round(fill_ours, 2),
            "anki": None if fill_anki is None else round(fill_anki, 2),
        }
        assert ours.card_count() == options.cards
        assert anki is None or anki.card_count() == options.cards
        size = f"@{options.cards // 1000}k" if options.cards >= 1000 else f"@{options.cards}"

        new, new_picks, new_notes = measure_pick(options, ours, anki, new_per_day=9999, label="new")
        report.notes += new_notes
        report.parameters["picks_used"] = {"new": new_picks}
        report.rows += _rows(f"pick+commit {size} (new cards)", new, rate=False, target=PICK_TARGET)

        _log(options, f"making {REVIEW_SHARE:.0%} of the cards due reviews (untimed)")
        ours.make_reviews_due_now(REVIEW_SHARE)
        if anki is not None:
            ids = anki.card_ids()
            anki.make_reviews_due_today(
                ids[len(ids) - int(len(ids) * REVIEW_SHARE) :],
                stability_days=REVIEW_STABILITY_DAYS,
                difficulty=REVIEW_DIFFICULTY,
                days_since_review=REVIEW_DAYS_SINCE,
            )
            anki.set_daily_limits(new=0, reviews=anki_baseline.ANKI_LIMIT_MAX)
        rev, rev_picks, rev_notes = measure_pick(options, ours, anki, new_per_day=0, label="review")
        report.notes += rev_notes
        report.parameters["picks_used"]["review"] = rev_picks
        report.rows += _rows(
            f"pick+commit {size} (due reviews)", rev, rate=False, target=PICK_TARGET
        )
        if anki is not None and not anki.check_fsrs():
            report.notes.append("warning: Anki's answered cards carry no FSRS memory state")
    finally:
        ours.close()
        if anki is not None:
            anki.close()
    return report


def print_report(report: Report) -> None:
    baseline = f"Anki {report.baseline['version']}" if report.baseline.get("version") else "Anki"
    p = report.parameters
    used = p.get("picks_used") or {}
    per_round = sorted(set(used.values())) or [p["picks_per_round"]]
    print(
        f"store benchmark: medians of {p['rounds']} rounds (± = half the min-max spread); "
        f"pick+commit: {p['cards']:,} cards stored, "
        f"{' / '.join(f'{n:,}' for n in per_round)} cards picked+committed per round and side"
    )
    print(render_table(report.rows, baseline_name=baseline))
    if report.baseline.get("version"):
        print(f"Anki add: {report.baseline['add_method']}")
        print(f"Anki pick+commit: {report.baseline['pick_method']}, FSRS on")
    for note in report.notes:
        print(f"note: {note}")


def parse_args(argv: Sequence[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench store", description=DESCRIPTION)
    add = parser.add_argument
    add(
        "--cards",
        type=int,
        default=DEFAULT_CARDS,
        help="cards stored for pick+commit (%(default)s)",
    )
    add("--add", type=int, default=DEFAULT_ADD, help="notes added per round (%(default)s)")
    add("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds per figure (%(default)s)")
    add("--picks", type=int, default=DEFAULT_PICKS, help="cards picked per round (%(default)s)")
    add(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        help="seconds of timed pick+commit per side and queue; fewer picks per round if studytool "
        "is slower than that allows (default %(default)s; 0 = no limit)",
    )
    add("--no-anki", dest="anki", action="store_false", help="skip the Anki baseline")
    add("--json", metavar="PATH", help="also write the results as JSON to PATH")
    add("--quiet", action="store_true", help="no progress lines on stderr")
    ns = parser.parse_args(list(argv))
    if ns.cards < 2 or ns.add < 1 or ns.rounds < 1 or ns.picks < 1:
        parser.error("--cards must be at least 2, and --add, --rounds, --picks at least 1")
    # Both queues serve from a daily limit of 9999 (Anki's maximum), and the review queue
    # from the cards made reviews; keep every round within them.
    answered = ns.picks * ns.rounds + min(WARM_UP_PICKS, ns.picks) + 1
    reviews = int(ns.cards * REVIEW_SHARE)
    if answered > 9999 or answered > reviews or answered > ns.cards - reviews:
        parser.error(
            f"--picks x --rounds (+{WARM_UP_PICKS + 1} warm-up) = {answered} cards per queue: "
            f"keep it within 9999 and within half of --cards ({reviews})"
        )
    return Options(
        cards=ns.cards,
        add=ns.add,
        rounds=ns.rounds,
        picks=ns.picks,
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
