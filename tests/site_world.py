"""One small platform with every kind of object a URL can name, and a client per role:
what the site-wide page matrix, CSP and CSRF tests request pages against."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from annotation.models import Image, ImportJob, Project, ProjectRole, Prompt, Role, User
from scoring.models import ModelVersion
from tests.factories.projects import judged_project
from tests.factories.tasks import make_project
from tests.factories.users import make_user, member_of

# Who asks, as seen from the world's (closed) project. ANNOTATOR, REVIEWER, RESEARCHER and
# MANAGER are its members in that role; OUTSIDER is an annotator who is not a member;
# OPEN is the same kind of non-member while the project is open to all annotators;
# ELSEWHERE is a researcher of another project only; ADMIN is a platform admin.
ANON, ANNOTATOR, RESEARCHER, ADMIN = "anonymous", "annotator", "researcher", "admin"
REVIEWER, MANAGER = "reviewer", "manager"
OUTSIDER, OPEN, ELSEWHERE = "outsider", "open", "elsewhere"
ROLES = (ANON, OUTSIDER, OPEN, ELSEWHERE, ANNOTATOR, REVIEWER, RESEARCHER, MANAGER, ADMIN)
MEMBER_ROLES = {
    ANNOTATOR: ProjectRole.ANNOTATOR,
    REVIEWER: ProjectRole.REVIEWER,
    RESEARCHER: ProjectRole.RESEARCHER,
    MANAGER: ProjectRole.MANAGER,
}
# The platform role of each account (members' platform roles do not matter to the project).
PLATFORM_ROLES = {
    OUTSIDER: Role.ANNOTATOR,
    OPEN: Role.ANNOTATOR,
    ELSEWHERE: Role.RESEARCHER,
    ANNOTATOR: Role.ANNOTATOR,
    REVIEWER: Role.ANNOTATOR,
    RESEARCHER: Role.RESEARCHER,
    MANAGER: Role.ANNOTATOR,
    ADMIN: Role.ADMIN,
}
# Unlike every username above (Django's similarity check refuses a password like the name).
WORLD_PASSWORD = "hX7-kq2P-Lw9z"
# The member the members API's DELETE removes.
TARGET = "site-target"


def role_users(project: Project, prefix: str) -> dict[str, User]:
    """One account per role of ROLES but ANON, with memberships as the roles say: the
    world's `project` for members, a project of its own for ELSEWHERE."""
    users = {
        role: make_user(f"{prefix}-{role}", platform) for role, platform in PLATFORM_ROLES.items()
    }
    for role, project_role in MEMBER_ROLES.items():
        member_of(project, users[role], project_role)
    other = make_project(f"{prefix}-elsewhere", open_to_annotators=False)
    member_of(other, users[ELSEWHERE], ProjectRole.RESEARCHER)
    member_of(
        project, make_user(f"{prefix}-target", password=WORLD_PASSWORD), ProjectRole.ANNOTATOR
    )
    return users


class opened:
    """While inside, `project` is open to all annotators when `role` is OPEN."""

    def __init__(self, project_slug: str, role: str) -> None:
        self.slug, self.active = project_slug, role == OPEN

    def __enter__(self) -> None:
        if self.active:
            Project.objects.filter(slug=self.slug).update(open_to_annotators=True)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            Project.objects.filter(slug=self.slug).update(open_to_annotators=False)


@dataclass
class World:
    slug: str
    prompt_id: int
    annotator_id: int
    image_path: str
    model_version_id: int
    import_job_id: int
    users: dict[str, User]

    def client(self, role: str, **kwargs: Any) -> Client:
        client = Client(**kwargs)
        if role != ANON:
            client.force_login(self.users[role])
        return client

    def kwargs_for(self, pattern_keys: set[str], name: str = "") -> dict[str, Any]:
        values: dict[str, Any] = {
            "slug": self.slug,
            "prompt_id": self.prompt_id,
            "annotator_id": self.annotator_id,
            "path": self.image_path,
            # The registry's status change: retiring the world's candidate version.
            "pk": self.model_version_id,
            "action": "retire",
            # Django's password reset confirmation: a well-formed but unknown link.
            "uidb64": "MQ",
            "token": "set-password",
            "username": TARGET,
        }
        if name.startswith("import-job"):  # the world's finished import
            values["pk"] = self.import_job_id
        missing = pattern_keys - set(values)
        assert not missing, f"tests/site_world.py has no value for URL arguments {missing}"
        return {key: values[key] for key in pattern_keys}


def finished_import(project: Project) -> ImportJob:
    """An import job into `project` that has ended: a cancel or retry of it is refused."""
    batch = project.batches.order_by("pk").first()
    return ImportJob.objects.create(
        project_slug=project.slug,
        split="train",
        status=ImportJob.Status.SUCCEEDED,
        source_name="site.zip",
        batch=batch,
        summary={"batch": batch.pk if batch else 0, "prompts": 1, "images": 2, "tasks": 1},
    )


def make_world(tmp: Path) -> World:
    judged = judged_project(tmp / "in", "site", train_groups=1, test_groups=1, annotators=1)
    users = role_users(judged.project, "site")
    image = Image.objects.filter(project=judged.project).order_by("pk").first()
    assert image is not None
    version = ModelVersion.objects.create(
        name="site-candidate",
        architecture="ViT-B-32",
        checkpoint_path=str(tmp / "candidate.pt"),
        checkpoint_sha256="0" * 64,
    )
    job = finished_import(judged.project)
    return World(
        model_version_id=version.pk,
        import_job_id=job.pk,
        slug=judged.project.slug,
        prompt_id=Prompt.objects.filter(project=judged.project).order_by("pk").first().pk,  # type: ignore[union-attr]
        annotator_id=judged.annotators[0].pk,
        image_path=image.file,
        users=users,
    )


def all_url_names() -> dict[str, set[str]]:
    """Every named URL of the site: its reverse() name ("namespace:name") -> the names of
    its arguments. The first pattern of a name wins, as in reverse()."""
    found: dict[str, set[str]] = {}

    def walk(patterns: list[Any], namespace: str, keys: set[str]) -> None:
        for pattern in patterns:
            inner_keys = keys | set(pattern.pattern.regex.groupindex)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner, inner_keys)
            elif isinstance(pattern, URLPattern) and pattern.name:
                found.setdefault(f"{namespace}{pattern.name}", inner_keys)

    walk(get_resolver().url_patterns, "", set())
    return found


def url_of(name: str, world: World) -> str:
    return reverse(name, kwargs=world.kwargs_for(all_url_names()[name], name))
