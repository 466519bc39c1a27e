"""The serving order (annotation/judging/serving.py): fifo, random and uncertain-first,
read from stored task margins; gold tasks and calibration keep their own order."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.intake import BatchRejected
from annotation.intake.importing import import_batch
from annotation.judging import refresh_margins, set_serving_order
from annotation.judging.assignment import CANDIDATE_SQL, next_assignment
from annotation.judging.submission import submit_judgment
from annotation.models import (
    AuditAction,
    AuditEvent,
    Project,
    ProjectAnnotator,
    ProjectRole,
    ServingOrder,
    Task,
)
from scoring.models import ImageScore, ModelVersion
from tests.conftest import client_for
from tests.factories.batches import database_state, image_ids, write_batch
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import annotators, make_user, member_of


def active_version(name: str = "scorer") -> ModelVersion:
    return ModelVersion.objects.create(
        name=name,
        architecture="tiny-clip",
        checkpoint_path=f"/nowhere/{name}.pt",
        checkpoint_sha256="0" * 64,
        status=ModelVersion.Status.ACTIVE,
    )


def give_scores(version: ModelVersion, task: Task, scores: Sequence[float | None]) -> None:
    """Store the scores of the task's images (upload order); None leaves one unscored."""
    for image_id, score in zip(image_ids(task), scores, strict=True):
        if score is not None:
            ImageScore.objects.create(image_id=image_id, model_version=version, score=score)


def served_order(project: Project, count: int, prefix: str = "served") -> list[int]:
    """The task each of `count` fresh annotators is served in turn (each judges it)."""
    served = []
    for user in annotators(count, prefix=prefix):
        lease = next_assignment(project, user)
        assert lease is not None
        served.append(lease.assignment.task_id)
        judge(lease.assignment.pk, user, image_ids(Task.objects.get(pk=lease.assignment.task_id)))
    return served


def judge(assignment_id: int, user: object, ranking: list[int]) -> None:
    submit_judgment(
        assignment_id,
        user,  # type: ignore[arg-type]
        ranking=ranking,
        duration_ms=40,
        flags=[],
        idempotency_key=f"serving-{assignment_id}",
    )


@pytest.mark.django_db
def test_uncertain_first_serves_the_smallest_margin_first_and_unscored_tasks_last() -> None:
    project = make_project(images_per_task=3)
    tasks = make_tasks(project, 5)
    version = active_version()
    give_scores(version, tasks[0], [0.30, 0.10, 0.50])  # gaps 0.2, 0.2: margin 0.2
    give_scores(version, tasks[1], [0.20, None, 0.21])  # an image unscored: no margin
    give_scores(version, tasks[2], [0.40, 0.45, 0.90])  # margin 0.05
    give_scores(version, tasks[3], [0.10, 0.11, 0.90])  # margin 0.01
    # tasks[4]: no score at all

    assert refresh_margins(version.pk) == 3
    margins = dict(Task.objects.values_list("pk", "model_margin"))
    assert margins[tasks[0].pk] == pytest.approx(0.2)
    assert margins[tasks[2].pk] == pytest.approx(0.05)
    assert margins[tasks[3].pk] == pytest.approx(0.01)
    assert margins[tasks[1].pk] is None and margins[tasks[4].pk] is None
    set_serving_order(project, ServingOrder.UNCERTAIN_FIRST)

    served = served_order(project, 5)

    # Scored tasks by margin, then the unscored ones in upload order.
    assert served == [tasks[i].pk for i in (3, 2, 0, 1, 4)]


@pytest.mark.django_db
def test_started_tasks_still_come_first_and_scores_of_another_version_do_not_count() -> None:
    project = make_project(judgments_per_task=2)
    tasks = make_tasks(project, 3)
    version = active_version()
    for task, scores in zip(tasks, ([0.1, 0.9], [0.5, 0.52], [0.3, 0.5]), strict=True):
        give_scores(version, task, scores)
    other = ModelVersion.objects.create(
        name="candidate", architecture="tiny-clip", checkpoint_path="/x", checkpoint_sha256="1"
    )
    give_scores(other, tasks[0], [0.5, 0.5])  # would put tasks[0] first were it counted
    refresh_margins(version.pk)
    [first, *rest] = annotators(3, prefix="early")
    lease = next_assignment(project, first)  # fifo: the first task, the largest margin
    assert lease is not None and lease.assignment.task_id == tasks[0].pk
    judge(lease.assignment.pk, first, image_ids(tasks[0]))
    set_serving_order(project, ServingOrder.UNCERTAIN_FIRST)

    leases = [next_assignment(project, user) for user in rest]

    # The started task first (one judgment in), then the smallest margin of the fresh ones.
    assert [lease.assignment.task_id for lease in leases if lease] == [tasks[0].pk, tasks[1].pk]


@pytest.mark.django_db
def test_fifo_serves_upload_order_and_random_its_stored_draw_once_each() -> None:
    project = make_project()
    tasks = make_tasks(project, 6)
    assert served_order(project, 3) == [task.pk for task in tasks[:3]]
    keys = {tasks[3].pk: 0.9, tasks[4].pk: 0.1, tasks[5].pk: 0.5}
    for pk, key in keys.items():
        Task.objects.filter(pk=pk).update(serving_key=key)
    set_serving_order(project, ServingOrder.RANDOM)

    assert served_order(project, 3, "later") == [tasks[4].pk, tasks[5].pk, tasks[3].pk]
    assert next_assignment(project, make_user("late")) is None
    # Each task draws its own key when it is stored.
    make_tasks(project, 5)
    fresh = list(Task.objects.order_by("-pk").values_list("serving_key", flat=True)[:5])
    assert len(set(fresh)) == 5 and all(0 <= key < 1 for key in fresh)


