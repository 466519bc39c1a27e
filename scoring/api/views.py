"""GET /api/v1/models/ and POST /api/v1/score/ (admins and researchers). Thin.

Stored images are scored only for a caller who may read their project's data (its
researchers and managers, admins); to anyone else they do not exist."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Capability, Image, User, visible_projects
from core.permissions import CanReadDatasets
from scoring import services
from scoring.api.serializers import (
    ModelVersionSerializer,
    ScoreRequestSerializer,
    ScoreResponseSerializer,
)
from scoring.models import ModelVersion


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


class ScoreImages(APIView):
    """Score images for a prompt with the active (or a named) model version."""

    permission_classes = [CanReadDatasets]
    # It computes (a bootstrap, a report, a model forward): API_THROTTLE_COMPUTE per user.
    throttle_scope = "compute"
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        request={
            "multipart/form-data": ScoreRequestSerializer,
            "application/json": ScoreRequestSerializer,
        },
        responses={
            200: ScoreResponseSerializer,
            400: OpenApiResponse(description="Bad input: the message names the field or file."),
            409: OpenApiResponse(description="No model version is active and none was named."),
        },
    )
    def post(self, request: Request) -> Response:
        form = ScoreRequestSerializer(data=request.data)
        if not form.is_valid():
            return Response(
                {"detail": "invalid request; see errors", "errors": form.errors},
                status=HTTPStatus.BAD_REQUEST,
            )
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
            if data.get("images"):
                uploads = [
                    (upload.name or f"image #{i}", upload.read())
                    for i, upload in enumerate(data["images"])
                ]
                values = services.score_uploaded_bytes(data["prompt"], uploads, version)
                scores = [
                    {"image": name, "score": value}
                    for (name, _), value in zip(uploads, values, strict=True)
                ]
            else:
                by_id = services.score_stored_images(data["image_ids"], version, data.get("prompt"))
                scores = [{"image": str(pk), "score": by_id[pk]} for pk in data["image_ids"]]
        except services.NoActiveModel as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.CONFLICT)
        except services.ScoringError as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.BAD_REQUEST)
        return Response({"model_version": version.name, "scores": scores})
