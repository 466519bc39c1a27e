"""Project members (list, add or change, remove) and the pay report: the project's
managers and admins. Thin."""

from __future__ import annotations

from http import HTTPStatus

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Capability, Membership, ProjectRole, User
from annotation.projects import (
    MembershipError,
    add_member,
    members_of,
    project_for,
    remove_member,
)
from annotation.quality import pay_report


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)
    added_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Membership
        fields = ["username", "email", "role", "added_by", "created_at", "updated_at"]


class MemberRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=ProjectRole.choices)


class MemberRemovedSerializer(serializers.Serializer):
    username = serializers.CharField()
    removed = serializers.BooleanField(help_text="False when they were not a member.")
    leases_ended = serializers.IntegerField()


class ProjectMembers(APIView):
    """GET: the project's members (`?search=` matches username or email). POST: add a
    user, or change a member's role (idempotent)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MemberSerializer(many=True), 404: OpenApiResponse()})
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
        members = members_of(project, request.query_params.get("search", "").strip())
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(
        request=MemberRequestSerializer,
        responses={
            201: MemberSerializer,
            200: OpenApiResponse(MemberSerializer, description="Already a member: role set."),
            400: OpenApiResponse(description="Unknown user or role; the body says which."),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        by: User = request.user  # type: ignore[assignment]
        project = project_for(by, slug, Capability.MANAGE)
        body = MemberRequestSerializer(data=request.data)
        if not body.is_valid():
            return Response(body.errors, status=HTTPStatus.BAD_REQUEST)
        username = body.validated_data["username"]
        user = User.objects.filter(username=username).first()
        if user is None:
            return Response(
                {"username": [f"no user {username!r}; create the account first"]},
                status=HTTPStatus.BAD_REQUEST,
            )
        change = add_member(project, user, body.validated_data["role"], by=by)
        status = HTTPStatus.CREATED if change.created else HTTPStatus.OK
        return Response(MemberSerializer(change.membership).data, status=status)


class ProjectMember(APIView):
    """DELETE: take a member out of the project; their open leases end, their judgments
    stay."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={
            200: MemberRemovedSerializer,
            400: OpenApiResponse(description="The project's last manager."),
            404: OpenApiResponse(),
        },
    )
    def delete(self, request: Request, slug: str, username: str) -> Response:
        by: User = request.user  # type: ignore[assignment]
        project = project_for(by, slug, Capability.MANAGE)
        user = User.objects.filter(username=username).first()
        if user is None:
            return Response({"detail": f"no user {username!r}"}, status=HTTPStatus.NOT_FOUND)
        try:
            removal = remove_member(project, user, by=by)
        except MembershipError as exc:
            return Response({"detail": str(exc)}, status=HTTPStatus.BAD_REQUEST)
        return Response(
            {"username": username, "removed": removal.removed, "leases_ended": removal.leases_ended}
        )


class PayQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False, help_text="First day (UTC), included.")
    end = serializers.DateField(required=False, help_text="Last day (UTC), included.")


class ProjectPay(APIView):
    """GET: the pay report of a date range, one row per annotator (managers, admins)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[PayQuerySerializer],
        responses={200: OpenApiResponse(description="A list of rows; see PAY_COLUMNS.")},
    )
    def get(self, request: Request, slug: str) -> Response:
        project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
        query = PayQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response(query.errors, status=HTTPStatus.BAD_REQUEST)
        rows = pay_report(
            project, query.validated_data.get("start"), query.validated_data.get("end")
        )
        return Response([row.as_dict() for row in rows])
