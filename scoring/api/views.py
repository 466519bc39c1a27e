"""GET /api/v1/models/, POST /api/v1/score/ and /api/v1/benchmarks/ (admins and
researchers). Thin.

Stored images are scored only for a caller who may read their project's data (its
researchers and managers, admins); to anyone else they do not exist. Scoring and
benchmarks run on the `gpu` queue: the web process records a job, answers 202 with the
job's URL, and never loads a model."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Capability, Image, User, visible_projects
from core.permissions import CanReadDatasets
from scoring import benchmarks, services
from scoring.api.serializers import (
    BenchmarkJobSerializer,
    BenchmarkQuerySerializer,
    BenchmarkRequestSerializer,
    BenchmarkResultSerializer,
    ModelVersionSerializer,
    ScoreJobSerializer,
    ScoreRequestSerializer,
)
from scoring.models import BenchmarkJob, BenchmarkResult, ModelVersion, ScoreJob


def _hidden_images(user: User, image_ids: list[int]) -> list[int]:
    """The ids among `image_ids` of images in no project whose data `user` may read."""
    if not image_ids or user.is_platform_admin:
        return []
    readable = set(
        Image.objects.filter(
            pk__in=image_ids, project__in=visible_projects(user, Capability.RESEARCH)
        ).values_list("pk", flat=True)
    )
    return sorted(set(image_ids) - readable)


class ModelVersionList(generics.ListAPIView):
    """Registered HPS model versions, newest first; at most one is `active`."""

    serializer_class = ModelVersionSerializer
    permission_classes = [CanReadDatasets]
    filterset_fields = ["status"]

    def get_queryset(self) -> QuerySet[ModelVersion]:
        return ModelVersion.objects.all()


def _invalid(form: Any) -> Response:
    return Response(
        {"detail": "invalid request; see errors", "errors": form.errors},
        status=HTTPStatus.BAD_REQUEST,
    )


def _accepted(data: dict[str, Any]) -> Response:
    return Response(data, status=HTTPStatus.ACCEPTED, headers={"Location": data["url"]})


class ScoreImages(APIView):
    """Score images for a prompt with the active (or a named) model version, on the gpu
    queue: 202 with the job, whose `url` answers its status and, once done, the scores."""

    permission_classes = [CanReadDatasets]
    # It queues a model forward: API_THROTTLE_COMPUTE per user.
    throttle_scope = "compute"
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        request={
            "multipart/form-data": ScoreRequestSerializer,
            "application/json": ScoreRequestSerializer,
        },
        responses={
            202: ScoreJobSerializer,
            400: OpenApiResponse(description="Bad input: the message names the field or file."),
            409: OpenApiResponse(description="No model version is active and none was named."),
        },
    )
    def post(self, request: Request) -> Response:
        form = ScoreRequestSerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form)
        data: dict[str, Any] = form.validated_data
        user: User = request.user  # type: ignore[assignment]
        hidden = _hidden_images(user, data.get("image_ids") or [])
        if hidden:
            return Response(
                {"detail": f"no image with id(s) {', '.join(map(str, hidden))}"},
                status=HTTPStatus.BAD_REQUEST,
            )
        try:
            version = services.model_version_named(data.get("model_version"))
            uploads = [
                (upload.name or f"image #{i}", upload.read())
                for i, upload in enumerate(data.get("images") or [])
            ]
            job = services.create_score_job(
                version,
                prompt=data.get("prompt", ""),
                uploads=uploads,
                image_ids=data.get("image_ids") or [],
                created_by=user,
            )
        except services.NoActiveModel as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.CONFLICT)
        except services.ScoringError as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.BAD_REQUEST)
        return _accepted(ScoreJobSerializer(job).data)


class ScoreJobDetail(generics.RetrieveAPIView):
    """One score request: queued, running, done (with `result`) or failed (with `error`).
    Its sender and admins see it; to anyone else it does not exist."""

    serializer_class = ScoreJobSerializer
    permission_classes = [CanReadDatasets]

    def get_queryset(self) -> QuerySet[ScoreJob]:
        jobs = ScoreJob.objects.select_related("model_version")
        user: User = self.request.user  # type: ignore[assignment]
        return jobs if user.is_platform_admin else jobs.filter(created_by=user)


class BenchmarkList(generics.ListAPIView):
    """GET: stored HPS v2 benchmark results, one per generator, model version, images'
    checksum, precision and antialias. POST: run one on the gpu queue (202 with the job);
    the same key again reuses the stored result unless `force`."""

    serializer_class = BenchmarkResultSerializer
    permission_classes = [CanReadDatasets]

    def get_queryset(self) -> QuerySet[BenchmarkResult]:
        query = BenchmarkQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)  # a 400 naming the bad parameter
        wanted = query.validated_data
        return benchmarks.benchmark_results(wanted.get("model_version"), wanted.get("generator"))

    @extend_schema(
        parameters=[
            OpenApiParameter("model_version", OpenApiTypes.STR, description="A version's name."),
            OpenApiParameter("generator", OpenApiTypes.STR, description="A generator's name."),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=BenchmarkRequestSerializer,
        examples=[
            OpenApiExample(
                "The release's layout under BENCHMARK_ROOT",
                value={"prompts": "hpsv2/prompts", "images": "hpsv2/images/sdxl"},
                request_only=True,
            )
        ],
        responses={
            202: BenchmarkJobSerializer,
            400: OpenApiResponse(description="Bad input: the message names the field."),
            409: OpenApiResponse(description="No model version is active and none was named."),
        },
    )
    def post(self, request: Request) -> Response:
        form = BenchmarkRequestSerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form)
        data: dict[str, Any] = dict(form.validated_data)
        try:
            job = benchmarks.create_benchmark_job(
                data.pop("model_version", None), data, created_by=request.user
            )
        except services.NoActiveModel as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.CONFLICT)
        except services.ScoringError as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.BAD_REQUEST)
        return _accepted(BenchmarkJobSerializer(job).data)


class BenchmarkJobDetail(generics.RetrieveAPIView):
    """One benchmark job: status, error, and the stored result once done."""

    serializer_class = BenchmarkJobSerializer
    permission_classes = [CanReadDatasets]
    queryset = BenchmarkJob.objects.select_related("model_version", "result__model_version")
