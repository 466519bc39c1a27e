"""The scorer registry and scoring of stored images. Views, commands and tasks call these.

Scores are raw cosine similarities (scoring/core/scorer.py). Every function that scores
uses the active model version unless one is named; none changes what annotators see.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.judging import refresh_margins
from annotation.models import Image, Prompt
from core.queueing import enqueue
from scoring.errors import BrokenImageError, ModelLoadError
from scoring.models import ImageScore, JobStatus, ModelVersion, ScoreJob, ScoreUpload
from scoring.queries import active_model_version, mean_score_by_generator

if TYPE_CHECKING:  # torch is imported only when something is scored or verified
    from scoring.core import ImageSource, Scorer

logger = logging.getLogger(__name__)

# The Celery task (scoring/tasks.py, `gpu` queue) that runs score_images_for_batch.
SCORE_BATCH_TASK = "scoring.score_batch_images"
# The Celery task (`gpu` queue) that runs run_score_job: POST /api/v1/score/'s scoring.
SCORE_JOB_TASK = "scoring.run_score_job"

__all__ = [
    "NoActiveModel",
    "ScoringError",
    "activate",
    "active_model_version",
    "check_uploads",
    "create_score_job",
    "mean_score_by_generator",
    "queue_job",
    "register_model_version",
    "retire",
    "run_score_job",
    "score_images_for_batch",
    "score_prompt_images",
    "score_stored_images",
    "score_uploaded_bytes",
]


class ScoringError(ValueError):
    """A request the registry or scorer cannot honour; the message says what to do."""


class NoActiveModel(ScoringError):
    def __init__(self) -> None:
        super().__init__(
            "no model version is active; an admin activates one in /manage/models/ "
            "(or name a version explicitly)"
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def register_model_version(
    name: str,
    architecture: str,
    checkpoint_path: str | Path,
    *,
    source: str = "",
    metrics: Mapping[str, Any] | None = None,
    model_config: Mapping[str, Any] | None = None,
    created_by: Any = None,
    verify: bool = True,
) -> ModelVersion:
    """Record a checkpoint as a candidate version, with its sha256.

    With `verify` (the default) the model is loaded once on the CPU, so a checkpoint that
    does not fit its architecture is refused here rather than in a worker. Raises
    ScoringError (nothing is written) on a taken name, a missing file or a bad checkpoint.
    """
    path = Path(checkpoint_path)
    if not name.strip():
        raise ScoringError("a model version needs a name")
    if ModelVersion.objects.filter(name=name).exists():
        raise ScoringError(f"a model version named {name!r} exists already; choose another name")
    if not path.is_file():
        raise ScoringError(f"{path}: checkpoint file not found")
    if verify:
        try:
            from scoring.core import load_model

            load_model(architecture, path, model_config=model_config)
        except ModelLoadError as exc:
            raise ScoringError(str(exc)) from exc
    try:
        with transaction.atomic():
            return ModelVersion.objects.create(
                name=name,
                architecture=architecture,
                model_config=dict(model_config) if model_config is not None else None,
                checkpoint_path=str(path.resolve()),
                checkpoint_sha256=file_sha256(path),
                source=source,
                metrics=dict(metrics or {}),
                created_by=created_by,
            )
    except IntegrityError as exc:
        raise ScoringError(f"a model version named {name!r} exists already") from exc


def activate(version_id: int) -> ModelVersion:
    """Make a version the active one, retiring the previously active version.

    Locks every active row and the version itself (select_for_update) in one
    transaction, so two activations never leave two active versions (the database
    constraint would refuse it anyway). Checks the checkpoint file still has the
    registered sha256. After the commit, scoring of every image without a score from
    this version is queued on the `gpu` queue.
    """
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise ScoringError(f"there is no model version {version_id}")
        if version.status == ModelVersion.Status.ACTIVE:
            return version
        path = Path(version.checkpoint_path)
        if not path.is_file():
            raise ScoringError(
                f"{path}: the checkpoint of {version.name} is gone; restore it first"
            )
        if file_sha256(path) != version.checkpoint_sha256:
            raise ScoringError(
                f"{path}: the checkpoint changed since {version.name} was registered "
                "(sha256 differs); register the new file as a new version"
            )
        now = timezone.now()
        list(ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE))
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(
            status=ModelVersion.Status.RETIRED, retired_at=now
        )
        version.status = ModelVersion.Status.ACTIVE
        version.activated_at = now
        version.retired_at = None
        version.save(update_fields=["status", "activated_at", "retired_at"])
        transaction.on_commit(enqueue_scoring_of_unscored_batches)
    # The serving margins follow the new version: from its scores so far, empty (served
    # after the scored tasks) where an image waits for a score from it.
    refresh_margins(version.pk)
    return version


def retire(version_id: int) -> ModelVersion:
    """Retire a version (locks its row). Retiring the active one leaves none active:
    new images then wait unscored until another is activated. Its scores are kept."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None:
            raise ScoringError(f"there is no model version {version_id}")
        was_active = version.status == ModelVersion.Status.ACTIVE
        if version.status != ModelVersion.Status.RETIRED:
            version.status = ModelVersion.Status.RETIRED
            version.retired_at = timezone.now()
            version.save(update_fields=["status", "retired_at"])
    if was_active:
        refresh_margins(None)  # no active scorer: no margins, every task served as fifo
    return version


