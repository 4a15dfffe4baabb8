from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from studytool.cli import main

from .conftest import FIXTURES

COMMANDS = [
    "import", "decks", "review", "stats", "export", "optimize", "settings", "where", "grade",
    "calibrate",
]  # fmt: skip


def run(*args: str, stdin: str | None = None, bundled: bool = False):
    runner = CliRunner()
    extra = [] if bundled else ["--no-bundled-decks"]
    return runner.invoke(main, [*extra, *args], input=stdin, catch_exceptions=False)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_import_decks_and_dry_run(tmp_path: Path) -> None:
    deck = FIXTURES / "primary" / "mixed.md"
    dry = run("import", "--dry-run", str(deck))
    assert dry.exit_code == 0, dry.output
    assert (
        "would import into 'Fixture deck' (primary): 3 added, 0 updated, 0 unchanged, 0 removed"
        in dry.output
    )
    assert "No decks yet" in run("decks").output

    real = run("import", str(deck))
    assert "imported into 'Fixture deck'" in real.output
    again = run("import", str(deck))
    assert "0 added, 0 updated, 3 unchanged" in again.output
    listing = run("decks").output.splitlines()
    assert listing[0].split() == ["Deck", "cards", "new", "learn", "due", "susp"]
    assert listing[1].split() == ["Fixture", "deck", "4", "4", "0", "0", "0"]


def test_import_reports_errors_with_file_and_line_and_continues(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text("Q: fine?\nA: yes\n")
    bad = tmp_path / "bad.md"
    bad.write_text("Q: fine?\nA: yes\n\nQ: missing answer\n")
    result = CliRunner().invoke(main, ["--no-bundled-decks", "import", str(tmp_path)])
    assert result.exit_code == 1
    assert f"error: {bad}:4: card has no answer; add an A: line" in result.output
    assert f"{bad}: not imported" in result.output
    assert "Done: 1 of 2 files had cards; 1 added" in result.output


def test_import_missing_path() -> None:
    result = CliRunner().invoke(main, ["--no-bundled-decks", "import", "/no/such/deck.md"])
    assert result.exit_code == 1
    assert "no such file or folder: /no/such/deck.md" in result.output


def test_plain_review_is_scriptable(tmp_path: Path) -> None:
    run("import", str(FIXTURES / "primary" / "mixed.md"))
    # Rate Good, reveal the next card, undo: the first card is back with its typed answer,
    # to be rated again (Easy); then two hints asked on the next card, and quit.
    script = "an integer\nthat indexes embeddings\n\n3\n\nu\n4\n?\n?\n\nq\n"
    result = run("review", "--plain", stdin=script)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Q: What is a token id?" in out
    assert "1 Again (1m)  2 Hard (6m)  3 Good (10m)  4 Easy (8d)" in out
    assert "Saved: Good, next in 10m." in out
    assert "Undone: the rating; the card is back with your answer." in out
    assert "Your answer: an integer\nthat indexes embeddings" in out
    assert out.count("Q: What is a token id?") == 2
    assert "Saved: Easy" in out
    assert "No (more) hints for this card." in out
    assert "Reviewed 1 card in" in out

    from sqlalchemy import select

    from studytool.core.models import ReviewLog
    from studytool.core.store import open_store

    store = open_store()
    with store.session() as session:
        logs = session.scalars(select(ReviewLog)).all()
    store.close()
    assert [(log.rating, log.typed_answer) for log in logs] == [
        (4, "an integer\nthat indexes embeddings")
    ]


def test_plain_review_shows_card_text_inert(tmp_path: Path) -> None:
    deck = tmp_path / "evil.md"
    deck.write_text("Q: Evil \x1b]0;pwned\x07 \x1b[2J question [bold]x[/bold]?\nA: ok\n")
    run("import", str(deck))
    out = run("review", "--plain", "--no-grading", stdin="\n1\n").output
    assert "\x1b" not in out and "\x07" not in out
    assert "Q: Evil   question [bold]x[/bold]?" in out


def test_bundled_decks_are_imported_on_first_run_and_when_changed(
    tmp_path: Path, monkeypatch
) -> None:
    folder = tmp_path / "decks"
    folder.mkdir()
    (folder / "one.md").write_text('+++\nname = "Bundled"\n+++\nQ: q1?\nA: a1\nid: one\n')
    monkeypatch.setattr("studytool.paths.bundled_decks_dir", lambda: folder)
    first = run("decks", bundled=True)
    assert "Imported the bundled decks: 1 deck, 1 note." in first.output
    assert "Bundled decks updated" not in run("decks", bundled=True).output
    (folder / "one.md").write_text(
        '+++\nname = "Bundled"\n+++\nQ: q1?\nA: a1 edited\nid: one\n\nQ: q2?\nA: a2\n'
    )
    third = run("decks", bundled=True)
    assert "Bundled decks updated:\n  Bundled: 1 added, 1 updated, 0 unchanged" in third.output


def test_settings_show_set_reset() -> None:
    assert "new_cards_per_day = 20" in run("settings").output
    assert run("settings", "new_cards_per_day", "35").output.strip() == "new_cards_per_day = 35"
    assert (
        "learning_steps_minutes = [2.0, 20.0]"
        in run("settings", "learning_steps_minutes", "2,20").output
    )
    bad = CliRunner().invoke(main, ["--no-bundled-decks", "settings", "desired_retention", "2"])
    assert bad.exit_code == 1 and "desired_retention must be between 0.70 and 0.99" in bad.output
    assert "new_cards_per_day = 20" in run("settings", "--reset").output


def test_stats_and_optimize_with_little_history() -> None:
    run("import", str(FIXTURES / "primary" / "mixed.md"))
    run("review", "--plain", "--no-grading", stdin="\n3\n")
    stats = run("stats").output
    assert "Today: 1 reviews" in stats
    assert "Due forecast: today" in stats
    optimize = run("optimize").output
    assert "0 usable reviews in the log" in optimize and "needs at least 512 (512 more)" in optimize


def test_corrupt_database_message_and_exit_code(tmp_path: Path) -> None:
    db = tmp_path / "broken.db"
    db.write_bytes(b"garbage" * 1000)
    result = CliRunner().invoke(main, ["--db", str(db), "decks"])
    assert result.exit_code == 1
    assert "is not a studytool database or is damaged" in result.output
    assert "Traceback" not in result.output
    assert db.read_bytes() == b"garbage" * 1000


def test_help_starts_without_ml_packages() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from studytool.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'numpy') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


