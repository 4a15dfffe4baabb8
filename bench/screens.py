"""Screens: a deck of 10,000 cards keeps every screen responsive.

The real app (``StudyApp``, grading off so that no model loads) is driven headless at 160x48
with Textual's ``run_test`` and its Pilot, the way a learner moves through it: open a review
(``a``), reveal (``escape`` leaves the answer box, ``space`` reveals), rate Good (``3``),
again, back; browse (``b``) and search it (``/ cache enter``); stats (``s``); interview
practice (``p``); settings (``,``); import (``i``); and back to the decks from each. Each step
is timed from the key press until the screen has settled: the Pilot's pauses (events handled,
the process idle) and, beyond them, every worker the step started (the browse search, the
stats series, the import screen's folder listing) finished, then one more pause so that what
they sent is drawn. After each step the benchmark checks the screen it landed on (and that the
step did its work: a card shown, the answer revealed, the search's rows, the stats loaded) and
stops with an error if it did not.

Two databases are built in a temporary folder with the core API: *large*, 10,000 cards in a
basic deck and 2,000 in an interview deck, and *small*, 20 + 20 of the same shapes; both have
a review history over the last three months (300 and 10 cards, three reviews each, some
lapses, typed answers with scores), so that every stats plot has something to draw. The two
are run in the same process for ``--rounds`` rounds, interleaved (the order swaps every round)
after one warm-up pass each, so that noise on a busy machine hits both alike. The figure is,
per step, the ratio of the medians, large over small (their difference in ms is printed
beside it); the target is 1.5 or less for every step: the 10,000-card deck costs no
noticeable time over a tiny one.

Also printed, for information and not held to a target: the core queries behind the screens
(home counts, the review queue, the browse search, the stats series, interview questions),
timed directly on both databases.

Usage: ``python -m bench screens [--rounds N] [--cards N] [--interview-cards N]
[--query-repeats N] [--no-warm-up] [--json PATH]``. Exit status: 0 when every step meets the
target, 1 when one misses it, 2 on a usage error. On two busy cores the default run takes
about two and a half minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DESCRIPTION = "screens: every TUI screen on a 10,000-card deck vs a 20-card one (ratio)"
TARGET_RATIO = 1.5
SIZE = (160, 48)
LARGE = (10_000, 2_000)  # basic cards, interview cards
SMALL = (20, 20)
HISTORY_CARDS = 300  # cards of the basic deck with a review history (at most half the deck)
SEARCH = "cache"  # every basic card's question mentions caches: the search matches them all
SETTLE_TIMEOUT_S = 120.0


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# The databases


def _basic_deck(cards: int) -> str:
    return "\n\n---\n\n".join(
        f"Q: Question number {i} about tokens and caches?\nA: Answer {i}.\nR:\n- says {i}\nid: c{i}"
        for i in range(cards)
    )


def _interview_deck(cards: int) -> str:
    questions = "\n\n".join(
        f"Q: Interview question {i}: how would you size a KV cache?\nA: Answer {i}.\nR:\n- x\nid: iv{i}"
        for i in range(cards)
    )
    return f'+++\nname = "Interview"\nkind = "interview"\n+++\n{questions}'


def build_database(path: Path, basic: int, interview: int, history: int | None = None) -> Path:
    """A database at ``path`` with a basic deck of ``basic`` cards, an interview deck of
    ``interview`` cards, and three reviews each of ``history`` basic cards (default: 300, or
    half the deck if smaller) spread over the last three months."""
    from sqlalchemy import select

    from studytool.core.importing import parse_text
    from studytool.core.importing.sync import sync_deck
    from studytool.core.models import Card, Note
    from studytool.core.store import open_store
    from studytool.core.study import StudySession

    if history is None:
        history = min(HISTORY_CARDS, basic // 2)
    now = datetime.now(UTC)
    store = open_store(f"sqlite:///{path}")
    try:
        imported = now - timedelta(days=100)
        sync_deck(store, parse_text(_basic_deck(basic), "basic.md"), "Basic", now=imported)
        if interview:
            parsed = parse_text(_interview_deck(interview), "interview.md")
            sync_deck(store, parsed, "Interview", now=imported)
        keys = [f"c{i}" for i in range(history)]
        with store.session() as session:
            ids = dict(
                session.execute(
                    select(Note.key, Card.id)
                    .join(Card, Card.note_id == Note.id)  # type: ignore[arg-type]
                    .where(Note.key.in_(keys), Card.ordinal == 0)  # type: ignore[attr-defined]
                ).all()
            )
        study = StudySession(store, None)
        for i, key in enumerate(keys):
            first = now - timedelta(days=88 - (i % 60), hours=i % 7)
            score = 0.3 + 0.06 * (i % 10)
            typed = {"typed_answer": f"says {i}", "auto_score": score, "auto_rating": 3}
            study.answer(ids[key], 3, first, duration_ms=8_000, **typed)
            study.answer(ids[key], 3, first + timedelta(days=1), duration_ms=6_000)
            # Twelve days on, as a review: one in seven forgotten (true retention < 100%).
            again = 1 if i % 7 == 0 else 3
            study.answer(ids[key], again, first + timedelta(days=13), duration_ms=5_000, **typed)
    finally:
        store.close()
    return path


# --------------------------------------------------------------------------------------
# The screens


Check = Callable[[Any], str | None]  # the screen -> what is wrong with it, or None


@dataclass(frozen=True)
class Step:
    label: str
    keys: tuple[str, ...]
    screen: str  # the class name of the screen the step must land on
    check: Check | None = None


def _card_shown(screen: Any) -> str | None:
    return None if getattr(screen, "card", None) is not None else "no card is shown"


def _revealed(screen: Any) -> str | None:
    return _card_shown(screen) or (None if screen.revealed else "the answer is not revealed")


def _rated(count: int) -> Check:
    def check(screen: Any) -> str | None:
        if len(screen.rated) != count:
            return f"{len(screen.rated)} cards rated, expected {count}"
        return _card_shown(screen) or (None if not screen.revealed else "the rated card stays")

    return check


def _searched(screen: Any) -> str | None:
    page = screen.page
    if page is None or screen.query_text != SEARCH:
        return f"the search {SEARCH!r} has not come back"
    return None if page.total > 0 and page.rows else f"the search {SEARCH!r} found nothing"


def _browsing(screen: Any) -> str | None:
    return None if screen.page is not None and screen.page.rows else "no cards listed"


def _stats_loaded(screen: Any) -> str | None:
    return None if screen.series is not None else "the statistics have not loaded"


def _questions(screen: Any) -> str | None:
    return None if screen.questions else "no interview questions"


STEPS: tuple[Step, ...] = (
    Step("open review (a)", ("a",), "ReviewScreen", _card_shown),
    Step("reveal (ctrl+r)", ("ctrl+r",), "ReviewScreen", _revealed),
    Step("rate Good (3)", ("3",), "ReviewScreen", _rated(1)),
    Step("reveal 2nd card", ("ctrl+r",), "ReviewScreen", _revealed),
    Step("rate 2nd Good (3)", ("3",), "ReviewScreen", _rated(2)),
    Step("back from review (esc)", ("escape",), "HomeScreen"),
    Step("open browse (b)", ("b",), "BrowseScreen", _browsing),
    Step(
        f"browse search (/ {SEARCH} enter)", ("slash", *SEARCH, "enter"), "BrowseScreen", _searched
    ),
    Step("back from browse (esc)", ("escape",), "HomeScreen"),
    Step("open stats (s)", ("s",), "StatsScreen", _stats_loaded),
    Step("back from stats (esc)", ("escape",), "HomeScreen"),
    Step("open interview (p)", ("p",), "InterviewScreen", _questions),
    Step("back from interview (esc)", ("escape",), "HomeScreen"),
    Step("open settings (,)", ("comma",), "SettingsScreen"),
    Step("back from settings (esc)", ("escape",), "HomeScreen"),
    Step("open import (i)", ("i",), "ImportScreen"),
    Step("back from import (esc)", ("escape",), "HomeScreen"),
)


class WrongScreen(AssertionError):
    """A step did not land where it should: the figures would time the wrong thing."""


async def _settle(pilot: Any, app: Any) -> None:
    """Until the screen has settled: events handled, then every worker done and drawn.

    The directory tree's loader (group ``_loader``) waits on a queue for the app's lifetime,
    so it is not waited for; its folder listings are.
    """
    await pilot.pause()
    await pilot.pause()
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        busy = [w for w in app.workers if not w.is_finished and w.group != "_loader"]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"workers still running after {SETTLE_TIMEOUT_S:g} s: {busy}")
        await app.workers.wait_for_complete(busy)
        await pilot.pause()


async def _run_steps(db: Path, size: tuple[int, int]) -> dict[str, float]:
    from studytool.core.store import open_store
    from studytool.tui.app import StudyApp

    store = open_store(f"sqlite:///{db}")
    app = StudyApp(store, grading=False)  # closes the store when it unmounts
    seconds: dict[str, float] = {}
    async with app.run_test(size=size) as pilot:
        await _settle(pilot, app)
        if type(app.screen).__name__ != "HomeScreen":
            raise WrongScreen(f"the app opened on {type(app.screen).__name__}, not HomeScreen")
        for step in STEPS:
            started = time.perf_counter()
            await pilot.press(*step.keys)
            await _settle(pilot, app)
            seconds[step.label] = time.perf_counter() - started
            screen = app.screen
            landed = type(screen).__name__
            if landed != step.screen:
                raise WrongScreen(
                    f"{db.name}: after {step.label!r} the app shows {landed}, not {step.screen}"
                )
            problem = step.check(screen) if step.check else None
            if problem:
                raise WrongScreen(f"{db.name}: after {step.label!r}: {problem}")
    return seconds


def run_steps(db: Path, size: tuple[int, int] = SIZE) -> dict[str, float]:
    """One pass over every step in a fresh app on ``db`` in a terminal of ``size``: seconds
    per step label."""
    return asyncio.run(_run_steps(db, size))


def measure_screens(
    large: Path, small: Path, rounds: int, *, warm_up: bool = True, size: tuple[int, int] = SIZE
) -> dict[str, dict[str, list[float]]]:
    """Seconds per step label for each side (``large`` and ``small``), one sample a round.

    The sides alternate in order every round; the warm-up passes (one each, discarded) take
    the first imports of each screen's modules and the first reads of each database.
    """
    samples: dict[str, dict[str, list[float]]] = {
        "large": {s.label: [] for s in STEPS},
        "small": {s.label: [] for s in STEPS},
    }
    dbs = {"large": large, "small": small}
    if warm_up:
        for side in ("small", "large"):
            _say(f"  warm-up pass: {side}")
            run_steps(dbs[side], size)
    for round_ in range(rounds):
        order = ("large", "small") if round_ % 2 == 0 else ("small", "large")
        for side in order:
            started = time.perf_counter()
            for label, value in run_steps(dbs[side], size).items():
                samples[side][label].append(value)
            _say(f"  round {round_ + 1}/{rounds}: {side} ({time.perf_counter() - started:.1f} s)")
    return samples


# --------------------------------------------------------------------------------------
# The core queries behind the screens, for information


def core_queries(db: Path, repeats: int) -> dict[str, list[float]]:
    """Seconds per query, ``repeats`` samples each, on ``db``."""
    from studytool.core.browse import CardQuery, parse_query, search_cards
    from studytool.core.interview import pick_questions
    from studytool.core.stats_series import load_series
    from studytool.core.store import open_store
    from studytool.core.study import StudySession

    store = open_store(f"sqlite:///{db}")
    try:
        settings = store.load_settings()
        hour = settings.day_starts_at_hour
        session = StudySession(store, None)
        queries: dict[str, Callable[[datetime], object]] = {
            "home: counts_by_deck": session.counts_by_deck,
            "review: StudySession()": lambda now: StudySession(store, None),
            "review: counts": session.counts,
            "review: next_card": session.next_card,
            "browse: search_cards(all)": lambda now: search_cards(
                store, CardQuery(), now, day_starts_at_hour=hour
            ),
            f"browse: search_cards({SEARCH!r})": lambda now: search_cards(
                store, parse_query(SEARCH, now), now, day_starts_at_hour=hour
            ),
            "browse: search_cards(is:due)": lambda now: search_cards(
                store, parse_query("is:due", now), now, day_starts_at_hour=hour
            ),
            "stats: load_series": lambda now: load_series(store, now),
            "interview: pick_questions": lambda now: pick_questions(
                store, settings.interview_question_count
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in queries}
        for name, query in queries.items():
            query(datetime.now(UTC))  # warm: SQLite's page cache, prepared statements
            for _ in range(repeats):
                now = datetime.now(UTC)
                started = time.perf_counter()
                query(now)
                times[name].append(time.perf_counter() - started)
    finally:
        store.close()
    return times


# --------------------------------------------------------------------------------------


def _ms(values: Sequence[float]) -> float:
    return statistics.median(values) * 1000


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench screens", description=DESCRIPTION)
    add = parser.add_argument
    add("--rounds", type=int, default=3, help="timed passes per database (default %(default)s)")
    add(
        "--cards",
        type=int,
        default=LARGE[0],
        help="basic cards of the large database (default %(default)s)",
    )
    add(
        "--interview-cards",
        type=int,
        default=LARGE[1],
        help="interview cards of the large database (default %(default)s)",
    )
    add(
        "--query-repeats",
        type=int,
        default=9,
        help="samples of each core query (default %(default)s)",
    )
    add("--no-warm-up", action="store_true", help="leave out the discarded first passes")
    add("--json", metavar="PATH", help="also write the results as JSON to PATH")
    options = parser.parse_args(list(argv))
    if options.rounds < 1 or options.query_repeats < 1:
        parser.error("--rounds and --query-repeats must be at least 1")
    if options.cards < 2 * SMALL[0] or options.interview_cards < 1:
        parser.error(f"--cards must be at least {2 * SMALL[0]} and --interview-cards at least 1")
    return options


def report(
    samples: dict[str, dict[str, list[float]]],
    queries: dict[str, dict[str, list[float]]],
    sizes: dict[str, tuple[int, int]],
) -> tuple[dict[str, Any], bool]:
    """Print the tables; returns the results for ``--json`` and whether every step passed."""
    rounds = len(next(iter(samples["large"].values())))
    large, small = sizes["large"], sizes["small"]
    print(
        f"screens: key press to settled screen at {SIZE[0]}x{SIZE[1]}, grading off; medians of "
        f"{rounds} round{'s' if rounds != 1 else ''}"
    )
    print(
        f"  large: {large[0]:,} basic + {large[1]:,} interview cards; "
        f"small: {small[0]:,} + {small[1]:,} (same shapes, with review history)"
    )
    width = max(len(step.label) for step in STEPS)
    header = f"  {'step':{width}s} {'large':>9s} {'small':>9s} {'+ms':>6s} {'ratio':>6s}  target"
    print(header)
    print("  " + "-" * (len(header) - 2))
    steps: dict[str, Any] = {}
    ok = True
    for step in STEPS:
        big, tiny = samples["large"][step.label], samples["small"][step.label]
        ratio = statistics.median(big) / statistics.median(tiny)
        passed = ratio <= TARGET_RATIO
        ok &= passed
        verdict = "PASS" if passed else "FAIL"
        print(
            f"  {step.label:{width}s} {_ms(big):6.0f} ms {_ms(tiny):6.0f} ms "
            f"{_ms(big) - _ms(tiny):+6.0f} {ratio:6.2f}  <= {TARGET_RATIO:g} {verdict}"
        )
        steps[step.label] = {
            "keys": list(step.keys),
            "screen": step.screen,
            "large_ms": {"median": _ms(big), "samples": [s * 1000 for s in big]},
            "small_ms": {"median": _ms(tiny), "samples": [s * 1000 for s in tiny]},
            "difference_ms": _ms(big) - _ms(tiny),
            "ratio": ratio,
            "verdict": verdict,
        }
    total_big = sum(_ms(v) for v in samples["large"].values())
    total_tiny = sum(_ms(v) for v in samples["small"].values())
    print(
        f"  {'all steps (sum of medians)':{width}s} {total_big:6.0f} ms {total_tiny:6.0f} ms "
        f"{total_big - total_tiny:+6.0f} {total_big / total_tiny:6.2f}"
    )
    failed = [label for label, step in steps.items() if step["verdict"] == "FAIL"]
    print(
        f"  overall: {'PASS' if ok else 'FAIL'} ({len(steps) - len(failed)}/{len(steps)} steps "
        f"within {TARGET_RATIO:g}x)" + (f"; missed: {', '.join(failed)}" if failed else "")
    )

    repeats = len(next(iter(queries["large"].values())))
    print()
    print(f"(info) core queries behind the screens, called directly: medians of {repeats}")
    width = max(len(name) for name in queries["large"])
    print(f"  {'query':{width}s} {'large':>9s} {'small':>9s} {'ratio':>6s}")
    core: dict[str, Any] = {}
    for name, big in queries["large"].items():
        tiny = queries["small"][name]
        ratio = statistics.median(big) / statistics.median(tiny)
        print(f"  {name:{width}s} {_ms(big):6.1f} ms {_ms(tiny):6.1f} ms {ratio:6.1f}")
        core[name] = {"large_ms": _ms(big), "small_ms": _ms(tiny), "ratio": ratio}
    results = {
        "size": list(SIZE),
        "rounds": rounds,
        "cards": {"large": list(large), "small": list(small)},
        "target_ratio": TARGET_RATIO,
        "steps": steps,
        "core_queries": core,
    }
    return results, ok


def _measure(
    options: argparse.Namespace, sizes: dict[str, tuple[int, int]]
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, list[float]]]]:
    """Build both databases in a temporary folder, then time the screens and the queries."""
    with tempfile.TemporaryDirectory(prefix="bench-screens-") as folder:
        home = Path(folder)
        # Before studytool is imported and anything opened: never the learner's own data.
        os.environ["STUDYTOOL_HOME"] = str(home / "home")
        os.environ.pop("STUDYTOOL_DB", None)
        dbs: dict[str, Path] = {}
        for side, (basic, interview) in sizes.items():
            started = time.perf_counter()
            dbs[side] = build_database(home / f"{side}.db", basic, interview)
            _say(
                f"  built the {side} database ({basic:,} + {interview:,} cards) in "
                f"{time.perf_counter() - started:.1f} s"
            )
        queries = {side: core_queries(db, options.query_repeats) for side, db in dbs.items()}
        _say("  core queries timed")
        samples = measure_screens(
            dbs["large"], dbs["small"], options.rounds, warm_up=not options.no_warm_up
        )
    return samples, queries


def main(argv: Sequence[str] | None = None) -> int:
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse: 0 after --help, 2 on a usage error
        return int(exc.code or 0)
    sizes = {"large": (options.cards, options.interview_cards), "small": SMALL}
    saved = {name: os.environ.get(name) for name in ("STUDYTOOL_HOME", "STUDYTOOL_DB")}
    try:
        samples, queries = _measure(options, sizes)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    results, ok = report(samples, queries, sizes)
    if options.json:
        from bench import environment

        target = Path(options.json)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "screens",
            "environment": environment(),
            "results": results,
            "failed": not ok,
        }
        target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {target}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
