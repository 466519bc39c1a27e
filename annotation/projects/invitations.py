"""Onboarding a crowd: a list of `username,email[,role]` becomes accounts, members of a
project in their role, each with a single-use invitation link that expires; on first
visit the person sets a password (annotation/views/invitations.py).

The list is read whole and checked whole before anything is written: every problem is
reported at once with its line number, and on any problem nothing is created. A
username that already has an account is one of those problems (an existing person is
added with the members page's "Add a member" or `add_member`, which changes no
password), and usernames are compared without regard to case, so that `Alice` and
`alice` never become two people.

A link is a signature (with the site's SECRET_KEY) of the invitation's random key: the
database alone cannot forge one, and a pending invitation's link can be written again
for the manager's download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from annotation.models import (
    AuditAction,
    AuditEvent,
    Invitation,
    Membership,
    Project,
    ProjectRole,
    Role,
    User,
)
from annotation.projects.audit import record_event

MAX_INVITES = 10_000
COLUMNS = ("username", "email", "role")
_SALT = "annotation.invitation"
_username_validator = UnicodeUsernameValidator()


class InvitationError(Exception):
    """The list cannot be invited as it is; `problems` says what is wrong, line by line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class InvitationInvalid(Exception):
    """The link is unknown, used or expired; the message says which and what to do."""


@dataclass(frozen=True)
class InviteRow:
    line: int
    username: str
    email: str
    role: str


@dataclass(frozen=True)
class Invited:
    username: str
    email: str
    role: str
    link: str
    expires_at: str


@dataclass
class InviteResult:
    invited: list[Invited] = field(default_factory=list)
    emailed: int = 0
    email_error: str = ""


def parse_invite_list(text: str, default_role: str = ProjectRole.ANNOTATOR) -> list[InviteRow]:
    """The rows of a `username,email[,role]` list as people really write them: an optional
    header (any case, columns in any order), a byte-order mark, CRLF line ends, blank
    lines, spaces around values, and `;` or tab instead of `,` (spreadsheets in many
    locales, and lists pasted from one). A blank role is `default_role`.

    Raises InvitationError with every problem found, each with its line number.
    """
    rows, problems = _read(text, default_role)
    if problems:
        raise InvitationError([message for _, message in problems])
    return rows


def check_invite_list(text: str, default_role: str = ProjectRole.ANNOTATOR) -> list[InviteRow]:
    """As parse_invite_list, and also refuses usernames that already have an account:
    every problem of the list, in line order, in one InvitationError."""
    rows, problems = _read(text, default_role)
    problems += _taken_problems(rows)
    if problems:
        problems.sort(key=lambda problem: problem[0])
        raise InvitationError([message for _, message in problems])
    return rows


def _read(text: str, default_role: str) -> tuple[list[InviteRow], list[tuple[int, str]]]:
    """The rows of the list and its problems as (line, message); line 0: the whole list."""
    if default_role not in ProjectRole.values:
        return [], [(0, f"unknown default role {default_role!r}; use {_roles()}")]
    text = text.removeprefix("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    problems: list[tuple[int, str]] = []
    rows: list[InviteRow] = []
    columns: tuple[str, ...] | None = None
    seen: dict[str, int] = {}
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as exc:
        return [], [(reader.line_num, f"line {reader.line_num}: {exc}; check the quotes")]
    for line, record in records:
        values = [value.strip() for value in record]
        if not any(values):
            continue
        if columns is None:
            if values[0].lower() == "username":  # a header row
                columns = _header(values, line, problems)
                continue
            columns = COLUMNS
        if len(values) > len(columns) or len(values) < 2:
            problems.append(
                (
                    line,
                    f"line {line}: {len(values)} value(s); expected {','.join(columns)}"
                    + ("" if "role" in columns else "[,role]"),
                )
            )
            continue
        entry = dict(zip(columns, values, strict=False))
        username, email = entry.get("username", ""), entry.get("email", "")
        role = entry.get("role", "").lower() or default_role
        problems.extend((line, f"line {line}: {p}") for p in _row_problems(username, email, role))
        earlier = seen.setdefault(username.lower(), line)
        if username and earlier != line:
            problems.append(
                (
                    line,
                    f"line {line}: username {username!r} is also on line {earlier} "
                    "(usernames are compared without regard to case); keep one",
                )
            )
        rows.append(InviteRow(line, username, email, role))
    if len(rows) > MAX_INVITES:
        problems.insert(
            0, (0, f"{len(rows):,} people listed; at most {MAX_INVITES:,} per list, split it")
        )
    if not rows and not problems:
        problems.append((0, "the list is empty; write one person a line: username,email[,role]"))
    return rows, problems


def _header(values: list[str], line: int, problems: list[tuple[int, str]]) -> tuple[str, ...]:
    """The column order a header row gives (any case, any order)."""
    names = [value.lower() for value in values]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown or "email" not in names or len(set(names)) != len(names):
        problems.append(
            (
                line,
                f"line {line}: header {','.join(values)!r}; use the columns username,email "
                "and optionally role, each once",
            )
        )
        return COLUMNS
    return tuple(names)


def _row_problems(username: str, email: str, role: str) -> list[str]:
    problems = []
    if not username:
        problems.append("no username")
    elif len(username) > 150:
        problems.append(f"username {username[:20]!r}... is longer than 150 characters")
    else:
        try:
            _username_validator(username)
        except ValidationError:
            problems.append(f"username {username!r} may hold only letters, digits and @ . + - _")
    if not email:
        problems.append(f"no email for {username!r}")
    else:
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"malformed email {email!r}")
    if role not in ProjectRole.values:
        problems.append(f"unknown role {role!r}; use {_roles()}")
    return problems


