from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from textual.widgets import SelectionList

from studytool.core.grading import BackgroundGrader, GraderUnavailable, Verdict
from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.interview import list_reports
from studytool.tui.app import StudyApp
from studytool.tui.screens.interview import InterviewHistoryScreen, InterviewScreen

FIXED = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
DECK = """+++
name = "Interview"
kind = "interview"
tags = ["interview"]
+++
Q: Explain the KV cache.
A: It keeps each layer's keys and values of earlier tokens so a step computes only the new token.
R:
- keys and values of earlier tokens
- per layer
- only the new token is computed
F: What limits its size?
tags: kv-cache
id: iv-kv

Q: Why use async for LLM calls?
A: Requests wait on the network, so one process can keep many in flight.
R:
- waiting on network I/O
- many requests in flight
tags: async
id: iv-async
"""


def _no_model() -> object:
    raise GraderUnavailable("The embedding model used for grading is not installed.")


@pytest.fixture
def app(store) -> StudyApp:
    """Self-assessment only: the grader is unavailable, so the learner's ticks are the score."""
    sync_deck(store, parse_text(DECK, "interview.md"))
    store.save_settings(store.load_settings().replace(interview_question_count=2, interview_seconds_per_question=60))
    return StudyApp(store, grader=BackgroundGrader(load=_no_model))  # type: ignore[arg-type]


async def start(app: StudyApp, pilot) -> InterviewScreen:
    screen = InterviewScreen(clock=lambda: FIXED, seed=1)
    app.push_screen(screen)
    await pilot.pause()
    return screen


