"""The cleaner and the style classifier measured on tests/data/labelled_prompts.jsonl.

The thresholds sit just below the figures reached (docs/prompt_cleaning.md has the table):
a change to the rules or word lists that loses removed words, takes subject words or
misclassifies prompts fails here.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.intake.cleaning.evaluation import (
    LabelsInvalid,
    evaluate_cleaning,
    load_labelled_prompts,
    parse_labelled_prompts,
)
from annotation.intake.cleaning.rules import REASON_CAMERA, clean_text
from annotation.models import Style

LABELS = Path(__file__).resolve().parents[2] / "data" / "labelled_prompts.jsonl"
HELD_OUT = LABELS.with_name("labelled_prompts_heldout.jsonl")
REAL = Path(__file__).resolve().parents[3] / "data" / "sd_prompts_1k.jsonl"
PROMPTS = [json.loads(line)["prompt"] for line in REAL.read_text(encoding="utf-8").splitlines()]
ITEMS = load_labelled_prompts(LABELS)
PRECISION, RECALL, SUBJECT_KEPT, STYLE_ACCURACY = 0.98, 0.84, 0.99, 0.85


def test_the_labelled_set_is_large_enough_and_covers_every_class() -> None:
    assert len(ITEMS) >= 300
    assert len({item.prompt for item in ITEMS}) == len(ITEMS)
    assert {item.style for item in ITEMS} == {
        Style.PAINTINGS, Style.ANIME, Style.PHOTO, Style.CONCEPT_ART, Style.OTHERS
    }  # fmt: skip


def test_figures_on_the_labelled_set_do_not_regress() -> None:
    result = evaluate_cleaning(ITEMS, samples=500)
    assert result.removed_precision.value >= PRECISION
    assert result.removed_recall.value >= RECALL
    assert result.subject_kept.value >= SUBJECT_KEPT
    assert result.style_accuracy.value >= STYLE_ACCURACY
    for estimate in (result.removed_precision, result.removed_recall, result.style_accuracy):
        assert estimate.low < estimate.value < estimate.high
    assert sum(sum(row.values()) for row in result.confusion.values()) == len(ITEMS)


def test_figures_on_the_held_out_prompts_do_not_regress() -> None:
    # Labelled after the rules were last changed, and never used to change them.
    held_out = load_labelled_prompts(HELD_OUT)
    assert not {item.prompt for item in held_out} & {item.prompt for item in ITEMS}
    result = evaluate_cleaning(held_out, samples=200)
    assert result.removed_precision.value >= 0.93
    assert result.removed_recall.value >= 0.81
    assert result.subject_kept.value >= 0.96
    assert result.style_accuracy.value >= 0.78


def test_a_cleaner_that_keeps_camera_terms_fails_the_thresholds() -> None:
    def without_camera_rules(raw: str) -> list:
        return [span for span in clean_text(raw).removed if span.reason != REASON_CAMERA]

    worse = evaluate_cleaning(ITEMS, cleaner=without_camera_rules, samples=100)
    assert worse.removed_recall.value < RECALL
    assert any(miss.text == "35mm" for miss in worse.missed)


def test_a_classifier_that_says_others_fails_the_threshold() -> None:
    worse = evaluate_cleaning(ITEMS, classifier=lambda raw: Style.OTHERS, samples=100)
    assert worse.style_accuracy.value < STYLE_ACCURACY
    assert worse.confusion[Style.PHOTO][Style.OTHERS] == sum(
        item.style == Style.PHOTO for item in ITEMS
    )


@pytest.mark.parametrize(
    ("fragment", "gone", "stays"),
    [
        ("portrait photo of Obama", "30mm", "closeup"),
        ("sigma 85mm f/1.4", "sigma 85mm f/1.4", "cyberpunk"),
        ("Photographed with Leica", "ISO 100", "Hearst Castle as a tiny home"),
        ("photograph of a knight with falcon", "8 5 mm", "falcon armour"),
        ("photograph of a knight with falcon", "dslr", "knight"),
        ("sphinx head in central park", "shot on arri alexa", "flat light"),
        ("beautiful intricately detailed japanese", "intricately detailed", "kitsune mask"),
        ("omin dran skeletal", "greg rutkowski", "in the style of romanticism"),
        ("Keanu reeves Scary", "4K quality", "inspired by the joker"),
        ("1 9 7 0 s bbc stop motion", None, "in the style of 1 9 7 0 s bbc stop motion"),
        ("cuban communist propaganda", "octane render", "in the style of cuban communist"),
    ],
)
def test_camera_terms_boosters_and_style_tails(fragment: str, gone: str | None, stays: str) -> None:
    raw = next(prompt for prompt in PROMPTS if fragment in prompt)
    assert gone is None or gone.lower() in raw.lower()
    cleaned = clean_text(raw).cleaned
    if gone is not None:
        assert gone.lower() not in cleaned.lower()
    assert stays in cleaned


def test_bad_labels_are_listed_line_by_line() -> None:
    text = "\n".join(
        [
            json.dumps({"prompt": "a red fox, 8k", "style": "others", "remove": ["8k"]}),
            "not json",
            json.dumps({"prompt": "a fox", "style": "photo", "remove": []}),
            json.dumps({"prompt": "a fox", "style": "others", "remove": ["by monet"]}),
            json.dumps({"prompt": "a fox", "style": "others", "keep": ["hare"]}),
        ]
    )
    with pytest.raises(LabelsInvalid) as caught:
        parse_labelled_prompts(text, Path("labels.jsonl"))
    problems = caught.value.problems
    assert [problem.split(":")[0] for problem in problems] == [
        "line 2", "line 3", "line 4", "line 5"
    ]  # fmt: skip
    assert "use one of" in problems[1]
    assert "'by monet' does not occur" in problems[2]


def test_the_command_prints_the_table_and_json(tmp_path: Path) -> None:
    out = StringIO()
    call_command("evaluate_cleaning", "--samples", "100", stdout=out)
    assert "| Removed words: precision |" in out.getvalue()
    assert "| real photo |" in out.getvalue()
    out = StringIO()
    call_command("evaluate_cleaning", "--samples", "100", "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["prompts"] == len(ITEMS)
    assert figures["removed_recall"]["value"] >= RECALL
    broken = tmp_path / "labels.jsonl"
    broken.write_text('{"prompt": "a fox", "style": "cats"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 1"):
        call_command("evaluate_cleaning", "--labels", str(broken))
