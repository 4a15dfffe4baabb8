"""Crash safety: SIGKILL ``studytool review --plain`` mid-review, and two instances on one file.

Kills
    A fresh database in a temporary folder (``STUDYTOOL_HOME`` and ``STUDYTOOL_DB`` point
    there; the learner's own data is never opened) gets ``--reviews`` + 100 basic cards, daily
    limits high enough for the whole run, and fuzzing off, so that every card state can be
    recomputed exactly from the review log. Then, ``--kills`` times over on that same file,
    ``python -m studytool review --plain --no-grading`` runs as a subprocess on pipes: it is
    fed reveals (sometimes a typed answer) and random ratings 1-4, one card at a time, and
    after a random number of ratings it is killed with SIGKILL at one of three moments:

    * ``idle``: just after a rating was acknowledged (while the next card is picked and shown);
    * ``answer``: just after an answer was sent (while the back and the intervals are shown);
    * ``rating``: at a random instant from 0 to 1.2x the usual acknowledgement time after a
      rating line was sent: before, during or after its transaction, or while ``Saved:`` is
      being printed.

    A rating counts as *acknowledged* when its ``Saved: <rating>, next in <interval>.`` line
    reached the pipe before the process died (what the learner would have seen). After each
    kill the file is opened with ``sqlite3`` and checked:

    * ``PRAGMA integrity_check`` (and ``foreign_key_check``) answer ok;
    * the review log rows added by the run are exactly the acknowledged ratings, in order,
      for the cards they were shown for, with the typed answers, plus at most the one
      rating sent last when the kill fell between its commit and its ``Saved:`` line
      (allowed: nothing was promised; counted as *committed, not acknowledged*);
    * every card's state agrees with its log: replaying each log row's before-state
      (kept for undo) through the scheduler with its rating and time gives the next row's
      before-state, and the last one gives the card's stored state (state, step, stability,
      difficulty, due, last review, reps, lapses); reps equals the card's number of log
      rows; no card has reps without a log row; each ``next in`` printed agrees with the
      stored due time.

    The runs go on until ``--reviews`` ratings have been acknowledged in all.

Two instances
    Then two ``review --plain`` processes on the same file review at the same time (each in
    its own thread, ``--instance-ratings`` ratings each; both pick the same new cards, so
    the same card is often rated by both), then quit with ``q``. The same checks follow;
    a rating made by one instance on a card the other just rated must build on that rating,
    which the replay of the log checks.

Targets: no acknowledged rating lost, no review row committed that was not sent, integrity
ok after every kill, no card state disagreeing with its log, no hang (a wait of
``--timeout`` seconds), and, for the two instances, both exit 0 with no traceback.

Usage: ``python -m bench crash [--kills N] [--reviews N] [--instance-ratings N] [--seed S]
[--timeout SECONDS] [--keep] [--json PATH]``. Exit status: 0 when every target is met, 1 when
one is missed.
"""

from __future__ import annotations

import argparse
import codecs
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DESCRIPTION = "crash: SIGKILL plain review 20 times over 500 ratings; integrity, no lost rating"

LABELS = {"Again": 1, "Hard": 2, "Good": 3, "Easy": 4}
KILL_MODES = ("rating", "rating", "idle", "answer")  # ``rating`` is the interesting one: 1 in 2
_PROMPTS = r"(?:(?:rating)?> )*"  # prompts have no newline: the next output follows on their line
_CARD_LINE = re.compile(rf"^{_PROMPTS}Q: (?P<front>.*)$")
_SAVED_LINE = re.compile(
    rf"^{_PROMPTS}Saved: (?P<label>Again|Hard|Good|Easy), next in (?P<interval>\S+)\.(?P<leech> It has lapsed.*)?$"
)
_STATE_FIELDS = ("state", "step", "stability", "difficulty", "due", "last_review", "reps", "lapses")


# -- the database -----------------------------------------------------------------------


def front_for(number: int) -> str:
    return f"Crash card {number:04d}: what is {number} plus 7?"


