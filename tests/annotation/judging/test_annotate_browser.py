"""Full journeys on /annotate/{slug}/ in a real headless Chromium, keyboard only; and every
page of the site checked for Content-Security-Policy violations in the same browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotation.models import Assignment, Judgment, PairJudgment, Role, TaskType
from annotation.projects.accounts import add_user
from tests.browser_support import (
    close_guidelines,
    shown_ids,
    store_image_files,
)
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def test_pairwise_journey_with_the_keyboard_alone(page_for, media_root: Path) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 2, prompt="Mona Lisa by Leonardo da Vinci riding in Paris, take {n}")
    store_image_files(media_root)
    user = add_user("keyboard", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)

    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    expect(page.locator("#task")).to_be_visible()
    expect(page.locator("#prompt mark")).to_have_text(
        ["Mona", "Lisa", "Leonardo", "Vinci", "Paris"]
    )
    # The images really load (served by the platform to the logged-in annotator).
    page.wait_for_function(
        "() => { const shown = [...document.querySelectorAll('#images img')];"
        " return shown.length > 0 && shown.every(i => i.naturalWidth === 256); }"
    )
    first = shown_ids(page)
    page.keyboard.press("1")
    expect(page.locator("#progress")).to_have_text("1 judged in this project")
    expect(page.locator("#images .image-choice").first).not_to_have_attribute(
        "data-id", str(first[0])
    )
    second = shown_ids(page)
    assert not set(second) & set(first)
    # G shows the guidelines again; Escape closes them.
    page.keyboard.press("g")
    expect(page.locator("#guidelines")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")

    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#done")).to_contain_text("Nothing left to judge")
    judgments = {j.display_order[0]: j for j in Judgment.objects.filter(annotator=user)}
    assert len(judgments) == 2
    assert judgments[first[0]].ranking == first
    assert judgments[second[0]].ranking == [second[1], second[0]]
    assert all(
        j.duration_ms is not None and j.guideline_version == "hpd-v2-1" for j in judgments.values()
    )
    assert PairJudgment.objects.count() == 2


def test_ranking_journey_with_the_keyboard_alone(page_for, media_root: Path) -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=4)
    make_tasks(project, 1)
    store_image_files(media_root)
    user = add_user("ranker", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)

    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    expect(page.locator("#task")).to_be_visible()
    shown = shown_ids(page)
    for key in ["3", "1", "Backspace", "2", "Enter", "1"]:
        page.keyboard.press(key)
    # Enter with an incomplete order does nothing but say so.
    expect(page.locator("#order li")).to_have_count(3)
    assert Judgment.objects.count() == 0
    expect(page.locator("#images .image-choice").nth(2)).to_have_attribute(
        "aria-label", "Image 3 of 4, ranked 1"
    )
    page.keyboard.press("4")
    page.keyboard.press("Enter")

    expect(page.locator("#done")).to_be_visible()
    judgment = Judgment.objects.get(annotator=user)
    assert judgment.ranking == [shown[2], shown[1], shown[0], shown[3]]
    assert judgment.display_order == shown
    assert Assignment.objects.get().status == "submitted"
    assert PairJudgment.objects.count() == 6


def test_calibration_feedback_skip_and_flag_with_the_keyboard(page_for, media_root: Path) -> None:
    project = make_project(
        calibration_tasks=1, calibration_pass_rate=1.0, flag_withdraw_threshold=1
    )
    [gold] = make_tasks(project, 1, gold=True)
    make_tasks(project, 3)
    store_image_files(media_root)
    user = add_user("newcomer", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)

    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    expect(page.locator("#calibration-note")).to_be_visible()
    shown = shown_ids(page)
    # Choose the image the gold ranking puts first: feedback says "Correct".
    page.keyboard.press("1" if shown[0] == (gold.gold_ranking or [])[0] else "2")
    expect(page.locator("#feedback")).to_be_visible()
    expect(page.locator("#feedback-title")).to_have_text("Correct")
    expect(page.locator("#feedback-text")).to_contain_text("You passed calibration")
    page.keyboard.press("Enter")
    expect(page.locator("#calibration-note")).to_be_hidden()
    expect(page.locator("#task")).to_be_visible()

    skipped = shown_ids(page)
    page.keyboard.press("s")
    expect(page.locator("#images .image-choice").first).not_to_have_attribute(
        "data-id", str(skipped[0])
    )
    flagged = shown_ids(page)
    page.keyboard.press("f")
    expect(page.locator("#flag-dialog")).to_be_visible()
    page.keyboard.press("Space")  # ticks "Image 1", which has the focus
    for _ in range(3):  # Image 2, the kind of problem, the "Flag and skip" button
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#flag-dialog")).to_be_hidden()
    expect(page.locator("#images .image-choice").first).not_to_have_attribute(
        "data-id", str(flagged[0])
    )
    page.keyboard.press("2")

    expect(page.locator("#done")).to_be_visible()
    statuses = dict(Assignment.objects.filter(annotator=user).values_list("task_id", "status"))
    assert sorted(statuses.values()) == ["skipped", "skipped", "submitted", "submitted"]
    assert Judgment.objects.filter(annotator=user, is_calibration=True).count() == 1
    assert Judgment.objects.filter(annotator=user, is_calibration=False).count() == 1
    from annotation.models import Image, ImageFlag

    flag = ImageFlag.objects.get()
    assert (flag.image_id, flag.kind, flag.annotator) == (flagged[0], "broken_image", user)
    assert Image.objects.get(pk=flagged[0]).is_withdrawn


def test_ranking_with_the_mouse_clicks_and_drag_and_drop(page_for, media_root: Path) -> None:
    project = make_project(task_type=TaskType.RANKING, images_per_task=3)
    make_tasks(project, 1)
    store_image_files(media_root)
    user = add_user("mouse", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)

    page.goto(f"/annotate/{project.slug}/")
    page.get_by_role("button", name="Start judging").click()
    expect(page.locator("#images .image-choice")).to_have_count(3)
    shown = shown_ids(page)
    for n in range(3):
        page.locator("#images .image-choice").nth(n).click()
    expect(page.locator("#order li")).to_have_text(["Image 1", "Image 2", "Image 3"])
    # Drag the last one onto the first: it moves to the top.
    page.locator("#order li").nth(2).drag_to(page.locator("#order li").nth(0))
    expect(page.locator("#order li")).to_have_text(["Image 3", "Image 1", "Image 2"])
    page.get_by_role("button", name="Submit (Enter)").click()

    expect(page.locator("#done")).to_be_visible()
    assert Judgment.objects.get(annotator=user).ranking == [shown[2], shown[0], shown[1]]


def csp_violations(page: Page) -> list[str]:
    """Collect every Content-Security-Policy violation the page reports, from the console
    (Chromium logs "Refused to ...") and from securitypolicyviolation events."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('Refused to load: Content Security Policy ' + e.violatedDirective"
        " + ' ' + e.blockedURI))"
    )
    return found


