"""Leasing ahead: the task after the one on screen, so that the page can show it at once;
at most two live leases per annotator per project, and an unshown one expires like any
other."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.judging.assignment import MAX_HELD_LEASES, may_hold_another_lease
from annotation.models import Assignment, AssignmentStatus, Judgment, Role, User
from annotation.projects.accounts import add_user
from tests.conftest import client_for
from tests.factories.batches import image_ids
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db


def annotator(name: str) -> User:
    return add_user(name, Role.ANNOTATOR, password="correct-horse-battery-9").user


def next_task(client: APIClient, ahead_of: Any = None) -> Any:
    query = "" if ahead_of is None else f"?ahead_of={ahead_of}"
    return client.get(reverse("next", args=["foxes"]) + query)


def live(user: User) -> list[int]:
    return sorted(
        Assignment.objects.filter(
            annotator=user, status=AssignmentStatus.LEASED, expires_at__gt=timezone.now()
        ).values_list("task_id", flat=True)
    )


def test_the_next_task_is_leased_ahead_and_asking_again_returns_it() -> None:
    project = make_project()
    first, second, third = make_tasks(project, 3)
    user = annotator("ann")
    client = client_for(user)

    shown = next_task(client).json()
    ahead = next_task(client, shown["assignment"])
    again = next_task(client, shown["assignment"])

    assert ahead.status_code == HTTPStatus.OK
    assert ahead.json()["assignment"] != shown["assignment"]
    assert again.json()["assignment"] == ahead.json()["assignment"]
    assert 0 < ahead.json()["expires_in_s"] <= project.lease_seconds
    assert live(user) == [first.pk, second.pk]
    # A reload (no ahead_of) shows one of the two; asked ahead of it, the other one.
    reload = next_task(client).json()
    other = next_task(client, reload["assignment"]).json()
    assert {reload["assignment"], other["assignment"]} == {
        shown["assignment"],
        ahead.json()["assignment"],
    }
    assert Assignment.objects.count() == 2 and third.pk not in live(user)


def test_never_more_than_two_live_leases_per_annotator() -> None:
    project = make_project()
    make_tasks(project, 4)
    user = annotator("greedy")
    client = client_for(user)
    shown = next_task(client).json()
    next_task(client, shown["assignment"])

    # Ahead of an assignment that is not on screen (or of nothing real): still two.
    for ahead_of in [shown["assignment"], 0, 10**12]:
        assert next_task(client, ahead_of).status_code == HTTPStatus.OK
    assert len(live(user)) == MAX_HELD_LEASES == 2
    assert may_hold_another_lease(1) and not may_hold_another_lease(2)


def test_after_a_submit_the_lease_held_ahead_is_the_next_one() -> None:
    project = make_project()
    first, second, third = make_tasks(project, 3)
    user = annotator("ann")
    client = client_for(user)
    shown = next_task(client).json()
    ahead = next_task(client, shown["assignment"]).json()

    response = client.post(
        reverse("assignment-submit", args=[shown["assignment"]]) + "?next=1",
        {"ranking": image_ids(first)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["next"]["assignment"] == ahead["assignment"]
    assert live(user) == [second.pk]
    # Then the one after it is leased ahead of it.
    assert next_task(client, ahead["assignment"]).json()["prompt"] == third.prompt.raw_text


def test_an_unshown_lease_held_ahead_returns_to_the_pool_when_it_expires() -> None:
    project = make_project(judgments_per_task=1)
    first, second = make_tasks(project, 2)
    quick, other = annotator("quick"), annotator("other")
    client, other_client = client_for(quick), client_for(other)
    shown = next_task(client).json()
    ahead = next_task(client, shown["assignment"]).json()
    assert next_task(other_client).status_code == HTTPStatus.NO_CONTENT  # both slots held

    Assignment.objects.filter(pk=ahead["assignment"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    taken = next_task(other_client)

    assert taken.status_code == HTTPStatus.OK
    assert Assignment.objects.get(pk=taken.json()["assignment"]).task == second
    # The expired lease is closed; the task is never offered to its first holder again.
    assert next_task(client, shown["assignment"]).status_code == HTTPStatus.NO_CONTENT
    assert Assignment.objects.get(pk=ahead["assignment"]).status == AssignmentStatus.EXPIRED
    assert live(quick) == [first.pk]


def test_nothing_is_leased_ahead_during_calibration() -> None:
    project = make_project(calibration_tasks=2)
    make_tasks(project, 2, gold=True)
    make_tasks(project, 2)
    user = annotator("new")
    client = client_for(user)
    shown = next_task(client).json()
    assert shown["is_calibration"]

    assert next_task(client, shown["assignment"]).status_code == HTTPStatus.NO_CONTENT
    assert Assignment.objects.filter(annotator=user).count() == 1


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", "\uff11"])
def test_a_malformed_ahead_of_is_400_and_leases_nothing(value: str) -> None:
    project = make_project()
    make_tasks(project, 2)
    client = client_for(annotator("typo"))

    response = next_task(client, value)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "ahead_of must be the id of the assignment on your screen" in response.json()["detail"]
    assert Assignment.objects.count() == 0 and Judgment.objects.count() == 0
