"""Invitations: a manager invites a list of people into a project
(/manage/projects/<slug>/members/invite/) and downloads the pending links; an invited
person sets their password through their link (/invite/<token>/)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from annotation.models import Capability, Project, ProjectRole, User
from annotation.projects import (
    MAX_INVITES,
    InvitationError,
    InvitationInvalid,
    accept_invitation,
    check_invite_list,
    invitation_for,
    invitations_csv,
    invite_members,
    pending_invitations,
    project_for,
)
from core.password_reset import email_configured

MAX_LIST_BYTES = 4 * 1024 * 1024  # 10,000 rows of long names and addresses fit well


class InviteForm(forms.Form):
    file = forms.FileField(required=False, label="CSV file")
    text = forms.CharField(
        required=False,
        label="Or paste a list",
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "username,email[,role]"}),
    )
    role = forms.ChoiceField(
        choices=ProjectRole.choices, initial=ProjectRole.ANNOTATOR, label="Role where none given"
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        upload, text = data.get("file"), data.get("text", "")
        if upload is None and not str(text).strip():
            raise forms.ValidationError("Choose a CSV file or paste a list: username,email[,role].")
        if upload is not None and str(text).strip():
            raise forms.ValidationError("Give either a file or a pasted list, not both.")
        if upload is not None:
            if upload.size > MAX_LIST_BYTES:
                raise forms.ValidationError(
                    f"The file is {upload.size / 1e6:.1f} MB; at most {MAX_LIST_BYTES // 2**20} "
                    f"MB ({MAX_INVITES:,} people) per list: split it."
                )
            try:
                data["list"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise forms.ValidationError(
                    "The file is not UTF-8 text; save it as “CSV UTF-8” and upload it again."
                ) from exc
        else:
            data["list"] = text
        return data


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@login_required
def invite(request: HttpRequest, slug: str) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    project = project_for(by, slug, Capability.MANAGE)
    sends = email_configured()
    context: dict[str, object] = {
        "project": project,
        "sends_email": sends,
        "limit": f"{MAX_INVITES:,}",
    }
    if request.method != "POST":
        context["form"] = InviteForm()
        return render(request, "annotation/manage_invite.html", context)
    form = InviteForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return render(request, "annotation/manage_invite.html", context, status=400)
    try:
        rows = check_invite_list(form.cleaned_data["list"], form.cleaned_data["role"])
        result = invite_members(project, rows, by=by, base_url=_base_url(request), send_email=sends)
    except InvitationError as exc:
        context["problems"] = exc.problems
        return render(request, "annotation/manage_invite.html", context, status=400)
    context["result"] = result
    return render(request, "annotation/manage_invited.html", context)


@login_required
def invitations_download(request: HttpRequest, slug: str) -> HttpResponse:
    """The project's pending invitation links as CSV (username,email,role,link,expires)."""
    project: Project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    body = invitations_csv(pending_invitations(project, _base_url(request)))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-invitations.csv"'
    response["Cache-Control"] = "no-store"
    return response


def accept(request: HttpRequest, token: str) -> HttpResponse:
    """The invited person's first visit: choose a password, then they are logged in."""
    try:
        invitation = invitation_for(token)
    except InvitationInvalid as exc:
        return render(request, "registration/invitation.html", {"reason": str(exc)}, status=404)
    user = invitation.user
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            accepted = accept_invitation(token, form.cleaned_data["new_password1"])
        except InvitationInvalid as exc:
            return render(request, "registration/invitation.html", {"reason": str(exc)}, status=404)
        login(request, accepted, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            f"Welcome, {accepted.username}: your password is set and you are logged in.",
        )
        return redirect("home")
    context = {"form": form, "invitation": invitation}
    status = 400 if request.method == "POST" else 200
    response = render(request, "registration/invitation.html", context, status=status)
    # The link is a secret: never sent to another site (same-origin keeps the CSRF
    # origin check of the form working, which "no-referrer" breaks).
    response["Referrer-Policy"] = "same-origin"
    return response
