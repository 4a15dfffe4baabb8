"""Keeps the store benchmark (``python -m bench store``) from rotting: a tiny run of each side.

The figures at this size mean nothing; only that the benchmark runs end to end, fills the
table and writes its JSON is checked.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench` lives at the repository root, beside `studytool`
    sys.path.insert(0, str(ROOT))

from bench import __main__ as bench_cli  # noqa: E402
from bench import anki_baseline, store  # noqa: E402

TINY = ["--cards", "200", "--add", "200", "--rounds", "2", "--picks", "20", "--quiet"]


def _anki_importable() -> bool:
    return importlib.util.find_spec("anki") is not None and anki_baseline.anki_version() is not None


def test_studytool_side_runs_at_tiny_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "store.json"
    code = store.main([*TINY, "--no-anki", "--json", str(out)])

    assert code == 0  # no baseline, so no target can fail
    printed = capsys.readouterr().out
    assert "add 200 notes" in printed
    assert "pick+commit @200 (new cards)" in printed
    assert "pick+commit @200 (due reviews)" in printed

    result = json.loads(out.read_text())
    rows = {row["task"]: row for row in result["rows"]}
    for task in ("add 200 notes", "pick+commit @200 (new cards)", "pick+commit @200 (due reviews)"):
        row = rows[task]
        assert row["studytool"]["median"] > 0
        assert len(row["studytool"]["samples"]) == 2
        assert row["baseline"] is None
        assert row["verdict"] == "n/a"
    assert not [note for note in result["notes"] if "ran out" in note]


@pytest.mark.skipif(not _anki_importable(), reason="anki (the bench extra) is not installed")
def test_both_sides_run_at_tiny_size() -> None:
    options = store.parse_args([*TINY, "--rounds", "1"])
    report = store.run(options)

    assert report.baseline["version"]
    targeted = [row for row in report.rows if row.target is not None]
    assert len(targeted) == 3
    for row in targeted:
        assert row.ours is not None and row.baseline is not None
        assert row.ratio is not None and row.ratio > 0
        assert row.verdict in ("PASS", "FAIL")
    assert not [note for note in report.notes if "ran out" in note or "warning" in note]


def test_cli_dispatches_to_named_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    assert "store" in bench_cli.discover()
    assert bench_cli.main(["--list"]) == 0
    assert "store" in capsys.readouterr().out.split()
    assert bench_cli.main(["no-such-benchmark"]) == 2


def test_store_options_are_checked() -> None:
    with pytest.raises(SystemExit):
        store.parse_args(["--cards", "100", "--picks", "100"])  # more picks than cards


def test_screens_benchmark_runs_at_tiny_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench import screens

    large = screens.build_database(tmp_path / "large.db", 50, 10)
    small = screens.build_database(tmp_path / "small.db", 20, 5)
    # One pass each, at 80x24 to keep it quick; a step that lands on the wrong screen raises.
    samples = screens.measure_screens(large, small, rounds=1, warm_up=False, size=(80, 24))
    queries = {
        side: screens.core_queries(db, repeats=1)
        for side, db in (("large", large), ("small", small))
    }

    labels = [step.label for step in screens.STEPS]
    for side in ("large", "small"):
        assert list(samples[side]) == labels
        assert all(len(values) == 1 and values[0] > 0 for values in samples[side].values())
        assert all(len(values) == 1 and values[0] > 0 for values in queries[side].values())
    results, _ = screens.report(samples, queries, {"large": (50, 10), "small": (20, 5)})
    assert list(results["steps"]) == labels
    assert all(step["ratio"] > 0 for step in results["steps"].values())
    assert "overall:" in capsys.readouterr().out


def test_scale_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    from bench import scale

    with_anki = _anki_importable()
    argv = ["--cards", "2000", "--log-rows", "20000", "--rounds", "1", "--heavy-rounds", "1"]
    argv += ["--picks", "20", "--import", "300", "--quiet"]
    options = scale.parse_args([*argv, *([] if with_anki else ["--skip-anki"])])
    report = scale.run(options)

    stored = report.parameters["stored"]
    assert set(stored) == ({"studytool", "Anki"} if with_anki else {"studytool"})
    for side in stored.values():
        assert side["cards"] == 2000 and side["log_rows"] == 20000 and side["due_reviews"] > 0
    tasks = [row.task for row in report.rows if row.target is not None]
    assert tasks == [
        "pick+commit @2k (due reviews)",
        "stats screen data",
        "import 300 notes @2k (new deck)",
        "import 300 notes @2k (large deck)",
    ]
    for row in report.rows:
        assert row.ours is not None and row.ours.median > 0
        if with_anki:
            assert row.baseline is not None and row.baseline.median > 0
            assert row.ratio is not None and row.ratio > 0
        else:
            assert row.baseline is None
    assert not [note for note in report.notes if "ran out" in note or "warning" in note]
    out = tmp_path / "scale.json"
    report.write_json(out)
    assert json.loads(out.read_text())["benchmark"] == "scale"


def test_grading_benchmark_scores_the_kept_out_of_fold_predictions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The answer-kind table comes from the committed predictions through the shipped rules."""
    from bench import grading
    from bench.judge_cv import COMPACT, read_rows

    rows = read_rows(COMPACT)
    assert {row["source"] for row in rows} >= {"beetle", "sciEntsBank", "saf", "deck"}
    results, _ = grading.answer_kinds(rows, nested=False)
    printed = capsys.readouterr().out
    for kind in ("correct_own_words", "negated", "keyword_salad", "dont_know"):
        assert kind in printed
    assert set(results["checks"]) == {
        "negated or misconception suggested Good/Easy",
        "paraphrase and terse suggested Good/Easy",
        "keyword salad above Hard",
        "per-criterion verdicts as labelled",
    }
