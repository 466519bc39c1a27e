"""Uploading a batch in a real browser, as a project's manager on a phone: the upload is
answered with its import's page, which follows the worker (run here) on its own until the
batch is imported, without sideways scrolling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from annotation.intake import import_batch, run_import_job
from annotation.models import Batch, ImportJob, Project, ProjectRole
from tests.factories.batches import write_batch, zip_folder
from tests.factories.users import make_user, member_of


def test_a_manager_uploads_on_a_phone_and_the_page_follows_the_import(
    page_for: Any, tmp_path: Path
) -> None:
    import_batch(write_batch(tmp_path / "first", groups=1), "foxes")
    boss = make_user("boss")
    member_of(Project.objects.get(slug="foxes"), boss, ProjectRole.MANAGER)
    archive = zip_folder(
        write_batch(tmp_path / "second", groups=3, seed=5, prompt="a grey fox, number {n}"),
        tmp_path / "second.zip",
    )
    page = page_for(boss, phone=True)
    page.goto("/manage/")
    page.get_by_label("File").set_input_files(str(archive))
    page.get_by_label("Project:").select_option("foxes")
    page.get_by_role("button", name="Upload and import").click()

    expect(page.locator(".job-status")).to_have_text("queued")
    expect(page.get_by_role("status").first).to_contain_text("Upload stored; import")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the import's page scrolls sideways on a phone ({width} px)"
    job = ImportJob.objects.get()
    assert page.url.endswith(f"/manage/imports/{job.pk}/")

    run_import_job(job.pk)  # the worker's part

    expect(page.locator(".job-status")).to_have_text("succeeded", timeout=15_000)
    expect(page.locator(".job-detail")).to_have_text(
        f"Imported batch {Batch.objects.latest('pk').pk} into foxes: 3 prompts, 6 images, 3 tasks."
    )
    expect(page.locator(".job-images-count")).to_have_text("6 of 6")
    expect(page.get_by_role("link", name="Foxes")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
