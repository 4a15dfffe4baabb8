"""The ``studytool`` command line: a thin layer over ``studytool.core``.

With no subcommand it starts studying on the bundled decks.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from studytool import __version__, paths
from studytool.core.text_safety import inert

if TYPE_CHECKING:
    from studytool.config import SettingError
    from studytool.core.store import Store


class Context:
    def __init__(self, db: str | None, bundled: bool) -> None:
        self.db = db
        self.bundled = bundled

    def open(self, *, with_bundled: bool = True, say: Callable[[str], None] | None = None) -> Store:
        """Open the store (importing the bundled decks when they changed); StoreError if it can't."""
        from studytool.core.store import open_store

        store = open_store(self.db)
        if with_bundled and self.bundled:
            from studytool.core.bundled import ensure_bundled_decks

            try:
                result = ensure_bundled_decks(store)
            except BaseException:
                store.close()
                raise
            for line in result.messages() if result else []:
                (say or _say_on_stderr)(line)
        return store

    @contextmanager
    def store(self, *, with_bundled: bool = True) -> Iterator[Store]:
        from studytool.core.store import StoreError

        try:
            store = self.open(with_bundled=with_bundled)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            yield store
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            store.close()


def _say_on_stderr(line: str) -> None:
    click.echo(line, err=True)


pass_context = click.make_pass_decorator(Context)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="URL",
    envvar=paths.DB_ENV,
    help=f"Database: a SQLAlchemy URL or a file path (default: {paths.default_db_path()}; env {paths.DB_ENV}).",
)
@click.option(
    "--no-bundled-decks",
    is_flag=True,
    envvar="STUDYTOOL_NO_BUNDLED_DECKS",
    help="Do not import or refresh the decks shipped with studytool.",
)
@click.version_option(__version__, prog_name="studytool")
@click.pass_context
def main(ctx: click.Context, db: str | None, no_bundled_decks: bool) -> None:
    """Spaced-repetition study for AI-engineering interviews.

    Run without a command to open the app.
    """
    ctx.obj = Context(db, bundled=not no_bundled_decks)
    if ctx.invoked_subcommand is None:
        _run_app(ctx.obj, start_review=None)


def _run_app(obj: Context, start_review: list[str] | None, *, grading: bool = True) -> None:
    """Open the full-screen app on the home screen, or straight into a review.

    The store is opened by the app in a worker thread, after its first screen is up: the
    database libraries take longer to import than Textual itself.
    """
    from studytool.tui.app import StudyApp

    app = StudyApp(open_store=obj.open, start_review=start_review, grading=grading)
    app.run()
    if app.return_code:
        sys.exit(app.return_code)


@main.command("import")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--deck",
    "deck_name",
    metavar="NAME",
    help="Put every card into this deck (default: each file's own deck).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change without writing anything.")
