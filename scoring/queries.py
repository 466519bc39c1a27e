"""Read-only questions about scores; no torch import, so pages can ask them cheaply."""

from __future__ import annotations

from django.db.models import Avg

from annotation.models import Project
from scoring.models import ImageScore, ModelVersion

# The version `manage.py demo` registers (annotation/demo/model.py): a tiny open_clip
# config with random start weights, so a demo training cycle runs on a CPU. The pages
# name it with DEMO_MODEL_LABEL wherever it, or a version trained from it, is shown.
DEMO_MODEL_NAME = "demo-model-random-start"
DEMO_MODEL_LABEL = "demo model, random start weights"


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()


def demo_model_version() -> ModelVersion | None:
    """The demo's random-start version when the demo registered one."""
    return ModelVersion.objects.filter(name=DEMO_MODEL_NAME).first()


def mean_score_by_generator(project: Project) -> dict[str, float]:
    """Mean active-model score per generator over the project's images in circulation
    (not withdrawn); {} when no version is active or nothing is scored yet. Generators
    left blank at import appear under ""."""
    version = active_model_version()
    if version is None:
        return {}
    rows = (
        ImageScore.objects.filter(
            model_version=version, image__project=project, image__is_withdrawn=False
        )
        .values("image__generator")
        .annotate(mean=Avg("score"))
        .order_by("image__generator")
    )
    return {row["image__generator"]: float(row["mean"]) for row in rows}


def image_scores(project: Project) -> list[tuple[str, str, int, float]]:
    """(generator, prompt style, prompt id, score) of every image in circulation scored by
    the active model version, the images `mean_score_by_generator` averages; [] when no
    version is active. For intervals resampled by prompt (annotation/leaderboard/)."""
    version = active_model_version()
    if version is None:
        return []
    return list(
        ImageScore.objects.filter(
            model_version=version, image__project=project, image__is_withdrawn=False
        )
        .order_by("image_id")
        .values_list("image__generator", "image__prompt__style", "image__prompt_id", "score")
    )
