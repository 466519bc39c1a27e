"""Project membership: adding, changing and removing members, and the object check
every page and API route makes before touching a project.

The rule itself (which role may do what, which projects a user sees) is stated once in
annotation/models/membership.py; this module applies it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from annotation.models import (
    Assignment,
    AssignmentStatus,
    AuditAction,
    Capability,
    ImportJob,
    Membership,
    Project,
    ProjectRole,
    User,
    capabilities,
)
from annotation.models.membership import ROLE_CAPABILITIES
from annotation.projects.audit import record_event


class MembershipError(Exception):
    """The membership change cannot be made as asked; the message says why and what to do."""


class ProjectDenied(PermissionDenied):
    """The user sees the project but their role there does not allow this (a 403 on
    pages and in the API)."""


@dataclass(frozen=True)
class MemberChange:
    membership: Membership
    created: bool
    previous_role: str | None


@dataclass(frozen=True)
class MemberRemoval:
    removed: bool
    previous_role: str | None
    leases_ended: int


def _check_role(role: str) -> None:
    if role not in ProjectRole.values:
        raise MembershipError(
            f"unknown project role {role!r}; use one of {', '.join(ProjectRole.values)}"
        )


def add_member(project: Project, user: User, role: str, *, by: User | None = None) -> MemberChange:
    """Make `user` a member of `project` in `role`; idempotent: an existing member's role
    is changed (or left as it is). Locks the membership row while it changes it."""
    _check_role(role)
    with transaction.atomic():
        existing = Membership.objects.select_for_update().filter(project=project, user=user).first()
        if existing is None:
            membership, created = Membership.objects.get_or_create(
                project=project, user=user, defaults={"role": role, "added_by": by}
            )
            if created:
                record_event(
                    AuditAction.MEMBER_ADDED,
                    actor=by,
                    project=project,
                    target=user.username,
                    after={"role": role},
                )
                return MemberChange(membership, created=True, previous_role=None)
            existing = Membership.objects.select_for_update().get(pk=membership.pk)
        previous = existing.role
        if previous != role:
            existing.role = role
            existing.save(update_fields=["role", "updated_at"])
            record_event(
                AuditAction.MEMBER_ROLE_CHANGED,
                actor=by,
                project=project,
                target=user.username,
                before={"role": previous},
                after={"role": role},
            )
        return MemberChange(existing, created=False, previous_role=previous)


def remove_member(project: Project, user: User, *, by: User | None = None) -> MemberRemoval:
    """Take `user` out of `project`; idempotent. Their open leases in the project end
    (marked expired, so the slots go back to others at once); every judgment they made
    stays. A project's last manager cannot be removed while it has other members."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().filter(project=project, user=user).first()
        )
        if membership is None:
            return MemberRemoval(removed=False, previous_role=None, leases_ended=0)
        if (
            membership.role == ProjectRole.MANAGER
            and not Membership.objects.filter(project=project, role=ProjectRole.MANAGER)
            .exclude(pk=membership.pk)
            .exists()
            and Membership.objects.filter(project=project).exclude(pk=membership.pk).exists()
        ):
            raise MembershipError(
                f"{user.username} is the last manager of {project.slug}; make another member "
                "manager first"
            )
        membership.delete()
        ended = end_leases(project, user)
        record_event(
            AuditAction.MEMBER_REMOVED,
            actor=by,
            project=project,
            target=user.username,
            before={"role": membership.role},
            after={"leases_ended": ended},
        )
    return MemberRemoval(removed=True, previous_role=membership.role, leases_ended=ended)


def end_leases(project: Project, user: User) -> int:
    """Close the user's open leases in the project (expired, as a lease past its deadline);
    returns how many."""
    return Assignment.objects.filter(
        annotator=user, task__project=project, status=AssignmentStatus.LEASED
    ).update(status=AssignmentStatus.EXPIRED, finished_at=timezone.now())


def members_of(project: Project, search: str = "") -> QuerySet[Membership]:
    """The project's members, by username; `search` matches username or email."""
    members = Membership.objects.filter(project=project).select_related("user", "added_by")
    if search:
        members = members.filter(
            Q(user__username__icontains=search) | Q(user__email__icontains=search)
        )
    return members.order_by("user__username")


def project_for(user: User, slug: str, capability: Capability) -> Project:
    """The project `slug` if `user` may do `capability` there.

    Raises Http404 when the project does not exist or the user may not see it (the two
    look alike, so slugs do not leak), and ProjectDenied when they see it but their role
    does not allow this.
    """
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404(f"No project {slug!r}.")
    check_project(user, project, capability)
    return project


def may_annotate_assignment(user: User, assignment_id: int) -> bool:
    """Whether `user` may still annotate in the project of assignment `assignment_id`
    (True for an unknown id: the submit or skip service answers that one). One query."""
    if user.is_platform_admin:
        return True
    row = (
        Assignment.objects.filter(pk=assignment_id)
        .annotate(
            role=Subquery(
                Membership.objects.filter(
                    project_id=OuterRef("task__project_id"), user_id=user.pk
                ).values("role")[:1]
            )
        )
        .values_list("task__project__open_to_annotators", "role")
        .first()
    )
    if row is None:
        return True
    is_open, role = row
    return bool(is_open) or (
        role is not None and Capability.ANNOTATE in ROLE_CAPABILITIES.get(role, frozenset())
    )


def import_job_for(user: User, job_id: int) -> ImportJob:
    """Import job `job_id` if `user` may follow it: admins, and the managers of its project
    (404 otherwise, and for a job creating a project that does not exist yet)."""
    job = ImportJob.objects.select_related("uploaded_by").filter(pk=job_id).first()
    if job is None:
        raise Http404(f"No import {job_id}.")
    if not user.is_platform_admin:
        project = Project.objects.filter(slug=job.project_slug).first()
        if project is None:
            raise Http404(f"No import {job_id}.")
        check_project(user, project, Capability.MANAGE)
    return job


def check_project(user: User, project: Project, capability: Capability) -> None:
    """As project_for, for a project already read."""
    granted = capabilities(user, project)
    if not granted:
        raise Http404(f"No project {project.slug!r}.")
    if capability not in granted:
        raise ProjectDenied(
            f"Your role in project {project.slug!r} does not allow this; ask one of its managers."
        )


def set_open_to_annotators(project: Project, is_open: bool, *, by: User | None = None) -> None:
    """Open the project to every signed-in annotator, or close it to its members. Closing
    it ends the open leases of non-members (their judgments stay)."""
    with transaction.atomic():
        was_open = Project.objects.select_for_update().get(pk=project.pk).open_to_annotators
        Project.objects.filter(pk=project.pk).update(open_to_annotators=is_open)
        project.open_to_annotators = is_open
        if was_open != is_open:
            record_event(
                AuditAction.PROJECT_OPENED if is_open else AuditAction.PROJECT_CLOSED,
                actor=by,
                project=project,
                target=project.slug,
                before={"open_to_annotators": was_open},
                after={"open_to_annotators": is_open},
            )
        if not is_open:
            members = Membership.objects.filter(project=project).values("user_id")
            Assignment.objects.filter(
                task__project=project, status=AssignmentStatus.LEASED
            ).exclude(annotator_id__in=members).exclude(annotator__role="admin").update(
                status=AssignmentStatus.EXPIRED, finished_at=timezone.now()
            )
