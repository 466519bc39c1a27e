"""The cleaner and the style classifier measured against prompts labelled by reading them.

A labelled prompt (one JSON line of tests/data/labelled_prompts.jsonl) gives the raw text,
its style class, the phrases a cleaning should remove and the subject words that must
stay. Scoring is on words (runs of letters and digits, so "8 k" is two words):

- a word is *removed by the cleaner* when one of its removed spans overlaps it, and
  *should be removed* when it lies in an occurrence of a labelled phrase;
- precision and recall on removed words are pooled over all words of all prompts;
- the subject kept rate is the share of labelled subject words with an occurrence the
  cleaner left in place;
- style accuracy is the share of prompts whose class the classifier names.

Every figure carries a 95% percentile bootstrap interval over prompts (the independent
unit: words of one prompt are labelled and cleaned together).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from annotation.intake.cleaning.rules import RemovedSpan, clean_text
from annotation.intake.cleaning.style import classify_style
from annotation.models import Style

STYLE_CLASSES = [Style.PAINTINGS, Style.ANIME, Style.PHOTO, Style.CONCEPT_ART, Style.OTHERS]
_CLASS_VALUES = [str(style) for style in STYLE_CLASSES]
_WORD = re.compile(r"[^\W_]+")
BOOTSTRAP_SAMPLES = 2000


class LabelsInvalid(ValueError):
    """The labelled file has problems; `problems` lists every one with its line."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in {path}; nothing was measured:\n  "
            + "\n  ".join(problems)
        )


@dataclass(frozen=True)
class LabelledPrompt:
    """One prompt as a reader labelled it."""

    prompt: str
    style: str
    remove: tuple[str, ...]
    keep: tuple[str, ...]

    def words(self) -> list[tuple[int, int, str]]:
        """(start, end, lower-case text) of each word of the raw prompt."""
        return [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(self.prompt)]

    def phrase_spans(self, phrase: str) -> list[tuple[int, int]]:
        """Where `phrase` occurs in the prompt: case-insensitive, not inside a word."""
        lowered = phrase.lower()
        pattern = (
            (r"(?<!\w)" if lowered[:1].isalnum() else "")
            + re.escape(lowered)
            + (r"(?!\w)" if lowered[-1:].isalnum() else "")
        )
        return [match.span() for match in re.finditer(pattern, self.prompt.lower())]

    def gold_removed(self) -> set[int]:
        """Indices (into `words()`) of the words the labels say should go."""
        words = self.words()
        spans = [span for phrase in self.remove for span in self.phrase_spans(phrase)]
        return _overlapping(words, spans)


def _overlapping(words: list[tuple[int, int, str]], spans: Iterable[tuple[int, int]]) -> set[int]:
    found: set[int] = set()
    for start, end in spans:
        for index, (word_start, word_end, _text) in enumerate(words):
            if word_start < end and word_end > start:
                found.add(index)
    return found


def parse_labelled_prompts(text: str, path: Path) -> list[LabelledPrompt]:
    """Every labelled prompt of a JSON-lines text, or LabelsInvalid listing every bad line."""
    items: list[LabelledPrompt] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: is not JSON ({exc.msg})")
            continue
        if not isinstance(data, dict):
            problems.append(f'{where}: needs an object {{"prompt", "style", "remove", "keep"}}')
            continue
        prompt, style = data.get("prompt"), data.get("style")
        remove, keep = data.get("remove", []), data.get("keep", [])
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append(f'{where}: needs a non-empty "prompt" string')
            continue
        if style not in _CLASS_VALUES:
            problems.append(f'{where}: "style" is {style!r}; use one of {_CLASS_VALUES}')
            continue
        if not _strings(remove) or not _strings(keep):
            problems.append(f'{where}: "remove" and "keep" must be lists of strings')
            continue
        item = LabelledPrompt(prompt, style, tuple(remove), tuple(keep))
        problems += [
            f"{where}: remove phrase {phrase!r} does not occur in the prompt as written"
            for phrase in item.remove
            if not item.phrase_spans(phrase)
        ]
        words = [text for _s, _e, text in item.words()]
        problems += [
            f"{where}: keep word {word!r} is not a word of the prompt"
            for word in item.keep
            if word.lower() not in words
        ]
        items.append(item)
    if problems:
        raise LabelsInvalid(path, problems)
    if not items:
        raise LabelsInvalid(path, ["the file holds no labelled prompt"])
    return items


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(entry, str) and entry for entry in value)


def load_labelled_prompts(path: Path) -> list[LabelledPrompt]:
    """The labelled prompts of `path` (UTF-8 JSON lines); LabelsInvalid on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelsInvalid(path, ["no such file"]) from None
    except UnicodeDecodeError as exc:
        raise LabelsInvalid(path, [f"is not UTF-8 text ({exc.reason})"]) from None
    return parse_labelled_prompts(text, path)


@dataclass(frozen=True)
class Estimate:
    """A figure with its 95% bootstrap interval over prompts."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Miss:
    """A labelled phrase the cleaner left in (or a word it took that should stay)."""

    prompt: str
    text: str


