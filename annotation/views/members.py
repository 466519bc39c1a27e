"""/manage/projects/<slug>/members/: a project's members (its managers and admins):
search, add, change a role, remove; open or close the project to all annotators."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from annotation.models import Capability, Project, ProjectRole, User
from annotation.projects import (
    MembershipError,
    add_member,
    members_of,
    pending_count,
    project_for,
    remove_member,
    set_open_to_annotators,
)

MEMBERS_PER_PAGE = 50


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=ProjectRole.choices, initial=ProjectRole.ANNOTATOR)


@login_required
def project_members(request: HttpRequest, slug: str) -> HttpResponse:
    by: User = request.user  # type: ignore[assignment]
    project = project_for(by, slug, Capability.MANAGE)
    form = AddMemberForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        done = _apply(request, project, by, form)
        if done:
            return redirect("project-members", slug=slug)
        status = 400
    else:
        status = 200
    search = request.GET.get("q", "").strip()
    page = Paginator(members_of(project, search), MEMBERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {
        "project": project,
        "page": page,
        "search": search,
        "form": form,
        "roles": ProjectRole.choices,
        "total": members_of(project).count(),
        "pending": pending_count(project),
    }
    return render(request, "annotation/manage_members.html", context, status=status)


def _apply(request: HttpRequest, project: Project, by: User, form: AddMemberForm) -> bool:
    """Carry out the posted action; True when it was done (or refused with a message)."""
    action = request.POST.get("action", "add")
    if action == "open":
        is_open = request.POST.get("open") == "1"
        set_open_to_annotators(project, is_open, by=by)
        messages.success(
            request,
            "The project is open to every signed-in annotator."
            if is_open
            else "The project is closed: only its members see it; other annotators' open "
            "leases ended.",
        )
        return True
    if action in ("role", "remove"):
        user = User.objects.filter(username=request.POST.get("username", "")).first()
        if user is None:
            messages.error(request, "No such user; choose a member from the list.")
            return True
        if action == "remove":
            try:
                removal = remove_member(project, user, by=by)
            except MembershipError as exc:
                messages.error(request, f"{user.username} was not removed: {exc}.")
                return True
            messages.success(
                request,
                f"{user.username} is no longer a member ({removal.leases_ended} open lease(s) "
                "ended; their judgments are kept).",
            )
            return True
        role = request.POST.get("role", "")
        if role not in ProjectRole.values:
            messages.error(request, f"Choose a role: {', '.join(ProjectRole.values)}.")
            return True
        add_member(project, user, role, by=by)
        messages.success(request, f"{user.username} is now {role} in {project.slug}.")
        return True
    if not form.is_valid():
        return False
    username = form.cleaned_data["username"]
    user = User.objects.filter(username=username).first()
    if user is None:
        form.add_error("username", f"No user {username!r}; create the account first.")
        return False
    change = add_member(project, user, form.cleaned_data["role"], by=by)
    messages.success(
        request,
        f"Added {username} as {form.cleaned_data['role']}."
        if change.created
        else f"{username} was already a member; their role is now {form.cleaned_data['role']}.",
    )
    return True
