"""The pages of people running a collection on a 390 px phone: no sideways scroll, every
control within the screen (tables stack or scroll in their own box), in a real Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from annotation.models import ProjectRole, Role
from annotation.projects import add_member
from tests.browser_support import assert_fits_phone
from tests.factories.batches import image_ids
from tests.factories.judging import judge
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import make_user, member_of

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    "/manage/",
    "/manage/projects/wide/progress/",
    "/manage/projects/wide/quality/",
    "/manage/projects/wide/members/",
    "/datasets/?project=wide",
    "/manage/models/",
    "/manage/training/",
    "/manage/training/projects/wide/",
    "/projects/wide/",
]


def test_the_running_pages_fit_a_phone(page_for: Any) -> None:
    project = make_project("wide", judgments_per_task=2)
    tasks = make_tasks(project, 3)
    people = [member_of(project, make_user(f"annotator-with-a-long-name-{i}")) for i in range(2)]
    for task in tasks:
        for person in people:
            judge(task, person, image_ids(task))
    admin = make_user("boss", Role.ADMIN)
    add_member(project, make_user("rev"), ProjectRole.REVIEWER)
    page = page_for(admin, phone=True)
    for path in PAGES:
        response = page.goto(path)
        assert response is not None and response.ok, (path, response and response.status)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_fits_phone(page)