def create_database(folder: Path, cards: int) -> Path:
    """A fresh store of ``cards`` basic cards with limits high enough to review them all today."""
    from studytool.config import Settings
    from studytool.core.importing import parse_text
    from studytool.core.importing.sync import sync_deck
    from studytool.core.store import open_store

    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "crash.db"
    deck = folder / "crash-deck.md"
    deck.write_text(
        "\n---\n\n".join(
            f"Q: {front_for(n)}\nA: {n + 7}\nid: crash-{n:04d}\n" for n in range(cards)
        ),
        encoding="utf-8",
    )
    store = open_store(f"sqlite:///{db}")
    try:
        sync_deck(store, parse_text(deck.read_text(encoding="utf-8"), str(deck)), "Crash")
        store.save_settings(
            Settings(
                new_cards_per_day=9999,
                reviews_per_day=99999,
                enable_fuzzing=False,  # so that every state can be recomputed from the log
                auto_grading=False,
            )
        )
    finally:
        store.close()
    return db


def review_env(folder: Path, db: Path) -> dict[str, str]:
    """The environment of every subprocess: all of studytool's files inside ``folder``."""
    return {
        **os.environ,
        "STUDYTOOL_HOME": str(folder / "home"),
        "STUDYTOOL_DB": str(db),
        "STUDYTOOL_NO_BUNDLED_DECKS": "1",
        "PYTHONIOENCODING": "utf-8",
    }


def card_ids(db: Path) -> dict[str, int]:
    """Card id by the front the plain review prints."""
    with _connect(db) as connection:
        rows = connection.execute(
            "SELECT card.id, note.question FROM card JOIN note ON note.id = card.note_id"
        ).fetchall()
    return {question: card_id for card_id, question in rows}


def _connect(db: Path) -> closing[sqlite3.Connection]:
    """A sqlite3 connection closed on leaving the block (``sqlite3.connect`` alone only commits)."""
    return closing(sqlite3.connect(db, timeout=30))


def last_log_id(db: Path) -> int:
    with _connect(db) as connection:
        return int(connection.execute("SELECT coalesce(max(id), 0) FROM reviewlog").fetchone()[0])


# -- driving one review process -----------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A rating sent to the review for the card it was showing."""

    card_id: int
    rating: int
    typed: str | None


@dataclass(frozen=True)
class Ack:
    """A ``Saved:`` line, with the card shown before it."""

    card_id: int
    rating: int
    interval: str


