"""Projects and people: platform accounts (accounts) and the project listings that
pages and the API show (listing)."""

from annotation.projects.accounts import AccountError, NewAccount, add_user
from annotation.projects.listing import projects_with_counts, recent_batches, sample_tasks

__all__ = [
    "AccountError",
    "NewAccount",
    "add_user",
    "projects_with_counts",
    "recent_batches",
    "sample_tasks",
]
