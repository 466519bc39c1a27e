"""GET /api/v1/projects/{slug}/agreement/ and `manage.py agreement`."""

from __future__ import annotations

import json
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.models import Project, User
from tests.conftest import client_for
from tests.factories.batches import image_ids
from tests.factories.judging import judge
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import annotators, member_of


@pytest.fixture
def judged_project(db: None) -> Project:
    project = make_project("judged", images_per_task=2)
    users = annotators(3)
    train = make_tasks(project, 3, wanted=3, split="train")
    test = make_tasks(project, 3, wanted=3, split="test")
    for tasks in (train, test):
        for task in tasks:
            ids = image_ids(task)
            judge(task, users[0], ids)
            judge(task, users[1], ids)
            judge(task, users[2], ids[::-1] if tasks is test else ids)
    return project


def url(slug: str = "judged") -> str:
    return reverse("project-agreement", kwargs={"slug": slug})


@pytest.mark.django_db
def test_admins_and_researchers_read_the_report(
    judged_project: Project, admin_user: User, researcher_user: User
) -> None:
    member_of(judged_project, researcher_user, "researcher")
    for user in (admin_user, researcher_user):
        response = client_for(user).get(url())
        assert response.status_code == HTTPStatus.OK
        body = response.json()
        assert body["project"] == "judged"
        assert body["judgments"] == 18
        assert body["pairwise_agreement"] == pytest.approx((3 * 3 + 3 * 1) / 18)
        assert {"krippendorff_alpha", "kendall_w_mean", "human_ceiling", "annotators"} <= set(body)
        assert [a["annotator"] for a in body["annotators"]] == ["ann-0", "ann-1", "ann-2"]


@pytest.mark.django_db
def test_filters(judged_project: Project, researcher_user: User) -> None:
    member_of(judged_project, researcher_user, "researcher")
    client = client_for(researcher_user)
    assert client.get(url(), {"split": "train"}).json()["pairwise_agreement"] == 1.0
    test_batch = judged_project.batches.get(split="test")
    body = client.get(url(), {"batch": test_batch.pk}).json()
    assert body["pairwise_agreement"] == pytest.approx(1 / 3)
    assert body["filters"]["batch"] == test_batch.pk
    assert client.get(url(), {"guideline_version": "other"}).json()["judgments"] == 0


@pytest.mark.django_db
def test_refusals(judged_project: Project, annotator_user: User, admin_user: User) -> None:
    assert client_for(annotator_user).get(url()).status_code == HTTPStatus.FORBIDDEN
    assert APIClient().get(url()).status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)
    client = client_for(admin_user)
    assert client.get(url("nope")).status_code == HTTPStatus.NOT_FOUND
    bad = client.get(url(), {"split": "dev", "batch": "x"})
    assert bad.status_code == HTTPStatus.BAD_REQUEST
    assert set(bad.json()) == {"split", "batch"}
    missing = client.get(url(), {"batch": 999999})
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert "has no batch 999999" in missing.json()["batch"][0]


@pytest.mark.django_db
def test_agreement_command(judged_project: Project) -> None:
    out = StringIO()
    call_command("agreement", "--project", "judged", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["judgments"] == 18
    assert report["annotators"][2]["agreement"] == pytest.approx(0.5)
    text = StringIO()
    call_command("agreement", "--project", "judged", "--split", "test", stdout=text)
    assert "pairwise_agreement" in text.getvalue()
    plain = StringIO()
    call_command("agreement", "--project", "judged", stdout=plain)
    low, high = report["intervals"]["pairwise_agreement"]
    assert f"95% [{low}, {high}]" in plain.getvalue()
    assert f"n={report['annotators'][2]['agreement_judgments']}" in plain.getvalue()
    with pytest.raises(CommandError, match="no project 'nope'"):
        call_command("agreement", "--project", "nope")


@pytest.mark.django_db
def test_schema_documents_the_endpoint(admin_user: User) -> None:
    response = client_for(admin_user).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == HTTPStatus.OK
    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/projects/{slug}/agreement/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"split", "batch", "guideline_version"}
