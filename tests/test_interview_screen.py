from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.containers import VerticalScroll

from studytool.core.grading import BackgroundGrader, GraderUnavailable, Verdict
from studytool.core.importing import parse_text
from studytool.core.importing.sync import sync_deck
from studytool.core.interview import Phase, list_reports
from studytool.core.store import StoreError
from studytool.tui.app import StudyApp
from studytool.tui.dialogs import ChoiceDialog
from studytool.tui.screens.interview import InterviewHistoryScreen, InterviewScreen

from .interview_timer import FakeTimer
from .screen_text import shown_text
from .waiting import wait_for_writes, wait_until

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

# Five long questions with long rubrics, as in the trial: their report does not fit a screen.
LONG_DECK = """+++
name = "Long interview"
kind = "interview"
tags = ["interview"]
+++
""" + "\n".join(
    f"Q: Question {i}: walk me through how a transformer decoder turns a prompt into the next "
    f"token, naming every step an interviewer would expect to hear about?\n"
    f"A: Model answer {i}.\n"
    "R:\n"
    + "".join(
        f"- criterion {i}.{j}: names the part of the computation that an interviewer expects, "
        "in words of its own\n"
        for j in range(4)
    )
    + f"tags: topic-{i}\nid: long-{i}\n"
    for i in range(5)
)


def _no_model() -> object:
    raise GraderUnavailable("The embedding model used for grading is not installed.")


def _app(store, deck: str = DECK, count: int = 2, *, grading: bool = True) -> StudyApp:
    """Self-assessment only: the grader is unavailable (or, without ``grading``, turned
    off), so the learner's verdicts are the score."""
    sync_deck(store, parse_text(deck, "interview.md"))
    store.save_settings(
        store.load_settings().replace(
            interview_question_count=count, interview_seconds_per_question=60
        )
    )
    if not grading:
        return StudyApp(store, grading=False)
    return StudyApp(store, grader=BackgroundGrader(load=_no_model))  # type: ignore[arg-type]


@pytest.fixture
def app(store) -> StudyApp:
    return _app(store)


