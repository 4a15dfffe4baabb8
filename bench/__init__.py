"""Benchmarks for studytool, each compared with a baseline measured in the same run.

Run them with ``python -m bench`` (all) or ``python -m bench NAME [options]`` (one); each
benchmark is a module ``bench/NAME.py`` exposing ``main(argv) -> int``. Machines are noisy,
so every figure is the median of several rounds, printed with its spread, and targets are
stated as ratios to the baseline rather than absolute times.

This module holds the small helpers the benchmarks share: summaries of repeated samples and
the results table.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Repeated samples of one figure: median, min and max."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    @property
    def spread_pct(self) -> float:
        """(max - min) / median, in percent."""
        m = self.median
        return 0.0 if m == 0 else 100.0 * (self.high - self.low) / m

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "spread_pct": round(self.spread_pct, 2),
            "samples": list(self.samples),
        }


def summarize(samples: Sequence[float]) -> Summary | None:
    return Summary(tuple(samples)) if samples else None


@dataclass
class Row:
    """One line of a results table: studytool against the baseline, with an optional target.

    ``ratio`` is studytool's median over the baseline's median. With ``higher_is_better``
    (rates), the target is a lower bound on the ratio; otherwise (times) an upper bound.
    """

    task: str
    unit: str
    ours: Summary | None
    baseline: Summary | None
    higher_is_better: bool
    target: float | None = None
    note: str = ""
    decimals: int = 2

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.baseline is None or self.baseline.median == 0:
            return None
        return self.ours.median / self.baseline.median

    @property
    def verdict(self) -> str:
        if self.target is None:
            return "info"
        ratio = self.ratio
        if ratio is None:
            return "n/a"
        ok = ratio >= self.target if self.higher_is_better else ratio <= self.target
        return "PASS" if ok else "FAIL"

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "-"
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}"

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "unit": self.unit,
            "studytool": self.ours.to_json() if self.ours else None,
            "baseline": self.baseline.to_json() if self.baseline else None,
            "ratio": self.ratio,
            "higher_is_better": self.higher_is_better,
            "target": self.target,
            "verdict": self.verdict,
            "note": self.note,
        }


def format_figure(summary: Summary | None, unit: str, decimals: int = 2) -> str:
    if summary is None:
        return "-"
    if unit.endswith("/s"):
        text = f"{summary.median:,.0f} {unit}"
    else:
        text = f"{summary.median:.{decimals}f} {unit}"
    if len(summary.samples) > 1:
        text += f" ±{summary.spread_pct / 2:.0f}%"
    return text


def render_table(rows: Sequence[Row], *, baseline_name: str) -> str:
    """A plain-text table; the ± figure is half the min-max spread, relative to the median."""
    header = ("task", "studytool", baseline_name, "ratio", "target", "result")
    body = [
        (
            row.task,
            format_figure(row.ours, row.unit, row.decimals),
            format_figure(row.baseline, row.unit, row.decimals),
            "-" if row.ratio is None else f"{row.ratio:.2f}",
            row.target_text,
            row.verdict,
        )
        for row in rows
    ]
    widths = [max(len(str(line[i])) for line in (header, *body)) for i in range(len(header))]

    def join(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    lines = [join(header), join(["-" * width for width in widths])]
    lines += [join(line) for line in body]
    return "\n".join(lines)


@dataclass
class Report:
    """What a benchmark found, for printing and for ``--json``."""

    benchmark: str
    rows: list[Row]
    parameters: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(row.verdict == "FAIL" for row in self.rows)

    def to_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "environment": environment(),
            "parameters": self.parameters,
            "baseline": self.baseline,
            "rows": [row.to_json() for row in self.rows],
            "notes": self.notes,
            "failed": self.failed,
        }

    def write_json(self, path: str | Path) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")


def environment() -> dict[str, Any]:
    import os

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


__all__ = ["Report", "Row", "Summary", "environment", "format_figure", "render_table", "summarize"]