def _roles() -> str:
    return ", ".join(ProjectRole.values)


def invite_members(
    project: Project,
    rows: list[InviteRow],
    *,
    by: User | None,
    base_url: str,
    send_email: bool = False,
) -> InviteResult:
    """Make an account (no usable password), a membership and an invitation for each
    row, in one transaction, with an audit event each; then, if `send_email`, mail each
    person their link. Raises InvitationError, creating nothing, when a username is
    taken. `base_url` is the site's address the links start with."""
    taken = _taken_problems(rows)
    if taken:
        raise InvitationError([message for _, message in taken])
    now = timezone.now()
    expires = now + timedelta(days=settings.INVITATION_DAYS)
    try:
        with transaction.atomic():
            users = User.objects.bulk_create(
                [
                    User(
                        username=row.username,
                        email=row.email,
                        role=Role.ANNOTATOR,
                        password=make_password(None),
                    )
                    for row in rows
                ]
            )
            Membership.objects.bulk_create(
                [
                    Membership(project=project, user=user, role=row.role, added_by=by)
                    for user, row in zip(users, rows, strict=True)
                ]
            )
            invitations = Invitation.objects.bulk_create(
                [
                    Invitation(
                        user=user,
                        project=project,
                        role=row.role,
                        email=row.email,
                        invited_by=by,
                        expires_at=expires,
                    )
                    for user, row in zip(users, rows, strict=True)
                ]
            )
            AuditEvent.objects.bulk_create(
                [
                    AuditEvent(
                        action=AuditAction.MEMBER_INVITED,
                        actor_id=by.pk if by else None,
                        actor_name=by.username if by else "",
                        project_id=project.pk,
                        project_slug=project.slug,
                        target=row.username,
                        after={
                            "role": row.role,
                            "email": row.email,
                            "expires": expires.isoformat(),
                        },
                    )
                    for row in rows
                ]
            )
    except IntegrityError as exc:
        raise InvitationError(
            ["an account with one of these usernames was made meanwhile; send the list again"]
        ) from exc
    for invitation, user in zip(invitations, users, strict=True):
        invitation.user = user
    result = InviteResult(invited=[_invited(i, base_url) for i in invitations])
    if send_email:
        result.emailed, result.email_error = send_invitations(project, invitations, base_url)
    return result


def _taken_problems(rows: list[InviteRow]) -> list[tuple[int, str]]:
    taken = _existing(rows)
    return [
        (
            row.line,
            f"line {row.line}: user {row.username!r} already has an account as "
            f"{taken[row.username.lower()]!r}; add them with Add a member (or add_member), "
            "or choose another username",
        )
        for row in rows
        if row.username.lower() in taken
    ]


