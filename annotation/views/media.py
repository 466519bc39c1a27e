"""The stored images, served to the members of a project that holds them."""

import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from annotation.models import Image, visible_projects

# Only what import_batch writes: images/ab/cd/<sha256>.<ext> (see annotation/intake/media.py).
_MEDIA_PATH = re.compile(r"^images/([0-9a-f]{2})/([0-9a-f]{2})/\1\2[0-9a-f]{60}\.(png|jpg|webp)$")
_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


@require_GET
@login_required
def media_file(request: HttpRequest, path: str) -> FileResponse:
    """Serve a stored image, as an image and nothing else, to a user who may see a
    project holding it (a member, anyone in a project open to all annotators, an
    admin); to anyone else it does not exist (404), as an unknown name.

    The name is the content's sha256, so the response never changes: browsers may
    cache it for good, which makes the next task's images appear at once.
    """
    match = _MEDIA_PATH.match(path)
    if match is None:
        raise Http404("No such image.")
    if not request.user.is_platform_admin:  # type: ignore[union-attr]
        sha256 = path.rsplit("/", 1)[1].split(".", 1)[0]
        holders = Image.objects.filter(
            sha256=sha256,
            file=path,
            project__in=visible_projects(request.user),  # type: ignore[arg-type]
        )
        if not holders.exists():
            raise Http404("No such image.")
    try:
        handle = open(settings.MEDIA_ROOT / path, "rb")  # noqa: SIM115 - FileResponse closes it
    except FileNotFoundError:
        raise Http404("No such image.") from None
    response = FileResponse(handle, content_type=_CONTENT_TYPES[match.group(3)])
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