async def settle(pilot) -> None:
    """Until scrolling (animated for end and home) has come to rest."""
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def screen_lines(app: StudyApp) -> list[str]:
    """What the terminal shows, line by line."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def on_screen(app: StudyApp, words: str) -> bool:
    return any(words in line for line in screen_lines(app))


async def start(app: StudyApp, pilot, timer: FakeTimer | None = None) -> InterviewScreen:
    screen = InterviewScreen(clock=lambda: FIXED, timer=timer or FakeTimer(), seed=1)
    app.push_screen(screen)
    await pilot.pause()
    return screen


async def answer(pilot, screen: InterviewScreen, text: str, follow_up: str = "") -> None:
    """Type an answer (and the follow-up's, if the card has one) and submit them."""
    if text:
        await pilot.press(*text)
    await pilot.press("ctrl+s")
    await pilot.pause()
    if screen.phase is Phase.FOLLOW_UP:
        if follow_up:
            await pilot.press(*follow_up)
        await pilot.press("ctrl+s")
        await pilot.pause()


async def answer_everything(app: StudyApp, pilot, timer: FakeTimer | None = None) -> InterviewScreen:
    screen = await start(app, pilot, timer)
    for _ in screen.questions:
        if timer:
            timer.advance(20)
        await answer(pilot, screen, "keys and values per layer", "memory")
        await pilot.press("space", "ctrl+s")  # the first criterion is met
        await pilot.pause()
    await wait_for_writes(pilot, screen)
    return screen


async def test_interview_with_follow_up_assessment_and_report(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        order = [q.key for q in screen.questions]
        assert sorted(order) == ["iv-async", "iv-kv"]
        for key in order:
            assert screen.phase is Phase.ANSWER
            await pilot.press(*"keys and values per layer", "ctrl+s")
            await pilot.pause()
            if key == "iv-kv":
                assert screen.phase is Phase.FOLLOW_UP
                assert "What limits its size?" in screen.query_one("#interview-question").source
                await pilot.press(*"memory", "ctrl+s")
                await pilot.pause()
            assert screen.phase is Phase.ASSESS
            # Space acts at once on the first row (the list has a highlighted row), met;
            # then down, and space twice: the second is partly, as in review.
            await pilot.press("space", "down", "space", "space")
            await pilot.pause()
            assert on_screen(app, "✓ met") and on_screen(app, "~ partly")
            await pilot.press("ctrl+s")
            await pilot.pause()
        assert screen.phase is Phase.REPORT
        await wait_for_writes(pilot, screen)
        assert "Weakest topics" in shown_text(screen.query_one("#interview-report"))
    (report,) = list_reports(store)
    by_key = {result["key"]: result for result in report.results}
    assert by_key["iv-kv"]["score"] == pytest.approx(0.5)  # met, partly, missed
    assert by_key["iv-kv"]["criteria_missed"] == ["only the new token is computed"]
    assert by_key["iv-kv"]["criteria_partly"] == ["per layer"]
    assert by_key["iv-kv"]["follow_up_answer"] == "memory"
    assert by_key["iv-async"]["score"] == pytest.approx(0.75)  # met, partly
    assert by_key["iv-kv"]["grade"]["by"] == "learner"
    assert report.overall_score == pytest.approx((0.5 + 0.75) / 2)
    assert report.weakest_topics[0]["topic"] == "kv-cache"


async def test_assess_shows_the_rubric_whole_and_in_view_at_80x24(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        await answer(pilot, screen, "keys and values", "memory")
        assert screen.phase is Phase.ASSESS
        criteria = screen.query_one("#interview-criteria")
        assert criteria.has_focus and criteria.highlighted == 0
        lines = screen_lines(app)
        rubric = screen.session.question.rubric
        for criterion in rubric:
            (row,) = [line for line in lines if f"✗ missed {criterion}" in line]
            assert "…" not in row  # the state in words, not only in colour


async def test_pgdn_scrolls_a_long_answer_while_the_rubric_has_the_focus(app: StudyApp) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        long_answer = " ".join(f"word{i}" for i in range(90))
        screen.query_one("#interview-answer").insert(long_answer)
        await answer(pilot, screen, "", "memory")
        assert screen.query_one("#interview-criteria").has_focus
        body = screen.query_one("#interview-body", VerticalScroll)
        assert body.max_scroll_y > 0 and not on_screen(app, "Model answer")
        await pilot.press("pagedown")
        await settle(pilot)
        assert body.scroll_y > 0 and on_screen(app, "Model answer")
        assert screen.query_one("#interview-criteria").has_focus  # still judging
        await pilot.press("pageup")
        await settle(pilot)
        assert body.scroll_y == 0


async def test_a_ticked_row_no_longer_shows_the_graders_cross(store) -> None:
    """The real grader: a criterion it found missed, once the learner says met, reads met."""
    sync_deck(store, parse_text(DECK, "interview.md"))
    store.save_settings(store.load_settings().replace(interview_question_count=2))
    app = StudyApp(store)
    flipped: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await start(app, pilot)
        for _ in screen.questions:
            await answer(
                pilot,
                screen,
                "It keeps the keys and values of earlier tokens for every layer",
                "GPU memory",
            )
            assert screen.phase is Phase.ASSESS
            await wait_until(
                pilot,
                lambda: screen.session.assessment is not None
                and screen.session.assessment.auto is not None,
                "grading",
                seconds=60,
            )
            assessment = screen.session.assessment
            result = screen.session.grades[screen.session.index]
            assert assessment.verdicts == [c.verdict for c in result.criteria]
            help_text = shown_text(screen.query_one("#interview-grade"))
            assert "the grader's verdicts" in help_text
            if screen.session.question.key == "iv-kv":
                assert Verdict.MET in assessment.verdicts, "keys, values and layers meet something"
            missed = [i for i, v in enumerate(assessment.verdicts) if v is Verdict.MISSED]
            if missed:
                # Down to the first missed row, then space twice: missed → met.
                await pilot.press(*["down"] * missed[0], "space")
                await pilot.pause()
                criterion = screen.session.question.rubric[missed[0]]
                (row,) = [line for line in screen_lines(app) if f"met    {criterion}" in line]
                assert "✓ met" in row and "✗" not in row
                flipped.append(screen.session.question.key)
            await pilot.press("ctrl+s")
            await pilot.pause()
        await wait_for_writes(pilot, screen)
    assert "iv-async" in flipped, "a KV answer misses the async question's criteria"
    (report,) = list_reports(store)
    for result in report.results:
        assert result["grade"]["by"] == ("learner" if result["key"] in flipped else "grader")
        assert "auto" in result["grade"]
        assert result["grade"]["auto"]["by"] == "grader"
        assert result["grade"]["changed"] == (result["grade"]["by"] == "learner")


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_the_report_scrolls_from_the_keyboard(store, size) -> None:
    app = _app(store, LONG_DECK, count=5)
    async with app.run_test(size=size) as pilot:
        screen = await start(app, pilot)
        for _ in range(5):  # blank answers, as in the trial
            await answer(pilot, screen, "")
            await pilot.press("ctrl+s")
            await pilot.pause()
        assert screen.phase is Phase.REPORT
        await wait_for_writes(pilot, screen)
        scroll = screen.query_one("#interview-report-scroll", VerticalScroll)
        assert scroll.has_focus and scroll.max_scroll_y > 0
        assert on_screen(app, "Overall score") and not on_screen(app, "Weakest topics")
        await pilot.press("down")
        await settle(pilot)
        assert scroll.scroll_y == 1
        await pilot.press("pagedown")
        await settle(pilot)
        assert scroll.scroll_y > 1
        await pilot.press("end")
        await settle(pilot)
        last = screen.session.questions[-1].key.removeprefix("long-")
        assert on_screen(app, "Weakest topics") and on_screen(app, f"criterion {last}.3:")
        await pilot.press("pageup", "home")
        await settle(pilot)
        assert scroll.scroll_y == 0 and on_screen(app, "Overall score")


async def test_the_report_wraps_to_the_width_of_the_terminal(store) -> None:
    app = _app(store, LONG_DECK, count=1)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        await answer(pilot, screen, "")
        await pilot.press("ctrl+s")
        await wait_for_writes(pilot, screen)
        lines = screen_lines(app)
        (first,) = [line for line in lines if "1. Question" in line]
        following = lines[lines.index(first) + 1]
        # Wrapped once, at the screen's edge, under the question's first word.
        assert len(first.rstrip()) > 80 - 12
        assert following.startswith("     ") and following.strip().split()[0].isalpha()
        row = next(line for line in lines if "✗ missed criterion" in line)
        continued = lines[lines.index(row) + 1]
        indent = row.index("criterion")
        assert continued[:indent].isspace() and continued[indent].isalpha()  # a hanging indent


async def test_esc_asks_and_keep_going_goes_on_with_the_clock_stopped(app: StudyApp) -> None:
    timer = FakeTimer()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot, timer)
        timer.advance(10)
        await pilot.press(*"half an answer")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        timer.advance(300)  # reading the question costs no answering time
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and screen.phase is Phase.ANSWER
        assert screen.query_one("#interview-answer").text == "half an answer"
        assert screen.query_one("#interview-answer").has_focus
        assert screen.session.seconds_left() == 50
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")  # Esc in the dialog is the safe choice: keep going
        await pilot.pause()
        assert app.screen is screen and screen.phase is Phase.ANSWER


async def test_esc_then_end_and_save_keeps_the_answered_questions(store) -> None:
    """The trial: answer two questions, press Esc while typing the third."""
    app = _app(store, LONG_DECK, count=3)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        answered = [q.key for q in screen.questions[:2]]
        for _ in range(2):
            await answer(pilot, screen, "an answer")
            await pilot.press("space", "ctrl+s")
            await pilot.pause()
        await pilot.press(*"half an answer to the third")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)
        assert "2 answered questions" in app.screen.question
        assert "not kept" in app.screen.question
        await pilot.press("s")
        await pilot.pause()
        assert app.screen is screen and screen.phase is Phase.REPORT
        await wait_for_writes(pilot, screen)
        assert "·  2 questions" in shown_text(screen.query_one("#interview-report"))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InterviewScreen)
    (report,) = list_reports(store)
    assert [result["key"] for result in report.results] == answered
    assert all(result["score"] == pytest.approx(0.25) for result in report.results)


