"""People and their role on the platform."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    ADMIN = "admin", "Admin"
    RESEARCHER = "researcher", "Researcher"


class User(AbstractUser):
    """A platform account. `role` decides what the API and pages allow.

    Pseudonymous annotators imported from a released dataset (HPD v2 `user_hash`) are
    users with `external_id` set and no usable password.
    """

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    external_id = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="Identifier from an imported dataset (e.g. HPD v2 user_hash).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="user_external_id_unique",
            )
        ]

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def can_read_datasets(self) -> bool:
        return self.role in (Role.ADMIN, Role.RESEARCHER) or self.is_superuser
