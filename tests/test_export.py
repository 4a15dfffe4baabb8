from __future__ import annotations

import json
import logging
import re
import sqlite3
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import genanki
import pytest

from studytool.config import Settings
from studytool.core.cloze import brackets_to_cloze
from studytool.core.export import (
    BASIC_MODEL_ID,
    CLOZE_MODEL_ID,
    REVERSED_MODEL_ID,
    ExportError,
    anki_deck_id,
    clean_text,
    deck_file_stem,
    export_apkg,
    export_json,
    export_markdown,
    markdown_to_html,
)
from studytool.core.importing import parse_file
from studytool.core.importing.drafts import NoteDraft, ParsedDeck
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Note, NoteKind
from studytool.core.store import Store, open_store
from studytool.core.study import StudySession

from .conftest import FIXTURES, NOW

DECK = "Python & LLMs"
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

CODE_ANSWER = """It writes its arguments to stdout:

```python
print("hi")
Q: this line is code, not a card
---
# a comment, not a heading
```

Then it returns None."""

# Lines that would end the field, or start a card, if written as they are.
TRICKY_ANSWER = """Say why, in this order:
Q: this line starts like a question but is part of the answer
---
# Not a heading
   ---
A: not a second answer
id: not-an-id
tags: not tags
+++
and that is all."""


def _drafts() -> list[NoteDraft]:
    return [
        NoteDraft(
            kind=NoteKind.BASIC,
            question="What does `print` do?",
            answer=CODE_ANSWER,
            context="Built-in since Python 3.0;\nearlier it was a statement.",
            rubric=[
                "says it writes to stdout",
                "1. mentions the return value",
                "- bullet-like item",
            ],
            hints=["Think of the console.", "It is a function:\n\n    print(x)"],
            follow_ups=["What does `end=` change?", "And `file=`?"],
            tags=["llm", "python", "builtins"],
            demo="tokenizer | Hello, world!",
            explicit_key="print-basics",
        ),
        NoteDraft(
            kind=NoteKind.REVERSED,
            question="Tokenizer",
            answer="Turns text into token ids.",
            tags=["llm"],
        ),
        NoteDraft(
            kind=NoteKind.CLOZE,
            question=brackets_to_cloze(
                "GPT-2 reads at most [1024] tokens, see `x[0]` and [the paper](https://x.y)."
            ),
            answer="Extra shown after reveal.",
            tags=["llm"],
        ),
        NoteDraft(
            kind=NoteKind.CLOZE,
            question="{{c1::RoPE}} and {{c1::ALiBi}} encode {{c2::position}}.",
            tags=["llm"],
            explicit_key="positions",
        ),
        NoteDraft(
            kind=NoteKind.CLOZE, question="The {{c1::KV cache::what}} stores keys.", tags=["llm"]
        ),
        NoteDraft(
            kind=NoteKind.INTERVIEW,
            question="Explain attention.",
            answer=TRICKY_ANSWER,
            rubric=["mentions queries, keys and values", "mentions softmax"],
            follow_ups=["Why scale by sqrt(d)?"],
            tags=["llm", "interview"],
            explicit_key="attention",
        ),
        NoteDraft(
            kind=NoteKind.BASIC,
            question="Show a fence left open.",
            answer="Like this:\n```\nQ: still code\n---",
            tags=["llm"],
        ),
        NoteDraft(
            kind=NoteKind.BASIC,
            question="Indented continuation?",
            answer="first\n  second, indented\n  third, indented",
            tags=["llm"],
        ),
        NoteDraft(
            kind=NoteKind.BASIC,
            question="Starts with code?",
            answer="```sh\nls -l\n```\nlists files",
            tags=["llm"],
        ),
    ]


def _add_deck(
    store: Store,
    name: str,
    drafts: list[NoteDraft],
    tags: list[str] | None = None,
    description: str = "",
) -> None:
    parsed = ParsedDeck(
        source=f"{name}.md",
        format="primary",
        notes=drafts,
        name=name,
        description=description,
        tags=tags or [],
    )
    sync_deck(store, parsed, now=NOW)


