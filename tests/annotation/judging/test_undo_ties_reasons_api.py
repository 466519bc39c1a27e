"""Undo, ties and reason chips through the API: what is stored, what is refused and why,
and the project settings that switch them on (PATCH and import_batch)."""

from __future__ import annotations

from http import HTTPStatus
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.judging.stopping import consensus_confidence, wants_more
from annotation.models import (
    Assignment,
    AssignmentStatus,
    AuditAction,
    AuditEvent,
    ExportSnapshot,
    Judgment,
    PairJudgment,
    Project,
    Role,
    Task,
    TaskType,
    User,
)
from annotation.projects.accounts import add_user
from tests.conftest import client_for
from tests.factories.batches import database_state, image_ids, write_batch
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db


def annotator(name: str) -> User:
    return add_user(name, Role.ANNOTATOR, password="correct-horse-battery-9").user


def lease(client: APIClient, slug: str = "foxes") -> dict[str, Any]:
    response = client.get(reverse("next", args=[slug]))
    assert response.status_code == HTTPStatus.OK, response.content
    return dict(response.json())


def submit(client: APIClient, assignment: int, ranking: list[int], key: str, **extra: Any) -> Any:
    return client.post(
        reverse("assignment-submit", args=[assignment]),
        {"ranking": ranking, "duration_ms": 900, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def undo(client: APIClient, slug: str = "foxes") -> Any:
    return client.post(reverse("undo", args=[slug]), format="json")


# --- undo


def test_undo_takes_back_the_last_judgment_and_leases_its_task_again() -> None:
    project = make_project(judgments_per_task=1)
    first, second = make_tasks(project, 2)
    user = annotator("ann")
    client = client_for(user)
    one = lease(client)
    assert submit(client, one["assignment"], image_ids(first), "k1").status_code == 201
    two = lease(client)
    assert submit(client, two["assignment"], image_ids(second), "k2").status_code == 201

    response = undo(client)

    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert body["lease"]["assignment"] == two["assignment"]
    assert [image["id"] for image in body["lease"]["images"]] == [
        image["id"] for image in two["images"]
    ]
    undone = Judgment.objects.get(pk=body["undone"])
    assert undone.task_id == second.pk and undone.retracted_at is not None
    assert not PairJudgment.objects.filter(judgment=undone).exists()
    assert Task.objects.get(pk=second.pk).judgments_done == 0
    assignment = Assignment.objects.get(pk=two["assignment"])
    assert assignment.status == AssignmentStatus.LEASED and assignment.finished_at is None
    event = AuditEvent.objects.get(action=AuditAction.JUDGMENT_RETRACTED)
    assert event.before is not None and event.before["judgment"] == undone.pk
    assert event.actor_id == user.pk

    # Only once: the judgment before it stays.
    again = undo(client)
    assert again.status_code == HTTPStatus.CONFLICT
    assert "already undone" in again.json()["detail"]
    assert Judgment.objects.filter(retracted_at=None).count() == 1

    # The undone judgment's key cannot carry its replacement.
    reused = submit(client, two["assignment"], image_ids(second)[::-1], "k2")
    assert reused.status_code == HTTPStatus.CONFLICT
    assert "belongs to the judgment you undid" in reused.json()["detail"]
    # The replacement is stored once, with its pairs; the audit names both judgments.
    replaced = submit(client, two["assignment"], image_ids(second)[::-1], "k3")
    assert replaced.status_code == HTTPStatus.CREATED, replaced.content
    assert submit(client, two["assignment"], image_ids(second)[::-1], "k3").status_code == 200
    live = Judgment.objects.get(task=second, retracted_at=None)
    assert live.ranking == image_ids(second)[::-1]
    assert Judgment.objects.filter(task=second).count() == 2
    assert list(PairJudgment.objects.filter(task=second).values_list("judgment", flat=True)) == [
        live.pk
    ]
    assert Task.objects.get(pk=second.pk).judgments_done == 1
    replacement = AuditEvent.objects.get(action=AuditAction.JUDGMENT_REPLACED)
    assert replacement.before is not None and replacement.after is not None
    assert replacement.before["judgment"] == undone.pk
    assert replacement.after["judgment"] == live.pk


def test_undo_is_refused_with_nothing_changed_when_it_cannot_apply() -> None:
    project = make_project(judgments_per_task=2)
    [task] = make_tasks(project, 1)
    mine, other = annotator("mine"), annotator("other")
    me, them = client_for(mine), client_for(other)

    nothing = undo(me)
    assert nothing.status_code == HTTPStatus.CONFLICT
    assert "no judgment" in nothing.json()["detail"]

    one = lease(me)
    submit(me, one["assignment"], image_ids(task), "k1")
    # Another annotator has nothing of theirs to undo, and cannot touch mine.
    assert undo(them).status_code == HTTPStatus.CONFLICT
    # A snapshot started after the judgment may hold it: refused.
    ExportSnapshot.objects.create(
        project=project,
        path="/nowhere",
        status=ExportSnapshot.Status.DONE,
        started_at=timezone.now(),
    )
    before = database_state()
    exported = undo(me)
    assert exported.status_code == HTTPStatus.CONFLICT
    assert "export snapshot" in exported.json()["detail"]
    assert database_state() == before
    assert Judgment.objects.get().retracted_at is None
    assert not AuditEvent.objects.filter(action=AuditAction.JUDGMENT_RETRACTED).exists()
    # A project the caller may not annotate in does not exist for them.
    Project.objects.filter(pk=project.pk).update(open_to_annotators=False)
    assert undo(them).status_code == HTTPStatus.NOT_FOUND


# --- ties


def test_a_tie_is_refused_where_the_project_does_not_allow_ties() -> None:
    project = make_project(judgments_per_task=1)
    [task] = make_tasks(project, 1)
    client = client_for(annotator("ann"))
    one = lease(client)
    before = database_state()

    refused = submit(client, one["assignment"], image_ids(task), "k1", levels=[0, 0])

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "does not allow ties" in refused.json()["detail"]
    assert database_state() == before
    # Levels without a tie are a strict order, stored as such.
    plain = submit(client, one["assignment"], image_ids(task), "k2", levels=[0, 1])
    assert plain.status_code == HTTPStatus.CREATED
    assert Judgment.objects.get().levels == []


@pytest.mark.parametrize(
    ("levels", "message"),
    [([0], "one level per image"), ([1, 1, 2], "start at 0"), ([0, 2, 2], "rising by 0")],
)
def test_malformed_levels_are_400_saying_how_to_fix_them(levels: list[int], message: str) -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=3)
    Project.objects.filter(pk=project.pk).update(allow_ties=True)
    [task] = make_tasks(project, 1, images=3)
    client = client_for(annotator("ann"))
    one = lease(client)
    refused = submit(client, one["assignment"], image_ids(task), "k1", levels=levels)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert message in refused.json()["detail"]
    assert not Judgment.objects.exists()


def test_a_tie_is_stored_with_tie_pairs_where_allowed() -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=3)
    Project.objects.filter(pk=project.pk).update(allow_ties=True)
    [task] = make_tasks(project, 1, images=3)
    client = client_for(annotator("ann"))
    one = lease(client)
    a, b, c = image_ids(task)
    stored = submit(client, one["assignment"], [a, b, c], "k1", levels=[0, 1, 1])
    assert stored.status_code == HTTPStatus.CREATED, stored.content
    assert stored.json()["levels"] == [0, 1, 1]
    pairs = set(PairJudgment.objects.values_list("winner", "loser", "is_tie"))
    assert pairs == {(a, b, False), (a, c, False), (b, c, True)}


