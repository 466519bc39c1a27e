"""Who belongs to which project, in which role, and what each role may do there.

The rule of access is stated here once: `capabilities` answers what one user may do in
one project, and `visible_projects` which projects a user may see at all. Pages, the
API, media serving, the assignment query and the exports all ask these two.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet

from annotation.models.content import Project

if TYPE_CHECKING:
    from annotation.models.users import User


class ProjectRole(models.TextChoices):
    """A member's role in one project (the platform role `admin` stays the operator)."""

    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    RESEARCHER = "researcher", "Researcher"
    MANAGER = "manager", "Manager"


class Capability(StrEnum):
    """What a user may do in a project."""

    ANNOTATE = "annotate"  # lease tasks, submit judgments, see the images
    VIEW = "view"  # the project's page: batches, sample tasks, scores
    REVIEW = "review"  # quality pages, prompt review, exclusions
    RESEARCH = "research"  # agreement, exports, leaderboard, scores of stored images
    MANAGE = "manage"  # uploads, settings and thresholds, members, training policy


ALL_CAPABILITIES = frozenset(Capability)

# Every member may annotate; only the annotator role is limited to it.
ROLE_CAPABILITIES: dict[str, frozenset[Capability]] = {
    ProjectRole.ANNOTATOR: frozenset({Capability.ANNOTATE}),
    ProjectRole.REVIEWER: frozenset({Capability.ANNOTATE, Capability.VIEW, Capability.REVIEW}),
    ProjectRole.RESEARCHER: frozenset({Capability.ANNOTATE, Capability.VIEW, Capability.RESEARCH}),
    ProjectRole.MANAGER: ALL_CAPABILITIES,
}
# What a signed-in non-member may do in a project open to all annotators.
OPEN_PROJECT_CAPABILITIES = frozenset({Capability.ANNOTATE})


class Membership(models.Model):
    """One user's role in one project. Removing a member deletes this row only: their
    judgments stay (annotation.projects.membership.remove_member ends their leases)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=ProjectRole.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_once")]
        indexes = [models.Index(fields=["user", "project"], name="membership_by_user")]
        ordering = ["project", "user"]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.project_id} as {self.role}"


def capabilities(user: User, project: Project, role: str | None = None) -> frozenset[Capability]:
    """What `user` may do in `project`: everything for a platform admin, their role's
    capabilities for a member, annotating for anyone signed in when the project is open
    to all annotators, nothing otherwise (the project is then invisible to them).

    `role` is the user's membership role when the caller has read it already.
    """
    if not user.is_authenticated:
        return frozenset()
    if user.is_platform_admin:
        return ALL_CAPABILITIES
    if role is None:
        role = (
            Membership.objects.filter(project=project, user=user)
            .values_list("role", flat=True)
            .first()
        )
    granted = ROLE_CAPABILITIES.get(role, frozenset()) if role else frozenset()
    if project.open_to_annotators:
        granted = granted | OPEN_PROJECT_CAPABILITIES
    return granted


def visible_projects(user: User, capability: Capability | None = None) -> QuerySet[Project]:
    """The projects `user` may see (or, given a capability, may do that in)."""
    projects = Project.objects.all()
    if not user.is_authenticated:
        return projects.none()
    if user.is_platform_admin:
        return projects
    roles = [
        role for role, granted in ROLE_CAPABILITIES.items()
        if capability is None or capability in granted
    ]  # fmt: skip
    allowed = Q(memberships__user=user, memberships__role__in=roles)
    if capability is None or capability in OPEN_PROJECT_CAPABILITIES:
        allowed |= Q(open_to_annotators=True)
    return projects.filter(pk__in=Project.objects.filter(allowed).values("pk"))