def _stored_notes(store: Store, deck: str) -> list[Note]:
    from sqlmodel import select

    from studytool.core.models import Deck

    with store.session() as session:
        deck_id = session.exec(select(Deck.id).where(Deck.name == deck)).one()
        return list(
            session.exec(select(Note).where(Note.deck_id == deck_id).order_by(Note.id)).all()
        )


def _content(note: Note | NoteDraft) -> tuple[object, ...]:
    kind = note.kind.value if isinstance(note, NoteDraft) else note.kind
    return (
        note.key,
        kind,
        note.question,
        note.answer,
        note.context,
        list(note.rubric),
        list(note.hints),
        list(note.follow_ups),
        list(note.mistakes),
        sorted(note.tags),
        note.demo,
    )


@pytest.fixture
def deck_store(store: Store) -> Store:
    _add_deck(store, DECK, _drafts(), tags=["llm"], description='Say "hi"; use \\n')
    return store


# -- markdown ----------------------------------------------------------------------------


def test_markdown_round_trip_keeps_every_field(deck_store: Store, tmp_path: Path) -> None:
    (path,) = export_markdown(deck_store, [DECK], tmp_path / "out")
    assert path == tmp_path / "out" / "python-llms.md"

    parsed = parse_file(path)
    assert parsed.format == "primary"
    assert parsed.warnings == []
    assert parsed.name == DECK
    assert parsed.description == 'Say "hi"; use \\n'
    assert parsed.tags == ["llm"]
    assert [_content(d) for d in parsed.notes] == [
        _content(n) for n in _stored_notes(deck_store, DECK)
    ]
    kinds = [d.kind for d in parsed.notes]
    assert (
        kinds.count(NoteKind.CLOZE) == 3
        and NoteKind.REVERSED in kinds
        and NoteKind.INTERVIEW in kinds
    )


def test_markdown_reimport_changes_nothing(deck_store: Store, tmp_path: Path) -> None:
    (path,) = export_markdown(deck_store, None, tmp_path)
    report = sync_deck(deck_store, parse_file(path), now=NOW + timedelta(days=1))
    assert (report.added, report.updated, report.unchanged) == ([], [], len(_drafts()))


def test_markdown_reads_like_a_hand_written_deck(deck_store: Store, tmp_path: Path) -> None:
    (path,) = export_markdown(deck_store, [DECK], tmp_path)
    text = path.read_text()
    assert text.startswith('+++\nname = "Python & LLMs"\n')
    # Simple values stay as written; deck tags are not repeated on each note.
    assert "Q: Tokenizer\nA: Turns text into token ids.\n" in text
    assert (
        "C: GPT-2 reads at most [1024] tokens, see `x[0]` and [the paper](https://x.y).\n" in text
    )
    assert "C: {{c1::RoPE}} and {{c1::ALiBi}} encode {{c2::position}}.\n" in text
    assert "C: The {{c1::KV cache::what}} stores keys.\n" in text
    assert "tags: python, builtins\nid: print-basics\ndemo: tokenizer | Hello, world!\n" in text
    assert "kind: interview" in text and "kind: reversed" in text
    # Code blocks are written as they are: their lines cannot be read as fields.
    assert '\n```python\nprint("hi")\nQ: this line is code, not a card\n' in text
    assert "A:\n```sh\nls -l\n```\nlists files\n" in text
    # Lines that would otherwise end the answer are indented under it.
    assert "A:\n    Say why, in this order:\n    Q: this line starts like a question" in text
    assert "\n    ---\n    # Not a heading\n       ---\n" in text