def model_version_named(name: str | None) -> ModelVersion:
    """The named version (any status), or the active one when `name` is None."""
    if name is None:
        version = active_model_version()
        if version is None:
            raise NoActiveModel()
        return version
    version = ModelVersion.objects.filter(name=name).first()
    if version is None:
        raise ScoringError(
            f"there is no model version named {name!r}; GET /api/v1/models/ lists them"
        )
    return version


def _scorer(version: ModelVersion) -> Scorer:
    from scoring.runtime import scorer_for

    try:
        return scorer_for(version)
    except ModelLoadError as exc:
        raise ScoringError(f"model version {version.name} cannot be loaded: {exc}") from exc


@dataclass(frozen=True)
class StoredScores:
    version: str
    scored: int
    skipped: list[str]


def _score_and_store(version: ModelVersion, images: Sequence[Image]) -> StoredScores:
    """Score stored images with `version` and insert their ImageScore rows.

    Idempotent: images already scored by this version are not scored again, and the
    insert ignores a row another worker stored meanwhile. An image whose file cannot be
    decoded is skipped and logged with its name (it was valid at import; a missing file
    is a storage problem to fix, not a score to invent).
    """
    done = set(
        ImageScore.objects.filter(model_version=version, image__in=images).values_list(
            "image_id", flat=True
        )
    )
    todo = [image for image in images if image.pk not in done]
    if not todo:
        _refresh_margins_if_active(version, images)
        return StoredScores(version.name, 0, [])
    by_prompt: dict[int, list[Image]] = {}
    for image in todo:
        by_prompt.setdefault(image.prompt_id, []).append(image)
    prompts = {p.pk: p for p in Prompt.objects.filter(pk__in=by_prompt)}
    groups: list[tuple[str, Sequence[ImageSource]]] = [
        (
            prompts[prompt_id].cleaned_text or prompts[prompt_id].raw_text,
            [Path(settings.MEDIA_ROOT) / image.file for image in group],
        )
        for prompt_id, group in by_prompt.items()
    ]
    scorer = _scorer(version)
    results = scorer.score_groups(groups, skip_broken=True)
    rows: list[ImageScore] = []
    skipped: list[str] = []
    for group, result in zip(by_prompt.values(), results, strict=True):
        for image, score in zip(group, result.scores, strict=True):
            if score is None:
                continue
            rows.append(
                ImageScore(
                    image=image,
                    model_version=version,
                    score=score,
                    precision=scorer.precision,
                    antialias=scorer.antialias,
                )
            )
        for broken in result.broken:
            skipped.append(f"{group[broken.index].file}: {broken.reason}")
    ImageScore.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    _refresh_margins_if_active(version, images)
    for line in skipped:
        logger.warning("image not scored with %s: %s", version.name, line)
    return StoredScores(version.name, len(rows), skipped)