# -- the trial's CLI paths (issue 14): dry-run listings, export -o, settings, optimize --------


def test_dry_run_lists_removed_cards_by_question_and_cloze_as_written(tmp_path: Path) -> None:
    deck = tmp_path / "rag.md"
    deck.write_text(
        "Q: What does a reranker do after retrieval?\nA: It reorders the candidates.\n\n"
        "C: Chunk overlap is usually [10-20%] of the chunk size.\n\n"
        "Q: Which card stays?\nA: This one.\n",
        encoding="utf-8",
    )
    first = run("import", "--dry-run", str(deck))
    assert "  + Chunk overlap is usually [10-20%] of the chunk size." in first.output
    assert "{{c1::" not in first.output
    run("import", str(deck))
    deck.write_text("Q: Which card stays?\nA: This one.\n", encoding="utf-8")
    dry = run("import", "--dry-run", str(deck))
    assert dry.exit_code == 0, dry.output
    removed = [line for line in dry.output.splitlines() if line.startswith("  - ")]
    # In file order, by question: never the internal id (q-76527990e5e67c85).
    assert removed == [
        "  - What does a reranker do after retrieval?",
        "  - Chunk overlap is usually [10-20%] of the chunk size.",
    ]


def test_import_of_a_large_tree_says_how_many_files_it_reads(tmp_path: Path) -> None:
    for index in range(210):
        folder = tmp_path / f"part{index % 3}"
        folder.mkdir(exist_ok=True)
        (folder / f"n{index}.md").write_text(f"Q: q{index}?\nA: a\n", encoding="utf-8")
    result = run("import", "--dry-run", str(tmp_path))
    assert result.exit_code == 0
    assert f"{tmp_path} holds 210 deck files in 3 folders; reading them all" in result.stderr
    small = run("import", "--dry-run", str(tmp_path / "part0"))
    assert "holds" not in small.stderr


def _exported_db(tmp_path: Path) -> list[str]:
    deck = tmp_path / "my-rag-notes.md"
    deck.write_text('+++\nname = "My RAG notes"\n+++\nQ: q?\nA: a\n', encoding="utf-8")
    run("import", str(deck))
    return ["export", "--deck", "My RAG notes"]