def test_the_stopping_rule_counts_a_tie_as_half_to_each_side() -> None:
    # 2-0 alone: Beta(3, 1), P(p > 1/2) = 0.875. With a tie besides, 2.5-0.5:
    # Beta(3.5, 1.5), 0.8395 (scipy.stats.beta.sf(0.5, 3.5, 1.5)); a tie alone is 0.5.
    pair = [[1, 2], [1, 2], [1, 2]]
    assert consensus_confidence(pair[:2]) == pytest.approx(0.875)
    assert consensus_confidence(pair, [[], [], [0, 0]]) == pytest.approx(0.83953, abs=1e-5)
    assert consensus_confidence([[1, 2]], [[0, 0]]) == pytest.approx(0.5)
    assert not wants_more(pair[:2], minimum=2, maximum=5, threshold=0.87)
    assert wants_more(pair, minimum=2, maximum=5, threshold=0.87, levels=[[], [], [0, 0]])


# --- reasons


def test_reasons_and_a_note_are_stored_and_bad_ones_refused() -> None:
    project = make_project(judgments_per_task=1)
    Project.objects.filter(pk=project.pk).update(reason_chips=["artifacts", "text mismatch"])
    [task] = make_tasks(project, 1)
    client = client_for(annotator("ann"))
    one = lease(client)
    assert one["reason_chips"] == ["artifacts", "text mismatch"]
    before = database_state()

    unknown = submit(client, one["assignment"], image_ids(task), "k1", reasons=["blurry"])
    assert unknown.status_code == HTTPStatus.BAD_REQUEST
    assert "unknown reason(s) ['blurry']" in unknown.json()["detail"]
    assert "'artifacts'" in unknown.json()["detail"]
    long = submit(client, one["assignment"], image_ids(task), "k2", note="x" * 501)
    assert long.status_code == HTTPStatus.BAD_REQUEST
    assert "shorten it to 500" in long.json()["detail"]
    assert database_state() == before

    stored = submit(
        client, one["assignment"], image_ids(task), "k3", reasons=["text mismatch"], note=" no fox "
    )
    assert stored.status_code == HTTPStatus.CREATED, stored.content
    judgment = Judgment.objects.get()
    assert (judgment.reasons, judgment.note) == (["text mismatch"], "no fox")