async def test_esc_during_the_follow_up_keeps_the_answer_not_yet_assessed(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        while screen.session.question.key != "iv-kv":  # the card with a follow-up
            await answer(pilot, screen, "x")
            await pilot.press("ctrl+s")
            await pilot.pause()
        await pilot.press(*"keys and values", "ctrl+s")
        await pilot.pause()
        assert screen.phase is Phase.FOLLOW_UP
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("s")
        await wait_for_writes(pilot, screen)
        assert "not assessed" in shown_text(screen.query_one("#interview-report"))
    (report,) = list_reports(store)
    kv = report.results[-1]
    assert kv["key"] == "iv-kv" and kv["answer"] == "keys and values"
    assert kv["assessed"] is False and kv["score"] is None


async def test_esc_then_discard_saves_nothing(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        await answer(pilot, screen, "an answer", "more")
        await pilot.press("space", "ctrl+s")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert not isinstance(app.screen, InterviewScreen)
    assert list_reports(store) == []


async def test_esc_before_anything_is_typed_leaves_at_once(app: StudyApp, store) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InterviewScreen | ChoiceDialog)
    assert list_reports(store) == []


async def test_a_report_that_could_not_be_saved_can_be_saved_again(
    app: StudyApp, store, monkeypatch
) -> None:
    import studytool.tui.screens.interview as interview_screen

    real_save = interview_screen.save_report
    calls: list[int] = []

    def locked_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("the database is locked by another program: try again")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(interview_screen, "save_report", locked_once)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await answer_everything(app, pilot)
        report = shown_text(screen.query_one("#interview-report"))
        assert "Not saved: the database is locked" in report and "ctrl+s tries again" in report
        assert list_reports(store) == []
        await pilot.press("ctrl+s")
        await wait_for_writes(pilot, screen)
        assert "Saved." in shown_text(screen.query_one("#interview-report"))
    assert len(list_reports(store)) == 1


async def test_timer_submits_when_time_runs_out(app: StudyApp) -> None:
    timer = FakeTimer()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot, timer)
        await pilot.press(*"partial")
        timer.advance(45)
        # The screen redraws the clock on an interval tick; a busy machine may delay it.
        await wait_until(
            pilot,
            lambda: "time left 0:15" in shown_text(screen.query_one("#interview-status")),
            "the clock's redraw",
            seconds=10,
        )
        timer.advance(15)
        await wait_until(pilot, lambda: screen.phase is not Phase.ANSWER, "the timer")
        outcome = screen.session.outcomes[0]
        assert outcome.answer.timed_out and outcome.answer.text == "partial"
        assert outcome.answer.seconds == pytest.approx(60)


