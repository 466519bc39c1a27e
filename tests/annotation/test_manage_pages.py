"""/manage/ (admins upload batches in the browser; the import runs on a worker, run here
as one would, and its page follows it) and a project's page."""

from __future__ import annotations

import os
import re
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotation.intake import import_batch, run_import_job
from annotation.models import Batch, Image, ImportJob, Project, ProjectRole, User
from annotation.views.manage import NEW_PROJECT
from tests.factories.batches import (
    database_state,
    media_state,
    write_batch,
    write_manifest,
    zip_folder,
)
from tests.factories.users import member_of

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def zip_upload(folder: Path, name: str = "batch.zip") -> SimpleUploadedFile:
    archive = zip_folder(folder, folder.parent / name)
    return SimpleUploadedFile(name, archive.read_bytes(), content_type="application/zip")


def imported(client: Client, response: Any) -> Any:
    """The job page an accepted upload redirects to, after a worker ran the job."""
    assert response.status_code == HTTPStatus.FOUND, response.content
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("import-job", kwargs={"pk": job.pk})
    queued = client.get(response["Location"]).content.decode()
    assert "Upload stored; import" in queued and "Waiting for a worker" in queued
    run_import_job(job.pk)
    return client.get(response["Location"])


def test_an_admin_uploads_a_batch_and_sees_it_listed(tmp_path: Path, admin_user: User) -> None:
    client = logged_in(admin_user)
    upload = zip_upload(write_batch(tmp_path / "b", groups=3))

    response = imported(
        client,
        client.post(
            reverse("manage"),
            {"file": upload, "project": NEW_PROJECT, "new_project": "foxes", "split": "train"},
        ),
    )

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Imported batch" in page and "3 prompts, 6 images, 3 tasks" in page
    assert '<strong class="job-status">succeeded</strong>' in page
    batch = Batch.objects.get()
    assert (batch.project.slug, batch.uploaded_by, batch.source_name) == (
        "foxes",
        admin_user,
        "batch.zip",
    )
    assert reverse("project-page", kwargs={"slug": "foxes"}) in page


def test_a_bad_upload_lists_every_problem_and_stores_nothing(
    tmp_path: Path, admin_user: User, media_root: Path
) -> None:
    folder = write_batch(tmp_path / "b", groups=2)
    write_manifest(
        folder,
        [
            {"prompt": "", "images": [{"path": "img/0000-0.png"}, {"path": "img/0000-1.png"}]},
            "not json",
        ],
    )
    (folder / "img" / "0001-1.png").write_bytes(b"")
    before = (database_state(), media_state(media_root))

    client = logged_in(admin_user)
    response = imported(
        client,
        client.post(
            reverse("manage"),
            {
                "file": zip_upload(folder),
                "project": NEW_PROJECT,
                "new_project": "foxes",
                "split": "train",
            },
        ),
    )

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert '<strong class="job-status">failed</strong>' in page
    assert "nothing was imported" in page
    assert "manifest.jsonl line 1</code>: &#x27;prompt&#x27; is empty" in page
    assert "manifest.jsonl line 2</code>: is not valid JSON" in page
    assert (
        "<code>img/0001-0.png</code>, <code>img/0001-1.png</code> (2 in all): is in the batch "
        "but no manifest line uses it"
    ) in page
    assert (database_state(), media_state(media_root)) == before