class _Output:
    """Reads a process's stdout in a thread and parses the cards shown and ratings saved."""

    def __init__(self, stream: Any, fronts: dict[str, int]) -> None:
        self._stream = stream
        self._fronts = fronts
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._cond = threading.Condition()
        self.text: list[str] = []
        self.cards: list[int] = []  # card ids in the order shown
        self.acks: list[Ack] = []
        self.unknown_fronts: list[str] = []
        self.closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while chunk := os.read(self._stream.fileno(), 65536):
                self._feed(self._decoder.decode(chunk))
            self._feed(self._decoder.decode(b"", final=True) + "\n")
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def _feed(self, text: str) -> None:
        self.text.append(text)
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        with self._cond:
            for line in lines:
                line = line.rstrip("\r")
                if card := _CARD_LINE.match(line):
                    front = card["front"]
                    if front in self._fronts:
                        self.cards.append(self._fronts[front])
                    else:
                        self.unknown_fronts.append(front)
                elif saved := _SAVED_LINE.match(line):
                    shown = self.cards[-1] if self.cards else -1
                    self.acks.append(Ack(shown, LABELS[saved["label"]], saved["interval"]))
            self._cond.notify_all()

    def wait(self, *, cards: int = 0, acks: int = 0, timeout: float) -> bool:
        """Until ``cards`` cards were shown and ``acks`` ratings saved; False on EOF or timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: (len(self.cards) >= cards and len(self.acks) >= acks) or self.closed,
                timeout,
            ) and (len(self.cards) >= cards and len(self.acks) >= acks)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def tail(self, chars: int = 600) -> str:
        return "".join(self.text)[-chars:]


class ReviewProcess:
    """``python -m studytool review --plain --no-grading`` on pipes."""

    def __init__(self, env: dict[str, str], fronts: dict[str, int], stderr_path: Path) -> None:
        self._stderr_path = stderr_path
        with stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "studytool", "review", "--plain", "--no-grading"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                bufsize=0,
            )
        self.output = _Output(self.process.stdout, fronts)

    def send(self, text: str) -> bool:
        """Write lines to the review; False when it has gone."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(text.encode("utf-8"))
        except (BrokenPipeError, OSError):
            return False
        return True

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.finish(timeout=30)

    def finish(self, timeout: float) -> int | None:
        """Close stdin, wait for the exit and the end of the output; the exit status or None."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            code: int | None = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
            code = None
        self.output.join(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return code

    def stderr(self) -> str:
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")


def answer_lines(rng: random.Random, card_id: int) -> tuple[str, str | None]:
    """What is typed for a card: Enter alone (reveal) or, one time in four, a one-line answer."""
    if rng.random() < 0.25:
        typed = f"my answer to card {card_id} #{rng.randrange(10**6)}"
        return f"{typed}\n\n", typed
    return "\n", None


# -- checking the file ------------------------------------------------------------------


def _utc(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _state(row: dict[str, Any]) -> dict[str, Any]:
    state = {name: row[name] for name in _STATE_FIELDS}
    for name in ("due", "last_review"):
        value = state[name]
        state[name] = _utc(value) if isinstance(value, str) else value
    return state


def _same(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    differ = []
    for name in _STATE_FIELDS:
        want, got = expected[name], actual[name]
        if isinstance(want, float) and isinstance(got, float):
            if not math.isclose(want, got, rel_tol=1e-9, abs_tol=1e-12):
                differ.append(f"{name} {got!r} != {want!r}")
        elif want != got:
            differ.append(f"{name} {got!r} != {want!r}")
    return differ


@dataclass
class Audit:
    """What ``PRAGMA integrity_check`` and a replay of the whole review log found."""

    integrity: str
    foreign_keys_ok: bool
    log_rows: int
    cards_reviewed: int
    errors: list[str] = field(default_factory=list)
    # After-review state of each log row, by log id (for checking what ``Saved:`` printed).
    after: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and self.foreign_keys_ok and not self.errors


def audit(db: Path) -> Audit:
    """Integrity check, then every card's state replayed from its review log."""
    import fsrs

    from studytool.config import Settings
    from studytool.core.scheduling import make_scheduler

    with _connect(db) as connection:
        connection.row_factory = sqlite3.Row
        integrity = "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
        foreign_keys_ok = not connection.execute("PRAGMA foreign_key_check").fetchall()
        stored = connection.execute("SELECT value FROM setting WHERE key = 'settings'").fetchone()
        settings = Settings.from_stored(json.loads(stored[0]) if stored and stored[0] else {})
        logs = [
            dict(row)
            for row in connection.execute(
                "SELECT id, card_id, rating, state_before, reviewed_at, undo FROM reviewlog"
                " ORDER BY id"
            )
        ]
        cards = {
            row["id"]: dict(row)
            for row in connection.execute(
                "SELECT id, state, step, stability, difficulty, due, last_review, reps, lapses,"
                " suspended FROM card"
            )
        }
    scheduler = make_scheduler(settings)
    result = Audit(integrity, foreign_keys_ok, len(logs), 0)
    by_card: dict[int, list[dict[str, Any]]] = {}
    for log in logs:
        by_card.setdefault(log["card_id"], []).append(log)
    result.cards_reviewed = len(by_card)
    for card_id, unlogged in cards.items():
        if unlogged["reps"] and card_id not in by_card:
            result.errors.append(f"card {card_id}: reps {unlogged['reps']} but no review log row")
    for card_id, rows in by_card.items():
        card = cards.get(card_id)
        if card is None:
            result.errors.append(f"card {card_id}: log rows for a card that is not stored")
            continue
        if card["reps"] != len(rows):
            result.errors.append(f"card {card_id}: reps {card['reps']} but {len(rows)} log rows")
        for index, log in enumerate(rows):
            before = _state(json.loads(log["undo"])["card"])
            if index == 0 and before["reps"] != 0:
                result.errors.append(
                    f"card {card_id}: first log row starts from reps {before['reps']}"
                )
            expected_before = 0 if before["reps"] == 0 else before["state"]
            if log["state_before"] != expected_before:
                result.errors.append(
                    f"log {log['id']}: state_before {log['state_before']} != {expected_before}"
                )
            reviewed_at = _utc(log["reviewed_at"])
            scheduled, _ = scheduler.review_card(
                fsrs.Card(
                    card_id=card_id,
                    state=fsrs.State(before["state"]),
                    step=before["step"],
                    stability=before["stability"],
                    difficulty=before["difficulty"],
                    due=before["due"],
                    last_review=before["last_review"],
                ),
                fsrs.Rating(log["rating"]),
                reviewed_at,
            )
            lapsed = log["rating"] == 1 and expected_before == 2
            expected = {
                "state": int(scheduled.state),
                "step": scheduled.step,
                "stability": scheduled.stability,
                "difficulty": scheduled.difficulty,
                "due": scheduled.due,
                "last_review": scheduled.last_review,
                "reps": before["reps"] + 1,
                "lapses": before["lapses"] + int(lapsed),
            }
            if index + 1 < len(rows):
                actual = _state(json.loads(rows[index + 1]["undo"])["card"])
                where = f"log {rows[index + 1]['id']}'s before-state"
            else:
                actual = _state(card)
                where = "the stored card"
            differ = _same(expected, actual)
            if differ:
                result.errors.append(
                    f"card {card_id}: log {log['id']} (rating {log['rating']}) replayed "
                    f"disagrees with {where}: {', '.join(differ)}"
                )
            result.after[log["id"]] = {**expected, "reviewed_at": reviewed_at}
    return result