@pytest.mark.django_db
def test_gold_tasks_and_calibration_keep_upload_order_under_uncertain_first() -> None:
    project = make_project(gold_rate=1.0, calibration_tasks=2)
    gold = make_tasks(project, 4, gold=True)
    version = active_version()
    for task, scores in zip(gold, ([0.1, 0.9], [0.1, 0.8], [0.1, 0.2], [0.1, 0.11]), strict=True):
        give_scores(version, task, scores)
    refresh_margins(version.pk)
    set_serving_order(project, ServingOrder.UNCERTAIN_FIRST)
    newcomer = make_user("newcomer")

    calibration = []
    for _ in range(2):
        lease = next_assignment(project, newcomer)
        assert lease is not None and lease.assignment.is_calibration
        calibration.append(lease.assignment.task_id)
        judge(lease.assignment.pk, newcomer, image_ids(Task.objects.get(pk=calibration[-1])))
    assert calibration == [gold[0].pk, gold[1].pk]  # upload order, not the margins

    # Gold drawn for calibrated annotators: started ones first, then upload order.
    served = []
    for user in annotators(2, prefix="calibrated"):
        ProjectAnnotator.objects.create(
            project=project, annotator=user, calibrated_at=timezone.now()
        )
        lease = next_assignment(project, user)
        assert lease is not None and not lease.assignment.is_calibration
        served.append(lease.assignment.task_id)
    assert served == [gold[0].pk, gold[1].pk]


@pytest.mark.django_db
def test_the_claim_query_reads_each_order_from_its_index_without_sorting() -> None:
    project = make_project()
    make_tasks(project, 30)
    user = make_user("planner")
    params: dict[str, Any] = {
        "project": project.pk,
        "user": user.pk,
        "now": "2026-01-01T00:00:00Z",
        "gold": False,
        "ready": "ready",
        "passed": [],
    }
    indexes = {
        ServingOrder.FIFO: "task_open_idx",
        ServingOrder.RANDOM: "task_open_random_idx",
        ServingOrder.UNCERTAIN_FIRST: "task_open_uncertain_idx",
    }
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        for order, index in indexes.items():
            cursor.execute("EXPLAIN " + CANDIDATE_SQL[order], params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert index in plan, plan
            assert "Sort" not in plan.split("SubPlan")[0], plan


@pytest.mark.django_db
def test_a_manager_sets_the_serving_order_through_the_api_and_bad_values_change_nothing() -> None:
    project = make_project(judgments_per_task=2)
    manager = member_of(project, make_user("boss"), ProjectRole.MANAGER)
    url = reverse("project-detail", kwargs={"slug": project.slug})

    bad = client_for(manager).patch(url, {"serving_order": "loudest-first"}, format="json")
    # A bad order refuses the whole change, the good redundancy field with it.
    mixed = client_for(manager).patch(
        url, {"serving_order": "newest", "max_judgments_per_task": 4}, format="json"
    )
    project.refresh_from_db()
    assert (project.serving_order, project.judgments_maximum) == ("fifo", 2)
    assert bad.status_code == mixed.status_code == HTTPStatus.BAD_REQUEST
    assert bad.json()["problems"] == [
        {
            "where": "serving_order",
            "message": "'loudest-first' is not a serving order; use fifo, random, uncertain-first",
        }
    ]
    assert [p["where"] for p in mixed.json()["problems"]] == ["serving_order"]
    assert not AuditEvent.objects.filter(action=AuditAction.THRESHOLDS_CHANGED).exists()

    changed = client_for(manager).patch(
        url, {"serving_order": "uncertain-first", "max_judgments_per_task": 4}, format="json"
    )

    assert changed.status_code == HTTPStatus.OK, changed.content
    assert (changed.json()["serving_order"], changed.json()["max_judgments_per_task"]) == (
        "uncertain-first",
        4,
    )
    project.refresh_from_db()
    assert project.serving_order == ServingOrder.UNCERTAIN_FIRST
    events = {
        e.target: (e.before, e.after)
        for e in AuditEvent.objects.filter(action=AuditAction.THRESHOLDS_CHANGED)
    }
    assert events["serving order"] == (
        {"serving_order": "fifo"},
        {"serving_order": "uncertain-first"},
    )
    browser = Client()
    browser.force_login(manager)
    page = browser.get(reverse("project-page", kwargs={"slug": project.slug}))
    assert "what the active scorer is least sure about first" in page.content.decode()


@pytest.mark.django_db
def test_import_sets_the_serving_order_and_a_bad_one_imports_nothing(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "batch", groups=2)
    before = database_state()
    with pytest.raises(BatchRejected) as rejected:
        import_batch(folder, "owls", serving_order="sideways")
    assert [p.where for p in rejected.value.problems] == ["serving_order"]
    assert database_state() == before
    with pytest.raises(CommandError):
        call_command(
            "import_batch", str(folder), "--project", "owls", "--serving-order", "sideways"
        )
    assert database_state() == before

    call_command(
        "import_batch",
        str(folder),
        "--project",
        "owls",
        "--serving-order",
        "uncertain-first",
        stdout=StringIO(),
    )

    assert Project.objects.get(slug="owls").serving_order == ServingOrder.UNCERTAIN_FIRST
    import_batch(write_batch(tmp_path / "second", groups=1, seed=3), "owls")  # kept when not given
    assert Project.objects.get(slug="owls").serving_order == ServingOrder.UNCERTAIN_FIRST
