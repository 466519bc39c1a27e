"""Driving the Debian Chromium with Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from annotation.models import Image, User
from tests.factories.batches import png_bytes

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def chromium_path() -> str:
    """The system Chromium; fail with how to install it (never skip the browser tests)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`, "
            "which `make test` does when run as root) or set CHROMIUM to a Chromium binary.",
            pytrace=False,
        )
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests
    # make between browser steps are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


DESKTOP: ViewportSize = {"width": 1280, "height": 900}
# A phone held upright (the width of the most common phones), with a touch screen.
PHONE: ViewportSize = {"width": 390, "height": 844}


def logged_in_context(
    browser: Browser, base_url: str, user: User, *, phone: bool = False
) -> BrowserContext:
    """A fresh browser context carrying `user`'s session cookie for the live server; with
    `phone`, a 390 px touch screen (Chromium then matches `(hover: none)`)."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    if phone:
        context = browser.new_context(
            base_url=base_url, viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2
        )
    else:
        context = browser.new_context(base_url=base_url, viewport=DESKTOP)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])
    return context


@pytest.fixture
def page_for(browser: Browser, live_server) -> Iterator:
    """open_page(user, phone=False): a page logged in as `user` on the live server."""
    contexts = []

    def open_page(user: User, *, phone: bool = False) -> Page:
        context = logged_in_context(browser, live_server.url, user, phone=phone)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def store_image_files(media_root: Path, size: tuple[int, int] = (256, 192)) -> None:
    """Real PNG bytes behind every image row, so the page shows real images."""
    for image in Image.objects.all():
        path = media_root / image.file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(image.pk, size=size))


def close_guidelines(page: Page) -> None:
    """The guidelines open on the first visit; Enter closes them."""
    dialog = page.locator("#guidelines")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Aesthetics and fidelity come first")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()


def shown_ids(page: Page) -> list[int]:
    """The image ids of the task on screen, in display order."""
    return [
        int(x)
        for x in page.locator("#images .image-choice").evaluate_all(
            "buttons => buttons.map(b => b.dataset.id)"
        )
    ]


# Every visible control of the page, and whether the page itself scrolls sideways.
CONTROLS_OUTSIDE = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll('a, button, input, select, textarea, summary')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // hidden
    if (r.left < 0 || r.right > width + 0.5)
      out.push([el.tagName, el.textContent.trim().slice(0, 30) || el.name,
                Math.round(r.left), Math.round(r.right)]);
  }
  return { outside: out, width: document.documentElement.scrollWidth };
}"""


def assert_fits_phone(page: Page) -> None:
    """The page does not scroll sideways at 390 px and every visible control (link,
    button, field) lies within the screen's width."""
    width = PHONE["width"]
    seen = page.evaluate(CONTROLS_OUTSIDE, width)
    assert seen["width"] <= width, f"{page.url} is {seen['width']} px wide on a {width} px phone"
    assert not seen["outside"], f"{page.url}: controls outside the screen {seen['outside']}"