def test_export_o_is_a_file_when_it_ends_in_the_formats_extension(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _exported_db(tmp_path)
    monkeypatch.chdir(tmp_path)
    markdown = run(*export, "--format", "markdown", "-o", "rag.md")
    assert markdown.exit_code == 0, markdown.output
    assert (tmp_path / "rag.md").is_file()  # the trial got a folder rag.md/ here
    # No markdown extension: a folder, one file per deck.
    assert run(*export, "--format", "markdown", "-o", "notes.v1").exit_code == 0
    assert (tmp_path / "notes.v1" / "my-rag-notes.md").is_file()
    assert run(*export, "--format", "json", "-o", "backup.json").exit_code == 0
    assert (tmp_path / "backup.json").is_file()
    # An existing folder holds a json or apkg export under its default name.
    (tmp_path / "exports").mkdir()
    assert run(*export, "--format", "json", "-o", "exports").exit_code == 0
    assert run(*export, "--format", "apkg", "-o", "exports").exit_code == 0
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [
        "studytool-export.apkg",
        "studytool-export.json",
    ]


def test_export_refuses_a_missing_parent_folder_and_creates_nothing(tmp_path: Path) -> None:
    export = _exported_db(tmp_path)
    missing = tmp_path / "nonexistent" / "dir"
    for fmt, name in [("json", "x.json"), ("markdown", "rag.md"), ("apkg", "x.apkg")]:
        result = run(*export, "--format", fmt, "-o", str(missing / name))
        assert result.exit_code == 1
        assert f"the folder {missing} does not exist; create it first (mkdir -p {missing})" in (
            result.output
        )
    assert not (tmp_path / "nonexistent").exists()


def test_settings_errors_name_the_setting_as_typed_with_range_and_default() -> None:
    negative = run("settings", "new_cards_per_day", "-5")  # was "No such option '-5'"
    assert negative.exit_code == 1
    assert (
        "new_cards_per_day must be between 0 and 9999; you gave -5, the default is 20"
        in negative.output
    )
    hyphens = run("settings", "desired-retention", "1.5")
    assert "desired-retention must be between 0.70 and 0.99; you gave 1.5" in hyphens.output
    assert run("settings", "new-cards-per-day", "30").output.strip() == "new_cards_per_day = 30"
    not_a_number = run("settings", "new_cards_per_day", "lots")
    assert "new_cards_per_day takes a whole number; you gave lots" in not_a_number.output
    typo = run("settings", "new_card_per_day", "3")
    assert typo.exit_code == 1 and "did you mean new_cards_per_day?" in typo.output
    unknown_option = run("settings", "--bogus")
    assert unknown_option.exit_code == 2 and "No such option: --bogus" in unknown_option.output
    assert "new_cards_per_day = 30" in run("settings").output  # nothing refused was saved


def test_settings_theme_must_be_one_the_app_offers() -> None:
    from textual.app import App

    bad = run("settings", "theme", "nonexistent-theme")
    assert bad.exit_code == 1
    assert "theme must be one of the app's themes: " in bad.output
    for theme in App().available_themes:
        assert theme in bad.output
    assert run("settings", "theme").output.strip() == 'theme = "textual-dark"'
    assert run("settings", "theme", "nord").output.strip() == 'theme = "nord"'


def test_optimize_says_it_fits_only_when_it_will() -> None:
    dry = run("optimize", "--dry-run")
    assert dry.exit_code == 0
    assert "0 usable reviews in the log" in dry.output
    assert "Fitting" not in dry.output and "this can take a minute" not in dry.stderr


def test_decks_counts_new_within_the_daily_limit(tmp_path: Path) -> None:
    deck = tmp_path / "many.md"
    deck.write_text("\n---\n".join(f"Q: question {n}?\nA: answer {n}" for n in range(30)))
    assert run("import", str(deck)).exit_code == 0
    assert run("settings", "new_cards_per_day", "12").exit_code == 0
    listing = run("decks").output.splitlines()
    # 30 cards, 12 new on offer today (the limit), none learning or due, none suspended.
    assert listing[1].split()[-5:] == ["30", "12", "0", "0", "0"]
