"""Undo, ties and reason chips on /annotate/{slug}/ in a real headless Chromium, keyboard
first, on a desktop and on a 390 px phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotation.models import (
    AuditAction,
    AuditEvent,
    Judgment,
    PairJudgment,
    Project,
    Role,
    TaskType,
)
from annotation.projects.accounts import add_user
from tests.browser_support import close_guidelines, shown_ids, store_image_files
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def open_annotate(page: Page, project: Project) -> None:
    page.goto(f"/annotate/{project.slug}/")
    close_guidelines(page)
    expect(page.locator("#task")).to_be_visible()


def next_task_shown(page: Page, before: list[int]) -> None:
    """Wait until the task on screen is no longer the one whose images were `before`."""
    expect(page.locator("#images .image-choice").first).not_to_have_attribute(
        "data-id", str(before[0])
    )


def no_page_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_u_takes_the_last_judgment_back_and_the_replacement_is_stored_once(
    page_for, media_root: Path
) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 2)
    store_image_files(media_root)
    user = add_user("undoer", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)
    open_annotate(page, project)
    expect(page.locator("#undo-judgment")).to_be_hidden()

    first = shown_ids(page)
    page.keyboard.press("1")
    expect(page.locator("#progress")).to_have_text("1 judged in this project")
    expect(page.locator("#undo-judgment")).to_be_visible()
    next_task_shown(page, first)

    page.keyboard.press("u")
    expect(page.locator("#status")).to_contain_text("Undone: judge this task again")
    expect(page.locator("#progress")).to_have_text("0 judged in this project")
    assert shown_ids(page) == first
    undone = Judgment.objects.get(annotator=user)
    assert undone.retracted_at is not None
    assert not PairJudgment.objects.exists()
    assert undone.task.judgments_done == 0

    page.keyboard.press("2")  # the other image this time
    expect(page.locator("#progress")).to_have_text("1 judged in this project")
    next_task_shown(page, first)
    page.keyboard.press("1")
    expect(page.locator("#done")).to_be_visible()
    live = Judgment.objects.filter(annotator=user, retracted_at=None)
    assert live.count() == 2
    replacement = live.get(task=undone.task)
    assert replacement.assignment_id == undone.assignment_id
    assert replacement.ranking == [first[1], first[0]]
    assert list(
        PairJudgment.objects.filter(judgment=replacement).values_list("winner", "loser")
    ) == [(first[1], first[0])]
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditAction.JUDGMENT_RETRACTED, AuditAction.JUDGMENT_REPLACED} <= actions
    # The button goes after 10 s; U still answers, but only the server decides.
    expect(page.locator("#undo-judgment")).to_be_hidden(timeout=12_000)


def test_ties_pairwise_with_t_and_a_ranking_with_tied_levels(page_for, media_root: Path) -> None:
    pair = make_project("pairs", judgments_per_task=1)
    Project.objects.filter(pk=pair.pk).update(allow_ties=True)
    make_tasks(pair, 2)
    ranked = make_project("ranks", task_type=TaskType.RANKING, images_per_task=3)
    Project.objects.filter(pk=ranked.pk).update(allow_ties=True)
    make_tasks(ranked, 1)
    store_image_files(media_root)
    user = add_user("tier", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)

    open_annotate(page, pair)
    expect(page.locator("#instructions")).to_contain_text("3 or T if they are about the same")
    first = shown_ids(page)
    page.keyboard.press("t")
    expect(page.locator("#progress")).to_have_text("1 judged in this project")
    next_task_shown(page, first)
    page.locator("#tie-pair").click()
    expect(page.locator("#done")).to_be_visible()
    judgments = Judgment.objects.filter(task__project=pair)
    assert [j.levels for j in judgments] == [[0, 0], [0, 0]]
    assert set(PairJudgment.objects.values_list("is_tie", flat=True)) == {True}

    page.goto(f"/annotate/{ranked.slug}/")
    expect(page.locator("#task")).to_be_visible()
    shown = shown_ids(page)
    for key in ["2", "3", "t", "1"]:
        page.keyboard.press(key)
    expect(page.locator("#order li.tied")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    judgment = Judgment.objects.get(task__project=ranked)
    assert judgment.ranking == [shown[1], shown[2], shown[0]]
    assert judgment.levels == [0, 0, 1]
    ties = dict(
        ((w, loser), tie)
        for w, loser, tie in PairJudgment.objects.filter(judgment=judgment).values_list(
            "winner", "loser", "is_tie"
        )
    )
    assert ties == {
        (shown[1], shown[2]): True,
        (shown[1], shown[0]): False,
        (shown[2], shown[0]): False,
    }


def test_a_project_without_ties_offers_no_tie_key(page_for, media_root: Path) -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 1)
    store_image_files(media_root)
    user = add_user("strict", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user)
    open_annotate(page, project)
    expect(page.locator("#tie-pair")).to_have_count(0)
    expect(page.locator("#instructions")).not_to_contain_text("about the same")
    page.keyboard.press("3")
    page.keyboard.press("t")
    assert not Judgment.objects.exists()


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_reason_chips_and_a_note_are_stored_with_the_judgment(
    page_for, media_root: Path, phone: bool
) -> None:
    project = make_project(judgments_per_task=1)
    Project.objects.filter(pk=project.pk).update(
        reason_chips=["text mismatch", "artifacts", "aesthetics", "unsafe"], allow_ties=True
    )
    make_tasks(project, 2)
    store_image_files(media_root)
    user = add_user("reasoner", Role.ANNOTATOR, password="correct-horse-battery-9").user
    page = page_for(user, phone=phone)
    open_annotate(page, project)
    chips = page.locator(".reason-chip")
    expect(chips).to_have_text(["text mismatch", "artifacts", "aesthetics", "unsafe"])
    if phone:
        no_page_scroll(page)
        chips.nth(1).tap()
        page.locator("#note").fill("left hand has six fingers")
        page.locator("#images .image-choice").first.tap()
    else:
        page.keyboard.press("r")  # R: to the chips; Tab moves on, Space toggles
        page.keyboard.press("Tab")
        page.keyboard.press("Space")
        page.locator("#note").focus()
        page.keyboard.type("left hand has six fingers 123")  # digits typed are not choices
        page.keyboard.press("Enter")  # back to the images
        page.keyboard.press("1")
    expect(page.locator("#progress")).to_have_text("1 judged in this project")
    judgment = Judgment.objects.get()
    assert judgment.reasons == ["artifacts"]
    assert judgment.note.startswith("left hand has six fingers")
    # The next task starts with no reason chosen and an empty note.
    expect(page.locator(".reason-chip[aria-pressed=true]")).to_have_count(0)
    expect(page.locator("#note")).to_have_value("")
    expect(page.locator("#undo-judgment")).to_be_visible()
    if phone:
        no_page_scroll(page)
