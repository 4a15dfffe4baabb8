from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Markdown
from textual.worker import WorkerFailed

from studytool.config import Settings
from studytool.core.browse import (
    CardQuery,
    QueryError,
    card_detail,
    card_history,
    describe_grade,
    format_due,
    matching_decks,
    parse_query,
    search_cards,
    set_buried,
    set_suspended,
)
from studytool.core.importing.drafts import NoteDraft, ParsedDeck
from studytool.core.importing.sync import sync_deck
from studytool.core.models import Card, NoteKind
from studytool.core.store import Store, open_store
from studytool.core.study import StudySession
from studytool.tui.app import StudyApp
from studytool.tui.screens.browse import BrowseScreen

from .conftest import NOW


@pytest.fixture(autouse=True)
def utc_local_time(isolated_home: Path) -> None:
    # conftest sets TZ=UTC; the C library reads it only on tzset(), and dates shown as local
    # time (history, due dates) must not depend on the machine's zone.
    time.tzset()


def _note(question: str, answer: str = "", line: int = 0, **fields: object) -> NoteDraft:
    return NoteDraft(kind=NoteKind.BASIC, question=question, answer=answer, line=line, **fields)  # type: ignore[arg-type]


def _sync(store: Store, deck: str, notes: list[NoteDraft]) -> None:
    parsed = ParsedDeck(
        source=f"{deck.lower().replace(' ', '-')}.md", format="primary", notes=notes
    )
    sync_deck(store, parsed, deck_name=deck, now=NOW - timedelta(days=10))


def _card_id(store: Store, question: str, ordinal: int = 0) -> int:
    from studytool.core.models import Note

    with store.session() as session:
        return session.execute(
            select(Card.id)
            .join(Note, Note.id == Card.note_id)  # type: ignore[arg-type]
            .where(Note.question == question, Card.ordinal == ordinal)
        ).scalar_one()


AWAIT = "What does await do?"
LOOP = "What is an event loop?"
EVIL = "Evil \x1b]0;pwn\x07 [bold]markup[/bold]?"
KV = "What does the KV cache store?"
GREEDY = "What is greedy decoding?"
SOFTMAX = "softmax"


def build_collection(store: Store) -> dict[str, int]:
    """Two decks, cards in every state, and a review history with typed answers and grades."""
    _sync(
        store,
        "Async Python",
        [
            _note(AWAIT, "Suspends the coroutine until the awaitable is done.", 3, tags=["async"]),
            _note(LOOP, "The scheduler that runs coroutines.", 9, tags=["async", "basics"]),
            _note(EVIL, "[red]inert[/red]", 15),
        ],
    )
    _sync(
        store,
        "Transformers",
        [
            _note(
                KV,
                "The keys and values of earlier tokens, per layer.",
                2,
                tags=["attention", "leech"],
                rubric=["keys and values", "per layer"],
                demo="kv-cache | Once upon a time",
            ),
            _note(
                GREEDY, "Always the most likely next token.", 8, tags=["Decoding"], demo="greedy"
            ),
            NoteDraft(
                kind=NoteKind.REVERSED,
                question=SOFTMAX,
                answer="turns logits into probabilities",
                line=12,
            ),
        ],
    )
    ids = {
        "await": _card_id(store, AWAIT),
        "loop": _card_id(store, LOOP),
        "evil": _card_id(store, EVIL),
        "kv": _card_id(store, KV),
        "greedy": _card_id(store, GREEDY),
        "softmax": _card_id(store, SOFTMAX),
        "softmax_reverse": _card_id(store, SOFTMAX, 1),
    }
    session = StudySession(store, settings=Settings(enable_fuzzing=False, bury_siblings=False))
    start = NOW - timedelta(days=5)
    # KV cache: learning → review → lapsed (relearning), with typed answers and grades.
    session.answer(
        ids["kv"],
        3,
        start,
        duration_ms=12_000,
        typed_answer="keys and values",
        auto_score=0.81,
        auto_rating=3,
        final_grade={"rating": 3, "source": "learner"},
    )
    session.answer(ids["kv"], 4, start + timedelta(minutes=10), typed_answer="the keys and values")
    session.answer(
        ids["kv"],
        1,
        NOW - timedelta(hours=1),
        duration_ms=65_000,
        typed_answer="the [bold]queries[/bold]",
        auto_score=0.2,
        auto_rating=1,
    )
    # await: review, due in the future; event loop: learning; greedy: review, overdue.
    session.answer(ids["await"], 4, start)
    session.answer(ids["loop"], 3, NOW - timedelta(minutes=2))
    session.answer(ids["greedy"], 4, NOW - timedelta(days=9))
    set_suspended(store, [ids["evil"]], True)
    return ids


