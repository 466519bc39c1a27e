"""/manage/projects/<slug>/prompts/: raw vs cleaned prompts, safety holds, bulk approve, edits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from annotation.intake import (
    ReviewError,
    approve_prompts,
    edit_prompt,
    hold_prompts,
    set_annotator_prompt,
)
from annotation.models import AnnotatorPrompt, AuditAction, Capability, Prompt, Style
from annotation.projects import project_for, record_event

STYLE_CHOICES = [(value, label) for value, label in Style.choices if value]


class PromptEditForm(forms.Form):
    cleaned_text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    style = forms.ChoiceField(choices=STYLE_CHOICES)


class AnnotatorTextForm(forms.Form):
    annotator_prompt = forms.ChoiceField(
        choices=AnnotatorPrompt.choices, widget=forms.RadioSelect, label="Annotators see"
    )


def highlight(raw: str, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw text cut into pieces, each with the reason it was removed (or None)."""
    pieces = []
    cursor = 0
    for span in sorted(spans, key=lambda span: span["start"]):
        start, end = int(span["start"]), int(span["end"])
        if start < cursor or end > len(raw):
            continue
        if start > cursor:
            pieces.append({"text": raw[cursor:start], "reason": None})
        pieces.append({"text": raw[start:end], "reason": span.get("reason", "")})
        cursor = end
    if cursor < len(raw):
        pieces.append({"text": raw[cursor:], "reason": None})
    return pieces


def _back(request: HttpRequest, slug: str) -> str:
    """The review page the form was sent from (same site only), else the project's."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("prompt-review", kwargs={"slug": slug})


@login_required
def prompt_review(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.REVIEW)  # type: ignore[arg-type]
    show = request.GET.get("show", "held")
    prompts = Prompt.objects.filter(project=project).order_by("-is_held", "pk")
    if show == "held":
        prompts = prompts.filter(is_held=True)
    elif show == "unsafe":
        prompts = prompts.filter(is_unsafe=True)
    style = request.GET.get("style")
    if style in dict(STYLE_CHOICES):
        prompts = prompts.filter(style=style)
    page = Paginator(prompts, 50).get_page(request.GET.get("page"))
    rows = [
        {
            "prompt": prompt,
            "pieces": highlight(prompt.raw_text, prompt.removed_spans or []),
            "form": PromptEditForm(
                initial={
                    "cleaned_text": prompt.cleaned_text,
                    "style": prompt.style or Style.OTHERS,
                },
                prefix=f"p{prompt.pk}",
            ),
        }
        for prompt in page
    ]
    return render(
        request,
        "annotation/prompt_review.html",
        {
            "project": project,
            "rows": rows,
            "page": page,
            "show": show,
            "style": style,
            "styles": STYLE_CHOICES,
            "held_count": Prompt.objects.filter(project=project, is_held=True).count(),
            "text_form": AnnotatorTextForm(initial={"annotator_prompt": project.annotator_prompt}),
        },
    )


@login_required
@require_POST
def prompt_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.REVIEW)  # type: ignore[arg-type]
    ids = [int(value) for value in request.POST.getlist("prompt") if value.isdigit()]
    action = request.POST.get("action")
    if not ids:
        messages.error(request, "Tick at least one prompt, then choose what to do with them.")
    elif action == "approve":
        count = approve_prompts(project, ids)
        record_event(
            AuditAction.PROMPTS_APPROVED,
            actor=request.user,
            project=project,
            target="prompts " + ", ".join(map(str, ids)),
            after={"released": count},
        )
        messages.success(request, f"Released {count} prompt(s) to annotators.")
    elif action == "hold":
        count = hold_prompts(project, ids)
        record_event(
            AuditAction.PROMPTS_HELD,
            actor=request.user,
            project=project,
            target="prompts " + ", ".join(map(str, ids)),
            after={"held": count},
        )
        messages.success(request, f"Held {count} prompt(s) back from annotators.")
    else:
        messages.error(request, "Choose approve or hold.")
    return redirect(_back(request, slug))


@login_required
@require_POST
def prompt_edit(request: HttpRequest, slug: str, prompt_id: int) -> HttpResponse:
    project = project_for(request.user, slug, Capability.REVIEW)  # type: ignore[arg-type]
    prompt = get_object_or_404(Prompt, pk=prompt_id, project=project)
    form = PromptEditForm(request.POST, prefix=f"p{prompt.pk}")
    if not form.is_valid():
        errors = "; ".join(
            f"{field}: {' '.join(str(error) for error in field_errors)}"
            for field, field_errors in form.errors.items()
        )
        messages.error(request, f"Prompt {prompt.pk} was not changed: {errors}")
    else:
        try:
            edit_prompt(prompt, form.cleaned_data["cleaned_text"], form.cleaned_data["style"])
        except ReviewError as exc:
            messages.error(request, f"Prompt {prompt.pk} was not changed: {exc}.")
        else:
            messages.success(request, f"Prompt {prompt.pk} saved.")
    return redirect(_back(request, slug))


@login_required
@require_POST
def annotator_text(request: HttpRequest, slug: str) -> HttpResponse:
    """Set which text of each prompt the project's annotators see (managers)."""
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    form = AnnotatorTextForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Annotator text was not changed: choose the raw prompt or the cleaned text."
        )
        return redirect(_back(request, slug))
    try:
        set_annotator_prompt(project, form.cleaned_data["annotator_prompt"])
    except ReviewError as exc:
        messages.error(request, f"Annotator text was not changed: {exc}.")
    else:
        messages.success(
            request, f"Annotators now see: {project.get_annotator_prompt_display().lower()}."
        )
    return redirect(_back(request, slug))
