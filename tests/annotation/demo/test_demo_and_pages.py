"""The demo seed and the pages a first-time user sees."""

from __future__ import annotations

import io
from http import HTTPStatus
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotation.demo.crowd import DEMO_CROWD, GENERATOR_QUALITY
from annotation.demo.seed import (
    DEMO_TEST_JUDGMENTS,
    DEMO_USERS,
    draw_demo_image,
    read_demo_prompts,
)
from annotation.judging.assignment import next_assignment
from annotation.leaderboard import generator_leaderboard
from annotation.models import Batch, Image, Judgment, Project, Prompt, Role, Split, Task, User
from annotation.quality.agreement import compute_agreement

pytestmark = pytest.mark.django_db


def test_demo_seeds_real_prompts_once_and_prints_logins(media_root: Path) -> None:
    out = io.StringIO()

    call_command("demo", "--groups", "5", stdout=out)
    call_command("demo", "--groups", "5", stdout=out)

    projects = {p.slug: p.task_type for p in Project.objects.all()}
    assert projects == {"demo-pairwise": "pairwise", "demo-ranking": "ranking"}
    assert sorted(Batch.objects.values_list("project__slug", "split")) == [
        ("demo-pairwise", "test"),
        ("demo-pairwise", "train"),
        ("demo-ranking", "test"),
        ("demo-ranking", "train"),
    ]
    assert Image.objects.count() == (5 + 1) * 2 + (5 + 1) * 4
    real_prompts = read_demo_prompts()
    train_prompts = Prompt.objects.filter(batch__split="train").order_by("id")
    assert list(train_prompts.values_list("raw_text", flat=True)) == real_prompts[:10]
    test_prompts = set(
        Prompt.objects.filter(batch__split="test").values_list("raw_text", flat=True)
    )
    assert test_prompts == {real_prompts[-1], real_prompts[-2]}
    assert all((media_root / image.file).is_file() for image in Image.objects.all())
    expected_users = {name: role for name, (role, _) in DEMO_USERS.items()}
    expected_users |= {member.username: Role.ANNOTATOR for member in DEMO_CROWD}
    assert {u.username: u.role for u in User.objects.all()} == expected_users
    assert not any(
        User.objects.get(username=member.username).has_usable_password() for member in DEMO_CROWD
    )
    for name, (_, password) in DEMO_USERS.items():
        assert f"{name}" in out.getvalue() and password in out.getvalue()
        assert User.objects.get(username=name).check_password(password)


def test_demo_crowd_judges_through_the_services_and_the_careless_one_stands_out() -> None:
    call_command("demo", "--groups", "30", stdout=io.StringIO())
    project = Project.objects.get(slug="demo-ranking")
    judgments = Judgment.objects.filter(assignment__task__project=project)

    by_member = {
        member.username: judgments.filter(annotator__username=member.username).count()
        for member in DEMO_CROWD
    }
    assert all(count > 0 for count in by_member.values()), by_member
    # Every stored judgment went through submission: one pair row per image pair.
    for judgment in judgments:
        size = len(judgment.ranking)
        assert judgment.pairs.count() == size * (size - 1) // 2
    # The demo annotator still has work left.
    annotator = User.objects.get(username="demo-annotator")
    assert next_assignment(project, annotator) is not None

    report = compute_agreement(project, split=None, batch=None, guideline_version=None)
    agreement = {row["annotator"]: row["agreement"] for row in report["annotators"]}
    careful = [agreement[m.username] for m in DEMO_CROWD if m.noise < 1]
    assert min(careful) > agreement["demo-crowd-4"] + 0.1, agreement
    assert report["pairwise_agreement"] > 0.6


def test_demo_judges_every_test_group_and_its_six_generators_rank_as_planted() -> None:
    call_command("demo", "--groups", "30", stdout=io.StringIO())
    for project in Project.objects.all():
        test_tasks = Task.objects.filter(project=project, batch__split=Split.TEST)
        assert test_tasks.exists()
        assert all(task.judgments_done == DEMO_TEST_JUDGMENTS for task in test_tasks), project.slug
    generators = set(Image.objects.values_list("generator", flat=True))
    assert generators == set(GENERATOR_QUALITY) and len(generators) >= 6
    # The crowd follows the planted strengths: the leaderboard ranks the generators so.
    board = generator_leaderboard(Project.objects.get(slug="demo-ranking"), samples=50)
    ranked = [row["generator"] for row in board["overall"]["generators"]]
    planted = sorted(GENERATOR_QUALITY, key=GENERATOR_QUALITY.__getitem__, reverse=True)
    assert ranked[0] == planted[0] and ranked[-1] == planted[-1], ranked
    assert ranked.index("standin-vivid") < ranked.index("standin-blurry"), ranked


