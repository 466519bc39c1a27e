"""Every page under a strict Content-Security-Policy, with no inline script, a CSRF token in
every form, and the anti-sniffing and framing headers; uploaded files never served as HTML
or script."""

from __future__ import annotations

from html.parser import HTMLParser
from http import HTTPStatus
from pathlib import Path

import pytest
from django.test import Client

from tests.site_world import ADMIN, ANNOTATOR, ANON, RESEARCHER, World, make_world, url_of
from tests.test_page_permissions import PAGES

REQUIRED_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Django's admin, under the same policy: its index, a list, an add form, its login.
ADMIN_PAGES = [
    ("admin:index", ADMIN),
    ("admin:annotation_project_changelist", ADMIN),
    ("admin:annotation_project_add", ADMIN),
    ("admin:login", ANON),
]


class PageScan(HTMLParser):
    """What CSP would block or CSRF needs: inline scripts, handlers, styles, post forms."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.handlers: list[str] = []
        self.style_blocks = 0
        self.post_forms = 0
        self.csrf_inputs_in_post_forms = 0
        self._in_script: dict[str, str | None] | None = None
        self._script_text: list[str] = []
        self._in_post_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [f"<{tag} {name}=...>" for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self._in_script, self._script_text = values, []
        elif tag == "style":
            self.style_blocks += 1
        elif tag == "form" and (values.get("method") or "").lower() == "post":
            self.post_forms += 1
            self._in_post_form = True
        elif tag == "input" and self._in_post_form and values.get("name") == "csrfmiddlewaretoken":
            self.csrf_inputs_in_post_forms += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._in_script is not None:
            attrs, self._in_script = self._in_script, None
            data_block = (attrs.get("type") or "").lower() == "application/json"
            if not attrs.get("src") and not data_block:
                self.inline_scripts.append("".join(self._script_text).strip()[:80])
        elif tag == "form":
            self._in_post_form = False

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self._script_text.append(data)


def policy(header: str) -> dict[str, str]:
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


def assert_secure_headers(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert "Content-Security-Policy" in headers, f"{where}: no Content-Security-Policy header"
    directives = policy(headers["Content-Security-Policy"])
    for name, value in REQUIRED_DIRECTIVES.items():
        assert directives.get(name) == value, (where, name, directives.get(name))
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("X-Request-ID"), where


def viewer(name: str) -> str | None:
    """The first role that gets this page with 200 OK, or None when none does."""
    statuses = PAGES[name].get("GET", {})
    return next((r for r in (ADMIN, RESEARCHER, ANNOTATOR, ANON) if statuses.get(r) == 200), None)


HTML_PAGES = [
    (name, role)
    for name in PAGES
    if (role := viewer(name)) is not None
    and name
    not in {
        "media-file",
        "api-schema",
        "healthz",
        "project-invitations-csv",
        "collection-progress-data",  # JSON the progress page polls
    }
]


@pytest.fixture
def world(tmp_path: Path, db: None) -> World:
    return make_world(tmp_path)


@pytest.mark.parametrize(("name", "role"), HTML_PAGES + ADMIN_PAGES)
def test_every_page_has_the_policy_and_no_inline_script(name: str, role: str, world: World) -> None:
    response = world.client(role).get(url_of(name, world))
    assert response.status_code == HTTPStatus.OK, (name, response.status_code)
    assert response["Content-Type"].startswith("text/html"), name
    assert_secure_headers(response, name)
    scan = PageScan()
    scan.feed(response.content.decode())
    assert not scan.inline_scripts, f"{name}: inline <script> blocked by CSP: {scan.inline_scripts}"
    assert not scan.handlers, f"{name}: inline event handlers blocked by CSP: {scan.handlers}"
    assert scan.style_blocks == 0, f"{name}: a <style> block is blocked by style-src 'self'"
    assert scan.csrf_inputs_in_post_forms == scan.post_forms, f"{name}: a POST form lacks a token"


def test_the_page_table_covers_the_pages_people_open() -> None:
    names = {name for name, _ in HTML_PAGES}
    expected = {"home", "project-page", "manage", "quality-dashboard", "prompt-review"}
    expected |= {"flagged-images", "datasets", "annotate", "login", "api-docs"}
    assert expected <= names, expected - names


def test_api_docs_load_their_init_script_from_the_platform(world: World) -> None:
    client = Client()
    page = client.get("/api/docs/").content.decode()
    assert 'src="/api/docs/?script="' in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == HTTPStatus.OK
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content and b"/api/schema/" in script.content


@pytest.mark.parametrize("name", ["api-schema", "healthz"])
def test_non_html_responses_carry_the_policy_too(name: str, world: World) -> None:
    response = Client().get(url_of(name, world))
    assert response.status_code == HTTPStatus.OK
    assert_secure_headers(response, name)


@pytest.mark.parametrize("role", [ANON, ANNOTATOR])
def test_a_post_without_a_csrf_token_is_refused(role: str, world: World) -> None:
    """CsrfViewMiddleware guards every form: the login form, and a signed-in user's logout."""
    client = world.client(role, enforce_csrf_checks=True)
    name = "login" if role == ANON else "logout"
    data = {"username": "site-admin", "password": "x"} if role == ANON else {}
    response = client.post(url_of(name, world), data)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"CSRF" in response.content


@pytest.mark.parametrize(
    "name",
    [
        "annotator-exclusion",
        "make-gold",
        "schedule-repeats",
        "prompt-bulk",
        "prompt-edit",
        "datasets-export",
    ],
)
def test_every_admin_form_refuses_a_post_without_a_csrf_token(name: str, world: World) -> None:
    response = world.client(ADMIN, enforce_csrf_checks=True).post(url_of(name, world), {})
    assert response.status_code == HTTPStatus.FORBIDDEN, name


# --- uploaded files: only the images import_batch writes, only as images


def test_a_stored_image_is_served_as_an_image_in_a_sandbox(world: World) -> None:
    response = world.client(ANNOTATOR).get(f"/media/{world.image_path}")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] in {"image/png", "image/jpeg", "image/webp"}
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


@pytest.mark.parametrize("extension", ["html", "htm", "svg", "js", "xml", "txt", "png.html"])
def test_files_with_active_content_types_are_never_served(
    extension: str, world: World, media_root: Path
) -> None:
    """Even a file that is on disk next to the images, under an image-like name."""
    sha = "ab" * 32
    relative = f"images/ab/ab/{sha}.{extension}"
    target = media_root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("<script>alert(1)</script>")
    response = world.client(ADMIN).get(f"/media/{relative}")
    assert response.status_code == HTTPStatus.NOT_FOUND, extension
    assert b"<script>" not in response.content
    svg_named_png = media_root / f"images/ab/ab/{sha}.png"
    svg_named_png.write_text("<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>")
    response = world.client(ADMIN).get(f"/media/images/ab/ab/{sha}.png")
    assert response["Content-Type"] == "image/png"  # never sniffed into SVG
    assert response["X-Content-Type-Options"] == "nosniff"
