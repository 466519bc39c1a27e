"""Project membership: adding and removing members (services, commands, API, page),
closed and open projects, the data migration for existing deployments."""

from __future__ import annotations

import importlib
from http import HTTPStatus
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from annotation.intake import import_batch
from annotation.judging import NotAMember, next_assignment
from annotation.models import (
    Assignment,
    AssignmentStatus,
    Judgment,
    Membership,
    Project,
    ProjectRole,
    Role,
    User,
)
from annotation.projects import (
    MembershipError,
    add_member,
    remove_member,
    set_open_to_annotators,
)
from tests.conftest import client_for
from tests.factories.batches import image_ids, write_batch
from tests.factories.judging import judge
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import make_user

pytestmark = pytest.mark.django_db


def roles_in(project: Project) -> dict[str, str]:
    return dict(Membership.objects.filter(project=project).values_list("user__username", "role"))


def test_add_member_is_idempotent_and_changes_the_role() -> None:
    project = make_project(open_to_annotators=False)
    ann = make_user("ann")

    first = add_member(project, ann, ProjectRole.ANNOTATOR)
    again = add_member(project, ann, ProjectRole.ANNOTATOR)
    changed = add_member(project, ann, ProjectRole.REVIEWER)

    assert (first.created, again.created, changed.created) == (True, False, False)
    assert changed.previous_role == ProjectRole.ANNOTATOR
    assert roles_in(project) == {"ann": "reviewer"}
    with pytest.raises(MembershipError, match="unknown project role 'boss'; use one of"):
        add_member(project, ann, "boss")
    assert roles_in(project) == {"ann": "reviewer"}


def test_a_closed_project_leases_nothing_to_a_non_member_and_an_open_one_does() -> None:
    project = make_project(open_to_annotators=False)
    make_tasks(project, 2)
    outsider, member = make_user("outsider"), make_user("member")
    add_member(project, member, ProjectRole.ANNOTATOR)

    with pytest.raises(NotAMember):
        next_assignment(project, outsider)
    assert next_assignment(project, member) is not None
    assert not Assignment.objects.filter(annotator=outsider).exists()

    set_open_to_annotators(project, True)
    lease = next_assignment(project, outsider)
    assert lease is not None
    # Closing it again ends the non-member's lease; the member's stays.
    set_open_to_annotators(project, False)
    statuses = dict(Assignment.objects.values_list("annotator__username", "status"))
    assert statuses == {"outsider": AssignmentStatus.EXPIRED, "member": AssignmentStatus.LEASED}