# --- the settings


def test_patch_sets_ties_and_reason_chips_checked_before_anything_changes() -> None:
    project = make_project()
    manager = add_user("boss", Role.ADMIN, password="correct-horse-battery-9").user
    client = client_for(manager)
    url = reverse("project-detail", args=[project.slug])

    bad = client.patch(
        url,
        {"allow_ties": True, "reason_chips": ["ok", "", "ok"], "consensus_threshold": 0.8},
        format="json",
    )
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    messages = " ".join(problem["message"] for problem in bad.json()["problems"])
    assert "1 to 40 characters" in messages and "repeat a chip" in messages
    project.refresh_from_db()
    assert (project.allow_ties, project.reason_chips, project.consensus_threshold) == (
        False,
        [],
        0.9,
    )

    good = client.patch(
        url, {"allow_ties": True, "reason_chips": [" artifacts ", "unsafe"]}, format="json"
    )
    assert good.status_code == HTTPStatus.OK, good.content
    assert good.json()["allow_ties"] is True
    assert good.json()["reason_chips"] == ["artifacts", "unsafe"]
    event = AuditEvent.objects.get(action=AuditAction.JUDGING_OPTIONS_CHANGED)
    assert event.before == {"allow_ties": False, "reason_chips": []}
    assert event.after == {"allow_ties": True, "reason_chips": ["artifacts", "unsafe"]}


def test_import_batch_sets_ties_and_reason_chips(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "batch", groups=2)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_batch", str(folder), "--project", "chips", "--reason-chips", "a,a")
    assert not Project.objects.filter(slug="chips").exists()

    call_command(
        "import_batch",
        str(folder),
        "--project",
        "chips",
        "--allow-ties",
        "--reason-chips",
        "text mismatch, artifacts",
        stdout=StringIO(),
    )
    project = Project.objects.get(slug="chips")
    assert project.allow_ties is True
    assert project.reason_chips == ["text mismatch", "artifacts"]
