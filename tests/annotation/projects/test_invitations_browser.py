"""Inviting a crowd in a real browser, on a phone: the manager pastes a list and gets
the links, without sideways scrolling; the invited person opens their link, sets a
password and is logged in."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from annotation.models import ProjectRole, User
from annotation.projects import add_member
from tests.factories.tasks import make_project
from tests.factories.users import make_user

PASSWORD = "amber-kettle-river-77"


def test_a_manager_invites_on_a_phone_and_the_link_logs_the_person_in(
    page_for: Any, browser: Any, live_server: Any, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""  # no email: the links are the manager's to hand out
    project = make_project("crowd")
    boss = make_user("boss")
    add_member(project, boss, ProjectRole.MANAGER)
    page = page_for(boss, phone=True)
    page.goto("/manage/projects/crowd/members/")
    page.get_by_role("link", name="Invite a list").click()
    page.get_by_label("Or paste a list").fill(
        "username,email,role\nann,ann@example.org,\nrev,rev@example.org,reviewer\n"
    )
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("status")).to_contain_text("2 accounts made")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
    link = page.locator("td[data-label=Link] code").first.inner_text()
    assert "/invite/" in link

    visitor = browser.new_context(base_url=live_server.url)
    try:
        invited = visitor.new_page()
        invited.goto(link)
        expect(invited.get_by_role("heading", level=1)).to_have_text("Welcome to Crowd")
        invited.get_by_label("Password", exact=True).fill(PASSWORD)
        invited.get_by_label("Password again").fill(PASSWORD)
        invited.get_by_role("button", name="Set my password and log in").click()
        expect(invited.get_by_role("status")).to_contain_text("Welcome, ann")
        assert User.objects.get(username="ann").check_password(PASSWORD)
    finally:
        visitor.close()
