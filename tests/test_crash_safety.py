"""Crash safety of the plain review (issue #7), at a size that runs in seconds.

The full figures come from ``python -m bench crash`` (20 SIGKILLs over 500 ratings); these
tests run the same code on a few kills, one of each kill moment, and two instances at
once. Every review is a real ``studytool review --plain`` subprocess on a real SQLite file.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench` lives at the repository root, beside `studytool`
    sys.path.insert(0, str(ROOT))

from bench import crash  # noqa: E402
from studytool.core.models import utcnow  # noqa: E402
from studytool.core.store import open_store  # noqa: E402
from studytool.core.study import StudySession  # noqa: E402


def test_killed_reviews_lose_no_acknowledged_rating(tmp_path: Path) -> None:
    result = crash.run_crash_test(
        tmp_path, kills=3, reviews=30, seed=7, modes=("rating", "idle", "answer")
    )

    assert [run.mode for run in result.runs] == ["rating", "idle", "answer"]
    for run in result.runs:
        assert run.problems == []
        assert run.integrity == "ok"
        assert run.lost == 0 and run.phantom == 0
        assert run.found == run.acknowledged >= run.planned
        assert run.committed - run.acknowledged == run.committed_unacknowledged <= 1
        assert run.state_errors == []
    totals = result.totals()
    assert totals["acknowledged"] >= 30
    assert totals["log_rows"] == totals["committed"]
    assert result.final.ok
    assert result.failures(30) == []
    assert crash.report(result, 30)[-1] == "PASS"


def test_two_instances_on_one_database(tmp_path: Path) -> None:
    db = crash.create_database(tmp_path, 80)

    both = crash.two_instances(db, crash.review_env(tmp_path, db), 20, seed=3, timeout=60)

    assert both.problems == []
    assert both.exit_codes == [0, 0]
    assert both.acknowledged == [20, 20]
    assert both.committed == both.found == 40
    assert both.lost == 0 and both.phantom == 0
    assert both.cards_rated_by_both >= 1  # both began on the same new card
    assert both.integrity == "ok"
    assert both.state_errors == []  # each rating built on the other instance's
    assert both.ok


def test_the_bench_reports_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "crash.json"

    code = crash.main(
        ["--kills", "2", "--reviews", "6", "--instance-ratings", "3", "--seed", "11"]
        + ["--json", str(out)]
    )

    assert code == 0
    payload = json.loads(out.read_text())
    assert payload["failed"] is False
    assert payload["totals"]["kills"] == 2
    assert payload["totals"]["lost"] == 0
    assert payload["totals"]["integrity_ok"] == 2
    assert payload["two_instances"]["exit_codes"] == [0, 0]


def test_the_checks_catch_a_lost_rating_and_a_wrong_state(tmp_path: Path) -> None:
    """The checks are not vacuous: a missing log row, a rating made on a stale card state (a
    lost update) and a card state off its log are each reported."""
    db = crash.create_database(tmp_path, 5)
    store = open_store(f"sqlite:///{db}")
    try:
        session = StudySession(store)
        sent = []
        for rating in (3, 1, 4):  # cards A, B, C
            card = session.next_card(utcnow())
            assert card is not None
            session.answer(card.card_id, rating, utcnow())
            sent.append(crash.Sent(card.card_id, rating, None))
        session.answer(sent[0].card_id, 2, utcnow())  # A again
        sent.append(crash.Sent(sent[0].card_id, 2, None))
    finally:
        store.close()
    a, b, c = (s.card_id for s in sent[:3])
    acks = [crash.Ack(s.card_id, s.rating, "-") for s in sent]
    run = crash.KillRun(number=1, mode="idle", planned=4)
    crash.compare(acks, sent, crash.new_log_rows(db, 0), run)
    assert (run.found, run.lost, run.phantom, run.problems) == (4, 0, 0, [])
    assert crash.audit(db).ok

    with closing(sqlite3.connect(db)) as connection, connection:
        logs = dict(connection.execute("SELECT card_id, max(id) FROM reviewlog GROUP BY card_id"))
        connection.execute("DELETE FROM reviewlog WHERE id = ?", (logs[c],))
        # A's second rating as if made from the state before its first: a lost update.
        connection.execute(
            "UPDATE reviewlog SET undo = (SELECT undo FROM reviewlog WHERE id = 1) WHERE id = ?",
            (logs[a],),
        )
        connection.execute("UPDATE card SET due = '2000-01-01 00:00:00.000000' WHERE id = ?", (b,))

    run = crash.KillRun(number=1, mode="idle", planned=4)
    crash.compare(acks, sent, crash.new_log_rows(db, 0), run)
    assert (run.found, run.lost, run.phantom) == (3, 1, 0)
    errors = crash.audit(db).errors
    assert any(f"card {c}: reps 1 but no review log row" in e for e in errors)
    assert any(f"card {a}: log 1 " in e and f"log {logs[a]}'s before-state" in e for e in errors)
    assert any(f"card {b}:" in e and "due" in e for e in errors)