async def test_no_interview_questions_says_so(store) -> None:
    sync_deck(store, parse_text("Q: plain?\nA: card\n", "plain.md"))
    app = StudyApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(InterviewScreen())
        await pilot.pause()
        assert not isinstance(app.screen, InterviewScreen)
        assert any("no interview questions" in str(n.message) for n in app._notifications)


async def test_history_lists_reports_and_scrolls_them(store) -> None:
    app = _app(store, LONG_DECK, count=5)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(app, pilot)
        for _ in range(5):
            await answer(pilot, screen, "")
            await pilot.press("ctrl+s")
            await pilot.pause()
        await wait_for_writes(pilot, screen)
        await pilot.press("escape", "h")
        await pilot.pause()
        history = app.screen
        assert isinstance(history, InterviewHistoryScreen)
        assert history.query_one("DataTable").row_count == 1
        assert "Overall score 0%" in shown_text(history.query_one("#interview-history-report"))
        scroll = history.query_one("#interview-history-scroll", VerticalScroll)
        assert scroll.max_scroll_y > 0 and not on_screen(app, "Weakest topics")
        await pilot.press("pagedown")  # from the list
        await settle(pilot)
        assert scroll.scroll_y > 0
        await pilot.press("enter", "end")  # into the report, to its end
        await settle(pilot)
        assert scroll.has_focus and on_screen(app, "Weakest topics")
        await pilot.press("home", "down")
        await settle(pilot)
        assert scroll.scroll_y == 1
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InterviewHistoryScreen)


# -- snapshots ----------------------------------------------------------------------------


def _snapshot_app(store, deck: str = DECK, count: int = 2) -> StudyApp:
    # No model loading in the background, and no notice saying it failed.
    return _app(store, deck, count, grading=False)


async def _start_still(app: StudyApp, pilot, timer: FakeTimer) -> InterviewScreen:
    screen = await start(app, pilot, timer)
    screen.query_one("#interview-answer").cursor_blink = False
    return screen


def test_snapshot_interview_question(snap_compare, store) -> None:
    app = _snapshot_app(store)

    async def run_before(pilot) -> None:
        await _start_still(app, pilot, FakeTimer())

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_interview_assess(snap_compare, store) -> None:
    app = _snapshot_app(store)

    async def run_before(pilot) -> None:
        screen = await _start_still(app, pilot, FakeTimer())
        await answer(pilot, screen, "keys and values per layer", "memory")
        await pilot.press("space", "down", "space", "space", "up")  # met, partly, missed
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_interview_esc_dialog(snap_compare, store) -> None:
    app = _snapshot_app(store)

    async def run_before(pilot) -> None:
        screen = await _start_still(app, pilot, FakeTimer())
        await answer(pilot, screen, "keys and values per layer", "memory")
        await pilot.press("ctrl+s", *"half an answer", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_interview_report_scrolled(snap_compare, store) -> None:
    app = _snapshot_app(store, LONG_DECK, count=3)

    async def run_before(pilot) -> None:
        timer = FakeTimer()
        screen = await _start_still(app, pilot, timer)
        for _ in range(3):
            timer.advance(20)
            await answer(pilot, screen, "an answer")
            await pilot.press("space", "down", "space", "space", "ctrl+s")
            await pilot.pause()
        await wait_for_writes(pilot, screen)
        await pilot.press("end")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_interview_history(snap_compare, store) -> None:
    app = _snapshot_app(store)

    async def run_before(pilot) -> None:
        await answer_everything(app, pilot, FakeTimer())
        await pilot.press("escape", "h")
        await pilot.pause()
        assert isinstance(app.screen, InterviewHistoryScreen)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