@pytest.fixture
def collection(store: Store) -> dict[str, int]:
    return build_collection(store)


def _fronts(store: Store, text: str, **kwargs: object) -> list[str]:
    page = search_cards(store, parse_query(text, NOW), NOW, **kwargs)  # type: ignore[arg-type]
    return [row.front for row in page.rows]


# -- the query language -------------------------------------------------------------------------


def test_parse_query_reads_every_field() -> None:
    query = parse_query(
        'deck:"Async Python" tag:leech is:DUE kv "Cache line" due<2026-04-01 due>2d tag:a*', NOW
    )
    assert query.decks == ("Async Python",)
    assert query.tags == ("leech", "a*")
    assert query.states == ("due",)
    assert query.words == ("kv", "cache line")
    assert query.due_before == datetime(2026, 4, 1, tzinfo=UTC)
    # due>2d: after the day two days from today (NOW is 2026-03-10) has ended.
    assert query.due_after == datetime(2026, 3, 13, tzinfo=UTC)
    # Anki's other quoting: the whole term in quotes.
    assert parse_query('"deck:Async Python" "is:new"', NOW) == CardQuery(
        decks=("Async Python",), states=("new",)
    )


def test_parse_query_keeps_unknown_keywords_as_text() -> None:
    assert parse_query("http://example.com a:b x<y", NOW) == CardQuery(
        words=("http://example.com", "a:b", "x<y")
    )
    assert parse_query("", NOW) == CardQuery()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The trial's three, and their relatives: each names the term and what to write.
        ("is:bogus", r"is:bogus: no such card state; use one of is:new, .*is:buried"),
        ("kv is:sleeping", r"is:sleeping: no such card state"),
        ("due<xyz", r"due<xyz: xyz is not a date; write due<7d .* or due>2026-04-01"),
        ("due<", r"due<: nothing is not a date; write due<7d"),
        ("due:3d", r"due:3d: due takes < or >; write due<7d"),
        ('kv "cache', r'"cache: the quote is not closed; add a closing "'),
        ('deck:"Async Python', r'deck:"Async Python: the quote is not closed'),
        ('deck:""', r'deck:"" needs a value, as in deck:"Async Python"'),
        ("tag:", r"tag: needs a value, as in tag:leech"),
    ],
)
def test_parse_query_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(text, NOW)


def test_deck_names_match_as_in_anki() -> None:
    names = ["Async Python", "Async Python::Advanced", "Async Pythonic", "Über Decks", "Other"]
    assert matching_decks(names, "Async Python") == ["Async Python", "Async Python::Advanced"]
    assert matching_decks(names, "async PYTHON") == ["Async Python", "Async Python::Advanced"]
    assert matching_decks(names, "Async Python::Advanced") == ["Async Python::Advanced"]
    assert matching_decks(names, "async*") == names[:3]
    assert matching_decks(names, "*python*") == names[:3]
    assert matching_decks(names, "über decks") == ["Über Decks"]  # any alphabet's case
    assert matching_decks(names, "Async") == []


# -- searching ----------------------------------------------------------------------------------


def test_empty_search_lists_every_card_by_deck(store: Store, collection: dict[str, int]) -> None:
    page = search_cards(store, CardQuery(), NOW)
    assert page.total == 7
    assert [row.deck for row in page.rows] == ["Async Python"] * 3 + ["Transformers"] * 4
    # The reverse card shows its own front, as card_faces renders it.
    assert [row.front for row in page.rows][-2:] == [SOFTMAX, "turns logits into probabilities"]


def test_text_matches_question_answer_and_tags_case_insensitively(
    store: Store, collection: dict[str, int]
) -> None:
    assert _fronts(store, "kv CACHE") == [KV]
    assert _fronts(store, "coroutine") == [AWAIT, LOOP]  # in the answers
    assert _fronts(store, "basics") == [LOOP]  # a tag
    assert _fronts(store, '"most likely"') == [GREEDY]
    assert _fronts(store, "await loop") == []  # every word must match
    assert _fronts(store, "100%") == []  # LIKE wildcards are searched for literally
    assert _fronts(store, "what_is") == []