def test_markdown_round_trip_of_the_fixture_deck(store: Store, tmp_path: Path) -> None:
    original = parse_file(FIXTURES / "primary" / "mixed.md")
    sync_deck(store, original, now=NOW)
    (path,) = export_markdown(store, ["Fixture deck"], tmp_path)
    again = parse_file(path)
    assert [_content(d) for d in again.notes] == [_content(d) for d in original.notes]
    assert again.notes[0].mistakes == original.notes[0].mistakes != []
    assert "X:\n- a token id is the token's position in the text" in path.read_text()
    assert [_content(n) for n in _stored_notes(store, "Fixture deck")] == [
        _content(d) for d in original.notes
    ]
    assert (again.name, again.description, again.tags) == (
        original.name,
        original.description,
        original.tags,
    )


def test_markdown_front_matter_tags_only_those_every_note_has(store: Store, tmp_path: Path) -> None:
    drafts = [
        NoteDraft(kind=NoteKind.BASIC, question="one?", answer="1", tags=["shared", "a"]),
        NoteDraft(kind=NoteKind.BASIC, question="two?", answer="2", tags=["a"]),
    ]
    _add_deck(store, "Tags", drafts, tags=["shared", "a"])
    (path,) = export_markdown(store, ["Tags"], tmp_path)
    parsed = parse_file(path)
    assert parsed.tags == ["a"]
    assert [sorted(d.tags) for d in parsed.notes] == [["a", "shared"], ["a"]]


def test_markdown_strips_terminal_escapes_and_control_characters(
    store: Store, tmp_path: Path
) -> None:
    drafts = [
        NoteDraft(
            kind=NoteKind.BASIC,
            question="\x1b[31mRed\x1b[0m question\x07?",
            answer="tab\tkept\x00\x1b]0;title\x07, \x9b1mC1 gone\r\nnext line",
            tags=["t"],
        )
    ]
    _add_deck(store, "Escapes\x1b[2J", drafts)
    (path,) = export_markdown(store, None, tmp_path)
    data = path.read_bytes()
    assert not RAW_CONTROL.search(data.decode()) and "\x9b" not in data.decode()
    (note,) = parse_file(path).notes
    assert note.question == "Red question?"
    assert note.answer == "tab\tkept, C1 gone\nnext line"
    assert parse_file(path).name == "Escapes"


def test_clean_text() -> None:
    assert clean_text("a\x1b[1;31mb\x1b[0m\x1b]8;;http://x\x1b\\c\x1bMd\x7f\te\nf") == "abcd\te\nf"


