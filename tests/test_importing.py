from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from studytool.core.importing import DeckParseError, find_deck_files, parse_file, parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Card, Deck, Note, ReviewLog
from studytool.core.study import StudySession

from .conftest import NOW

DECK_V1 = """+++
name = "Sync"
+++
Q: What does the KV cache store?
A: Keys and values.
id: kv

---

Q: What is greedy decoding?
A: Always taking the most likely token.

---

Q: Which card will disappear?
A: This one.
"""

DECK_V2 = """+++
name = "Sync"
+++
Q: What does the KV cache store? (edited question, same id)
A: The keys and values of earlier tokens, per layer.
R:
- keys and values
- per layer
id: kv

---

Q: What is greedy decoding?
A: Always taking the most likely token.

---

Q: A brand new card?
A: Yes.
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def card_count(store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Card))


def test_reimport_keeps_history_updates_in_place_and_suspends_removed(
    store, tmp_path, settings
) -> None:
    path = write(tmp_path, "sync.md", DECK_V1)
    first = sync_deck(store, parse_file(path), now=NOW)
    assert (len(first.added), len(first.updated), first.unchanged, first.removed) == (3, 0, 0, [])

    study = StudySession(store, settings=settings)
    with store.session() as session:
        kv_card_id = session.scalar(select(Card.id).join(Note).where(Note.key == "kv"))
    study.answer(kv_card_id, 3, NOW)
    study.answer(kv_card_id, 3, NOW + timedelta(minutes=10))

    path.write_text(DECK_V2, encoding="utf-8")
    preview = sync_deck(store, parse_file(path), dry_run=True, now=NOW)
    assert (
        [d.key for d in preview.updated] == ["kv"]
        and len(preview.added) == 1
        and preview.unchanged == 1
    )
    assert len(preview.removed) == 1
    assert card_count(store) == 3  # the dry run wrote nothing

    second = sync_deck(store, parse_file(path), now=NOW)
    assert second.summary() == "1 added, 1 updated, 1 unchanged, 1 removed (suspended)"
    with store.session() as session:
        kv = session.exec(select(Note).where(Note.key == "kv")).scalars().one()
        assert kv.answer.startswith("The keys and values")
        assert kv.rubric == ["keys and values", "per layer"]
        card = session.get(Card, kv_card_id)
        assert card.reps == 2 and card.state == 2  # FSRS state kept
        assert session.scalar(select(func.count()).select_from(ReviewLog)) == 2
        gone = (
            session.exec(select(Note).where(Note.question == "Which card will disappear?"))
            .scalars()
            .one()
        )
        assert gone.removed_from_source
        assert session.scalar(select(Card.suspended).where(Card.note_id == gone.id)) is True

    path.write_text(DECK_V1, encoding="utf-8")
    third = sync_deck(store, parse_file(path), now=NOW)
    assert third.restored == 1
    with store.session() as session:
        assert (
            session.scalar(
                select(Card.suspended)
                .join(Note)
                .where(Note.question == "Which card will disappear?")
            )
            is False
        )


def test_prune_deletes_cards_gone_from_the_file(store, tmp_path) -> None:
    path = write(tmp_path, "sync.md", DECK_V1)
    sync_deck(store, parse_file(path), now=NOW)
    path.write_text(DECK_V2, encoding="utf-8")
    report = sync_deck(store, parse_file(path), prune=True, now=NOW)
    assert report.summary().endswith("1 deleted")
    assert card_count(store) == 3


def test_deck_override_and_file_name_default(store, tmp_path) -> None:
    path = write(tmp_path, "my_async-notes.md", "Q: q\nA: a\n")
    assert sync_deck(store, parse_file(path), now=NOW).deck == "my async notes"
    assert sync_deck(store, parse_file(path), deck_name="Chosen", now=NOW).deck == "Chosen"
    with store.session() as session:
        assert sorted(session.scalars(select(Deck.name))) == ["Chosen", "my async notes"]


def test_a_file_with_an_error_imports_nothing_and_keeps_existing_data(store, tmp_path) -> None:
    path = write(tmp_path, "sync.md", DECK_V1)
    sync_deck(store, parse_file(path), now=NOW)
    path.write_text(DECK_V2 + "\nQ: broken card without answer\n", encoding="utf-8")
    with pytest.raises(DeckParseError) as exc:
        parse_file(path)
    assert str(exc.value.issues[0]).startswith(f"{path}:21: card has no answer")
    assert card_count(store) == 3


def test_binary_file_is_refused(tmp_path) -> None:
    path = tmp_path / "image.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DeckParseError, match="binary file, not a text deck"):
        parse_file(path)


def test_non_utf8_file_names_the_line(tmp_path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("Q: ok\nA: ok\nQ: caf\xe9\n".encode("latin-1"))
    with pytest.raises(DeckParseError) as exc:
        parse_file(path)
    assert str(exc.value.issues[0]).startswith(f"{path}:3: not UTF-8 (byte 0xe9")
    assert "save the file as UTF-8" in str(exc.value)


def test_empty_file_is_a_warning(tmp_path) -> None:
    deck = parse_file(write(tmp_path, "empty.md", "\n\n  \n"))
    assert deck.notes == []
    assert [w.message for w in deck.warnings] == ["empty file, no cards"]


def test_markdown_without_cards_is_a_warning(tmp_path) -> None:
    deck = parse_file(write(tmp_path, "README.md", "# Title\n\nJust prose.\n"))
    assert deck.notes == []
    assert deck.warnings


def test_huge_file_is_refused_quickly(tmp_path, monkeypatch) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # a sparse 50 MB file
    started = time.perf_counter()
    with pytest.raises(DeckParseError, match=r"file is 52\.4 MB; decks over 10 MB are refused"):
        parse_file(path)
    assert time.perf_counter() - started < 1.0


def test_large_deck_under_the_limit_parses_in_bounded_time(tmp_path) -> None:
    cards = "".join(f"Q: Question number {i}?\nA: Answer {i}.\n\n" for i in range(20_000))
    path = write(tmp_path, "big.md", cards)
    started = time.perf_counter()
    deck = parse_file(path)
    assert len(deck.notes) == 20_000
    assert time.perf_counter() - started < 30


def test_folder_of_thousands_of_files(store, tmp_path) -> None:
    folder = tmp_path / "vault"
    (folder / ".obsidian").mkdir(parents=True)
    (folder / ".obsidian" / "hidden.md").write_text("Q: hidden\nA: skipped\n")
    for index in range(1000):
        sub = folder / f"part{index % 10}"
        sub.mkdir(exist_ok=True)
        (sub / f"note{index:04}.md").write_text(f"Q: Question {index}?\nA: Answer {index}.\n")
    (folder / "image.png").write_bytes(b"\x89PNG")
    files = list(find_deck_files([folder]))
    assert len(files) == 1000
    started = time.perf_counter()
    for path in files:
        sync_deck(store, parse_file(path), deck_name="Vault", now=NOW)
    assert card_count(store) == 1000
    assert time.perf_counter() - started < 120


def test_import_never_writes_to_the_source_file(store, tmp_path) -> None:
    path = write(tmp_path, "sync.md", DECK_V1)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    sync_deck(store, parse_file(path), now=NOW)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_utf8_bom_is_accepted() -> None:
    deck = parse_text("\ufeffQ: q\nA: a\n", "bom.md")
    assert deck.notes[0].question == "q"


def test_nul_characters_are_dropped_on_the_way_in(store) -> None:
    """PostgreSQL cannot store NUL; both stores keep the text without it, and re-importing
    the same file still finds the same notes."""
    text = (
        '+++\nname = "N\\u0000UL deck"\n+++\nQ: a\x00b?\nA: c\x00d\nR:\n- e\x00f\nid: key\x00one\n'
    )
    first = sync_deck(store, parse_text(text, "nul.md"))
    again = sync_deck(store, parse_text(text, "nul.md"))
    assert len(first.added) == 1 and again.unchanged == 1 and not again.added
    with store.session() as session:
        (note,) = session.scalars(select(Note)).all()
        deck = session.get(Deck, note.deck_id)
    assert (deck.name, note.key, note.question, note.answer, note.rubric) == (
        "NUL deck",
        "keyone",
        "ab?",
        "cd",
        ["ef"],
    )


# -- dry-run listings and counting files before reading them (issue 14) ----------------------


def test_removed_notes_are_reported_with_their_questions_in_file_order(store, tmp_path) -> None:
    from studytool.core.importing.listing import question_line
    from studytool.core.importing.sync import RemovedNote

    path = write(tmp_path, "sync.md", DECK_V1 + "\n---\n\nC: Overlap is [10-20%] of a chunk.\n")
    sync_deck(store, parse_file(path), now=NOW)
    path.write_text(DECK_V2, encoding="utf-8")
    preview = sync_deck(store, parse_file(path), dry_run=True, now=NOW)
    assert [note.question for note in preview.removed] == [
        "Which card will disappear?",
        "Overlap is {{c1::10-20%}} of a chunk.",
    ]
    assert all(isinstance(note, RemovedNote) and note.key.startswith("q-") for note in preview.removed)
    assert question_line(preview.removed[1].question) == "Overlap is [10-20%] of a chunk."
    assert question_line("A {{c1::hidden::hint}}\n  spread   over lines", width=200) == (
        "A [hidden] spread over lines"
    )
    assert question_line("word " * 30, width=20) == "word word word word…"


def test_deck_files_are_counted_before_reading_and_the_walk_can_stop(tmp_path) -> None:
    from studytool.core.importing.batch import LARGE_SELECTION_FILES, select_deck_files

    for index in range(LARGE_SELECTION_FILES + 1):
        folder = tmp_path / f"part{index % 4}"
        folder.mkdir(exist_ok=True)
        # Not decks at all: counting must not open them.
        (folder / f"n{index}.md").write_bytes(b"\x00binary")
    selection = select_deck_files([tmp_path])
    assert (len(selection.files), selection.folders, selection.large) == (201, 4, True)
    assert selection.describe() == "201 deck files in 4 folders"
    assert not select_deck_files([tmp_path / "part0"]).large
    asked = 0

    def stop_after_two_folders() -> bool:
        nonlocal asked
        asked += 1
        return asked > 2

    stopped = select_deck_files([tmp_path], should_stop=stop_after_two_folders)
    assert stopped.stopped and 0 < len(stopped.files) < 201