def test_demo_without_judgments_leaves_every_task_open() -> None:
    call_command("demo", "--groups", "3", "--no-judgments", stdout=io.StringIO())

    assert not Judgment.objects.exists()
    assert Project.objects.count() == 2


def test_demo_prompts_are_the_real_file_without_empty_ones() -> None:
    prompts = read_demo_prompts()

    assert len(prompts) > 900
    assert all(p.strip() == p and p for p in prompts)
    assert prompts[1] == "inmates with cow heads inside a jailcell"


def test_demo_images_are_deterministic_and_differ_between_generators() -> None:
    first = draw_demo_image("a fox", "standin-crisp").tobytes()

    assert draw_demo_image("a fox", "standin-crisp").tobytes() == first
    assert draw_demo_image("a fox", "standin-vivid").tobytes() != first


def test_home_page_lists_projects_with_counts_for_a_logged_in_user(media_root: Path) -> None:
    call_command("demo", "--groups", "3", stdout=io.StringIO())
    client = Client()

    anonymous = client.get(reverse("home"))
    assert anonymous.status_code == HTTPStatus.OK
    assert b"demo-pairwise" not in anonymous.content

    client.force_login(User.objects.get(username="demo-annotator"))
    page = client.get(reverse("home")).content.decode()
    assert "demo-pairwise" in page and "demo-ranking" in page
    assert 'data-label="Left for you"' in page and 'data-label="Images"' not in page
    client.force_login(User.objects.get(username="demo-researcher"))
    page = client.get(reverse("home")).content.decode()
    # (3 train + 1 test) groups x 4 images in the ranking demo
    assert '<td data-label="Images">16</td>' in page


def test_login_page_logs_a_demo_user_in(media_root: Path) -> None:
    call_command("demo", "--groups", "1", stdout=io.StringIO())
    client = Client()

    response = client.post(
        reverse("login"),
        {"username": "demo-annotator", "password": DEMO_USERS["demo-annotator"][1]},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert "demo-annotator" in client.get(reverse("home")).content.decode()


def test_api_schema_and_docs_are_served() -> None:
    client = Client()

    schema = client.get(reverse("api-schema"))
    assert schema.status_code == HTTPStatus.OK
    assert b"/api/v1/projects/{slug}/batches/" in schema.content
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == HTTPStatus.OK
    # Every asset of the docs page is served by the platform itself.
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content
    assert b"cdn." not in docs.content and b"https://" not in docs.content


def test_stored_images_are_served_to_logged_in_users_as_images_only(
    tmp_path: Path, media_root: Path
) -> None:
    call_command("demo", "--groups", "1", stdout=io.StringIO())
    image = Image.objects.first()
    assert image is not None
    url = reverse("media-file", kwargs={"path": image.file})
    client = Client()

    assert client.get(url).status_code == HTTPStatus.FOUND  # to the login page

    client.force_login(User.objects.get(username="demo-annotator"))
    response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.getvalue() == (media_root / image.file).read_bytes()

    (media_root / "images" / "notes.html").write_text("<script>alert(1)</script>")
    for bad in ["images/notes.html", "../../etc/passwd", image.file.replace(".png", ".html")]:
        assert client.get(f"/media/{bad}").status_code == HTTPStatus.NOT_FOUND


def test_demo_refuses_under_production_settings_unless_forced(settings: object) -> None:
    from django.core.management import CommandError

    settings.PRODUCTION_SETTINGS = True  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="--force"):
        call_command("demo", "--groups", "1", "--no-judgments", stdout=io.StringIO())
    assert not User.objects.exists() and not Project.objects.exists()

    call_command("demo", "--groups", "1", "--no-judgments", "--force", stdout=io.StringIO())
    assert User.objects.filter(username__in=list(DEMO_USERS)).count() == len(DEMO_USERS)
