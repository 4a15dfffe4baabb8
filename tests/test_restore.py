"""Restoring a JSON backup: the round trip, refusing a non-empty collection, damaged files."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from studytool.cli import main
from studytool.config import Settings
from studytool.core.export import backup_document, export_json
from studytool.core.importing.drafts import NoteDraft, ParsedDeck
from studytool.core.importing.sync import sync_deck
from studytool.core.interview import save_report
from studytool.core.models import Card, InterviewReport, NoteKind, ReviewLog
from studytool.core.restore import RestoreError, read_backup, restore_backup
from studytool.core.store import Store, open_store
from studytool.core.study import StudySession

from .conftest import NOW, fresh_postgres_database


def _studied_collection(store: Store) -> None:
    """Two decks, a few reviews with typed answers, a setting and an interview report."""
    for name, count in (("Tokens", 3), ("Async", 2)):
        drafts = [
            NoteDraft(
                kind=NoteKind.REVERSED if index == 0 else NoteKind.BASIC,
                question=f"{name} question {index}?",
                answer=f"answer {index}",
                rubric=[f"says {index}"],
                explicit_key=f"{name.lower()}-{index}",
            )
            for index in range(count)
        ]
        parsed = ParsedDeck(
            source=f"{name}.md", format="primary", notes=drafts, name=name, tags=["t"]
        )
        sync_deck(store, parsed, now=NOW)
    session = StudySession(store, None, settings=Settings(enable_fuzzing=False))
    for minute, rating in enumerate((3, 1, 4, 2)):
        moment = NOW + timedelta(minutes=minute)
        shown = session.next_card(moment)
        assert shown is not None
        session.answer(shown.card_id, rating, moment, duration_ms=900 + minute, typed_answer="é ✓")
    store.save_settings(store.load_settings().replace(desired_retention=0.85))
    save_report(
        store,
        InterviewReport(
            started_at=NOW,
            finished_at=NOW + timedelta(minutes=5),
            decks=["Async"],
            seconds_per_question=120,
            overall_score=0.5,
            results=[{"key": "async-0", "question": "q?", "score": 0.5}],
        ),
    )


def _count(store: Store, model: Any) -> int:
    with store.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _without_export_time(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "exported_at"}


def test_restore_into_an_empty_collection_gives_back_the_same_backup(
    store: Store, tmp_path: Path, backend: str
) -> None:
    _studied_collection(store)
    backup = export_json(store, None, tmp_path / "backup.json", now=NOW)
    original = json.loads(backup.read_text(encoding="utf-8"))
    assert original["version"] == 2 and len(original["interview_reports"]) == 1
    assert (
        sum(len(c["reviews"]) for d in original["decks"] for n in d["notes"] for c in n["cards"])
        == 4
    )

    def restore_into(target: Store) -> None:
        summary = restore_backup(target, read_backup(backup))
        assert (summary.restored.decks, summary.restored.reviews) == (2, 4)
        assert summary.previous_saved_to is None
        again = backup_document(target, None, now=NOW + timedelta(days=1))
        assert _without_export_time(again) == _without_export_time(original)
        assert target.load_settings().desired_retention == 0.85
        # New rows get fresh ids after the restored ones (PostgreSQL sequences included).
        session = StudySession(target, None, settings=Settings(enable_fuzzing=False))
        shown = session.next_card(NOW + timedelta(hours=1))
        assert shown is not None
        session.answer(shown.card_id, 3, NOW + timedelta(hours=1))
        assert _count(target, ReviewLog) == 5

    if backend == "postgresql":
        with fresh_postgres_database() as url:
            target = open_store(url)
            try:
                restore_into(target)
            finally:
                target.close()
    else:
        target = open_store(f"sqlite:///{tmp_path / 'restored.db'}")
        try:
            restore_into(target)
        finally:
            target.close()


def test_restore_refuses_a_collection_with_data_unless_replacing(
    store: Store, tmp_path: Path
) -> None:
    _studied_collection(store)
    backup = export_json(store, ["Async"], tmp_path / "async.json", now=NOW)
    before = _count(store, Card), _count(store, ReviewLog)
    with pytest.raises(RestoreError, match=r"already holds 2 deck\(s\), 7 card\(s\), 4 review"):
        restore_backup(store, read_backup(backup))
    assert (_count(store, Card), _count(store, ReviewLog)) == before

    summary = restore_backup(store, read_backup(backup), replace=True)
    assert summary.previous_saved_to is not None and summary.previous_saved_to.exists()
    assert summary.restored.decks == 1 and _count(store, Card) == 3
    # Settings the deck-only backup does not hold are kept.
    assert store.load_settings().desired_retention == 0.85


def test_a_failed_restore_changes_nothing(store: Store, tmp_path: Path) -> None:
    _studied_collection(store)
    document = backup_document(store, None, now=NOW)
    # Two cards with one id: the database refuses the second, so nothing may remain.
    cards = document["decks"][0]["notes"][1]["cards"]
    cards.append(dict(cards[0], ordinal=7))
    target = open_store(f"sqlite:///{tmp_path / 'target.db'}")
    try:
        with pytest.raises(RestoreError, match="does not fit the database.*Nothing was restored"):
            restore_backup(target, document)
        assert _count(target, Card) == 0 and _count(target, ReviewLog) == 0
    finally:
        target.close()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"format": "studytool-export", "version": 2, "decks": [\n',
            r"bad\.json:2:1: not valid JSON",
        ),
        ('{"name": "x"}', r"not a studytool backup"),
        ('{"format": "studytool-export", "version": 99, "decks": []}', r"newer studytool"),
        (
            '{"format": "studytool-export", "version": 2, "decks": [{"notes": 3}]}',
            r"decks\[0\]: 'notes' should be a list",
        ),
    ],
)
def test_damaged_backups_say_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RestoreError, match=message):
        restore_backup(open_store(f"sqlite:///{tmp_path / 'x.db'}"), read_backup(path))


def test_cli_round_trip_and_messages(tmp_path: Path) -> None:
    runner = CliRunner()
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    studied = open_store(f"sqlite:///{first}")
    _studied_collection(studied)
    studied.close()
    backup, again = tmp_path / "all.json", tmp_path / "again.json"

    exported = runner.invoke(
        main,
        ["--no-bundled-decks", "--db", str(first), "export", "--format", "json", "-o", str(backup)],
    )
    assert exported.exit_code == 0, exported.output

    imported = runner.invoke(
        main, ["--no-bundled-decks", "--db", str(second), "import", str(backup)]
    )
    assert imported.exit_code == 1
    assert (
        f"is a studytool backup (export --format json), not a deck file; bring it back with `studytool restore {backup}`"
        in imported.output
    )

    restored = runner.invoke(
        main, ["--no-bundled-decks", "--db", str(second), "restore", str(backup)]
    )
    assert restored.exit_code == 0, restored.output
    assert "Restored 2 deck(s), 7 card(s), 4 review(s) and 1 interview report(s)" in restored.output
    runner.invoke(
        main,
        ["--no-bundled-decks", "--db", str(second), "export", "--format", "json", "-o", str(again)],
    )
    assert _without_export_time(json.loads(again.read_text())) == _without_export_time(
        json.loads(backup.read_text())
    )

    refused = runner.invoke(
        main, ["--no-bundled-decks", "--db", str(second), "restore", str(backup)]
    )
    assert refused.exit_code == 1 and "pass --replace" in refused.output
    replaced = runner.invoke(
        main, ["--no-bundled-decks", "--db", str(second), "restore", "--replace", str(backup)]
    )
    assert replaced.exit_code == 0 and "Saved the collection it replaced to" in replaced.output
