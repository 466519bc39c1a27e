"""The annotator endpoints: next, submit, skip, with their rules and errors."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import (
    Assignment,
    AssignmentStatus,
    Batch,
    Image,
    ImageFlag,
    Judgment,
    PairJudgment,
    ProjectAnnotator,
    Role,
    Task,
    TaskType,
    User,
)
from annotation.projects.accounts import add_user
from tests.conftest import client_for
from tests.factories.batches import database_state, image_ids
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db


def annotator(name: str) -> User:
    return add_user(name, Role.ANNOTATOR, password="correct-horse-battery-9").user


def next_task(client: APIClient, slug: str = "foxes") -> Any:
    return client.get(reverse("next", args=[slug]))


def submit(
    client: APIClient, assignment: int, ranking: list[int], key: str = "k-1", **extra: Any
) -> Any:
    return client.post(
        reverse("assignment-submit", args=[assignment]),
        {"ranking": ranking, "duration_ms": 1234, **extra},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def test_next_leases_a_task_with_its_images_in_a_stored_shuffled_order() -> None:
    project = make_project()
    [task] = make_tasks(project, 1)
    user = annotator("ann")

    response = next_task(client_for(user))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assignment = Assignment.objects.get()
    assert body == {
        "assignment": assignment.pk,
        "task_type": "pairwise",
        "prompt": task.prompt.raw_text,
        "images": [
            {"id": pk, "url": Image.objects.get(pk=pk).url} for pk in assignment.display_order
        ],
        "expires_at": body["expires_at"],
        "expires_in_s": body["expires_in_s"],
        "guideline_version": "hpd-v2-1",
        "is_calibration": False,
        "allow_ties": False,
        "reason_chips": [],
    }
    assert 590 < body["expires_in_s"] <= 600
    assert sorted(assignment.display_order) == sorted(image_ids(task))
    assert assignment.annotator == user and assignment.status == AssignmentStatus.LEASED
    left = (assignment.expires_at - timezone.now()).total_seconds()
    assert 590 < left <= 600


def test_display_order_is_shuffled_per_assignment() -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=6, judgments_per_task=40)
    [task] = make_tasks(project, 1)
    orders = set()
    for n in range(12):
        response = next_task(client_for(annotator(f"a{n}")))
        orders.add(tuple(x["id"] for x in response.json()["images"]))

    assert len(orders) > 1
    assert all(sorted(order) == sorted(image_ids(task)) for order in orders)


def test_asking_again_returns_the_same_live_lease() -> None:
    project = make_project()
    make_tasks(project, 3)
    client = client_for(annotator("ann"))

    first = next_task(client).json()
    second = next_task(client).json()

    # The same lease; only the seconds left on it have run on.
    assert first.pop("expires_in_s") >= second.pop("expires_in_s")
    assert first == second
    assert Assignment.objects.count() == 1


def test_nothing_left_is_204() -> None:
    make_project()

    response = next_task(client_for(annotator("ann")))

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_unknown_project_is_404_and_anonymous_is_refused() -> None:
    assert next_task(client_for(annotator("ann")), "nope").status_code == HTTPStatus.NOT_FOUND
    make_project()
    assert next_task(APIClient()).status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


def test_only_active_tasks_of_ready_batches_are_served() -> None:
    project = make_project()
    make_tasks(project, 1, status=Batch.Status.IMPORTED)
    [inactive] = make_tasks(project, 1)
    Task.objects.filter(pk=inactive.pk).update(is_active=False)

    assert next_task(client_for(annotator("ann"))).status_code == HTTPStatus.NO_CONTENT


def test_k_slots_per_task_and_never_twice_to_one_annotator() -> None:
    project = make_project(judgments_per_task=2)
    [task] = make_tasks(project, 1)
    a, b, c = (client_for(annotator(n)) for n in "abc")

    first = next_task(a).json()
    assert next_task(b).status_code == HTTPStatus.OK
    assert next_task(c).status_code == HTTPStatus.NO_CONTENT

    assert submit(a, first["assignment"], image_ids(task)).status_code == HTTPStatus.CREATED
    assert next_task(a).status_code == HTTPStatus.NO_CONTENT
    assert next_task(c).status_code == HTTPStatus.NO_CONTENT
    assert Assignment.objects.filter(task=task).count() == 2


def test_started_tasks_come_before_fresh_ones() -> None:
    project = make_project(judgments_per_task=3)
    fresh, started = make_tasks(project, 2)
    first = client_for(annotator("first"))
    lease = next_task(first).json()
    # Both are fresh: the lower id is served first.
    assert Assignment.objects.get(pk=lease["assignment"]).task == fresh
    Task.objects.filter(pk=started.pk).update(judgments_done=1)

    second = next_task(client_for(annotator("second"))).json()

    assert Assignment.objects.get(pk=second["assignment"]).task == started


def test_expired_lease_returns_its_slot_and_its_submit_is_409() -> None:
    project = make_project(judgments_per_task=1)
    [task] = make_tasks(project, 1)
    slow, quick = client_for(annotator("slow")), client_for(annotator("quick"))
    lease = next_task(slow).json()
    assert next_task(quick).status_code == HTTPStatus.NO_CONTENT
    Assignment.objects.filter(pk=lease["assignment"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    taken = next_task(quick)
    late = submit(slow, lease["assignment"], image_ids(task))

    assert taken.status_code == HTTPStatus.OK
    assert late.status_code == HTTPStatus.CONFLICT
    assert "expired" in late.json()["detail"] and "not stored" in late.json()["detail"]
    assert Judgment.objects.count() == 0
    # The slow annotator's old lease is closed and the task is never theirs again.
    assert next_task(slow).status_code == HTTPStatus.NO_CONTENT
    assert Assignment.objects.get(pk=lease["assignment"]).status == AssignmentStatus.EXPIRED


def test_submit_stores_everything_with_pairs_in_ranking_order() -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=4)
    [task] = make_tasks(project, 1)
    user = annotator("ann")
    client = client_for(user)
    lease = next_task(client).json()
    ranking = list(reversed(image_ids(task)))

    response = submit(client, lease["assignment"], ranking, flags=["cannot_decide"])

    assert response.status_code == HTTPStatus.CREATED
    judgment = Judgment.objects.get()
    assert response.json() == {
        "assignment": lease["assignment"],
        "judgment": judgment.pk,
        "ranking": ranking,
        "levels": [],
        "flags": ["cannot_decide"],
        "reasons": [],
        "note": "",
        "created_at": response.json()["created_at"],
        "calibration": None,
    }
    assert judgment.ranking == ranking
    assert judgment.display_order == [image["id"] for image in lease["images"]]
    assert judgment.duration_ms == 1234 and judgment.guideline_version == "hpd-v2-1"
    assert judgment.idempotency_key == "k-1" and not judgment.is_calibration
    pairs = set(PairJudgment.objects.values_list("winner_id", "loser_id"))
    expected = {(ranking[i], ranking[j]) for i in range(4) for j in range(i + 1, 4)}
    assert pairs == expected
    task.refresh_from_db()
    assert task.judgments_done == 1
    assert Assignment.objects.get().status == AssignmentStatus.SUBMITTED


def test_replay_returns_the_stored_result_and_stores_nothing_twice() -> None:
    project = make_project()
    [task] = make_tasks(project, 1)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()
    first = submit(client, lease["assignment"], image_ids(task), key="same")
    before = database_state()

    again = submit(client, lease["assignment"], image_ids(task), key="same")
    fresh_key = submit(client, lease["assignment"], image_ids(task), key="other")

    assert again.status_code == HTTPStatus.OK and again.json() == first.json()
    assert fresh_key.status_code == HTTPStatus.OK and fresh_key.json() == first.json()
    assert database_state() == before
    assert Task.objects.get().judgments_done == 1


def test_a_different_body_for_a_submitted_assignment_is_409() -> None:
    project = make_project()
    [task] = make_tasks(project, 1)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()
    submit(client, lease["assignment"], image_ids(task), key="same")
    before = database_state()

    response = submit(client, lease["assignment"], list(reversed(image_ids(task))), key="same")

    assert response.status_code == HTTPStatus.CONFLICT
    assert "already submitted" in response.json()["detail"]
    assert database_state() == before


def test_another_users_assignment_is_403_and_untouched() -> None:
    project = make_project()
    [task] = make_tasks(project, 1)
    owner, other = client_for(annotator("owner")), client_for(annotator("other"))
    lease = next_task(owner).json()

    submitted = submit(other, lease["assignment"], image_ids(task))
    skipped = other.post(reverse("assignment-skip", args=[lease["assignment"]]), format="json")

    assert submitted.status_code == HTTPStatus.FORBIDDEN
    assert skipped.status_code == HTTPStatus.FORBIDDEN
    assert "another annotator" in submitted.json()["detail"]
    assert Judgment.objects.count() == 0
    assert Assignment.objects.get().status == AssignmentStatus.LEASED


def test_an_annotator_never_sees_another_annotators_judgment() -> None:
    project = make_project(judgments_per_task=2)
    [task] = make_tasks(project, 1)
    a, b = client_for(annotator("a")), client_for(annotator("b"))
    lease_a = next_task(a).json()
    submit(a, lease_a["assignment"], image_ids(task))

    lease_b = next_task(b).json()
    replay_by_b = submit(b, lease_a["assignment"], image_ids(task))

    assert set(lease_b) == {
        "assignment",
        "task_type",
        "prompt",
        "images",
        "expires_in_s",
        "expires_at",
        "guideline_version",
        "is_calibration",
        "allow_ties",
        "reason_chips",
    }
    assert all(set(image) == {"id", "url"} for image in lease_b["images"])
    assert replay_by_b.status_code == HTTPStatus.FORBIDDEN
    assert "ranking" not in replay_by_b.json()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ranking": "first"}, "ranking"),
        ({"ranking": [1]}, "ranking"),
        ({"flags": ["sleepy"]}, "flags"),
        ({"duration_ms": -5}, "duration_ms"),
    ],
)
def test_malformed_bodies_are_400_with_the_field_named(body: dict, message: str) -> None:
    project = make_project()
    [task] = make_tasks(project, 1)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()
    payload = {"ranking": image_ids(task), **body}

    response = client.post(
        reverse("assignment-submit", args=[lease["assignment"]]),
        payload,
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.json()["detail"]
    assert Judgment.objects.count() == 0


def test_ranking_that_is_not_a_permutation_is_400() -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=3)
    [task] = make_tasks(project, 1)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()
    ids = image_ids(task)

    for ranking in ([ids[0], ids[0], ids[1]], ids[:2], [*ids[:2], 999_999]):
        response = submit(client, lease["assignment"], ranking)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "exactly once" in response.json()["detail"]
    assert Judgment.objects.count() == 0 and Task.objects.get().judgments_done == 0


def test_missing_idempotency_key_is_400_and_a_reused_key_is_409() -> None:
    project = make_project()
    first, second = make_tasks(project, 2)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()
    no_key = client.post(
        reverse("assignment-submit", args=[lease["assignment"]]),
        {"ranking": image_ids(first)},
        format="json",
    )
    assert no_key.status_code == HTTPStatus.BAD_REQUEST
    assert "Idempotency-Key" in no_key.json()["detail"]
    submit(client, lease["assignment"], image_ids(first), key="k")
    lease2 = next_task(client).json()

    reused = submit(client, lease2["assignment"], image_ids(second), key="k")

    assert reused.status_code == HTTPStatus.CONFLICT
    assert "already used" in reused.json()["detail"]
    assert Judgment.objects.count() == 1
    assert Assignment.objects.get(pk=lease2["assignment"]).status == AssignmentStatus.LEASED


def test_skip_gives_the_task_to_someone_else_and_never_back() -> None:
    project = make_project()
    [task] = make_tasks(project, 1)
    skipper, other = client_for(annotator("skipper")), client_for(annotator("other"))
    lease = next_task(skipper).json()

    response = skipper.post(reverse("assignment-skip", args=[lease["assignment"]]), format="json")
    again = skipper.post(reverse("assignment-skip", args=[lease["assignment"]]), format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"assignment": lease["assignment"], "status": "skipped"}
    assert again.status_code == HTTPStatus.OK
    assert next_task(skipper).status_code == HTTPStatus.NO_CONTENT
    assert next_task(other).status_code == HTTPStatus.OK
    late = submit(skipper, lease["assignment"], image_ids(task))
    assert late.status_code == HTTPStatus.CONFLICT and "skipped" in late.json()["detail"]


def test_skipping_a_submitted_assignment_is_409() -> None:
    project = make_project()
    [task] = make_tasks(project, 1)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()
    submit(client, lease["assignment"], image_ids(task))

    response = client.post(reverse("assignment-skip", args=[lease["assignment"]]), format="json")

    assert response.status_code == HTTPStatus.CONFLICT
    assert Assignment.objects.get().status == AssignmentStatus.SUBMITTED


def test_images_flagged_by_enough_annotators_are_withdrawn_with_their_tasks() -> None:
    project = make_project(judgments_per_task=3, flag_withdraw_threshold=2)
    [task, other_task] = make_tasks(project, 2)
    bad = image_ids(task)[0]
    # The same image in another task of the project goes out of circulation too.
    other_task.task_images.filter(position=0).update(image_id=bad)
    a, b = client_for(annotator("a")), client_for(annotator("b"))

    lease_a = next_task(a).json()
    flagged = a.post(
        reverse("assignment-skip", args=[lease_a["assignment"]]),
        {"flags": ["unsafe"], "flagged_images": [bad]},
        format="json",
    )
    assert flagged.status_code == HTTPStatus.OK
    assert not Image.objects.get(pk=bad).is_withdrawn
    lease_b = next_task(b).json()
    response = submit(
        b, lease_b["assignment"], image_ids(task), flags=["broken_image"], flagged_images=[bad]
    )

    assert response.status_code == HTTPStatus.CREATED
    assert Image.objects.get(pk=bad).is_withdrawn
    assert not Task.objects.filter(is_active=True).exists()
    assert ImageFlag.objects.count() == 2
    assert next_task(client_for(annotator("c"))).status_code == HTTPStatus.NO_CONTENT


def test_a_flag_must_name_its_image_and_name_only_images_of_the_task() -> None:
    project = make_project()
    [_task, other] = make_tasks(project, 2)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()
    url = reverse("assignment-skip", args=[lease["assignment"]])

    unnamed = client.post(url, {"flags": ["broken_image"]}, format="json")
    stray = client.post(
        url, {"flags": ["broken_image"], "flagged_images": image_ids(other)[:1]}, format="json"
    )

    assert unnamed.status_code == HTTPStatus.BAD_REQUEST
    assert "flagged_images" in unnamed.json()["detail"]
    assert stray.status_code == HTTPStatus.BAD_REQUEST
    assert "not images of this task" in stray.json()["detail"]
    assert Assignment.objects.get().status == AssignmentStatus.LEASED
    assert ImageFlag.objects.count() == 0


def test_repeat_items_go_only_to_their_annotator_after_the_original() -> None:
    project = make_project()
    [original] = make_tasks(project, 1)
    owner, other = annotator("owner"), annotator("other")
    [repeat] = make_tasks(project, 1)
    Task.objects.filter(pk=repeat.pk).update(repeat_of=original, repeat_for=owner)
    other_client, owner_client = client_for(other), client_for(owner)

    # The other annotator takes the original; the repeat is not theirs.
    lease = next_task(other_client).json()
    assert Assignment.objects.get(pk=lease["assignment"]).task == original
    submit(other_client, lease["assignment"], image_ids(original))
    assert next_task(other_client).status_code == HTTPStatus.NO_CONTENT
    # The owner never judged the original: the repeat is not eligible yet.
    assert next_task(owner_client).status_code == HTTPStatus.NO_CONTENT
    Task.objects.filter(pk=original.pk).update(judgments_wanted=2)
    first = next_task(owner_client).json()
    assert Assignment.objects.get(pk=first["assignment"]).task == original
    submit(owner_client, first["assignment"], image_ids(original), key="o-1")

    second = next_task(owner_client).json()

    assert Assignment.objects.get(pk=second["assignment"]).task_id == repeat.pk


def test_gold_tasks_are_mixed_in_at_the_gold_rate() -> None:
    always = make_project("always", gold_rate=1.0, judgments_per_task=5)
    make_tasks(always, 2)
    make_tasks(always, 1, gold=True)
    never = make_project("never", gold_rate=0.0, judgments_per_task=5)
    make_tasks(never, 2)
    make_tasks(never, 1, gold=True)
    user = annotator("ann")

    served_always = Assignment.objects.get(
        pk=next_task(client_for(user), "always").json()["assignment"]
    )
    served_never = Assignment.objects.get(
        pk=next_task(client_for(user), "never").json()["assignment"]
    )

    assert served_always.task.is_gold
    assert not served_never.task.is_gold


def test_calibration_round_with_feedback_before_judgments_count() -> None:
    project = make_project(calibration_tasks=2, calibration_pass_rate=0.5, judgments_per_task=1)
    golds = make_tasks(project, 3, gold=True)
    [regular] = make_tasks(project, 1)
    user = annotator("new")
    client = client_for(user)

    feedback = []
    for n in range(2):
        lease = next_task(client).json()
        assert lease["is_calibration"] is True
        task = Assignment.objects.get(pk=lease["assignment"]).task
        gold = task.gold_ranking or []
        ranking = gold if n == 0 else list(reversed(gold))
        body = submit(client, lease["assignment"], ranking, key=f"cal-{n}").json()
        feedback.append(body["calibration"])

    assert feedback[0] == {
        "correct": True,
        "expected": golds[0].gold_ranking,
        "done": 1,
        "round_size": 2,
        "passed": None,
    }
    assert feedback[1]["correct"] is False and feedback[1]["passed"] is True
    assert ProjectAnnotator.objects.get(annotator=user).calibrated_at is not None
    assert Judgment.objects.filter(is_calibration=True).count() == 2
    assert PairJudgment.objects.count() == 0
    assert not Task.objects.filter(judgments_done__gt=0).exists()
    lease = next_task(client).json()
    assert lease["is_calibration"] is False
    assert Assignment.objects.get(pk=lease["assignment"]).task == regular


def test_failed_calibration_retries_then_stops_with_a_message() -> None:
    project = make_project(calibration_tasks=1, calibration_pass_rate=1.0)
    make_tasks(project, 2, gold=True)
    make_tasks(project, 1)
    client = client_for(annotator("new"))

    for n in range(2):
        lease = next_task(client).json()
        assert lease["is_calibration"]
        task = Assignment.objects.get(pk=lease["assignment"]).task
        gold = task.gold_ranking or []
        body = submit(client, lease["assignment"], list(reversed(gold)), key=f"{n}")
        assert body.json()["calibration"]["passed"] is False
    stopped = next_task(client)

    assert stopped.status_code == HTTPStatus.FORBIDDEN
    assert "calibration" in stopped.json()["detail"]


def test_calibration_is_skipped_when_the_project_has_no_gold_tasks() -> None:
    project = make_project(calibration_tasks=5)
    make_tasks(project, 1)

    lease = next_task(client_for(annotator("new"))).json()

    assert lease["is_calibration"] is False


def test_openapi_schema_documents_the_annotator_endpoints(admin_user: User) -> None:
    schema = client_for(admin_user).get("/api/schema/?format=json").json()

    submit_op = schema["paths"]["/api/v1/assignments/{id}/submit/"]["post"]
    assert set(submit_op["responses"]) >= {"200", "201", "400", "403", "409"}
    assert any(p["name"] == "Idempotency-Key" for p in submit_op["parameters"])
    assert "204" in schema["paths"]["/api/v1/projects/{slug}/next/"]["get"]["responses"]
    assert "/api/v1/assignments/{id}/skip/" in schema["paths"]


def test_submit_with_next_returns_the_next_lease() -> None:
    project = make_project()
    first, second = make_tasks(project, 2)
    client = client_for(annotator("ann"))
    lease = next_task(client).json()

    response = client.post(
        reverse("assignment-submit", args=[lease["assignment"]]) + "?next=1",
        {"ranking": image_ids(first)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    last = client.post(
        reverse("assignment-submit", args=[response.json()["next"]["assignment"]]) + "?next=1",
        {"ranking": image_ids(second)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k2",
    )

    assert response.status_code == HTTPStatus.CREATED
    upcoming = response.json()["next"]
    assert Assignment.objects.get(pk=upcoming["assignment"]).task == second
    assert upcoming["prompt"] == second.prompt.raw_text
    assert last.status_code == HTTPStatus.CREATED and last.json()["next"] is None


def test_an_excluded_annotator_gets_no_task_and_is_told_why() -> None:
    project = make_project()
    make_tasks(project, 1)
    user = annotator("gone")
    ProjectAnnotator.objects.create(
        project=project, annotator=user, is_excluded=True, excluded_reason="random clicking"
    )

    response = next_task(client_for(user))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "excluded" in response.json()["detail"]
    assert "random clicking" in response.json()["detail"]
    assert Assignment.objects.count() == 0


def test_a_partial_gold_ranking_only_constrains_its_own_images() -> None:
    from annotation.judging.calibration import matches_gold

    assert matches_gold([5, 1, 9, 2], [1, 2])
    assert not matches_gold([2, 5, 1, 9], [1, 2])
    assert matches_gold([3, 4], [3, 4]) and not matches_gold([4, 3], [3, 4])


def test_expire_leases_closes_only_leases_past_their_deadline() -> None:
    from annotation.tasks import expire_leases

    project = make_project(judgments_per_task=3)
    make_tasks(project, 1)
    late, live = client_for(annotator("late")), client_for(annotator("live"))
    stale = next_task(late).json()["assignment"]
    fresh = next_task(live).json()["assignment"]
    Assignment.objects.filter(pk=stale).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert expire_leases() == 1

    assert Assignment.objects.get(pk=stale).status == AssignmentStatus.EXPIRED
    assert Assignment.objects.get(pk=fresh).status == AssignmentStatus.LEASED