def _existing(rows: Iterable[InviteRow]) -> dict[str, str]:
    """Lower-cased username -> the existing account's username, for the rows taken."""
    wanted = {row.username.lower() for row in rows}
    found: dict[str, str] = {}
    names = list(wanted)
    for start in range(0, len(names), 2000):
        for username in (
            User.objects.annotate(lowered=Lower("username"))
            .filter(lowered__in=names[start : start + 2000])
            .values_list("username", flat=True)
        ):
            found[username.lower()] = username
    return found


def invitation_link(invitation: Invitation, base_url: str) -> str:
    token = signing.Signer(salt=_SALT).sign(invitation.key.hex)
    return base_url.rstrip("/") + reverse("accept-invitation", kwargs={"token": token})


def _invited(invitation: Invitation, base_url: str) -> Invited:
    return Invited(
        username=invitation.user.username,
        email=invitation.email,
        role=invitation.role,
        link=invitation_link(invitation, base_url),
        expires_at=f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC",
    )


def pending_invitations(project: Project, base_url: str) -> list[Invited]:
    """The project's invitations not yet accepted nor expired, with their links."""
    invitations = (
        Invitation.objects.filter(
            project=project, accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("user")
        .order_by("user__username")
    )
    return [_invited(invitation, base_url) for invitation in invitations]


def pending_count(project: Project) -> int:
    return Invitation.objects.filter(
        project=project, accepted_at__isnull=True, expires_at__gt=timezone.now()
    ).count()


def invitations_csv(invited: Iterable[Invited]) -> str:
    """The links as a CSV a manager hands out: username,email,role,link,expires."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["username", "email", "role", "link", "expires"])
    for row in invited:
        writer.writerow([row.username, row.email, row.role, row.link, row.expires_at])
    return buffer.getvalue()


def send_invitations(
    project: Project, invitations: list[Invitation], base_url: str
) -> tuple[int, str]:
    """Mail each person their link over one connection; returns (how many were sent, the
    error that stopped the sending or ""). The links stay valid whatever happens here."""
    messages = [
        EmailMessage(
            subject=f"You are invited to {project.name}",
            body=(
                f"Hello {invitation.user.username},\n\n"
                f"you are invited to judge images in {project.name}. Set your password "
                f"here (the link works once, until {invitation.expires_at:%Y-%m-%d} UTC):\n\n"
                f"{invitation_link(invitation, base_url)}\n\n"
                f"Your username is {invitation.user.username}.\n"
            ),
            to=[invitation.email],
        )
        for invitation in invitations
    ]
    try:
        sent = get_connection().send_messages(messages) or 0
    except (OSError, ConnectionError) as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    Invitation.objects.filter(pk__in=[i.pk for i in invitations]).update(emailed_at=timezone.now())
    return sent, ""


def invitation_for(token: str) -> Invitation:
    """The pending invitation a link stands for; raises InvitationInvalid otherwise."""
    try:
        key = signing.Signer(salt=_SALT).unsign(token)
    except signing.BadSignature as exc:
        raise InvitationInvalid(
            "This invitation link is not valid; check that it was copied whole, or ask the "
            "project's manager for a new one."
        ) from exc
    invitation = Invitation.objects.select_related("user", "project").filter(key=key).first()
    if invitation is None:
        raise InvitationInvalid(
            "This invitation no longer exists; ask the project's manager for a new one."
        )
    if invitation.accepted_at is not None:
        raise InvitationInvalid(
            "This invitation has been used already. Log in with your username "
            f"({invitation.user.username}) and the password you set; if you forgot it, "
            "use “Forgot your password?” on the login page."
        )
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d}; ask the "
            "project's manager to invite you again."
        )
    return invitation


def accept_invitation(token: str, password: str) -> User:
    """Set the password of the invited account and use up the link, once: a second
    request with the same link (even at the same moment) raises InvitationInvalid.
    The password is checked by the caller (Django's SetPasswordForm)."""
    with transaction.atomic():
        invitation = invitation_for(token)
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise InvitationInvalid("This invitation has been used already; log in instead.")
        user = invitation.user
        user.set_password(password)
        user.save(update_fields=["password"])
        locked.accepted_at = timezone.now()
        locked.save(update_fields=["accepted_at"])
        record_event(
            AuditAction.INVITATION_ACCEPTED,
            actor=user,
            project=invitation.project,
            target=user.username,
            after={"role": invitation.role},
        )
    return user