def test_star_is_a_wildcard_in_free_text(store: Store, collection: dict[str, int]) -> None:
    # The trial's searches: each matched nothing while "cache" matched.
    assert _fronts(store, "cache") == [KV]
    assert _fronts(store, "cach*") == [KV]
    assert _fronts(store, "*cache*") == [KV]
    assert _fronts(store, "token*") == [KV, GREEDY]  # "tokens", "token" in the answers
    assert _fronts(store, "KV*store") == [KV]  # both parts, in this order
    assert _fronts(store, "store*KV") == []
    assert _fronts(store, '"the key* of"') == [KV]  # in a phrase too
    assert _fronts(store, "as*nc") == [AWAIT, LOOP]  # a tag
    assert len(_fronts(store, "*")) == 7


def test_tag_and_deck_filters(store: Store, collection: dict[str, int]) -> None:
    assert _fronts(store, "tag:async") == [AWAIT, LOOP]
    assert _fronts(store, "tag:decoding") == [GREEDY]  # tags ignore case
    assert _fronts(store, "tag:as") == []  # whole tags only...
    assert _fronts(store, "tag:as*") == [AWAIT, LOOP]  # ...unless with a wildcard
    assert _fronts(store, "tag:async tag:basics") == [LOOP]  # every filter must hold
    assert _fronts(store, 'deck:"Async Python"') == [AWAIT, LOOP, EVIL]
    assert _fronts(store, 'deck:"async python"') == [AWAIT, LOOP, EVIL]
    assert _fronts(store, "deck:trans*") == [KV, GREEDY, SOFTMAX, "turns logits into probabilities"]
    assert _fronts(store, 'deck:"async python" deck:trans*') == []


def test_deck_filter_takes_subdecks_and_names_the_deck_meant(
    store: Store, collection: dict[str, int]
) -> None:
    _sync(store, "Async Python::Advanced", [_note("What is a TaskGroup?", "tg", 1)])
    _sync(store, "Async Python for LLM apps", [_note("What does gather do?", "g", 1)])
    assert _fronts(store, 'deck:"Async Python"') == [AWAIT, LOOP, EVIL, "What is a TaskGroup?"]
    assert _fronts(store, 'deck:"Async Python::Advanced"') == ["What is a TaskGroup?"]
    assert _fronts(store, 'deck:"Async Python*"') == [  # by deck name: " " before ":"
        AWAIT,
        LOOP,
        EVIL,
        "What does gather do?",
        "What is a TaskGroup?",
    ]
    # A name that is no deck's would match nothing: say which decks were meant instead.
    with pytest.raises(QueryError) as error:
        _fronts(store, "deck:async")
    message = str(error.value)
    assert message.startswith("deck:async: no deck has that name")
    assert 'deck:"Async Python"' in message and 'deck:"Async Python for LLM apps"' in message
    assert "or deck:async* for every deck whose name starts so" in message
    with pytest.raises(
        QueryError, match=r"deck:nothing: no deck has that name \(`studytool decks`"
    ):
        _fronts(store, "deck:nothing")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("new", [EVIL, SOFTMAX, "turns logits into probabilities"]),
        ("learning", [LOOP]),
        ("review", [AWAIT, GREEDY]),
        ("relearning", [KV]),
        ("suspended", [EVIL]),
        ("buried", []),
        ("leech", [KV]),
        ("due", [LOOP, KV, GREEDY]),
    ],
)
def test_state_filters(
    store: Store, collection: dict[str, int], state: str, expected: list[str]
) -> None:
    assert _fronts(store, f"is:{state}") == expected