@click.option(
    "--prune",
    is_flag=True,
    help="Delete cards that are gone from the files (default: suspend them).",
)
@pass_context
def import_command(
    obj: Context, sources: tuple[Path, ...], deck_name: str | None, dry_run: bool, prune: bool
) -> None:
    """Import deck files or folders (markdown, Obsidian, flashcard notes, Anki text exports)."""
    from studytool.core.importing.batch import (
        NO_DECK_FILES,
        FileOutcome,
        import_paths,
        select_deck_files,
    )
    from studytool.core.importing.listing import question_line
    from studytool.core.restore import looks_like_backup

    missing = [str(source) for source in sources if not source.exists()]
    if missing:
        raise click.ClickException(f"no such file or folder: {', '.join(missing)}")
    backups = [source for source in sources if source.is_file() and looks_like_backup(source)]
    if backups:
        raise click.ClickException(
            f"{backups[0]} is a studytool backup (export --format json), not a deck file; "
            f"bring it back with `studytool restore {backups[0]}`"
        )
    selection = select_deck_files(sources)
    if not selection.files:
        raise click.ClickException(NO_DECK_FILES)
    if selection.large:
        # Most likely a parent folder typed by mistake: say how much is about to be read.
        where = ", ".join(str(source) for source in sources)
        click.echo(
            f"{inert(where)} holds {selection.describe()}; reading them all "
            f"({'nothing is written' if dry_run else 'ctrl+c stops between files'}).",
            err=True,
        )

    def show(done: int, total: int, outcome: FileOutcome) -> None:
        if total > 20 and done % 100 == 0:
            click.echo(f"… {done}/{total} files", err=True)
        for issue in outcome.errors:
            click.echo(f"error: {inert(str(issue))}", err=True)
        if outcome.failed:
            click.echo(
                f"{outcome.path}: not imported (fix the errors above; nothing from this file was stored)",
                err=True,
            )
        for warning in outcome.warnings:
            click.echo(f"warning: {inert(str(warning))}", err=True)
        report = outcome.report
        if report is None:
            return
        prefix = "would import" if dry_run else "imported"
        click.echo(
            f"{outcome.path}: {prefix} into {inert(report.deck)!r} ({report.format}): {report.summary()}"
        )
        if dry_run or total == 1:
            for draft in report.added:
                click.echo(f"  + {question_line(inert(draft.question))}")
            for draft in report.updated:
                click.echo(f"  ~ {question_line(inert(draft.question))}")
            for note in report.removed:
                click.echo(f"  - {question_line(inert(note.question or note.key))}")

    with obj.store(with_bundled=False) as store:
        batch = import_paths(
            store, selection.files, deck_name, prune=prune, dry_run=dry_run, on_file=show
        )
    if batch.backup:
        click.echo(f"Backed up the database to {batch.backup}")
    if len(batch.files) > 1:
        verb = "Would change" if dry_run else "Done"
        click.echo(
            f"{verb}: {len(batch.reports)} of {len(batch.files)} files had cards; {batch.added} added, "
            f"{batch.updated} updated, {batch.unchanged} unchanged, {batch.removed} removed."
        )
    if batch.failed:
        sys.exit(1)


@main.command()
@pass_context
def decks(obj: Context) -> None:
    """List decks with their cards, and what today's review of each offers: new (within the
    daily limit left), learning and reviews due, as the app's home screen counts them."""
    from studytool.core.models import utcnow
    from studytool.core.stats import deck_sizes
    from studytool.core.study import StudySession

    with obj.store() as store:
        rows = StudySession(store, None).counts_by_deck(utcnow())
        sizes = deck_sizes(store)
    if not rows:
        click.echo("No decks yet. Import some with `studytool import PATH`.")
        return
    width = max(len("Deck"), *(len(row.name) for row in rows))
    click.echo(
        f"{'Deck':<{width}}  {'cards':>6}  {'new':>5}  {'learn':>5}  {'due':>5}  {'susp':>5}"
    )
    for row in rows:
        today, size = row.today, sizes.get(row.name)
        suspended = size.suspended if size else 0
        click.echo(
            f"{inert(row.name):<{width}}  {row.cards:>6}  {today.new:>5}  "
            f"{today.learning:>5}  {today.review:>5}  {suspended:>5}"
        )


@main.command()
@click.option("--deck", multiple=True, metavar="NAME", help="Review only this deck (repeatable).")
@click.option(
    "--plain", is_flag=True, help="Line-based review on standard input/output (scriptable)."
)
@click.option(
    "--no-grading", is_flag=True, help="Do not grade typed answers (no model is loaded)."
)
@pass_context
def review(obj: Context, deck: tuple[str, ...], plain: bool, no_grading: bool) -> None:
    """Review due and new cards, in the app or line-based with --plain."""
    from studytool.core.study import StudyError, StudySession
    from studytool.plain_review import PlainReview

    if not plain:
        _run_app(obj, start_review=list(deck), grading=not no_grading)
        return
    with obj.store() as store:
        try:
            session = StudySession(store, list(deck) or None)
        except StudyError as exc:
            raise click.ClickException(str(exc)) from exc
        grader = None
        settings = store.load_settings()
        if settings.auto_grading and not no_grading:
            from studytool.core.grading import BackgroundGrader, thresholds_from_setting
            from studytool.ml import load_answer_grader

            grader = BackgroundGrader(
                functools.partial(load_answer_grader, settings.grader_backend),
                thresholds_from_setting(settings.grade_thresholds),
            )
        PlainReview(session, sys.stdin, sys.stdout, grader=grader).run()


