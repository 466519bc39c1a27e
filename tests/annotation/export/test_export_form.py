"""The export form of /datasets/: date pickers, each problem beside its field, nothing
started on a problem, and each snapshot's parameters listed in words."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from annotation.export import describe_export
from annotation.models import ExportSnapshot, ProjectRole, User
from tests.factories.tasks import make_project
from tests.factories.users import make_user, member_of

pytestmark = pytest.mark.django_db


def researcher() -> tuple[Client, str]:
    project = make_project("herons")
    user: User = member_of(project, make_user("ria"), ProjectRole.RESEARCHER)
    client = Client()
    client.force_login(user)
    return client, reverse("datasets-export", kwargs={"slug": project.slug})


def field_errors(html: str, field: str) -> list[str]:
    """The error list rendered beside `field`, which the field names as its description
    (and marks invalid), so a screen reader reads it with the field."""
    listed = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert listed, f"no error list beside {field}"
    field_tag = re.search(rf'<input[^>]*id="id_{field}"[^>]*>', html)
    assert field_tag and 'aria-invalid="true"' in field_tag.group(0)
    assert f"id_{field}_error" in field_tag.group(0)
    return re.findall(r"<li>([^<]*)</li>", listed.group(1))


def test_the_dates_are_date_pickers() -> None:
    client, _url = researcher()
    html = client.get(reverse("datasets"), {"project": "herons"}).content.decode()
    assert 'type="date" name="created_from"' in html and 'type="date" name="created_to"' in html


@pytest.mark.parametrize(
    ("posted", "field", "error"),
    [
        ({"created_from": "1 March"}, "created_from", "Give a date as YYYY-MM-DD"),
        (
            {"created_from": "2026-03-02", "created_to": "2026-03-01"},
            "created_to",
            "2026-03-01 is before the start day 2026-03-02: give a later day, or swap the two.",
        ),
        ({"min_annotators": "0"}, "min_annotators", "Give at least 1 (1 keeps every test group)."),
    ],
)
def test_each_problem_is_shown_beside_its_field_and_nothing_starts(
    posted: dict[str, str], field: str, error: str
) -> None:
    client, url = researcher()
    response = client.post(url, {"split": "train", "min_annotators": "1"} | posted)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.context["form"].errors) == [field]
    html = response.content.decode()
    beside = field_errors(html, field)
    assert len(beside) == 1 and beside[0].startswith(error), beside
    assert "1 problem in the export form; nothing was started." in html
    assert ExportSnapshot.objects.count() == 0


def test_the_parameters_of_a_snapshot_are_listed_in_words() -> None:
    client, url = researcher()
    started = client.post(
        url,
        {"split": "test", "created_from": "2026-03-01", "created_to": "2026-03-31",
         "exclude_gold": "on", "min_annotators": "3"},
    )  # fmt: skip
    assert started.status_code == HTTPStatus.FOUND
    words = (
        "test split only; every batch; judgments made 2026-03-01 to 2026-03-31; gold tasks "
        "left out; test groups of at least 3 annotators"
    )
    assert describe_export(ExportSnapshot.objects.get().parameters) == words
    html = client.get(reverse("datasets"), {"project": "herons"}).content.decode()
    assert f'<td data-label="Parameters">{words}</td>' in html
    assert "{&#x27;split&#x27;" not in html


def test_parameters_in_words_cover_every_filter() -> None:
    assert describe_export({"split": "all", "batches": [3, 4]}) == (
        "train and test splits; batches 3, 4; judgments of any date"
    )
    assert describe_export(
        {"split": "train", "batches": [3], "created_to": "2026-01-02",
         "exclude_flagged_annotators": True}
    ) == (
        "train split only; batch 3; judgments made on or before 2026-01-02; flagged "
        "annotators left out"
    )  # fmt: skip