def test_buried_cards_show_as_buried(store: Store, collection: dict[str, int]) -> None:
    """A sibling buried by a review, and a card buried by hand, are "buried", not "new"."""
    session = StudySession(store, settings=Settings(enable_fuzzing=False, bury_siblings=True))
    session.answer(collection["softmax"], 3, NOW - timedelta(minutes=5))
    assert set_buried(store, [collection["loop"], 10_000], True, NOW, 4) == 1
    assert _fronts(store, "is:buried") == [LOOP, "turns logits into probabilities"]
    rows = {row.front: row for row in search_cards(store, CardQuery(), NOW).rows}
    assert rows["turns logits into probabilities"].status == "buried"
    assert rows[LOOP].status == "buried"
    assert rows[EVIL].status == "suspended"
    assert rows[AWAIT].status == "review"
    assert rows[KV].status == "relearn"
    assert LOOP not in _fronts(store, "is:due")  # buried cards are not due today
    detail = card_detail(store, collection["loop"])
    assert detail is not None and detail.buried_at(NOW)
    assert detail.buried_until == datetime(2026, 3, 11, 4, tzinfo=UTC)  # the next study day
    assert not detail.buried_at(NOW + timedelta(days=1))
    # Tomorrow they are what they were.
    tomorrow = {row.front: row for row in search_cards(store, CardQuery(), NOW + timedelta(1)).rows}
    assert tomorrow[LOOP].status == "learning"
    assert set_buried(store, [collection["loop"]], False, NOW, 4) == 1
    assert _fronts(store, "is:buried") == ["turns logits into probabilities"]


def test_due_date_filters_only_scheduled_cards(store: Store, collection: dict[str, int]) -> None:
    due = {row.front: row.due for row in search_cards(store, CardQuery(), NOW).rows}
    assert due[GREEDY] < NOW < due[AWAIT]
    assert _fronts(store, "due<0d") == [GREEDY]  # due before today began
    assert _fronts(store, f"due>{due[AWAIT].date() - timedelta(days=1)}") == [AWAIT]
    before = search_cards(store, CardQuery(due_before=NOW + timedelta(hours=1)), NOW)
    assert {row.front for row in before.rows} == {LOOP, KV, GREEDY}


def test_paging_and_past_the_end(store: Store, collection: dict[str, int]) -> None:
    first = search_cards(store, CardQuery(), NOW, offset=0, limit=3)
    second = search_cards(store, CardQuery(), NOW, offset=3, limit=3)
    last = search_cards(store, CardQuery(), NOW, offset=6, limit=3)
    assert (first.page, first.pages, first.has_previous, first.has_next) == (1, 3, False, True)
    assert (last.page, len(last.rows), last.has_next) == (3, 1, False)
    ids = [row.card_id for page in (first, second, last) for row in page.rows]
    assert len(set(ids)) == 7
    beyond = search_cards(store, CardQuery(), NOW, offset=30, limit=3)
    assert beyond.offset == 6 and beyond.rows == last.rows


def test_history_newest_first_with_typed_answers_and_grades(
    store: Store, collection: dict[str, int]
) -> None:
    history = card_history(store, collection["kv"])
    assert [row.rating_label for row in history] == ["Again", "Easy", "Good"]
    assert [row.typed_answer for row in history] == [
        "the [bold]queries[/bold]",
        "the keys and values",
        "keys and values",
    ]
    oldest = history[-1]
    assert (oldest.duration_ms, oldest.auto_score, oldest.auto_rating) == (12_000, 0.81, 3)
    assert describe_grade(oldest.final_grade) == "Good by learner"
    assert card_history(store, collection["softmax"]) == []


def test_card_detail(store: Store, collection: dict[str, int]) -> None:
    detail = card_detail(store, collection["kv"])
    assert detail is not None
    assert (detail.deck, detail.state_label, detail.lapses) == ("Transformers", "relearning", 1)
    assert detail.rubric == ["keys and values", "per layer"]
    assert detail.source == "transformers.md:2"
    assert detail.demo == "kv-cache | Once upon a time"
    assert card_detail(store, 10_000) is None


def test_set_suspended(store: Store, collection: dict[str, int]) -> None:
    ids = [collection["await"], collection["loop"], 10_000]
    assert set_suspended(store, ids, True) == 2
    assert _fronts(store, "is:suspended") == [AWAIT, LOOP, EVIL]
    assert set_suspended(store, ids, False) == 2
    assert _fronts(store, "is:suspended") == [EVIL]
    assert set_suspended(store, [], True) == 0


def test_describe_grade_and_format_due() -> None:
    assert describe_grade(None) == ""
    assert describe_grade({"rating": 2, "score": 0.5}) == "Hard 0.50"
    assert describe_grade({"verdict": "close", "points": 3}) == "verdict close, points 3"
    assert format_due(NOW + timedelta(days=3), NOW, 2) == "in 3d"
    assert format_due(NOW - timedelta(hours=5), NOW, 2) == "5h ago"
    assert format_due(NOW, NOW, 0) == "—"


