"""Regenerate the README's screenshots: ``python scripts/screenshots.py``.

Builds a throw-away store with the bundled decks and two weeks of simulated reviews, drives
the app with Textual's Pilot at 100×30, and saves each main screen as an SVG in
``docs/screenshots/``.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from studytool.core.bundled import ensure_bundled_decks  # noqa: E402
from studytool.core.models import utcnow  # noqa: E402
from studytool.core.ratings import Rating  # noqa: E402
from studytool.core.store import Store, open_store  # noqa: E402
from studytool.core.study import StudySession  # noqa: E402
from studytool.tui.app import StudyApp  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SIZE = (100, 30)


def simulate_history(store: Store, days: int = 14, seed: int = 5) -> None:
    """A learner who studied most days of the last two weeks."""
    rng = random.Random(seed)
    session = StudySession(store, settings=store.load_settings().replace(new_cards_per_day=8))
    start = utcnow() - timedelta(days=days)
    for day in range(days):
        if rng.random() < 0.2:
            continue
        now = start + timedelta(days=day, hours=rng.randint(0, 3))
        for _ in range(25):
            card = session.next_card(now)
            if card is None:
                break
            rating = rng.choices(list(Rating), weights=(1, 2, 6, 2))[0]
            session.answer(card.card_id, rating, now, duration_ms=rng.randint(4000, 40000))
            now += timedelta(minutes=2)


async def capture(store: Store, name: str, steps: Callable[[Pilot[None]], Awaitable[None]]) -> None:
    app = StudyApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await steps(pilot)
        await pilot.pause(0.5)
        app.save_screenshot(str(OUT / f"{name}.svg"))
    print(f"wrote {OUT / name}.svg")


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'screens.db'}")
        ensure_bundled_decks(store)
        simulate_history(store)

        async def nothing(pilot: Pilot[None]) -> None:
            return None

        async def review_question(pilot: Pilot[None]) -> None:
            await pilot.press("a")
            await pilot.pause()
            # Which card comes first depends on the day; answer it with the first sentence of
            # its model answer, which meets some criteria and misses others, as a learner would.
            card = getattr(pilot.app.screen, "card", None)
            back = card.back if card is not None else ""
            first = back.replace("\n", " ").split(". ")[0].strip().rstrip(".")
            await pilot.press(*(first or "one process keeps many requests in flight"))

        async def review_graded(pilot: Pilot[None]) -> None:
            await review_question(pilot)
            await pilot.press("ctrl+s")
            for _ in range(1200):  # the grader loads in the background on first use
                if pilot.app.screen.has_class("graded") or pilot.app.screen.has_class("grade-failed"):
                    break
                await pilot.pause(0.05)

        async def demo(name: str, done: Callable[[Pilot[None]], bool]) -> None:
            from studytool.tui.screens.demos import demo_screen

            async def steps(pilot: Pilot[None]) -> None:
                await pilot.app.push_screen(demo_screen(name))
                for _ in range(3000):
                    if done(pilot):
                        break
                    await pilot.pause(0.05)

            await capture(store, f"demo-{name}", steps)

        def press(*keys: str) -> Callable[[Pilot[None]], Awaitable[None]]:
            async def steps(pilot: Pilot[None]) -> None:
                await pilot.press(*keys)
                await pilot.pause(1.0)

            return steps

        await capture(store, "home", nothing)
        await capture(store, "review", review_question)
        await capture(store, "review-graded", review_graded)
        await capture(store, "browse", press("b"))
        await capture(store, "stats", press("s"))
        await capture(store, "settings", press("comma"))
        await demo(
            "tokenizer",
            lambda pilot: "SmolLM2" in str(pilot.app.screen.query_one("#tokens-smollm2").render()),
        )
        await demo(
            "generation",
            lambda pilot: "tokens/s" in str(pilot.app.screen.query_one("#demo-status").render()),
        )
        await demo(
            "attention",
            lambda pilot: "head" in str(pilot.app.screen.query_one("#attention-map").render()),
        )
        store.close()


if __name__ == "__main__":
    asyncio.run(main())
