"""The generator leaderboard endpoint. Thin: it calls the leaderboard service."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.serializers import LeaderboardSerializer
from annotation.leaderboard import refresh_leaderboard
from annotation.models import Capability
from annotation.projects import project_for


class ProjectLeaderboard(APIView):
    """Bradley-Terry strengths per generator with bootstrap 95% intervals: the stored
    leaderboard when the data are unchanged since (`as_of` says when it was computed),
    otherwise refitted now and stored."""

    permission_classes = [IsAuthenticated]
    # It computes (a bootstrap, a report, a model forward): API_THROTTLE_COMPUTE per user.
    throttle_scope = "compute"

    @extend_schema(responses={200: LeaderboardSerializer, 404: OpenApiResponse()})
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request.user, slug, Capability.RESEARCH)  # type: ignore[arg-type]
        return Response(refresh_leaderboard(project))
