"""Start-up: launch to first screen ready, beside a bare Textual hello-world app.

Each run is a fresh interpreter (``python -c``), so imports count as they do for a learner.
The child notes the moment its first screen has been painted (``on_ready`` and one refresh)
and prints how long that took since the parent launched it. The ratio of the medians is the
figure; the target is 1.5 or less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION = "startup: launch to first screen ready, vs a bare Textual hello-world app"
TARGET_RATIO = 1.5

_HELLO = """
import os, sys, time
from textual.app import App
from textual.widgets import Static

class Hello(App):
    def compose(self):
        yield Static("Hello, world")
    def on_ready(self):
        self.call_after_refresh(self.done)
    def done(self):
        print(time.time() - float(os.environ["BENCH_T0"]), flush=True)
        self.exit()

Hello().run(headless=True, size=(80, 24))
"""

_STUDYTOOL = """
import os, sys, time
from studytool.cli import Context
from studytool.tui.app import StudyApp

class Timed(StudyApp):
    def on_ready(self):
        self.call_after_refresh(self.painted)
    def painted(self):
        print(time.time() - float(os.environ["BENCH_T0"]), flush=True)
    def on_store_ready(self, message):
        super().on_store_ready(message)
        self.call_after_refresh(self.done)
    def done(self):
        print("decks", time.time() - float(os.environ["BENCH_T0"]), flush=True)
        self.exit()

Timed(open_store=Context(os.environ["BENCH_DB"], bundled=True).open).run(headless=True, size=(80, 24))
"""


def _launch(code: str, env: dict[str, str]) -> tuple[float, float | None]:
    """Seconds from launch to the first paint, and to the decks being shown (if reported)."""
    env = {**env, "BENCH_T0": repr(time.time())}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    lines = result.stdout.split()
    painted = float(lines[0])
    decks = float(lines[lines.index("decks") + 1]) if "decks" in lines else None
    return painted, decks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=DESCRIPTION)
    parser.add_argument("--runs", type=int, default=9, help="launches of each app (default 9)")
    options = parser.parse_args(list(argv or []))

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "STUDYTOOL_HOME": home, "BENCH_DB": str(Path(home) / "bench.db")}
        # The first launch imports the bundled decks; a learner sees that once, not every day.
        _launch(_STUDYTOOL, env)
        hello: list[float] = []
        ours: list[float] = []
        decks: list[float] = []
        for _ in range(options.runs):  # interleaved, so load on the machine hits both alike
            hello.append(_launch(_HELLO, env)[0])
            painted, shown = _launch(_STUDYTOOL, env)
            ours.append(painted)
            decks.append(shown or painted)

    hello_median, ours_median = statistics.median(hello), statistics.median(ours)
    ratio = ours_median / hello_median
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"startup, launch to first screen ready: medians of {options.runs} launches each")
    print(
        f"  Textual hello world   {hello_median * 1000:7.0f} ms  (min {min(hello) * 1000:.0f}, max {max(hello) * 1000:.0f})"
    )
    print(
        f"  studytool home screen {ours_median * 1000:7.0f} ms  (min {min(ours) * 1000:.0f}, max {max(ours) * 1000:.0f})"
    )
    print(f"  ratio {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}")
    print(
        f"  (info) decks listed, store opened in the background: {statistics.median(decks) * 1000:.0f} ms"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