def new_log_rows(db: Path, after_id: int) -> list[dict[str, Any]]:
    with _connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [
            dict(row)
            for row in connection.execute(
                "SELECT id, card_id, rating, typed_answer FROM reviewlog WHERE id > ? ORDER BY id",
                (after_id,),
            )
        ]


def interval_errors(
    acks: Sequence[Ack], rows: Sequence[dict[str, Any]], checked: Audit
) -> list[str]:
    """``next in`` as printed for each acknowledged rating vs the due time stored by its row."""
    from studytool.core.scheduling import format_interval

    errors = []
    for ack, row in zip(acks, rows, strict=False):
        after = checked.after.get(row["id"])
        if after is None:
            continue
        stored = format_interval(after["due"] - after["reviewed_at"])
        if stored != ack.interval:
            errors.append(f"log {row['id']}: printed next in {ack.interval}, stored {stored}")
    return errors


# -- one killed run -----------------------------------------------------------------------


@dataclass
class KillRun:
    number: int
    mode: str
    planned: int  # ratings acknowledged before the kill moment was chosen
    acknowledged: int = 0
    committed: int = 0  # log rows the run added
    found: int = 0  # acknowledged ratings found in the log, in order
    lost: int = 0
    committed_unacknowledged: int = 0  # the last rating sent: committed, killed before Saved:
    phantom: int = 0  # rows that were never sent (or not in the order sent)
    last_sent: str = "-"  # what became of a rating sent just before the kill
    integrity: str = ""
    state_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # hangs, early exits, tracebacks
    seconds: float = 0.0
    kill_delay_ms: float | None = None

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.phantom == 0
            and self.integrity == "ok"
            and not self.state_errors
            and not self.problems
        )