def test_the_readmes_searches_work_on_the_bundled_decks(store: Store) -> None:
    import re

    from studytool.core.importing import parse_file

    root = Path(__file__).resolve().parent.parent
    for path in sorted((root / "decks").glob("*.md")):
        sync_deck(store, parse_file(path), now=NOW)
    readme = (root / "README.md").read_text(encoding="utf-8")
    found = re.search(r"\*\*Browse\*\*: search as in Anki, e\.g\. `([^`]+)` or\s+`([^`]+)`", readme)
    assert found, "README's Browse section no longer gives its two search examples"
    by_deck, by_filters = found.groups()
    page = search_cards(store, parse_query(by_deck, NOW), NOW)
    assert page.total > 3
    assert {row.deck for row in page.rows} == {"Async Python for LLM apps"}
    for row in page.rows:
        detail = card_detail(store, row.card_id)
        assert detail is not None
        assert "await" in f"{detail.front} {detail.back} {detail.tags}".lower()
    assert search_cards(store, parse_query(by_filters, NOW), NOW).total == 0  # nothing due yet
    # The example the README used to give names no deck: the error says what was meant.
    with pytest.raises(QueryError) as error:
        search_cards(store, parse_query('deck:"Async Python" await', NOW), NOW)
    assert 'did you mean deck:"Async Python for LLM apps"' in str(error.value)
    assert 'or deck:"Async Python*" for every deck whose name starts so' in str(error.value)


# -- a large collection ---------------------------------------------------------------------------

BIG = 10_000


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """10,000 cards written with the importer's bulk path, once for the module."""
    opened = open_store(f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.db'}")
    notes = [
        _note(
            f"Question {number}: what about {'the KV cache' if number % 10 == 0 else 'tokens'}?",
            f"Answer {number}",
            number + 1,
            tags=["even" if number % 2 == 0 else "odd"],
        )
        for number in range(BIG)
    ]
    sync_deck(
        opened, ParsedDeck(source="big.md", format="primary", notes=notes), deck_name="Big", now=NOW
    )
    yield opened
    opened.close()


def test_large_collection_is_searched_a_page_at_a_time(big_store: Store) -> None:
    started = time.perf_counter()
    everything = search_cards(big_store, CardQuery(), NOW)
    kv = search_cards(big_store, parse_query("kv cache tag:even", NOW), NOW, offset=900)
    last = search_cards(big_store, CardQuery(), NOW, offset=BIG - 100)
    elapsed = time.perf_counter() - started
    assert (everything.total, len(everything.rows), everything.pages) == (BIG, 100, 100)
    assert (kv.total, kv.page, len(kv.rows)) == (1000, 10, 100)
    assert kv.rows[-1].front == "Question 9990: what about the KV cache?"
    assert (last.page, len(last.rows), last.rows[-1].front) == (
        100,
        100,
        f"Question {BIG - 1}: what about tokens?",
    )
    # Three searches of 10,000 cards; about 0.1 s on a laptop, so this only catches a
    # query that loads every card.
    assert elapsed < 2.0


async def test_large_collection_pages_in_the_browser(big_store: Store) -> None:
    app = StudyApp(big_store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot)
        table = screen.query_one(DataTable)
        assert table.row_count == 100
        assert "Cards 1–100 of 10,000 · page 1 of 100" in _status(screen)
        await pilot.press("n")
        await _settle(app, pilot)
        assert "Cards 101–200 of 10,000 · page 2 of 100" in _status(screen)
        assert table.row_count == 100 and table.cursor_row == 0
        await pilot.press("p", "p")
        await _settle(app, pilot)
        assert "page 1 of 100" in _status(screen)


# -- the screen -----------------------------------------------------------------------------------


async def _settle(app: StudyApp, pilot: Pilot[None]) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def _open_browse(app: StudyApp, pilot: Pilot[None], query: str = "") -> BrowseScreen:
    screen = BrowseScreen(query, clock=lambda: NOW)
    await app.push_screen(screen)
    await _settle(app, pilot)
    return screen


def _status(screen: BrowseScreen) -> str:
    return str(screen.query_one("#browse-status").render())


def _table_fronts(screen: BrowseScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_row_at(index)[1]) for index in range(table.row_count)]