@dataclass(frozen=True)
class CleaningEvaluation:
    prompts: int
    words: int
    removed_precision: Estimate
    removed_recall: Estimate
    subject_kept: Estimate
    style_accuracy: Estimate
    # confusion[labelled][predicted] = prompts
    confusion: dict[str, dict[str, int]]
    missed: list[Miss] = field(default_factory=list)
    wrongly_removed: list[Miss] = field(default_factory=list)
    bootstrap_samples: int = BOOTSTRAP_SAMPLES

    def as_dict(self) -> dict[str, object]:
        return {
            "prompts": self.prompts,
            "words": self.words,
            "removed_precision": self.removed_precision.as_dict(),
            "removed_recall": self.removed_recall.as_dict(),
            "subject_kept": self.subject_kept.as_dict(),
            "style_accuracy": self.style_accuracy.as_dict(),
            "confusion": self.confusion,
            "bootstrap_samples": self.bootstrap_samples,
        }


Cleaner = Callable[[str], list[RemovedSpan]]


def _rules_spans(raw: str) -> list[RemovedSpan]:
    return clean_text(raw).removed


def evaluate_cleaning(
    items: list[LabelledPrompt],
    *,
    cleaner: Cleaner = _rules_spans,
    classifier: Callable[[str], str] = classify_style,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> CleaningEvaluation:
    """The cleaner's and classifier's figures on `items` (deterministic for a seed)."""
    # Per prompt: true positives, predicted, gold, subject words, kept, style correct.
    counts = np.zeros((len(items), 6), dtype=np.int64)
    confusion = {label: dict.fromkeys(_CLASS_VALUES, 0) for label in _CLASS_VALUES}
    missed: list[Miss] = []
    wrongly: list[Miss] = []
    total_words = 0
    for row, item in enumerate(items):
        words = item.words()
        total_words += len(words)
        gold = item.gold_removed()
        predicted = _overlapping(words, [(span.start, span.end) for span in cleaner(item.prompt)])
        kept_words = {text for index, (_s, _e, text) in enumerate(words) if index not in predicted}
        subject = {word.lower() for word in item.keep}
        predicted_style = str(classifier(item.prompt))
        confusion[item.style][predicted_style] += 1
        counts[row] = (
            len(gold & predicted),
            len(predicted),
            len(gold),
            len(subject),
            len(subject & kept_words),
            predicted_style == item.style,
        )
        missed += [
            Miss(item.prompt, phrase)
            for phrase in item.remove
            if not _overlapping(words, item.phrase_spans(phrase)) <= predicted
        ]
        wrongly += [Miss(item.prompt, word) for word in sorted(subject - kept_words)]
    totals = counts.sum(axis=0)
    resampled = _resampled_totals(counts, samples, seed)
    return CleaningEvaluation(
        prompts=len(items),
        words=total_words,
        removed_precision=_ratio(totals, resampled, 0, 1),
        removed_recall=_ratio(totals, resampled, 0, 2),
        subject_kept=_ratio(totals, resampled, 4, 3),
        style_accuracy=_share(counts[:, 5], resampled[:, 5], len(items)),
        confusion=confusion,
        missed=missed,
        wrongly_removed=wrongly,
        bootstrap_samples=samples,
    )


def _resampled_totals(counts: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """Column totals of `samples` resamplings of the prompts (rows), with replacement."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(counts), size=(samples, len(counts)))
    return counts[picks].sum(axis=1)


def _ratio(totals: np.ndarray, resampled: np.ndarray, top: int, bottom: int) -> Estimate:
    value = float(totals[top] / totals[bottom]) if totals[bottom] else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = resampled[:, top] / resampled[:, bottom]
    ratios = ratios[np.isfinite(ratios)]
    if not len(ratios):
        return Estimate(value, value, value)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return Estimate(value, float(low), float(high))


def _share(hits: np.ndarray, resampled_hits: np.ndarray, count: int) -> Estimate:
    value = float(hits.sum() / count)
    low, high = np.percentile(resampled_hits / count, [2.5, 97.5])
    return Estimate(value, float(low), float(high))


def evaluation_table(result: CleaningEvaluation) -> str:
    """The figures and the confusion matrix as Markdown tables."""

    def figure(name: str, estimate: Estimate) -> str:
        return f"| {name} | {estimate.value:.3f} | {estimate.low:.3f} to {estimate.high:.3f} |"

    lines = [
        f"{result.prompts} labelled prompts, {result.words} words; 95% intervals from "
        f"{result.bootstrap_samples} bootstrap resamplings of the prompts.",
        "",
        "| Figure | Value | 95% interval |",
        "|---|---|---|",
        figure("Removed words: precision", result.removed_precision),
        figure("Removed words: recall", result.removed_recall),
        figure("Subject words kept", result.subject_kept),
        figure("Style class: accuracy", result.style_accuracy),
        "",
        "Style confusion (rows: labelled class; columns: classifier's class):",
        "",
        "| labelled \\ predicted | " + " | ".join(_CLASS_VALUES) + " | total |",
        "|---" * (len(_CLASS_VALUES) + 2) + "|",
    ]
    for label in _CLASS_VALUES:
        row = result.confusion[label]
        cells = " | ".join(str(row[predicted]) for predicted in _CLASS_VALUES)
        lines.append(f"| {label} | {cells} | {sum(row.values())} |")
    return "\n".join(lines)
