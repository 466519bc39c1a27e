"""GET /api/v1/projects/{slug}/agreement/: the agreement report (admins and researchers)."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Batch, Capability, Split
from annotation.projects import project_for
from annotation.quality import compute_agreement


class AgreementQuerySerializer(serializers.Serializer):
    split = serializers.ChoiceField(choices=Split.choices, required=False)
    batch = serializers.IntegerField(min_value=1, required=False)
    guideline_version = serializers.CharField(max_length=32, required=False)


class ProjectAgreement(APIView):
    """The project's agreement report, computed from its judgments (cached until they change)."""

    permission_classes = [IsAuthenticated]
    # It computes (a bootstrap, a report, a model forward): API_THROTTLE_COMPUTE per user.
    throttle_scope = "compute"

    @extend_schema(
        parameters=[
            OpenApiParameter("split", str, enum=Split.values, description="Only this split."),
            OpenApiParameter("batch", int, description="Only this batch (its id)."),
            OpenApiParameter("guideline_version", str, description="Only these judgments."),
        ],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="pairwise_agreement, krippendorff_alpha (ordinal), kendall_w_mean "
                "and kendall_w_distribution, human_ceiling, left_share, annotators (annotator, "
                "judgments, agreement, left_share, median_seconds, gold_accuracy, "
                "self_consistency, quality_flags), by_batch, by_split, by_guideline_version, "
                "over_time. Statistics are null where nothing was judged twice.",
            ),
            400: OpenApiResponse(description="A query parameter is invalid; the body says which."),
            404: OpenApiResponse(description="No such project, or no such batch in it."),
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request.user, slug, Capability.RESEARCH)  # type: ignore[arg-type]
        query = AgreementQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response(query.errors, status=HTTPStatus.BAD_REQUEST)
        filters = query.validated_data
        batch = filters.get("batch")
        if batch is not None and not Batch.objects.filter(project=project, pk=batch).exists():
            return Response(
                {"batch": [f"project {slug} has no batch {batch}; see GET .../batches/"]},
                status=HTTPStatus.NOT_FOUND,
            )
        report = compute_agreement(
            project,
            split=filters.get("split"),
            batch=batch,
            guideline_version=filters.get("guideline_version"),
        )
        return Response(report)
