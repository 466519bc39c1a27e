"""An admin's review of cleaned prompts: approve held prompts, accept or edit cleanings."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from annotation.intake.cleaning import CLEANING_FIELDS, clean_prompt
from annotation.judging import return_to_circulation, take_out_of_circulation
from annotation.models import AnnotatorPrompt, Project, Prompt, Style, Task
from core.progress import Progress


class ReviewError(Exception):
    """An edit that cannot be stored; the message says what to change."""


def approve_prompts(project: Project, prompt_ids: Iterable[int]) -> int:
    """Release held prompts of `project` to annotators; their tasks return to circulation.

    Locks the prompts (select_for_update). A task stays out of circulation while one of
    its images is withdrawn. Returns how many prompts were released; ids of other
    projects or of prompts not held are ignored.
    """
    with transaction.atomic():
        ids = list(
            Prompt.objects.select_for_update()
            .filter(project=project, pk__in=list(prompt_ids), is_held=True)
            .values_list("pk", flat=True)
        )
        Prompt.objects.filter(pk__in=ids).update(is_held=False)
        return_to_circulation(Task.objects.filter(prompt_id__in=ids))
    return len(ids)


def hold_prompts(project: Project, prompt_ids: Iterable[int]) -> int:
    """Hold prompts back from annotators (an admin judged them unsafe after all)."""
    with transaction.atomic():
        prompts = Prompt.objects.select_for_update().filter(
            project=project, pk__in=list(prompt_ids)
        )
        count = prompts.update(is_held=True)
        take_out_of_circulation(Task.objects.filter(project=project, prompt__is_held=True))
    return count


def edit_prompt(prompt: Prompt, cleaned_text: str, style: str) -> Prompt:
    """Store an admin's cleaned text and style. Raises ReviewError and saves nothing if bad."""
    text = " ".join(cleaned_text.split())
    problems = []
    if not text:
        problems.append("the cleaned text is empty; write the prompt's subject")
    if len(text) > 2000:
        problems.append(f"the cleaned text has {len(text)} characters; keep it under 2,000")
    valid_styles = [value for value, _label in Style.choices if value]
    if style not in valid_styles:
        problems.append(f"style {style!r} is not one of {', '.join(valid_styles)}")
    if problems:
        raise ReviewError("; ".join(problems))
    prompt.cleaned_text = text
    prompt.style = style
    prompt.save(update_fields=["cleaned_text", "style"])
    return prompt


def reclean_project(project: Project, progress: Progress | None = None) -> dict[str, int]:
    """Clean, classify and screen every stored prompt of `project` again (e.g. new rules).

    Runs in one transaction (all prompts or none are updated). A prompt newly found
    unsafe is held and its tasks leave circulation; a prompt an admin already approved
    stays approved. Returns counts of prompts seen, changed and newly held.
    """
    progress = progress or Progress()
    prompts = Prompt.objects.filter(project=project).order_by("pk")
    progress.start("cleaning prompts", prompts.count())
    seen = changed = held = 0
    with transaction.atomic():
        updated = []
        for prompt in prompts.select_for_update().iterator(chunk_size=2000):
            result = clean_prompt(prompt.raw_text)
            newly_unsafe = result.is_unsafe and not prompt.is_unsafe
            before = (prompt.cleaned_text, prompt.removed_spans, prompt.style, prompt.is_unsafe)
            prompt.cleaned_text = result.cleaned
            prompt.removed_spans = result.removed
            prompt.style = result.style
            prompt.is_unsafe = result.is_unsafe
            if newly_unsafe:
                prompt.is_held = True
                held += 1
            seen += 1
            if before != (
                prompt.cleaned_text,
                prompt.removed_spans,
                prompt.style,
                prompt.is_unsafe,
            ):
                changed += 1
                updated.append(prompt)
            progress.advance()
        Prompt.objects.bulk_update(updated, CLEANING_FIELDS, batch_size=2000)
        take_out_of_circulation(Task.objects.filter(project=project, prompt__is_held=True))
    return {"prompts": seen, "changed": changed, "newly_held": held}


def set_annotator_prompt(project: Project, choice: str) -> Project:
    """Choose which text annotators of `project` see; ReviewError (nothing saved) if bad.

    Takes effect for every task served from now on, leases already handed out included
    (the text is read when a lease is described).
    """
    valid = [value for value, _label in AnnotatorPrompt.choices]
    if choice not in valid:
        raise ReviewError(f"annotator text {choice!r} is not one of {', '.join(valid)}")
    project.annotator_prompt = choice
    project.save(update_fields=["annotator_prompt"])
    return project