@main.command()
@click.option("--deck", multiple=True, metavar="NAME", help="Only this deck (repeatable).")
@pass_context
def stats(obj: Context, deck: tuple[str, ...]) -> None:
    """Reviews today, retention, streak and the week's forecast."""
    from sqlalchemy import select
    from sqlmodel import col

    from studytool.core.models import Deck, utcnow
    from studytool.core.stats_series import (
        describe_grader_health,
        due_forecast,
        grader_health,
        headline,
        reviews_per_day,
    )

    now = utcnow()
    with obj.store() as store:
        settings = store.load_settings()
        deck_ids: list[int] | None = None
        if deck:
            with store.session() as session:
                # Stored decks always have an id; the model types it Optional for new objects.
                query = select(col(Deck.id)).where(col(Deck.name).in_(deck))
                deck_ids = cast(list[int], list(session.scalars(query)))
            if len(deck_ids) != len(set(deck)):
                raise click.ClickException("unknown deck name; `studytool decks` lists them")
        options: dict[str, Any] = {
            "deck_ids": deck_ids,
            "day_starts_at_hour": settings.day_starts_at_hour,
        }
        figures = headline(store, now, reviews_per_day(store, now, 366, **options), **options)
        forecast = due_forecast(store, now, 7, **options)
        health = grader_health(store, now, deck_ids=deck_ids)
    click.echo(f"Today: {figures.reviews_today} reviews in {figures.minutes_today:.1f} min")
    click.echo(f"All time: {figures.reviews_total} reviews; streak {figures.streak_days} day(s)")
    if figures.true_retention is None:
        click.echo("True retention (30 days): no review-state cards answered yet")
    else:
        click.echo(
            f"True retention (30 days): {figures.true_retention:.1%} of {figures.retention_sample} reviews "
            f"(target {settings.desired_retention:.0%})"
        )
    days = [
        ("today" if index == 0 else day.strftime("%a %d %b"), total)
        for index, (day, total) in enumerate(forecast)
    ]
    click.echo("Due forecast: " + ", ".join(f"{label} {total}" for label, total in days))
    click.echo(describe_grader_health(health))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["markdown", "json", "apkg"]), required=True)
@click.option(
    "--deck", multiple=True, metavar="NAME", help="Only this deck (repeatable; default all)."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, allow_dash=True),
    help="Output file when it ends in the format's extension (backup.json, decks.apkg; "
    "deck.md for one deck), else a folder (created if its parent exists): one .md per deck, "
    "or studytool-export.json/.apkg; - writes json or one deck's markdown to standard output.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing files.")
@pass_context
def export(
    obj: Context, fmt: str, deck: tuple[str, ...], output: Path | None, overwrite: bool
) -> None:
    """Export decks as markdown (primary format), JSON (full backup) or an Anki .apkg."""
    from studytool.core import export as exporting

    deck_names = list(deck) or None
    to_stdout = output is not None and str(output) == "-"
    if to_stdout and fmt == "apkg":
        raise click.ClickException("an .apkg is a binary file: give its name with -o, e.g. -o decks.apkg")
    with obj.store() as store:
        try:
            if to_stdout:
                click.echo(_export_text(store, fmt, deck_names), nl=False)
                return
            if fmt == "markdown":
                written = exporting.export_markdown(
                    store, deck_names, output or Path("studytool-export"), overwrite=overwrite
                )
            elif fmt == "json":
                target = output or Path("studytool-export.json")
                written = [exporting.export_json(store, deck_names, target, overwrite=overwrite)]
            else:
                target = output or Path("studytool-export.apkg")
                written = [exporting.export_apkg(store, deck_names, target, overwrite=overwrite)]
        except (exporting.ExportError, FileExistsError) as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:
            raise click.ClickException(f"cannot write the export: {exc}") from exc
    for path in written:
        click.echo(f"wrote {path}")


def _export_text(store: Any, fmt: str, deck_names: list[str] | None) -> str:
    """What ``export -o -`` prints: the JSON backup, or one deck's markdown."""
    from studytool.core import export as exporting

    if fmt == "json":
        return exporting.backup_text(store, deck_names)
    return exporting.markdown_text(store, deck_names)


@main.command()
@click.argument(
    "backup", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="BACKUP.json"
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace a collection that already holds decks or reviews (it is saved first).",
)
@pass_context
def restore(obj: Context, backup: Path, replace: bool) -> None:
    """Restore a JSON backup (export --format json): decks, cards, scheduling and review log."""
    from studytool.core.restore import RestoreError, read_backup, restore_backup

    try:
        document = read_backup(backup)
    except RestoreError as exc:
        raise click.ClickException(str(exc)) from exc
    with obj.store(with_bundled=False) as store:
        try:
            summary = restore_backup(store, document, replace=replace)
        except RestoreError as exc:
            raise click.ClickException(str(exc)) from exc
    if summary.previous_saved_to is not None:
        click.echo(f"Saved the collection it replaced to {summary.previous_saved_to}")
    click.echo(f"Restored {summary.restored.describe()} from {backup}.")


