"""DATASHEET.md: what a snapshot holds, how it was filtered, and how far to trust it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotation.export.params import ExportParams

REASONS = {
    "calibration": "calibration judgments (always left out)",
    "excluded_annotator": "judgments of excluded annotators (always left out)",
    "repeat_task": "judgments of repeat items (always left out)",
    "split": "judgments of the split not exported",
    "batch": "judgments of batches not selected",
    "date_range": "judgments outside the date range",
    "flagged_annotator": "judgments of annotators with quality flags",
    "gold_task": "judgments of gold tasks",
    "min_annotators": "judgments of test groups with too few annotators",
}


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def render_datasheet(
    project_slug: str,
    params: ExportParams,
    counts: Mapping[str, Any],
    agreement: Mapping[str, Any] | None,
    mean_scores: Mapping[str, float] | None,
) -> str:
    """The datasheet text. Deterministic: the same inputs give the same bytes."""
    lines = [
        f"# Datasheet: project `{project_slug}`",
        "",
        "Human preference rankings of AI-generated images, collected on the HPD annotation "
        "platform following the HPD v2 guidelines. `train.json`, `test.json`, `train/` and "
        "`test/` follow the HPD v2 release layout; `annotations.jsonl` has one line per "
        "judgment and `pairs.parquet` one row per derived (winner, loser) pair. Annotators "
        "appear under pseudonyms salted per snapshot (`user_hash` in `test.json` keeps the "
        "identifier of annotators imported from a released dataset).",
        "",
        "## Parameters",
        "",
        "```json",
        params.canonical(),
        "```",
        "",
        "## Contents",
        "",
        "| split | tasks | judgments | pairs | prompts | images |",
        "|---|---|---|---|---|---|",
    ]
    for split, row in sorted(counts["splits"].items()):
        lines.append(
            f"| {split} | {row['tasks']} | {row['judgments']} | {row['pairs']} | "
            f"{row['prompts']} | {row['images']} |"
        )
    lines += ["", "### Prompts per style", "", "| split | style | prompts |", "|---|---|---|"]
    for split, styles in sorted(counts["styles"].items()):
        for style, number in sorted(styles.items()):
            lines.append(f"| {split} | {style or 'not classified'} | {number} |")
    lines += [
        "",
        "### Images per generator",
        "",
        "| split | generator | images |",
        "|---|---|---|",
    ]
    for split, generators in sorted(counts["generators"].items()):
        for generator, number in sorted(generators.items()):
            lines.append(f"| {split} | {generator or 'unknown'} | {number} |")
    lines += [
        "",
        "## Filters and what they removed",
        "",
        "Each judgment is counted once, under the first reason that applies.",
        "",
        "| reason | judgments removed |",
        "|---|---|",
    ]
    removed = counts["removed"]
    for reason, label in REASONS.items():
        if reason in removed:
            lines.append(f"| {label} | {removed[reason]} |")
    lines.append(f"| **kept** | {counts['kept_judgments']} |")
    lines += ["", "## Agreement", ""]
    if agreement is None:
        lines.append("Agreement figures: not computed for this snapshot.")
    else:
        lines += [
            "Computed over the project's judgments of the exported split (calibration "
            "judgments, excluded annotators and repeat items left out, as in every "
            "statistic); the export's optional filters do not apply to these figures.",
            "",
            "| measure | value |",
            "|---|---|",
            f"| pairwise agreement | {_number(agreement.get('pairwise_agreement'))} |",
            f"| Krippendorff's alpha (ordinal) | {_number(agreement.get('krippendorff_alpha'))} |",
            f"| mean Kendall's W | {_number(agreement.get('kendall_w_mean'))} |",
            f"| annotators | {len(agreement.get('annotators') or [])} |",
        ]
    lines += ["", "## Human ceiling", ""]
    ceiling = agreement.get("human_ceiling") if agreement is not None else None
    if ceiling is None:
        lines.append("Human ceiling: not computed for this snapshot.")
    else:
        lines.append(
            f"One annotator's ranking scored against the mean rank of the others "
            f'(inversion score, as HPD v2\'s "single human"): {_number(ceiling)}.'
        )
    lines += ["", "## Mean HPS score per generator", ""]
    if not mean_scores:
        lines.append("Model scores: not computed for this snapshot.")
    else:
        lines += ["| generator | mean score |", "|---|---|"]
        for generator, score in sorted(mean_scores.items()):
            lines.append(f"| {generator} | {score:.4f} |")
    lines += [
        "",
        "## Integrity",
        "",
        "`manifest.json` lists every other file with its size and sha256; the snapshot's "
        "checksum is the sha256 of `manifest.json`. The same parameters on unchanged data "
        "give byte-identical files.",
        "",
    ]
    return "\n".join(lines)