def _refresh_margins_if_active(version: ModelVersion, images: Sequence[Image]) -> None:
    """The serving margins of the images' tasks (annotation/judging/serving.py) follow
    the active version's scores; another version's scores leave them as they are."""
    status = ModelVersion.objects.filter(pk=version.pk).values_list("status", flat=True).first()
    if status == ModelVersion.Status.ACTIVE:
        refresh_margins(version.pk, image_ids=[image.pk for image in images])


def score_images_for_batch(batch_id: int, version_name: str | None = None) -> StoredScores | None:
    """Score a batch's images with the active (or named) version; None if none is active.

    Holds no lock while scoring (it can take minutes); see _score_and_store for what
    makes it idempotent.
    """
    try:
        version = model_version_named(version_name)
    except NoActiveModel:
        return None
    images = list(Image.objects.filter(prompt__batch_id=batch_id).order_by("pk"))
    return _score_and_store(version, images)


def score_prompt_images(prompt_id: int, version_name: str | None = None) -> dict[int, float]:
    """Scores of one prompt's images ({image id: score}), computing missing ones."""
    version = model_version_named(version_name)
    images = list(Image.objects.filter(prompt_id=prompt_id).order_by("pk"))
    _score_and_store(version, images)
    return dict(
        ImageScore.objects.filter(model_version=version, image__in=images).values_list(
            "image_id", "score"
        )
    )


def score_stored_images(
    image_ids: Sequence[int], version: ModelVersion, prompt: str | None = None
) -> dict[int, float]:
    """Scores of stored images: against their own prompts (stored and reused), or
    against `prompt` (computed, not stored). Raises ScoringError naming unknown ids."""
    images = list(Image.objects.filter(pk__in=image_ids))
    missing = sorted(set(image_ids) - {image.pk for image in images})
    if missing:
        raise ScoringError(f"no image with id(s) {', '.join(map(str, missing))}")
    if prompt is None:
        _score_and_store(version, images)
        return dict(
            ImageScore.objects.filter(model_version=version, image__in=images).values_list(
                "image_id", "score"
            )
        )
    files = [Path(settings.MEDIA_ROOT) / image.file for image in images]
    try:
        result = _scorer(version).score(prompt, files)
    except BrokenImageError as exc:
        raise ScoringError(str(exc)) from exc
    scores = [score for score in result.scores if score is not None]
    return dict(zip([image.pk for image in images], scores, strict=True))


def _opened_upload(name: str, content: bytes) -> Any:
    import io

    from PIL import Image as PILImage

    try:
        return PILImage.open(io.BytesIO(content))
    except (OSError, ValueError, PILImage.DecompressionBombError) as exc:
        raise ScoringError(
            f"{name}: is not an image we can decode ({exc}); send a PNG, JPEG or WebP"
        ) from exc


def check_uploads(uploads: Sequence[tuple[str, bytes]]) -> None:
    """Decode every uploaded file in full (PIL only, no model): raises ScoringError
    naming the first one that cannot be, so a request is refused before it is queued."""
    from PIL import Image as PILImage

    for name, content in uploads:
        image = _opened_upload(name, content)
        try:
            image.load()
        except (OSError, ValueError, PILImage.DecompressionBombError) as exc:
            raise ScoringError(str(BrokenImageError(name, str(exc)))) from exc


def queue_job(task_name: str, job: Any) -> None:
    """Queue a job row's task (after its commit); when the broker is unreachable the job
    fails saying so, rather than waiting for a worker that never hears of it."""
    if not enqueue(task_name, job.pk):
        type(job).objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED,
            error="the gpu queue could not be reached; send the request again later",
            finished_at=timezone.now(),
        )


def start_job(model: Any, job_id: int) -> Any:
    """Lock a queued (or redelivered running) job row of `model` (ScoreJob, BenchmarkJob)
    and mark it running, with its start time where it has one; None for a finished or
    unknown job, which is left as it is."""
    with transaction.atomic():
        job = (
            model.objects.select_for_update()
            .filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            .select_related("model_version")
            .first()
        )
        if job is None:
            return None
        job.status = JobStatus.RUNNING
        fields = ["status"]
        if hasattr(job, "started_at"):
            job.started_at = timezone.now()
            fields.append("started_at")
        job.save(update_fields=fields)
    return job