async def test_search_narrows_the_table(store: Store, collection: dict[str, int]) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot)
        assert screen.query_one(DataTable).row_count == 7
        await pilot.press("slash")
        assert screen.query_one(Input).has_focus
        await pilot.press(*"tag:async", "enter")
        await _settle(app, pilot)
        assert _table_fronts(screen) == [AWAIT, LOOP]
        assert screen.query_one(DataTable).has_focus
        assert "Cards 1–2 of 2" in _status(screen)
        # Typing searches by itself after a short pause.
        await pilot.press("slash", *" await")
        await pilot.pause(0.4)
        await _settle(app, pilot)
        assert _table_fronts(screen) == [AWAIT]


async def test_a_bad_query_says_why_and_no_match_says_what_to_do(
    store: Store, collection: dict[str, int]
) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot)
        # The trial's three searches, each of which showed "No card matches" before.
        for typed, message in (
            ("is:bogus", "is:bogus: no such card state; use one of is:new, is:learning"),
            ("due<xyz", "due<xyz: xyz is not a date; write due<7d"),
            ('deck:"Async Python', 'deck:"Async Python: the quote is not closed'),
        ):
            await pilot.press("slash", *typed, "enter")
            await _settle(app, pilot)
            assert message in _status(screen)
            assert screen.query_one(Input).has_class("-invalid")
            assert screen.query_one(DataTable).row_count == 7  # the last good results stay
        # The whole message is shown, at 80 columns too.
        await pilot.press("slash", *"is:bogus", "enter")
        await _settle(app, pilot)
        status = screen.query_one("#browse-status")
        assert status.size.height >= 2 and "is:leech" in _status(screen)
        await pilot.press("slash", *"deck:async", "enter")
        await _settle(app, pilot)
        assert 'did you mean deck:"Async Python"' in _status(screen)
        await pilot.press("slash", *"nothing-like-this", "enter")
        await _settle(app, pilot)
        assert not screen.query_one(Input).has_class("-invalid")
        assert screen.query_one(DataTable).row_count == 0
        assert "No card matches this search" in str(screen.query_one("#browse-meta").render())
        await pilot.press("slash", *"cach*", "enter")
        await _settle(app, pilot)
        assert screen.page is not None and [row.front for row in screen.page.rows] == [KV]


async def test_an_unexpected_search_failure_is_shown(
    store: Store, collection: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("studytool.tui.screens.browse.search_cards", broken)
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = BrowseScreen(clock=lambda: NOW)
        await app.push_screen(screen)
        with pytest.raises(WorkerFailed):
            await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Search failed: disk on fire" in _status(screen)


async def test_empty_collection_says_how_to_import(store: Store) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot)
        assert "studytool import PATH" in str(screen.query_one("#browse-meta").render())


async def test_history_shows_typed_answers_and_grades(
    store: Store, collection: dict[str, int]
) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot, "kv cache")
        assert screen.detail is not None and screen.detail.card_id == collection["kv"]
        history = str(screen.query_one("#browse-history").render())
        assert "History · 3 reviews" in history
        assert "keys and values" in history and "the [bold]queries[/bold]" in history
        assert "auto 0.81 Good" in history and "final Good by learner" in history
        assert "1m05s" in history
        assert history.index("queries") < history.index("the keys and values")
        extra = str(screen.query_one("#browse-extra").render())
        assert "transformers.md:2" in extra and "per layer" in extra
        meta = str(screen.query_one("#browse-meta").render())
        assert "relearning" in meta and "leech" in meta
        # Moving the cursor shows the next card's (empty) history.
        await pilot.press("slash", "ctrl+u", *"deck:trans*", "enter")
        await _settle(app, pilot)
        await pilot.press("down")
        await pilot.pause()
        assert screen.detail is not None and screen.detail.card_id == collection["greedy"]
        await pilot.press("down")
        await pilot.pause()
        assert "not reviewed yet" in str(screen.query_one("#browse-history").render())


