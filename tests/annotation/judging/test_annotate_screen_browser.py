"""The annotation page on screen, in a real headless Chromium: no image set apart before
the annotator acts, zoom and compare, rankings of more than nine images by keyboard, and
phones (390 px, touch); and the next task leased ahead, its images decoded before the key
is pressed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Assignment, Judgment, Role, TaskType
from annotation.projects.accounts import add_user
from tests.browser_support import (
    PHONE,
    close_guidelines,
    shown_ids,
    store_image_files,
)
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-9"

# What could set one image apart: the focus, and every style that draws a frame or a glow.
LOOK = """() => {
  const look = (b) => { const s = getComputedStyle(b);
    return [s.outlineStyle, s.outlineWidth, s.borderColor, s.boxShadow, s.opacity, s.transform]; };
  return { focused: document.activeElement.id || document.activeElement.className,
           looks: [...document.querySelectorAll('#images .image-choice')].map(look) };
}"""


def images_drawn(page: Page, width: int) -> None:
    """Wait until the task's images are on screen and decoded (at least one: `every` of
    none is true while the page is still fetching its first task)."""
    page.wait_for_function(
        "w => { const shown = [...document.querySelectorAll('#images img')];"
        " return shown.length > 0 && shown.every(i => i.naturalWidth === w); }",
        arg=width,
    )


def test_no_image_is_set_apart_before_the_annotator_acts(page_for, media_root: Path) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 2)
    store_image_files(media_root)
    page = page_for(add_user("fair", Role.ANNOTATOR, password=PASSWORD).user)

    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    images_drawn(page, 256)
    seen = page.evaluate(LOOK)
    assert seen["focused"] == "task", seen
    left, right = seen["looks"]
    assert left == right and left[0] == "none", seen
    first = shown_ids(page)
    page.keyboard.press("2")
    expect(page.locator("#images .image-choice").first).not_to_have_attribute(
        "data-id", str(first[0])
    )
    images_drawn(page, 256)
    seen = page.evaluate(LOOK)
    assert seen["focused"] == "task" and seen["looks"][0] == seen["looks"][1], seen
    # The probe can see a cue: Tab moves the focus to the first image, which is outlined.
    images_drawn(page, 256)
    page.keyboard.press("Tab")
    seen = page.evaluate(LOOK)
    assert "image-choice" in seen["focused"] and seen["looks"][0][0] == "solid", seen
    page.keyboard.press("Enter")  # the focused left image is chosen, as a click would
    expect(page.locator("#done")).to_be_visible()
    assert Judgment.objects.count() == 2


def test_zoom_compares_at_full_resolution_side_by_side_and_one_at_a_time(
    page_for, media_root: Path
) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 1)
    store_image_files(media_root, size=(480, 360))
    page = page_for(add_user("zoomer", Role.ANNOTATOR, password=PASSWORD).user)

    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    images_drawn(page, 480)
    shown = shown_ids(page)
    zoom = page.locator("#zoom")
    figures = page.locator("#zoom-images figure")

    page.keyboard.press("z")
    expect(zoom).to_be_visible()
    expect(figures).to_have_count(2)
    expect(page.locator("#zoom-where")).to_have_text("All 2 side by side")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#zoom-images img')]"
        ".every(i => i.complete && i.naturalWidth === 480 && i.clientWidth === 480)"
    )
    boxes = [figures.nth(i).bounding_box() for i in range(2)]
    assert boxes[0] and boxes[1] and boxes[0]["x"] + 480 <= boxes[1]["x"]  # side by side
    page.keyboard.press("ArrowRight")
    expect(page.locator("#zoom-where")).to_have_text("Image 1 of 2")
    expect(figures.nth(0)).to_be_visible()
    expect(figures.nth(1)).to_be_hidden()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#zoom-where")).to_have_text("Image 2 of 2")
    expect(figures.nth(0)).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#zoom-where")).to_have_text("Image 1 of 2")
    page.keyboard.press("Escape")
    expect(zoom).to_be_hidden()
    assert Judgment.objects.count() == 0  # the arrows inside the dialog chose nothing

    # The magnifier on an image opens that image alone; a click on the image still chooses.
    page.locator(".image-zoom").nth(1).click()
    expect(page.locator("#zoom-where")).to_have_text("Image 2 of 2")
    page.get_by_role("button", name="Close (Esc)").click()
    expect(zoom).to_be_hidden()
    page.locator("#images .image-choice").nth(1).click()
    expect(page.locator("#done")).to_be_visible()
    assert Judgment.objects.get().ranking == [shown[1], shown[0]]


def test_a_ranking_of_twelve_images_by_keyboard(page_for, media_root: Path) -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=12)
    make_tasks(project, 1)
    store_image_files(media_root, size=(64, 48))
    user = add_user("twelve", Role.ANNOTATOR, password=PASSWORD).user
    page = page_for(user)

    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    expect(page.locator("#images .image-choice")).to_have_count(12)
    expect(page.locator("#instructions")).to_contain_text("1 to 9, and for 10 to 12 both digits")
    shown = shown_ids(page)
    placed = page.locator("#order li")
    # 12, 10, 11 by two digits each; then a "1" alone (placed once the pause passes).
    for keys, count in [("12", 1), ("10", 2), ("11", 3), ("1", 4)]:
        for key in keys:
            page.keyboard.press(key)
        expect(placed).to_have_count(count)
    expect(placed).to_have_text(["Image 12", "Image 10", "Image 11", "Image 1"])
    # A "1" followed by a digit that makes no image (1 then 3 is not 13 of 12) is 1 then 3;
    # image 1 being placed already, "1" then "3" places image 3.
    page.keyboard.press("1")
    page.keyboard.press("3")
    expect(placed).to_have_count(5)
    for key in "2456789":
        page.keyboard.press(key)
    expect(placed).to_have_count(12)
    page.keyboard.press("Enter")

    expect(page.locator("#done")).to_be_visible()
    order = [12, 10, 11, 1, 3, 2, 4, 5, 6, 7, 8, 9]
    assert Judgment.objects.get(annotator=user).ranking == [shown[n - 1] for n in order]


# --- phones: 390 px wide, touch


# The layout viewport (a mobile browser zooms out to show a page wider than the screen,
# which innerWidth would follow): everything within the screen's 390 x 844 CSS pixels.
INSIDE = """({selectors, screen}) => {
  const innerWidth = screen.width, innerHeight = screen.height;
  const out = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      const r = el.getBoundingClientRect();
      const inside = r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
      if (r.width === 0 || !inside)
        out.push([selector, ...[r.left, r.top, r.right, r.bottom].map(Math.round)]);
    }
  }
  return { outside: out, sideways: document.documentElement.scrollWidth > innerWidth };
}"""

CONTROLS = ["#show-guidelines", "#skip", "#flag", "#zoom-open", ".image-choice", ".image-zoom"]


def test_pairwise_on_a_phone_fits_the_screen_and_a_tap_chooses(page_for, media_root: Path) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 1, prompt="a red fox asleep in the snow at dawn, by Hokusai, take {n}")
    store_image_files(media_root, size=(512, 512))
    user = add_user("phone", Role.ANNOTATOR, password=PASSWORD).user
    page = page_for(user, phone=True)

    page.goto(f"/annotate/{project.slug}/")
    page.get_by_role("button", name="Start judging").tap()
    images_drawn(page, 512)
    expect(page.locator("#instructions")).to_contain_text("Tap it")
    seen = page.evaluate(INSIDE, {"selectors": CONTROLS, "screen": PHONE})
    assert seen == {"outside": [], "sideways": False}, seen
    sizes = page.locator("#images img").evaluate_all(
        "imgs => imgs.map(i => [i.clientWidth, i.clientHeight])"
    )
    assert all(w >= 200 and h >= 200 for w, h in sizes), sizes  # large enough to judge
    shown = shown_ids(page)
    page.locator("#images .image-choice").nth(1).tap()
    expect(page.locator("#done")).to_be_visible()
    assert Judgment.objects.get(annotator=user).ranking == [shown[1], shown[0]]


def test_a_ranking_on_a_phone_is_built_by_tapping_in_order(page_for, media_root: Path) -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=4)
    make_tasks(project, 1)
    store_image_files(media_root, size=(512, 512))
    user = add_user("tapper", Role.ANNOTATOR, password=PASSWORD).user
    page = page_for(user, phone=True)

    page.goto(f"/annotate/{project.slug}/")
    page.get_by_role("button", name="Start judging").tap()
    images_drawn(page, 512)
    expect(page.locator("#instructions")).to_contain_text("Tap the images from best to worst")
    seen = page.evaluate(
        INSIDE, {"selectors": [*CONTROLS, "#undo-last", "#submit", "#order"], "screen": PHONE}
    )
    assert seen == {"outside": [], "sideways": False}, seen
    shown = shown_ids(page)
    buttons = page.locator("#images .image-choice")
    for n in [2, 0, 1]:
        buttons.nth(n).tap()
    page.locator("#undo-last").tap()
    for n in [3, 1]:
        buttons.nth(n).tap()
    expect(page.locator("#order li")).to_have_text(["Image 3", "Image 1", "Image 4", "Image 2"])
    page.locator("#submit").tap()
    expect(page.locator("#done")).to_be_visible()
    assert Judgment.objects.get(annotator=user).ranking == [shown[2], shown[0], shown[3], shown[1]]


def test_the_home_table_does_not_scroll_sideways_on_a_phone(page_for) -> None:
    for slug in ["foxes", "a-project-with-a-rather-long-name"]:
        make_tasks(make_project(slug), 2)
    page = page_for(add_user("reader", Role.ANNOTATOR, password=PASSWORD).user, phone=True)

    page.goto("/")
    expect(page.locator("table.data tbody tr")).to_have_count(2)
    seen = page.evaluate(INSIDE, {"selectors": ["table.data", "table.data a"], "screen": PHONE})
    assert seen == {"outside": [], "sideways": False}, seen


# --- no wait between tasks

PRESS_AND_LOOK = """(key) => {
  // In the same turn of the event loop as the key press: what the page now shows.
  document.dispatchEvent(new KeyboardEvent("keydown", { key: key, bubbles: true }));
  return [...document.querySelectorAll("#images .image-choice")].map((b) => {
    const img = b.querySelector("img");
    return [Number(b.dataset.id), img.complete && img.naturalWidth > 0];
  });
}"""


def test_the_next_tasks_images_are_complete_when_the_key_is_pressed(
    page_for, media_root: Path
) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 3)
    store_image_files(media_root, size=(512, 384))
    user = add_user("swift", Role.ANNOTATOR, password=PASSWORD).user
    page = page_for(user)
    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    root = page.locator("#annotate")
    rankings = []

    for _ in range(2):
        expect(root).to_have_attribute("data-ahead", re.compile(r"^\d+$"))
        ahead = Assignment.objects.get(pk=int(root.get_attribute("data-ahead") or 0))
        assert Assignment.objects.filter(annotator=user, status="leased").count() == 2
        before = shown_ids(page)
        seen = page.evaluate(PRESS_AND_LOOK, "1")
        assert seen == [[pk, True] for pk in ahead.display_order], seen
        rankings.append(before)
        expect(page.locator("#progress")).to_have_text(f"{len(rankings)} judged in this project")

    # The last task: nothing is left to lease ahead, and the page ends as before.
    expect(root).not_to_have_attribute("data-ahead", re.compile("."))
    rankings.append(shown_ids(page))
    page.keyboard.press("1")
    expect(page.locator("#done")).to_be_visible()
    stored = sorted(Judgment.objects.filter(annotator=user), key=lambda j: j.created_at)
    assert [j.ranking for j in stored] == rankings
    assert all(j.duration_ms is not None for j in stored)
    assert Assignment.objects.filter(annotator=user).count() == 3
