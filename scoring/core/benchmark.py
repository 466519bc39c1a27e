"""The HPS v2 benchmark on local files: read the release's layout, score, summarise.

Layout, as the release ships it (its evaluation.py reads the same):

    PROMPTS/anime.json  concept-art.json  paintings.json  photo.json   (JSON lists of str)
    IMAGES/anime/00000.jpg 00001.jpg ...   one image per prompt, named by its index

An image may be .jpg, .jpeg, .png or .webp. A missing image is an error naming the file
the benchmark expected, unless `allow_missing`: then it is skipped and listed in
`BenchmarkRun.skipped` with the reason, as is an image that cannot be decoded. The
release drops a missing image from its chunks the same way, printing its prompt.

The figures are scoring/core/benchmark_stats.py's, on 100 x the raw cosine.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scoring.core.benchmark_stats import (
    BENCHMARK_STYLES,
    DEFAULT_RESAMPLES,
    AverageFigure,
    PairedDifference,
    StyleFigure,
    average_figure,
    paired_average_difference,
    paired_difference,
    style_figure,
)
from scoring.core.scorer import Scorer

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# Images scored per call of Scorer.score_groups: bounds the prompts encoded at once.
_SLICE = 256


class BenchmarkLayoutError(ValueError):
    """The prompts or images folder is not laid out as the benchmark needs; the message
    names the file or folder and what to do."""


@dataclass(frozen=True)
class BenchmarkItem:
    """One prompt of one style and its image (None when it is missing)."""

    style: str
    index: int
    prompt: str
    image: Path | None


@dataclass(frozen=True)
class SkippedImage:
    style: str
    index: int
    name: str
    reason: str


@dataclass
class BenchmarkRun:
    """100 x cosine per style and prompt index, and what was skipped."""

    scores: dict[str, dict[int, float]]
    skipped: list[SkippedImage] = field(default_factory=list)

    def images(self) -> int:
        return sum(len(by_index) for by_index in self.scores.values())


@dataclass(frozen=True)
class BenchmarkFigures:
    styles: dict[str, StyleFigure]
    average: AverageFigure

    def as_json(self) -> dict[str, object]:
        return {
            "styles": {style: figure.as_json() for style, figure in self.styles.items()},
            "average": self.average.as_json(),
        }


def read_prompts(prompts_dir: Path, style: str) -> list[str]:
    path = prompts_dir / f"{style}.json"
    if not path.is_file():
        raise BenchmarkLayoutError(
            f"{path}: prompt file not found; --prompts needs the release's "
            f"{', '.join(s + '.json' for s in BENCHMARK_STYLES)}"
        )
    try:
        prompts = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchmarkLayoutError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    if not isinstance(prompts, list) or not prompts:
        raise BenchmarkLayoutError(f"{path}: expected a non-empty JSON list of prompt strings")
    for index, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise BenchmarkLayoutError(
                f"{path}: item {index} is {type(prompt).__name__}, not a prompt string"
            )
    return prompts


def _images_by_index(folder: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.stem.isdigit():
            continue
        index = int(path.stem)
        if index in found:
            raise BenchmarkLayoutError(
                f"{folder}: both {found[index].name} and {path.name} are image {index}; keep one"
            )
        found[index] = path
    return found


def read_layout(prompts_dir: Path, images_dir: Path) -> list[BenchmarkItem]:
    """Every (style, prompt index) of the benchmark with its image, in the release's order
    (styles as BENCHMARK_STYLES, prompts by index)."""
    prompts_dir, images_dir = Path(prompts_dir), Path(images_dir)
    if not images_dir.is_dir():
        raise BenchmarkLayoutError(f"{images_dir}: images folder not found")
    items: list[BenchmarkItem] = []
    for style in BENCHMARK_STYLES:
        prompts = read_prompts(prompts_dir, style)
        folder = images_dir / style
        if not folder.is_dir():
            raise BenchmarkLayoutError(
                f"{folder}: style folder not found; --images needs one folder per style "
                f"({', '.join(BENCHMARK_STYLES)}) with images named 00000.jpg, 00001.jpg, ..."
            )
        images = _images_by_index(folder)
        items.extend(
            BenchmarkItem(style, index, prompt, images.get(index))
            for index, prompt in enumerate(prompts)
        )
    return items


def expected_name(images_dir: Path, item: BenchmarkItem) -> str:
    return str(Path(images_dir) / item.style / f"{item.index:05d}.jpg")


def images_checksum(items: list[BenchmarkItem]) -> str:
    """sha256 over every (style, index, prompt, image bytes' sha256): the same images for
    the same prompts give the same value, wherever the folder is."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.style}\0{item.index}\0{item.prompt}\0".encode())
        if item.image is None:
            digest.update(b"missing\0")
            continue
        file_digest = hashlib.sha256()
        with item.image.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                file_digest.update(block)
        digest.update(file_digest.digest())
    return digest.hexdigest()


