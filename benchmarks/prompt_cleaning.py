"""Prompt cleaning quality and speed on real Stable Diffusion prompts (data/sd_prompts_1k.jsonl).

Reports: share of cleaned prompts still holding a quality tag, site name or resolution tag
(target < 2%), share left empty or without their subject (target 0), idempotence (target
100%), the style class distribution, and prompts/s of the deterministic cleaner on one
core (target >= 20,000/s; the median of several timed passes over the file, CPU time).

    .venv/bin/python scripts/stack.py exec -- python benchmarks/prompt_cleaning.py
Writes benchmarks/results/prompt_cleaning.json.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from common import ROOT, median, setup_django, write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", default=str(ROOT / "data" / "sd_prompts_1k.jsonl"))
    parser.add_argument("--repeats", type=int, default=7, help="Timed passes over the file.")
    args = parser.parse_args()
    setup_django()
    from annotation.intake.cleaning.measures import leftover_tags, subject_kept
    from annotation.intake.cleaning.rules import clean_text
    from annotation.intake.cleaning.style import classify_style

    with open(args.input, encoding="utf-8") as handle:
        prompts = [json.loads(line)["prompt"] for line in handle if line.strip()]
    cleaned = [clean_text(raw).cleaned for raw in prompts]
    with_tags = [(raw, c, leftover_tags(c)) for raw, c in zip(prompts, cleaned, strict=True)]
    with_tags = [entry for entry in with_tags if entry[2]]
    non_empty = [raw for raw in prompts if raw.strip()]
    lost_subject = [
        (raw, c) for raw, c in zip(prompts, cleaned, strict=True) if not subject_kept(raw, c)
    ]
    empty = [raw for raw, c in zip(prompts, cleaned, strict=True) if raw.strip() and not c]
    stable = sum(clean_text(c).cleaned == c for c in cleaned)
    styles = Counter(str(classify_style(raw)) for raw in prompts)

    rates_cpu, rates_wall = [], []
    for _ in range(args.repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        for raw in prompts:
            clean_text(raw)
        rates_cpu.append(len(prompts) / (time.process_time() - cpu))
        rates_wall.append(len(prompts) / (time.perf_counter() - wall))
    classify_start = time.process_time()
    for raw in prompts:
        classify_style(raw)
    classify_rate = len(prompts) / (time.process_time() - classify_start)

    result = {
        "prompts": len(prompts),
        "empty_raw_prompts": len(prompts) - len(non_empty),
        "share_with_quality_tag_or_site": len(with_tags) / len(prompts),
        "share_empty_or_without_subject": (len(lost_subject) + len(empty)) / len(non_empty),
        "idempotent_share": stable / len(prompts),
        "style_distribution": dict(styles.most_common()),
        "prompts_per_second_cpu_median": median(rates_cpu),
        "prompts_per_second_wall_median": median(rates_wall),
        "style_classifications_per_second_cpu": classify_rate,
        "repeats": args.repeats,
        "examples_with_tags": [{"cleaned": c, "tags": t} for _raw, c, t in with_tags[:10]],
        "examples_without_subject": [{"prompt": r, "cleaned": c} for r, c in lost_subject[:10]],
    }
    path = write_result("prompt_cleaning", result)
    for key, value in result.items():
        if not key.startswith("examples"):
            print(f"{key:40} {value}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
