"""The annotator endpoints: next task, submit, skip, undo. Thin: parse, call a service.

Who: the members of a project (every role may annotate), anyone signed in when the
project is open to all annotators, and admins; to anyone else a closed project and its
assignments do not exist (404). A user only ever sees and changes their own assignments.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.annotate_serializers import (
    ErrorSerializer,
    LeaseSerializer,
    SkippedSerializer,
    SkipSerializer,
    SubmitSerializer,
    SubmittedSerializer,
    UndoneSerializer,
)
from annotation.judging import (
    AnnotatorExcluded,
    CalibrationFailed,
    Lease,
    NotAMember,
    SubmissionError,
    Submitted,
    next_assignment,
    skip_assignment,
    submit_judgment,
    undo_last_judgment,
)
from annotation.models import Capability, Project, User, capabilities
from annotation.projects import may_annotate_assignment
from core.prepared import fetch_instance

MAX_KEY_LENGTH = 128

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A fresh value (a UUID) per assignment; a retry sends the same one.",
)


_PROJECT_BY_SLUG = "SELECT {columns} FROM annotation_project m WHERE m.slug = %(slug)s"


def project_by_slug(slug: str) -> Project:
    """The project named in the URL (one prepared statement), or 404."""
    project = fetch_instance(Project, "project_by_slug", _PROJECT_BY_SLUG, {"slug": slug})
    if not isinstance(project, Project):
        raise Http404(f"No project {slug!r}.")
    return project


class AnnotateView(APIView):
    permission_classes = [IsAuthenticated]
    # JSON only: no content negotiation with the browsable renderer on the hot path.
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    # Inert until ScopedRateThrottle is enabled in DEFAULT_THROTTLE_CLASSES.
    throttle_scope = "annotate"


AHEAD_OF = OpenApiParameter(
    "ahead_of",
    int,
    OpenApiParameter.QUERY,
    description=(
        "The assignment on the caller's screen: answer the lease to show after it (a "
        "second live lease, leased ahead so that its images can load meanwhile; at most "
        "two per annotator per project). 204 when nothing is left or none may be leased "
        "ahead (during calibration)."
    ),
)


class NextAssignment(AnnotateView):
    """Lease the next task of the project to the caller (or return their live lease)."""

    @extend_schema(
        request=None,
        parameters=[AHEAD_OF],
        responses={
            200: LeaseSerializer,
            204: OpenApiResponse(description="Nothing is left for you in this project."),
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request: Request, slug: str) -> Response:
        ahead_of = request.query_params.get("ahead_of")
        if ahead_of is not None and not (ahead_of.isascii() and ahead_of.isdigit()):
            return _error(
                HTTPStatus.BAD_REQUEST,
                f"ahead_of must be the id of the assignment on your screen (a positive "
                f"integer), not {ahead_of[:40]!r}; leave it out to get your current task.",
            )
        project = project_by_slug(slug)
        user: User = request.user  # type: ignore[assignment]
        try:
            lease = next_assignment(
                project, user, ahead_of=None if ahead_of is None else int(ahead_of)
            )
        except NotAMember:
            raise Http404(f"No project {slug!r}.") from None
        except (CalibrationFailed, AnnotatorExcluded) as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.FORBIDDEN)
        if lease is None:
            return Response(status=HTTPStatus.NO_CONTENT)
        return Response(lease_body(project, lease))


class SubmitAssignment(AnnotateView):
    """Submit the caller's ranking for their assignment (exactly once).

    With `?next=1` the answer also carries `next`: the caller's next lease (or null).
    """

    @extend_schema(
        request=SubmitSerializer,
        parameters=[
            IDEMPOTENCY_KEY,
            OpenApiParameter(
                "next",
                int,
                OpenApiParameter.QUERY,
                description="1: also lease the next task and return it as `next`.",
            ),
        ],
        responses={
            201: SubmittedSerializer,
            200: OpenApiResponse(SubmittedSerializer, description="A replay: already stored."),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            return _error(
                HTTPStatus.BAD_REQUEST,
                "Send an Idempotency-Key header (1 to 128 characters, e.g. a UUID), the same "
                "one on every retry of this submit.",
            )
        body = SubmitSerializer(data=request.data)
        if not body.is_valid():
            return _invalid(body.errors)
        _check_assignment(pk, request.user)  # type: ignore[arg-type]
        data = body.validated_data
        try:
            outcome = submit_judgment(
                pk,
                request.user,  # type: ignore[arg-type]
                ranking=data["ranking"],
                duration_ms=data.get("duration_ms"),
                flags=data["flags"],
                flagged_images=data["flagged_images"],
                idempotency_key=key,
                levels=data["levels"],
                reasons=data["reasons"],
                note=data["note"],
            )
        except SubmissionError as exc:
            return _error(exc.status, str(exc))
        answer = submitted_body(outcome)
        if request.query_params.get("next") == "1":
            user: User = request.user  # type: ignore[assignment]
            answer["next"] = _next_lease_body(outcome.judgment.task.project, user)
        status = HTTPStatus.CREATED if outcome.created else HTTPStatus.OK
        return Response(answer, status=status)


class UndoLastJudgment(AnnotateView):
    """Take back the caller's last judgment in the project and lease its task to them
    again (annotation/judging/undo.py): it no longer counts anywhere, and the judgment
    they submit next for that assignment replaces it."""

    @extend_schema(
        request=None,
        responses={
            200: UndoneSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project = project_by_slug(slug)
        user: User = request.user  # type: ignore[assignment]
        if Capability.ANNOTATE not in capabilities(user, project):
            raise Http404(f"No project {slug!r}.")
        try:
            undone = undo_last_judgment(project, user)
        except SubmissionError as exc:
            return _error(exc.status, str(exc))
        return Response({"undone": undone.judgment.pk, "lease": lease_body(project, undone.lease)})


class SkipAssignment(AnnotateView):
    """Give the task back (optionally flagging broken or unsafe images)."""

    @extend_schema(
        request=SkipSerializer,
        responses={
            200: SkippedSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        body = SkipSerializer(data=request.data)
        if not body.is_valid():
            return _invalid(body.errors)
        _check_assignment(pk, request.user)  # type: ignore[arg-type]
        try:
            assignment = skip_assignment(
                pk,
                request.user,  # type: ignore[arg-type]
                flags=body.validated_data["flags"],
                flagged_images=body.validated_data["flagged_images"],
            )
        except SubmissionError as exc:
            return _error(exc.status, str(exc))
        return Response({"assignment": assignment.pk, "status": assignment.status})


def _check_assignment(pk: int, user: User) -> None:
    """404 for an assignment in a project the user may no longer annotate in."""
    if not may_annotate_assignment(user, pk):
        raise Http404(f"No assignment {pk}.")


def _next_lease_body(project: Project, user: User) -> dict[str, Any] | None:
    """The caller's next lease, leased after the submit committed (saves the page a round
    trip); None when nothing is left or calibration stopped them (GET next/ says why)."""
    try:
        lease = next_assignment(project, user)
    except (CalibrationFailed, AnnotatorExcluded, NotAMember):
        return None
    return None if lease is None else lease_body(project, lease)


def lease_body(project: Project, lease: Lease) -> dict[str, Any]:
    assignment = lease.assignment
    return {
        "assignment": assignment.pk,
        "task_type": project.task_type,
        "prompt": lease.prompt,
        "images": [{"id": image.id, "url": image.url} for image in lease.images],
        "expires_at": assignment.expires_at,
        "expires_in_s": max(0.0, (assignment.expires_at - timezone.now()).total_seconds()),
        "guideline_version": project.guideline_version,
        "is_calibration": assignment.is_calibration,
        "allow_ties": project.allow_ties,
        "reason_chips": list(project.reason_chips),
    }


def submitted_body(outcome: Submitted) -> dict[str, Any]:
    judgment = outcome.judgment
    return {
        "assignment": judgment.assignment_id,
        "judgment": judgment.pk,
        "ranking": list(judgment.ranking),
        "levels": list(judgment.levels),
        "flags": list(judgment.flags),
        "reasons": list(judgment.reasons),
        "note": judgment.note,
        "created_at": judgment.created_at,
        "calibration": outcome.calibration.as_dict() if outcome.calibration else None,
    }


def _error(status: int, detail: str) -> Response:
    return Response({"detail": detail}, status=status)


def _invalid(errors: Any) -> Response:
    parts = [f"{field}: {' '.join(str(e) for e in problems)}" for field, problems in errors.items()]
    return _error(HTTPStatus.BAD_REQUEST, "Invalid body. " + "; ".join(parts))
