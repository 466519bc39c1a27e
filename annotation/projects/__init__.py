"""Projects and people: platform accounts (accounts), membership and the object check
of every project route (membership), and the project listings that pages and the API
show (listing)."""

from annotation.projects.accounts import AccountError, NewAccount, add_user
from annotation.projects.audit import audit_events, form_changes, record_event
from annotation.projects.listing import projects_with_counts, recent_batches, sample_tasks
from annotation.projects.membership import (
    MemberChange,
    MemberRemoval,
    MembershipError,
    ProjectDenied,
    add_member,
    check_project,
    end_leases,
    may_annotate_assignment,
    members_of,
    project_for,
    remove_member,
    set_open_to_annotators,
)

__all__ = [
    "AccountError",
    "MemberChange",
    "MemberRemoval",
    "MembershipError",
    "NewAccount",
    "ProjectDenied",
    "add_member",
    "add_user",
    "audit_events",
    "check_project",
    "end_leases",
    "form_changes",
    "may_annotate_assignment",
    "members_of",
    "project_for",
    "projects_with_counts",
    "recent_batches",
    "record_event",
    "remove_member",
    "sample_tasks",
    "set_open_to_annotators",
]
