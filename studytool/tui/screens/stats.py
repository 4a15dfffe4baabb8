"""Stats: a calendar of reviews per day, the due forecast, true retention against the target
and the automatic answer-score trend, over the figures of the day.

The series are computed by :mod:`studytool.core.stats_series` in a worker; this screen only
draws them. ``clock`` gives "now", so that tests can fix it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Container, VerticalScroll
from textual.widget import Widget
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker
from textual_plotext import PlotextPlot

from studytool.core.models import utcnow
from studytool.core.stats_series import (
    DayCount,
    DayScore,
    StatsSeries,
    WeekRetention,
    list_decks,
    load_series,
)
from studytool.core.text_safety import inert
from studytool.tui.messages import StatsLoaded
from studytool.tui.screens.base import StudyScreen

_WEEKDAY_LABELS = ("Mon", "", "Wed", "", "Fri", "", "Sun")
_LABEL_WIDTH = 4
_LEVELS = 4  # shades for days with reviews; a fifth, faint one for days without


class ReviewHeatmap(Widget):
    """Reviews per study day as a calendar: weeks are columns, weekdays rows (Monday on top),
    shaded by the day's count relative to the busiest day shown."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.days: list[DayCount] = []

    def show(self, days: Sequence[DayCount]) -> None:
        self.days = list(days)
        self.refresh()

    def render(self) -> Text:
        if not self.days:
            return Text("")
        first, last = self.days[0].day, self.days[-1].day
        start = first - timedelta(days=first.weekday())
        weeks = (last - start).days // 7 + 1
        room = max(self.size.width - _LABEL_WIDTH, 1)
        cell = 2 if room >= 2 * weeks else 1
        shown = min(weeks, room // cell)  # the most recent weeks, where not all fit
        start += timedelta(weeks=weeks - shown)
        counts = {day: total for day, total in self.days if day >= start}
        busiest = max(counts.values(), default=0)
        shades = self._shades()

        lines = [self._month_line(start, shown, cell)]
        for weekday in range(7):
            line = Text(f"{_WEEKDAY_LABELS[weekday]:<{_LABEL_WIDTH}}", style="dim")
            for week in range(shown):
                day = start + timedelta(weeks=week, days=weekday)
                if day < first or day > last:
                    line.append(" " * cell)
                    continue
                total = counts.get(day, 0)
                level = math.ceil(_LEVELS * total / busiest) if total else 0
                line.append("■", style=shades[level])
                line.append(" " * (cell - 1))
            lines.append(line)
        legend = Text(" " * _LABEL_WIDTH)
        if busiest:
            legend.append("less ", style="dim")
            for shade in shades:
                legend.append("■", style=shade)
                legend.append(" " * (cell - 1))
            legend.append(" more", style="dim")
        else:
            legend.append("No reviews yet: review some cards to fill this calendar.")
        lines.append(legend)
        return Text("\n").join(lines)

    def _month_line(self, start: date, weeks: int, cell: int) -> Text:
        """Month names over the first column of each month, where they do not collide."""
        starts: list[tuple[int, str]] = []
        for week in range(weeks):
            monday = start + timedelta(weeks=week)
            if week == 0 or monday.day <= 7:
                starts.append((week * cell, monday.strftime("%b")))
        # A first month that shows only a week or two would crowd out the next one's name.
        if len(starts) > 1 and starts[1][0] <= len(starts[0][1]):
            starts.pop(0)
        line = Text(" " * _LABEL_WIDTH, style="dim")
        for column, name in starts:
            if _LABEL_WIDTH + column >= len(line.plain) + (1 if column else 0):
                line.append(" " * (_LABEL_WIDTH + column - len(line.plain)))
                line.append(name)
        return line

    def _shades(self) -> list[Style]:
        variables = self.app.theme_variables
        background = Color.parse(variables.get("surface", "#1e1e1e"))
        success = Color.parse(variables.get("success", "#4ebf71"))
        faint = background.blend(Color.parse(variables.get("foreground", "#e0e0e0")), 0.15)
        steps = [background.blend(success, 0.3 + 0.7 * level / _LEVELS) for level in range(1, 5)]
        return [Style(color=color.rich_color) for color in (faint, *steps)]


class StatsScreen(StudyScreen[None]):
    """Statistics over some decks (all when ``deck_names`` is None); ``clock`` gives now."""

    CSS_PATH = Path(__file__).parent.parent / "css" / "stats.tcss"
    BINDINGS = [
        Binding("d", "next_deck", "Next deck"),
        Binding("r", "reload", "Refresh"),
        Binding("q", "close", "Back"),
        Binding("escape", "close", "Back", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(
        self, deck_names: list[str] | None = None, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        # Until the first series arrive the plots stay hidden: each empty render costs as much
        # as a full one, while the screen is being laid out.
        super().__init__()
        self.add_class("-loading")
        self.deck_names = deck_names
        self.clock = clock
        self.decks: list[tuple[int, str]] = []
        self.series: StatsSeries | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Loading statistics…", id="stats-headline")
        with VerticalScroll(id="stats-body"):
            with Container(id="stats-top", classes="stats-row"):
                with Container(id="heatmap-panel", classes="panel"):
                    yield ReviewHeatmap(id="heatmap")
                with Container(id="forecast-panel", classes="panel"):
                    yield PlotextPlot(id="forecast")
                    yield Static(
                        "Nothing scheduled yet: cards show up here once you have reviewed them.",
                        classes="empty",
                    )
            with Container(id="stats-bottom", classes="stats-row"):
                with Container(id="retention-panel", classes="panel"):
                    yield PlotextPlot(id="retention")
                    yield Static(
                        "No reviews of learned cards yet: true retention shows once cards "
                        "come back for review.",
                        classes="empty",
                    )
                with Container(id="scores-panel", classes="panel"):
                    yield PlotextPlot(id="scores")
                    yield Static(
                        "No typed answers graded yet: type your answer before revealing a card "
                        "to see how your answer scores change.",
                        classes="empty",
                    )
        yield Footer()

    def on_mount(self) -> None:
        titles = {
            "#heatmap-panel": "Reviews per day, last 12 months",
            "#forecast-panel": "Due in the next 30 days",
            "#retention-panel": "True retention by week",
            "#scores-panel": "Answer score, last 90 days",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._draw())
        self._show_decks()
        self.load()

    def on_screen_resume(self) -> None:
        if self.series is not None:
            self.load()

    # -- loading ---------------------------------------------------------------------------

    def load(self) -> None:
        store = self.study_app.store
        if store is None:
            self.query_one("#stats-headline", Static).update("Opening your decks…")
            return
        self._load(self.deck_names, self.clock())

    @work(thread=True, exclusive=True, exit_on_error=False, group="stats")
    def _load(self, deck_names: list[str] | None, now: datetime) -> None:
        store = self.study_app.store
        assert store is not None
        decks = list_decks(store)
        deck_ids = None
        if deck_names is not None:
            deck_ids = [deck_id for deck_id, name in decks if name in deck_names]
        series = load_series(store, now, deck_ids)
        if not get_current_worker().is_cancelled:  # a newer load (another deck) replaced it
            self.post_message(StatsLoaded(series, decks))

    def on_stats_loaded(self, message: StatsLoaded) -> None:
        self.decks = message.decks
        self.series = message.series
        self.remove_class("-loading")
        if message.series.deck_ids == [] and self.deck_names:
            self.notify(
                f"No deck named {inert(', '.join(self.deck_names))}: press d to pick one.",
                severity="warning",
                markup=False,
            )
        self._draw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "stats" and event.state is WorkerState.ERROR:
            self.query_one("#stats-headline", Static).update(
                Text(f"Could not load statistics ({event.worker.error}). Press r to try again.")
            )

    # -- drawing ---------------------------------------------------------------------------

    def _draw(self) -> None:
        series = self.series
        if series is None or not self.is_mounted:
            return
        self._show_decks()
        self.query_one("#stats-headline", Static).update(self._headline(series))
        self.query_one(ReviewHeatmap).show(series.reviews_per_day)
        total = sum(day.total for day in series.reviews_per_day)
        self.query_one("#heatmap-panel").border_subtitle = f"{total:,} reviews"
        self._draw_forecast(series.due_forecast)
        self._draw_retention(series.retention_by_week, series.desired_retention)
        self._draw_scores(series.answer_score_trend)
        health = series.grader_health
        # The grader's health, under the scores it gave: how often its suggestion was kept.
        self.query_one("#scores-panel").border_subtitle = (
            f"grader, {health.days} days: kept {health.kept} of {health.suggested} · "
            f"you went higher {health.higher}, lower {health.lower}"
            if health.suggested
            else ""
        )

    def _show_decks(self) -> None:
        if self.deck_names is None:
            label = "all decks"
        else:
            label = ", ".join(inert(name) for name in self.deck_names) or "no deck"
        self.sub_title = f"Stats · {label}"

    def _headline(self, series: StatsSeries) -> Text:
        """The figures, as many to a line as fit (a figure is never split across lines)."""
        figures = series.headline
        retention = (
            Text.assemble(("–", "bold"), " true retention (30 days)")
            if figures.true_retention is None
            else Text.assemble(
                (f"{figures.true_retention:.0%}", "bold"),
                f" true retention (30 days, {figures.retention_sample:,} reviews)",
            )
        )
        pieces = [
            Text.assemble(
                (f"{figures.reviews_today:,}", "bold"),
                f" reviews today ({round(figures.minutes_today)} min)",
            ),
            Text.assemble((f"{figures.reviews_total:,}", "bold"), " in all"),
            Text.assemble((f"{figures.streak_days}", "bold"), " day streak"),
            retention,
        ]
        width = self.size.width - 4  # the headline's padding
        text = Text()
        line_length = 0
        for piece in pieces:
            if line_length and line_length + 5 + len(piece) > width:
                text.append("\n")
                line_length = 0
            elif line_length:
                text.append("  ·  ", style="dim")
                line_length += 5
            text.append_text(piece)
            line_length += len(piece)
        if not figures.reviews_total:
            text.append("\nReview some cards to see your statistics here.", style="dim")
        return text

    def on_resize(self) -> None:
        if self.series is not None:
            self.query_one("#stats-headline", Static).update(self._headline(self.series))

    def _colors(self) -> dict[str, tuple[int, int, int]]:
        variables = self.app.theme_variables
        names = {"success": "#4ebf71", "error": "#ba3c5b", "accent": "#ffa62b"}
        return {
            name: Color.parse(variables.get(name, default)).rgb for name, default in names.items()
        }

    def _plot(self, selector: str, empty: bool) -> PlotextPlot:
        """The plot, cleared, with its panel showing either it or its empty-state line."""
        plot = self.query_one(selector, PlotextPlot)
        panel = plot.parent
        assert isinstance(panel, Widget)
        panel.set_class(empty, "-empty")
        plot.plt.clear_data()
        plot.plt.clear_figure()
        plot.refresh()
        return plot

    def _draw_forecast(self, days: list[DayCount]) -> None:
        counts = [total for _, total in days]
        plot = self._plot("#forecast", not any(counts))
        if not any(counts):
            return
        plt = plot.plt
        plt.bar(
            list(range(len(days))), counts, width=0.6, marker="hd", color=self._colors()["success"]
        )
        plt.xlim(-0.5, len(days) - 0.5)
        ticks = range(0, len(days), 7)
        _xticks(
            plot, ticks, ["today" if tick == 0 else _day_label(days[tick].day) for tick in ticks]
        )
        step = _count_step(max(counts))
        plt.ylim(0, max(counts))
        plt.yticks([float(value) for value in range(0, max(counts) + 1, step)])

    def _draw_retention(self, weeks: list[WeekRetention], target: float) -> None:
        measured = [(index, week) for index, week in enumerate(weeks) if week.retention is not None]
        plot = self._plot("#retention", not measured)
        if not measured:
            return
        plt = plot.plt
        colors = self._colors()
        xs = [index for index, _ in measured]
        ys = [100 * (week.retention or 0) for _, week in measured]
        plt.plot(
            [-0.5, len(weeks) - 0.5],
            [100 * target] * 2,
            color=colors["error"],
            marker="─",
            label=f"target {target:.0%}",
        )
        plt.plot(xs, ys, color=colors["success"], marker="braille", label="true retention")
        plt.scatter(xs, ys, color=colors["success"], marker="●")
        lowest = max(0, 10 * math.floor((min([*ys, 100 * target]) - 5) / 10))
        plt.ylim(lowest, 100)
        plt.yticks([float(value) for value in range(lowest, 101, 10 if 100 - lowest > 30 else 5)])
        plt.xlim(-0.5, len(weeks) - 0.5)
        ticks = range((len(weeks) - 1) % 3, len(weeks), 3)  # this week's always labelled
        _xticks(plot, ticks, [_day_label(weeks[tick].week_start) for tick in ticks])

    def _draw_scores(self, days: list[DayScore]) -> None:
        scored = [(index, day) for index, day in enumerate(days) if day.mean_score is not None]
        plot = self._plot("#scores", not scored)
        if not scored:
            return
        plt = plot.plt
        xs = [index for index, _ in scored]
        ys = [day.mean_score or 0.0 for _, day in scored]
        color = self._colors()["accent"]
        plt.plot(xs, ys, color=color, marker="braille")
        plt.scatter(xs, ys, color=color, marker="●")
        if all(0 <= score <= 1 for score in ys):
            plt.ylim(0, 1)
            plt.yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        plt.xlim(-0.5, len(days) - 0.5)
        ticks = range((len(days) - 1) % 30, len(days), 30)  # today's always labelled
        _xticks(plot, ticks, [_day_label(days[tick].day) for tick in ticks])

    # -- actions ---------------------------------------------------------------------------

    def action_next_deck(self) -> None:
        if not self.decks:
            self.notify("No decks yet: import some with `studytool import PATH`.")
            return
        names = [name for _, name in self.decks]
        if self.deck_names is None:
            self.deck_names = [names[0]]
        elif len(self.deck_names) == 1 and self.deck_names[0] in names:
            position = names.index(self.deck_names[0]) + 1
            self.deck_names = [names[position]] if position < len(names) else None
        else:
            self.deck_names = None
        self._show_decks()
        self.load()

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.app.pop_screen()


def _day_label(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def _xticks(plot: PlotextPlot, positions: range, labels: list[str]) -> None:
    plot.plt.xticks([float(position) for position in positions], labels)


def _count_step(top: int) -> int:
    """A round step that puts at most four ticks on an axis of counts up to ``top``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500):
        if top <= 4 * step:
            return step
    return 10 ** len(str(top // 4))
