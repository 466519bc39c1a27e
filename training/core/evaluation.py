"""HPD v2 test ranking accuracy of a model: each group scored in batches, prompt encoded once.

The score is the official raw cosine (scoring.core.Scorer); the accuracy is
scoring.core.metrics.ranking_accuracy (the release's inversion score).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import torch

from scoring.core import BrokenImageError, HpsModel, Scorer, load_model
from scoring.core.evaluation_stats import EvaluationReport, ScoredGroup, evaluate_groups
from scoring.core.metrics import ranking_accuracy
from training.core.data import RankedGroup, read_image_generators, read_test_groups
from training.core.errors import TrainingConfigError, TrainingDataError


def ranking_accuracy_of(
    hps: HpsModel, groups: Sequence[RankedGroup], source: Path, *, batch_size: int = 64
) -> float:
    """Mean inversion score over the groups; the network must be in eval mode."""
    scorer = Scorer(hps, batch_size=batch_size, channels_last=False)
    try:
        results = scorer.score_groups([(group.prompt, list(group.images)) for group in groups])
    except BrokenImageError as exc:
        raise TrainingDataError(
            f"{exc.name}: cannot be decoded ({exc.reason}); fix or replace the file, "
            f"or remove its group from {source}"
        ) from exc
    scored = [
        ([float(score) for score in result.scores if score is not None], group.ranks)
        for result, group in zip(results, groups, strict=True)
    ]
    return ranking_accuracy(scored)


def evaluate_ranking_accuracy(
    model: str,
    checkpoint: Path | None,
    test_json: Path,
    *,
    pretrained: str | None = None,
    allow_random_init: bool = False,
    device: str | None = None,
    batch_size: int = 64,
) -> float:
    """HPD v2 test ranking accuracy of the given weights (checkpoint, pretrained tag, or
    random weights when allowed). Raises TrainingDataError on bad test data and
    scoring.errors.ModelLoadError when the weights cannot be loaded."""
    if checkpoint is None and pretrained is None and not allow_random_init:
        raise TrainingConfigError(
            "no weights to evaluate: give a checkpoint or a pretrained tag "
            "(random weights only with allow_random_init)"
        )
    test_json = Path(test_json)
    groups = read_test_groups(test_json)
    chosen = device or ("cuda" if torch.cuda.is_available() else "cpu")
    hps = load_model(
        model,
        checkpoint,
        pretrained=pretrained,
        random_weights=checkpoint is None and pretrained is None,
        device=chosen,
    )
    return ranking_accuracy_of(hps, groups, test_json, batch_size=batch_size)


def generator_report(
    hps: HpsModel,
    test_json: Path,
    held_out: Collection[str] = (),
    *,
    batch_size: int = 64,
    resamples: int = 1000,
) -> EvaluationReport | None:
    """Accuracy per generator (and on seen vs held-out generators when `held_out` names
    the generators kept out of training), from scoring.core.evaluation_stats; the test
    images' generators come from the export's pairs.parquet beside test.json
    (read_image_generators). None when test.json has no such file beside it."""
    test_json = Path(test_json)
    groups = read_test_groups(test_json)
    try:
        generators = read_image_generators(test_json)
    except TrainingDataError:
        return None
    unknown = [path for group in groups for path in group.images if path not in generators]
    if unknown:
        raise TrainingDataError(
            f"{unknown[0]}: no generator known for this test image ({len(unknown)} are not "
            f"in the pairs.parquet beside {test_json}); re-export the dataset"
        )
    scorer = Scorer(hps, batch_size=batch_size, channels_last=False)
    try:
        results = scorer.score_groups([(group.prompt, list(group.images)) for group in groups])
    except BrokenImageError as exc:
        raise TrainingDataError(
            f"{exc.name}: cannot be decoded ({exc.reason}); fix or replace the file, "
            f"or remove its group from {test_json}"
        ) from exc
    scored = [
        ScoredGroup(
            scores=[float(score) for score in result.scores if score is not None],
            ranks=group.ranks,
            generators=[generators[path] for path in group.images],
        )
        for result, group in zip(results, groups, strict=True)
    ]
    known = {name for group in scored for name in group.generators or ()}
    return evaluate_groups(scored, resamples=resamples, held_out=frozenset(held_out) & known)