def compare(
    acks: Sequence[Ack], sent: Sequence[Sent], rows: Sequence[dict[str, Any]], run: KillRun
) -> None:
    """Fill in found / lost / committed-unacknowledged / phantom from the rows a run added.

    The rows must be the ratings sent, in order: every acknowledged one, then at most the
    one sent last (committed, killed before its ``Saved:``).
    """
    run.acknowledged = len(acks)
    run.committed = len(rows)
    for index, ack in enumerate(acks):
        if index >= len(sent) or (ack.card_id, ack.rating) != (
            sent[index].card_id,
            sent[index].rating,
        ):
            run.problems.append(f"Saved: line {index + 1} does not match the rating sent")
    got = [(row["card_id"], row["rating"], row["typed_answer"]) for row in rows]
    wanted = [(s.card_id, s.rating, s.typed) for s in sent]
    acknowledged, pending = Counter(wanted[: len(acks)]), Counter(wanted[len(acks) :])
    present = Counter(got)
    run.found = sum((acknowledged & present).values())
    run.lost = len(acks) - run.found
    rest = present - acknowledged
    run.committed_unacknowledged = sum((rest & pending).values())
    run.phantom = sum((rest - pending).values())
    if not run.lost and not run.phantom and got != wanted[: len(got)]:
        run.problems.append("the review log rows are not in the order the ratings were sent")
    if len(sent) > len(acks):
        run.last_sent = (
            "committed, not acknowledged" if run.committed_unacknowledged else "not committed"
        )
    elif len(sent) == len(acks) and run.mode == "rating":
        run.last_sent = "acknowledged"


def kill_run(
    db: Path,
    env: dict[str, str],
    fronts: dict[str, int],
    *,
    number: int,
    ratings: int,
    mode: str,
    rng: random.Random,
    timeout: float,
) -> KillRun:
    """Review ``ratings`` cards, then SIGKILL the review at a ``mode`` moment and check the file."""
    run = KillRun(number=number, mode=mode, planned=ratings)
    started = time.monotonic()
    before = last_log_id(db)
    review = ReviewProcess(env, fronts, db.parent / f"stderr-{number}.txt")
    output = review.output
    sent: list[Sent] = []
    latencies: list[float] = []

    def rate(index: int, wait: bool) -> bool:
        card_id = output.cards[index]
        answer, typed = answer_lines(rng, card_id)
        rating = rng.randint(1, 4)
        sent.append(Sent(card_id, rating, typed))
        t0 = time.monotonic()
        if not review.send(answer + f"{rating}\n"):
            return False
        if not wait:
            return True
        if not output.wait(acks=index + 1, timeout=timeout):
            return False
        latencies.append(time.monotonic() - t0)
        return True

    alive = True
    for index in range(ratings):
        if not output.wait(cards=index + 1, timeout=timeout) or not rate(index, wait=True):
            alive = False
            break
    if alive and mode == "idle":
        time.sleep(rng.uniform(0, 0.02))
    elif alive and output.wait(cards=ratings + 1, timeout=timeout):
        reference = statistics.median(latencies) if latencies else 0.005
        delay = rng.uniform(0, 1.2 * reference)
        run.kill_delay_ms = round(delay * 1000, 2)
        if mode == "answer":
            review.send(answer_lines(rng, output.cards[ratings])[0])
            time.sleep(delay)
        else:
            rate(ratings, wait=False)
            time.sleep(delay)
    else:
        alive = False
    if not alive:
        exited = review.process.poll() is not None or output.closed
        run.problems.append(
            f"the review {'exited' if exited else 'hung'} after {len(output.acks)} ratings: "
            f"{output.tail(300)!r}"
        )
    review.kill()
    stderr = review.stderr()
    if "Traceback" in stderr:
        run.problems.append(f"traceback: {stderr[-800:]}")
    if output.unknown_fronts:
        run.problems.append(f"cards not in the deck: {output.unknown_fronts[:3]}")

    checked = audit(db)
    rows = new_log_rows(db, before)
    compare(output.acks, sent, rows, run)
    run.integrity = checked.integrity if checked.foreign_keys_ok else "foreign key check failed"
    run.state_errors = checked.errors + interval_errors(output.acks, rows, checked)
    run.seconds = time.monotonic() - started
    return run


def plan_ratings(rng: random.Random, remaining: int, runs_left: int) -> int:
    """Ratings to acknowledge in this run, so that ``remaining`` are spread over ``runs_left``."""
    if runs_left <= 1:
        return max(1, remaining)
    average = remaining / runs_left
    chosen = rng.randint(max(1, round(average * 0.5)), max(1, round(average * 1.5)))
    return max(1, min(chosen, remaining - (runs_left - 1)))


# -- two instances --------------------------------------------------------------------------


