"""POST /api/v1/score/ and GET /api/v1/models/: admins and researchers only.

A score request is validated in the web process, then scored on the gpu queue: the
tests run the queued job with the task function, as the worker would."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from annotation.intake.importing import import_batch
from annotation.models import Image, Role, User
from scoring import services, tasks
from scoring.core import Scorer, load_model
from scoring.models import ImageScore, ModelVersion, ScoreJob, ScoreUpload
from scoring.runtime import forget_loaded_models, loaded_model_versions
from tests.conftest import client_for
from tests.factories.batches import png_bytes, write_batch
from tests.factories.users import make_user
from tests.scoring.helpers import TINY_CONFIG

Register = Callable[..., ModelVersion]


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/png")


def scored(client: Any, response: Any) -> dict[str, Any]:
    """Run the job a 202 answered with, as the gpu worker does, and poll its URL."""
    assert response.status_code == HTTPStatus.ACCEPTED, response.json()
    job = response.json()
    assert job["status"] == "queued" and job["result"] is None
    assert response["Location"] == job["url"]
    assert loaded_model_versions() == []  # the web process loaded no model
    tasks.run_score_job(job["id"])
    forget_loaded_models()  # the worker is another process: this one holds no model again
    followed = client.get(job["url"])
    assert followed.status_code == HTTPStatus.OK
    body: dict[str, Any] = followed.json()
    return body


def direct_scores(version: ModelVersion, prompt: str, files: list[Path]) -> list[float | None]:
    hps = load_model("tiny", version.checkpoint_path, model_config=TINY_CONFIG)
    return Scorer(hps).score(prompt, files).scores


@pytest.mark.django_db
def test_models_list_for_admins_and_researchers_only(
    register_tiny: Register, admin_user: User, researcher_user: User, annotator_user: User
) -> None:
    version = services.activate(register_tiny("hps-live").pk)
    register_tiny("hps-next", seed=1)
    url = reverse("model-version-list")

    for user in (admin_user, researcher_user):
        response = client_for(user).get(url)
        assert response.status_code == HTTPStatus.OK
        rows = response.json()["results"]
        assert [(r["name"], r["status"]) for r in rows] == [
            ("hps-next", "candidate"),
            ("hps-live", "active"),
        ]
        assert rows[1]["checkpoint_sha256"] == version.checkpoint_sha256
    assert client_for(annotator_user).get(url).status_code == HTTPStatus.FORBIDDEN
    assert client_for(None).get(url).status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_uploaded_images_are_scored_with_the_active_version(
    tmp_path: Path, register_tiny: Register, researcher_user: User
) -> None:
    version = services.activate(register_tiny().pk)
    contents = [png_bytes(1, (80, 60)), png_bytes(2, (40, 90))]
    files = []
    for index, content in enumerate(contents):
        files.append(tmp_path / f"{index}.png")
        files[-1].write_bytes(content)

    client = client_for(researcher_user)
    response = client.post(
        reverse("score-images"),
        {
            "prompt": "a red fox",
            "images": [upload("a.png", contents[0]), upload("b.png", contents[1])],
        },
        format="multipart",
    )

    job = scored(client, response)
    assert job["status"] == "done" and job["model_version"] == "tiny-1"
    body = job["result"]
    assert body["model_version"] == "tiny-1"
    assert [row["image"] for row in body["scores"]] == ["a.png", "b.png"]
    expected = direct_scores(version, "a red fox", files)
    assert [row["score"] for row in body["scores"]] == pytest.approx(expected, abs=1e-5)
    assert ImageScore.objects.count() == 0  # uploads are scored, not stored
    assert ScoreUpload.objects.count() == 0  # nor kept once scored


@pytest.mark.django_db
def test_stored_images_by_id_with_their_prompts_or_a_given_one(
    tmp_path: Path, register_tiny: Register, admin_user: User
) -> None:
    import_batch(write_batch(tmp_path / "b", groups=1, images_per_group=2), "foxes")
    candidate = register_tiny("named")
    services.activate(register_tiny("live", seed=3).pk)
    images = list(Image.objects.select_related("prompt").order_by("pk"))
    ids = [image.pk for image in images]
    files = [Path(settings.MEDIA_ROOT) / image.file for image in images]
    client = client_for(admin_user)

    own = scored(
        client,
        client.post(
            reverse("score-images"), {"image_ids": ids, "model_version": "named"}, format="json"
        ),
    )["result"]
    other = scored(
        client,
        client.post(
            reverse("score-images"),
            {"image_ids": ids, "prompt": "a blue whale", "model_version": "named"},
            format="json",
        ),
    )["result"]

    assert own["model_version"] == "named"
    assert [r["image"] for r in own["scores"]] == [str(pk) for pk in ids]
    assert [r["score"] for r in own["scores"]] == pytest.approx(
        direct_scores(candidate, images[0].prompt.raw_text, files), abs=1e-5
    )
    assert [r["score"] for r in other["scores"]] == pytest.approx(
        direct_scores(candidate, "a blue whale", files), abs=1e-5
    )
    stored = ImageScore.objects.filter(model_version=candidate)  # own prompts: stored
    assert stored.count() == 2
    # The worker's scorer: release precision asked, fp32 on a CPU; no antialias.
    assert {(row.precision, row.antialias) for row in stored} == {("fp32", False)}


@pytest.mark.django_db
def test_bad_requests_say_what_is_wrong(
    tmp_path: Path, register_tiny: Register, admin_user: User
) -> None:
    client = client_for(admin_user)
    url = reverse("score-images")
    good = upload("good.png", png_bytes(1))

    no_active = client.post(url, {"prompt": "x", "images": [good]}, format="multipart")
    assert no_active.status_code == HTTPStatus.CONFLICT
    assert "no model version is active" in no_active.json()["detail"]

    services.activate(register_tiny().pk)
    broken = client.post(
        url,
        {
            "prompt": "x",
            "images": [upload("good.png", png_bytes(1)), upload("notes.png", b"hello")],
        },
        format="multipart",
    )
    assert broken.status_code == HTTPStatus.BAD_REQUEST
    assert broken.json()["detail"].startswith("notes.png: is not an image we can decode")

    truncated = client.post(
        url,
        {"prompt": "x", "images": [upload("cut.png", png_bytes(5, (64, 64))[:80])]},
        format="multipart",
    )
    assert truncated.status_code == HTTPStatus.BAD_REQUEST
    assert "cut.png" in truncated.json()["detail"]

    neither = client.post(url, {"prompt": "x"}, format="json")
    assert neither.status_code == HTTPStatus.BAD_REQUEST
    assert "either images (files) or image_ids" in str(neither.json()["errors"])

    no_prompt = client.post(url, {"images": [upload("a.png", png_bytes(2))]}, format="multipart")
    assert no_prompt.status_code == HTTPStatus.BAD_REQUEST
    assert "a prompt is required with images" in str(no_prompt.json()["errors"])

    unknown_version = client.post(url, {"image_ids": [1], "model_version": "nope"}, format="json")
    assert unknown_version.status_code == HTTPStatus.BAD_REQUEST
    assert "no model version named 'nope'" in unknown_version.json()["detail"]

    unknown_image = client.post(url, {"image_ids": [999999]}, format="json")
    assert unknown_image.status_code == HTTPStatus.BAD_REQUEST
    assert unknown_image.json()["detail"] == "no image with id(s) 999999"
    assert ImageScore.objects.count() == 0
    assert ScoreJob.objects.count() == 0  # nothing refused was queued


@pytest.mark.django_db
def test_annotators_cannot_score_or_see_scores(
    tmp_path: Path, register_tiny: Register, annotator_user: User
) -> None:
    import_batch(write_batch(tmp_path / "b", groups=1), "foxes")
    services.activate(register_tiny().pk)
    image = Image.objects.first()
    assert image is not None
    client = client_for(annotator_user)

    denied = client.post(reverse("score-images"), {"image_ids": [image.pk]}, format="json")
    assert denied.status_code == HTTPStatus.FORBIDDEN
    assert ImageScore.objects.count() == 0
    # What annotators can read never carries a score.
    listing = client.get(reverse("project-list"))
    assert listing.status_code == HTTPStatus.OK
    assert "score" not in listing.content.decode()


@pytest.mark.django_db
def test_the_openapi_schema_documents_both_endpoints(admin_user: User) -> None:
    schema = client_for(admin_user).get(reverse("api-schema"), {"format": "json"}).json()
    score = schema["paths"]["/api/v1/score/"]["post"]
    assert set(score["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert set(score["responses"]) == {"202", "400", "409"}
    assert "/api/v1/models/" in schema["paths"]
    assert "/api/v1/score/jobs/{id}/" in schema["paths"]
    assert set(schema["paths"]["/api/v1/benchmarks/"]) == {"get", "post"}


@pytest.mark.django_db
def test_the_web_process_never_loads_a_model_even_when_versions_alternate(
    tmp_path: Path, register_tiny: Register, researcher_user: User, admin_user: User
) -> None:
    services.activate(register_tiny("live").pk)
    register_tiny("other", seed=1)
    client = client_for(researcher_user)
    url = reverse("score-images")
    jobs = []
    for name in ("live", "other", "live"):
        response = client.post(
            url,
            {"prompt": "a fox", "images": [upload("a.png", png_bytes(1))], "model_version": name},
            format="multipart",
        )
        assert response.status_code == HTTPStatus.ACCEPTED
        jobs.append(response.json())
    assert loaded_model_versions() == []
    assert [job["model_version"] for job in jobs] == ["live", "other", "live"]
    assert ScoreUpload.objects.count() == 3  # the files wait for the worker

    # Another researcher does not see the job; an admin does. A failure is recorded.
    someone_else = client_for(make_user("rita-researcher", Role.RESEARCHER))
    assert someone_else.get(jobs[0]["url"]).status_code == HTTPStatus.NOT_FOUND
    assert client_for(admin_user).get(jobs[0]["url"]).status_code == HTTPStatus.OK
    ScoreUpload.objects.filter(job_id=jobs[1]["id"]).update(content=b"not an image")
    tasks.run_score_job(jobs[1]["id"])
    failed = client.get(jobs[1]["url"]).json()
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"].startswith("a.png: is not an image we can decode")
