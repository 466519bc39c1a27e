"""/manage/projects/<slug>/pay/: the pay report of a date range (the project's managers
and admins), as a page and as CSV (?download=csv)."""

from __future__ import annotations

import csv

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.models import Capability
from annotation.projects import project_for
from annotation.quality import IDLE_CAP_SECONDS, pay_csv_rows, pay_report


class PayRangeForm(forms.Form):
    start = forms.DateField(required=False, label="From", help_text="First day (UTC), included.")
    end = forms.DateField(required=False, label="To", help_text="Last day (UTC), included.")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", "The last day comes before the first; swap them.")
        return data


@login_required
def pay_page(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    form = PayRangeForm(request.GET or None)
    if request.GET and not form.is_valid():
        context = {"project": project, "form": form, "rows": None, "cap": IDLE_CAP_SECONDS}
        return render(request, "annotation/manage_pay.html", context, status=400)
    start = form.cleaned_data.get("start") if form.is_bound else None
    end = form.cleaned_data.get("end") if form.is_bound else None
    rows = pay_report(project, start, end)
    if request.GET.get("download") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"{project.slug}-pay-{start or 'start'}-{end or 'today'}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        csv.writer(response).writerows(pay_csv_rows(rows))
        return response
    query = request.GET.copy()
    query["download"] = "csv"
    context = {
        "project": project,
        "form": form,
        "rows": rows,
        "cap": IDLE_CAP_SECONDS,
        "csv_query": query.urlencode(),
    }
    return render(request, "annotation/manage_pay.html", context)