def create_score_job(
    version: ModelVersion,
    *,
    prompt: str = "",
    uploads: Sequence[tuple[str, bytes]] = (),
    image_ids: Sequence[int] = (),
    created_by: Any = None,
) -> ScoreJob:
    """Record a score request (its files in ScoreUpload rows) and queue it on the `gpu`
    queue after the commit: the web process never loads a model. Files are decoded and
    image ids checked first; raises ScoringError (nothing is recorded)."""
    check_uploads(uploads)
    if image_ids:
        found = set(Image.objects.filter(pk__in=image_ids).values_list("pk", flat=True))
        missing = sorted(set(image_ids) - found)
        if missing:
            raise ScoringError(f"no image with id(s) {', '.join(map(str, missing))}")
    with transaction.atomic():
        job = ScoreJob.objects.create(
            model_version=version,
            prompt=prompt,
            image_ids=list(image_ids),
            created_by=created_by,
        )
        ScoreUpload.objects.bulk_create(
            ScoreUpload(job=job, position=index, name=name, content=content)
            for index, (name, content) in enumerate(uploads)
        )
        transaction.on_commit(lambda: queue_job(SCORE_JOB_TASK, job))
    job.refresh_from_db()  # outside a wider transaction the job is queued (or failed) by now
    return job


def run_score_job(job_id: int) -> ScoreJob | None:
    """Score a queued (or redelivered running) job with its model version and record the
    response body, or the reason it failed; its uploaded files are then deleted (uploads
    are scored, not kept). A finished job is left as it is."""
    job: ScoreJob | None = start_job(ScoreJob, job_id)
    if job is None:
        return None
    version = job.model_version
    try:
        uploads = [(u.name, bytes(u.content)) for u in job.uploads.order_by("position")]
        if uploads:
            values = score_uploaded_bytes(job.prompt, uploads, version)
            scores = [
                {"image": name, "score": value}
                for (name, _), value in zip(uploads, values, strict=True)
            ]
        else:
            by_id = score_stored_images(job.image_ids, version, job.prompt or None)
            scores = [{"image": str(pk), "score": by_id[pk]} for pk in job.image_ids]
    except ScoringError as exc:
        job.status, job.error = JobStatus.FAILED, str(exc)
    else:
        job.status, job.result = JobStatus.DONE, {"model_version": version.name, "scores": scores}
    job.finished_at = timezone.now()
    with transaction.atomic():
        job.save(update_fields=["status", "error", "result", "finished_at"])
        job.uploads.all().delete()
    return job


def score_uploaded_bytes(
    prompt: str, uploads: Sequence[tuple[str, bytes]], version: ModelVersion
) -> list[float]:
    """Scores of image files sent with a request, as (name, bytes); nothing is stored.
    Raises ScoringError naming the first file that cannot be decoded."""
    images: list[ImageSource] = []
    for name, content in uploads:
        image = _opened_upload(name, content)
        image.filename = name  # named in any later decoding error
        images.append(image)
    try:
        result = _scorer(version).score(prompt, images)
    except BrokenImageError as exc:
        raise ScoringError(str(exc)) from exc
    return [float(score) for score in result.scores if score is not None]


def unscored_batch_ids(version: ModelVersion) -> list[int]:
    """Batches holding at least one image without a score from `version`."""
    from django.db.models import Exists, OuterRef

    from annotation.models import Batch

    unscored = Image.objects.filter(prompt__batch=OuterRef("pk")).exclude(
        scores__model_version=version
    )
    return list(Batch.objects.filter(Exists(unscored)).order_by("pk").values_list("pk", flat=True))


def enqueue_batch_scoring(batch_id: int) -> None:
    """Queue scoring of a batch on the `gpu` queue. A broker outage is logged, never
    raised: the caller's data is committed and activation re-queues what was missed."""
    if not enqueue(SCORE_BATCH_TASK, batch_id):
        logger.info("the scoring of batch %s was not queued: the broker is unreachable", batch_id)


def enqueue_scoring_of_unscored_batches() -> None:
    version = active_model_version()
    if version is None:
        return
    for batch_id in unscored_batch_ids(version):
        enqueue_batch_scoring(batch_id)
