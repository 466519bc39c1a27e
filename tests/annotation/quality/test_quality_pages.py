"""/manage/ quality dashboard and prompt review pages."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.models import Project, ProjectAnnotator, Prompt, QualitySettings, Task, User
from annotation.quality import compute_agreement, refresh_quality_flags
from tests.factories.batches import image_ids, write_batch, write_manifest
from tests.factories.judging import judge
from tests.factories.users import annotators, member_of

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def project(tmp_path: Path) -> Project:
    folder = write_batch(tmp_path / "b", groups=4)
    lines = [
        {
            "prompt": prompt,
            "images": [{"path": f"img/{n:04d}-0.png"}, {"path": f"img/{n:04d}-1.png"}],
        }
        for n, prompt in enumerate(
            [
                "a red fox, by greg rutkowski, 8k",
                "Al Gore dancing his heart out",
                "a hare",
                "an owl",
            ]
        )
    ]
    write_manifest(folder, lines)
    summary = import_batch(folder, "owls", judgments_per_task=3)
    process_batch(summary.batch)
    users = annotators(3)
    for task in Task.objects.filter(is_active=True).order_by("pk"):
        ids = image_ids(task)
        judge(task, users[0], ids, duration_ms=4000)
        judge(task, users[1], ids, duration_ms=4000)
        judge(task, users[2], ids[::-1], duration_ms=300)
    result = Project.objects.get(slug="owls")
    QualitySettings.objects.create(project=result, min_judgments=1)
    refresh_quality_flags(result)  # the background refresh stores the report the page shows
    return result


def test_dashboard_shows_figures_charts_and_flags(project: Project, admin_user: User) -> None:
    response = logged_in(admin_user).get(reverse("quality-dashboard", args=["owls"]))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "Pairwise agreement" in page and "Human ceiling" in page
    assert page.count("<svg") == 4
    assert "<script" not in page
    assert "too_fast" in page and "low_agreement" in page
    assert "ann-2" in page
    # Each headline figure with its interval over tasks, each annotator's with n=.
    report = compute_agreement(project)
    low, high = report["intervals"]["pairwise_agreement"]
    assert f'<span class="interval">[{low:.3f}, {high:.3f}]</span>' in page
    for entry in report["annotators"]:
        assert f"n={entry['agreement_judgments']}" in page
        # Named under their position-bias bar and beside their dot of the speed scatter.
        assert f'class="tick">{entry["annotator"]}</text>' in page
        if entry["median_seconds"] is not None and entry["agreement"] is not None:
            assert f'class="mark-label">{entry["annotator"]}</text>' in page
    edges = report["kendall_w_distribution"]["bin_edges"]
    assert f"{edges[0]:g}-{edges[1]:g}" in page  # Kendall's W bins carry their ranges


def test_dashboard_refuses_others(
    project: Project, annotator_user: User, researcher_user: User
) -> None:
    url = reverse("quality-dashboard", args=["owls"])
    # Not members: the project does not exist for them.
    assert logged_in(annotator_user).get(url).status_code == HTTPStatus.NOT_FOUND
    member_of(project, annotator_user, "annotator")
    member_of(project, researcher_user, "researcher")
    # Members whose role does not cover quality pages.
    assert logged_in(annotator_user).get(url).status_code == HTTPStatus.FORBIDDEN
    assert logged_in(researcher_user).get(url).status_code == HTTPStatus.FORBIDDEN
    anonymous = Client().get(url)
    assert anonymous.status_code == HTTPStatus.FOUND and "/accounts/login/" in anonymous["Location"]


def test_excluding_and_reincluding_an_annotator(project: Project, admin_user: User) -> None:
    client = logged_in(admin_user)
    adversary = User.objects.get(username="ann-2")
    url = reverse("annotator-exclusion", args=["owls", adversary.pk])
    response = client.post(url, {"excluded": "1", "reason": "reverses everything"}, follow=True)
    assert "excluded from statistics" in response.content.decode()
    standing = ProjectAnnotator.objects.get(project=project, annotator=adversary)
    assert standing.is_excluded and standing.excluded_by == admin_user
    assert standing.excluded_reason == "reverses everything"
    page = client.get(reverse("quality-dashboard", args=["owls"])).content.decode()
    assert "Excluded annotators" in page and "Count again" in page
    assert adversary.judgments.count() == 3  # nothing deleted
    client.post(url, {"excluded": "0"})
    standing.refresh_from_db()
    assert not standing.is_excluded


def test_thresholds_are_checked_and_saved(project: Project, admin_user: User) -> None:
    client = logged_in(admin_user)
    url = reverse("quality-dashboard", args=["owls"])
    fields = {
        "min_agreement": "1.5", "min_gold_accuracy": "0.8", "max_position_bias": "0.2",
        "min_self_consistency": "0.7", "min_median_seconds": "0.1", "min_judgments": "1",
        "repeat_rate": "0.05", "repeat_after_hours": "1",
    }  # fmt: skip
    bad = client.post(url, fields)
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert "Give a share between 0 and 1" in bad.content.decode()
    assert QualitySettings.objects.get(project=project).min_agreement == 0.6
    assert "too_fast" in ProjectAnnotator.objects.get(annotator__username="ann-2").quality_flags
    fields["min_agreement"] = "0.4"
    saved = client.post(url, fields, follow=True)
    assert "Thresholds saved; quality flags recomputed." in saved.content.decode()
    assert QualitySettings.objects.get(project=project).min_median_seconds == 0.1
    flags = ProjectAnnotator.objects.get(annotator__username="ann-2").quality_flags
    assert "too_fast" not in flags


def test_gold_and_repeat_buttons(project: Project, admin_user: User) -> None:
    client = logged_in(admin_user)
    response = client.post(reverse("make-gold", args=["owls"]), {"count": "2"}, follow=True)
    assert "Made 2 gold pair task(s)." in response.content.decode()
    assert Task.objects.filter(project=project, is_gold=True).count() == 2
    bad = client.post(reverse("make-gold", args=["owls"]), {"count": "0"}, follow=True)
    assert "a number from 1 to 1000" in bad.content.decode()
    done = client.post(reverse("schedule-repeats", args=["owls"]), follow=True)
    assert "Scheduled 0 repeat item(s)." in done.content.decode()


def test_prompt_review_highlights_and_approves(project: Project, admin_user: User) -> None:
    client = logged_in(admin_user)
    url = reverse("prompt-review", args=["owls"])
    held = client.get(url).content.decode()
    assert "Al Gore dancing" in held and "a red fox" not in held
    everything = client.get(url, {"show": "all"}).content.decode()
    assert '<del title="artist" class="removed">by greg rutkowski</del>' in everything
    assert '<del title="resolution or render tag" class="removed">8k</del>' in everything
    gore = Prompt.objects.get(raw_text__startswith="Al Gore")
    assert not Task.objects.get(prompt=gore).is_active
    response = client.post(
        reverse("prompt-bulk", args=["owls"]),
        {"prompt": [gore.pk], "action": "approve"},
        follow=True,
    )
    assert "Released 1 prompt(s)" in response.content.decode()
    assert Task.objects.get(prompt=gore).is_active
    nothing = client.post(reverse("prompt-bulk", args=["owls"]), {"action": "approve"}, follow=True)
    assert "Tick at least one prompt" in nothing.content.decode()


def test_prompt_edit(project: Project, admin_user: User) -> None:
    client = logged_in(admin_user)
    fox = Prompt.objects.get(raw_text__startswith="a red fox")
    url = reverse("prompt-edit", args=["owls", fox.pk])
    bad = client.post(url, {f"p{fox.pk}-cleaned_text": " ", f"p{fox.pk}-style": "oil"}, follow=True)
    assert f"Prompt {fox.pk} was not changed" in bad.content.decode()
    fox.refresh_from_db()
    assert fox.cleaned_text == "a red fox"
    client.post(
        url, {f"p{fox.pk}-cleaned_text": "a red fox in snow", f"p{fox.pk}-style": "paintings"}
    )
    fox.refresh_from_db()
    assert (fox.cleaned_text, fox.style) == ("a red fox in snow", "paintings")
    evil = client.post(
        url,
        {
            f"p{fox.pk}-cleaned_text": "x",
            f"p{fox.pk}-style": "others",
            "next": "https://evil.example/",
        },
    )
    assert evil["Location"] == reverse("prompt-review", args=["owls"])


def test_a_project_without_judgments_shows_empty_figures(tmp_path: Path, admin_user: User) -> None:
    import_batch(write_batch(tmp_path / "empty", groups=2), "quiet")
    client = logged_in(admin_user)
    page = client.get(reverse("quality-dashboard", args=["quiet"]))
    assert page.status_code == HTTPStatus.OK
    assert "The agreement report is being computed in the background" in page.content.decode()
    refresh_quality_flags(Project.objects.get(slug="quiet"))
    page = client.get(reverse("quality-dashboard", args=["quiet"]))
    assert "No judgments yet." in page.content.decode()
    report = client.get(reverse("project-agreement", args=["quiet"])).json()
    assert report["judgments"] == 0
    assert report["pairwise_agreement"] is None and report["krippendorff_alpha"] is None
    assert report["human_ceiling"] is None and report["annotators"] == []


def test_bulk_hold_takes_tasks_out_of_circulation(project: Project, admin_user: User) -> None:
    client = logged_in(admin_user)
    owl = Prompt.objects.get(raw_text="an owl")
    response = client.post(
        reverse("prompt-bulk", args=["owls"]), {"prompt": [owl.pk], "action": "hold"}, follow=True
    )
    assert "Held 1 prompt(s) back from annotators." in response.content.decode()
    owl.refresh_from_db()
    assert owl.is_held
    assert not Task.objects.get(prompt=owl).is_active
    odd = client.post(
        reverse("prompt-bulk", args=["owls"]), {"prompt": [owl.pk], "action": "x"}, follow=True
    )
    assert "Choose approve or hold." in odd.content.decode()
