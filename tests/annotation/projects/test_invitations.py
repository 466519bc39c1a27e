"""Onboarding a crowd: reading a list of people as it is really written, inviting them
(accounts, memberships, links, audit events; nothing on any problem), the link's one
use, the manager's page and download, email where configured, and the `invite` command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from annotation.models import AuditAction, AuditEvent, Invitation, Membership, ProjectRole, User
from annotation.projects import (
    MAX_INVITES,
    InvitationError,
    InvitationInvalid,
    accept_invitation,
    add_member,
    invite_members,
    parse_invite_list,
)
from tests.factories.tasks import make_project
from tests.factories.users import make_user

BASE = "https://hpd.example.org/"
NEW_PASSWORD = "violet-lantern-orbit-42"


def problems_of(text: str, role: str = ProjectRole.ANNOTATOR) -> list[str]:
    with pytest.raises(InvitationError) as caught:
        parse_invite_list(text, role)
    return caught.value.problems


def test_a_list_is_read_as_spreadsheets_and_people_write_it() -> None:
    text = (
        "\ufeffUserName , Role,EMAIL\r\n"
        "\r\n"
        "  alice , Reviewer , alice@example.org \r\n"
        "bob,,bob@example.org\r\n"
        "   \r\n"
        "carol,annotator,carol@example.org"
    )
    rows = parse_invite_list(text, ProjectRole.RESEARCHER)
    assert [(r.line, r.username, r.email, r.role) for r in rows] == [
        (3, "alice", "alice@example.org", "reviewer"),
        (4, "bob", "bob@example.org", "researcher"),
        (6, "carol", "carol@example.org", "annotator"),
    ]
    # No header, semicolons (a spreadsheet in a comma-decimal locale), two columns.
    rows = parse_invite_list("dan;dan@example.org\nerin;erin@example.org;manager\n")
    assert [(r.username, r.role) for r in rows] == [("dan", "annotator"), ("erin", "manager")]
    # Tabs, as pasted from a spreadsheet.
    assert parse_invite_list("fay\tfay@example.org\n")[0].email == "fay@example.org"


def test_every_problem_of_a_list_is_reported_at_once_with_its_line() -> None:
    problems = problems_of(
        "username,email,role\n"
        "alice,alice@example.org\n"
        "bob,not-an-email,annotator\n"
        "Alice,alice2@example.org,annotator\n"
        "carol,carol@example.org,owner\n"
        "dave,,annotator\n"
        "erin,erin@example.org,annotator,extra\n"
        "bad name!,x@example.org\n"
    )
    assert problems == [
        "line 3: malformed email 'not-an-email'",
        "line 4: username 'Alice' is also on line 2 (usernames are compared without regard "
        "to case); keep one",
        "line 5: unknown role 'owner'; use annotator, reviewer, researcher, manager",
        "line 6: no email for 'dave'",
        "line 7: 4 value(s); expected username,email,role",
        "line 8: username 'bad name!' may hold only letters, digits and @ . + - _",
    ]
    assert problems_of("username,mail\nann,ann@example.org\n")[0].startswith("line 1: header")
    assert problems_of("\n \n") == [
        "the list is empty; write one person a line: username,email[,role]"
    ]


def test_a_list_over_the_limit_is_refused() -> None:
    text = "".join(f"u{i},u{i}@example.org\n" for i in range(MAX_INVITES + 1))
    assert problems_of(text) == ["10,001 people listed; at most 10,000 per list, split it"]


def test_inviting_makes_members_with_unusable_passwords_links_and_audit_events(
    db: None,
) -> None:
    project = make_project("crowd")
    boss = make_user("boss")
    rows = parse_invite_list("ann,ann@example.org\nrita,rita@example.org,researcher\n")
    result = invite_members(project, rows, by=boss, base_url=BASE)
    assert [(i.username, i.role) for i in result.invited] == [
        ("ann", "annotator"),
        ("rita", "researcher"),
    ]
    assert all(i.link.startswith(BASE + "invite/") for i in result.invited)
    ann = User.objects.get(username="ann")
    assert ann.email == "ann@example.org" and not ann.has_usable_password()
    assert Membership.objects.get(project=project, user__username="rita").role == "researcher"
    events = AuditEvent.objects.filter(action=AuditAction.MEMBER_INVITED).order_by("target")
    assert [(e.actor_name, e.project_slug, e.target, (e.after or {})["role"]) for e in events] == [
        ("boss", "crowd", "ann", "annotator"),
        ("boss", "crowd", "rita", "researcher"),
    ]


def test_existing_users_are_refused_and_nothing_is_created(db: None) -> None:
    project = make_project("crowd")
    make_user("Ann")
    rows = parse_invite_list("zed,zed@example.org\nann,ann@example.org\n")
    before = (User.objects.count(), Membership.objects.count(), Invitation.objects.count())
    with pytest.raises(InvitationError) as caught:
        invite_members(project, rows, by=None, base_url=BASE)
    assert caught.value.problems == [
        "line 2: user 'ann' already has an account as 'Ann'; add them with Add a member (or "
        "add_member), or choose another username"
    ]
    after = (User.objects.count(), Membership.objects.count(), Invitation.objects.count())
    assert after == before
    assert not AuditEvent.objects.filter(action=AuditAction.MEMBER_INVITED).exists()


def _invite_one(username: str = "ann") -> tuple[str, User]:
    project = make_project("crowd")
    rows = parse_invite_list(f"{username},{username}@example.org\n")
    link = invite_members(project, rows, by=None, base_url=BASE).invited[0].link
    return link.removeprefix(BASE.rstrip("/")), User.objects.get(username=username)


def test_the_link_sets_a_password_once_and_logs_the_person_in(db: None) -> None:
    path, ann = _invite_one()
    client = Client()
    page = client.get(path)
    assert page.status_code == 200 and b"Your username is <strong>ann</strong>" in page.content
    weak = client.post(path, {"new_password1": "ann", "new_password2": "ann"})
    assert weak.status_code == 400 and b"The password was not set" in weak.content
    done = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("home")
    ann.refresh_from_db()
    assert ann.check_password(NEW_PASSWORD)
    assert client.get(reverse("home")).context["user"] == ann
    assert Invitation.objects.get(user=ann).accepted_at is not None
    assert AuditEvent.objects.filter(
        action=AuditAction.INVITATION_ACCEPTED, target="ann", actor_name="ann"
    ).exists()
    again = Client().post(path, {"new_password1": "other-9-pass", "new_password2": "other-9-pass"})
    assert again.status_code == 404 and "used already" in again.content.decode()
    ann.refresh_from_db()
    assert ann.check_password(NEW_PASSWORD)


def test_an_expired_or_forged_link_is_refused(db: None) -> None:
    path, ann = _invite_one()
    token = path.removeprefix("/invite/").rstrip("/")
    forged = Client().get(f"/invite/{token[:-2]}xx/")
    assert forged.status_code == 404 and "not valid" in forged.content.decode()
    Invitation.objects.filter(user=ann).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = Client().get(path)
    assert expired.status_code == 404 and "expired" in expired.content.decode()
    with pytest.raises(InvitationInvalid):
        accept_invitation(token, NEW_PASSWORD)
    ann.refresh_from_db()
    assert not ann.has_usable_password()


def _manager_client() -> Client:
    project = make_project("crowd")
    boss = make_user("boss")
    add_member(project, boss, ProjectRole.MANAGER)
    client = Client()
    client.force_login(boss)
    return client


def test_the_page_shows_and_downloads_the_links_without_email(db: None, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    client = _manager_client()
    url = reverse("project-invite", kwargs={"slug": "crowd"})
    upload = SimpleUploadedFile(
        "crowd.csv", "\ufeffusername,email\r\nann,ann@example.org\r\nbo,bo@example.org\r\n".encode()
    )
    page = client.post(url, {"file": upload, "role": "annotator"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "2 accounts made" in html and html.count("http://testserver/invite/") == 2
    download = client.get(reverse("project-invitations-csv", kwargs={"slug": "crowd"}))
    lines = download.content.decode().splitlines()
    assert lines[0] == "username,email,role,link,expires"
    assert [line.split(",")[0] for line in lines[1:]] == ["ann", "bo"]
    assert all(",http://testserver/invite/" in line for line in lines[1:])
    assert not mail.outbox
    members = client.get(reverse("project-members", kwargs={"slug": "crowd"}))
    assert "2 invitations not yet accepted" in members.content.decode()


def test_the_page_lists_every_problem_keeps_the_list_and_creates_nothing(db: None) -> None:
    client = _manager_client()
    users = User.objects.count()
    text = "ann,ann@example.org\nann,other@example.org\nboss,boss@example.org\n"
    page = client.post(
        reverse("project-invite", kwargs={"slug": "crowd"}), {"text": text, "role": "annotator"}
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "Nobody was invited: 2 problems" in html and "also on line 1" in html
    assert html.index("line 2: username") < html.index("line 3: user &#x27;boss&#x27; already")
    assert "ann,other@example.org" in html  # the pasted list is kept for correcting
    assert User.objects.count() == users
    existing = client.post(
        reverse("project-invite", kwargs={"slug": "crowd"}),
        {"text": "boss,boss@example.org\n", "role": "annotator"},
    )
    assert existing.status_code == 400 and "already has an account" in existing.content.decode()


def test_with_email_configured_each_person_is_sent_their_link(db: None) -> None:
    # The test settings' email backend is Django's in-memory outbox.
    client = _manager_client()
    page = client.post(
        reverse("project-invite", kwargs={"slug": "crowd"}),
        {"text": "ann,ann@example.org\nbo,bo@example.org,reviewer\n", "role": "annotator"},
    )
    assert page.status_code == 200 and "2 invitation emails sent" in page.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "bo@example.org"]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/invite/" in line)
    path = link.removeprefix("http://testserver")
    assert Client().get(path).status_code == 200
    assert Invitation.objects.filter(emailed_at__isnull=False).count() == 2


def test_the_invite_command_prints_the_links(db: None, tmp_path: Path) -> None:
    make_project("crowd")
    good = tmp_path / "crowd.csv"
    good.write_text("username,email,role\nann,ann@example.org,\nrev,rev@example.org,reviewer\n")
    out = StringIO()
    call_command(
        "invite", "--project", "crowd", "--csv", str(good), "--role", "researcher",
        "--no-email", "--base-url", BASE, stdout=out, stderr=StringIO(),
    )  # fmt: skip
    lines = out.getvalue().splitlines()
    assert lines[0] == "username,email,role,link,expires"
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["ann", "ann@example.org", "researcher"],
        ["rev", "rev@example.org", "reviewer"],
    ]
    assert all(line.split(",")[3].startswith(BASE + "invite/") for line in lines[1:])
    bad = tmp_path / "bad.csv"
    bad.write_text("zoe,zoe@example\nann,ann@example.org\n")
    with pytest.raises(CommandError, match=r"2 problem\(s\)") as caught:
        call_command("invite", "--project", "crowd", "--csv", str(bad))
    assert "line 1: malformed email 'zoe@example'" in str(caught.value)
    assert "line 2: user 'ann' already has an account" in str(caught.value)
    assert not User.objects.filter(username="zoe").exists()
