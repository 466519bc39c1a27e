"""Gold pairs from degraded copies, and repeat items for self-consistency."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image as PILImage

from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.models import Image, Judgment, ProjectAnnotator, QualitySettings, Task
from annotation.quality.annotator_quality import set_excluded
from annotation.quality.gold import GoldError, make_gold_pairs
from annotation.quality.repeats import schedule_repeat_items
from annotation.tasks import recompute_agreement
from annotation.tasks import schedule_repeat_items as schedule_task
from tests.factories.batches import image_ids, import_ready_batch, media_state, write_batch
from tests.factories.judging import judge
from tests.factories.users import annotators


@pytest.mark.django_db
def test_gold_pairs_pit_each_image_against_a_degraded_copy(
    tmp_path: Path, media_root: Path
) -> None:
    summary = import_batch(write_batch(tmp_path / "b", groups=4), "gold")
    process_batch(summary.batch)
    project = Task.objects.first().project  # type: ignore[union-attr]
    made = make_gold_pairs(project, count=3, seed=1)
    assert len(made) == 3
    for task in Task.objects.filter(pk__in=made):
        original, degraded = image_ids(task)
        assert task.is_gold and task.gold_ranking == [original, degraded]
        copy = Image.objects.get(pk=degraded)
        assert copy.generator in {"degraded:blur", "degraded:noise", "degraded:distort"}
        assert (media_root / copy.file).is_file()
        with PILImage.open(media_root / copy.file) as stored:
            assert stored.size == (copy.width, copy.height)
    degraded_ids = [(t.gold_ranking or [0, 0])[1] for t in Task.objects.filter(pk__in=made)]
    kinds = set(Image.objects.filter(pk__in=degraded_ids).values_list("generator", flat=True))
    assert kinds == {"degraded:blur", "degraded:noise", "degraded:distort"}
    # Originals are never reused; eight images in all, three used: at most five more.
    assert len(make_gold_pairs(project, count=50)) == 5
    assert make_gold_pairs(project, count=5) == []


@pytest.mark.django_db
def test_gold_failures_leave_nothing_behind(tmp_path: Path, media_root: Path) -> None:
    summary = import_batch(write_batch(tmp_path / "b", groups=2), "gold")
    project = Task.objects.first().project  # type: ignore[union-attr]
    before_media, before_tasks = media_state(media_root), Task.objects.count()
    first = Image.objects.order_by("pk").last()
    assert first is not None
    (media_root / first.file).unlink()  # one original lost from storage
    with pytest.raises(GoldError, match="cannot be read"):
        make_gold_pairs(project, count=4, seed=0)
    assert Task.objects.count() == before_tasks
    assert set(media_state(media_root)) <= set(before_media)
    with pytest.raises(GoldError, match="unknown degradation 'melt'"):
        make_gold_pairs(project, count=1, kinds=("melt",))
    with pytest.raises(CommandError, match="unknown degradation"):
        call_command("make_gold_pairs", "--project", "gold", "--kinds", "melt")
    assert summary.batch


@pytest.mark.django_db
def test_repeat_items_for_earlier_judgments(tmp_path: Path) -> None:
    import_ready_batch(write_batch(tmp_path / "b", groups=20), "rep", judgments_per_task=3)
    project = Task.objects.first().project  # type: ignore[union-attr]
    QualitySettings.objects.create(project=project, repeat_rate=0.25, repeat_after_hours=1)
    alice, bob, eve = annotators(3)
    for task in Task.objects.filter(project=project).order_by("pk"):
        for user in (alice, bob, eve):
            judge(task, user, image_ids(task))
    Judgment.objects.filter(annotator=bob).update(created_at=timezone.now() - timedelta(hours=2))
    Judgment.objects.filter(annotator=alice).update(created_at=timezone.now() - timedelta(hours=2))
    set_excluded(project, eve, excluded=True, by=None)
    Judgment.objects.filter(annotator=eve).update(created_at=timezone.now() - timedelta(hours=2))
    later = Task.objects.filter(project=project).order_by("pk").last()
    assert later is not None
    Judgment.objects.filter(annotator=alice, task=later).update(created_at=timezone.now())

    assert schedule_repeat_items(project) == 10  # 5 each for alice and bob, none for eve
    repeats = Task.objects.exclude(repeat_of=None)
    assert {task.repeat_for_id for task in repeats} == {alice.pk, bob.pk}
    for repeat in repeats:
        assert repeat.judgments_wanted == 1
        assert image_ids(repeat) == image_ids(repeat.repeat_of)  # type: ignore[arg-type]
        assert repeat.repeat_of.judgments.filter(annotator_id=repeat.repeat_for_id).exists()  # type: ignore[union-attr]
    assert not repeats.filter(repeat_for=alice, repeat_of=later).exists()
    assert schedule_repeat_items(project) == 0  # idempotent
    assert schedule_task() == 0
    assert ProjectAnnotator.objects.get(annotator=eve).is_excluded


@pytest.mark.django_db
def test_periodic_recompute_sets_flags(tmp_path: Path) -> None:
    import_ready_batch(write_batch(tmp_path / "b", groups=3), "flags", judgments_per_task=2)
    project = Task.objects.first().project  # type: ignore[union-attr]
    QualitySettings.objects.create(project=project, min_judgments=1)
    fast, slow = annotators(2)
    for task in Task.objects.filter(project=project).order_by("pk"):
        judge(task, fast, image_ids(task), duration_ms=100)
        judge(task, slow, image_ids(task), duration_ms=5000)
    assert recompute_agreement(project.pk) == 1
    flags = dict(ProjectAnnotator.objects.values_list("annotator__username", "quality_flags"))
    assert "too_fast" in flags["ann-0"]
    assert "too_fast" not in flags["ann-1"]


def test_beat_runs_the_quality_tasks(settings: object) -> None:
    from config.celery_app import app

    schedule = settings.CELERY_BEAT_SCHEDULE  # type: ignore[attr-defined]
    names = {entry["task"] for entry in schedule.values()}
    assert {"annotation.recompute_agreement", "annotation.schedule_repeat_items"} <= names
    app.loader.import_default_modules()
    assert {"annotation.recompute_agreement", "annotation.schedule_repeat_items"} <= set(app.tasks)
