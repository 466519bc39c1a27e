"""The benchmark harness's table: targets, pass/miss and failure rows from given results."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks.table import FAILED, MISS, PASS, SPECS, build_rows, format_table

RESULTS: dict[str, dict[str, Any]] = {
    "import_throughput": {"images": 10_000, "median_images_per_s": {"folder": 1850, "zip": 1420}},
    "annotate_load": {"annotators": 50, "judgments_per_s": 217.3, "errors": 0},
    "annotate_load_rate150": {
        "annotators": 50,
        "judgments_per_s": 149.6,
        "errors": 0,
        "next_p50_ms": 5.1,
        "next_p99_ms": 77.0,
        "submit_p50_ms": 4.9,
        "submit_p99_ms": 60.2,
    },
    "export_scale": {
        "scale": 1.0,
        "rows": {"pairs": 783_600},
        "median_seconds": 22.9,
        "median_peak_rss_mib": 590.0,
    },
    "agreement_scale": {"pair_rows": 800_100, "full_recompute_seconds_median": 6.2},
    "prompt_cleaning": {"prompts_per_second_cpu_median": 31_000.0},
    "scoring_cpu": {
        "in_process": {"ours_images_per_s": 15.9, "official_images_per_s": 3.1, "ratio": 5.13},
        "whole_command": {"ours_images_per_s": 7.1, "official_images_per_s": 2.2, "ratio": 3.2},
    },
}


def by_name(rows: list[Any]) -> dict[str, Any]:
    return {row.name: row for row in rows}


def test_every_row_judged_against_its_target() -> None:
    rows = by_name(build_rows(RESULTS, {}))
    assert list(rows) == [spec.name for spec in SPECS]
    assert {name: row.status for name, row in rows.items()} == {
        "batch import": PASS,
        "annotate, as fast as possible": PASS,
        "annotate at 150/s offered: next": PASS,
        "annotate at 150/s offered: submit": PASS,
        "full export": PASS,
        "agreement recompute": PASS,
        "prompt cleaning": PASS,
        "CPU scoring, in process": PASS,
        "CPU scoring, whole command": MISS,
    }
    assert rows["batch import"].value == "folder 1,850, zip 1,420 images/s (10,000 images)"
    assert rows["CPU scoring, whole command"].value.startswith("3.2x")
    assert rows["CPU scoring, whole command"].target == ">= 4x official"
    assert "12.6 annotations/s" in rows["annotate, as fast as possible"].anchor
    assert "5 min" in rows["full export"].anchor
    assert rows["agreement recompute"].anchor == ""


@pytest.mark.parametrize(
    ("result", "path", "value", "row"),
    [
        ("import_throughput", ("median_images_per_s", "zip"), 999, "batch import"),
        ("annotate_load", ("judgments_per_s",), 149.9, "annotate, as fast as possible"),
        ("annotate_load", ("errors",), 1, "annotate, as fast as possible"),
        ("annotate_load_rate150", ("next_p99_ms",), 150.0, "annotate at 150/s offered: next"),
        ("annotate_load_rate150", ("submit_p99_ms",), 151, "annotate at 150/s offered: submit"),
        ("export_scale", ("median_seconds",), 30.0, "full export"),
        ("export_scale", ("median_peak_rss_mib",), 1024.0, "full export"),
        ("agreement_scale", ("full_recompute_seconds_median",), 10.0, "agreement recompute"),
        ("prompt_cleaning", ("prompts_per_second_cpu_median",), 19_999.0, "prompt cleaning"),
        ("scoring_cpu", ("in_process", "ratio"), 4.99, "CPU scoring, in process"),
    ],
)
def test_a_figure_past_its_target_is_a_miss(
    result: str, path: tuple[str, ...], value: float, row: str
) -> None:
    results = copy.deepcopy(RESULTS)
    holder = results[result]
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    baseline = {r.name: r.status for r in build_rows(RESULTS, {})}
    statuses = {r.name: r.status for r in build_rows(results, {})}
    assert baseline[row] == PASS
    assert statuses == {**baseline, row: MISS}


def test_a_failed_benchmark_gives_failed_rows_and_the_rest_still_judged() -> None:
    results = {k: v for k, v in RESULTS.items() if k != "annotate_load_rate150"}
    rows = by_name(build_rows(results, {"annotate_load_rate150": "exit 1: lost 2 judgments"}))
    for name in ("annotate at 150/s offered: next", "annotate at 150/s offered: submit"):
        assert rows[name].status == FAILED
        assert rows[name].value == "exit 1: lost 2 judgments"
    assert rows["batch import"].status == PASS
    assert rows["full export"].status == PASS


def test_a_missing_or_malformed_result_is_a_failed_row_not_a_crash() -> None:
    results = copy.deepcopy(RESULTS)
    del results["prompt_cleaning"]
    del results["export_scale"]["median_peak_rss_mib"]
    rows = by_name(build_rows(results, {}))
    assert rows["prompt cleaning"].status == FAILED
    assert rows["prompt cleaning"].value == "not run"
    assert rows["full export"].status == FAILED
    assert "median_peak_rss_mib" in rows["full export"].value


def test_table_text_has_one_aligned_line_per_row() -> None:
    rows = build_rows(RESULTS, {})
    lines = format_table(rows).splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].split()[:4] == ["benchmark", "measured", "target", "result"]
    status_column = lines[0].index("result")
    assert [line[status_column:].split()[0] for line in lines[2:]] == [r.status for r in rows]


@pytest.fixture
def harness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """benchmarks.run writing results and logs under tmp_path."""
    from benchmarks import run

    monkeypatch.setattr(run, "RESULTS", tmp_path)
    monkeypatch.setattr(run, "LOGS", tmp_path / "logs")
    (tmp_path / "logs").mkdir()
    return run


def script_step(harness: Any, tmp_path: Path, body: str) -> Any:
    script = tmp_path / "bench.py"
    script.write_text(body)
    return harness.Step("fake", str(script), "fake", (), ())


def test_run_step_reads_the_fresh_result_never_a_stale_one(harness: Any, tmp_path: Path) -> None:
    (tmp_path / "fake.json").write_text('{"stale": true}')
    step = script_step(harness, tmp_path, "print('measuring')\n")
    result, failure, _ = harness.run_step(step, quick=True, timeout=60)
    assert result is None
    assert failure.startswith("wrote no fake.json")
    assert not (tmp_path / "fake.json").exists()

    body = f"import json, pathlib\npathlib.Path({str(tmp_path)!r}, 'fake.json').write_text("
    body += "json.dumps({'value': 3}))\n"
    step = script_step(harness, tmp_path, body)
    result, failure, _ = harness.run_step(step, quick=False, timeout=60)
    assert (result, failure) == ({"value": 3}, "")


def test_run_step_reports_exit_code_and_last_output_line(harness: Any, tmp_path: Path) -> None:
    step = script_step(harness, tmp_path, "import sys\nprint('seeding')\nsys.exit('no database')\n")
    result, failure, _ = harness.run_step(step, quick=True, timeout=60)
    assert result is None
    assert failure.startswith("exit 1: no database (log: ")
    assert "seeding" in (tmp_path / "logs" / "fake.log").read_text()


def test_run_step_stops_a_benchmark_past_its_timeout(harness: Any, tmp_path: Path) -> None:
    step = script_step(harness, tmp_path, "import time\ntime.sleep(60)\n")
    started = time.perf_counter()
    result, failure, _ = harness.run_step(step, quick=True, timeout=1)
    assert result is None
    assert failure.startswith("timed out after 1 s")
    assert time.perf_counter() - started < 30
