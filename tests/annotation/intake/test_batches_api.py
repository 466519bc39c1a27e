"""POST/GET /api/v1/projects/{slug}/batches/: uploads (answered 202 with an import job, run
here as a worker would), rejections, and who may do what."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.intake import run_import_job
from annotation.models import Batch, Image, ImportJob, Project, User
from annotation.projects.accounts import add_user
from tests.conftest import client_for
from tests.factories.batches import (
    database_state,
    media_state,
    png_bytes,
    write_batch,
    write_manifest,
    zip_folder,
)
from tests.factories.users import member_of

pytestmark = pytest.mark.django_db

SLUG = "foxes"
PNG_FILES = 4  # a valid_zip() holds two pairwise groups


def batches_url(slug: str = SLUG) -> str:
    return reverse("project-batches", kwargs={"slug": slug})


def valid_zip(tmp_path: Path, seed: int = 1, name: str = "upload.zip") -> bytes:
    prompt = f"a red fox in the snow, batch {seed}, number {{n}}"
    folder = write_batch(tmp_path / f"batch-{seed}", groups=2, seed=seed, prompt=prompt)
    return zip_folder(folder, tmp_path / name).read_bytes()


def bad_zip(tmp_path: Path) -> bytes:
    """Two problems: a text file named .png, and a manifest line naming a missing image."""
    folder = write_batch(tmp_path / "bad", groups=2, seed=7)
    (folder / "img/0000-1.png").write_bytes(b"not an image at all")
    (folder / "img/0001-1.png").unlink()
    return zip_folder(folder, tmp_path / "bad.zip").read_bytes()


def upload(
    client: APIClient, data: bytes | None, slug: str = SLUG, name: str = "upload.zip", **fields: Any
) -> Any:
    payload: dict[str, Any] = dict(fields)
    if data is not None:
        payload["file"] = SimpleUploadedFile(name, data, content_type="application/zip")
    return client.post(batches_url(slug), payload, format="multipart")


def imported(client: APIClient, response: Any) -> dict[str, Any]:
    """The job of an accepted upload, after a worker ran it, as its endpoint shows it."""
    assert response.status_code == HTTPStatus.ACCEPTED, response.content
    job = response.json()
    assert response["Location"] == job["url"] == f"/api/v1/imports/{job['id']}/"
    assert job["status"] == "queued"
    run_import_job(job["id"])
    followed = client.get(job["url"])
    assert followed.status_code == HTTPStatus.OK
    body: dict[str, Any] = followed.json()
    return body


def masked(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: ("<masked>" if key in keys else value) for key, value in payload.items()}


def rejection(count: int) -> str:
    return f"{count} problem(s) found; nothing was imported. Fix them all and upload again."


# --- uploads by an admin ---------------------------------------------------------------


def test_admin_uploads_a_valid_zip_and_gets_the_summary(
    tmp_path: Path, media_root: Path, admin_user: User
) -> None:
    admin = client_for(admin_user)
    job = imported(admin, upload(admin, valid_zip(tmp_path), judgments_per_task=3))

    assert job["status"] == "succeeded"
    body = job["summary"]
    batch = Batch.objects.get()
    assert job["batch"] == batch.pk
    assert job["detail"] == f"Imported batch {batch.pk} into {SLUG}: 2 prompts, 4 images, 2 tasks."
    assert masked(body, "seconds") == {
        "batch": batch.pk,
        "project": SLUG,
        "created_project": True,
        "task_type": "pairwise",
        "split": "train",
        "judgments_per_task": 3,
        "max_judgments_per_task": 3,
        "prompts": 2,
        "images": 4,
        "tasks": 2,
        "seconds": "<masked>",
    }
    assert isinstance(body["seconds"], float) and body["seconds"] >= 0
    assert (batch.uploaded_by, batch.source_name, batch.split) == (
        admin_user,
        "upload.zip",
        "train",
    )
    stored = [path for path in media_state(media_root) if path.endswith(".png")]
    assert stored == sorted(image.file for image in Image.objects.all())
    assert len(stored) == PNG_FILES


def test_the_new_project_is_listed_with_its_counts(
    tmp_path: Path, admin_user: User, annotator_user: User
) -> None:
    admin = client_for(admin_user)
    assert imported(admin, upload(admin, valid_zip(tmp_path, seed=1)))["status"] == "succeeded"
    second = imported(
        admin, upload(admin, valid_zip(tmp_path, seed=2, name="second.zip"), split="test")
    )
    assert second["status"] == "succeeded", second
    assert second["summary"]["created_project"] is False

    member_of(Project.objects.get(slug=SLUG), annotator_user)
    response = client_for(annotator_user).get(reverse("project-list"))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    body["results"] = [masked(project, "created_at") for project in body["results"]]
    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "slug": SLUG,
                "name": "Foxes",
                "task_type": "pairwise",
                "images_per_task": 2,
                "judgments_per_task": settings.DEFAULT_JUDGMENTS_PER_TASK,
                "max_judgments_per_task": settings.DEFAULT_JUDGMENTS_PER_TASK,
                "consensus_threshold": 0.9,
                "guideline_version": settings.GUIDELINE_VERSION,
                "gold_rate": 0.0,
                "lease_seconds": settings.DEFAULT_LEASE_SECONDS,
                "annotator_prompt": "raw",
                "serving_order": "fifo",
                "allow_ties": False,
                "reason_chips": [],
                "created_at": "<masked>",
                "prompt_count": 4,
                "image_count": 8,
                "task_count": 4,
            }
        ],
    }


def test_a_bad_zip_is_rejected_with_every_problem_and_changes_nothing(
    tmp_path: Path, media_root: Path, admin_user: User
) -> None:
    admin = client_for(admin_user)
    assert imported(admin, upload(admin, valid_zip(tmp_path)))["status"] == "succeeded"
    db_before = database_state()
    media_before = media_state(media_root)

    job = imported(admin, upload(admin, bad_zip(tmp_path), name="bad.zip"))

    assert (job["status"], job["batch"], job["summary"]) == ("failed", None, None)
    assert {"detail": job["detail"], "problems": job["problems"]} == {
        "detail": rejection(2),
        "problems": [
            {
                "where": "img/0000-1.png",
                "message": "is not an image (its content is not PNG, JPEG or WebP, "
                "whatever its name)",
            },
            {
                "where": "manifest.jsonl line 2",
                "message": "image 'img/0001-1.png' is not in the batch; add the file or fix the "
                "path (paths are relative to the manifest's folder)",
            },
        ],
    }
    assert database_state() == db_before
    assert media_state(media_root) == media_before


def test_random_bytes_are_rejected_as_not_a_zip(tmp_path: Path, admin_user: User) -> None:
    admin = client_for(admin_user)
    body = imported(admin, upload(admin, b"PK\x03\x04 but not really", name="broken.zip"))

    assert body["status"] == "failed"
    assert body["detail"] == rejection(1)
    [problem] = body["problems"]
    assert problem["where"] == "broken.zip"
    assert "is not a readable .zip archive" in problem["message"]
    assert database_state()["Project"] == 0


def test_a_batch_for_a_pairwise_project_with_three_images_names_the_line(
    tmp_path: Path, admin_user: User
) -> None:
    admin = client_for(admin_user)
    assert imported(admin, upload(admin, valid_zip(tmp_path)))["status"] == "succeeded"
    folder = tmp_path / "three"
    (folder / "img").mkdir(parents=True)
    images = []
    for k in range(3):
        (folder / f"img/{k}.png").write_bytes(png_bytes(900 + k))
        images.append({"path": f"img/{k}.png", "generator": "g"})
    write_manifest(folder, [{"prompt": "three foxes", "images": images}])
    data = zip_folder(folder, tmp_path / "three.zip").read_bytes()

    job = imported(admin, upload(admin, data, name="three.zip"))

    assert job["status"] == "failed"
    assert job["problems"] == [
        {
            "where": "manifest.jsonl line 1",
            "message": "has 3 images but project 'foxes' is pairwise (2 images per group); "
            "import it into a ranking project",
        }
    ]


# --- malformed requests ----------------------------------------------------------------


def test_missing_file_field_is_a_400_naming_file(admin_user: User) -> None:
    response = upload(client_for(admin_user), None, split="train")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "detail": rejection(1),
        "problems": [{"where": "file", "message": "No file was submitted."}],
    }


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"split": "bogus"}, "split", '"bogus" is not a valid choice.'),
        (
            {"judgments_per_task": 0},
            "judgments_per_task",
            "Ensure this value is greater than or equal to 1.",
        ),
    ],
    ids=["split", "judgments-per-task"],
)
def test_bad_form_fields_are_a_400_naming_the_field(
    tmp_path: Path, admin_user: User, fields: dict[str, Any], where: str, message: str
) -> None:
    response = upload(client_for(admin_user), valid_zip(tmp_path), **fields)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "detail": rejection(1),
        "problems": [{"where": where, "message": message}],
    }
    assert database_state()["Batch"] == 0


def test_a_slug_longer_than_a_project_slug_is_a_400(tmp_path: Path, admin_user: User) -> None:
    response = upload(client_for(admin_user), valid_zip(tmp_path), slug="x" * 65)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    [problem] = response.json()["problems"]
    assert problem == {
        "where": "project",
        "message": "the slug is 65 characters long; use at most 64 characters",
    }
    assert database_state()["Project"] == 0


def test_unwritable_media_storage_fails_the_job_and_changes_nothing(
    tmp_path: Path, admin_user: User, settings: Any
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    settings.MEDIA_ROOT = blocker / "media"
    db_before = database_state()
    admin = client_for(admin_user)

    job = imported(admin, upload(admin, valid_zip(tmp_path)))

    assert job["status"] == "failed"
    [problem] = job["problems"]
    assert problem["where"] == "storage"
    assert problem["message"].startswith(f"could not write {blocker}/media/images/")
    assert "fix the path or the permissions of MEDIA_ROOT, then import again" in problem["message"]
    assert database_state() == db_before
    assert not any(Path(settings.IMPORT_UPLOAD_ROOT).iterdir())  # the stored upload is gone


def test_an_upload_that_cannot_be_stored_is_a_507_and_records_no_job(
    tmp_path: Path, admin_user: User, settings: Any
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    settings.IMPORT_UPLOAD_ROOT = blocker / "uploads"

    response = upload(client_for(admin_user), valid_zip(tmp_path))

    assert response.status_code == HTTPStatus.INSUFFICIENT_STORAGE
    detail = response.json()["detail"]
    assert detail.startswith(f"could not store the upload under {blocker}/uploads (")
    assert detail.endswith("free disk space or fix IMPORT_UPLOAD_ROOT, then upload again")
    assert ImportJob.objects.count() == 0


# --- who may do what -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["annotator", "researcher"])
def test_only_admins_may_upload(tmp_path: Path, media_root: Path, role: str) -> None:
    """Only admins create a project by uploading: to anyone else a project that does not
    exist is as invisible as a closed one (404)."""
    user = add_user(f"{role}-1", role, password="correct-horse-battery-9").user
    db_before = database_state()

    response = upload(client_for(user), valid_zip(tmp_path))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert database_state() == db_before
    assert media_state(media_root) == []


def test_anonymous_upload_is_a_401_asking_for_a_token(tmp_path: Path, media_root: Path) -> None:
    response = upload(APIClient(), valid_zip(tmp_path))

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert database_state()["Batch"] == 0
    assert media_state(media_root) == []


def test_researchers_can_list_batches_and_annotators_cannot(
    tmp_path: Path, admin_user: User, researcher_user: User, annotator_user: User
) -> None:
    admin = client_for(admin_user)
    created = imported(admin, upload(admin, valid_zip(tmp_path), judgments_per_task=2))
    assert created["status"] == "succeeded"

    project = Project.objects.get(slug=SLUG)
    member_of(project, researcher_user, "researcher")
    response = client_for(researcher_user).get(batches_url())

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    body["results"] = [masked(batch, "created_at") for batch in body["results"]]
    assert body == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": created["batch"],
                "project": SLUG,
                "status": "imported",
                "split": "train",
                "judgments_per_task": 2,
                "max_judgments_per_task": 2,
                "source_name": "upload.zip",
                "prompt_count": 2,
                "image_count": 4,
                "task_count": 2,
                "errors": [],
                "uploaded_by": admin_user.username,
                "created_at": "<masked>",
            }
        ],
    }
    assert client_for(researcher_user).get(batches_url("other")).status_code == 404

    assert client_for(annotator_user).get(batches_url()).status_code == HTTPStatus.NOT_FOUND
    member_of(project, annotator_user)
    forbidden = client_for(annotator_user).get(batches_url())
    assert forbidden.status_code == HTTPStatus.FORBIDDEN
    assert forbidden.json() == {
        "detail": "Your role in project 'foxes' does not allow this; ask one of its managers."
    }
    assert APIClient().get(batches_url()).status_code == HTTPStatus.UNAUTHORIZED


# --- token and session authentication, end to end -------------------------------------


def test_token_auth_works_end_to_end(tmp_path: Path) -> None:
    account = add_user("tina-token", "admin")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {account.token}")

    created = imported(client, upload(client, valid_zip(tmp_path)))
    listed = client.get(reverse("project-list"))
    batches = client.get(batches_url())

    assert created["status"] == "succeeded", created
    assert created["uploaded_by"] == "tina-token"
    assert Batch.objects.get().uploaded_by == account.user
    assert listed.status_code == HTTPStatus.OK
    assert [project["slug"] for project in listed.json()["results"]] == [SLUG]
    assert batches.json()["results"][0]["uploaded_by"] == "tina-token"
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    wrong = stranger.get(reverse("project-list"))
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED
    assert wrong.json() == {"detail": "Invalid token."}


def test_session_auth_works_for_a_logged_in_admin(tmp_path: Path, admin_user: User) -> None:
    client = APIClient()
    assert client.login(username=admin_user.username, password="correct-horse-battery-9")

    job = imported(client, upload(client, valid_zip(tmp_path)))

    assert job["status"] == "succeeded", job
    assert Project.objects.get().created_by == admin_user