def test_the_upload_form_reports_a_missing_file_and_a_bad_slug(admin_user: User) -> None:
    response = logged_in(admin_user).post(
        reverse("manage"), {"project": "not a slug!", "split": "train"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    form = response.context["form"]
    assert set(form.errors) == {"file", "project"}
    assert Batch.objects.count() == 0


@pytest.mark.parametrize("role", ["annotator", "researcher"])
def test_only_admins_may_open_manage(
    role: str, annotator_user: User, researcher_user: User
) -> None:
    user = annotator_user if role == "annotator" else researcher_user

    assert logged_in(user).get(reverse("manage")).status_code == HTTPStatus.FORBIDDEN


def test_anonymous_users_are_sent_to_log_in() -> None:
    response = Client().get(reverse("manage"))

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


def test_a_researcher_sees_a_project_with_its_batches_and_images(
    tmp_path: Path, researcher_user: User, annotator_user: User
) -> None:
    import_batch(write_batch(tmp_path / "b", groups=2), "foxes")
    project = Project.objects.get(slug="foxes")
    member_of(project, researcher_user, ProjectRole.RESEARCHER)
    member_of(project, annotator_user, ProjectRole.ANNOTATOR)
    url = reverse("project-page", kwargs={"slug": "foxes"})

    page = logged_in(researcher_user).get(url).content.decode()

    assert "a red fox in the snow, number 1" in page
    for image in Image.objects.all():
        assert reverse("media-file", kwargs={"path": image.file}) in page
    assert logged_in(annotator_user).get(url).status_code == HTTPStatus.FORBIDDEN
    assert (
        logged_in(researcher_user).get(reverse("project-page", kwargs={"slug": "nope"})).status_code
        == HTTPStatus.NOT_FOUND
    )


def test_an_oversized_upload_is_refused_before_its_body_is_read(
    admin_user: User, settings: Any, media_root: Path
) -> None:
    settings.IMPORT_MAX_ARCHIVE_BYTES = 1000
    client = Client(enforce_csrf_checks=True)  # CSRF would read the body: we answer first
    client.force_login(admin_user)
    body = os.urandom(100_000)
    before = (database_state(), media_state(media_root))

    page = client.post(
        reverse("manage"),
        {"file": SimpleUploadedFile("big.zip", body), "project": "p", "split": "train"},
    )
    api = client.post(
        reverse("project-batches", kwargs={"slug": "p"}),
        {"file": SimpleUploadedFile("big.zip", body)},
    )

    assert page.status_code == api.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "over the limit of 1000 bytes (IMPORT_MAX_ARCHIVE_BYTES)" in page.content.decode()
    assert "over the limit of 1000 bytes (IMPORT_MAX_ARCHIVE_BYTES)" in api.json()["detail"]
    assert (database_state(), media_state(media_root)) == before


def test_an_upload_with_a_maximum_collects_adaptively_and_the_pages_say_so(
    tmp_path: Path, admin_user: User
) -> None:
    client = logged_in(admin_user)
    upload = zip_upload(write_batch(tmp_path / "b", groups=2))

    response = client.post(
        reverse("manage"),
        {
            "file": upload,
            "project": NEW_PROJECT,
            "new_project": "foxes",
            "split": "train",
            "judgments_per_task": 2,
            "max_judgments_per_task": 4,
        },
    )

    assert imported(client, response).status_code == HTTPStatus.OK
    batch = Batch.objects.get()
    assert (batch.judgments_per_task, batch.judgments_maximum) == (2, 4)
    listing = client.get(reverse("manage")).content.decode()
    assert '<td data-label="Judgments per task">2 to 4</td>' in listing
    page = client.get(reverse("project-page", kwargs={"slug": "foxes"})).content.decode()
    assert "2 to 4 judgments per task by default, more only while they disagree" in page


def test_a_mistyped_project_is_refused_not_created_and_the_file_must_be_chosen_again(
    tmp_path: Path, admin_user: User, media_root: Path
) -> None:
    import_batch(write_batch(tmp_path / "first", groups=1), "foxes")
    before = (database_state(), media_state(media_root))
    client = logged_in(admin_user)

    typo = client.post(
        reverse("manage"),
        {"file": zip_upload(write_batch(tmp_path / "b", groups=2)), "project": "foxs",
         "split": "train"},
    )  # fmt: skip

    assert typo.status_code == HTTPStatus.BAD_REQUEST
    assert typo.context["form"].errors["project"] == [
        "foxs is not a project you may upload into: choose one from the list."
    ]
    page = typo.content.decode()
    assert "Your file <code>batch.zip</code> was not kept" in page
    assert '<option value="foxes">Foxes (foxes)</option>' in page
    assert (database_state(), media_state(media_root)) == before
    assert not Project.objects.filter(slug="foxs").exists()


@pytest.mark.parametrize(
    ("new_project", "error"),
    [
        ("", "Give the new project's slug, or choose an existing project above."),
        ("foxes", "A project 'foxes' exists already: choose it in the list above."),
    ],
)
def test_a_new_project_is_an_explicit_choice_with_a_fresh_slug(
    new_project: str, error: str, tmp_path: Path, admin_user: User
) -> None:
    import_batch(write_batch(tmp_path / "first", groups=1), "foxes")

    response = logged_in(admin_user).post(
        reverse("manage"),
        {"file": zip_upload(write_batch(tmp_path / "b", groups=2)), "project": NEW_PROJECT,
         "new_project": new_project, "split": "train"},
    )  # fmt: skip

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.context["form"].errors == {"new_project": [error]}
    assert Batch.objects.count() == 1


def test_a_manager_chooses_among_their_projects_and_may_not_create_one(
    tmp_path: Path, researcher_user: User
) -> None:
    import_batch(write_batch(tmp_path / "first", groups=1), "foxes")
    import_batch(write_batch(tmp_path / "second", groups=1, prompt="an owl, number {n}"), "owls")
    member_of(Project.objects.get(slug="foxes"), researcher_user, ProjectRole.MANAGER)
    client = logged_in(researcher_user)

    form = client.get(reverse("manage")).context["form"]
    assert [value for value, _label in form.fields["project"].choices] == ["", "foxes"]
    assert "new_project" not in form.fields
    refused = client.post(
        reverse("manage"),
        {"file": zip_upload(write_batch(tmp_path / "b", groups=2)), "project": NEW_PROJECT,
         "new_project": "moths", "split": "train"},
    )  # fmt: skip
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert set(refused.context["form"].errors) == {"project"}
    assert not Project.objects.filter(slug="moths").exists()


def test_a_problem_repeated_in_many_files_is_one_line(tmp_path: Path, admin_user: User) -> None:
    folder = write_batch(tmp_path / "b", groups=8)
    import_batch(folder, "foxes")
    client = logged_in(admin_user)
    again = imported(
        client,
        client.post(
            reverse("manage"),
            {"file": zip_upload(folder, "again.zip"), "project": "foxes", "split": "train"},
        ),
    )

    page = again.content.decode()
    assert '<strong class="job-status">failed</strong>' in page
    lines = re.findall(r"<li>(.*?)</li>", page.split('class="problems"')[1].split("</ul>")[0])
    assert len(lines) == 1, lines
    assert lines[0].startswith("<code>img/0000-0.png</code>, <code>img/0000-1.png</code>")
    assert "and 11 more (16 in all): is already in project &#x27;foxes&#x27;" in lines[0]


@pytest.mark.parametrize(
    ("role", "linked"),
    [(ProjectRole.MANAGER, True), (ProjectRole.REVIEWER, True), (ProjectRole.ANNOTATOR, False)],
)
def test_the_header_links_manage_for_whoever_may_open_it(
    role: str, linked: bool, tmp_path: Path, annotator_user: User
) -> None:
    import_batch(write_batch(tmp_path / "first", groups=1), "foxes")
    member_of(Project.objects.get(slug="foxes"), annotator_user, role)
    client = logged_in(annotator_user)

    home = client.get(reverse("home")).content.decode()

    assert (f'<a href="{reverse("manage")}">Manage</a>' in home) is linked
    assert client.get(reverse("manage")).status_code == (
        HTTPStatus.OK if linked else HTTPStatus.FORBIDDEN
    )
