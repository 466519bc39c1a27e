"""Prompt cleaning rules, style classes and safety holds, on real prompts from data/."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from annotation.intake.cleaning.measures import leftover_tags, subject_kept
from annotation.intake.cleaning.rules import (
    REASON_ARTIST,
    REASON_BOOSTER,
    REASON_DUPLICATE,
    REASON_NEGATIVE,
    REASON_PARAMETERS,
    REASON_QUALITY,
    REASON_RENDER,
    REASON_SITE,
    REASON_WEIGHT,
    clean_text,
    tidy,
)
from annotation.intake.cleaning.safety import unsafe_words
from annotation.intake.cleaning.style import classify_style
from annotation.models import Style

DATA = Path(__file__).resolve().parents[3] / "data" / "sd_prompts_1k.jsonl"
PROMPTS = [json.loads(line)["prompt"] for line in DATA.read_text(encoding="utf-8").splitlines()]


def real(fragment: str) -> str:
    """The first real prompt of data/sd_prompts_1k.jsonl containing `fragment`."""
    return next(prompt for prompt in PROMPTS if fragment in prompt)


def reasons(raw: str) -> Counter[str]:
    return Counter(span.reason for span in clean_text(raw).removed)


@pytest.mark.parametrize(
    ("fragment", "cleaned", "reason"),
    [
        ("Bamberg painted", "Bamberg", REASON_ARTIST),
        ("A Landscape by Charles", "A Landscape", REASON_ARTIST),
        (
            "two gnomes standing",
            "two gnomes standing in front of a circular portal, open to a red world. "
            "Detailed digital matte painting",
            REASON_ARTIST,
        ),
        ("glowing jellyfish, highly", "glowing jellyfish", REASON_SITE),
        ("glowing jellyfish, highly", "glowing jellyfish", REASON_QUALITY),
        ("glowing jellyfish, highly", "glowing jellyfish", REASON_BOOSTER),
        ("a metallic crystal creature", "a metallic crystal creature, Y2K", REASON_RENDER),
        (
            "optimus prime destroying",
            "optimus prime destroying a decepticon, very cinematic render with bloom ambient "
            "occlusion strong reflections depth of field fog",
            REASON_WEIGHT,
        ),
        (
            "spaceship hyperdrive speed",
            "a beautiful artwork illustration, spaceship hyperdrive speed, wide angle, "
            "vertical orientation",
            REASON_BOOSTER,
        ),
        ("Jimin's neutral canthal tilt", None, REASON_DUPLICATE),
        (
            "daguerrotype of a corgi",
            "daguerrotype of a corgi astronaut on the moon, vintage",
            REASON_QUALITY,
        ),
    ],
)
def test_each_rule_on_real_prompts(fragment: str, cleaned: str | None, reason: str) -> None:
    raw = real(fragment)
    result = clean_text(raw)
    if cleaned is not None:
        assert result.cleaned == cleaned
    assert reasons(raw)[reason] >= 1


def test_surrounded_by_is_not_an_artist() -> None:
    raw = real("teddybear surrounded by bubbles")
    assert clean_text(raw).cleaned.startswith("teddybear surrounded by bubbles, vector art")


def test_weights_keep_their_words() -> None:
    raw = real("inmates with cow heads")
    weighted = raw.replace("cow heads", "(cow heads:1.3)").replace("jailcell", "((jailcell))")
    result = clean_text(weighted)
    assert result.cleaned == raw
    assert {span.text for span in result.removed} == {"(", ":1.3)", "((", "))"}


def test_generator_parameters_and_negative_prompts() -> None:
    raw = real("inmates with cow heads")
    assert clean_text(raw + " --ar 16:9 --v 5 --q 2").cleaned == raw
    result = clean_text(raw + ". Negative prompt: blurry, lowres, extra fingers")
    assert result.cleaned == raw + "."
    assert [span.reason for span in result.removed] == [REASON_NEGATIVE]
    assert clean_text(raw + " --no text, watermark").cleaned == raw
    steps = clean_text(raw + ", Steps: 20, Sampler: Euler a, CFG scale: 7")
    assert steps.cleaned == raw
    assert reasons(raw + ", Steps: 20, Sampler: Euler a")[REASON_PARAMETERS] == 1


def test_stray_punctuation_and_dangling_connectors() -> None:
    assert tidy("  a fox ,  , in snow ,, ") == "a fox, in snow"
    assert tidy("a fox, and, a hare and") == "a fox, a hare"
    assert tidy("close up. . . .") == "close up."
    assert clean_text("  a  fox\tin   snow ").cleaned == "a fox in snow"


def test_spans_point_into_the_raw_prompt() -> None:
    for raw in PROMPTS:
        result = clean_text(raw)
        for span in result.removed:
            assert raw[span.start : span.end] == span.text
        starts = [span.start for span in result.removed]
        assert starts == sorted(starts)
        removed: set[int] = set()
        for span in result.removed:
            positions = set(range(span.start, span.end))
            assert not positions & removed, raw
            removed |= positions
        kept = "".join(char for i, char in enumerate(raw) if i not in removed)
        if result.removed:
            assert tidy(kept) == result.cleaned


def test_the_whole_file_is_clean_idempotent_and_keeps_subjects() -> None:
    cleaned = [clean_text(raw).cleaned for raw in PROMPTS]
    with_tags = [c for c in cleaned if leftover_tags(c)]
    assert len(with_tags) / len(PROMPTS) < 0.02, with_tags[:5]
    lost = [(raw, c) for raw, c in zip(PROMPTS, cleaned, strict=True) if not subject_kept(raw, c)]
    assert lost == []
    assert [c for c in cleaned if clean_text(c).cleaned != c] == []
    assert all(c for raw, c in zip(PROMPTS, cleaned, strict=True) if raw.strip())


def test_a_prompt_of_tags_only_is_kept_rather_than_emptied() -> None:
    assert (
        clean_text("4k, artstation, highly detailed").cleaned == "4k, artstation, highly detailed"
    )
    assert clean_text(real("🐴")).cleaned == real("🐴")


@pytest.mark.parametrize(
    ("fragment", "style"),
    [
        ("Bamberg painted by Monet", Style.PAINTINGS),
        ("portrait photo of Obama", Style.PHOTO),
        ("daguerrotype of a corgi", Style.PHOTO),
        ("portrait of an anime girl", Style.ANIME),
        ("glowing jellyfish, highly", Style.CONCEPT_ART),
        ("inmates with cow heads", Style.OTHERS),
    ],
)
def test_style_classes_from_the_raw_prompt(fragment: str, style: str) -> None:
    assert classify_style(real(fragment)) == style


def test_every_class_occurs_in_the_real_prompts() -> None:
    styles = Counter(classify_style(raw) for raw in PROMPTS)
    assert set(styles) == {
        Style.PAINTINGS, Style.ANIME, Style.PHOTO, Style.CONCEPT_ART, Style.OTHERS,
    }  # fmt: skip


def test_safety_word_list(settings: object) -> None:
    assert unsafe_words(real("Al Gore dancing")) == ["Gore"]  # a false positive an admin clears
    assert unsafe_words(real("inmates with cow heads")) == []
    settings.PROMPT_SAFETY_EXTRA_WORDS = ["jailcell"]  # type: ignore[attr-defined]
    assert unsafe_words(real("inmates with cow heads")) == ["jailcell"]