async def test_interview_with_follow_up_and_report(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        order = [q.key for q in screen.questions]
        assert sorted(order) == ["iv-async", "iv-kv"]
        for key in order:
            assert screen.phase == "answer"
            await pilot.press(*"keys and values per layer")
            await pilot.press("ctrl+s")
            await pilot.pause()
            if key == "iv-kv":
                assert screen.phase == "follow-up"
                assert "What limits its size?" in screen.query_one("#interview-question").source
                await pilot.press(*"memory")
                await pilot.press("ctrl+s")
                await pilot.pause()
            assert screen.phase == "assess"
            criteria = screen.query_one("#interview-criteria", SelectionList)
            criteria.select(0)  # the learner ticks the first criterion only
            await pilot.press("ctrl+s")
            await pilot.pause()
        assert screen.phase == "report"
        report_text = str(screen.query_one("#interview-report").render())
        assert "Weakest topics" in report_text
    (report,) = list_reports(store)
    by_key = {result["key"]: result for result in report.results}
    assert by_key["iv-kv"]["score"] == pytest.approx(1 / 3)
    assert by_key["iv-kv"]["criteria_missed"] == ["per layer", "only the new token is computed"]
    assert by_key["iv-kv"]["follow_up_answer"] == "memory"
    assert by_key["iv-async"]["score"] == pytest.approx(0.5)
    assert report.overall_score == pytest.approx((1 / 3 + 0.5) / 2)
    assert report.weakest_topics[0]["topic"] == "kv-cache"


async def test_stopping_early_saves_the_assessed_questions(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        first = screen.questions[0]
        await pilot.press(*"an answer", "ctrl+s")
        await pilot.pause()
        if screen.phase == "follow-up":
            await pilot.press("ctrl+s")
            await pilot.pause()
        screen.query_one("#interview-criteria", SelectionList).select(0)
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.press(*"half an answer to the second")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen and screen.phase == "report"
        assert "·  1 question\n" in str(screen.query_one("#interview-report").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InterviewScreen)
    (report,) = list_reports(store)
    assert [result["key"] for result in report.results] == [first.key]
    assert report.results[0]["score"] == pytest.approx(1 / len(first.rubric))


async def test_stopping_before_any_assessment_saves_nothing(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        await pilot.press(*"an answer", "ctrl+s")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InterviewScreen)
    assert list_reports(store) == []


async def test_the_grader_ticks_the_criteria_it_found(store) -> None:
    sync_deck(store, parse_text(DECK, "interview.md"))
    store.save_settings(store.load_settings().replace(interview_question_count=2))
    app = StudyApp(store)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await start(app, pilot)
        for key in [q.key for q in screen.questions]:
            await pilot.press(*"It keeps the keys and values of earlier tokens for every layer", "ctrl+s")
            await pilot.pause()
            if screen.phase == "follow-up":
                await pilot.press(*"GPU memory", "ctrl+s")
                await pilot.pause()
            assert screen.phase == "assess"
            for _ in range(600):
                if screen.applied_grade == screen.index:
                    break
                await pilot.pause(0.05)
            result = screen.grades[screen.index]
            criteria = screen.query_one("#interview-criteria", SelectionList)
            found = {i for i, c in enumerate(result.criteria) if c.verdict is Verdict.MET}
            assert set(criteria.selected) == found
            assert f"score {result.score:.2f}" in str(screen.query_one("#interview-help").render())
            if key == "iv-kv":
                assert found, "a KV answer naming keys, values and layers meets something"
            await pilot.press("ctrl+s")
            await pilot.pause()
        assert screen.phase == "report"
    (report,) = list_reports(store)
    for result in report.results:
        assert result["grade"]["by"] == "grader" and "auto" in result["grade"]
        assert result["grade"]["auto"]["by"] == "grader"


async def test_timer_submits_when_time_runs_out(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        await pilot.press(*"partial")
        screen.remaining = 1
        screen._tick()
        await pilot.pause()
        assert screen.outcomes[0].answer.timed_out
        assert screen.outcomes[0].answer.text == "partial"


async def test_no_interview_questions_says_so(store) -> None:
    sync_deck(store, parse_text("Q: plain?\nA: card\n", "plain.md"))
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(InterviewScreen())
        await pilot.pause()
        assert not isinstance(app.screen, InterviewScreen)
        assert any("no interview questions" in str(n.message) for n in app._notifications)


async def test_history_lists_reports(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        for _ in range(2):
            await pilot.press("ctrl+s")
            await pilot.pause()
            if screen.phase == "follow-up":
                await pilot.press("ctrl+s")
                await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
        await pilot.press("escape")
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, InterviewHistoryScreen)
        assert app.screen.query_one("DataTable").row_count == 1
        assert "Overall score 0%" in str(app.screen.query_one("#interview-history-report").render())


def test_snapshot_interview_question(snap_compare, store) -> None:
    sync_deck(store, parse_text(DECK, "interview.md"))
    app = StudyApp(store, grading=False)  # no model loading in the background

    async def run_before(pilot) -> None:
        screen = InterviewScreen(clock=lambda: FIXED, seed=1)
        app.push_screen(screen)
        await pilot.pause()
        screen.timer.pause()  # a fixed clock face: 2:00 left
        screen.remaining = 120
        screen._show_status()
        screen.query_one("#interview-answer").cursor_blink = False

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


class SteadyClock:
    """time.monotonic for the screen: each reading 20 s after the last, so times are fixed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 20.0
        return self.now


async def _answer_everything(app: StudyApp, pilot) -> InterviewScreen:
    screen = await start(app, pilot)
    for _ in range(2):
        await pilot.press(*"keys and values per layer", "ctrl+s")
        await pilot.pause()
        if screen.phase == "follow-up":
            await pilot.press(*"memory", "ctrl+s")
            await pilot.pause()
        screen.query_one("#interview-criteria", SelectionList).select(0)
        await pilot.press("ctrl+s")
        await pilot.pause()
    return screen


def test_snapshot_interview_report(snap_compare, app: StudyApp, monkeypatch) -> None:
    import studytool.tui.screens.interview as interview_module

    # Only this module's clock (Textual's own timing must stay real).
    monkeypatch.setattr(interview_module, "time", SimpleNamespace(monotonic=SteadyClock()))

    async def run_before(pilot) -> None:
        screen = await _answer_everything(app, pilot)
        assert screen.phase == "report"

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_interview_history(snap_compare, app: StudyApp, monkeypatch) -> None:
    import studytool.tui.screens.interview as interview_module

    # Only this module's clock (Textual's own timing must stay real).
    monkeypatch.setattr(interview_module, "time", SimpleNamespace(monotonic=SteadyClock()))
    monkeypatch.setenv("TZ", "UTC")

    async def run_before(pilot) -> None:
        await _answer_everything(app, pilot)
        await pilot.press("escape", "h")
        await pilot.pause()
        assert isinstance(app.screen, InterviewHistoryScreen)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
