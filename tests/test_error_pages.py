"""The 403 and 404 pages keep the site's layout and say why; the favicon; the header's
links by role."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from annotation.models import Role, User
from tests.factories.users import make_user

pytestmark = pytest.mark.django_db


def signed_in(role: str) -> tuple[Client, User]:
    user = make_user(f"someone-{role}", role)
    client = Client()
    client.force_login(user)
    return client, user


def test_a_missing_page_is_a_404_in_the_sites_layout_naming_what_was_asked() -> None:
    client, _ = signed_in(Role.ANNOTATOR)

    response = client.get("/no/such/page/")
    html = response.content.decode()

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.templates[0].name == "404.html"
    assert 'class="site-header"' in html and "Page not found" in html
    assert "<code>/no/such/page/</code>" in html and 'href="/"' in html
    assert "Resolver404" not in html  # no reason shown rather than a class name


def test_a_missing_project_says_which_one() -> None:
    client, _ = signed_in(Role.RESEARCHER)

    response = client.get("/projects/no-such-project/")
    html = response.content.decode()

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "Page not found" in html
    assert '<p class="error-reason">No project &#x27;no-such-project&#x27;.</p>' in html


def test_a_forbidden_page_is_a_403_in_the_sites_layout_saying_why() -> None:
    client, user = signed_in(Role.ANNOTATOR)

    response = client.get("/manage/")
    html = response.content.decode()

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.templates[0].name == "403.html"
    assert 'class="site-header"' in html and "You may not open this page" in html
    # The reason the page's check gave.
    assert "Only admins and project managers or reviewers may see this." in html
    assert f"<strong>{user.username}</strong> (Annotator)" in html


@pytest.mark.parametrize(
    ("role", "api_link"), [(Role.ANNOTATOR, False), (Role.RESEARCHER, True), (Role.ADMIN, True)]
)
def test_the_header_has_a_favicon_and_no_api_link_for_annotators(role: str, api_link: bool) -> None:
    client, _ = signed_in(role)

    html = client.get("/").content.decode()

    assert '<link rel="icon" href="/static/img/favicon.svg"' in html
    assert ('href="/api/docs/">API</a>' in html) is api_link