async def test_suspend_and_bury_toggle_through_a_write(
    store: Store, collection: dict[str, int]
) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot, "is:review")
        table = screen.query_one(DataTable)
        assert str(table.get_row_at(0)[2]) == "review"
        # Letters change nothing: s used to suspend, and is Stats on the deck list.
        await pilot.press("s", "b", "u")
        await _settle(app, pilot)
        assert str(table.get_row_at(0)[2]) == "review"
        assert _fronts(store, "is:suspended") == [EVIL]
        await pilot.press("ctrl+j")  # Anki's Browse key
        await _settle(app, pilot)
        assert str(table.get_row_at(0)[2]) == "suspended"
        assert "suspended" in str(screen.query_one("#browse-meta").render())
        assert _fronts(store, "is:suspended") == [AWAIT, EVIL]
        await pilot.press("at")  # the Review screen's key
        await _settle(app, pilot)
        assert str(table.get_row_at(0)[2]) == "review"
        assert _fronts(store, "is:suspended") == [EVIL]
        await pilot.press("minus")
        await _settle(app, pilot)
        assert str(table.get_row_at(0)[2]) == "buried"
        assert "buried until" in str(screen.query_one("#browse-meta").render())
        assert _fronts(store, "is:buried") == [AWAIT]
        await pilot.press("minus")
        await _settle(app, pilot)
        assert str(table.get_row_at(0)[2]) == "review"
        assert _fronts(store, "is:buried") == []
        # In the search box these keys are text.
        await pilot.press("slash", "minus", "at")
        await _settle(app, pilot)
        assert screen.query_one(Input).value == "-@"
        assert _fronts(store, "is:buried") == [] and _fronts(store, "is:suspended") == [EVIL]


