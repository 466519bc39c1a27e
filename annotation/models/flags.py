"""Annotators' reports of a broken or unsafe image, which can pull it from circulation."""

from django.conf import settings
from django.db import models

from annotation.models.content import Image


class ImageFlagKind(models.TextChoices):
    BROKEN_IMAGE = "broken_image", "Broken image"
    UNSAFE = "unsafe", "Unsafe content"


class ImageFlag(models.Model):
    """One annotator's report that one image is broken or unsafe (once per kind)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="flags")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="image_flags"
    )
    kind = models.CharField(max_length=16, choices=ImageFlagKind.choices)
    assignment = models.ForeignKey(
        "annotation.Assignment", null=True, on_delete=models.SET_NULL, related_name="image_flags"
    )
    is_cleared = models.BooleanField(
        default=False, help_text="Set when an admin restored the image: no longer counted."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["image", "annotator", "kind"], name="image_flag_once_per_annotator"
            )
        ]

    def __str__(self) -> str:
        return f"image {self.image_id} flagged {self.kind} by user {self.annotator_id}"