def test_removing_an_annotator_ends_their_leases_and_keeps_their_judgments() -> None:
    project = make_project(open_to_annotators=False)
    first, _second = make_tasks(project, 2)
    ann = make_user("ann")
    judged = judge(first, ann, image_ids(first))  # judge() makes ann a member
    lease = next_assignment(project, ann)
    assert lease is not None

    removal = remove_member(project, ann)

    assert (removal.removed, removal.previous_role, removal.leases_ended) == (True, "annotator", 1)
    assert Assignment.objects.get(pk=lease.assignment.pk).status == AssignmentStatus.EXPIRED
    assert list(Judgment.objects.filter(annotator=ann)) == [judged]
    with pytest.raises(NotAMember):
        next_assignment(project, ann)
    # The submit of the ended lease is refused as for a project they cannot see.
    response = client_for(ann).post(
        reverse("assignment-submit", args=[lease.assignment.pk]),
        {"ranking": image_ids(_second), "duration_ms": 900},
        format="json",
        headers={"Idempotency-Key": "after-removal"},
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert Judgment.objects.filter(annotator=ann).count() == 1
    assert remove_member(project, ann).removed is False  # idempotent


def test_the_last_manager_stays_while_the_project_has_other_members() -> None:
    project = make_project(open_to_annotators=False)
    boss, ann = make_user("boss"), make_user("ann")
    add_member(project, boss, ProjectRole.MANAGER)
    add_member(project, ann, ProjectRole.ANNOTATOR)

    with pytest.raises(MembershipError, match="last manager of foxes; make another member"):
        remove_member(project, boss)
    assert roles_in(project) == {"boss": "manager", "ann": "annotator"}


def test_a_new_project_starts_with_its_creator_as_manager(tmp_path: Path) -> None:
    creator = make_user("uploader", Role.ADMIN)
    import_batch(write_batch(tmp_path / "b", groups=1), "fresh", uploaded_by=creator)
    assert roles_in(Project.objects.get(slug="fresh")) == {"uploader": "manager"}


def test_the_commands_add_change_and_remove_members() -> None:
    project = make_project(open_to_annotators=False)
    make_user("ann")

    def run(*args: str) -> str:
        out = StringIO()
        call_command(*args, stdout=out)
        return out.getvalue().strip()

    args = ["--project", "foxes", "--user", "ann"]
    assert run("add_member", *args, "--role", "annotator") == "added 'ann' to foxes as annotator"
    assert run("add_member", *args, "--role", "annotator") == (
        "'ann' is already annotator in foxes"
    )
    assert run("add_member", *args, "--role", "researcher") == (
        "'ann' in foxes: annotator -> researcher"
    )
    assert roles_in(project) == {"ann": "researcher"}
    assert run("remove_member", *args).startswith("removed 'ann' from foxes (was researcher")
    assert run("remove_member", *args) == "'ann' was not a member of foxes"
    with pytest.raises(CommandError, match="no user 'nobody'; create the account first"):
        run("add_member", "--project", "foxes", "--user", "nobody", "--role", "annotator")
    with pytest.raises(CommandError, match="no project 'nope'"):
        run("add_member", "--project", "nope", "--user", "ann", "--role", "annotator")


def test_the_members_api_lists_adds_searches_and_removes() -> None:
    project = make_project(open_to_annotators=False)
    boss = make_user("boss")
    add_member(project, boss, ProjectRole.MANAGER)
    make_user("carol")
    api = client_for(boss)
    url = reverse("project-members-api", args=["foxes"])

    added = api.post(url, {"username": "carol", "role": "annotator"}, format="json")
    changed = api.post(url, {"username": "carol", "role": "reviewer"}, format="json")
    unknown = api.post(url, {"username": "dave", "role": "annotator"}, format="json")
    bad_role = api.post(url, {"username": "carol", "role": "boss"}, format="json")

    assert (added.status_code, changed.status_code) == (HTTPStatus.CREATED, HTTPStatus.OK)
    assert changed.data["role"] == "reviewer"
    assert unknown.status_code == HTTPStatus.BAD_REQUEST
    assert "no user 'dave'" in unknown.data["username"][0]
    assert bad_role.status_code == HTTPStatus.BAD_REQUEST
    assert [m["username"] for m in api.get(url).data] == ["boss", "carol"]
    assert [m["username"] for m in api.get(url, {"search": "car"}).data] == ["carol"]
    gone = api.delete(reverse("project-member-api", args=["foxes", "carol"]))
    assert gone.data == {"username": "carol", "removed": True, "leases_ended": 0}
    assert roles_in(project) == {"boss": "manager"}


def test_the_members_page_searches_changes_a_role_and_removes() -> None:
    project = make_project(open_to_annotators=False)
    boss = make_user("boss")
    add_member(project, boss, ProjectRole.MANAGER)
    for name in ("carol", "carla", "dave"):
        add_member(project, make_user(name), ProjectRole.ANNOTATOR)
    page = Client()
    page.force_login(boss)
    url = reverse("project-members", args=["foxes"])

    found = page.get(url, {"q": "car"}).content.decode()
    assert "carol" in found and "carla" in found and "dave" not in found
    assert "No member matches" in page.get(url, {"q": "zed"}).content.decode()
    page.post(url, {"action": "role", "username": "carol", "role": "researcher"})
    page.post(url, {"action": "remove", "username": "dave"})
    refused = page.post(url, {"action": "add", "username": "nobody", "role": "annotator"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "No user &#x27;nobody&#x27;" in refused.content.decode()
    assert roles_in(project) == {"boss": "manager", "carol": "researcher", "carla": "annotator"}


def test_the_migration_makes_every_user_a_member_of_every_project_in_their_role() -> None:
    first, second = make_project("first"), make_project("second")
    for name, role in (("ann", Role.ANNOTATOR), ("rex", Role.RESEARCHER), ("ada", Role.ADMIN)):
        make_user(name, role)
    migration = importlib.import_module("annotation.migrations.0006_project_membership")

    migration.every_user_joins_every_project(apps, None)
    migration.every_user_joins_every_project(apps, None)  # a rerun adds nothing

    expected = {"ann": "annotator", "rex": "researcher", "ada": "manager"}
    assert roles_in(first) == expected
    assert roles_in(second) == expected
    assert Membership.objects.count() == 6
    assert User.objects.count() == 3
