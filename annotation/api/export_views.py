"""Export endpoints: start a snapshot, follow it, download it. Thin: they call services."""

from __future__ import annotations

from http import HTTPStatus

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.serializers import (
    BatchRejectedSerializer,
    ExportRequestSerializer,
    ExportSnapshotSerializer,
)
from annotation.export import (
    ExportParamsError,
    ExportRefused,
    snapshot_files,
    start_export,
    stream_tar,
    tar_size,
)
from annotation.models import AuditAction, Capability, ExportSnapshot, User
from annotation.projects import check_project, project_for, record_event


class ProjectExports(generics.ListAPIView):
    """GET: the project's export snapshots. POST: start one (202; it runs on a worker), or
    reuse the snapshot with identical parameters on unchanged data (200, `reused`)."""

    serializer_class = ExportSnapshotSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[ExportSnapshot]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator's dry run
            return ExportSnapshot.objects.none()
        project = project_for(self.request.user, self.kwargs["slug"], Capability.RESEARCH)  # type: ignore[arg-type]
        return ExportSnapshot.objects.filter(project=project).select_related(
            "project", "created_by"
        )

    @extend_schema(
        request=ExportRequestSerializer,
        responses={
            202: ExportSnapshotSerializer,
            200: OpenApiResponse(
                ExportSnapshotSerializer,
                description="Identical parameters on unchanged data: the existing snapshot, "
                "with reused: true (nothing new was started).",
            ),
            400: BatchRejectedSerializer,
            404: OpenApiResponse(description="No such project."),
            507: OpenApiResponse(
                description="The export disk is nearly full (EXPORT_MIN_FREE_BYTES); the "
                "detail names the free and the needed space. Nothing was started."
            ),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project = project_for(request.user, slug, Capability.RESEARCH)  # type: ignore[arg-type]
        form = ExportRequestSerializer(data=request.data)
        if not form.is_valid():
            return _bad_parameters(
                [
                    f"{name}: {' '.join(str(e) for e in errors)}"
                    for name, errors in form.errors.items()
                ]
            )
        try:
            started = start_export(project, dict(form.validated_data), created_by=request.user)  # type: ignore[arg-type]
        except ExportParamsError as exc:
            return _bad_parameters(exc.problems)
        except ExportRefused as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.INSUFFICIENT_STORAGE)
        snapshot = started.snapshot
        if started.reused:
            return Response(
                {
                    **ExportSnapshotSerializer(snapshot).data,
                    "reused": True,
                    "detail": f"export {snapshot.pk} has these parameters on unchanged data; "
                    f"it is reused (nothing new was started): follow it at "
                    f"/api/v1/exports/{snapshot.pk}/",
                },
                status=HTTPStatus.OK,
            )
        record_event(
            AuditAction.EXPORT_STARTED,
            actor=request.user,
            project=project,
            target=f"export {snapshot.pk}",
            after=snapshot.parameters,
        )
        return Response(
            {**ExportSnapshotSerializer(snapshot).data, "reused": False},
            status=HTTPStatus.ACCEPTED,
        )


def _bad_parameters(problems: list[str]) -> Response:
    return Response(
        {
            "detail": f"{len(problems)} problem(s) in the export parameters; nothing was started.",
            "problems": [
                {"where": p.split(":", 1)[0] if ":" in p else "parameters", "message": p}
                for p in problems
            ],
        },
        status=HTTPStatus.BAD_REQUEST,
    )


class ExportDetail(generics.RetrieveAPIView):
    """One snapshot: status, progress, counts, checksum."""

    serializer_class = ExportSnapshotSerializer
    permission_classes = [IsAuthenticated]
    queryset = ExportSnapshot.objects.select_related("project", "created_by")

    def get_object(self) -> ExportSnapshot:
        snapshot = super().get_object()
        check_project(self.request.user, snapshot.project, Capability.RESEARCH)  # type: ignore[arg-type]
        return snapshot


class ExportDownload(APIView):
    """The snapshot's files as one .tar, streamed from disk."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={
            (200, "application/x-tar"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The snapshot as a tar."
            ),
            404: OpenApiResponse(description="No such snapshot."),
            409: OpenApiResponse(description="The snapshot is not done (yet)."),
        }
    )
    def get(self, request: Request, pk: int) -> Response | StreamingHttpResponse:
        snapshot = get_object_or_404(ExportSnapshot.objects.select_related("project"), pk=pk)
        user: User = request.user  # type: ignore[assignment]
        check_project(user, snapshot.project, Capability.RESEARCH)
        if snapshot.status != ExportSnapshot.Status.DONE:
            return Response(
                {
                    "detail": f"export {pk} is {snapshot.status}, not done; follow it at "
                    f"/api/v1/exports/{pk}/ and download it when its status is done"
                },
                status=HTTPStatus.CONFLICT,
            )
        try:
            files = snapshot_files(snapshot)
        except FileNotFoundError:
            return Response(
                {"detail": f"the files of export {pk} are gone from the server; start a new one"},
                status=HTTPStatus.GONE,
            )
        top = f"{snapshot.project.slug}-export-{snapshot.pk}"
        record_event(
            AuditAction.EXPORT_DOWNLOADED,
            actor=user,
            project=snapshot.project,
            target=f"export {snapshot.pk}",
            after={"checksum": snapshot.checksum},
        )
        response = StreamingHttpResponse(stream_tar(files, top), content_type="application/x-tar")
        response["Content-Length"] = str(tar_size(files, top))
        response["Content-Disposition"] = f'attachment; filename="{top}.tar"'
        return response