@dataclass
class TwoInstances:
    ratings_each: int
    exit_codes: list[int | None] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    committed: int = 0
    found: int = 0
    lost: int = 0
    phantom: int = 0
    cards_rated_by_both: int = 0
    integrity: str = ""
    state_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            all(code == 0 for code in self.exit_codes)
            and self.lost == 0
            and self.phantom == 0
            and self.integrity == "ok"
            and not self.state_errors
            and not self.problems
        )


def two_instances(
    db: Path, env: dict[str, str], ratings_each: int, *, seed: int, timeout: float
) -> TwoInstances:
    """Two plain reviews on one file at once, each rating ``ratings_each`` cards, then ``q``."""
    result = TwoInstances(ratings_each=ratings_each)
    fronts = card_ids(db)
    started = time.monotonic()
    before = last_log_id(db)
    reviews = [ReviewProcess(env, fronts, db.parent / f"stderr-both-{n}.txt") for n in (1, 2)]
    sent: list[list[Sent]] = [[], []]

    start = threading.Barrier(2)

    def drive(which: int) -> None:
        review, rng = reviews[which], random.Random(seed * 2 + which)
        output = review.output
        # Both show their first card before either rates, so that they really overlap
        # (and both start on the same new card).
        if not output.wait(cards=1, timeout=timeout):
            start.abort()
            result.problems.append(f"instance {which + 1}: no first card: {output.tail(300)!r}")
            return
        try:
            start.wait(timeout)
        except threading.BrokenBarrierError:
            result.problems.append(f"instance {which + 1}: the other instance did not start")
            return
        for index in range(ratings_each):
            if not output.wait(cards=index + 1, timeout=timeout):
                result.problems.append(
                    f"instance {which + 1}: no card {index + 1}: {output.tail(300)!r}"
                )
                return
            card_id = output.cards[index]
            answer, typed = answer_lines(rng, card_id)
            rating = rng.randint(1, 4)
            sent[which].append(Sent(card_id, rating, typed))
            if not review.send(answer + f"{rating}\n") or not output.wait(
                acks=index + 1, timeout=timeout
            ):
                result.problems.append(
                    f"instance {which + 1}: rating {index + 1} not saved: {output.tail(300)!r}"
                )
                return
        review.send("q\n")

    threads = [threading.Thread(target=drive, args=(which,)) for which in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number, review in enumerate(reviews, start=1):
        code = review.finish(timeout=timeout)
        result.exit_codes.append(code)
        if code is None:
            result.problems.append(f"instance {number} did not exit after q")
        stderr = review.stderr()
        if "Traceback" in stderr or "Error" in stderr:
            result.problems.append(f"instance {number}: {stderr[-800:]}")
    result.seconds = time.monotonic() - started

    acks = [review.output.acks for review in reviews]
    result.acknowledged = [len(a) for a in acks]
    for which in (0, 1):  # each instance's Saved: lines are the ratings it was sent
        if [(a.card_id, a.rating) for a in acks[which]] != [
            (s.card_id, s.rating) for s in sent[which][: len(acks[which])]
        ]:
            result.problems.append(
                f"instance {which + 1}: Saved: lines do not match the ratings sent"
            )
    checked = audit(db)
    rows = new_log_rows(db, before)
    result.committed = len(rows)
    wanted = Counter(
        (s.card_id, s.rating, s.typed) for which in (0, 1) for s in sent[which][: len(acks[which])]
    )
    got = Counter((row["card_id"], row["rating"], row["typed_answer"]) for row in rows)
    result.found = sum((wanted & got).values())
    result.lost = sum((wanted - got).values())
    result.phantom = sum((got - wanted).values())
    result.cards_rated_by_both = len({a.card_id for a in acks[0]} & {a.card_id for a in acks[1]})
    result.integrity = checked.integrity if checked.foreign_keys_ok else "foreign key check failed"
    result.state_errors = checked.errors
    return result


# -- the benchmark ----------------------------------------------------------------------------


@dataclass
class CrashResult:
    seed: int
    cards: int
    runs: list[KillRun]
    both: TwoInstances | None
    final: Audit

    @property
    def acknowledged(self) -> int:
        return sum(run.acknowledged for run in self.runs)

    def totals(self) -> dict[str, Any]:
        runs = self.runs
        return {
            "kills": len(runs),
            "acknowledged": self.acknowledged,
            "committed": sum(run.committed for run in runs),
            "found_in_log": sum(run.found for run in runs),
            "lost": sum(run.lost for run in runs),
            "committed_unacknowledged": sum(run.committed_unacknowledged for run in runs),
            "phantom": sum(run.phantom for run in runs),
            "integrity_ok": sum(run.integrity == "ok" for run in runs),
            "state_errors": sum(len(run.state_errors) for run in runs),
            "problems": sum(len(run.problems) for run in runs),
            "kill_modes": dict(Counter(run.mode for run in runs)),
            "rating_kills": dict(Counter(run.last_sent for run in runs if run.mode == "rating")),
            "log_rows": self.final.log_rows,
            "cards_reviewed": self.final.cards_reviewed,
        }

    def failures(self, reviews: int) -> list[str]:
        totals = self.totals()
        failed = []
        if totals["lost"]:
            failed.append(f"{totals['lost']} acknowledged rating(s) lost")
        if totals["phantom"]:
            failed.append(f"{totals['phantom']} review row(s) not matching the ratings sent")
        if totals["integrity_ok"] != len(self.runs):
            failed.append("integrity_check not ok after a kill")
        if totals["state_errors"]:
            failed.append("card state disagrees with the review log")
        if totals["problems"]:
            failed.append("a review hung, exited early or printed a traceback")
        if self.acknowledged < reviews:
            failed.append(f"only {self.acknowledged} of {reviews} ratings acknowledged")
        if self.both is not None and not self.both.ok:
            failed.append("two instances on one file failed")
        return failed


def run_crash_test(
    folder: Path,
    *,
    kills: int,
    reviews: int,
    seed: int,
    instance_ratings: int = 0,
    timeout: float = 60.0,
    modes: Sequence[str] = (),
    progress: bool = False,
) -> CrashResult:
    """The whole benchmark in ``folder``: ``kills`` killed runs, then the two instances.

    Each kill's moment is drawn from :data:`KILL_MODES`, or taken from ``modes`` in turn.
    """
    rng = random.Random(seed)
    cards = reviews + 100 + 2 * instance_ratings
    if progress:
        print(f"crash: creating a database of {cards} cards in {folder}", file=sys.stderr)
    db = create_database(folder, cards)
    env = review_env(folder, db)
    fronts = card_ids(db)
    runs: list[KillRun] = []
    for number in range(1, kills + 1):
        remaining = reviews - sum(run.acknowledged for run in runs)
        ratings = plan_ratings(rng, remaining, kills - number + 1)
        mode = modes[(number - 1) % len(modes)] if modes else rng.choice(KILL_MODES)
        run = kill_run(
            db, env, fronts, number=number, ratings=ratings, mode=mode, rng=rng, timeout=timeout
        )
        runs.append(run)
        if progress:
            print(
                f"crash: kill {number}/{kills} ({mode}) after {run.acknowledged} acknowledged, "
                f"{run.committed} committed: {'ok' if run.ok else 'FAILED'}",
                file=sys.stderr,
            )
    both = None
    if instance_ratings:
        if progress:
            print(f"crash: two instances, {instance_ratings} ratings each", file=sys.stderr)
        both = two_instances(db, env, instance_ratings, seed=seed, timeout=timeout)
    return CrashResult(seed=seed, cards=cards, runs=runs, both=both, final=audit(db))


def report(result: CrashResult, reviews: int) -> list[str]:
    lines = [
        f"crash: {len(result.runs)} SIGKILLs of `studytool review --plain` over "
        f"{result.acknowledged} acknowledged ratings ({result.cards} cards, seed {result.seed})",
        "",
    ]
    header = (
        "run",
        "kill at",
        "delay ms",
        "acked",
        "committed",
        "found",
        "lost",
        "last sent",
        "integrity",
        "state",
        "s",
    )
    body = [
        (
            str(run.number),
            run.mode,
            "-" if run.kill_delay_ms is None else f"{run.kill_delay_ms:.1f}",
            str(run.acknowledged),
            str(run.committed),
            str(run.found),
            str(run.lost),
            run.last_sent,
            run.integrity,
            "ok" if not run.state_errors else f"{len(run.state_errors)} errors",
            f"{run.seconds:.1f}",
        )
        for run in result.runs
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(len(header))]
    for row in (header, tuple("-" * w for w in widths), *body):
        lines.append(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    totals = result.totals()
    lines += [
        "",
        f"  kills {totals['kills']}; ratings acknowledged {totals['acknowledged']} (target >= {reviews}); "
        f"committed {totals['committed']}",
        f"  acknowledged ratings found in the log {totals['found_in_log']}; lost {totals['lost']} (target 0)",
        f"  committed but not acknowledged (kill between commit and Saved:, allowed) "
        f"{totals['committed_unacknowledged']}; rows never sent {totals['phantom']} (target 0)",
        "  ratings sent just before a kill: "
        + (", ".join(f"{k} {v}" for k, v in sorted(totals["rating_kills"].items())) or "none"),
        f"  integrity_check ok after {totals['integrity_ok']} of {totals['kills']} kills (target all)",
        f"  card states replayed from the log: {totals['log_rows']} rows, {totals['cards_reviewed']} cards, "
        f"{totals['state_errors']} disagreements (target 0)",
        f"  hangs, early exits, tracebacks: {totals['problems']} (target 0)",
    ]
    for run in result.runs:
        for problem in (*run.problems, *run.state_errors[:5]):
            lines.append(f"  run {run.number}: {problem}")
    both = result.both
    if both is not None:
        lines += [
            "",
            f"two instances on one file, {both.ratings_each} ratings each at the same time ({both.seconds:.1f} s):",
            f"  exit codes {both.exit_codes}; acknowledged {both.acknowledged}; committed {both.committed}; "
            f"found {both.found}; lost {both.lost} (target 0); rows never sent {both.phantom} (target 0)",
            f"  cards rated by both {both.cards_rated_by_both}; integrity {both.integrity}; "
            f"state disagreements {len(both.state_errors)} (target 0)",
        ]
        lines += [f"  {problem}" for problem in (*both.problems, *both.state_errors[:5])]
    failed = result.failures(reviews)
    lines += ["", "PASS" if not failed else "FAIL: " + "; ".join(failed)]
    return lines


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench crash", description=DESCRIPTION)
    add = parser.add_argument
    add("--kills", type=int, default=20, help="SIGKILLs of the review (default %(default)s)")
    add(
        "--reviews",
        type=int,
        default=500,
        help="ratings to acknowledge in all (default %(default)s)",
    )
    add(
        "--instance-ratings",
        type=int,
        default=50,
        help="ratings each of the two concurrent instances makes; 0 skips them (default %(default)s)",
    )
    add("--seed", type=int, default=None, help="random seed (default: a new one, printed)")
    add("--timeout", type=float, default=60.0, help="seconds before a wait counts as a hang")
    add("--keep", action="store_true", help="keep the temporary folder and its database")
    add("--json", metavar="PATH", help="also write the results as JSON to PATH")
    options = parser.parse_args(list(argv))
    if options.kills < 1 or options.reviews < options.kills:
        parser.error("--kills must be at least 1 and --reviews at least --kills")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    folder = Path(tempfile.mkdtemp(prefix="studytool-crash-"))
    try:
        result = run_crash_test(
            folder,
            kills=options.kills,
            reviews=options.reviews,
            seed=seed,
            instance_ratings=options.instance_ratings,
            timeout=options.timeout,
            progress=True,
        )
    finally:
        if options.keep:
            print(f"crash: kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(report(result, options.reviews)))
    failed = result.failures(options.reviews)
    if options.json:
        from bench import environment

        target = Path(options.json)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "crash",
            "environment": environment(),
            "parameters": {
                "kills": options.kills,
                "reviews": options.reviews,
                "instance_ratings": options.instance_ratings,
                "seed": seed,
                "cards": result.cards,
            },
            "totals": result.totals(),
            "runs": [asdict(run) for run in result.runs],
            "two_instances": asdict(result.both) if result.both else None,
            "failures": failed,
            "failed": bool(failed),
        }
        target.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {target}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