@main.command()
@click.option("--dry-run", is_flag=True, help="Print the fitted parameters without saving them.")
@pass_context
def optimize(obj: Context, dry_run: bool) -> None:
    """Fit FSRS parameters to your own review history."""
    from studytool.core.optimize import (
        MIN_REVIEWS,
        NotEnoughReviews,
        collect_review_logs,
        count_usable_reviews,
        optimize_parameters,
    )

    with obj.store(with_bundled=False) as store:
        # Counted first, so that "this can take a minute" is said only when a fit will run;
        # reading the log is quick next to the fit itself.
        usable = count_usable_reviews(collect_review_logs(store))
        if usable < MIN_REVIEWS:
            click.echo(str(NotEnoughReviews(usable, MIN_REVIEWS)))
            return
        click.echo(
            f"Fitting FSRS parameters to {usable:,} usable reviews (this can take a minute)…",
            err=True,
        )
        try:
            result = optimize_parameters(store)
        except NotEnoughReviews as exc:  # reviews removed meanwhile by another studytool
            click.echo(str(exc))
            return
        click.echo(f"Fitted on {result.reviews_used} reviews of {result.cards_used} cards:")
        click.echo("  " + ", ".join(f"{p:.4f}" for p in result.parameters))
        if dry_run:
            click.echo("Not saved (--dry-run).")
            return
        settings = store.load_settings()
        store.save_settings(settings.replace(fsrs_parameters=result.parameters))
        click.echo("Saved: future reviews are scheduled with these parameters.")


@main.command()
@click.option("--card", "card_key", metavar="ID", help="Grade against this stored card (its note id).")
@click.option("--deck", metavar="NAME", help="The card's deck, when several decks use the id.")
@click.option(
    "--ordinal",
    type=click.IntRange(min=0),
    default=None,
    help="Which card of the note: 1 is a reversed note's back-to-front card; for a cloze "
    "note, the deletion's number (default: the front, or a cloze note's only deletion).",
)
@click.option("--question", "-q", metavar="TEXT", help="The question (with --reference).")
@click.option("--reference", "-r", metavar="TEXT", help="The model answer.")
@click.option(
    "--criterion", "-c", "criteria", multiple=True, metavar="TEXT", help="A rubric criterion (repeatable)."
)
@click.option(
    "--mistake",
    "-x",
    "mistakes",
    multiple=True,
    metavar="TEXT",
    help="A known wrong claim to look for (repeatable).",
)
@click.option("--answer", "-a", metavar="TEXT", help="The answer to grade; - reads standard input.")
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    metavar="FILE.jsonl",
    help='Grade {"question", "reference", "criteria"?, "mistakes"?, "answer"} per line ("-": standard input); '
    "one JSON result per line, in order.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def grade(
    obj: Context,
    card_key: str | None,
    deck: str | None,
    ordinal: int | None,
    question: str | None,
    reference: str | None,
    criteria: tuple[str, ...],
    mistakes: tuple[str, ...],
    answer: str | None,
    batch: Any,
    as_json: bool,
) -> None:
    """Grade a typed answer against a card's rubric and model answer.

    \b
      studytool grade --card tok-what-is-a-token --answer "a piece of text ..."
      studytool grade -q "What is a KV cache?" -r "It stores ..." -c "says keys" -a "..."
      studytool grade --batch answers.jsonl
    """
    from studytool.core import grading

    modes = [card_key is not None, question is not None or reference is not None, batch is not None]
    if sum(modes) != 1:
        raise click.UsageError("give one of --card ID, --question/--reference, or --batch FILE")
    thresholds, backend = _grade_settings(obj, needed=card_key is not None)
    from studytool.ml import load_answer_grader

    grader = grading.BackgroundGrader(functools.partial(load_answer_grader, backend), thresholds)
    if batch is not None:
        if answer is not None or criteria or mistakes:
            raise click.UsageError("--batch reads answers, criteria and mistakes from the file")
        failures = _grade_batch(grader, batch)
        if failures:
            raise click.ClickException(f"{failures} line(s) of the batch could not be graded")
        return
    if answer is None:
        raise click.UsageError("--answer is required (use - to read it from standard input)")
    if answer == "-":
        answer = sys.stdin.read()
    if card_key is not None:
        if criteria or mistakes:
            raise click.UsageError(
                "--criterion and --mistake go with --question; a card has its own rubric and mistakes"
            )
        with obj.store(with_bundled=False) as store:
            try:
                inputs = grading.card_grading_inputs(store, card_key, deck=deck, ordinal=ordinal)
            except grading.CardNotFound as exc:
                raise click.ClickException(str(exc)) from exc
    else:
        if not question or not reference:
            raise click.UsageError("--question and --reference go together")
        inputs = grading.GradingInputs(question, reference, list(criteria), mistakes=list(mistakes))
    try:
        result = grader.grade(inputs, answer)
    except grading.GraderUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        return
    for line in grading.format_grade(result):
        click.echo(inert(line))


