"""Which text annotators see: the raw prompt by default, the cleaned text if the project says so."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from annotation.intake import ReviewError, set_annotator_prompt
from annotation.models import AnnotatorPrompt, Project, Prompt, Role
from annotation.projects.accounts import add_user
from tests.conftest import client_for
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db

RAW = "a red fox in snow, highly detailed, 8k, trending on artstation, 35mm"


def _project_with_a_cleaned_prompt() -> Project:
    project = make_project()
    [task] = make_tasks(project, 1, wanted=5)
    Prompt.objects.filter(pk=task.prompt_id).update(raw_text=RAW, cleaned_text="a red fox in snow")
    return project


def _served_prompt(project: Project, name: str) -> str:
    user = add_user(name, Role.ANNOTATOR, password="correct-horse-battery-9").user
    response = client_for(user).get(reverse("next", args=[project.slug]))
    assert response.status_code == HTTPStatus.OK, response.content
    return response.json()["prompt"]


def test_annotators_see_the_raw_prompt_by_default() -> None:
    project = _project_with_a_cleaned_prompt()
    assert project.annotator_prompt == AnnotatorPrompt.RAW
    assert _served_prompt(project, "ann1") == RAW


def test_a_project_can_show_the_cleaned_text_and_back() -> None:
    project = _project_with_a_cleaned_prompt()
    set_annotator_prompt(project, AnnotatorPrompt.CLEANED)
    assert _served_prompt(project, "ann1") == "a red fox in snow"
    # A prompt never cleaned falls back to its raw text.
    Prompt.objects.filter(project=project).update(cleaned_text="")
    assert _served_prompt(project, "ann2") == RAW
    set_annotator_prompt(project, AnnotatorPrompt.RAW)
    Prompt.objects.filter(project=project).update(cleaned_text="a red fox in snow")
    assert _served_prompt(project, "ann3") == RAW


def test_a_bad_choice_is_refused_and_nothing_changes() -> None:
    project = _project_with_a_cleaned_prompt()
    with pytest.raises(ReviewError, match="is not one of raw, cleaned"):
        set_annotator_prompt(project, "tidy")
    project.refresh_from_db()
    assert project.annotator_prompt == AnnotatorPrompt.RAW


def test_the_admin_sets_it_on_the_prompt_review_page_and_the_api_reports_it() -> None:
    project = _project_with_a_cleaned_prompt()
    admin = Client()
    admin.force_login(add_user("boss", Role.ADMIN, password="correct-horse-battery-9").user)
    page = admin.get(reverse("prompt-review", args=[project.slug]))
    assert b"Annotators see" in page.content
    url = reverse("prompt-annotator-text", args=[project.slug])
    response = admin.post(url, {"annotator_prompt": "cleaned"})
    assert response.status_code == HTTPStatus.FOUND
    project.refresh_from_db()
    assert project.annotator_prompt == AnnotatorPrompt.CLEANED
    detail = admin.get(reverse("project-detail", args=[project.slug]))
    assert detail.json()["annotator_prompt"] == "cleaned"
    # A bad value changes nothing and says what to choose.
    response = admin.post(url, {"annotator_prompt": "tidy"}, follow=True)
    assert b"choose the raw prompt or the cleaned text" in response.content
    project.refresh_from_db()
    assert project.annotator_prompt == AnnotatorPrompt.CLEANED
    annotator = Client()
    annotator.force_login(add_user("ann", Role.ANNOTATOR, password="correct-horse-battery-9").user)
    assert annotator.post(url, {"annotator_prompt": "raw"}).status_code == HTTPStatus.FORBIDDEN
    project.refresh_from_db()
    assert project.annotator_prompt == AnnotatorPrompt.CLEANED
