"""The harness's table: one row per measured figure, with its target, pass/miss and anchor.

Pure functions over the result dicts the benchmarks write to benchmarks/results/ (no
Django, no services), so the table can be built and checked from given results.
`build_rows(results, failures)` takes {result name: result dict} for the benchmarks that
ran and {step name: error} for those that failed to run or wrote no result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

PASS = "pass"
MISS = "miss"
FAILED = "FAILED"

# Label Studio 1.23.2 (20 clients) and the official HPS v2 call pattern on this CPU.
ANCHOR_LS_THROUGHPUT = "Label Studio 1.23.2: 12.6 annotations/s with 20 clients, p99 2.1 s"
ANCHOR_LS_NEXT = "Label Studio 1.23.2: next task 2.1 s p50"
ANCHOR_LS_SUBMIT = "Label Studio 1.23.2: p99 2.1 s"
ANCHOR_LS_EXPORT = "Label Studio 1.23.2: 50,000-task export about 5 min"
ANCHOR_OFFICIAL = "official HPS v2 call pattern 0.92 s/image, batched 0.13 s/image"


@dataclass(frozen=True)
class Row:
    name: str
    value: str
    target: str
    status: str  # PASS, MISS or FAILED
    anchor: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class RowSpec:
    """One table row: which result it reads, its target and how it is judged."""

    name: str
    result: str  # the result file's name (benchmarks/results/<result>.json)
    target: str
    judge: Callable[[Mapping[str, Any]], tuple[str, bool]]  # -> (value text, target met)
    anchor: str = ""


def _import(result: Mapping[str, Any]) -> tuple[str, bool]:
    rates = result["median_images_per_s"]
    slowest = min(rates.values())
    text = ", ".join(f"{kind} {rate:,.0f}" for kind, rate in rates.items())
    return f"{text} images/s ({result['images']:,} images)", slowest >= 1000


def _load_fast(result: Mapping[str, Any]) -> tuple[str, bool]:
    text = (
        f"{result['judgments_per_s']:,.1f} judgments/s, {result['annotators']} annotators, "
        f"{result['errors']} errors"
    )
    return text, result["judgments_per_s"] >= 150 and result["errors"] == 0


def _load_call(call: str) -> Callable[[Mapping[str, Any]], tuple[str, bool]]:
    def judge(result: Mapping[str, Any]) -> tuple[str, bool]:
        p50, p99 = result[f"{call}_p50_ms"], result[f"{call}_p99_ms"]
        text = (
            f"p50 {p50:,.1f} ms, p99 {p99:,.1f} ms "
            f"({result['judgments_per_s']:,.1f} judgments/s served, {result['errors']} errors)"
        )
        return text, p99 < 150 and result["errors"] == 0

    return judge


def _export(result: Mapping[str, Any]) -> tuple[str, bool]:
    seconds, rss = result["median_seconds"], result["median_peak_rss_mib"]
    pairs = result.get("rows", {}).get("pairs")
    size = f", {pairs:,} pair rows" if isinstance(pairs, int) else ""
    text = f"{seconds:,.2f} s, peak RSS {rss:,.0f} MiB (scale {result['scale']:g}{size})"
    return text, seconds < 30 and rss < 1024


def _agreement(result: Mapping[str, Any]) -> tuple[str, bool]:
    seconds = result["full_recompute_seconds_median"]
    return f"{seconds:,.2f} s ({result['pair_rows']:,} pair rows)", seconds < 10


def _cleaning(result: Mapping[str, Any]) -> tuple[str, bool]:
    rate = result["prompts_per_second_cpu_median"]
    return f"{rate:,.0f} prompts/s (one core, CPU time)", rate >= 20_000


def _scoring(section: str, target: float) -> Callable[[Mapping[str, Any]], tuple[str, bool]]:
    def judge(result: Mapping[str, Any]) -> tuple[str, bool]:
        figures = result[section]
        ratio = figures["ratio"]
        text = (
            f"{ratio:.1f}x: ours {figures['ours_images_per_s']:.2f} vs official "
            f"{figures['official_images_per_s']:.2f} images/s"
        )
        paired = figures.get("paired_ratio_median")
        if isinstance(paired, int | float):
            text += f" (median of turns {paired:.1f}x)"
        return text, ratio >= target

    return judge


SPECS: tuple[RowSpec, ...] = (
    RowSpec("batch import", "import_throughput", ">= 1,000 images/s", _import),
    RowSpec(
        "annotate, as fast as possible",
        "annotate_load",
        ">= 150 judgments/s, no errors",
        _load_fast,
        ANCHOR_LS_THROUGHPUT,
    ),
    RowSpec(
        "annotate at 150/s offered: next",
        "annotate_load_rate150",
        "p99 < 150 ms",
        _load_call("next"),
        ANCHOR_LS_NEXT,
    ),
    RowSpec(
        "annotate at 150/s offered: submit",
        "annotate_load_rate150",
        "p99 < 150 ms",
        _load_call("submit"),
        ANCHOR_LS_SUBMIT,
    ),
    RowSpec("full export", "export_scale", "< 30 s and < 1,024 MiB", _export, ANCHOR_LS_EXPORT),
    RowSpec("agreement recompute", "agreement_scale", "< 10 s", _agreement),
    RowSpec("prompt cleaning", "prompt_cleaning", ">= 20,000 prompts/s", _cleaning),
    RowSpec(
        "CPU scoring, in process",
        "scoring_cpu",
        ">= 5x official",
        _scoring("in_process", 5.0),
        ANCHOR_OFFICIAL,
    ),
    RowSpec(
        "CPU scoring, whole command",
        "scoring_cpu",
        ">= 4x official",
        _scoring("whole_command", 4.0),
        ANCHOR_OFFICIAL,
    ),
)


def build_rows(
    results: Mapping[str, Mapping[str, Any]],
    failures: Mapping[str, str],
    specs: tuple[RowSpec, ...] = SPECS,
) -> list[Row]:
    """One row per spec; a FAILED row (with the reason) where its result is missing or bad.

    `failures` maps a result name to why it is missing (the step's error); a result that
    is absent without a recorded failure is reported as "not run".
    """
    rows = []
    for spec in specs:
        result = results.get(spec.result)
        if result is None:
            reason = failures.get(spec.result, "not run")
            rows.append(Row(spec.name, reason, spec.target, FAILED, spec.anchor))
            continue
        try:
            value, met = spec.judge(result)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
            value = f"unreadable result {spec.result}.json: {type(error).__name__}: {error}"
            rows.append(Row(spec.name, value, spec.target, FAILED, spec.anchor))
            continue
        rows.append(Row(spec.name, value, spec.target, PASS if met else MISS, spec.anchor))
    return rows


def format_table(rows: list[Row]) -> str:
    """A plain-text table with aligned columns, one line per row."""
    header = Row("benchmark", "measured", "target", "result", "anchor")
    lines = [header, *rows]
    widths = [
        max(len(getattr(row, field)) for row in lines)
        for field in ("name", "value", "target", "status")
    ]

    def line(row: Row) -> str:
        cells = [row.name, row.value, row.target, row.status]
        text = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return f"{text}  {row.anchor}".rstrip()

    rule = "  ".join("-" * width for width in widths) + "  " + "-" * 6
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
