"""REST endpoints of the human side. Thin: parse, check permission, call a service."""

from __future__ import annotations

from http import HTTPStatus

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from annotation.api.serializers import (
    BatchRejectedSerializer,
    BatchSerializer,
    BatchUploadSerializer,
    ImportSummarySerializer,
    ProjectSerializer,
)
from annotation.intake import BatchRejected, Problem, StorageUnavailable, import_upload
from annotation.models import Batch, Project
from annotation.projects import projects_with_counts
from core.permissions import CanReadDatasets, IsPlatformAdmin


class ProjectList(generics.ListAPIView):
    """Projects, with their prompt, image and task counts."""

    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["task_type"]

    def get_queryset(self) -> QuerySet[Project]:
        return projects_with_counts()


class ProjectDetail(generics.RetrieveAPIView):
    serializer_class = ProjectSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "slug"

    def get_queryset(self) -> QuerySet[Project]:
        return projects_with_counts()


class ProjectBatches(generics.ListAPIView):
    """GET: the project's batches (admins, researchers). POST: upload a batch (admins)."""

    serializer_class = BatchSerializer
    parser_classes = [MultiPartParser]
    filterset_fields = ["status", "split"]

    def get_permissions(self) -> list:
        if self.request.method == "POST":
            return [IsPlatformAdmin()]
        return [CanReadDatasets()]

    def get_queryset(self) -> QuerySet[Batch]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no slug
            return Batch.objects.none()
        return Batch.objects.filter(project__slug=self.kwargs["slug"]).select_related(
            "project", "uploaded_by"
        )

    @extend_schema(
        request={"multipart/form-data": BatchUploadSerializer},
        responses={
            201: ImportSummarySerializer,
            400: BatchRejectedSerializer,
            413: OpenApiResponse(description="The upload is over IMPORT_MAX_ARCHIVE_BYTES."),
            507: OpenApiResponse(description="The media storage could not be written."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        upload = BatchUploadSerializer(data=request.data)
        if not upload.is_valid():
            problems = [
                Problem(name, " ".join(str(error) for error in errors))
                for name, errors in upload.errors.items()
            ]
            return _rejected(BatchRejected(problems))
        data = upload.validated_data
        try:
            summary = import_upload(
                data["file"],
                slug,
                split=data["split"],
                judgments_per_task=data.get("judgments_per_task"),
                uploaded_by=request.user,  # type: ignore[arg-type]
            )
        except BatchRejected as rejected:
            return _rejected(rejected)
        except StorageUnavailable as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.INSUFFICIENT_STORAGE)
        return Response(summary.as_dict(), status=HTTPStatus.CREATED)


def _rejected(rejected: BatchRejected) -> Response:
    return Response(
        {
            "detail": f"{len(rejected.problems)} problem(s) found; nothing was imported. "
            "Fix them all and upload again.",
            "problems": [problem.as_dict() for problem in rejected.problems],
        },
        status=HTTPStatus.BAD_REQUEST,
    )