def _grade_settings(obj: Context, *, needed: bool) -> tuple[Any, str]:
    """The learner's calibrated cut points (if the database has some) and grader backend."""
    from studytool.config import Settings
    from studytool.core.grading import thresholds_from_setting
    from studytool.core.store import StoreError

    try:
        with obj.store(with_bundled=False) as store:
            settings = store.load_settings()
            return thresholds_from_setting(settings.grade_thresholds), settings.grader_backend
    except (StoreError, click.ClickException):
        if needed:
            raise
        # Grading text needs no database: the shipped cut points will do.
        return None, Settings().grader_backend


def _grade_batch(grader: Any, lines: Any) -> int:
    """Grade each JSON line, printing one JSON object per input line; returns the failures."""
    from studytool.core import grading

    failures = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError("expected a JSON object")
            fields = {}
            for name in ("question", "reference", "answer"):
                value = item.get(name, "" if name == "question" else None)
                if not isinstance(value, str):
                    raise ValueError(f'"{name}" must be a string')
                fields[name] = value
            criteria = item.get("criteria", [])
            if not isinstance(criteria, list) or not all(isinstance(c, str) for c in criteria):
                raise ValueError('"criteria" must be a list of strings')
            mistakes = item.get("mistakes", [])
            if not isinstance(mistakes, list) or not all(isinstance(m, str) for m in mistakes):
                raise ValueError('"mistakes" must be a list of strings')
            inputs = grading.GradingInputs(
                fields["question"], fields["reference"], criteria, mistakes=mistakes
            )
            result = grader.grade(inputs, fields["answer"])
            output: dict[str, Any] = result.to_json()
        except grading.GraderUnavailable as exc:
            raise click.ClickException(str(exc)) from exc
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            failures += 1
            output = {"error": f"{getattr(lines, 'name', 'batch')}:{number}: {exc}"}
        output["line"] = number
        click.echo(json.dumps(output, ensure_ascii=False))
    return failures


@main.command()
@click.option("--dry-run", is_flag=True, help="Show the fitted cut points without saving them.")
@click.option("--reset", is_flag=True, help="Go back to the cut points shipped with the grader.")
@pass_context
def calibrate(obj: Context, dry_run: bool, reset: bool) -> None:
    """Re-fit the grader's score → rating cut points to the ratings you gave."""
    from studytool.core import grading

    with obj.store(with_bundled=False) as store:
        settings = store.load_settings()
        if reset:
            store.save_settings(settings.replace(grade_thresholds=None))
            shipped = grading.RatingThresholds.default()
            click.echo(f"Back to the shipped cut points: {_cuts(shipped)}.")
            return
        current = grading.thresholds_from_setting(settings.grade_thresholds)
        from studytool.ml.judge import shipped_version

        result = grading.calibrate(grading.graded_reviews(store, shipped_version()), current)
        if result.thresholds is None:
            click.echo(
                f"{result.pairs} graded review(s) so far; calibration needs at least "
                f"{grading.MIN_CALIBRATION_PAIRS} with more than one rating, graded by this "
                "version of the grader. Type answers while you review and rate them as you "
                "see fit; then run this again."
            )
            return
        click.echo(f"Fitted on {result.pairs} graded reviews.")
        click.echo(f"  cut points: {_cuts(current or grading.RatingThresholds.default())} → {_cuts(result.thresholds)}")
        click.echo(
            f"  suggestion = your rating: {result.agreement_before:.0%} → {result.agreement_after:.0%}"
        )
        if dry_run:
            click.echo("Not saved (--dry-run).")
            return
        thresholds = result.thresholds
        store.save_settings(
            settings.replace(grade_thresholds=(thresholds.hard, thresholds.good, thresholds.easy))
        )
        click.echo("Saved: suggestions use these cut points from now on.")


