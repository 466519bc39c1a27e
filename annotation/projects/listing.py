"""Reading projects for pages and the API."""

from __future__ import annotations

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from annotation.models import Batch, Capability, Project, Task, User, visible_projects


def projects_with_counts(
    user: User | None = None, capability: Capability | None = None
) -> QuerySet[Project]:
    """Projects with prompt/image/task counts summed from their batches' stored counts;
    given a user, only the projects they may see (or do `capability` in).

    No COUNT over tasks or images: the page stays fast however large the project is.
    """
    projects = Project.objects.all() if user is None else visible_projects(user, capability)
    return projects.annotate(
        prompt_count=Coalesce(Sum("batches__prompt_count"), 0),
        image_count=Coalesce(Sum("batches__image_count"), 0),
        task_count=Coalesce(Sum("batches__task_count"), 0),
    ).order_by("slug")


def recent_batches(
    project: Project | None = None, limit: int = 20, projects: QuerySet[Project] | None = None
) -> QuerySet[Batch]:
    """The latest batches of `project`, or of `projects`, or of every project."""
    batches = Batch.objects.select_related("project", "uploaded_by").order_by("-created_at")
    if project is not None:
        batches = batches.filter(project=project)
    if projects is not None:
        batches = batches.filter(project__in=projects.values("pk"))
    return batches[:limit]


def sample_tasks(project: Project, limit: int = 12) -> list[Task]:
    """The project's first tasks with their prompt and images, for a look at the data."""
    return list(
        Task.objects.filter(project=project)
        .select_related("prompt")
        .prefetch_related("task_images__image")
        .order_by("id")[:limit]
    )
