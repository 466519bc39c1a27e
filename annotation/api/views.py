"""REST endpoints of the human side. Thin: parse, check permission, call a service."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.serializers import (
    BatchRejectedSerializer,
    BatchSerializer,
    BatchUploadSerializer,
    ImportJobSerializer,
    ProjectSerializer,
    RedundancySerializer,
)
from annotation.intake import (
    BatchRejected,
    ImportJobRefused,
    Problem,
    StorageUnavailable,
    cancel_import_job,
    create_import_job,
    retry_import_job,
)
from annotation.judging import RedundancyRejected, change_project_settings
from annotation.models import AuditAction, Batch, Capability, ImportJob, Project, User
from annotation.projects import (
    check_project,
    import_job_for,
    project_for,
    projects_with_counts,
    record_event,
)


class ProjectList(generics.ListAPIView):
    """The projects the caller may see, with their prompt, image and task counts."""

    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["task_type"]

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return projects_with_counts(self.request.user)  # type: ignore[arg-type]


class ProjectDetail(generics.RetrieveAPIView):
    """GET: one project the caller may see (404 for one they may not: slugs do not
    leak). PATCH (its managers): its adaptive redundancy, any of judgments_per_task,
    max_judgments_per_task and consensus_threshold, its serving_order, and its judging
    options, allow_ties and reason_chips; every field is checked before any is changed."""

    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Project]:
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return projects_with_counts(self.request.user)  # type: ignore[arg-type]

    @extend_schema(
        request=RedundancySerializer,
        responses={200: ProjectSerializer, 400: BatchRejectedSerializer},
    )
    def patch(self, request: Request, slug: str) -> Response:
        user: User = request.user  # type: ignore[assignment]
        project = project_for(user, slug, Capability.MANAGE)
        body = RedundancySerializer(data=request.data)
        if not body.is_valid():
            return _problems(
                [(name, " ".join(str(e) for e in errors)) for name, errors in body.errors.items()]
            )
        # Fields the body does not know are passed on, for the service to name them.
        unknown = {name: request.data[name] for name in set(request.data) - set(body.fields)}
        try:
            changes = change_project_settings(project, actor=user, **unknown, **body.validated_data)
        except RedundancyRejected as rejected:
            return _problems(rejected.problems)
        for target, (before, after) in changes.items():
            record_event(
                AuditAction.THRESHOLDS_CHANGED,
                actor=user,
                project=project,
                target=target,
                before=before,
                after=after,
            )
        return Response(ProjectSerializer(self.get_queryset().get(pk=project.pk)).data)


def _problems(problems: list[tuple[str, str]]) -> Response:
    return Response(
        {
            "detail": f"{len(problems)} problem(s) found; nothing was changed. Fix them all "
            "and send the change again.",
            "problems": [{"where": where, "message": message} for where, message in problems],
        },
        status=HTTPStatus.BAD_REQUEST,
    )


class ProjectBatches(generics.ListAPIView):
    """GET: the project's batches (its reviewers, researchers and managers). POST: upload
    a batch (its managers; admins, who may also create a project this way): 202 with the
    import job, which a worker runs; follow it at its `url`."""

    serializer_class = BatchSerializer
    parser_classes = [MultiPartParser]
    permission_classes = [IsAuthenticated]
    filterset_fields = ["status", "split"]

    def get_queryset(self) -> QuerySet[Batch]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no slug
            return Batch.objects.none()
        project = project_for(self.request.user, self.kwargs["slug"], Capability.VIEW)  # type: ignore[arg-type]
        return Batch.objects.filter(project=project).select_related("project", "uploaded_by")

    @extend_schema(
        request={"multipart/form-data": BatchUploadSerializer},
        responses={
            202: ImportJobSerializer,
            400: BatchRejectedSerializer,
            413: OpenApiResponse(description="The upload is over IMPORT_MAX_ARCHIVE_BYTES."),
            507: OpenApiResponse(description="The upload could not be stored."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        user: User = request.user  # type: ignore[assignment]
        existing = Project.objects.filter(slug=slug).first()
        if existing is not None:
            check_project(user, existing, Capability.MANAGE)
        elif not user.is_platform_admin:  # only admins create projects; none is shown here
            raise Http404(f"No project {slug!r}.")
        upload = BatchUploadSerializer(data=request.data)
        if not upload.is_valid():
            problems = [
                Problem(name, " ".join(str(error) for error in errors))
                for name, errors in upload.errors.items()
            ]
            return _rejected(BatchRejected(problems))
        data = upload.validated_data
        try:
            job = create_import_job(
                data["file"],
                slug,
                split=data["split"],
                judgments_per_task=data.get("judgments_per_task"),
                max_judgments_per_task=data.get("max_judgments_per_task"),
                uploaded_by=user,
            )
        except BatchRejected as rejected:
            return _rejected(rejected)
        except StorageUnavailable as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.INSUFFICIENT_STORAGE)
        body = ImportJobSerializer(job).data
        return Response(body, status=HTTPStatus.ACCEPTED, headers={"Location": body["url"]})


class ImportJobDetail(APIView):
    """An upload's import: status, progress counters, problems, summary (admins and the
    managers of its project)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: ImportJobSerializer, 404: OpenApiResponse()})
    def get(self, request: Request, pk: int) -> Response:
        job = import_job_for(request.user, pk)  # type: ignore[arg-type]
        return Response(ImportJobSerializer(job).data)


class ImportJobCancel(APIView):
    """Cancel an import: one waiting ends now, a running one stops at its next step.
    Nothing it imported is kept."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: ImportJobSerializer, 409: OpenApiResponse()})
    def post(self, request: Request, pk: int) -> Response:
        job = import_job_for(request.user, pk)  # type: ignore[arg-type]
        return _job_change(cancel_import_job, job.pk)


class ImportJobRetry(APIView):
    """Queue again an import whose worker was killed (it runs from the start)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={202: ImportJobSerializer, 409: OpenApiResponse()})
    def post(self, request: Request, pk: int) -> Response:
        job = import_job_for(request.user, pk)  # type: ignore[arg-type]
        return _job_change(retry_import_job, job.pk, HTTPStatus.ACCEPTED)


def _job_change(
    change: Callable[[int], ImportJob], job_id: int, status: HTTPStatus = HTTPStatus.OK
) -> Response:
    try:
        job = change(job_id)
    except ImportJobRefused as refused:
        return Response({"detail": str(refused)}, status=HTTPStatus.CONFLICT)
    return Response(ImportJobSerializer(job).data, status=status)


def _rejected(rejected: BatchRejected) -> Response:
    return Response(
        {
            "detail": f"{len(rejected.problems)} problem(s) found; nothing was imported. "
            "Fix them all and upload again.",
            "problems": [problem.as_dict() for problem in rejected.problems],
        },
        status=HTTPStatus.BAD_REQUEST,
    )