def _cuts(thresholds: Any) -> str:
    return f"Hard ≥ {thresholds.hard:.2f}, Good ≥ {thresholds.good:.2f}, Easy ≥ {thresholds.easy:.2f}"


# A negative value (`settings new_cards_per_day -5`) is a value, not an unknown option: it
# reaches the range check, which says what is allowed.
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("name", required=False)
@click.argument("value", required=False)
@click.option("--reset", is_flag=True, help="Put NAME (or every setting) back to its default.")
@pass_context
def settings(obj: Context, name: str | None, value: str | None, reset: bool) -> None:
    """Show settings, or set one: `studytool settings new_cards_per_day 30`.

    `studytool settings theme NAME` takes one of the app's themes; an unknown name lists them.
    """
    import dataclasses

    from studytool.config import (
        SettingError,
        Settings,
        canonical_setting_name,
        parse_setting,
        setting_names,
        unknown_setting,
    )

    if name is not None and name.startswith("-"):
        raise click.UsageError(f"No such option: {name}")
    typed = name
    name = canonical_setting_name(name) if name is not None else None
    with obj.store(with_bundled=False) as store:
        current = store.load_settings()
        try:
            if name and name not in setting_names():
                raise unknown_setting(typed or name)
            if reset:
                updated = (
                    current.replace(**{name: getattr(Settings(), name)}) if name else Settings()
                )
                store.save_settings(updated)
                current = updated
            elif name and value is not None:
                parsed = parse_setting(name, value)
                if name == "theme":
                    _check_theme(parsed)
                updated = current.replace(**{name: parsed})
                store.save_settings(updated)
                current = updated
        except SettingError as exc:
            raise click.ClickException(_setting_error(exc, typed, value)) from exc
    for field in dataclasses.fields(current):
        if name and field.name != name:
            continue
        shown = getattr(current, field.name)
        click.echo(
            f"{field.name} = {json.dumps(list(shown) if isinstance(shown, tuple) else shown)}"
        )


def _check_theme(theme: str) -> None:
    """Refuse a theme the app does not have (it would silently keep its default)."""
    from studytool.config import SettingError

    themes = app_themes()
    if theme not in themes:
        requirement = f"must be one of the app's themes: {', '.join(themes)}"
        raise SettingError(f"theme {requirement}", setting="theme", requirement=requirement)


def app_themes() -> list[str]:
    """The themes the app offers (Textual's built-in ones; the app adds none)."""
    from textual.theme import BUILTIN_THEMES

    return sorted(BUILTIN_THEMES)


def _setting_error(error: SettingError, typed: str | None, value: str | None) -> str:
    """A settings error naming the setting as the learner typed it, with their value and the
    default, so that the next command to type is plain."""
    from studytool.config import Settings

    if error.setting is None or not error.requirement or typed is None:
        return str(error)
    default = getattr(Settings(), error.setting)
    if isinstance(default, bool):
        shown_default = "on" if default else "off"
    elif isinstance(default, tuple):
        shown_default = ", ".join(f"{x:g}" for x in default)
    elif default is None or default == "":
        shown_default = "none" if default is None else "empty"
    else:
        shown_default = str(default)
    given = "" if value is None else f"you gave {value}, "
    return f"{typed} {error.requirement}; {given}the default is {shown_default}"


@main.command()
@pass_context
def where(obj: Context) -> None:
    """Show where studytool keeps its database, cache and backups."""
    from studytool.core.store import describe_url

    click.echo(f"database: {describe_url(paths.resolve_db_url(obj.db))}")
    click.echo(f"cache:    {paths.cache_dir()}")
    click.echo(f"backups:  {paths.backups_dir()}")
    bundled = paths.bundled_decks_dir()
    click.echo(f"bundled decks: {bundled if bundled else '(none)'}")

# The demo commands (tokens, generate, kv-cache, attention) live in their own module.
from studytool.cli_demos import register as _register_demos  # noqa: E402

_register_demos(main)
