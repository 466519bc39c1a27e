"""The annotator's page, the home page link to it, and the admin's flag review list."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.judging import next_assignment
from annotation.models import Batch, Image, ImageFlag, Judgment, Prompt, Role, Task, User
from annotation.projects.accounts import add_user
from tests.factories.batches import image_ids
from tests.factories.judging import judge
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import make_user

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_home_links_every_project_to_its_annotation_page(annotator_user: User) -> None:
    make_project()

    page = logged_in(annotator_user).get(reverse("home")).content.decode()

    assert f'href="{reverse("annotate", args=["foxes"])}"' in page


def test_annotate_page_carries_its_api_urls_guidelines_and_script(annotator_user: User) -> None:
    make_project()

    response = logged_in(annotator_user).get(reverse("annotate", args=["foxes"]))

    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert 'data-next-url="/api/v1/projects/foxes/next/"' in page
    assert 'data-submit-url="/api/v1/assignments/0/submit/"' in page
    assert "Aesthetics and fidelity come first" in page
    assert '<script src="/static/js/annotate.js" defer></script>' in page
    assert "<script>" not in page  # no inline script: a strict CSP comes later
    assert response.cookies.get("csrftoken") is not None


def test_annotate_page_needs_a_login_and_an_existing_project(annotator_user: User) -> None:
    anonymous = Client().get(reverse("annotate", args=["foxes"]))
    missing = logged_in(annotator_user).get(reverse("annotate", args=["nope"]))

    assert anonymous.status_code == HTTPStatus.FOUND
    assert anonymous["Location"].startswith(reverse("login"))
    assert missing.status_code == HTTPStatus.NOT_FOUND


def test_admin_restores_a_withdrawn_image_and_its_tasks(admin_user: User) -> None:
    project = make_project()
    [task, held] = make_tasks(project, 2)
    image = task.task_images.get(position=0).image
    held.task_images.filter(position=0).update(image=image)
    Prompt.objects.filter(pk=held.prompt_id).update(is_held=True)
    Image.objects.filter(pk=image.pk).update(is_withdrawn=True)
    Task.objects.update(is_active=False)
    ImageFlag.objects.create(image=image, annotator=admin_user, kind="unsafe")
    client = logged_in(admin_user)

    listing = client.get(reverse("flagged-images")).content.decode()
    restored = client.post(reverse("flagged-images"), {"image": image.pk}, follow=True)

    assert f"Restore image {image.pk}" in listing
    assert "1 task(s) reactivated" in restored.content.decode()
    assert not Image.objects.get(pk=image.pk).is_withdrawn
    # The task whose prompt is held for a safety review stays out of circulation.
    assert set(Task.objects.filter(is_active=True)) == {task}
    assert ImageFlag.objects.get().is_cleared


def test_flag_review_is_for_admins_only(annotator_user: User) -> None:
    response = logged_in(annotator_user).get(reverse("flagged-images"))

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_restore_without_an_image_says_what_is_missing(admin_user: User) -> None:
    response = logged_in(admin_user).post(reverse("flagged-images"), {}, follow=True)

    assert "id was missing" in response.content.decode()


def test_flag_review_lists_nothing_when_nothing_is_withdrawn() -> None:
    admin = add_user("boss", Role.ADMIN, password="correct-horse-battery-9").user

    page = logged_in(admin).get(reverse("flagged-images")).content.decode()

    assert "No image is withdrawn." in page


def test_the_annotator_sees_their_own_progress_and_what_is_left_for_them() -> None:
    project = make_project(judgments_per_task=2)
    first, second, _third = make_tasks(project, 3)
    make_tasks(project, 1, status=Batch.Status.IMPORTED)  # not ready: left for no one yet
    me, other = make_user("me"), make_user("other")
    yesterday = judge(first, me, image_ids(first))
    Judgment.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(days=1))
    judge(second, me, image_ids(second))
    next_assignment(project, other)  # another's lease leaves the task open to me

    page = logged_in(me).get(reverse("annotate", args=["foxes"])).content.decode()
    home = logged_in(me).get(reverse("home")).content.decode()
    fresh = logged_in(other).get(reverse("home")).content.decode()

    assert 'data-done="2" data-today="1" data-left="1"' in page
    assert '2 judged in this project</span> · <span id="today">1 today</span>' in page
    assert '<span id="left">1 left for you</span>' in page
    assert '<td data-label="Left for you">1 task</td>' in home
    assert '<td data-label="Judged by you">2</td>' in home
    # The other annotator holds a lease on one of the three: two are left for them.
    assert '<td data-label="Left for you">2 tasks</td>' in fresh
    assert '<td data-label="Judged by you">0</td>' in fresh
