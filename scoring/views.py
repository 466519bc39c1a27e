"""/manage/models/: admins register, activate and retire HPS model versions;
/benchmarks/: researchers read the stored benchmark results. Thin."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotation.models import AuditAction
from annotation.projects import record_event
from core import charts
from core.access import admin_required, dataset_reader_required
from scoring import benchmarks, services
from scoring.models import ModelVersion


class RegisterModelForm(forms.Form):
    name = forms.CharField(max_length=100)
    architecture = forms.CharField(max_length=100, initial="ViT-H-14")
    checkpoint_path = forms.CharField(
        max_length=1000, help_text="A checkpoint file on the server ({'state_dict': ...})."
    )
    source = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="Where it came from."
    )
    metrics = forms.JSONField(required=False, initial=dict, help_text='e.g. {"hpd_test": 0.833}')


@admin_required
def models_page(request: HttpRequest) -> HttpResponse:
    form = RegisterModelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            version = services.register_model_version(
                data["name"],
                data["architecture"],
                data["checkpoint_path"],
                source=data["source"],
                metrics=data["metrics"] or {},
                created_by=request.user,
            )
        except services.ScoringError as exc:
            form.add_error(None, str(exc))
        else:
            record_event(
                AuditAction.MODEL_REGISTERED,
                actor=request.user,
                target=f"model {version.name}",
                after={"checkpoint": version.checkpoint_path, "metrics": version.metrics},
            )
            messages.success(request, f"Registered {version.name} as a candidate.")
            return redirect("manage-models")
    versions = [
        (version, json.dumps(version.metrics, sort_keys=True))
        for version in ModelVersion.objects.all()
    ]
    status = 400 if form.errors else 200
    return render(
        request, "scoring/models.html", {"form": form, "versions": versions}, status=status
    )


@admin_required
@require_POST
def change_status(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ("activate", "retire"):
        raise Http404("unknown action")
    change = services.activate if action == "activate" else services.retire
    try:
        version = change(pk)
    except services.ScoringError as exc:
        messages.error(request, str(exc))
    else:
        record_event(
            AuditAction.MODEL_STATUS_CHANGED,
            actor=request.user,
            target=f"model {version.name}",
            after={"status": version.status},
        )
        messages.success(request, f"{version.name} is now {version.status}.")
    return redirect("manage-models")


@dataset_reader_required
def benchmarks_page(request: HttpRequest) -> HttpResponse:
    """/benchmarks/: the stored HPS v2 benchmark results, generators x styles."""
    versions = list(
        ModelVersion.objects.filter(benchmark_results__isnull=False).distinct().order_by("name")
    )
    chosen = request.GET.get("model_version") or ""
    if chosen and chosen not in {version.name for version in versions}:
        chosen = ""
    results = benchmarks.benchmark_results(chosen or None)
    styles = benchmarks.benchmark_styles(results)
    rows = benchmarks.benchmark_table(results, styles)
    chart = (
        charts.interval_chart(
            "Benchmark average per generator, with 95% intervals",
            [row.chart_row for row in rows],
            x_label="average HPS v2 score (100 x cosine)",
            include_zero=False,
        )
        if rows
        else None
    )
    return render(
        request,
        "scoring/benchmarks.html",
        {"rows": rows, "styles": styles, "versions": versions, "chosen": chosen, "chart": chart},
    )
