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
