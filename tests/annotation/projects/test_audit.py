"""The audit trail: events recorded with who, what, before and after; append-only in the
database; a page per project and one for the platform."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse

from annotation.models import AuditEvent, ProjectRole, Role
from annotation.projects import add_member, remove_member
from tests.factories.tasks import make_project
from tests.factories.users import make_user

pytestmark = pytest.mark.django_db


def trail() -> list[tuple[str, str, str, object, object]]:
    return [
        (e.actor_name, e.project_slug, e.action, e.before, e.after)
        for e in AuditEvent.objects.order_by("id")
    ]


def test_membership_changes_are_recorded_with_before_and_after() -> None:
    project = make_project(open_to_annotators=False)
    boss, ann = make_user("boss"), make_user("ann")

    add_member(project, ann, ProjectRole.ANNOTATOR, by=boss)
    add_member(project, ann, ProjectRole.ANNOTATOR, by=boss)  # no change, no event
    add_member(project, ann, ProjectRole.REVIEWER, by=boss)
    remove_member(project, ann, by=boss)

    assert trail() == [
        ("boss", "foxes", "member_added", None, {"role": "annotator"}),
        ("boss", "foxes", "member_role_changed", {"role": "annotator"}, {"role": "reviewer"}),
        ("boss", "foxes", "member_removed", {"role": "reviewer"}, {"leases_ended": 0}),
    ]
    assert set(AuditEvent.objects.values_list("target", flat=True)) == {"ann"}


def test_the_trail_is_append_only_in_the_database() -> None:
    project = make_project()
    add_member(project, make_user("ann"), ProjectRole.ANNOTATOR)
    event = AuditEvent.objects.get()

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(target="someone else")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get().target == "ann"


def test_threshold_changes_are_recorded_and_the_pages_show_the_trail() -> None:
    project, other = make_project(), make_project("owls", open_to_annotators=False)
    boss, admin = make_user("boss"), make_user("root", Role.ADMIN)
    add_member(project, boss, ProjectRole.MANAGER)
    add_member(other, make_user("carl"), ProjectRole.ANNOTATOR, by=admin)
    page = Client()
    page.force_login(boss)
    form = {
        "min_agreement": "0.7", "min_gold_accuracy": "0.5", "max_position_bias": "0.2",
        "min_self_consistency": "0.5", "min_median_seconds": "1", "min_judgments": "20",
        "repeat_rate": "0.05", "repeat_after_hours": "24",
    }  # fmt: skip

    saved = page.post(reverse("quality-dashboard", args=["foxes"]), form)

    assert saved.status_code == HTTPStatus.FOUND
    event = AuditEvent.objects.get(action="thresholds_changed")
    assert (event.actor_name, event.project_slug) == ("boss", "foxes")
    assert event.after is not None and event.before is not None
    assert event.after["min_agreement"] == 0.7 and "min_agreement" in event.before
    mine = page.get(reverse("project-audit", args=["foxes"])).content.decode()
    assert "<td>Quality thresholds changed</td>" in mine and "carl" not in mine
    assert page.get(reverse("project-audit", args=["owls"])).status_code == HTTPStatus.NOT_FOUND
    everything = Client()
    everything.force_login(admin)
    platform = everything.get(reverse("platform-audit")).content.decode()
    assert "<td>Quality thresholds changed</td>" in platform and "carl" in platform
    only_members = everything.get(reverse("platform-audit"), {"action": "member_added"})
    assert "<td>Quality thresholds changed</td>" not in only_members.content.decode()