def run_benchmark(
    scorer: Scorer,
    items: list[BenchmarkItem],
    images_dir: Path,
    *,
    allow_missing: bool = False,
    progress: Callable[[int], None] | None = None,
) -> BenchmarkRun:
    """Score every item's image for its prompt (100 x cosine).

    Raises BenchmarkLayoutError naming the first missing image, and BrokenImageError
    naming an image that cannot be decoded, unless `allow_missing` (then both are
    skipped and listed)."""
    run = BenchmarkRun(scores={style: {} for style in BENCHMARK_STYLES})
    present = []
    for item in items:
        if item.image is not None:
            present.append(item)
            continue
        name = expected_name(images_dir, item)
        if not allow_missing:
            missing = sum(1 for other in items if other.image is None)
            raise BenchmarkLayoutError(
                f"{name}: image missing (also .jpeg, .png or .webp looked for; "
                f"{missing} missing in all) for prompt {item.index} of {item.style}.json; "
                "add it, or pass --allow-missing to skip and report the missing ones"
            )
        run.skipped.append(SkippedImage(item.style, item.index, name, "missing"))
    for start in range(0, len(present), _SLICE):
        part = present[start : start + _SLICE]
        results = scorer.score_groups(
            [(item.prompt, [item.image]) for item in part if item.image is not None],
            skip_broken=allow_missing,
            progress=progress,
        )
        for item, result in zip(part, results, strict=True):
            (score,) = result.scores
            if score is None:
                (broken,) = result.broken
                run.skipped.append(SkippedImage(item.style, item.index, broken.name, broken.reason))
                if progress is not None:
                    progress(1)
                continue
            run.scores[item.style][item.index] = 100.0 * score
    empty = [style for style, by_index in run.scores.items() if not by_index]
    if empty:
        raise BenchmarkLayoutError(
            f"no image could be scored for {', '.join(empty)}; every figure needs at least one"
        )
    return run


def figures_of(
    run: BenchmarkRun, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> BenchmarkFigures:
    ordered = {
        style: [run.scores[style][index] for index in sorted(run.scores[style])]
        for style in BENCHMARK_STYLES
    }
    return BenchmarkFigures(
        styles={
            style: style_figure(scores, resamples=resamples, seed=seed, what=style)
            for style, scores in ordered.items()
        },
        average=average_figure(ordered, resamples=resamples, seed=seed),
    )


def compare_runs(
    first: BenchmarkRun,
    second: BenchmarkRun,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, PairedDifference]:
    """First minus second per style and on average, on the prompts both scored."""
    aligned: dict[str, tuple[list[float], list[float]]] = {}
    for style in BENCHMARK_STYLES:
        common = sorted(set(first.scores[style]) & set(second.scores[style]))
        if not common:
            raise BenchmarkLayoutError(f"{style}: the two runs share no scored prompt")
        aligned[style] = (
            [first.scores[style][i] for i in common],
            [second.scores[style][i] for i in common],
        )
    result: dict[str, PairedDifference] = {
        style: paired_difference(a, b, resamples=resamples, seed=seed, what=style)
        for style, (a, b) in aligned.items()
    }
    firsts: Mapping[str, list[float]] = {style: pair[0] for style, pair in aligned.items()}
    seconds: Mapping[str, list[float]] = {style: pair[1] for style, pair in aligned.items()}
    result["average"] = paired_average_difference(firsts, seconds, resamples=resamples, seed=seed)
    return result