async def test_a_change_waits_for_the_last_one(
    store: Store, collection: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second suspend while the first is being saved is held back, not run twice."""
    import threading

    from studytool.tui.screens import browse

    release = threading.Event()
    calls: list[bool] = []

    def slow_suspend(store: Store, ids: list[int], suspended: bool) -> int:
        calls.append(suspended)
        release.wait(5)
        return set_suspended(store, ids, suspended)

    monkeypatch.setattr(browse, "set_suspended", slow_suspend)
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot, "is:review")
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert screen.writing and not screen.check_action("toggle_suspend", ())
        await pilot.press("ctrl+j", "minus")
        release.set()
        await _settle(app, pilot)
        assert calls == [True]
        assert _fronts(store, "is:suspended") == [AWAIT, EVIL]
        assert _fronts(store, "is:buried") == []


async def test_demo_key_opens_the_cards_demo_with_its_example(
    store: Store, collection: dict[str, int]
) -> None:
    from textual.widgets import Input

    from studytool.tui.screens.demos import KVCacheScreen

    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_browse(app, pilot, "kv cache")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, KVCacheScreen)
        assert app.screen.query_one("#prompt", Input).value == "Once upon a time"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("slash", "ctrl+u", *"await", "enter")
        await _settle(app, pilot)
        await pilot.press("d")
        await pilot.pause()
        assert any("has no demo" in str(note.message) for note in app._notifications)


async def test_card_text_is_inert(store: Store, collection: dict[str, int]) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot, "evil")
        assert "\x1b" not in _table_fronts(screen)[0]
        assert "[bold]markup[/bold]" in _table_fronts(screen)[0]
        question = screen.query_one("#browse-question", Markdown)
        assert "\x1b" not in question.source and "[bold]markup[/bold]" in question.source


async def test_escape_leaves_the_search_box_then_the_screen(
    store: Store, collection: dict[str, int]
) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot)
        await pilot.press("slash", "q")
        assert app.screen is screen and screen.query_one(Input).value == "q"
        await pilot.press("backspace", "escape")
        assert app.screen is screen and screen.query_one(DataTable).has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen


async def test_one_key_leaves_the_detail_pane(store: Store, collection: dict[str, int]) -> None:
    """The trial: enter (into the details), q, then s for Stats: s re-suspended the card,
    because q had only moved back to the list. Now q (or esc) leaves Browse at once."""
    from studytool.tui.screens.home import HomeScreen
    from studytool.tui.screens.stats import StatsScreen

    for leave in ("q", "escape"):
        app = StudyApp(store)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("b")
            await _settle(app, pilot)
            screen = app.screen
            assert isinstance(screen, BrowseScreen)
            await pilot.press("enter")
            assert screen.query_one("#browse-detail").has_focus
            await pilot.press(leave)
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            await pilot.press("s")
            await _settle(app, pilot)
            assert isinstance(app.screen, StatsScreen)
        assert _fronts(store, "is:suspended") == [EVIL]


async def test_enter_goes_back_from_the_details_to_the_list(
    store: Store, collection: dict[str, int]
) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot)
        table = screen.query_one(DataTable)
        await pilot.press("down", "enter")
        assert screen.query_one("#browse-detail").has_focus
        assert screen.active_bindings["enter"].binding.description == "Back to list"
        await pilot.press("down", "enter")  # down scrolls the details, not the list
        assert table.has_focus and table.cursor_row == 1
        await pilot.press("tab")
        assert screen.query_one("#browse-detail").has_focus
        await pilot.press("shift+tab")
        assert table.has_focus


async def test_slash_moves_into_the_search_box_without_typing_itself(
    store: Store, collection: dict[str, int]
) -> None:
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot, "kv")
        search = screen.query_one(Input)
        await pilot.press("slash")
        assert search.has_focus and search.value == "kv"
        # The last search is selected, so typing replaces it; a / typed there is text.
        await pilot.press(*"async/await")
        assert search.value == "async/await"
        await pilot.press("enter")
        await _settle(app, pilot)
        await pilot.press("enter", "slash")  # from the detail pane too
        assert search.has_focus and search.value == "async/await"


@pytest.mark.parametrize("width", [80, 100, 120, 139, 140, 160, 200])
async def test_the_table_uses_the_width(
    store: Store, collection: dict[str, int], width: int
) -> None:
    """Every column is shown, and the Card column is never narrower than at 80 columns."""
    widths: dict[int, int] = {}
    for size in (80, width):
        app = StudyApp(store)
        async with app.run_test(size=(size, 36)) as pilot:
            screen = await _open_browse(app, pilot)
            await pilot.pause()
            table = screen.query_one(DataTable)
            columns = list(table.columns.values())
            assert [str(column.label) for column in columns] == [
                "Deck",
                "Card",
                "State",
                "Due",
                "Reps",
                "Laps",
            ]
            used = sum(column.get_render_width(table) for column in columns)
            assert used <= table.scrollable_content_region.width  # nothing scrolled out of view
            assert table.max_scroll_x == 0
            widths[size] = columns[1].width
            assert screen.has_class("-wide") == (size >= 140)
    assert widths[width] >= widths[80] >= 28
    if width in (120, 160):
        # The trial's 120 columns gave the Card column 16 characters (28 at 80).
        assert widths[width] >= 40


async def test_resizing_reads_nothing(
    store: Store, collection: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from studytool.tui.screens import browse

    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_browse(app, pilot)
        reads: list[int] = []
        monkeypatch.setattr(browse, "card_detail", lambda *args: reads.append(1))
        await pilot.resize_terminal(150, 40)
        await pilot.pause()
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert reads == [] and screen.detail is not None


# -- snapshots ------------------------------------------------------------------------------------


def _snapshot_app(tmp_path: Path) -> StudyApp:
    store = open_store(f"sqlite:///{tmp_path / 'snap.db'}")
    build_collection(store)
    return StudyApp(store)


async def _browse_kv(pilot: Pilot[None]) -> None:
    """Every card listed (one suspended, one with markup), the KV cache card highlighted."""
    app = pilot.app
    await app.push_screen(BrowseScreen(clock=lambda: NOW))
    await app.workers.wait_for_complete()
    await pilot.press("down", "down", "down")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_snapshot_browse(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    assert snap_compare(_snapshot_app(tmp_path), terminal_size=size, run_before=_browse_kv)


def test_snapshot_browse_light(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        pilot.app.theme = "textual-light"
        await _browse_kv(pilot)

    assert snap_compare(_snapshot_app(tmp_path), terminal_size=(160, 48), run_before=run_before)


def test_snapshot_browse_buried_at_120_columns(snap_compare, tmp_path: Path) -> None:
    """The trial's 120 columns: every column shown, a wide Card column, a buried card."""
    app = _snapshot_app(tmp_path)
    assert app.store is not None
    set_buried(app.store, [_card_id(app.store, SOFTMAX, 1)], True, NOW, 4)

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.app.push_screen(BrowseScreen(clock=lambda: NOW))
        await pilot.app.workers.wait_for_complete()
        await pilot.press(*["down"] * 6)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)
