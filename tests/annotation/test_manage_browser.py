"""/manage/ in a real Chromium: a new project only as an explicit choice, the upload sent
with a progress bar and its answer (the import's page, followed while the worker, run
here, imports it) shown, and a processing batch followed until ready."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from annotation.intake import run_import_job
from annotation.models import Batch, ImportJob, Project, Role
from tests.factories.batches import write_batch, zip_folder
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_new_project_is_chosen_explicitly_and_the_upload_shows_its_progress(
    page_for: Any, tmp_path: Path
) -> None:
    make_project("owls")
    archive = zip_folder(write_batch(tmp_path / "b", groups=2), tmp_path / "foxes.zip")
    page = page_for(make_user("boss", Role.ADMIN))
    page.goto("/manage/")
    slug = page.get_by_label("New project's slug")
    expect(slug).to_be_hidden()
    page.get_by_label("Project:").select_option(label="A new project (give its slug below)")
    expect(slug).to_be_visible()
    slug.fill("foxes")
    page.get_by_label("File:").set_input_files(str(archive))
    with page.expect_request(lambda r: r.method == "POST") as sent:
        page.get_by_role("button", name="Upload and import").click()
    assert sent.value.resource_type == "xhr"  # sent by static/js/manage.js, with progress
    expect(page.locator(".job-status")).to_have_text("queued")
    job = ImportJob.objects.get()
    assert page.url.endswith(f"/manage/imports/{job.pk}/")
    run_import_job(job.pk)  # the worker's part
    expect(page.locator(".job-detail")).to_contain_text("into foxes: 2 prompts", timeout=15_000)
    assert Batch.objects.get().project.slug == "foxes"


def test_a_mistyped_slug_never_reaches_the_server_as_a_new_project(
    page_for: Any, tmp_path: Path
) -> None:
    make_project("owls")
    archive = zip_folder(write_batch(tmp_path / "b", groups=2), tmp_path / "owls.zip")
    page = page_for(make_user("boss", Role.ADMIN))
    page.goto("/manage/")
    page.get_by_label("File:").set_input_files(str(archive))
    page.get_by_role("button", name="Upload and import").click()  # no project chosen
    assert page.locator("#id_project").evaluate("choice => choice.validity.valueMissing")
    assert Batch.objects.count() == 0
    page.get_by_label("Project:").select_option("owls")
    page.get_by_role("button", name="Upload and import").click()
    expect(page.locator(".job-status")).to_have_text("queued")
    run_import_job(ImportJob.objects.get().pk)
    expect(page.locator(".job-detail")).to_contain_text("into owls", timeout=15_000)
    assert list(Project.objects.values_list("slug", flat=True)) == ["owls"]


def test_a_processing_batch_shows_ready_without_a_reload(page_for: Any) -> None:
    project = make_project("owls")
    make_tasks(project, 1, status=Batch.Status.IMPORTED)
    page = page_for(make_user("boss", Role.ADMIN))
    page.goto("/manage/")
    status = page.locator("table.batches [data-batch-status]")
    expect(status).to_have_text("Imported, processing pending")
    Batch.objects.update(status=Batch.Status.READY)
    expect(status).to_have_text("Ready", timeout=10_000)