def test_the_annotate_page_works_under_the_content_security_policy(
    page_for, media_root: Path
) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 2, prompt="a lighthouse in a storm, take {n}")
    store_image_files(media_root)
    user = add_user("csp-check", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)
    violations = csp_violations(page)

    response = page.goto(f"/annotate/{project.slug}/")
    assert (
        response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    )
    close_guidelines(page)
    expect(page.locator("#task")).to_be_visible()
    page.wait_for_function(
        "() => { const shown = [...document.querySelectorAll('#images img')];"
        " return shown.length > 0 && shown.every(i => i.naturalWidth === 256); }"
    )
    assert violations == []
    page.keyboard.press("1")
    expect(page.locator("#progress")).to_have_text("1 judged in this project")
    assert violations == []
    # The probe can see a violation: an inline script the policy must refuse.
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = '1';"
        " document.body.append(s); }"
    )
    page.wait_for_timeout(200)
    assert len(violations) >= 1 and all("script-src" in v for v in violations), violations


def test_the_api_docs_render_under_the_content_security_policy(page_for) -> None:
    admin = add_user("csp-docs", Role.ADMIN, password="correct-horse-battery-9").user
    page = page_for(admin)
    violations = csp_violations(page)

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("HPD annotation platform API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []


# --- the other pages under the same policy (one browser per session: they live here)


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/annotation/project/", "/admin/annotation/project/add/"]
)
def test_the_admin_renders_under_the_content_security_policy(page_for, path: str) -> None:
    admin = add_user("csp-admin", Role.ADMIN, password="correct-horse-battery-9").user
    page = page_for(admin)
    violations = csp_violations(page)

    page.goto(path)
    expect(page.locator("#site-name")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert violations == []


@pytest.mark.parametrize(
    "name",
    [
        "home",
        "project-page",
        "manage",
        "import-job",
        "quality-dashboard",
        "prompt-review",
        "flagged-images",
        "datasets",
        "password_change",
    ],
)
def test_every_page_renders_with_no_csp_violation(page_for, tmp_path: Path, name: str) -> None:
    from tests.site_world import make_world, url_of

    world = make_world(tmp_path)
    page = page_for(world.users[Role.ADMIN])
    violations = csp_violations(page)

    response = page.goto(url_of(name, world))
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    assert violations == []