def test_markdown_logs_ids_the_format_cannot_hold(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drafts = [
        NoteDraft(kind=NoteKind.BASIC, question="From Anki?", answer="yes", explicit_key="f#3K!x"),
        NoteDraft(kind=NoteKind.BASIC, question="Plain?", answer="yes", explicit_key="plain"),
    ]
    _add_deck(store, "Anki", drafts)
    with caplog.at_level(logging.WARNING, logger="studytool.core.export"):
        (path,) = export_markdown(store, ["Anki"], tmp_path)
    assert "'f#3K!x'" in caplog.text and "'plain'" not in caplog.text
    # The file still imports; only that note's identity is lost.
    assert [d.answer for d in parse_file(path).notes] == ["yes", "yes"]


def test_markdown_refuses_to_overwrite(deck_store: Store, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (path,) = export_markdown(deck_store, [DECK], out)
    path.write_text("mine")
    with pytest.raises(FileExistsError, match="python-llms.md already exists"):
        export_markdown(deck_store, [DECK], out)
    assert path.read_text() == "mine"
    assert export_markdown(deck_store, [DECK], out, overwrite=True) == [path]
    assert path.read_text().startswith("+++")
    assert [p.name for p in out.iterdir()] == ["python-llms.md"]  # no partial files left


def test_markdown_file_names_are_unique_slugs(store: Store, tmp_path: Path) -> None:
    _add_deck(store, "A b", [NoteDraft(kind=NoteKind.BASIC, question="q?", answer="a")])
    _add_deck(store, "a-b", [NoteDraft(kind=NoteKind.BASIC, question="q?", answer="a")])
    paths = export_markdown(store, None, tmp_path)
    assert [p.name for p in paths] == ["a-b.md", "a-b-2.md"]
    assert [parse_file(p).name for p in paths] == ["A b", "a-b"]
    assert deck_file_stem("Токены: ids") == "токены-ids"
    assert deck_file_stem("CON") == "con-deck"
    assert deck_file_stem("???") == "deck"


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("export", [export_markdown, export_json, export_apkg])
def test_unknown_deck_is_an_error(deck_store: Store, tmp_path: Path, export: object) -> None:
    with pytest.raises(ExportError, match=r"no deck named 'Nope'; `studytool decks` lists them"):
        export(deck_store, ["Nope", DECK], tmp_path / "out")  # type: ignore[operator]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("export", [export_markdown, export_json, export_apkg])
def test_empty_selection_is_an_error(store: Store, tmp_path: Path, export: object) -> None:
    with pytest.raises(ExportError, match="no decks to export"):
        export(store, None, tmp_path / "out")  # type: ignore[operator]
    _add_deck(store, "Some", [NoteDraft(kind=NoteKind.BASIC, question="q?", answer="a")])
    with pytest.raises(ExportError, match="no decks selected"):
        export(store, [], tmp_path / "out")  # type: ignore[operator]


# -- JSON --------------------------------------------------------------------------------


def test_json_backup_holds_cards_and_review_log(deck_store: Store, tmp_path: Path) -> None:
    session = StudySession(deck_store, [DECK], settings=Settings(enable_fuzzing=False))
    first = session.next_card(NOW)
    assert first is not None
    session.answer(first.card_id, 3, NOW, duration_ms=1500, typed_answer="writes to stdout")
    second = session.next_card(NOW + timedelta(minutes=1))
    assert second is not None
    session.answer(second.card_id, 1, NOW + timedelta(minutes=1))

    out = export_json(deck_store, [DECK], tmp_path / "backup.json", now=NOW + timedelta(hours=1))
    document = json.loads(out.read_text())
    assert (document["format"], document["version"]) == ("studytool-export", 2)
    assert document["exported_at"] == "2026-03-10T13:00:00+00:00"
    (deck,) = document["decks"]
    assert deck["name"] == DECK and deck["tags"] == ["llm"]
    assert [n["key"] for n in deck["notes"]] == [n.key for n in _stored_notes(deck_store, DECK)]
    note = deck["notes"][0]
    assert (
        note["rubric"][0] == "says it writes to stdout"
        and note["demo"] == "tokenizer | Hello, world!"
    )
    assert note["created_at"] == "2026-03-10T12:00:00+00:00"

    cards = [card for n in deck["notes"] for card in n["cards"]]
    assert len(cards) == 1 + 2 + 1 + 2 + 1 + 1 + 1 + 1 + 1
    reviews = [r for card in cards for r in card["reviews"]]
    assert [(r["card_id"], r["rating"]) for r in reviews] == [
        (first.card_id, 3),
        (second.card_id, 1),
    ]
    assert reviews[0]["typed_answer"] == "writes to stdout" and reviews[0]["duration_ms"] == 1500
    assert reviews[1]["reviewed_at"] == "2026-03-10T12:01:00+00:00"
    reviewed = next(card for card in cards if card["id"] == first.card_id)
    assert reviewed["reps"] == 1 and reviewed["stability"] > 0
    assert datetime.fromisoformat(reviewed["due"]).utcoffset() == timedelta(0)
    assert datetime.fromisoformat(reviewed["last_review"]) == NOW


def test_json_keeps_text_exact_without_raw_control_bytes(store: Store, tmp_path: Path) -> None:
    question = "\x1b[31mRed\x1b[0m \x9b and \u2028 kept?"
    _add_deck(store, "Raw", [NoteDraft(kind=NoteKind.BASIC, question=question, answer="a")])
    out = export_json(store, None, tmp_path / "b.json")
    text = out.read_text(encoding="utf-8")
    assert not RAW_CONTROL.search(text) and "\x9b" not in text and "\u2028" not in text
    assert json.loads(text)["decks"][0]["notes"][0]["question"] == question
    with pytest.raises(FileExistsError):
        export_json(store, None, out)


# -- Anki --------------------------------------------------------------------------------


def _collection(apkg: Path, folder: Path) -> sqlite3.Connection:
    assert zipfile.is_zipfile(apkg)
    with zipfile.ZipFile(apkg) as archive:
        assert "collection.anki2" in archive.namelist()
        archive.extract("collection.anki2", folder)
    return sqlite3.connect(folder / "collection.anki2")


def test_apkg_has_every_note_and_card(deck_store: Store, tmp_path: Path) -> None:
    out = export_apkg(deck_store, [DECK], tmp_path / "deck.apkg", now=NOW)
    connection = _collection(out, tmp_path / "x")
    try:
        assert connection.execute("SELECT count(*) FROM notes").fetchone() == (9,)
        # basic 1, reversed 2, cloze 1 + 2 + 1, interview 1, three more basic.
        assert connection.execute("SELECT count(*) FROM cards").fetchone() == (11,)
        models = dict(connection.execute("SELECT guid, mid FROM notes").fetchall())
        decks = {row[0] for row in connection.execute("SELECT did FROM cards")}
        (models_json,) = connection.execute("SELECT models FROM col").fetchone()
        notes = connection.execute("SELECT guid, flds, tags FROM notes").fetchall()
    finally:
        connection.close()
    assert decks == {anki_deck_id(DECK)}
    assert set(json.loads(models_json)) == {
        str(BASIC_MODEL_ID),
        str(REVERSED_MODEL_ID),
        str(CLOZE_MODEL_ID),
    }
    by_guid = {guid: (flds.split("\x1f"), tags.split()) for guid, flds, tags in notes}
    (front, back, rubric, extra), tags = by_guid[genanki.guid_for("print-basics")]
    assert models[genanki.guid_for("print-basics")] == BASIC_MODEL_ID
    assert models[genanki.guid_for("attention")] == BASIC_MODEL_ID  # interview notes are Basic
    assert models[genanki.guid_for("positions")] == CLOZE_MODEL_ID
    assert front == "What does <code>print</code> do?"
    assert "<pre><code>print(&quot;hi&quot;)\nQ: this line is code, not a card\n---" in back
    assert back.startswith("It writes its arguments to stdout:<pre><code>")
    assert back.endswith("</code></pre>Then it returns None.")
    assert rubric.startswith("<ul><li>says it writes to stdout</li>")
    assert "Built-in since Python 3.0;<br>earlier it was a statement." in extra
    assert (
        "<li>What does <code>end=</code> change?</li>" in extra and "Think of the console." in extra
    )
    assert sorted(tags) == ["builtins", "llm", "python"]
    (cloze_front, *_), _ = by_guid[genanki.guid_for("positions")]
    assert cloze_front == "{{c1::RoPE}} and {{c1::ALiBi}} encode {{c2::position}}."


def test_apkg_guids_and_ids_are_stable(deck_store: Store, tmp_path: Path) -> None:
    def guids(name: str, now: datetime) -> list[str]:
        out = export_apkg(deck_store, None, tmp_path / f"{name}.apkg", now=now)
        connection = _collection(out, tmp_path / name)
        try:
            return sorted(row[0] for row in connection.execute("SELECT guid FROM notes"))
        finally:
            connection.close()

    first = guids("one", NOW)
    assert first == guids("two", NOW + timedelta(days=3))
    assert sorted(genanki.guid_for(n.key) for n in _stored_notes(deck_store, DECK)) == first
    assert anki_deck_id(DECK) == anki_deck_id(DECK) and (1 << 30) <= anki_deck_id(DECK) < (1 << 31)


def test_apkg_escapes_html_sanitizes_tags_and_keeps_suspension(
    store: Store, tmp_path: Path
) -> None:
    drafts = [
        NoteDraft(
            kind=NoteKind.BASIC,
            question="<script>alert(1)</script> & **bold**?",
            answer="\x1b[1mloud\x1b[0m",
            tags=["two words", "ok"],
            explicit_key="html",
        ),
        NoteDraft(
            kind=NoteKind.BASIC, question="Same key, other deck", answer="a", explicit_key="shared"
        ),
    ]
    _add_deck(store, "Html", drafts)
    _add_deck(
        store,
        "Other",
        [NoteDraft(kind=NoteKind.BASIC, question="q?", answer="a", explicit_key="shared")],
    )
    (html_note, _) = _stored_notes(store, "Html")
    session = StudySession(store, ["Html"])
    queued = session.next_card(NOW)
    assert queued is not None and queued.key == "html"
    session.set_suspended(queued.card_id)

    out = export_apkg(store, None, tmp_path / "h.apkg", now=NOW)
    connection = _collection(out, tmp_path / "x")
    try:
        rows = connection.execute(
            "SELECT n.guid, n.flds, n.tags, c.queue FROM notes n JOIN cards c ON c.nid = n.id"
        ).fetchall()
    finally:
        connection.close()
    by_guid = {guid: (flds.split("\x1f"), tags, queue) for guid, flds, tags, queue in rows}
    assert len(by_guid) == 3  # the key shared by two decks still gives two notes
    fields, tags, queue = by_guid[genanki.guid_for(html_note.key)]
    assert fields[0] == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; <b>bold</b>?"
    assert fields[1] == "loud"
    assert tags.split() == ["two_words", "ok"]
    assert queue == -1
    assert all(not RAW_CONTROL.search(field) for flds, _, _ in by_guid.values() for field in flds)


def test_apkg_refuses_to_overwrite(deck_store: Store, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    out = export_apkg(deck_store, None, tmp_path / "out" / "d.apkg")
    with pytest.raises(FileExistsError, match="d.apkg already exists"):
        export_apkg(deck_store, None, out)
    export_apkg(deck_store, None, out, overwrite=True)
    assert [p.name for p in out.parent.iterdir()] == ["d.apkg"]


def test_apkg_imports_into_anki_and_updates_in_place(deck_store: Store, tmp_path: Path) -> None:
    anki = pytest.importorskip("anki.collection")
    collection = anki.Collection(str(tmp_path / "anki-collection.anki2"))

    def import_package(path: Path) -> None:
        options = anki.ImportAnkiPackageOptions(update_notes=1, update_notetypes=1)
        request = anki.ImportAnkiPackageRequest(package_path=str(path), options=options)
        collection.import_anki_package(request)

    try:
        import_package(export_apkg(deck_store, None, tmp_path / "one.apkg", now=NOW))
        assert (collection.note_count(), collection.card_count()) == (9, 11)
        with deck_store.transaction() as session:
            note = session.get(Note, _stored_notes(deck_store, DECK)[0].id)
            assert note is not None
            note.answer = "A changed answer"
        # Anki takes an update only from a package written later than the note it holds.
        later = NOW + timedelta(days=1)
        import_package(export_apkg(deck_store, None, tmp_path / "two.apkg", now=later))
        assert (collection.note_count(), collection.card_count()) == (9, 11)
        (changed,) = collection.find_notes('"A changed answer"')
        assert collection.get_note(changed).guid == genanki.guid_for("print-basics")
        assert DECK in collection.decks.all_names()
    finally:
        collection.close()


def test_markdown_to_html() -> None:
    assert markdown_to_html("a < b\n\n```py\nx = '<'\n```\nafter `c<d`") == (
        "a &lt; b<pre><code>x = &#x27;&lt;&#x27;</code></pre>after <code>c&lt;d</code>"
    )
    assert markdown_to_html("```\nunclosed <b>") == "<pre><code>unclosed &lt;b&gt;</code></pre>"
    assert markdown_to_html("list:\n- a\n  - b") == "list:<br>- a<br>\u00a0\u00a0- b"


# -- destinations ----------------------------------------------------------------------------


def test_markdown_to_a_file_name_writes_that_file(deck_store: Store, tmp_path: Path) -> None:
    (path,) = export_markdown(deck_store, [DECK], tmp_path / "rag.md")
    assert path == tmp_path / "rag.md" and path.is_file()
    assert parse_file(path).name == DECK
    _add_deck(deck_store, "Second", [NoteDraft(kind=NoteKind.BASIC, question="q?", answer="a")])
    with pytest.raises(ExportError, match=r"rag2\.md names one file, but 2 decks are selected"):
        export_markdown(deck_store, None, tmp_path / "rag2.md")
    assert not (tmp_path / "rag2.md").exists()


@pytest.mark.parametrize(
    ("export", "name"),
    [(export_markdown, "x.md"), (export_markdown, "folder"), (export_json, "x.json"), (export_apkg, "x.apkg")],
)
def test_a_missing_parent_folder_is_named_and_not_created(
    deck_store: Store, tmp_path: Path, export: object, name: str
) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(ExportError, match=f"the folder {re.escape(str(missing))} does not exist"):
        export(deck_store, [DECK], missing / name)  # type: ignore[operator]
    assert not (tmp_path / "no").exists()


def test_cli_export_to_standard_output(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from studytool.cli import main

    db = tmp_path / "c.db"
    store = open_store(f"sqlite:///{db}")
    _add_deck(store, DECK, _drafts(), tags=["llm"])
    store.close()
    runner = CliRunner()
    base = ["--no-bundled-decks", "--db", str(db), "export"]

    as_json = runner.invoke(main, [*base, "--format", "json", "-o", "-"])
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout)["decks"][0]["name"] == DECK
    as_markdown = runner.invoke(main, [*base, "--format", "markdown", "-o", "-"])
    assert as_markdown.exit_code == 0 and as_markdown.stdout.startswith('+++\nname = "Python & LLMs"')
    (tmp_path / "d.md").write_text(as_markdown.stdout, encoding="utf-8")
    assert len(parse_file(tmp_path / "d.md").notes) == len(_drafts())
    binary = runner.invoke(main, [*base, "--format", "apkg", "-o", "-"])
    assert binary.exit_code == 1 and "an .apkg is a binary file" in binary.output
    assert not list(tmp_path.glob("-*")) and not (Path.cwd() / "-").exists()


# -- -o: a file only when it ends in the format's extension (issue 14, trial problem 11) ------


def test_o_without_the_formats_extension_is_a_folder(deck_store: Store, tmp_path: Path) -> None:
    from studytool.core.export import file_destination

    (path,) = export_markdown(deck_store, [DECK], tmp_path / "notes.v1")
    assert path.parent == tmp_path / "notes.v1" and path.suffix == ".md"
    (upper,) = export_markdown(deck_store, [DECK], tmp_path / "deck.MARKDOWN")
    assert upper.is_file()
    assert file_destination(tmp_path / "b.json", ".json") == tmp_path / "b.json"
    assert file_destination(tmp_path, ".json") == tmp_path / "studytool-export.json"
    assert file_destination(tmp_path / "new", ".apkg") == tmp_path / "new" / "studytool-export.apkg"
    out = export_json(deck_store, [DECK], tmp_path / "backups")
    assert out == tmp_path / "backups" / "studytool-export.json" and out.is_file()


def test_o_naming_an_existing_file_without_the_extension_is_refused(
    deck_store: Store, tmp_path: Path
) -> None:
    (tmp_path / "backup").write_text("keep me", encoding="utf-8")
    with pytest.raises(ExportError, match=r"backup is a file, not a folder.*-o .*backup\.json"):
        export_json(deck_store, [DECK], tmp_path / "backup")
    assert (tmp_path / "backup").read_text(encoding="utf-8") == "keep me"
